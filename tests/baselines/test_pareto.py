"""Pareto fronts and hypervolume on hand-computed fronts."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from baselines.pareto import (
    OBJECTIVES,
    Objective,
    hypervolume,
    non_dominated,
    normalized_hypervolume,
    pareto_front,
    reference_point,
)
from cnn_design_env.evaluators import Metrics


def _inclusion_exclusion(points, reference):
    """Exact union volume of the boxes [p, reference] (exponential; tiny inputs only)."""
    points = [p for p in np.asarray(points, float) if (p < reference).all()]
    total = 0.0
    for k in range(1, len(points) + 1):
        for subset in itertools.combinations(points, k):
            corner = np.max(subset, axis=0)
            total += (-1) ** (k + 1) * np.prod(np.asarray(reference) - corner)
    return total


def test_non_dominated_with_duplicates():
    points = [[1, 2], [2, 1], [2, 2], [1, 2], [0, 3]]
    assert non_dominated(points).tolist() == [True, True, False, False, True]
    assert non_dominated(np.zeros((0, 2))).tolist() == []


def test_hypervolume_2d_by_hand():
    # staircase: [1,2]x[3,4] + [2,3]x[2,4] + [3,4]x[1,4] = 1 + 2 + 3
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)
    # a dominated point and one outside the reference change nothing
    assert hypervolume([[1, 3], [2, 2], [3, 1], [3, 3], [5, 0]], [4, 4]) == pytest.approx(6.0)
    assert hypervolume([[4, 1]], [4, 4]) == 0.0  # on the boundary: no volume
    assert hypervolume([], [1, 1]) == 0.0


def test_hypervolume_3d_by_hand():
    assert hypervolume([[1, 1, 1]], [2, 2, 2]) == pytest.approx(1.0)
    # two boxes of volume 2 overlapping in a unit cube
    assert hypervolume([[0, 1, 1], [1, 0, 1]], [2, 2, 2]) == pytest.approx(3.0)
    # boxes up to (2, 2, 3): A = [0,2]x[0,2]x[1,3] (8), B = [1,2]x[1,2]x[0,3] (3),
    # C = [0,2]x[1,2]x[0,3] (6). C contains B (B is dominated); A n C = [0,2]x[1,2]x[1,3] (4);
    # so the union is 8 + 6 - 4 = 10.
    points = [[0, 0, 1], [1, 1, 0], [0, 1, 0]]
    assert hypervolume(points, [2, 2, 3]) == pytest.approx(10.0)


def test_hypervolume_matches_inclusion_exclusion_on_random_fronts():
    rng = np.random.default_rng(0)
    for d in (2, 3, 4):
        for _ in range(10):
            points = rng.integers(0, 6, size=(int(rng.integers(1, 8)), d)).astype(float)
            reference = np.full(d, 6.0)
            assert hypervolume(points, reference) == pytest.approx(
                _inclusion_exclusion(points, reference))


def test_hypervolume_shape_errors():
    with pytest.raises(ValueError, match="expected shape"):
        hypervolume([[1, 2, 3]], [4, 4])


def _m(accuracy, size, infer, **kw):
    return Metrics(accuracy=accuracy, model_size_mb=size, infer_ms_per_batch=infer, **kw)


def test_pareto_front_over_metrics_skips_terminated():
    metrics = [
        _m(0.9, 2.0, 1.0),   # front
        _m(0.8, 1.0, 1.0),   # front (smaller)
        _m(0.8, 2.0, 1.0),   # dominated by the first
        _m(0.7, 1.0, 0.5),   # front (faster)
        _m(0.99, 0.1, 0.1, terminated=True, reason="loss"),  # would dominate all, but failed
    ]
    assert pareto_front(metrics) == [metrics[0], metrics[1], metrics[3]]
    assert pareto_front(metrics, OBJECTIVES[:2]) == [metrics[0], metrics[1]]


def test_reference_point_and_normalized_hypervolume():
    values = np.array([[0.9, 2.0, 1.0], [0.8, 1.0, 0.5]])
    reference = reference_point(values)
    assert reference.tolist() == pytest.approx([0.0, 2.2, 1.1])  # accuracy's worst, 1.1 x max
    assert reference_point(values, [Objective("params", "maximize")] * 3)[0] == pytest.approx(
        0.8 - 0.08)
    ideal = [0.9, 1.0, 0.5]
    # minimisation form: (-0.9, 2, 1), (-0.8, 1, 0.5) against (0, 2.2, 1.1):
    expected = _inclusion_exclusion([[-0.9, 2.0, 1.0], [-0.8, 1.0, 0.5]], [0.0, 2.2, 1.1])
    box = 0.9 * 1.2 * 0.6
    assert normalized_hypervolume(values, reference, ideal) == pytest.approx(expected / box)
    assert normalized_hypervolume(values[:1], reference, values[0]) == pytest.approx(1.0)


def test_objective_validation():
    with pytest.raises(ValueError, match="unknown metric 'latency'"):
        Objective("latency", "minimize")
    with pytest.raises(ValueError, match="direction must be one of"):
        Objective("accuracy", "max")
