"""The Python API of the runner: run one searcher in memory and get its :class:`History`.

:func:`run` is the same loop as ``cnn-design search`` (:class:`~cnn_design_env.run.loop.SearchLoop`:
ask, evaluate on an executor, tell in ask order, one seed rule, the same budgets and stopping
rules), without a run folder: no journal file, no checkpoint. So one seed gives the same history
from the CLI, the benchmark and this function (``cnn-design search --no-cache`` evaluates a
repeated design again, as this does).

Every evaluation goes through :func:`~cnn_design_env.evaluators.safe_evaluate` (an evaluator that
raises gives a terminated ``Metrics``, i.e. the reward's penalty), and a NaN or infinite metric or
reward becomes a terminated evaluation with the penalty and the reason, so no searcher is told a
non-finite reward. A searcher that raises (in ``ask`` or ``tell``), asks a design outside the
space, or a reward that raises, stops the run: the history keeps every evaluation so far and
records the error with the method's name (``History.error``, ``History.stopped == "error"``).

**The final choice** (as at the end of ``cnn-design search``): after the budget, the ``top_k``
designs with the highest mean reward are re-evaluated on ``extra_seeds`` new seeds (a tabular
evaluator answers from every recorded seed) and the best mean is ``History.recommendation``
(:mod:`cnn_design_env.run.recommend`). These re-evaluations are not part of the budget.

**A searcher choosing its own fidelity** (its :meth:`~cnn_design_env.search.Searcher.
evaluator_for` hook returns an evaluator: ASHA, Hyperband, BOHB on a table's epoch curves) is
evaluated through that evaluator, in this process, one at a time (``executor``, ``spec`` and
``in_flight`` are not used), and the final choice ranks its full-fidelity observations only
(:mod:`cnn_design_env.search.fidelity`).

Example:
    >>> from cnn_design_env.evaluators.tabular import TabularEvaluator
    >>> from cnn_design_env.reward import PaperReward
    >>> from cnn_design_env.search.plugins import make_searcher, resolve_space
    >>> space = resolve_space("table_chain")
    >>> history = run(make_searcher("random", space, seed=0), TabularEvaluator(space),
    ...               PaperReward(), budget_episodes=5, seed=0)
    >>> len(history), history.stopped, history.evaluations[0].index
    (5, 'budget_episodes', 0)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnn_design_env.evaluators import Evaluator, Metrics, safe_evaluate
from cnn_design_env.evaluators.executors import EvaluatorSpec, InlineExecutor
from cnn_design_env.reward import Reward
from cnn_design_env.run.journal import Record
from cnn_design_env.run.loop import MethodError, SearchLoop, check_budget, fresh_state
from cnn_design_env.run.recommend import EXTRA_SEEDS, TOP_K, Recommendation, recommend
from cnn_design_env.search.fidelity import full_fidelity
from cnn_design_env.search.searcher import evaluator_for
from cnn_design_env.space import Design

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a run.

    Attributes:
        index: 0-based position in the run (shown to people as ``index + 1``).
        design: The design evaluated.
        metrics: What the evaluator measured.
        reward: ``reward(metrics)``.
        eval_seed: The seed the evaluator was given.
        cost_s: Cumulative simulated cost (sum of ``metrics.cost_s``) after this evaluation.
        wall_s: Wall seconds since the run started, after this evaluation.
        search_s: Wall seconds the searcher spent in this evaluation's ``ask`` and ``tell``.
    """

    index: int
    design: Design
    metrics: Metrics
    reward: float
    eval_seed: int
    cost_s: float
    wall_s: float
    search_s: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"index": self.index, "design": list(self.design.actions),
                "metrics": self.metrics.to_dict(), "reward": self.reward,
                "eval_seed": self.eval_seed, "cost_s": self.cost_s, "wall_s": self.wall_s,
                "search_s": self.search_s}


