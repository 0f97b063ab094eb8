"""The jnp rewards equal the package's Python rewards on every answer of every table."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cnn_design_env.evaluators import Metrics
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.jax import jax_reward
from cnn_design_env.jax.rewards import metric_value
from cnn_design_env.jax.tabulate import tabulate, tabulate_reward
from cnn_design_env.reward import Constraint, PaperReward, WeightedReward
from cnn_design_env.tables import list_tables

HAS_MIN_EPOCHS = "min_epochs" in {f.name for f in dataclasses.fields(PaperReward)}


@dataclasses.dataclass(frozen=True)
class _MinEpochsReward(PaperReward):
    """The announced ``PaperReward(min_epochs=...)`` rule, for a package that lacks the field:
    ``N_epoch = max(min_epochs, epochs_to_threshold or epochs or 1)``."""

    min_epochs: int = 3

    def __call__(self, metrics: Metrics) -> float:
        if metrics.terminated:
            return float(self.penalty)
        accuracy = metrics.accuracy * self.accuracy_scale
        if self.per_epoch:
            accuracy /= max(self.min_epochs,
                            metrics.epochs_to_threshold or metrics.epochs or 1)
        return float(self.c_accuracy * accuracy - self.c_size * metrics.model_size_mb)


def min_epochs_reward(min_epochs: int) -> PaperReward:
    """The real ``PaperReward(min_epochs=...)`` where it exists, else the announced rule."""
    if HAS_MIN_EPOCHS:
        return PaperReward(min_epochs=min_epochs)
    return _MinEpochsReward(min_epochs=min_epochs)


REWARDS = [
    PaperReward(),
    PaperReward(c_accuracy=0.7, c_size=0.3, accuracy_scale=1.0, per_epoch=False, penalty=-5.0),
    WeightedReward({"accuracy": 2.0, "flops": -1e-7, "params": -1e-6, "epochs_to_threshold": 0.5,
                    "restarts": -1.0, "cost_s": -0.01}),
    WeightedReward({"accuracy": 1.0}, constraints=(
        Constraint("model_size_mb", maximum=0.06), Constraint("train_ms_per_batch", minimum=3.0),
        Constraint("epochs_to_threshold", maximum=2)), penalty=-7.0, violation_penalty=-0.25),
]


@pytest.fixture(scope="module", params=list_tables())
def arrays(request):
    return tabulate(TabularEvaluator(request.param))


@pytest.mark.parametrize("index", range(len(REWARDS) + 2))
def test_float64_jnp_reward_is_bit_identical_to_python(arrays, index: int) -> None:
    reward = ([*REWARDS, min_epochs_reward(3), min_epochs_reward(1)])[index]
    expected = tabulate_reward(arrays, reward)
    with jax.enable_x64(True):
        eager = np.asarray(jax_reward(reward)(arrays.tree()))  # op by op: IEEE, as Python
        fused = np.asarray(jax.jit(jax_reward(reward))(arrays.tree()))  # XLA may fuse (FMA)
    assert eager.dtype == np.float64
    np.testing.assert_array_equal(eager, expected)
    np.testing.assert_allclose(fused, expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("reward", REWARDS[:2] + REWARDS[3:])
def test_float32_jnp_reward_inside_jit_and_vmap(arrays, reward) -> None:
    expected = tabulate_reward(arrays, reward)
    tree = {k: jnp.asarray(v, dtype=jnp.int32 if v.dtype.kind == "i" else None)
            for k, v in arrays.tree().items()}
    flat = jax.tree.map(lambda x: x.reshape(-1), tree)
    got = np.asarray(jax.jit(jax.vmap(jax_reward(reward)))(flat)).reshape(expected.shape)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=2e-5)


def test_min_epochs_contract() -> None:
    reward = min_epochs_reward(3)
    assert getattr(reward, "min_epochs", None) == 3
    fn = jax_reward(reward)
    metrics = {"accuracy": jnp.array([0.6, 0.6, 0.6, 0.6]), "epochs": jnp.array([6, 6, 0, 6]),
               "epochs_to_threshold": jnp.array([-1, 1, -1, 5]),
               "model_size_mb": jnp.zeros(4), "terminated": jnp.zeros(4, bool)}
    # N_epoch = max(3, ett or epochs or 1): 6, 3 (ett 1 raised to 3), 3 (epochs 0 -> 1 -> 3), 5
    np.testing.assert_allclose(np.asarray(fn(metrics)), [9.0, 18.0, 18.0, 10.8], rtol=1e-6)


def test_a_paper_reward_without_min_epochs_divides_by_at_least_one() -> None:
    reward = PaperReward()
    fn = jax_reward(reward)
    metrics = {"accuracy": jnp.array([0.5]), "epochs": jnp.array([0]),
               "epochs_to_threshold": jnp.array([-1]), "model_size_mb": jnp.array([1.0]),
               "terminated": jnp.array([False])}
    expected = reward(Metrics(accuracy=0.5, epochs=0, model_size_mb=1.0))
    assert float(fn(metrics)[0]) == pytest.approx(expected, rel=1e-6)


def test_missing_threshold_never_satisfies_a_constraint() -> None:
    reward = WeightedReward({"accuracy": 1.0},
                            constraints=(Constraint("epochs_to_threshold", maximum=9),))
    metrics = {"accuracy": jnp.array([0.5, 0.5]), "epochs_to_threshold": jnp.array([-1, 2]),
               "terminated": jnp.array([False, False])}
    np.testing.assert_allclose(np.asarray(jax_reward(reward)(metrics)), [-1.0, 0.5])
    assert np.isnan(float(metric_value(metrics, "epochs_to_threshold")[0]))


def test_errors_name_the_problem() -> None:
    with pytest.raises(TypeError, match=r"no jax\.numpy version of reward"):
        jax_reward(lambda m: 0.0)
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        metric_value({"speed": jnp.zeros(1)}, "speed")
    with pytest.raises(KeyError, match="no field 'flops'"):
        metric_value({"accuracy": jnp.zeros(1)}, "flops")
