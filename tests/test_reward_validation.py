"""Issue 17: rewards and constraints refuse NaN / inf / non-numbers at construction (they were
stored, and every reward became NaN or the constraint never held)."""

from __future__ import annotations

import math

import pytest

from cnn_design_env.evaluators import Metrics
from cnn_design_env.reward import Constraint, PaperReward, WeightedReward

NAN, INF = math.nan, math.inf


@pytest.mark.parametrize("kwargs, match", [
    ({"c_accuracy": NAN}, r"PaperReward: c_accuracy must be a finite number, got nan"),
    ({"c_size": INF, "c_accuracy": -INF}, r"c_accuracy must be a finite number, got -inf"),
    ({"accuracy_scale": NAN}, r"accuracy_scale must be a finite number"),
    ({"accuracy_scale": 0}, r"accuracy_scale must be > 0"),
    ({"penalty": NAN}, r"penalty must be a finite number, got nan"),
    ({"penalty": "-1"}, r"penalty must be a finite number, got '-1'"),
    ({"c_accuracy": True, "c_size": 0}, r"c_accuracy must be a finite number, got True"),
    ({"per_epoch": "no"}, r"per_epoch must be True or False, got 'no'"),
])
def test_paper_reward_refuses_non_finite_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PaperReward(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"maximum": NAN}, r"constraint on 'infer_ms_per_batch': maximum must be a finite number"),
    ({"minimum": INF}, r"minimum must be a finite number, got inf"),
    ({"maximum": "5"}, r"maximum must be a finite number, got '5'"),
    ({"minimum": 5, "maximum": 1}, r"minimum 5 > maximum 1; no value can satisfy it"),
])
def test_constraint_refuses_bad_bounds(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Constraint("infer_ms_per_batch", **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    ({"weights": {"accuracy": NAN}}, r"WeightedReward: weight of 'accuracy' must be a finite"),
    ({"weights": {"accuracy": 1, "model_size_mb": INF}}, r"weight of 'model_size_mb'"),
    ({"weights": {"accuracy": "1"}}, r"weight of 'accuracy' must be a finite number, got '1'"),
    ({"weights": [("accuracy", 1.0)]}, r"weights must map metric names to numbers"),
    ({"penalty": NAN}, r"penalty must be a finite number"),
    ({"violation_penalty": -INF}, r"violation_penalty must be a finite number"),
    ({"constraints": Constraint("params", maximum=10)}, r"wrap it in a list"),
    ({"constraints": [("params", 10)]}, r"constraints must be Constraint objects"),
])
def test_weighted_reward_refuses_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        WeightedReward(**kwargs)


def test_valid_rewards_still_work():
    metrics = Metrics(accuracy=0.5, epochs=2, model_size_mb=1.0, params=5)
    assert PaperReward()(metrics) == pytest.approx(0.9 * 50 / 3 - 0.1)  # N_epoch floored at 3
    reward = WeightedReward({"accuracy": 1, "params": -0.1}, [Constraint("params", maximum=10)])
    assert reward(metrics) == pytest.approx(0.0)
