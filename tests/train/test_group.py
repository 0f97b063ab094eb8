"""``evaluate_many``: designs of one signature and seeds of one design in one program, each
equal to its one-by-one evaluation; early termination per member; the time limit."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cnn_design_env.evaluators.training import TrainingEvaluator
from cnn_design_env.space import Design, SearchSpace, get_space
from cnn_design_env.space import layers as L
from cnn_design_env.train.data import load_digits
from cnn_design_env.train.masked import envelope
from cnn_design_env.train.settings import TrainerSettings
from cnn_design_env.train.termination import TerminationConfig

RATES = (0.05, 1e30, 1e-7)  # trains; diverges to NaN inside the first epoch; never learns


@pytest.fixture(scope="module")
def data():
    return load_digits(seed=0).subsample(30, seed=0)


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    base = get_space("vgg_mini")
    tuner = L.train("hp", tune={"learning_rate": RATES})
    return SearchSpace("vgg_mini_lr", (*base.layers, tuner), base.input_shape, base.num_classes,
                       training=dict(base.training))


def design(space: SearchSpace, conv1: int, conv2: int, rate: int) -> Design:
    """vgg_mini with conv1/conv2 actions (odd: stride 2, cheap), fc1 64, the given rate."""
    return Design((conv1, conv2, 0, 0, 0, 1, rate))


def evaluator(space, data, tmp_path, **kwargs) -> TrainingEvaluator:
    config = TerminationConfig(loss_threshold=0.97, loss_patience=2)
    if "settings" not in kwargs:
        kwargs["cache_dir"] = tmp_path
    return TrainingEvaluator(space, data, epochs=3, termination=config, **kwargs)


def assert_same(many, ones):
    for a, b in zip(many, ones, strict=True):
        assert (a.terminated, a.reason, a.restarts, a.epochs) == (
            b.terminated, b.reason, b.restarts, b.epochs)
        np.testing.assert_allclose(a.loss_curve, b.loss_curve, rtol=1e-4)
        np.testing.assert_allclose(a.accuracy_curve, b.accuracy_curve, atol=2e-3)
        assert (a.params, a.flops) == (b.params, b.flops)


def test_designs_of_one_signature_train_together_like_one_by_one(space, data, tmp_path):
    designs = [design(space, 1, 1, 0), design(space, 5, 3, 0), design(space, 3, 5, 1),
               design(space, 1, 3, 2), design(space, 5, 5, 0)]
    assert len({envelope(space, d).signature for d in designs}) == 1
    seeds = [3, 1, 4, 1, 5]
    settings = TrainerSettings(cache_dir=tmp_path, form="masked", group_size=8)
    many = evaluator(space, data, tmp_path, settings=settings).evaluate_many(designs, seeds)
    assert [m.extra["group_size"] for m in many] == [5] * 5
    assert all(m.extra["form"] == "masked" for m in many)
    one = evaluator(space, data, tmp_path / "one", form="masked")
    assert_same(many, [one.evaluate(d, seed=s) for d, s in zip(designs, seeds, strict=True)])
    exact = evaluator(space, data, tmp_path / "exact", form="exact")
    assert_same(many, [exact.evaluate(d, seed=s) for d, s in zip(designs, seeds, strict=True)])
    nan, stuck = many[2], many[3]
    assert nan.terminated and nan.reason == "nan" and nan.epochs == 1
    assert stuck.terminated and stuck.reason == "loss" and stuck.restarts == 1
    assert not many[0].terminated and many[0].epochs == 3  # the others went on
    assert sum(m.cost_s for m in many) == pytest.approx(many[0].extra["group_cost_s"])


def test_seeds_and_rates_of_one_design_share_its_exact_program(space, data, tmp_path):
    designs = [design(space, 3, 3, 0), design(space, 3, 3, 0), design(space, 3, 3, 1)]
    seeds = [0, 1, 0]
    many = evaluator(space, data, tmp_path, form="exact").evaluate_many(designs, seeds)
    assert [m.extra["form"] for m in many] == ["exact"] * 3
    assert [m.extra["group_size"] for m in many] == [3] * 3
    one = evaluator(space, data, tmp_path / "one", form="exact")
    assert_same(many, [one.evaluate(d, seed=s) for d, s in zip(designs, seeds, strict=True)])
    assert many[0].loss_curve != many[1].loss_curve  # different seeds


def test_evaluate_many_checks_its_arguments_and_keeps_bad_designs_apart(space, data, tmp_path):
    ev = evaluator(space, data, tmp_path)
    with pytest.raises(ValueError, match="one seed per design"):
        ev.evaluate_many([design(space, 1, 1, 0)], [0, 1])
    good, bad = ev.evaluate_many([design(space, 1, 1, 0), Design((99,) * 7)], [0, 0])
    assert not good.terminated and bad.reason.startswith("exception: ValueError: action 99")
    assert ev.evaluate_many([], []) == []


def sleepy(seconds: float):
    def augment(x, y, rng):
        time.sleep(seconds)
        return x, y
    return augment


@pytest.mark.parametrize("form", ["exact", "masked"])
def test_the_time_limit_stops_a_sleeping_training(space, data, tmp_path, form):
    ev = TrainingEvaluator(space, data, epochs=50, cache_dir=tmp_path, form=form,
                           augment=sleepy(0.02), time_limit_s=4.0,
                           termination=TerminationConfig(loss_threshold=None))
    d = design(space, 1, 1, 0)
    start = time.perf_counter()
    metrics = ev.evaluate(d, seed=0)
    assert metrics.terminated and metrics.reason == "time limit"
    assert time.perf_counter() - start < 15 and 1 <= metrics.epochs < 50


def test_the_time_limit_of_a_batch_stops_every_member(space, data, tmp_path):
    ev = TrainingEvaluator(space, data, epochs=50, cache_dir=tmp_path, form="masked",
                           augment=sleepy(0.01),
                           termination=TerminationConfig(loss_threshold=None))
    designs = [design(space, 1, 1, 0), design(space, 5, 3, 0)]
    ev.evaluate_many(designs, [0, 1], time_limit_s=1e-6)  # compile outside the timing
    start = time.perf_counter()
    many = ev.evaluate_many(designs, [0, 1], time_limit_s=3.0)
    assert time.perf_counter() - start < 12
    assert [m.reason for m in many] == ["time limit"] * 2
