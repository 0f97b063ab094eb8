"""Rewards: ``Metrics`` in, one float out, shared by every agent and every search method.

* :class:`PaperReward` is the paper's Eq. 2: ``-1`` if the episode was terminated early, else
  ``c_A * A_val / N_epoch - c_S * S_MB`` with ``N_epoch`` never below 3 (section VI-A).
* :class:`WeightedReward` is a weighted sum over any numeric ``Metrics`` fields with hard
  constraints (for example inference <= 5 ms per batch, size <= 1 MB).

Both are frozen dataclasses and plain callables: ``reward(metrics) -> float``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from cnn_design_env.evaluators.base import NUMERIC_FIELDS, Metrics


@runtime_checkable
class Reward(Protocol):
    """Anything mapping ``Metrics`` to a scalar reward."""

    def __call__(self, metrics: Metrics) -> float:
        """The reward of ``metrics``."""
        ...


def _finite(owner: str, **values: object) -> None:
    """Refuse a value that is not a finite real number (``bool``, NaN and infinities included)."""
    for name, value in values.items():
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value)):
            raise ValueError(f"{owner}: {name} must be a finite number, got {value!r}")


def _check_field(name: str) -> None:
    if name not in NUMERIC_FIELDS:
        raise ValueError(f"unknown metric {name!r}; expected one of {sorted(NUMERIC_FIELDS)}")


@dataclass(frozen=True)
class PaperReward:
    """The paper's Eq. 2.

    ``R = penalty`` if terminated, else ``c_A * scale * A_val / N_epoch - c_S * S_MB``.

    Args:
        c_accuracy: ``c_A``.
        c_size: ``c_S``; ``c_A + c_S`` must be 1.
        accuracy_scale: Accuracy is in ``[0, 1]``; the paper's rewards (-1 to 36) use percent, so
            the default scale is 100.
        per_epoch: Divide accuracy by ``N_epoch`` as the paper's "accuracy-like score" does
            (section VI-A): ``N_epoch = max(min_epochs, metrics.epochs_to_threshold or
            metrics.epochs or 1)``, the first epoch whose training loss met the loss threshold
            (else the epochs trained), never below ``min_epochs``. ``False``: plain
            ``c_A * scale * A_val - c_S * S_MB``.
        min_epochs: The floor of ``N_epoch``: the paper's "should not be lower than three",
            the same floor as the trainer's automatic epochs
            (:class:`~cnn_design_env.train.termination.EpochSchedule`). Without it a design that
            meets the threshold at epoch 1 scores twice one that meets it at epoch 2 (on digits,
            with the default threshold, a coin flip), so the reward stops following accuracy.
        penalty: Reward of a terminated episode.

    Raises:
        ValueError: If a number is not finite (NaN, inf, ``bool`` or not a number), the
            coefficients are negative or do not sum to 1, ``accuracy_scale`` is not positive,
            ``per_epoch`` is not a ``bool`` or ``min_epochs`` is not an integer >= 1.

    Example:
        >>> reward = PaperReward(c_accuracy=0.9, c_size=0.1)
        >>> reward(Metrics(accuracy=0.6, epochs=3, epochs_to_threshold=1, model_size_mb=2.0))
        17.8
        >>> reward(Metrics(accuracy=0.6, epochs=6, epochs_to_threshold=4, model_size_mb=2.0))
        13.3
    """

    c_accuracy: float = 0.9
    c_size: float = 0.1
    accuracy_scale: float = 100.0
    per_epoch: bool = True
    min_epochs: int = 3
    penalty: float = -1.0

    def __post_init__(self) -> None:
        _finite("PaperReward", c_accuracy=self.c_accuracy, c_size=self.c_size,
                accuracy_scale=self.accuracy_scale, penalty=self.penalty)
        if self.accuracy_scale <= 0:
            raise ValueError(f"PaperReward: accuracy_scale must be > 0, got "
                             f"{self.accuracy_scale!r}")
        if not isinstance(self.per_epoch, bool):
            raise ValueError(f"PaperReward: per_epoch must be True or False, got "
                             f"{self.per_epoch!r}")
        if isinstance(self.min_epochs, bool) or not isinstance(self.min_epochs, int) \
                or self.min_epochs < 1:
            raise ValueError(f"PaperReward: min_epochs must be an integer >= 1, got "
                             f"{self.min_epochs!r}")
        if self.c_accuracy < 0 or self.c_size < 0:
            raise ValueError(f"reward coefficients must be >= 0, got c_accuracy="
                             f"{self.c_accuracy!r}, c_size={self.c_size!r}")
        if not math.isclose(self.c_accuracy + self.c_size, 1.0, abs_tol=1e-9):
            raise ValueError(f"reward coefficients must sum to 1 (c_A + c_S = 1), got "
                             f"c_accuracy={self.c_accuracy!r} + c_size={self.c_size!r} = "
                             f"{self.c_accuracy + self.c_size!r}")

    def __call__(self, metrics: Metrics) -> float:
        """Eq. 2 of ``metrics``."""
        if metrics.terminated:
            return float(self.penalty)
        accuracy = metrics.accuracy * self.accuracy_scale
        if self.per_epoch:
            accuracy /= self.n_epoch(metrics)
        return float(self.c_accuracy * accuracy - self.c_size * metrics.model_size_mb)

    def n_epoch(self, metrics: Metrics) -> int:
        """``N_epoch`` of ``metrics``: ``max(min_epochs, epochs_to_threshold or epochs or 1)``.

        Example:
            >>> PaperReward().n_epoch(Metrics(epochs=6, epochs_to_threshold=2))
            3
        """
        return max(self.min_epochs, int(metrics.epochs_to_threshold or metrics.epochs or 1))


@dataclass(frozen=True)
class Constraint:
    """A hard bound on one metric: ``minimum <= metrics.<name> <= maximum``.

    Raises:
        ValueError: On an unknown metric, no bound, a bound that is not a finite number, or
            ``minimum > maximum``.

    Example:
        >>> Constraint("infer_ms_per_batch", maximum=5.0).satisfied(Metrics(infer_ms_per_batch=3))
        True
    """

    name: str
    maximum: float | None = None
    minimum: float | None = None

    def __post_init__(self) -> None:
        _check_field(self.name)
        if self.maximum is None and self.minimum is None:
            raise ValueError(f"constraint on {self.name!r} needs a maximum or a minimum")
        bounds = {k: v for k, v in (("maximum", self.maximum), ("minimum", self.minimum))
                  if v is not None}
        _finite(f"constraint on {self.name!r}", **bounds)
        if len(bounds) == 2 and self.minimum > self.maximum:
            raise ValueError(f"constraint on {self.name!r}: minimum {self.minimum!r} > maximum "
                             f"{self.maximum!r}; no value can satisfy it")

    def satisfied(self, metrics: Metrics) -> bool:
        """Whether ``metrics`` meets this bound (a missing value never does)."""
        value = metrics.value(self.name)
        if math.isnan(value):
            return False
        return ((self.maximum is None or value <= self.maximum)
                and (self.minimum is None or value >= self.minimum))


@dataclass(frozen=True)
class WeightedReward:
    """A weighted sum of metrics under hard constraints.

    ``R = penalty`` if terminated or any constraint is violated (``violation_penalty``), else
    ``sum(weight * metrics.<name>)``. Use negative weights for quantities to minimise.

    Args:
        weights: Metric name -> weight, e.g. ``{"accuracy": 1.0, "model_size_mb": -0.01}``.
        constraints: Hard bounds; a violation gives ``violation_penalty``.
        penalty: Reward of a terminated episode.
        violation_penalty: Reward of a design that violates a constraint.

    Raises:
        ValueError: If a name is not a numeric ``Metrics`` field, no weight is given, a weight or
            penalty is not a finite number, or a constraint is not a :class:`Constraint`.
    """

    weights: Mapping[str, float] = field(default_factory=lambda: {"accuracy": 1.0})
    constraints: Sequence[Constraint] = ()
    penalty: float = -1.0
    violation_penalty: float = -1.0

    def __post_init__(self) -> None:
        if not self.weights:
            raise ValueError("WeightedReward needs at least one weight")
        if not isinstance(self.weights, Mapping):
            raise ValueError(f"WeightedReward: weights must map metric names to numbers, got "
                             f"{self.weights!r}")
        for name, weight in self.weights.items():
            _check_field(name)
            _finite("WeightedReward", **{f"weight of {name!r}": weight})
        _finite("WeightedReward", penalty=self.penalty, violation_penalty=self.violation_penalty)
        if isinstance(self.constraints, Constraint):
            raise ValueError("WeightedReward: constraints must be a sequence of Constraint, got a "
                             f"single {self.constraints!r}; wrap it in a list")
        for constraint in self.constraints:
            if not isinstance(constraint, Constraint):
                raise ValueError(f"WeightedReward: constraints must be Constraint objects, got "
                                 f"{constraint!r}")
        object.__setattr__(self, "weights", dict(self.weights))
        object.__setattr__(self, "constraints", tuple(self.constraints))

    def feasible(self, metrics: Metrics) -> bool:
        """Whether ``metrics`` meets every constraint."""
        return all(c.satisfied(metrics) for c in self.constraints)

    def __call__(self, metrics: Metrics) -> float:
        """The weighted objective of ``metrics``."""
        if metrics.terminated:
            return float(self.penalty)
        if not self.feasible(metrics):
            return float(self.violation_penalty)
        return float(sum(w * metrics.value(n) for n, w in self.weights.items()))


def reward_label(reward: Reward | str) -> str:
    """A short name of ``reward`` for plots and reports: which reward, with its weights.

    Example:
        >>> reward_label(PaperReward())
        'paper Eq. 2 reward (c_A=0.9, c_S=0.1)'
        >>> reward_label(WeightedReward({"accuracy": 1.0, "model_size_mb": -0.5}))
        'weighted reward (1 accuracy - 0.5 model_size_mb)'
    """
    if isinstance(reward, str):
        return reward
    if isinstance(reward, PaperReward):
        plain = "" if reward.per_epoch else ", no N_epoch"
        return f"paper Eq. 2 reward (c_A={reward.c_accuracy:g}, c_S={reward.c_size:g}{plain})"
    if isinstance(reward, WeightedReward):
        terms = " ".join(f"{'-' if w < 0 else '+'} {abs(w):g} {name}"
                         for name, w in reward.weights.items())
        return f"weighted reward ({terms.removeprefix('+ ')})"
    return type(reward).__name__