@dataclass
class History:
    """Every evaluation of one run, in order, and how the run ended.

    Attributes:
        method: The method's name.
        seed: The run's seed.
        space: The space's name.
        budget_episodes: The episode budget, if any.
        budget_seconds: The simulated-cost budget, if any.
        evaluations: The evaluations.
        stopped: ``"budget_episodes"``, ``"budget_seconds"``, ``"budget_wall"``, ``"converged"``,
            ``"error"`` or ``"no_cost"``.
        error: ``"method '<name>' failed in <phase>: <type>: <message>"`` if the run failed.
        wall_s: Wall seconds of the whole run.
        recommendation: The final choice (``None`` when disabled or nothing was evaluated).
    """

    method: str
    seed: int
    space: str
    budget_episodes: int | None = None
    budget_seconds: float | None = None
    evaluations: list[Evaluation] = field(default_factory=list)
    stopped: str = ""
    error: str | None = None
    wall_s: float = 0.0
    recommendation: Recommendation | None = None

    def __iter__(self) -> Iterator[Evaluation]:
        return iter(self.evaluations)

    def __len__(self) -> int:
        return len(self.evaluations)

    @property
    def rewards(self) -> np.ndarray:
        """Reward of each evaluation."""
        return np.array([e.reward for e in self.evaluations], dtype=float)

    @property
    def costs(self) -> np.ndarray:
        """Cumulative simulated cost after each evaluation."""
        return np.array([e.cost_s for e in self.evaluations], dtype=float)

    @property
    def best_so_far(self) -> np.ndarray:
        """Best reward among the first ``k + 1`` evaluations, for each ``k``."""
        rewards = self.rewards
        return np.maximum.accumulate(rewards) if rewards.size else rewards

    @property
    def best(self) -> Evaluation | None:
        """The first evaluation with the highest reward (``None`` if there is none)."""
        if not self.evaluations:
            return None
        return self.evaluations[int(np.argmax(self.rewards))]

    @property
    def cost_s(self) -> float:
        """Total simulated cost."""
        return self.evaluations[-1].cost_s if self.evaluations else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"method": self.method, "seed": self.seed, "space": self.space,
                "budget_episodes": self.budget_episodes, "budget_seconds": self.budget_seconds,
                "stopped": self.stopped, "error": self.error, "wall_s": self.wall_s,
                "evaluations": [e.to_dict() for e in self.evaluations],
                "recommendation": (None if self.recommendation is None
                                   else self.recommendation.to_dict())}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of :meth:`to_dict` (a benchmark's saved runs).

        Raises:
            ValueError: If ``data`` is not a history document.
        """
        try:
            evaluations = [Evaluation(
                int(e["index"]), Design(tuple(int(a) for a in e["design"])),
                Metrics.from_dict(e["metrics"]), float(e["reward"]), int(e["eval_seed"]),
                float(e["cost_s"]), float(e["wall_s"]), float(e["search_s"]))
                for e in data["evaluations"]]
            recommendation = data.get("recommendation")
            return cls(str(data["method"]), int(data["seed"]), str(data["space"]),
                       data.get("budget_episodes"), data.get("budget_seconds"), evaluations,
                       str(data.get("stopped", "")), data.get("error"),
                       float(data.get("wall_s", 0.0)),
                       None if recommendation is None
                       else Recommendation.from_dict(recommendation))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a saved run history ({type(error).__name__}: {error})"
                             ) from error

    @classmethod
    def from_records(cls, records: list[Record], *, method: str, seed: int, space: str,
                     budget_episodes: int | None = None, budget_seconds: float | None = None,
                     search_s: dict[int, float] | None = None) -> History:
        """The history of journaled ``records`` (a run folder's journal, in index order)."""
        history = cls(method, int(seed), space, budget_episodes, budget_seconds)
        cost = 0.0
        for record in sorted(records, key=lambda r: r.index):
            if record.index != len(history):  # a gap: what follows was never told
                break
            cost += max(0.0, float(record.metrics.cost_s))
            history.evaluations.append(Evaluation(
                record.index, record.design, record.metrics, record.reward, record.eval_seed,
                cost, record.wall_s, (search_s or {}).get(record.index, 0.0)))
        return history


def _check_spaces(searcher: Any, evaluator: Evaluator) -> None:
    own, other = searcher.space, getattr(evaluator, "space", None)
    if other is not None and (own.agents != other.agents
                              or own.action_sizes != other.action_sizes):
        raise ValueError(f"the searcher searches space {own.name!r} but the evaluator is bound to "
                         f"space {other.name!r}; build both on the same space")


def run(searcher: Any, evaluator: Evaluator, reward: Reward, *,
        budget_episodes: int | None = None, budget_seconds: float | None = None,
        wall_seconds: float | None = None, seed: int, method: str | None = None,
        top_k: int | None = TOP_K, extra_seeds: int = EXTRA_SEEDS,
        executor: Executor | None = None, in_flight: int = 1,
        stop_on_convergence: bool = False, spec: EvaluatorSpec | None = None,
        time_limit_s: float | None = None) -> History:
    """Run ``searcher`` against ``evaluator`` and ``reward`` until a budget is spent.

    Args:
        searcher: Anything with ``ask() -> Design`` and ``tell(design, reward, metrics)``
            (and, optionally, the hooks of :class:`~cnn_design_env.search.Searcher`).
        evaluator: Bound to the searcher's space.
        reward: ``Metrics -> float``.
        budget_episodes: Stop after this many evaluations.
        budget_seconds: Stop once the simulated cost (sum of ``metrics.cost_s``) reaches this.
        wall_seconds: Stop asking after this many wall seconds.
        seed: Seed of the evaluation seeds (:mod:`cnn_design_env.search.seeds`).
        method: The name recorded (default: ``searcher.name``).
        top_k: Designs re-evaluated for the final choice (``None``: no final choice).
        extra_seeds: New evaluation seeds per re-evaluated design.
        executor: Where evaluations run (default: in this thread). A process pool needs a
            picklable evaluator.
        in_flight: ``K``: evaluations kept in flight while the searcher can ask ahead.
        stop_on_convergence: Stop when the searcher's ``convergence()`` hook says so.
        spec: How worker processes build the evaluator (default: ``evaluator`` itself is
            evaluated where the executor runs it). The final choice always uses ``evaluator``.
        time_limit_s: Wall-clock seconds one evaluation may take (past it: terminated).

    Returns:
        The :class:`History` with its ``recommendation``; a failing searcher ends it early with
        ``error`` set (the final choice is still made from what was evaluated).

    Raises:
        ValueError: On a missing or non-positive budget, mismatched spaces, or an evaluator the
            searcher refuses (its ``evaluator_for`` hook).
    """
    check_budget(budget_episodes, budget_seconds, wall_seconds)
    _check_spaces(searcher, evaluator)
    own = evaluator_for(searcher, evaluator)
    if own is not None:  # the searcher picks each ask's fidelity: in-process, one at a time
        spec, executor, in_flight = own, InlineExecutor(), 1
    name = method or getattr(searcher, "name", type(searcher).__name__)
    records: list[Record] = []
    search_s: dict[int, float] = {}
    loop = SearchLoop(
        fresh_state(searcher, seed=seed), spec=evaluator if spec is None else spec,
        executor=executor or InlineExecutor(),
        reward=reward, episodes=budget_episodes, budget_seconds=budget_seconds,
        wall_seconds=wall_seconds, in_flight=in_flight, cache=False,
        stop_on_convergence=stop_on_convergence, on_record=[records.append], method=name,
        time_limit_s=time_limit_s,
        on_tell=[lambda record, _state: search_s.__setitem__(record.index, loop.last_search_s)])
    error: str | None = None
    start = time.perf_counter()
    try:
        stopped = loop.run()
    except MethodError as failure:
        stopped, error = "error", str(failure)
        logger.warning("run of %s (seed %s) stopped after %d evaluations: %s", name, seed,
                       loop.state.told, error)
    if stopped == "no_cost":
        from cnn_design_env.run import loop as loop_module

        error = (f"{loop_module.ZERO_COST_LIMIT} evaluations in a row cost nothing: the "
                 "evaluator reports no cost_s, so budget_seconds cannot end the run; give "
                 "budget_episodes")
    history = History.from_records(records, method=name, seed=seed, space=searcher.space.name,
                                   budget_episodes=budget_episodes,
                                   budget_seconds=budget_seconds, search_s=search_s)
    history.stopped, history.error = stopped, error
    if top_k is not None and history.evaluations:
        history.recommendation = recommend(
            [(e.design.actions, e.reward, e.metrics)
             for e in full_fidelity(history.evaluations, lambda e: e.metrics)],
            lambda design, s: safe_evaluate(evaluator, design, seed=s), reward, k=top_k,
            extra_seeds=extra_seeds, seed=seed, evaluator=evaluator)
    history.wall_s = time.perf_counter() - start
    return history


__all__ = ["Evaluation", "History", "check_budget", "run"]
