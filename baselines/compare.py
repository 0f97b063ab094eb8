"""Multi-method x multi-seed benchmarks: every method on the same evaluator, reward and budget.

:func:`benchmark` runs each method with each seed through :func:`baselines.run`, the project's
one runner (seed ``s`` is both the searcher's seed and the seed of the evaluation seeds, so
methods see the same evaluation seeds, and a run is the one ``cnn-design search --seed s``
makes). :func:`summarize` turns the histories into one row per method:

* **recommended quality at budget fractions** (the score): the true quality of the design the
  method would recommend after the first ``f`` of the budget, mean and standard error over
  **all** runs. The recommendation is the final choice of :mod:`cnn_design_env.run.recommend`
  made at that point: of the ``top_k`` (3) designs with the highest mean observed reward, the one
  with the best mean over the table's recorded seeds, which is also its true quality (the mean
  reward over every recorded seed). Beside it: **regret**, the table optimum's quality minus the
  recommended one's, and the **share of runs whose recommendation is in the top 1 %** of the
  table's designs by quality (failed runs count as not). Without a table only the final point
  exists, estimated by ``History.recommendation``'s mean reward (re-evaluated on extra seeds).
* **best reward at budget fractions** (``best@f``, "best observed"): the best single reward
  found within the first ``f`` of the budget, mean and standard error over seeds; the luckiest
  noisy observation, kept for comparison, not the score. With an episode budget ``B`` that is
  the first ``ceil(f B)`` evaluations; with only a seconds budget, the evaluations started
  before ``f`` of it was spent. A run that failed before reaching a fraction counts as missing
  there (NaN).
* **top 1 %**: the threshold is the 99th percentile (``numpy.quantile(..., method="higher")``) of
  the rewards of every design in the evaluator's table when it has one (an evaluator exposing
  ``all_metrics() -> Iterable[Metrics]``, e.g. a tabular benchmark), else of every reward observed
  in this benchmark, over all methods and seeds. Reported in the CSV: evaluations and simulated
  cost until a run first *observes* it (mean and standard error over the runs that did) and how
  many runs did.
* **Pareto / hypervolume** when the reward has several objectives (:func:`reward_objectives`):
  each run's hypervolume over (accuracy, model size, inference time), normalised to the box
  between one reference point and one ideal point shared by all runs (see
  :mod:`baselines.pareto`), mean and standard error.

The standard error is ``std(ddof=1) / sqrt(n)`` over the ``n`` runs with a value (NaN for
``n < 2``). :func:`write_report` writes CSV and Markdown tables and PNG plots.

``reuse_evaluations=True`` evaluates each design once and replays its metrics, *recorded cost
included*, whenever any method asks it again (the tabular-benchmark protocol, for expensive
evaluators): every method still pays for every evaluation it makes.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from baselines.pareto import (
    OBJECTIVES,
    normalized_hypervolume,
    objective_values,
    pareto_front,
    reference_point,
    to_minimization,
)
from baselines.registry import check_methods, make_searcher, takes_option
from baselines.runner import History, check_budget, run
from baselines.scoring import quality_curve, recommended_at, table_quality
from cnn_design_env.evaluators import Evaluator, Metrics, safe_evaluate
from cnn_design_env.evaluators.executors import EvaluatorSpec
from cnn_design_env.reward import PaperReward, Reward, WeightedReward, reward_label
from cnn_design_env.run.recommend import TOP_K
from cnn_design_env.search.searcher import evaluator_for
from cnn_design_env.space import Design

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
TOP_FRACTION = 0.01


class ReplayEvaluator:
    """Evaluates each design once; later asks replay its metrics with the recorded cost.

    Unlike :class:`~cnn_design_env.evaluators.CachedEvaluator` (whose hits cost 0), a replay
    costs what the first evaluation cost, so budgets in simulated seconds stay comparable.
    """

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.space = evaluator.space
        self._store: dict[Design, Metrics] = {}
        self._lock = threading.Lock()

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        """The stored metrics of ``design`` (``cached=True``), evaluating it the first time."""
        with self._lock:
            found = self._store.get(design)
        if found is not None:
            return dataclasses.replace(found, cached=True)
        metrics = safe_evaluate(self.evaluator, design, seed=seed)
        with self._lock:
            self._store.setdefault(design, metrics)
        return metrics


@dataclass
class BenchmarkResult:
    """The histories of a benchmark and what its tables need.

    Attributes:
        space: The space's name.
        methods: Method names, in the order given.
        seeds: The seeds.
        budget_episodes: The episode budget, if any.
        budget_seconds: The simulated-cost budget, if any.
        histories: Method -> one history per seed.
        table_rewards: Rewards of every design of the evaluator's table, if it has one.
        pareto: Whether Pareto fronts and hypervolumes are reported.
        quality: True quality of every design of the table (mean reward over its recorded
            seeds), by table row, if the evaluator has a table.
        row_of: ``design -> table row`` for :attr:`quality`.
        top_k: Designs the final choice re-evaluates.
        reward_label: Which reward the rewards are (named on the plots).
    """

    space: str
    methods: list[str]
    seeds: list[int]
    budget_episodes: int | None
    budget_seconds: float | None
    histories: dict[str, list[History]] = field(default_factory=dict)
    table_rewards: np.ndarray | None = None
    pareto: bool = False
    quality: np.ndarray | None = None
    row_of: Callable[[tuple[int, ...]], int] | None = field(default=None, repr=False)
    top_k: int = TOP_K
    reward_label: str = "reward"

    def quality_threshold(self, top_fraction: float = TOP_FRACTION) -> float:
        """The true quality of the table's top ``top_fraction`` of designs (NaN without one)."""
        if self.quality is None or not self.quality.size:
            return math.nan
        return float(np.quantile(self.quality, 1.0 - top_fraction, method="higher"))

    @property
    def optimum(self) -> float:
        """The best true quality in the table (NaN without one)."""
        return math.nan if self.quality is None else float(self.quality.max())

    @property
    def errors(self) -> list[str]:
        """The error of every failed run."""
        return [h.error for runs in self.histories.values() for h in runs if h.error]

    def top_threshold(self, top_fraction: float = TOP_FRACTION) -> tuple[float, str]:
        """``(threshold, source)``: the reward of the top ``top_fraction``, ``source`` being
        ``"table"`` or ``"observed"``."""
        if self.table_rewards is not None and self.table_rewards.size:
            rewards, source = self.table_rewards, "table"
        else:
            rewards = np.concatenate([h.rewards for runs in self.histories.values()
                                      for h in runs] or [np.zeros(0)])
            source = "observed"
        if rewards.size == 0:
            return math.nan, source
        return float(np.quantile(rewards, 1.0 - top_fraction, method="higher")), source


