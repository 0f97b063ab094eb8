"""Checks every loader applies to what it read: pixels and labels that train something real.

* Pixels must be real numbers (complex refused: casting would drop the imaginary part) and
  finite; they are brought to ``[0, 1]``: ``uint8`` divided by 255 silently (the convention),
  other values in ``[0, 255]`` above 1 divided by 255, values beyond ``±255`` divided by their
  maximum (or min-max scaled when negative), each with a :class:`DataWarning`. Values within
  ``[-255, 255]`` that are not all non-negative (standardised data) are kept as they are. The
  decision is taken once over a loader's arrays (training and validation alike).
* Labels must hold at least two classes. Without an explicit ``num_classes`` the output layer
  gets ``max(label) + 1`` classes; when that would leave more than half of them without an
  example (``{0, 10**6}``, mask grey levels ``{0, 128, 255}``, ``{3, 7}``) the labels are mapped
  to ``0..K-1`` in sorted order, and when fewer are empty (``{1, 2, 3}``: class 0) they are
  kept; both with a :class:`DataWarning`.

Example:
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     (y,), k = check_classes([np.array([3, 9, 9, 3])], num_classes=None, what="demo")
    >>> y.tolist(), k, caught[0].category.__name__
    ([0, 1, 1, 0], None, 'DataWarning')
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np

PIXEL_BOUND = 255.0
"""Pixels with an absolute value above this are rescaled (with a notice)."""


class DataWarning(UserWarning):
    """A loader changed the data to make it usable (labels mapped, pixels rescaled)."""


def check_real(x: np.ndarray, what: str) -> None:
    """Refuse complex, non-numeric and non-finite arrays, naming the first bad value."""
    if np.iscomplexobj(x):
        raise ValueError(f"{what} must be real numbers, got complex dtype {x.dtype} (casting "
                         "would drop the imaginary part)")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(f"{what} must be numeric, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.floating) and x.size:
        finite = np.isfinite(x)
        if not finite.all():
            index = tuple(int(i) for i in np.argwhere(~finite)[0])
            raise ValueError(f"{what} must be finite: {int((~finite).sum())} value(s) are NaN "
                             f"or infinite, the first {float(x[index])!r} at index {index}")


def to_unit_range(arrays: Sequence[np.ndarray], what: str) -> list[np.ndarray]:
    """``float32`` copies of ``arrays`` brought to ``[0, 1]`` by one shared rule (see the module
    docstring); arrays must have passed :func:`check_real`."""
    if all(a.dtype == np.uint8 for a in arrays):
        return [np.ascontiguousarray(a, dtype=np.float32) / np.float32(255.0) for a in arrays]
    sized = [a for a in arrays if a.size]
    if not sized:
        return [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]
    lo = min(float(np.min(a)) for a in sized)
    hi = max(float(np.max(a)) for a in sized)
    if (lo >= 0 and hi <= 1) or (lo < 0 and max(-lo, hi) <= PIXEL_BOUND):
        return [np.ascontiguousarray(a, dtype=np.float32) for a in arrays]
    if lo >= 0 and hi <= PIXEL_BOUND:
        offset, scale, rule = 0.0, PIXEL_BOUND, "divided by 255 (8-bit intensities)"
    elif lo >= 0:
        offset, scale, rule = 0.0, hi, f"divided by their maximum {hi:.6g}"
    else:
        offset, scale, rule = lo, (hi - lo) or 1.0, "min-max scaled to [0, 1]"
    warnings.warn(f"{what}: pixel values lie in [{lo:.6g}, {hi:.6g}], not [0, 1]: {rule}; "
                  "scale them yourself to silence this notice", DataWarning, stacklevel=4)
    return [np.ascontiguousarray((np.asarray(a, dtype=np.float64) - offset) / scale,
                                 dtype=np.float32) for a in arrays]


def check_num_classes(num_classes: object, what: str) -> int | None:
    """``None`` or an integer >= 2 (``2.7``, ``True`` and 1 refused)."""
    if num_classes is None:
        return None
    if (isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral)
            or num_classes < 2):
        raise ValueError(f"{what}: num_classes must be an integer >= 2 (or None to infer it "
                         f"from the labels), got {num_classes!r}")
    return int(num_classes)


def check_classes(labels: Sequence[np.ndarray], *, num_classes: int | None, what: str
                  ) -> tuple[list[np.ndarray], int | None]:
    """Check that ``labels`` (integer arrays of one data set) hold at least two classes, and
    map them to ``0..K-1`` when ``num_classes`` is ``None`` and they are not already.

    Returns:
        ``(labels, num_classes)``: the (possibly mapped) label arrays and ``num_classes``
        checked (``None`` stays ``None``: the loader infers ``K``).

    Raises:
        ValueError: Fewer than two classes, or a bad ``num_classes``.
    """
    num_classes = check_num_classes(num_classes, what)
    present = np.unique(np.concatenate([np.asarray(y).ravel() for y in labels]))
    if len(present) < 2:
        found = "no labels" if not len(present) else f"only label {present[0]}"
        raise ValueError(f"{what}: {found}; at least two classes are needed (with one class "
                         "every design scores 100% accuracy)")
    if num_classes is not None or np.array_equal(present, np.arange(len(present))):
        return list(labels), num_classes
    outputs = int(present[-1]) + 1
    if outputs <= 2 * len(present):
        empty = np.setdiff1d(np.arange(outputs), present)
        warnings.warn(f"{what}: classes {empty[:10].tolist()}{'...' if len(empty) > 10 else ''} "
                      f"of 0..{outputs - 1} have no example; kept (pass num_classes to silence "
                      "this notice)", DataWarning, stacklevel=3)
        return list(labels), num_classes
    shown = ", ".join(f"{int(v)}->{i}" for i, v in enumerate(present[:6]))
    more = f", ... ({len(present)} classes)" if len(present) > 6 else ""
    warnings.warn(f"{what}: labels {present[:6].tolist()}{'...' if len(present) > 6 else ''} "
                  f"would make {outputs} output classes, {outputs - len(present)} of them "
                  f"empty; mapped to 0..{len(present) - 1} in sorted order: {shown}{more} (pass "
                  "num_classes to keep them as they are)", DataWarning, stacklevel=3)
    mapped = [np.searchsorted(present, np.asarray(y)).astype(np.int32) for y in labels]
    return mapped, None
