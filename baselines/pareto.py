"""Pareto fronts and hypervolume over (accuracy max, model size min, inference time min).

Works on any method's history: anything iterable over evaluations with a ``.metrics`` attribute
(:class:`baselines.runner.History`), or over :class:`~cnn_design_env.evaluators.Metrics`.
Terminated evaluations (the penalty case) are left out of fronts.

Internally every objective is turned into one to *minimise* (maximised ones are negated).

**Hypervolume** is the volume dominated by the front and bounded by a reference point, computed
exactly: a sweep in 2-D, and in 3-D (or more) by slicing along the last objective (sort the
points by it; each slab between consecutive values contributes the 2-D hypervolume of the points
below it times the slab's thickness; Zitzler's HSO, ``O(n^2 log n)`` in 3-D). Points that do not
strictly beat the reference in every objective contribute nothing.

**Reference point** (:func:`reference_point`): for an objective with a known worst value (accuracy:
0) that value; otherwise the worst value observed over all the histories compared, moved
``margin`` (10 %) of its magnitude further (``1.1 x`` the largest model size and inference time
seen), so every observed design counts. A benchmark computes one reference over all methods and
seeds, so their hypervolumes are comparable. :func:`normalized_hypervolume` divides by the volume
of the box between the reference and the ideal point (best value of each objective seen), giving
a number in ``[0, 1]``.

Example:
    >>> hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4])
    6.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnn_design_env.evaluators import NUMERIC_FIELDS, Metrics

DIRECTIONS = ("maximize", "minimize")


@dataclass(frozen=True)
class Objective:
    """One objective: a numeric ``Metrics`` field and whether to maximise or minimise it.

    Args:
        metric: A numeric field of ``Metrics`` (``"accuracy"``, ``"model_size_mb"``, ...).
        direction: ``"maximize"`` or ``"minimize"``.
        worst: The objective's worst possible value, used as its reference coordinate when known
            (accuracy: 0), else ``None``.

    Raises:
        ValueError: On an unknown metric or direction.
    """

    metric: str
    direction: str
    worst: float | None = None

    def __post_init__(self) -> None:
        if self.metric not in NUMERIC_FIELDS:
            raise ValueError(f"unknown metric {self.metric!r}; expected one of "
                             f"{sorted(NUMERIC_FIELDS)}")
        if self.direction not in DIRECTIONS:
            raise ValueError(f"objective {self.metric!r}: direction must be one of {DIRECTIONS}, "
                             f"got {self.direction!r}")

    @property
    def sign(self) -> float:
        """``-1`` for a maximised objective, ``+1`` for a minimised one."""
        return -1.0 if self.direction == "maximize" else 1.0


OBJECTIVES = (
    Objective("accuracy", "maximize", worst=0.0),
    Objective("model_size_mb", "minimize"),
    Objective("infer_ms_per_batch", "minimize"),
)
"""The default objectives: accuracy (max), model size in MB (min), inference ms per batch (min)."""


def _metrics_of(item: Any) -> Metrics:
    return item if isinstance(item, Metrics) else item.metrics


def objective_values(items: Iterable[Any], objectives: Sequence[Objective] = OBJECTIVES
                     ) -> tuple[list[Any], np.ndarray]:
    """The non-terminated items and their objective values, shape ``(n, len(objectives))``.

    Items whose values include NaN (e.g. a missing ``epochs_to_threshold``) are left out too.
    """
    kept, rows = [], []
    for item in items:
        metrics = _metrics_of(item)
        if metrics.terminated:
            continue
        row = [metrics.value(o.metric) for o in objectives]
        if not any(math.isnan(v) for v in row):
            kept.append(item)
            rows.append(row)
    return kept, np.asarray(rows, dtype=float).reshape(len(rows), len(objectives))


def to_minimization(values: np.ndarray, objectives: Sequence[Objective] = OBJECTIVES
                    ) -> np.ndarray:
    """``values`` with maximised objectives negated, so that every column is minimised."""
    return np.asarray(values, dtype=float) * np.array([o.sign for o in objectives])


def non_dominated(points: np.ndarray | Sequence[Sequence[float]]) -> np.ndarray:
    """Boolean mask of the points no other point dominates (all objectives minimised).

    Of several identical non-dominated points only the first is kept.

    Example:
        >>> non_dominated([[1, 2], [2, 1], [2, 2], [1, 2]]).tolist()
        [True, True, False, False]
    """
    p = np.asarray(points, dtype=float)
    if p.size == 0:
        return np.zeros(len(p), dtype=bool)
    weakly = (p[:, None, :] <= p[None, :, :]).all(-1)  # [j, i]: j is nowhere worse than i
    strictly = (p[:, None, :] < p[None, :, :]).any(-1)
    dominated = (weakly & strictly).any(0)
    equal = (p[:, None, :] == p[None, :, :]).all(-1)
    duplicate = np.triu(equal, 1).any(0)  # an equal point comes earlier
    return ~(dominated | duplicate)


def pareto_front(items: Iterable[Any], objectives: Sequence[Objective] = OBJECTIVES) -> list[Any]:
    """The non-dominated, non-terminated items (evaluations or ``Metrics``), in input order."""
    kept, values = objective_values(items, objectives)
    mask = non_dominated(to_minimization(values, objectives))
    return [item for item, keep in zip(kept, mask, strict=True) if keep]


def hypervolume(points: np.ndarray | Sequence[Sequence[float]],
                reference: Sequence[float]) -> float:
    """Exact hypervolume dominated by ``points`` (minimised) and bounded by ``reference``.

    Args:
        points: Shape ``(n, d)``, every objective to minimise.
        reference: Length ``d``; only points strictly below it in every objective count.

    Returns:
        The dominated volume (0 for no counting point).

    Raises:
        ValueError: If the dimensions disagree.

    Example:
        >>> hypervolume([[0, 1, 1], [1, 0, 1]], [2, 2, 2])
        3.0
    """
    ref = np.asarray(reference, dtype=float).ravel()
    p = np.asarray(points, dtype=float)
    if p.size == 0:
        return 0.0
    if p.ndim != 2 or p.shape[1] != ref.size:
        raise ValueError(f"points of shape {p.shape} do not match a reference point with "
                         f"{ref.size} objectives; expected shape (n, {ref.size})")
    p = p[(p < ref).all(axis=1)]
    if len(p) == 0:
        return 0.0
    return float(_hv(p[non_dominated(p)], ref))


def _hv(p: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of mutually non-dominated points strictly inside ``ref``."""
    if p.shape[1] == 1:
        return float(ref[0] - p[:, 0].min())
    if p.shape[1] == 2:
        p = p[np.argsort(p[:, 0])]
        right = np.append(p[1:, 0], ref[0])
        return float(((right - p[:, 0]) * (ref[1] - p[:, 1])).sum())
    p = p[np.argsort(p[:, -1], kind="stable")]
    total = 0.0
    for i in range(len(p)):
        upper = p[i + 1, -1] if i + 1 < len(p) else ref[-1]
        thickness = upper - p[i, -1]
        if thickness > 0:
            below = p[: i + 1, :-1]
            total += _hv(below[non_dominated(below)], ref[:-1]) * thickness
    return total


