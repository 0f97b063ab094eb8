"""Issue 17: a design above its space's parameter limit is not trained; the trainer scores it
as a terminated evaluation whose reason gives the estimate (``kernels=100000`` used to train a
205-million-parameter net)."""

from __future__ import annotations

from cnn_design_env.evaluators import TrainingEvaluator
from cnn_design_env.reward import PaperReward
from cnn_design_env.space import Design, SearchSpace
from cnn_design_env.space import layers as L


def test_the_trainer_refuses_a_design_above_the_limit_with_the_estimate():
    layers = (L.input_layer(), L.conv("c", "input", kernels=4, tune={"kernels": (4, 100_000)}),
              L.flatten("f", "c"), L.output("output", "f"))
    space = SearchSpace("big", layers, (8, 8, 1), 10, max_params=1_000_000)
    evaluator = TrainingEvaluator(space, "digits", epochs=1, persistent_cache=False)
    metrics = evaluator.evaluate(Design((1,)), seed=0)
    assert metrics.terminated
    assert "design (1,) has 65,000,010 parameters (260.0 MB of float32), above the limit " \
           "max_params=1,000,000" in metrics.reason
    assert PaperReward()(metrics) == -1.0
    assert metrics.cost_s < 5  # nothing was built or trained