def reward_objectives(reward: Reward) -> tuple[str, ...]:
    """The metrics a reward trades off: several means Pareto fronts are reported.

    ``PaperReward``: accuracy, and model size when ``c_size > 0``; ``WeightedReward``: its weights'
    metrics; anything else: its ``objectives`` attribute if it has one.
    """
    if isinstance(reward, PaperReward):
        return ("accuracy", "model_size_mb") if reward.c_size > 0 else ("accuracy",)
    if isinstance(reward, WeightedReward):
        return tuple(reward.weights)
    return tuple(getattr(reward, "objectives", ()))


def benchmark(methods: Sequence[str], evaluator: Evaluator, reward: Reward, *,
              seeds: int | Sequence[int], budget_episodes: int | None = None,
              budget_seconds: float | None = None,
              options: Mapping[str, Mapping[str, Any]] | None = None,
              reuse_evaluations: bool = False, pareto: bool | None = None,
              progress: Callable[[History], None] | None = None,
              done: Mapping[tuple[str, int], History] | None = None,
              executor: Executor | None = None, in_flight: int = 1,
              spec: EvaluatorSpec | None = None,
              time_limit_s: float | None = None) -> BenchmarkResult:
    """Run every method with every seed under one budget.

    Args:
        methods: Registered method names (see :func:`baselines.list_methods`).
        evaluator: Any evaluator (shared by all runs).
        reward: ``Metrics -> float``.
        seeds: A number ``n`` (seeds ``0 .. n-1``) or the seeds.
        budget_episodes: Evaluations per run.
        budget_seconds: Simulated cost per run.
        options: Method -> keyword options of its searcher.
        reuse_evaluations: Wrap the evaluator in a :class:`ReplayEvaluator`.
        pareto: Report Pareto fronts; ``None``: when the reward has several objectives.
        progress: Called with each history made here (not those of ``done``).
        done: Runs already made, by ``(method, seed)`` (a resumed benchmark): kept as they are.
        executor: Where evaluations run (default: in this thread); see
            :func:`cnn_design_env.search.runner.run`.
        in_flight: Evaluations kept in flight while a method can ask ahead.
        spec: How worker processes build the evaluator (with a process ``executor``).
        time_limit_s: Wall-clock seconds one evaluation may take.

    Returns:
        The :class:`BenchmarkResult`. A method that cannot be built (a missing optional
        dependency) or fails mid-run gets histories with ``error`` set; the others still run.

    Raises:
        ValueError: On an unknown method, a bad budget or no seed.
    """
    methods = check_methods(methods)
    check_budget(budget_episodes, budget_seconds)
    seeds = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed (seeds must be >= 1)")
    if reuse_evaluations and spec is not None:
        raise ValueError("reuse_evaluations replays metrics in this process; it cannot be "
                         "combined with evaluations in worker processes (spec)")
    options = dict(options or {})
    source = ReplayEvaluator(evaluator) if reuse_evaluations else evaluator
    quality, row_of = table_quality(evaluator, reward)
    result = BenchmarkResult(
        evaluator.space.name, methods, seeds, budget_episodes, budget_seconds,
        table_rewards=_table_rewards(evaluator, reward),
        pareto=len(reward_objectives(reward)) > 1 if pareto is None else bool(pareto),
        quality=quality, row_of=row_of, reward_label=reward_label(reward))
    for method in methods:
        result.histories[method] = []
        for seed in seeds:
            if done is not None and (method, seed) in done:
                result.histories[method].append(done[(method, seed)])
                continue
            try:
                kwargs = dict(options.get(method, {}))
                if budget_episodes is not None and takes_budget(method):
                    kwargs.setdefault("budget", int(budget_episodes))
                searcher = make_searcher(method, evaluator.space, seed=seed, **kwargs)
                # a multi-fidelity method answers repeats at other epochs: never replayed
                target = source if evaluator_for(searcher, evaluator) is None else evaluator
            except Exception as error:  # e.g. an optional dependency is missing
                history = History(method, seed, evaluator.space.name, budget_episodes,
                                  budget_seconds, stopped="error",
                                  error=f"method {method!r} could not be built: "
                                        f"{type(error).__name__}: {error}")
            else:
                history = run(searcher, target, reward, budget_episodes=budget_episodes,
                              budget_seconds=budget_seconds, seed=seed, method=method,
                              executor=executor, in_flight=in_flight, spec=spec,
                              time_limit_s=time_limit_s)
            result.histories[method].append(history)
            if progress is not None:
                progress(history)
    return result


