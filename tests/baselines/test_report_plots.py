"""Issue 18.7: benchmark curves carried forward, so a mean never drops when seeds finish."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from baselines.report import _curves, mean_se_curve
from cnn_design_env.reward import PaperReward, WeightedReward, reward_label


def run(best, costs):
    return SimpleNamespace(best_so_far=np.array(best, float), costs=np.array(costs, float),
                           cost_s=float(costs[-1]))


def test_best_so_far_means_never_drop_when_a_seed_ends_early():
    # seed 0 converged after 2 evaluations at a high best; seed 1 ran on, lower
    runs = [run([5.0, 9.0], [1.0, 2.0]), run([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])]
    for axis, grid in (("episodes", np.arange(1, 5, dtype=float)),
                       ("cost", np.linspace(0.0, 4.0, 9))):
        mean, _ = mean_se_curve(_curves(runs, axis, grid))
        finite = mean[np.isfinite(mean)]
        assert np.all(np.diff(finite) >= 0), (axis, mean)
    mean, _ = mean_se_curve(_curves(runs, "episodes", np.arange(1, 5, dtype=float)))
    assert mean.tolist() == [3.0, 5.5, 6.0, 6.5]  # seed 0 carried at 9.0


def test_reward_labels_name_the_reward_and_its_weights():
    assert reward_label(PaperReward(c_accuracy=0.8, c_size=0.2)) == (
        "paper Eq. 2 reward (c_A=0.8, c_S=0.2)")
    assert reward_label(WeightedReward({"accuracy": 2.0})) == "weighted reward (2 accuracy)"
    assert reward_label("my reward") == "my reward"
