"""The exact-or-masked choice is deterministic: no timings, no cache state, only the requests."""

from __future__ import annotations

import time

import numpy as np
import pytest

from cnn_design_env.evaluators.training import TrainingEvaluator
from cnn_design_env.space import get_space
from cnn_design_env.train.costmodel import CostModel
from cnn_design_env.train.data import load_digits
from cnn_design_env.train.settings import TrainerSettings


@pytest.fixture(scope="module")
def data():
    return load_digits(seed=0).subsample(8, seed=0)


def forms(space, data, cache_dir, designs, **settings) -> list[tuple[str, str]]:
    evaluator = TrainingEvaluator(space, data, epochs=1,
                                  settings=TrainerSettings(cache_dir=cache_dir, **settings))
    out = []
    for i, design in enumerate(designs):
        metrics = evaluator.evaluate(design, seed=i)
        out.append((metrics.extra["form"], metrics.extra["form_reason"]))
    return out


def test_cold_warm_and_slow_clock_runs_choose_the_same_forms(data, tmp_path, monkeypatch):
    space = get_space("vgg_mini")
    rng = np.random.default_rng(3)
    designs = [space.sample(rng) for _ in range(4)]
    designs.insert(2, designs[0])  # a design asked for again: its exact program is known
    cold = forms(space, data, tmp_path / "store", designs)
    # the reasons carry the estimated seconds: equal reasons mean equal estimates, which a
    # model learning from timings (compile seconds, seconds per FLOP) would not give
    assert all(why.startswith("cost model: ") for _, why in cold)
    assert cold[2][1].split(",")[1] == " masked 0.00 s (estimated)"  # the repeat's programs
    warm = forms(space, data, tmp_path / "store", designs)  # every program on disk now
    assert warm == cold
    real = time.perf_counter
    monkeypatch.setattr(time, "perf_counter", lambda: 1000.0 * real())  # a 1000x slower clock
    slow = forms(space, data, tmp_path / "slow", designs)
    assert slow == cold


def test_choices_follow_the_order_of_requests_not_the_caches(data, tmp_path):
    space = get_space("vgg_mini")
    design = space.sample(np.random.default_rng(5))
    first = TrainingEvaluator(space, data, epochs=1,
                              settings=TrainerSettings(cache_dir=tmp_path, form="exact"))
    first.evaluate(design, seed=0)  # its exact program is in the store now
    evaluator = TrainingEvaluator(space, data, epochs=1, settings=TrainerSettings(
        cache_dir=tmp_path, costs=CostModel(horizon=0.0)))  # shared programs charged in full
    plans = [evaluator.planner.plan(design, seed, {}, epochs=1) for seed in range(2)]
    # the store holds the program, but this evaluator's requests never asked for it: charged
    assert plans[0].form == "exact" and plans[0].why.startswith("cost model: exact 0.5")
    assert plans[1].why.startswith("cost model: exact 0.00 s")  # asked for by plans[0]