def takes_budget(method: str) -> bool:
    """Whether the method's factory takes ``budget`` (a schedule spread over the run's episode
    budget, e.g. MetaQNN's epsilon), without importing other methods."""
    return takes_option(method, "budget")


def _table_rewards(evaluator: Evaluator, reward: Reward) -> np.ndarray | None:
    all_metrics = getattr(evaluator, "all_metrics", None)
    if not callable(all_metrics):
        return None
    return np.array([reward(m) for m in all_metrics()], dtype=float)


def mean_se(values: Iterable[float]) -> tuple[float, float, int]:
    """``(mean, standard error, n)`` over the finite values (NaN where undefined).

    Example:
        >>> mean_se([1.0, 3.0, float("nan")])
        (2.0, 1.0, 2)
    """
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if v.size == 0:
        return math.nan, math.nan, 0
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan
    return float(v.mean()), se, int(v.size)


def best_at(history: History, fraction: float) -> float:
    """Best reward within the first ``fraction`` of the run's budget (NaN if not reached)."""
    if history.budget_episodes is not None:
        count = math.ceil(fraction * history.budget_episodes - 1e-9)
        if len(history) < count and history.stopped == "error":
            return math.nan
        rewards = history.rewards[:count]
    else:
        limit = fraction * float(history.budget_seconds or 0.0)
        spent_before = history.costs - np.array([e.metrics.cost_s for e in history], dtype=float)
        if history.stopped == "error" and history.cost_s < limit:
            return math.nan
        rewards = history.rewards[spent_before < limit]
    return float(rewards.max()) if rewards.size else math.nan


def time_to_reach(history: History, threshold: float) -> tuple[float, float]:
    """``(evaluations, simulated cost)`` until ``history`` first reaches ``threshold``
    (1-based count; NaN, NaN if it never does)."""
    hits = np.flatnonzero(history.rewards >= threshold)
    if hits.size == 0:
        return math.nan, math.nan
    return float(hits[0] + 1), float(history.costs[hits[0]])


