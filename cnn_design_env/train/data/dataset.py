"""The :class:`Dataset` container, shared validation helpers and the train/validation/test split."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from cnn_design_env.train.data.checks import check_real, to_unit_range

Task = Literal["classification", "segmentation"]

_TASKS: tuple[str, ...] = ("classification", "segmentation")


@dataclass(frozen=True, eq=False)
class Dataset:
    """An in-memory train/validation data set.

    Attributes:
        name: Human readable name (e.g. ``"digits"`` or the file stem).
        x_train: ``float32`` training images, shape ``(N, H, W, C)``, values in ``[0, 1]``.
        y_train: Training labels. Classification: ``int32`` ``(N,)`` class indices.
            Segmentation: ``int32`` ``(N, H, W)`` class index per pixel.
        x_val: ``float32`` validation images, same layout as ``x_train``.
        y_val: Validation labels, same layout as ``y_train``.
        num_classes: Number of classes (for segmentation including background).
        task: ``"classification"`` or ``"segmentation"``.
        class_names: Optional class names, index ``i`` naming class ``i``.
        x_test: Held-out test images (``None``: the data set has no test split). A search
            never sees them: its reward reads the validation split only; the final report of
            ``cnn-design train`` scores the test split.
        y_test: Test labels, same layout as ``y_train``.

    Raises:
        ValueError: If the arrays are inconsistent with each other or with ``task``.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    num_classes: int
    task: Task
    class_names: tuple[str, ...] | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    def __post_init__(self) -> None:
        if (self.x_test is None) != (self.y_test is None):
            raise ValueError("give both x_test and y_test, or neither")
        if self.x_test is not None:
            assert self.y_test is not None
            if self.x_test.ndim != 4 or len(self.x_test) != len(self.y_test):
                raise ValueError(f"y_test of shape {self.y_test.shape} does not fit x_test of "
                                 f"shape {self.x_test.shape} (N, H, W, C)")
        if self.task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {self.task!r}")
        if (isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int | np.integer)
                or self.num_classes < 1):
            raise ValueError(f"num_classes must be an integer >= 1, got {self.num_classes!r}")
        for split in ("train", "val"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if x.ndim != 4:
                raise ValueError(f"x_{split} must have 4 dims (N, H, W, C), got shape {x.shape}")
            if len(x) != len(y):
                raise ValueError(
                    f"x_{split} and y_{split} lengths differ: {len(x)} images vs {len(y)} labels"
                )
            expected_ndim = 1 if self.task == "classification" else 3
            if y.ndim != expected_ndim:
                raise ValueError(
                    f"y_{split} for task {self.task!r} must have {expected_ndim} dims, "
                    f"got shape {y.shape}"
                )
            if self.task == "segmentation" and y.shape[1:] != x.shape[1:3]:
                raise ValueError(
                    f"y_{split} masks have spatial shape {y.shape[1:]}, expected "
                    f"{x.shape[1:3]} to match x_{split}"
                )
        if self.x_train.shape[1:] != self.x_val.shape[1:]:
            raise ValueError(
                f"x_train and x_val image shapes differ: {self.x_train.shape[1:]} vs "
                f"{self.x_val.shape[1:]}"
            )
        if self.class_names is not None and len(self.class_names) != self.num_classes:
            raise ValueError(
                f"class_names has {len(self.class_names)} entries, expected "
                f"num_classes={self.num_classes}"
            )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape ``(H, W, C)`` of one input image."""
        h, w, c = self.x_train.shape[1:]
        return int(h), int(w), int(c)

    @property
    def num_train(self) -> int:
        """Number of training examples."""
        return len(self.x_train)

    @property
    def num_val(self) -> int:
        """Number of validation examples."""
        return len(self.x_val)

    @property
    def num_test(self) -> int:
        """Number of held-out test examples (0 without a test split)."""
        return 0 if self.x_test is None else len(self.x_test)

    def subsample(self, per_class: int, *, seed: int) -> Dataset:
        """Return a copy with a smaller training set; the validation set is unchanged.

        For classification at most ``per_class`` training examples of every class are
        kept (classes with fewer examples keep all of them). Segmentation images have no
        single class, so at most ``per_class * num_classes`` training images are kept.
        The chosen examples keep their original relative order.

        Args:
            per_class: Maximum number of training examples per class (>= 1).
            seed: Seed for ``np.random.default_rng`` choosing the examples.

        Returns:
            A new :class:`Dataset`.

        Raises:
            ValueError: If ``per_class`` is not a positive integer.
        """
        if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)):
            raise ValueError(f"per_class must be a positive int, got {per_class!r}")
        if per_class < 1:
            raise ValueError(f"per_class must be >= 1, got {per_class}")
        rng = np.random.default_rng(seed)
        n = len(self.y_train)
        if self.task == "classification":
            chosen = [
                rng.permutation(np.flatnonzero(self.y_train == c))[:per_class]
                for c in np.unique(self.y_train)
            ]
            keep = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
        else:
            keep = np.sort(rng.permutation(n)[: per_class * self.num_classes])
        return dataclasses.replace(self, x_train=self.x_train[keep], y_train=self.y_train[keep])

    def with_noise(self, sigma: float, *, seed: int) -> Dataset:
        """Return a copy whose images carry fixed Gaussian pixel noise (a harder data set).

        Every split gets its own draw of ``N(0, sigma^2)`` per pixel from
        ``np.random.default_rng(seed)``, added once (the noise is part of the data, not an
        augmentation: every epoch and every seed sees the same images), and the result is
        clipped to the range of the clean training images. Labels are unchanged.

        Args:
            sigma: Standard deviation of the noise, in pixel units (> 0).
            seed: Seed of the noise.

        Returns:
            A new :class:`Dataset`.

        Raises:
            ValueError: If ``sigma`` is not a positive finite number.

        Example:
            >>> x = np.zeros((4, 2, 2, 1), np.float32); x[1::2] = 1.0
            >>> y = np.array([0, 1, 0, 1])
            >>> ds = Dataset("t", x, y, x, y, num_classes=2, task="classification")
            >>> noisy = ds.with_noise(0.5, seed=0)
            >>> bool(noisy.x_train.min() >= 0.0 and noisy.x_train.max() <= 1.0)
            True
            >>> bool(np.array_equal(noisy.x_train, ds.with_noise(0.5, seed=0).x_train))
            True
        """
        if isinstance(sigma, bool) or not isinstance(sigma, (int, float, np.floating)) \
                or not np.isfinite(sigma) or sigma <= 0:
            raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
        rng = np.random.default_rng(seed)
        low, high = float(self.x_train.min()), float(self.x_train.max())

        def noisy(x: np.ndarray | None) -> np.ndarray | None:
            if x is None:
                return None
            noise = rng.normal(0.0, float(sigma), x.shape).astype(x.dtype)
            return np.clip(x + noise, low, high)

        return dataclasses.replace(self, x_train=noisy(self.x_train), x_val=noisy(self.x_val),
                                   x_test=noisy(self.x_test))


# --------------------------------------------------------------------------- helpers


def _check_val_fraction(val_fraction: float) -> float:
    try:
        value = float(val_fraction)
    except (TypeError, ValueError):
        raise ValueError(f"val_fraction must be a number in (0, 1), got {val_fraction!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"val_fraction must be in the open interval (0, 1), got {val_fraction}")
    return value


def _as_int_labels(y: np.ndarray, what: str) -> np.ndarray:
    """Validate integer, non-negative labels and return them as ``int32``."""
    y = np.asarray(y)
    if y.dtype == np.bool_:
        y = y.astype(np.int32)
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(f"{what} must be integer class indices, got dtype {y.dtype}")
    if np.issubdtype(y.dtype, np.floating) and y.size:
        integral = np.isfinite(y) & (y == np.round(y))
        if not integral.all():
            bad = y[~integral].ravel()[0]
            raise ValueError(
                f"{what} must be integer class indices, got non-integer value {bad!r} "
                f"(dtype {y.dtype})"
            )
    if y.size and y.min() < 0:
        raise ValueError(f"{what} must be non-negative class indices, got minimum {y.min()}")
    if y.size and y.max() > np.iinfo(np.int32).max:
        raise ValueError(f"{what} contains a label too large for int32: {y.max()}")
    return y.astype(np.int32)


def _as_float_images(x: np.ndarray, what: str) -> np.ndarray:
    """Return NHWC ``float32`` images in ``[0, 1]``; NHW input gets a channel axis.

    See :mod:`.checks`: complex or non-finite pixels are refused, ``uint8`` is /255, other
    ranges are rescaled with a :class:`~.checks.DataWarning`.
    """
    return _as_float_image_sets([x], what)[0]


def _as_float_image_sets(arrays: Sequence[np.ndarray], what: str) -> list[np.ndarray]:
    """:func:`_as_float_images` of several arrays of one data set, with one shared scaling."""
    out = []
    for x in arrays:
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise ValueError(
                f"{what} must have 3 dims (N, H, W) or 4 dims (N, H, W, C), got shape {x.shape}"
            )
        check_real(x, what)
        out.append(x)
    return to_unit_range(out, what)


def _infer_num_classes(*labels: np.ndarray, num_classes: int | None, what: str) -> int:
    observed = max((int(y.max()) + 1 for y in labels if y.size), default=0)
    if num_classes is None:
        return max(observed, 1)
    if num_classes < observed:
        raise ValueError(f"{what}: num_classes={num_classes} but labels go up to {observed - 1}")
    return int(num_classes)


def _check_same_length(x: np.ndarray, y: np.ndarray, what: str) -> None:
    if len(x) != len(y):
        raise ValueError(f"{what}: x has {len(x)} examples but y has {len(y)}")


def _require_path(path: str | Path, what: str) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise FileNotFoundError(f"{what} not found: {str(p)!r}")
    return p


def split_validation(
    x: np.ndarray, y: np.ndarray, *, val_fraction: float, seed: int | Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Randomly split examples into a training and a validation part.

    The number of validation examples is ``round(len(x) * val_fraction)``, clipped so
    that both parts hold at least one example. When ``y`` is a 1-D integer array
    (classification labels) the split is stratified: each class contributes to the
    validation set in proportion to its frequency (largest-remainder rounding). Any
    other ``y`` (e.g. segmentation masks) is split uniformly at random. Both parts are
    returned in shuffled order.

    Args:
        x: Inputs, first axis indexes examples.
        y: Targets, first axis indexes examples.
        val_fraction: Fraction of examples for validation, in ``(0, 1)``.
        seed: Seed for ``np.random.default_rng``.

    Returns:
        ``(x_train, y_train, x_val, y_val)``.

    Raises:
        ValueError: If ``val_fraction`` is not in ``(0, 1)``, the lengths of ``x`` and
            ``y`` differ, or there are fewer than two examples.
    """
    fraction = _check_val_fraction(val_fraction)
    x = np.asarray(x)
    y = np.asarray(y)
    _check_same_length(x, y, "split_validation")
    n = len(x)
    if n < 2:
        raise ValueError(f"split_validation needs at least 2 examples, got {n}")
    n_val = min(max(round(n * fraction), 1), n - 1)
    rng = np.random.default_rng(seed)

    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer):
        classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
        exact = counts * (n_val / n)
        quota = np.floor(exact).astype(np.int64)
        remainder = n_val - int(quota.sum())
        if remainder > 0:
            order = np.argsort(-(exact - quota), kind="stable")
            quota[order[:remainder]] += 1
        val_parts, train_parts = [], []
        for k in range(len(classes)):
            idx = rng.permutation(np.flatnonzero(inverse == k))
            val_parts.append(idx[: quota[k]])
            train_parts.append(idx[quota[k] :])
        val_idx = rng.permutation(np.concatenate(val_parts))
        train_idx = rng.permutation(np.concatenate(train_parts))
    else:
        perm = rng.permutation(n)
        val_idx, train_idx = perm[:n_val], perm[n_val:]
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


