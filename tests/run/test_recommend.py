"""The final choice: the best mean of the top designs re-evaluated, not the best single draw."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cnn_design_env import Metrics, PaperReward
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.run.recommend import Recommendation, recommend, top_designs


def acc(value: float, size: float = 0.05) -> Metrics:
    return Metrics(accuracy=value, model_size_mb=size, epochs=3)


def test_top_k_reevaluation_picks_the_best_mean_not_the_best_draw():
    reward = PaperReward()                                   # 30 A - 0.1 S here (N_epoch = 3)
    observed = [((0, 0), reward(acc(0.99)), acc(0.99)),      # a lucky draw of a poor design
                ((1, 1), reward(acc(0.96)), acc(0.96)),      # a consistently good design
                ((2, 2), reward(acc(0.95)), acc(0.95)),
                ((3, 3), reward(acc(0.50)), acc(0.50))]
    truth = {(0, 0): [0.80, 0.82], (1, 1): [0.95, 0.97], (2, 2): [0.90, 0.92]}
    asked = []

    def evaluate(design, seed):
        asked.append((design.actions, seed))
        return acc(truth[design.actions][len([a for a in asked if a[0] == design.actions]) - 1])

    choice = recommend(observed, evaluate, reward, k=3, extra_seeds=2, seed=7)
    assert [c.design for c in choice.candidates] == [(0, 0), (1, 1), (2, 2)]  # search ranks
    assert len(asked) == 6 and len({s for _, s in asked}) <= 6
    # means by hand: (0.99 + 0.80 + 0.82) / 3 = 0.87; (0.96 + 0.95 + 0.97) / 3 = 0.96
    assert choice.candidates[0].mean_accuracy == pytest.approx(0.87)
    assert choice.candidates[1].mean_accuracy == pytest.approx(0.96)
    assert choice.design == (1, 1)
    assert choice.best.mean_reward == pytest.approx(30 * 0.96 - 0.1 * 0.05)
    assert choice.best.sd_accuracy == pytest.approx(0.01)
    again = Recommendation.from_dict(choice.to_dict())
    assert again.design == choice.design and again.best.rewards == choice.best.rewards


def test_extra_seeds_come_from_the_run_seed():
    seen = []
    observed = [((0,), 1.0, acc(0.1))]
    for seed in (0, 0, 1):
        recommend(observed, lambda d, s: seen.append(s) or acc(0.1), lambda m: m.accuracy,
                  k=1, extra_seeds=2, seed=seed)
    assert seen[:2] == seen[2:4] and seen[:2] != seen[4:]


def test_cached_repeats_do_not_count_twice_and_ties_keep_the_first_seen():
    cached = Metrics(accuracy=0.9, cached=True)
    top = top_designs([((1,), 5.0, acc(0.5)), ((0,), 5.0, acc(0.5)), ((1,), 5.0, cached),
                       ((2,), 1.0, acc(0.1)), ((2,), 9.0, acc(0.1))], 3)
    assert [(d, r) for d, r, _ in top] == [((1,), [5.0]), ((0,), [5.0]), ((2,), [1.0, 9.0])]


def test_with_a_table_the_candidates_are_scored_on_every_recorded_seed():
    evaluator = TabularEvaluator("table_chain", seed=0)
    reward = PaperReward()
    rng = np.random.default_rng(0)
    observed = []
    for k in range(20):
        design = evaluator.space.sample(rng)
        metrics = evaluator.evaluate(design, seed=k)
        observed.append((design.actions, reward(metrics), metrics))
    choice = recommend(observed, None, reward, k=3, seed=0, evaluator=evaluator)
    assert choice.source == "table" and choice.extra_seeds == 0
    for c in choice.candidates:
        row = evaluator.row(c.design)
        truth = [reward(evaluator.query(row, col)) for col in range(len(evaluator.table.seeds))]
        assert c.rewards == pytest.approx(truth)                # the search's draw is one of them
    assert choice.best.mean_reward == max(c.mean_reward for c in choice.candidates)


def test_bad_arguments():
    with pytest.raises(ValueError, match="k"):
        recommend([((0,), 1.0, acc(0.1))], None, lambda m: 0.0, k=0)
    with pytest.raises(ValueError, match="extra_seeds"):
        recommend([((0,), 1.0, acc(0.1))], None, lambda m: 0.0, extra_seeds=-1)
    assert recommend([], None, lambda m: 0.0) is None
    assert math.isnan(recommend([((0,), 1.0, acc(0.1))], None, lambda m: 0.0,
                                extra_seeds=0).best.sd_reward)


def test_paper_reward_floors_n_epoch_at_three():
    reward = PaperReward()
    # 0.9 * 100 * 0.95 / 3 - 0.1 * 0.5 = 28.45, whether the threshold was met at epoch 1, 2 or 3
    for first in (1, 2, 3, None):
        assert reward(Metrics(accuracy=0.95, model_size_mb=0.5, epochs=3,
                              epochs_to_threshold=first)) == pytest.approx(28.45)
    # met at epoch 5 of 6: 0.9 * 95 / 5 - 0.05 = 17.05
    assert reward(Metrics(accuracy=0.95, model_size_mb=0.5, epochs=6,
                          epochs_to_threshold=5)) == pytest.approx(17.05)
    assert PaperReward(min_epochs=1)(Metrics(accuracy=0.95, model_size_mb=0.5, epochs=3,
                                             epochs_to_threshold=1)) == pytest.approx(85.45)
    assert PaperReward(per_epoch=False)(Metrics(accuracy=0.95, model_size_mb=0.5, epochs=3)
                                        ) == pytest.approx(85.45)
    assert reward(Metrics(accuracy=0.95, terminated=True, reason="loss")) == -1.0
    with pytest.raises(ValueError, match="min_epochs"):
        PaperReward(min_epochs=0)


def test_a_nan_re_evaluation_is_the_penalty_and_never_recommended():
    reward = PaperReward()
    observed = [((0, 0), reward(acc(0.99)), acc(0.99)), ((1, 1), reward(acc(0.90)), acc(0.90))]

    def evaluate(design, seed):                  # the lucky design's extra seeds come back NaN
        return acc(math.nan) if design.actions == (0, 0) else acc(0.90)

    choice = recommend(observed, evaluate, reward, k=2, extra_seeds=2, seed=0)
    lucky = choice.candidates[0]
    assert lucky.final_rewards == (reward.penalty, reward.penalty)
    assert all(math.isfinite(r) for c in choice.candidates for r in c.final_rewards)
    assert all(math.isfinite(a) for a in choice.best.final_accuracies)
    assert choice.design == (1, 1)
