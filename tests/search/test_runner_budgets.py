"""The one runner's budgets and seed rule, through the Python API."""

from __future__ import annotations

import time

import numpy as np
from fixtures import FixtureEvaluator

from cnn_design_env.reward import PaperReward
from cnn_design_env.search.plugins import make_searcher
from cnn_design_env.search.runner import run
from cnn_design_env.search.seeds import SEED_BOUND, draw, evaluation_seeds
from cnn_design_env.space import get_space


class Slow(FixtureEvaluator):
    def evaluate(self, design, *, seed):
        time.sleep(0.05)
        return super().evaluate(design, seed=seed)


def test_a_wall_time_budget_stops_asking() -> None:
    space = get_space("vgg_mini")
    history = run(make_searcher("random", space, seed=0), Slow(space), PaperReward(),
                  wall_seconds=0.3, seed=0, top_k=None)
    assert history.stopped == "budget_wall"
    assert 2 <= len(history) <= 8  # ~0.05 s each, checked before every ask
    assert history.evaluations[-2].wall_s < 0.3


def test_the_seed_rule_is_one_stream_per_run() -> None:
    space = get_space("vgg_mini")
    history = run(make_searcher("random", space, seed=5), FixtureEvaluator(space),
                  PaperReward(), budget_episodes=6, seed=5, top_k=None)
    seeds = evaluation_seeds(5)
    assert [e.eval_seed for e in history] == [draw(seeds) for _ in range(6)]
    assert [e.eval_seed for e in history] == \
        np.random.default_rng(5).integers(SEED_BOUND, size=6).tolist()


def test_k_in_flight_is_a_deterministic_function_of_seed_and_k() -> None:
    space = get_space("vgg_mini")

    def designs(k):
        history = run(make_searcher("evolution", space, seed=1, population_size=4,
                                    sample_size=2), FixtureEvaluator(space), PaperReward(),
                      budget_episodes=12, seed=1, top_k=None, in_flight=k)
        return [(e.design.actions, e.eval_seed) for e in history]

    assert designs(3) == designs(3)
    assert designs(1) != designs(3)  # asking ahead sees fewer results: another sequence
