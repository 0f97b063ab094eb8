"""Validation of hyperparameter values, at the moment a layer or a space is built.

Pure Python (no JAX): the names the trainer accepts are listed here and a test checks that they
match :mod:`cnn_design_env.train` (``ACTIVATIONS``, ``OPTIMIZERS``, ``LOSSES``).

Every check raises :class:`ValueError` naming the owner (a layer or a space), the key, the bad
value and what was expected; NumPy scalars are returned as the equal Python ``int`` / ``float``
(the analysis and the trainer expect Python numbers), nothing else is converted.

Example:
    >>> check_value("layer 'c1'", "kernels", 16)
    16
    >>> check_value("layer 'c1'", "kernels", 0)
    Traceback (most recent call last):
    ...
    ValueError: layer 'c1': kernels must be a positive integer, got 0
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

ACTIVATION_NAMES = ("elu", "gelu", "leaky_relu", "linear", "relu", "selu", "sigmoid", "silu",
                    "softplus", "swish", "tanh")
"""Activation names the trainer knows (``cnn_design_env.train.model.ACTIVATIONS``)."""
OPTIMIZER_NAMES = ("sgd", "adam", "rmsprop")
"""Optimiser names the trainer knows (``cnn_design_env.train.loop.OPTIMIZERS``)."""
LOSS_NAMES = ("cross_entropy", "dice")
"""Loss names the trainer knows (``cnn_design_env.train.loop.LOSSES``)."""


def positive_int(owner: str, key: str, value: Any) -> int:
    """``value`` as a Python ``int`` >= 1 (``bool`` and floats refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {key} must be a positive integer, got {value!r}")
    return int(value)


def optional_positive_int(owner: str, key: str, value: Any) -> int | None:
    """``None`` or :func:`positive_int`."""
    return None if value is None else positive_int(owner, key, value)


def _real(owner: str, key: str, value: Any, expected: str) -> float:
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value)):
        raise ValueError(f"{owner}: {key} must be {expected}, got {value!r}")
    return float(value)


def _in_range(low: float, high: float | None, *, low_open: bool, high_open: bool,
              ) -> Callable[[str, str, Any], float]:
    high_text = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
    expected = f"a finite number in {'(' if low_open else '['}{low:g}, {high_text}"

    def check(owner: str, key: str, value: Any) -> float:
        number = _real(owner, key, value, expected)
        below = number <= low if low_open else number < low
        above = high is not None and (number >= high if high_open else number > high)
        if below or above:
            raise ValueError(f"{owner}: {key} must be {expected}, got {value!r}")
        return number
    return check


def _name(names: tuple[str, ...], *, optional: bool) -> Callable[[str, str, Any], str | None]:
    def check(owner: str, key: str, value: Any) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or value not in names:
            close = difflib.get_close_matches(str(value), names, n=1) if value is not None else []
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            none = " or None (the network's activation)" if optional else ""
            raise ValueError(f"{owner}: unknown {key} {value!r}{hint}; expected one of "
                             f"{list(names)}{none}")
        return value
    return check


_LEARNING_RATE = _in_range(0.0, None, low_open=True, high_open=False)
_NON_NEGATIVE = _in_range(0.0, None, low_open=False, high_open=False)
_MOMENTUM = _in_range(0.0, 1.0, low_open=False, high_open=False)
_RATE = _in_range(0.0, 1.0, low_open=False, high_open=True)

_LAYER_CHECKS: Mapping[str, Callable[[str, str, Any], Any]] = {
    "kernels": positive_int,
    "units": positive_int,
    "kernel_size": positive_int,
    "pool_size": positive_int,
    "activation": _name(ACTIVATION_NAMES, optional=True),
    "fn": _name(ACTIVATION_NAMES, optional=True),
    "rate": _RATE,
}
_TRAIN_CHECKS: Mapping[str, Callable[[str, str, Any], Any]] = {
    "learning_rate": _LEARNING_RATE,
    "batch_size": positive_int,
    "optimizer": _name(OPTIMIZER_NAMES, optional=False),
    "activation": _name(ACTIVATION_NAMES, optional=False),
    "momentum": _MOMENTUM,
    "weight_decay": _NON_NEGATIVE,
    "loss": _name(LOSS_NAMES, optional=False),
}
"""Checks of the training settings (a space's ``training`` and ``train`` agents' choices)."""


def check_value(owner: str, key: str, value: Any, *, kind: str = "conv",
                label: str | None = None) -> Any:
    """Check one hyperparameter value of a layer of ``kind`` and return it.

    Args:
        owner: Who holds the value, for the message (``"layer 'c1'"``).
        key: The hyperparameter.
        value: Its value.
        kind: The layer kind: ``"train"`` checks training settings; a ``pool``'s stride may be
            ``None`` (= its pool size).
        label: How to name the value in the message (default ``key``).

    Raises:
        ValueError: Naming ``owner``, ``key``, ``value`` and what was expected.
    """
    if kind == "train":
        check = _TRAIN_CHECKS.get(key)
    elif key == "stride":
        check = optional_positive_int if kind == "pool" else positive_int
    else:
        check = _LAYER_CHECKS.get(key)
    return value if check is None else check(owner, label or key, value)


def check_training(owner: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """Check a space's training settings: known keys (a near miss is named) and valid values.

    Example:
        >>> check_training("space 's'", {"optimiser": "adam"})
        Traceback (most recent call last):
        ...
        ValueError: space 's': unknown training setting 'optimiser' (did you mean 'optimizer'?); \
expected keys ['activation', 'batch_size', 'learning_rate', 'loss', 'momentum', 'optimizer', \
'weight_decay']
    """
    if not isinstance(settings, Mapping):
        raise ValueError(f"{owner}: training must be a mapping of settings, got {settings!r}")
    out = {}
    for key, value in settings.items():
        if key not in _TRAIN_CHECKS:
            close = difflib.get_close_matches(str(key), list(_TRAIN_CHECKS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{owner}: unknown training setting {key!r}{hint}; expected keys "
                             f"{sorted(_TRAIN_CHECKS)}")
        out[key] = _TRAIN_CHECKS[key](owner, f"training {key}", value)
    return out