TEST_FRACTION = 0.1
"""Default share of a built-in data set held out as the test split (half of the default
held-out 0.2, so the training split is the one it was without a test split)."""
_TEST_STREAM = 0x7E57
"""Mixed into the split seed for the test split."""


def split_train_val_test(
    x: np.ndarray, y: np.ndarray, *, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, ...]:
    """A seeded train / validation / test split (disjoint; stratified for class labels).

    ``val_fraction`` of the examples are held out from training exactly as
    ``split_validation(x, y, val_fraction=val_fraction, seed=seed)`` does (so the training part
    is the same with or without a test split); ``round(len(x) * test_fraction)`` of those held-out
    examples become the test split (drawn with a generator seeded by ``[seed, 0x7E57]``), the rest
    the validation split.

    Args:
        x: Inputs, first axis indexes examples.
        y: Targets.
        val_fraction: Share of all examples held out from training (validation + test), in
            ``(0, 1)``.
        test_fraction: Share of all examples for the test split, in ``(0, val_fraction)``.
        seed: Seed of the split.

    Returns:
        ``(x_train, y_train, x_val, y_val, x_test, y_test)``.

    Raises:
        ValueError: On fractions out of range or too few examples for three parts.

    Example:
        >>> x, y = np.arange(20.0)[:, None], np.arange(20) % 2
        >>> parts = split_train_val_test(x, y, val_fraction=0.4, test_fraction=0.2, seed=0)
        >>> [len(p) for p in parts[::2]]
        [12, 4, 4]
    """
    held = _check_val_fraction(val_fraction)
    try:
        test = float(test_fraction)
    except (TypeError, ValueError):
        raise ValueError(f"test_fraction must be a number in (0, val_fraction), got "
                         f"{test_fraction!r}") from None
    if not 0.0 < test < held:
        raise ValueError(f"test_fraction must be in (0, val_fraction): the test split is taken "
                         f"from the held-out part; got test_fraction={test_fraction!r}, "
                         f"val_fraction={val_fraction!r}")
    x_tr, y_tr, x_held, y_held = split_validation(x, y, val_fraction=held, seed=seed)
    if len(x_held) < 2:
        raise ValueError(f"a train/validation/test split needs at least 2 held-out examples, got "
                         f"{len(x_held)} of {len(x)} (raise val_fraction)")
    n_test = min(max(round(len(x) * test), 1), len(x_held) - 1)
    x_va, y_va, x_te, y_te = split_validation(
        x_held, y_held, val_fraction=n_test / len(x_held), seed=[seed, _TEST_STREAM])
    return x_tr, y_tr, x_va, y_va, x_te, y_te


