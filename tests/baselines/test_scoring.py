"""Benchmark scoring: the recommended design's true quality, regret and top-1 % share over all
runs, computed by hand on a made-up table; MetaQNN's schedule scaled to the budget."""

from __future__ import annotations

import math

import numpy as np
import pytest

from baselines.compare import BenchmarkResult, quality_curve, recommended_at, summarize
from baselines.qlearning import EpsilonSchedule, QLearningSearcher
from baselines.runner import Evaluation, History
from cnn_design_env import Metrics
from cnn_design_env.space import Design, get_space

# a table of 100 "designs" (d,): true quality d / 10, so the optimum is 9.9, the top 1 % is >= 9.9
QUALITY = np.arange(100) / 10.0


def history(rewards_by_design: list[tuple[int, float]], *, budget: int, error: bool = False
            ) -> History:
    h = History("m", 0, "toy", budget_episodes=budget, stopped="error" if error else "")
    for i, (d, r) in enumerate(rewards_by_design):
        h.evaluations.append(Evaluation(i, Design((d,)), Metrics(accuracy=0.5), r, 0, 0.0, 0.0,
                                        0.0))
    return h


def result(runs: list[History]) -> BenchmarkResult:
    return BenchmarkResult("toy", ["m"], list(range(len(runs))), runs[0].budget_episodes, None,
                           histories={"m": runs}, quality=QUALITY, row_of=lambda d: d[0])


def test_the_recommendation_is_the_best_true_quality_among_the_top_three_observed():
    # observed rewards are noisy: design 5 was lucky (reward 50), design 99 (the optimum) unlucky
    h = history([(5, 50.0), (99, 1.0), (40, 20.0), (30, 30.0), (99, 60.0), (7, 70.0)], budget=6)
    curve = quality_curve(h, result([h]))
    # t=1: top {5} -> 0.5; t=2: {5, 99} -> 9.9; t=3: {5, 40, 99} -> 9.9;
    # t=4: top 3 by mean {5: 50, 30: 30, 40: 20} (99: 1) -> 4.0;
    # t=5: 99's mean (1 + 60) / 2 = 30.5 -> top {5, 99, 30} -> 9.9; t=6: {7, 5, 99} -> 9.9
    np.testing.assert_allclose(curve, [0.5, 9.9, 9.9, 4.0, 9.9, 9.9])
    res = result([h])
    assert recommended_at(h, res, 0.5, curve) == pytest.approx(9.9)       # after 3 evaluations
    assert recommended_at(h, res, 2 / 3, curve) == pytest.approx(4.0)     # after 4


def test_summary_scores_over_all_runs():
    good = history([(99, 10.0), (1, 1.0)], budget=2)                      # recommends 9.9
    poor = history([(50, 10.0), (1, 1.0)], budget=2)                      # recommends 5.0
    failed = history([], budget=2, error=True)                            # nothing
    row = summarize(result([good, poor, failed]), fractions=(1.0,))[0]
    assert row["quality@1"] == pytest.approx((9.9 + 5.0) / 2)            # mean over runs with one
    assert row["regret@1"] == pytest.approx((0.0 + 4.9) / 2)
    assert row["top_share@1"] == pytest.approx(1 / 3)                     # over all 3 runs
    assert result([good]).quality_threshold() == pytest.approx(9.9)
    assert result([good]).optimum == pytest.approx(9.9)


@pytest.mark.parametrize(("budget", "steps", "random_until"), [
    # 1500 / 2700 of the budget at epsilon 1, then 100, 100, 100, 150 x 6 (MetaQNN's counts)
    (50, ((1.0, 28), (0.9, 2), (0.8, 2), (0.7, 2), (0.6, 3), (0.5, 3), (0.4, 3), (0.3, 3),
          (0.2, 3), (0.1, 3)), 28),
    (500, ((1.0, 278), (0.9, 19), (0.8, 19), (0.7, 19), (0.6, 28), (0.5, 28), (0.4, 28),
           (0.3, 28), (0.2, 28), (0.1, 28)), 278),
])
def test_metaqnn_schedule_scales_to_the_budget(budget, steps, random_until):
    schedule = EpsilonSchedule.metaqnn(budget)
    assert schedule.steps == steps
    searcher = QLearningSearcher(get_space("vgg_mini"), seed=0, budget=budget)
    assert searcher.epsilon == schedule
    assert searcher.epsilon(random_until - 1) == 1.0 and searcher.epsilon(random_until) == 0.9
    assert searcher.epsilon(budget - 1) == 0.1
    assert math.isclose(sum(n for _, n in steps) / budget, 1.0, abs_tol=0.05)


def test_the_benchmark_passes_the_budget_to_metaqnn():
    from baselines.compare import benchmark, takes_budget
    from cnn_design_env import PaperReward
    from cnn_design_env.evaluators.tabular import TabularEvaluator

    assert takes_budget("qlearning") and not takes_budget("random")
    seen = []
    original = QLearningSearcher.__init__

    def spy(self, space, *, seed, budget=None, **kwargs):
        seen.append(budget)
        original(self, space, seed=seed, budget=budget, **kwargs)

    QLearningSearcher.__init__ = spy
    try:
        benchmark(["qlearning"], TabularEvaluator("table_chain"), PaperReward(), seeds=1,
                  budget_episodes=30)
    finally:
        QLearningSearcher.__init__ = original
    assert seen == [30]
