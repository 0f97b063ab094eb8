"""The runner: one searcher, one evaluator, one reward, one budget, and the history of it all.

Stopping rules, the same for every method: before each ask, the run stops when
``budget_episodes`` evaluations have been made or the simulated cost spent (the sum of
``metrics.cost_s``, e.g. GPU-seconds recorded in a table) has reached ``budget_seconds``. The
evaluation that crosses ``budget_seconds`` is kept (its cost was not known before it ran). Wall
time is recorded beside the simulated cost.

Every evaluation goes through :func:`~cnn_design_env.evaluators.safe_evaluate` (an evaluator that
raises gives a terminated ``Metrics``, i.e. the reward's penalty), and a NaN or infinite metric or
reward becomes a terminated evaluation with the penalty and the reason
(:func:`~cnn_design_env.evaluators.faults.scored`), so no searcher is told a non-finite reward.
Evaluation seeds are drawn from ``np.random.default_rng(seed)``, so methods run with the same
``seed`` see the same seeds.

A searcher that raises (in ``ask`` or ``tell``), asks a design outside the space, or a reward that
raises, stops the run: the history keeps every evaluation so far and records the error with the
method's name (``History.error``, ``History.stopped == "error"``).

**The final choice** (as at the end of ``cnn-design search``): after the budget, the ``top_k``
designs with the highest mean reward are re-evaluated on ``extra_seeds`` new seeds (a tabular
evaluator answers from every recorded seed) and the best mean is ``History.recommendation``
(:mod:`cnn_design_env.run.recommend`). These re-evaluations are not part of the budget.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from baselines.base import Searcher
from cnn_design_env.evaluators import Evaluator, Metrics, safe_evaluate
from cnn_design_env.evaluators.faults import scored
from cnn_design_env.reward import Reward
from cnn_design_env.run.recommend import EXTRA_SEEDS, TOP_K, Recommendation, recommend
from cnn_design_env.space import Design

logger = logging.getLogger(__name__)

SEED_BOUND = 2**31 - 1
ZERO_COST_LIMIT = 1000
"""A seconds-only budget stops after this many consecutive evaluations that cost nothing."""


@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a run.

    Attributes:
        index: 0-based position in the run.
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
        stopped: ``"budget_episodes"``, ``"budget_seconds"``, ``"error"`` or ``"no_cost"``.
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


def check_budget(budget_episodes: int | None, budget_seconds: float | None) -> None:
    """Check the budgets: at least one, each positive (episodes an integer).

    Raises:
        ValueError: Naming the bad budget.
    """
    if budget_episodes is None and budget_seconds is None:
        raise ValueError("give a budget: budget_episodes and/or budget_seconds")
    if budget_episodes is not None and (isinstance(budget_episodes, bool)
                                        or int(budget_episodes) != budget_episodes
                                        or budget_episodes <= 0):
        raise ValueError(f"budget_episodes must be a positive integer, got {budget_episodes!r}")
    if budget_seconds is not None and not (budget_seconds > 0 and math.isfinite(budget_seconds)):
        raise ValueError(f"budget_seconds must be a positive number, got {budget_seconds!r}")


def _check_spaces(searcher: Searcher, evaluator: Evaluator) -> None:
    own, other = searcher.space, getattr(evaluator, "space", None)
    if other is not None and (own.agents != other.agents
                              or own.action_sizes != other.action_sizes):
        raise ValueError(f"the searcher searches space {own.name!r} but the evaluator is bound to "
                         f"space {other.name!r}; build both on the same space")


def _stop_reason(done: int, cost: float, zero_streak: int, budget_episodes: int | None,
                 budget_seconds: float | None) -> str:
    """Why the run stops before its next evaluation, or ``""`` to go on."""
    if budget_episodes is not None and done >= budget_episodes:
        return "budget_episodes"
    if budget_seconds is not None and cost >= budget_seconds:
        return "budget_seconds"
    if budget_episodes is None and zero_streak >= ZERO_COST_LIMIT:
        return "no_cost"
    return ""


def run(searcher: Searcher, evaluator: Evaluator, reward: Reward, *,
        budget_episodes: int | None = None, budget_seconds: float | None = None, seed: int,
        method: str | None = None, top_k: int | None = TOP_K,
        extra_seeds: int = EXTRA_SEEDS) -> History:
    """Run ``searcher`` against ``evaluator`` and ``reward`` until the budget is spent.

    Args:
        searcher: Anything with ``ask() -> Design`` and ``tell(design, reward, metrics)``.
        evaluator: Bound to the searcher's space.
        reward: ``Metrics -> float``.
        budget_episodes: Stop after this many evaluations.
        budget_seconds: Stop once the simulated cost (sum of ``metrics.cost_s``) reaches this.
        seed: Seed of the evaluation seeds.
        method: The name recorded (default: ``searcher.name``).
        top_k: Designs re-evaluated for the final choice (``None``: no final choice).
        extra_seeds: New evaluation seeds per re-evaluated design.

    Returns:
        The :class:`History` with its ``recommendation``; a failing searcher ends it early with
        ``error`` set (the final choice is still made from what was evaluated).

    Raises:
        ValueError: On a missing or non-positive budget, or mismatched spaces.
    """
    check_budget(budget_episodes, budget_seconds)
    _check_spaces(searcher, evaluator)
    name = method or getattr(searcher, "name", type(searcher).__name__)
    space = searcher.space
    history = History(method=name, seed=int(seed), space=space.name,
                      budget_episodes=budget_episodes, budget_seconds=budget_seconds)
    seeds = np.random.default_rng(seed)
    start = time.perf_counter()
    cost, zero_streak = 0.0, 0
    while True:
        history.stopped = _stop_reason(len(history), cost, zero_streak, budget_episodes,
                                       budget_seconds)
        if history.stopped:
            if history.stopped == "no_cost":
                history.error = (f"{ZERO_COST_LIMIT} evaluations in a row cost nothing: the "
                                 "evaluator reports no cost_s, so budget_seconds cannot end the "
                                 "run; give budget_episodes")
            break
        phase = "ask"
        try:
            t0 = time.perf_counter()
            design = searcher.ask()
            phase = "ask (design outside the space)"
            design = space.validate(design)
            search_s = time.perf_counter() - t0
            eval_seed = int(seeds.integers(SEED_BOUND))
            metrics = safe_evaluate(evaluator, design, seed=eval_seed)
            phase = "reward"
            metrics, value = scored(metrics, reward)
            cost += max(0.0, float(metrics.cost_s))
            zero_streak = zero_streak + 1 if metrics.cost_s <= 0 else 0
            phase = "tell"
            t1 = time.perf_counter()
            searcher.tell(design, value, metrics)
            search_s += time.perf_counter() - t1
        except Exception as error:
            history.error = f"method {name!r} failed in {phase}: {type(error).__name__}: {error}"
            history.stopped = "error"
            logger.warning("run of %s (seed %s) stopped after %d evaluations: %s", name, seed,
                           len(history), history.error)
            if phase == "tell":  # the evaluation was made and paid for: keep it
                history.evaluations.append(Evaluation(
                    len(history), design, metrics, value, eval_seed, cost,
                    time.perf_counter() - start, search_s))
            break
        history.evaluations.append(Evaluation(len(history), design, metrics, value, eval_seed,
                                              cost, time.perf_counter() - start, search_s))
    if top_k is not None and history.evaluations:
        history.recommendation = recommend(
            [(e.design.actions, e.reward, e.metrics) for e in history.evaluations],
            lambda design, s: safe_evaluate(evaluator, design, seed=s), reward, k=top_k,
            extra_seeds=extra_seeds, seed=seed, evaluator=evaluator)
    history.wall_s = time.perf_counter() - start
    return history


__all__ = ["Evaluation", "History", "SEED_BOUND", "check_budget", "run"]
