"""The package's arithmetic rewards as pure ``jax.numpy`` functions (``jit``- and ``vmap``-able).

:func:`jax_reward` reads the fields of a :class:`~cnn_design_env.reward.PaperReward` or a
:class:`~cnn_design_env.reward.WeightedReward` (with its constraints) and returns a function of a
*metrics pytree*: a mapping from the numeric :class:`~cnn_design_env.evaluators.Metrics` field
names to arrays of one shape (any batch shape), plus ``"terminated"`` (bool). Integer fields keep
the table's convention: ``epochs_to_threshold`` is ``-1`` where the threshold was never met (the
``None`` of ``Metrics``). The arithmetic follows the Python rewards operation by operation: in
float64 (``jax.enable_x64``), run op by op, the result is bit-identical to ``reward(metrics)``;
under ``jit`` XLA may fuse a multiply-add (a last-bit difference), and in float32 it is that
value to float32 rounding. (:class:`~cnn_design_env.jax.TableEnv` therefore tabulates its
rewards with the Python reward itself, and offers these functions for rewards computed inside
``jit``, e.g. to sweep coefficients.)

Example:
    >>> import jax.numpy as jnp
    >>> from cnn_design_env.reward import PaperReward
    >>> fn = jax_reward(PaperReward(c_accuracy=0.9, c_size=0.1))
    >>> metrics = {"accuracy": jnp.array([0.6, 0.6]), "epochs": jnp.array([3, 3]),
    ...            "epochs_to_threshold": jnp.array([-1, 2]),
    ...            "model_size_mb": jnp.array([2.0, 2.0]), "terminated": jnp.array([False, True])}
    >>> [round(float(r), 4) for r in fn(metrics)]
    [17.8, -1.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import jax.numpy as jnp
from jax import Array

from cnn_design_env.evaluators.base import NUMERIC_FIELDS
from cnn_design_env.reward import Constraint, PaperReward, WeightedReward

MetricsTree = Mapping[str, Array]
"""Numeric ``Metrics`` fields (and ``"terminated"``) as arrays of one shape."""

JaxReward = Callable[[MetricsTree], Array]
"""A pure function from a metrics pytree to rewards of the same shape."""


def metric_value(metrics: MetricsTree, name: str) -> Array:
    """``Metrics.value(name)`` on arrays: the field as a float, NaN for a missing value.

    Raises:
        ValueError: If ``name`` is not a numeric ``Metrics`` field.
        KeyError: If ``metrics`` lacks the field.
    """
    if name not in NUMERIC_FIELDS:
        raise ValueError(f"unknown metric {name!r}; expected one of {sorted(NUMERIC_FIELDS)}")
    if name not in metrics:
        raise KeyError(f"the metrics pytree has no field {name!r} (it has {sorted(metrics)})")
    value = jnp.asarray(metrics[name])
    floating = value.astype(jnp.result_type(float))
    if name == "epochs_to_threshold":  # -1 encodes None, whose value() is NaN
        return jnp.where(value < 0, jnp.nan, floating)
    return floating


def paper_reward(reward: PaperReward) -> JaxReward:
    """Eq. 2 as a ``jnp`` function, reading ``reward``'s fields.

    ``N_epoch = max(min_epochs, epochs_to_threshold or epochs or 1)`` with ``min_epochs`` read as
    ``getattr(reward, "min_epochs", 1)`` (a ``PaperReward`` without the field divides by at
    least 1).
    """
    c_accuracy, c_size = float(reward.c_accuracy), float(reward.c_size)
    scale, penalty = float(reward.accuracy_scale), float(reward.penalty)
    per_epoch = bool(reward.per_epoch)
    min_epochs = int(getattr(reward, "min_epochs", 1))

    def fn(metrics: MetricsTree) -> Array:
        accuracy = metric_value(metrics, "accuracy") * scale
        if per_epoch:
            threshold = jnp.asarray(metrics["epochs_to_threshold"])
            epochs = jnp.asarray(metrics["epochs"])
            n_epoch = jnp.where(threshold > 0, threshold, jnp.where(epochs > 0, epochs, 1))
            accuracy = accuracy / jnp.maximum(min_epochs, n_epoch).astype(accuracy.dtype)
        value = c_accuracy * accuracy - c_size * metric_value(metrics, "model_size_mb")
        return jnp.where(jnp.asarray(metrics["terminated"]), penalty, value)

    return fn


def constraint_satisfied(constraint: Constraint, metrics: MetricsTree) -> Array:
    """``Constraint.satisfied`` on arrays (a missing value never satisfies it)."""
    value = metric_value(metrics, constraint.name)
    ok = ~jnp.isnan(value)
    if constraint.maximum is not None:
        ok = ok & (value <= float(constraint.maximum))
    if constraint.minimum is not None:
        ok = ok & (value >= float(constraint.minimum))
    return ok


def weighted_reward(reward: WeightedReward) -> JaxReward:
    """A weighted sum of metrics under hard constraints, as a ``jnp`` function of ``reward``."""
    weights = [(name, float(w)) for name, w in reward.weights.items()]
    constraints = tuple(reward.constraints)
    penalty, violation = float(reward.penalty), float(reward.violation_penalty)

    def fn(metrics: MetricsTree) -> Array:
        total = 0.0  # the same left-to-right sum as Python's sum()
        for name, weight in weights:
            total = total + weight * metric_value(metrics, name)
        feasible = jnp.ones(jnp.shape(total), dtype=bool)
        for constraint in constraints:
            feasible = feasible & constraint_satisfied(constraint, metrics)
        total = jnp.where(feasible, total, violation)
        return jnp.where(jnp.asarray(metrics["terminated"]), penalty, total)

    return fn


def jax_reward(reward: object) -> JaxReward:
    """The ``jnp`` version of one of the package's arithmetic rewards.

    Args:
        reward: A :class:`~cnn_design_env.reward.PaperReward` or
            :class:`~cnn_design_env.reward.WeightedReward` (its fields are read once, here).

    Raises:
        TypeError: If ``reward`` is another kind of reward (those are tabulated on the host by
            :class:`~cnn_design_env.jax.TableEnv` instead).
    """
    if isinstance(reward, PaperReward):
        return paper_reward(reward)
    if isinstance(reward, WeightedReward):
        return weighted_reward(reward)
    raise TypeError(f"no jax.numpy version of reward {reward!r}; expected a PaperReward or a "
                    "WeightedReward")


__all__ = ["JaxReward", "MetricsTree", "constraint_satisfied", "jax_reward", "metric_value",
           "paper_reward", "weighted_reward"]