def reference_point(values: np.ndarray, objectives: Sequence[Objective] = OBJECTIVES, *,
                    margin: float = 0.1) -> np.ndarray:
    """The documented reference point, in the objectives' own units and directions.

    Args:
        values: Objective values of every design compared, shape ``(n, d)`` (all methods and
            seeds together).
        objectives: The objectives.
        margin: How far beyond the worst observed value the reference lies, as a fraction of its
            magnitude (an absolute ``margin`` when that value is 0).

    Returns:
        Per objective: its ``worst`` if known, else the worst observed value moved by ``margin``.
    """
    values = np.asarray(values, dtype=float).reshape(-1, len(objectives))
    ref = []
    for k, objective in enumerate(objectives):
        if objective.worst is not None:
            ref.append(float(objective.worst))
            continue
        column = values[:, k]
        if column.size == 0:
            ref.append(math.nan)
            continue
        worst = column.max() if objective.direction == "minimize" else column.min()
        step = margin * abs(worst) if worst != 0 else margin
        ref.append(float(worst + objective.sign * step))
    return np.array(ref)


def normalized_hypervolume(values: np.ndarray, reference: Sequence[float], ideal: Sequence[float],
                           objectives: Sequence[Objective] = OBJECTIVES) -> float:
    """Hypervolume of ``values`` (own units) as a fraction of the box from ``reference`` to
    ``ideal`` (both in own units); NaN if the box is empty."""
    signs = np.array([o.sign for o in objectives])
    ref = np.asarray(reference, dtype=float) * signs
    best = np.asarray(ideal, dtype=float) * signs
    box = float(np.prod(ref - best))
    if not box > 0:
        return math.nan
    return hypervolume(to_minimization(values, objectives), ref) / box


__all__ = ["DIRECTIONS", "OBJECTIVES", "Objective", "hypervolume", "non_dominated",
           "normalized_hypervolume", "objective_values", "pareto_front", "reference_point",
           "to_minimization"]
