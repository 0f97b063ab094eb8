"""Rewards and the evaluator cache."""

from __future__ import annotations

import pytest
from fixtures import FixtureEvaluator

from cnn_design_env.evaluators import CachedEvaluator, Metrics, safe_evaluate
from cnn_design_env.reward import Constraint, PaperReward, WeightedReward
from cnn_design_env.space import Design, get_space


def test_paper_reward_eq2():
    reward = PaperReward(c_accuracy=0.8, c_size=0.2)
    metrics = Metrics(accuracy=0.9, model_size_mb=5.0, epochs=10, epochs_to_threshold=6)
    assert reward(metrics) == pytest.approx(0.8 * 90 / 6 - 0.2 * 5.0)
    assert reward(Metrics.failed("loss")) == -1.0
    assert PaperReward(per_epoch=False)(metrics) == pytest.approx(0.9 * 90 - 0.1 * 5.0)


def test_paper_reward_coefficients_must_sum_to_one():
    with pytest.raises(ValueError, match=r"sum to 1.*0.5.*0.6"):
        PaperReward(c_accuracy=0.5, c_size=0.6)


def test_weighted_reward_with_constraints():
    reward = WeightedReward({"accuracy": 1.0, "model_size_mb": -0.1},
                            [Constraint("infer_ms_per_batch", maximum=5.0)],
                            violation_penalty=-2.0)
    ok = Metrics(accuracy=0.9, model_size_mb=2.0, infer_ms_per_batch=4.0)
    slow = Metrics(accuracy=0.9, model_size_mb=2.0, infer_ms_per_batch=6.0)
    assert reward(ok) == pytest.approx(0.7)
    assert reward(slow) == -2.0
    assert reward(Metrics.failed("nan")) == -1.0


def test_unknown_metric_names_are_rejected():
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        WeightedReward({"acc": 1.0})
    with pytest.raises(ValueError, match="unknown metric 'latency'"):
        Constraint("latency", maximum=1.0)


def test_metrics_round_trip_and_failed_needs_reason():
    metrics = Metrics(accuracy=0.5, loss_curve=[1.0, 0.5])
    assert Metrics.from_dict(metrics.to_dict()) == metrics
    with pytest.raises(ValueError, match="needs a reason"):
        Metrics(terminated=True)


def test_cached_evaluator_does_not_retrain():
    space = get_space("vgg_mini")
    inner = FixtureEvaluator(space)
    cached = CachedEvaluator(inner)
    design = Design((0,) * space.num_agents)
    first = cached.evaluate(design, seed=0)
    second = cached.evaluate(design, seed=1)
    assert inner.calls == 1 and (cached.hits, cached.misses) == (1, 1)
    assert second.cached and second.cost_s == 0.0 and second.accuracy == first.accuracy
    assert design in cached and len(cached) == 1


class Exploding:
    def __init__(self, space):
        self.space = space

    def evaluate(self, design, *, seed):
        raise MemoryError("out of memory")


def test_safe_evaluate_turns_exceptions_into_penalties():
    space = get_space("vgg_mini")
    metrics = safe_evaluate(Exploding(space), Design((0,) * space.num_agents), seed=0)
    assert metrics.terminated and "MemoryError: out of memory" in metrics.reason
    assert PaperReward()(metrics) == -1.0
