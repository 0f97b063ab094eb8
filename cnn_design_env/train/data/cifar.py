"""CIFAR-10 / CIFAR-100 loader for the standard python-pickle layout."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cnn_design_env.train.data.checks import check_classes
from cnn_design_env.train.data.dataset import (
    Dataset,
    _as_int_labels,
    _build,
    _check_val_fraction,
    _require_path,
)
from cnn_design_env.train.data.safe_pickle import UnsafePickleError, load_restricted

_EXPECTED = ("a CIFAR python pickle (a dict with 'data': uint8 array (N, 3072) and 'labels' / "
             "'fine_labels': N integers)")


def _unpickle(path: Path) -> dict[Any, Any]:
    """Read one CIFAR pickle through the restricted unpickler (:mod:`.safe_pickle`)."""
    try:
        with path.open("rb") as f:
            obj = load_restricted(f, encoding="bytes")
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"CIFAR file {str(path)!r}: {exc}") from None
    except pickle.UnpicklingError as exc:
        raise ValueError(f"cannot read CIFAR file {str(path)!r} (empty, truncated or not a "
                         f"pickle: {exc}); expected {_EXPECTED}") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"CIFAR file {str(path)!r} must contain a dict, got {type(obj).__name__}")
    return obj


def _get_key(d: dict[Any, Any], key: str, path: Path) -> Any:
    for k in (key.encode(), key):
        if k in d:
            return d[k]
    keys = sorted(k.decode() if isinstance(k, bytes) else str(k) for k in d)
    raise ValueError(f"CIFAR file {str(path)!r} has no key {key!r}; found keys {keys}")


def _read_cifar_batch(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    d = _unpickle(path)
    data = np.asarray(_get_key(d, "data", path))
    labels = np.asarray(_get_key(d, label_key, path))
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(
            f"CIFAR file {str(path)!r}: 'data' must have shape (N, 3072), got {data.shape}"
        )
    if data.dtype != np.uint8:
        raise ValueError(f"CIFAR file {str(path)!r}: 'data' must be uint8, got {data.dtype}")
    if labels.ndim != 1 or len(labels) != len(data):
        raise ValueError(
            f"CIFAR file {str(path)!r}: {len(data)} images but {label_key!r} has shape "
            f"{labels.shape}"
        )
    labels = _as_int_labels(labels, f"CIFAR file {str(path)!r} {label_key!r}")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return x, labels


def _cifar_dir(path: Path, which: int) -> Path:
    """Accept the batch directory itself or a parent containing the extracted archive."""
    sub = "cifar-10-batches-py" if which == 10 else "cifar-100-python"
    if (path / sub).is_dir():
        return path / sub
    return path


def _cifar_names(path: Path, which: int, label_mode: str) -> tuple[str, ...] | None:
    meta = path / ("batches.meta" if which == 10 else "meta")
    if not meta.is_file():
        return None
    key = "label_names" if which == 10 else f"{label_mode}_label_names"
    try:
        names = _get_key(_unpickle(meta), key, meta)
        return tuple(n.decode() if isinstance(n, bytes) else str(n) for n in names)
    except UnsafePickleError:
        raise
    except ValueError:
        return None


def load_cifar(
    path: str | Path,
    *,
    which: Literal[10, 100] = 10,
    label_mode: Literal["fine", "coarse"] = "fine",
    val_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Load CIFAR-10 or CIFAR-100 from the standard python-pickle layout.

    CIFAR-10 reads ``data_batch_1`` ... ``data_batch_5`` (whichever exist, at least
    one), CIFAR-100 reads ``train``; the official test files are not used, the
    validation set is split from the training data (stratified). ``path`` may be the
    batch directory itself or its parent holding ``cifar-10-batches-py`` /
    ``cifar-100-python``. Class names are read from ``batches.meta`` / ``meta`` if
    present. The files are read by a restricted unpickler that admits only NumPy arrays, dtypes
    and builtin containers (:mod:`.safe_pickle`): a pickle naming anything else is refused
    before it can run.

    Args:
        path: Directory with the pickle files.
        which: 10 or 100.
        label_mode: CIFAR-100 only: ``"fine"`` (100 classes) or ``"coarse"`` (20).
        val_fraction: Fraction of examples for validation, in ``(0, 1)``.
        seed: Seed for the split.

    Returns:
        A classification :class:`Dataset` with ``input_shape == (32, 32, 3)``.

    Raises:
        FileNotFoundError: If the directory or the expected batch files are missing.
        UnsafePickleError: (a ``ValueError``) If a file names a global outside the allow-list.
        ValueError: On a bad argument, an empty, truncated or unreadable file (naming it and the
            expected format), malformed batch contents or fewer than two classes.
    """
    if which not in (10, 100):
        raise ValueError(f"load_cifar which must be 10 or 100, got {which!r}")
    if label_mode not in ("fine", "coarse"):
        raise ValueError(f"load_cifar label_mode must be 'fine' or 'coarse', got {label_mode!r}")
    _check_val_fraction(val_fraction)
    root = _require_path(path, "CIFAR directory")
    if not root.is_dir():
        raise ValueError(f"CIFAR path must be a directory, got file {str(root)!r}")
    root = _cifar_dir(root, which)

    if which == 10:
        candidates = [root / f"data_batch_{i}" for i in range(1, 6)]
        files = [f for f in candidates if f.is_file()]
        if not files:
            raise FileNotFoundError(
                f"no CIFAR-10 training batches (data_batch_1 ... data_batch_5) in {str(root)!r}"
            )
        label_key, num_classes, name = "labels", 10, "cifar10"
    else:
        if not (root / "train").is_file():
            raise FileNotFoundError(f"no CIFAR-100 training file 'train' in {str(root)!r}")
        files = [root / "train"]
        label_key = f"{label_mode}_labels"
        num_classes = 100 if label_mode == "fine" else 20
        name = "cifar100" if label_mode == "fine" else "cifar100-coarse"

    parts = [_read_cifar_batch(f, label_key) for f in files]
    x = np.concatenate([p[0] for p in parts]).astype(np.float32) / np.float32(255.0)
    y = np.concatenate([p[1] for p in parts])
    if y.size and y.max() >= num_classes:
        raise ValueError(
            f"CIFAR-{which} {label_key!r} must be in [0, {num_classes}), got {y.max()}"
        )
    (y,), _ = check_classes([y], num_classes=num_classes, what=f"CIFAR-{which} in {str(root)!r}")
    names = _cifar_names(root, which, label_mode)
    if names is not None and len(names) != num_classes:
        names = None
    return _build(
        name,
        x,
        y,
        task="classification",
        val_fraction=val_fraction,
        seed=seed,
        num_classes=num_classes,
        class_names=names,
    )