def pareto_frame(result: BenchmarkResult) -> tuple[np.ndarray, np.ndarray]:
    """``(reference, ideal)`` points over every non-terminated evaluation of the benchmark, in
    the objectives' own units (see :mod:`baselines.pareto`)."""
    everything = [e for runs in result.histories.values() for h in runs for e in h]
    _, values = objective_values(everything, OBJECTIVES)
    reference = reference_point(values, OBJECTIVES)
    if values.size == 0:
        return reference, np.full(len(OBJECTIVES), math.nan)
    best = to_minimization(values, OBJECTIVES).min(axis=0)
    return reference, best * np.array([o.sign for o in OBJECTIVES])


def summarize(result: BenchmarkResult, *, fractions: Sequence[float] = FRACTIONS,
              top_fraction: float = TOP_FRACTION) -> list[dict[str, Any]]:
    """One row per method (see the module docstring for every column's definition)."""
    threshold, _ = result.top_threshold(top_fraction)
    good = result.quality_threshold(top_fraction)
    reference, ideal = pareto_frame(result) if result.pareto else (None, None)
    rows = []
    for method in result.methods:
        runs = result.histories[method]
        row: dict[str, Any] = {"method": method, "runs": len(runs),
                               "errors": sum(1 for h in runs if h.error)}
        curves = [quality_curve(h, result) for h in runs]
        for f in fractions:
            found = [recommended_at(h, result, f, c) for h, c in zip(runs, curves, strict=True)]
            row[f"quality@{f:g}"], row[f"quality@{f:g}_se"], _ = mean_se(found)
            row[f"regret@{f:g}"], row[f"regret@{f:g}_se"], _ = mean_se(
                result.optimum - q for q in found)
            hits = [math.isfinite(q) and q >= good for q in found]
            row[f"top_share@{f:g}"] = (sum(hits) / len(runs) if runs and math.isfinite(good)
                                       else math.nan)
        row["evaluations"] = mean_se(len(h) for h in runs)[0]
        row["cost_s"] = mean_se(h.cost_s for h in runs)[0]
        row["wall_s"] = mean_se(h.wall_s for h in runs)[0]
        row["search_ms_per_eval"] = mean_se(
            1e3 * sum(e.search_s for e in h) / len(h) for h in runs if len(h))[0]
        for f in fractions:
            mean, se, _ = mean_se(best_at(h, f) for h in runs)
            row[f"best@{f:g}"], row[f"best@{f:g}_se"] = mean, se
        reach = [time_to_reach(h, threshold) for h in runs]
        row["top_evals"], row["top_evals_se"], reached = mean_se(r[0] for r in reach)
        row["top_cost_s"], row["top_cost_s_se"], _ = mean_se(r[1] for r in reach)
        row["top_reached"] = reached
        if result.pareto:
            hvs = []
            for h in runs:
                if not len(h):  # never ran (could not be built): no front, not an empty one
                    continue
                _, values = objective_values(h, OBJECTIVES)
                hvs.append(normalized_hypervolume(values, reference, ideal, OBJECTIVES))
            row["hypervolume"], row["hypervolume_se"], _ = mean_se(hvs)
            row["front_size"] = mean_se(len(pareto_front(h, OBJECTIVES)) for h in runs)[0]
        rows.append(row)
    return rows


def write_report(result: BenchmarkResult, out_dir: Any, *, fractions: Sequence[float] = FRACTIONS,
                 top_fraction: float = TOP_FRACTION, plots: bool = True,
                 notes: Sequence[str] = ()) -> list[Any]:
    """Write ``summary.csv``, ``summary.md``, ``histories.csv`` (every evaluation),
    ``pareto.csv`` (when Pareto is on) and the PNG plots into ``out_dir``.

    Args:
        result: The benchmark.
        out_dir: Output folder (created if missing).
        fractions: Budget fractions of the best-reward columns.
        top_fraction: The "top" of the time-to-reach columns (0.01: top 1 %).
        plots: Also write the PNG plots.
        notes: Extra lines for the Markdown header (e.g. the command that made it).

    Returns:
        The paths written.
    """
    from baselines import report

    rows = summarize(result, fractions=fractions, top_fraction=top_fraction)
    return report.write(result, out_dir, rows, fractions=fractions, top_fraction=top_fraction,
                        plots=plots, notes=notes)


__all__ = ["FRACTIONS", "TOP_FRACTION", "BenchmarkResult", "ReplayEvaluator", "benchmark",
           "best_at", "mean_se", "pareto_frame", "quality_curve", "recommended_at",
           "reward_objectives", "summarize", "table_quality", "takes_budget", "time_to_reach",
           "write_report"]
