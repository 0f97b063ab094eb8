"""Scoring a search by what it would recommend: the true quality of its final choice on a table.

``result`` below is a :class:`~baselines.compare.BenchmarkResult` (its ``quality`` per table row,
``row_of`` and ``top_k``); see :mod:`baselines.compare` for the columns built from these.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from baselines.runner import History
from cnn_design_env.evaluators import Evaluator
from cnn_design_env.reward import Reward
from cnn_design_env.run.recommend import is_table
from cnn_design_env.search.fidelity import is_partial


def table_quality(evaluator: Evaluator, reward: Reward
                   ) -> tuple[np.ndarray | None, Callable[[tuple[int, ...]], int] | None]:
    """Per-row mean reward over the recorded seeds of a tabular evaluator."""
    if not is_table(evaluator) or not callable(getattr(evaluator, "all_metrics", None)):
        return None, None
    seeds = len(evaluator.table.seeds)
    rewards = np.array([reward(m) for m in evaluator.all_metrics()], dtype=float)
    return rewards.reshape(-1, seeds).mean(axis=1), evaluator.row


def quality_curve(history: History, result: Any) -> np.ndarray:
    """True quality of the recommendation after each evaluation of ``history`` (tables only).

    After ``t`` evaluations: of the ``top_k`` designs with the highest mean observed reward so
    far (ties: seen first), the best true quality (what the final choice on the table's recorded
    seeds recommends). Observations a multi-fidelity method made below full fidelity
    (:func:`~cnn_design_env.search.fidelity.is_partial`) are ranked only while the run has no
    full-fidelity one, as the runner's final choice does.
    """
    if result.quality is None or result.row_of is None:
        return np.full(len(history), math.nan)
    full: dict[tuple[int, ...], list[float]] = {}
    partial: dict[tuple[int, ...], list[float]] = {}
    quality: dict[tuple[int, ...], float] = {}
    out = np.empty(len(history))
    for t, e in enumerate(history):
        key = e.design.actions
        stats = partial if is_partial(e.metrics) else full
        entry = stats.setdefault(key, [0.0, 0.0, float(t)])
        entry[0] += e.reward
        entry[1] += 1
        if key not in quality:
            quality[key] = float(result.quality[result.row_of(key)])
        ranked = full if full else partial
        top = heapq.nsmallest(result.top_k, ranked.items(),
                              key=lambda item: (-item[1][0] / item[1][1], item[1][2]))
        out[t] = max(quality[d] for d, _ in top)
    return out


def recommended_at(history: History, result: Any, fraction: float,
                   curve: np.ndarray | None = None) -> float:
    """Quality of the recommendation after ``fraction`` of the budget (NaN if the run stopped
    before it; without a table, at 1.0 only: the estimated mean reward of the final choice)."""
    if result.quality is None:
        rec = history.recommendation
        if fraction < 1.0 or rec is None or history.stopped == "error":
            return math.nan
        return rec.best.mean_reward
    curve = quality_curve(history, result) if curve is None else curve
    if history.budget_episodes is not None:
        count = math.ceil(fraction * history.budget_episodes - 1e-9)
        if len(history) < count and history.stopped == "error":
            return math.nan
        count = min(count, len(history))
    else:
        limit = fraction * float(history.budget_seconds or 0.0)
        spent_before = history.costs - np.array([e.metrics.cost_s for e in history], dtype=float)
        if history.stopped == "error" and history.cost_s < limit:
            return math.nan
        count = int(np.sum(spent_before < limit))
    return float(curve[count - 1]) if count > 0 else math.nan


__all__ = ["quality_curve", "recommended_at", "table_quality"]
