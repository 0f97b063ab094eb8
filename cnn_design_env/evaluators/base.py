"""The evaluator protocol: a finished design in, :class:`Metrics` out.

Evaluators are bound to one :class:`~cnn_design_env.space.SearchSpace` at construction and
answer ``evaluate(design, *, seed) -> Metrics``. A failure inside an evaluation (NaN loss, an
exception, out of memory) is not raised: it comes back as a terminated ``Metrics`` with a reason,
which rewards turn into the episode's penalty. :func:`safe_evaluate` enforces that for any
evaluator, including third-party ones that do raise.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cnn_design_env.space import Design, SearchSpace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metrics:
    """What evaluating one design measured.

    Attributes:
        accuracy: Validation top-1 accuracy (classification) or Dice coefficient (segmentation),
            in ``[0, 1]``.
        model_size_mb: Model size in MB (float32 values, 10**6 bytes per MB).
        params: Number of stored values.
        flops: FLOPs per image (2 x multiply-accumulates).
        train_ms_per_batch: Median steady-state training time per batch (compilation excluded).
        infer_ms_per_batch: Median inference time per batch.
        epochs: Epochs trained.
        epochs_to_threshold: The first epoch whose training loss met the loss threshold (the
            paper's ``N_epoch``), or ``None`` if it was never met or no threshold was set.
        loss_curve: Training loss per epoch.
        accuracy_curve: Validation accuracy (or Dice) per epoch.
        cost_s: Seconds this evaluation cost (wall clock, or as recorded in a table; 0 for a cache
            hit).
        compile_s: Seconds spent compiling (included in ``cost_s``).
        terminated: Whether training was stopped early (the reward's penalty case).
        reason: Why it was terminated (``"batch_time"``, ``"loss"``, ``"nan"``,
            ``"exception: ..."``), else ``""``.
        restarts: Times training restarted from a fresh initialisation (loss rule).
        cached: Whether this answer came from a cache.
    """

    accuracy: float = 0.0
    model_size_mb: float = 0.0
    params: int = 0
    flops: int = 0
    train_ms_per_batch: float = 0.0
    infer_ms_per_batch: float = 0.0
    epochs: int = 0
    epochs_to_threshold: int | None = None
    loss_curve: tuple[float, ...] = ()
    accuracy_curve: tuple[float, ...] = ()
    cost_s: float = 0.0
    compile_s: float = 0.0
    terminated: bool = False
    reason: str = ""
    restarts: int = 0
    cached: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "loss_curve", tuple(float(v) for v in self.loss_curve))
        object.__setattr__(self, "accuracy_curve", tuple(float(v) for v in self.accuracy_curve))
        if self.terminated and not self.reason:
            raise ValueError("a terminated Metrics needs a reason")

    @classmethod
    def failed(cls, reason: str, **fields: Any) -> Metrics:
        """A terminated ``Metrics`` (the penalty case) with ``reason``."""
        return cls(terminated=True, reason=reason, **fields)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (tuples become lists)."""
        out = {name: getattr(self, name) for name in _FIELD_NAMES}
        out["loss_curve"] = list(self.loss_curve)
        out["accuracy_curve"] = list(self.accuracy_curve)
        out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Metrics:
        """Inverse of :meth:`to_dict`; unknown keys raise ``TypeError``."""
        return cls(**dict(data))

    def value(self, name: str) -> float:
        """The numeric field ``name`` (for objectives and constraints).

        Raises:
            ValueError: If ``name`` is not a numeric field of ``Metrics``.
        """
        if name not in NUMERIC_FIELDS:
            raise ValueError(f"unknown metric {name!r}; expected one of {sorted(NUMERIC_FIELDS)}")
        value = getattr(self, name)
        return math.nan if value is None else float(value)


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(Metrics))
NUMERIC_FIELDS = frozenset(
    f.name for f in dataclasses.fields(Metrics)
    if f.type in ("float", "int", "int | None")
)
"""Names of the numeric :class:`Metrics` fields usable as objectives and constraints."""


@runtime_checkable
class Evaluator(Protocol):
    """Anything that scores designs of one space.

    Attributes:
        space: The search space whose designs it evaluates.
    """

    space: SearchSpace

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        """Evaluate ``design`` with randomness drawn from ``seed``; never raise on a bad design."""
        ...


def safe_evaluate(evaluator: Evaluator, design: Design, *, seed: int) -> Metrics:
    """``evaluator.evaluate`` with any exception (``SystemExit`` included) turned into a
    terminated ``Metrics``.

    The reason names the exception; it is logged at WARNING level with the design.
    ``KeyboardInterrupt`` goes through (it stops the search).
    """
    try:
        metrics = evaluator.evaluate(design, seed=seed)
    except (Exception, SystemExit) as error:
        reason = f"exception: {type(error).__name__}: {error}"
        logger.warning("evaluation of %s failed: %s", design.actions, reason)
        return Metrics.failed(reason)
    if not isinstance(metrics, Metrics):
        raise TypeError(f"{type(evaluator).__name__}.evaluate returned {type(metrics).__name__}, "
                        "expected Metrics")
    return metrics
