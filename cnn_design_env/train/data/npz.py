"""``.npz`` archive loader."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from cnn_design_env.train.data.checks import check_classes
from cnn_design_env.train.data.dataset import (
    _TASKS,
    Dataset,
    Task,
    _as_float_image_sets,
    _as_int_labels,
    _build,
    _check_same_length,
    _check_val_fraction,
    _require_path,
)

_EXPECTED = ("a NumPy .npz archive (np.savez) of plain arrays 'x' and 'y' (optionally 'x_val' and "
             "'y_val')")


def _read_npz(p: Path) -> dict[str, np.ndarray]:
    """Every array of the archive ``p``; a bad file is a ValueError naming it and the format."""
    try:
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise TypeError("it holds a single .npy array, not an archive of named arrays")
        with loaded as archive:
            return {k: archive[k] for k in archive.files}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"npz file {str(p)!r} holds an object array, which would be "
                             f"unpickled (it could run code): refused; expected {_EXPECTED}"
                             ) from None
        raise ValueError(f"cannot read npz file {str(p)!r}: {exc}; expected {_EXPECTED}"
                         ) from exc
    except (TypeError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise ValueError(f"cannot read npz file {str(p)!r} (empty, truncated or not an npz "
                         f"archive: {reason}); expected {_EXPECTED}") from exc


def _npz_labels(
    y: np.ndarray, x: np.ndarray, task: Task | None, what: str
) -> tuple[np.ndarray, Task]:
    y = np.asarray(y)
    if y.ndim == 4 and y.shape[-1] == 1:
        y = y[..., 0]
    if task is None:
        if y.ndim == 1:
            task = "classification"
        elif y.ndim == 3:
            task = "segmentation"
        else:
            raise ValueError(
                f"{what} must have shape (N,) for classification or (N, H, W[, 1]) for "
                f"segmentation, got shape {y.shape}"
            )
    if task == "classification" and y.ndim != 1:
        raise ValueError(f"{what} for classification must have shape (N,), got {y.shape}")
    if task == "segmentation":
        if y.ndim != 3:
            raise ValueError(
                f"{what} for segmentation must have shape (N, H, W) or (N, H, W, 1), got {y.shape}"
            )
        if y.shape[1:] != x.shape[1:3]:
            raise ValueError(
                f"{what} masks have spatial shape {y.shape[1:]} but images have {x.shape[1:3]}"
            )
    return _as_int_labels(y, what), task


def load_npz(
    path: str | Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    task: Task | None = None,
    num_classes: int | None = None,
) -> Dataset:
    """Load a data set from a ``.npz`` archive.

    The archive must hold ``x`` (``(N, H, W)`` or ``(N, H, W, C)``) and ``y``; it may
    also hold ``x_val`` and ``y_val`` (both or neither), in which case no split is
    made. ``uint8`` images are divided by 255; other pixels must be real and finite and are
    brought to ``[0, 1]`` as :mod:`.checks` says (values in ``[0, 255]`` divided by 255, larger
    ones by their maximum, with a ``DataWarning``; values in ``[0, 1]`` or standardised values
    within ``±255`` are kept). ``y`` of shape ``(N,)`` means classification, ``(N, H, W)`` or
    ``(N, H, W, 1)`` segmentation (integer class per pixel); labels must be
    non-negative integers (integral floats and booleans are accepted).

    Args:
        path: The ``.npz`` file.
        val_fraction: Fraction of examples for validation, in ``(0, 1)``.
        seed: Seed for the split.
        task: Force ``"classification"`` or ``"segmentation"``; inferred from the shape
            of ``y`` if ``None``.
        num_classes: Number of classes (an integer >= 2); inferred as ``max(label) + 1`` if
            ``None``, after mapping labels that are not ``0..K-1`` to it (with a
            ``DataWarning``).

    Returns:
        A :class:`Dataset` named after the file stem.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: On an empty, truncated or unreadable file or an object array (naming the
            file and the expected format), missing keys, bad shapes, mismatched lengths, bad
            pixels (complex, NaN, inf) or bad labels (fewer than two classes).
    """
    _check_val_fraction(val_fraction)
    if task is not None and task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS} or None, got {task!r}")
    p = _require_path(path, "npz file")
    arrays = _read_npz(p)
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise ValueError(
            f"npz file {str(p)!r} lacks array(s) {missing}; expected 'x' and 'y' "
            f"(optionally 'x_val' and 'y_val'), found {sorted(arrays)}"
        )
    has_val = ("x_val" in arrays, "y_val" in arrays)
    if has_val[0] != has_val[1]:
        raise ValueError(
            f"npz file {str(p)!r} must contain both 'x_val' and 'y_val' or neither, "
            f"found only {'x_val' if has_val[0] else 'y_val'!r}"
        )
    images = [arrays["x"]] + ([arrays["x_val"]] if has_val[0] else [])
    names = "'x', 'x_val'" if has_val[0] else "'x'"
    x, *rest = _as_float_image_sets(images, f"npz file {str(p)!r} {names}")
    _check_same_length(x, arrays["y"], f"npz {p.name}")
    y, task = _npz_labels(arrays["y"], x, task, f"npz {p.name} 'y'")
    x_val = y_val = None
    if has_val[0]:
        x_val = rest[0]
        _check_same_length(x_val, arrays["y_val"], f"npz {p.name} validation")
        if x_val.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"npz {p.name}: 'x_val' images have shape {x_val.shape[1:]}, expected "
                f"{x.shape[1:]} like 'x'"
            )
        y_val, _ = _npz_labels(arrays["y_val"], x_val, task, f"npz {p.name} 'y_val'")
    labels, num_classes = check_classes([y] if y_val is None else [y, y_val],
                                        num_classes=num_classes, what=f"npz file {str(p)!r}")
    y = labels[0]
    if y_val is not None:
        y_val = labels[1]
    return _build(
        p.stem,
        x,
        y,
        task=task,
        val_fraction=val_fraction,
        seed=seed,
        num_classes=num_classes,
        x_val=x_val,
        y_val=y_val,
    )