def _build(
    name: str,
    x: np.ndarray,
    y: np.ndarray,
    *,
    task: Task,
    val_fraction: float,
    seed: int,
    num_classes: int | None = None,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    test_fraction: float = 0.0,
) -> Dataset:
    """Split (unless a validation set is given) and wrap arrays into a Dataset.

    ``test_fraction > 0`` also holds out a test split (:func:`split_train_val_test`; with a
    given validation set, taken out of it).
    """
    x_te = y_te = None
    if x_val is None and test_fraction:
        x_tr, y_tr, x_va, y_va, x_te, y_te = split_train_val_test(
            x, y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
    elif x_val is None:
        x_tr, y_tr, x_va, y_va = split_validation(x, y, val_fraction=val_fraction, seed=seed)
    else:
        assert y_val is not None
        x_tr, y_tr, x_va, y_va = x, y, x_val, y_val
        if test_fraction:  # the test split comes out of the given validation set
            x_va, y_va, x_te, y_te = split_validation(
                x_va, y_va, val_fraction=test_fraction / val_fraction,
                seed=[seed, _TEST_STREAM])
    k = _infer_num_classes(y_tr, y_va, num_classes=num_classes, what=name)
    if task == "segmentation":
        k = max(k, 2)
    return Dataset(
        name=name,
        x_train=np.ascontiguousarray(x_tr, dtype=np.float32),
        y_train=np.ascontiguousarray(y_tr, dtype=np.int32),
        x_val=np.ascontiguousarray(x_va, dtype=np.float32),
        y_val=np.ascontiguousarray(y_va, dtype=np.int32),
        num_classes=k,
        task=task,
        class_names=tuple(class_names) if class_names is not None else None,
        x_test=None if x_te is None else np.ascontiguousarray(x_te, dtype=np.float32),
        y_test=None if y_te is None else np.ascontiguousarray(y_te, dtype=np.int32),
    )
