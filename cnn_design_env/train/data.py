"""Dataset loading for CNN training (pure NumPy).

Every loader returns a :class:`Dataset` with a fixed set of conventions:

* Images (``x_train`` / ``x_val``) are ``float32`` arrays in NHWC layout, scaled to
  ``[0, 1]``. ``uint8`` sources are divided by 255 (the scikit-learn digits by 16);
  floating point sources given to :func:`load_npz` are only cast to ``float32`` and are
  assumed to be scaled already. Nothing is standardised here.
* Classification labels are ``int32`` arrays of shape ``(N,)`` holding class indices in
  ``[0, num_classes)``.
* Segmentation labels are ``int32`` arrays of shape ``(N, H, W)`` holding the class index
  of every pixel (``0`` is background for the built-in datasets).

Every random choice is drawn from ``np.random.default_rng(seed)`` with an explicit seed,
so the same arguments always give identical arrays. Besides the bundled scikit-learn
digits and the synthetic ``shapes`` data set, files on disk can be read: CIFAR-10/100
python pickles, MNIST-style IDX files (optionally gzipped), ``.npz`` archives and image
folders (the latter needs Pillow, imported lazily).
"""

from __future__ import annotations

import dataclasses
import gzip
import importlib.util
import pickle
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

__all__ = [
    "Dataset",
    "get_dataset",
    "list_datasets",
    "load_cifar",
    "load_digits",
    "load_idx",
    "load_image_folder",
    "load_npz",
    "make_shapes",
    "split_validation",
]

Task = Literal["classification", "segmentation"]

_TASKS: tuple[str, ...] = ("classification", "segmentation")
_BUILTIN: tuple[str, ...] = ("digits", "shapes")
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049
_GZIP_MAGIC = b"\x1f\x8b"
_SHAPE_KINDS: tuple[str, ...] = ("circle", "rectangle", "triangle")


# --------------------------------------------------------------------------- Dataset


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

    def __post_init__(self) -> None:
        if self.task not in _TASKS:
            raise ValueError(f"task must be one of {_TASKS}, got {self.task!r}")
        if int(self.num_classes) < 1:
            raise ValueError(f"num_classes must be >= 1, got {self.num_classes}")
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
    """Return NHWC ``float32`` images; NHW input gets a channel axis, ``uint8`` is /255."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(
            f"{what} must have 3 dims (N, H, W) or 4 dims (N, H, W, C), got shape {x.shape}"
        )
    if x.dtype == np.uint8:
        return np.ascontiguousarray(x, dtype=np.float32) / np.float32(255.0)
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise ValueError(f"{what} must be numeric, got dtype {x.dtype}")
    return np.ascontiguousarray(x, dtype=np.float32)


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
    x: np.ndarray, y: np.ndarray, *, val_fraction: float, seed: int
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
) -> Dataset:
    """Split (unless a validation set is given) and wrap arrays into a Dataset."""
    if x_val is None:
        x_tr, y_tr, x_va, y_va = split_validation(x, y, val_fraction=val_fraction, seed=seed)
    else:
        assert y_val is not None
        x_tr, y_tr, x_va, y_va = x, y, x_val, y_val
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
    )


# --------------------------------------------------------------------------- built-ins


def _digits_csv() -> Path:
    """Path of scikit-learn's bundled ``digits.csv.gz`` (found without importing sklearn)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the digits data set ships with scikit-learn: pip install scikit-learn")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"


def load_digits(*, val_fraction: float = 0.2, seed: int = 0) -> Dataset:
    """Load scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    Args:
        val_fraction: Fraction of examples for validation (stratified), in ``(0, 1)``.
        seed: Seed for the split.

    Returns:
        A classification :class:`Dataset` with ``input_shape == (8, 8, 1)``, pixel
        values divided by 16 into ``[0, 1]`` and 10 classes.
    """
    _check_val_fraction(val_fraction)
    # Read scikit-learn's bundled CSV directly: importing sklearn costs ~3 s per process.
    table = np.loadtxt(_digits_csv(), delimiter=",", dtype=np.float32)
    x = (table[:, :-1].reshape(-1, 8, 8) / np.float32(16.0))[..., None]
    y = table[:, -1].astype(np.int32)
    return _build(
        "digits",
        x,
        y,
        task="classification",
        val_fraction=val_fraction,
        seed=seed,
        num_classes=10,
        class_names=[str(i) for i in range(10)],
    )


def _shape_mask(
    kind: str, rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray, size: int
) -> np.ndarray:
    """Rasterise one random shape of the given kind into a boolean ``(size, size)`` mask."""
    cy, cx = rng.uniform(0.15 * size, 0.85 * size, size=2)
    if kind == "circle":
        r = rng.uniform(size / 10, size / 4)
        return (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    if kind == "rectangle":
        hh, hw = rng.uniform(size / 10, size / 4, size=2)
        return (np.abs(yy - cy) <= hh) & (np.abs(xx - cx) <= hw)
    # Triangle: three vertices roughly 120 degrees apart around the centre.
    r = rng.uniform(size / 7, size / 3.5)
    angles = rng.uniform(0, 2 * np.pi) + np.array([0.0, 2.0, 4.0]) * np.pi / 3
    angles = angles + rng.uniform(-0.3, 0.3, size=3)
    vy, vx = cy + r * np.sin(angles), cx + r * np.cos(angles)
    signs = []
    for i in range(3):
        j = (i + 1) % 3
        signs.append((vx[j] - vx[i]) * (yy - vy[i]) - (vy[j] - vy[i]) * (xx - vx[i]))
    s0, s1, s2 = signs
    return ((s0 >= 0) & (s1 >= 0) & (s2 >= 0)) | ((s0 <= 0) & (s1 <= 0) & (s2 <= 0))


def make_shapes(
    *,
    n: int = 512,
    size: int = 32,
    num_classes: int = 2,
    max_shapes: int = 3,
    noise: float = 0.05,
    val_fraction: float = 0.2,
    seed: int = 0,
) -> Dataset:
    """Generate a deterministic synthetic segmentation data set of simple shapes.

    Each grayscale image has a random background level in ``[0, 0.3]`` and 1 to
    ``max_shapes`` shapes (circles, axis-aligned rectangles, triangles), each filled
    with a random intensity in ``[0.55, 1]``; Gaussian noise with standard deviation
    ``noise`` is added and the result clipped to ``[0, 1]``. Later shapes are drawn on
    top of earlier ones and the mask follows the visible (top-most) shape.

    Label convention (``int32`` per pixel, 0 is always background):

    * ``num_classes=2``: 1 = any shape (circle, rectangle or triangle).
    * ``num_classes=3``: 1 = circle, 2 = rectangle (no triangles are drawn).
    * ``num_classes=4``: 1 = circle, 2 = rectangle, 3 = triangle.

    Args:
        n: Number of images in total (train + validation), >= 2.
        size: Height and width of the square images, >= 8.
        num_classes: 2, 3 or 4 (see above).
        max_shapes: Maximum number of shapes per image, >= 1.
        noise: Standard deviation of the additive Gaussian noise, >= 0.
        val_fraction: Fraction of images for validation, in ``(0, 1)``.
        seed: Seed for ``np.random.default_rng``; the same seed gives identical arrays.

    Returns:
        A segmentation :class:`Dataset` with ``input_shape == (size, size, 1)`` and
        masks of shape ``(N, size, size)``.

    Raises:
        ValueError: If an argument is out of range.
    """
    if num_classes not in (2, 3, 4):
        raise ValueError(f"make_shapes num_classes must be 2, 3 or 4, got {num_classes}")
    if n < 2:
        raise ValueError(f"make_shapes n must be >= 2, got {n}")
    if size < 8:
        raise ValueError(f"make_shapes size must be >= 8, got {size}")
    if max_shapes < 1:
        raise ValueError(f"make_shapes max_shapes must be >= 1, got {max_shapes}")
    if noise < 0:
        raise ValueError(f"make_shapes noise must be >= 0, got {noise}")
    _check_val_fraction(val_fraction)

    kinds = _SHAPE_KINDS if num_classes in (2, 4) else _SHAPE_KINDS[:2]
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    images = np.empty((n, size, size), dtype=np.float32)
    masks = np.zeros((n, size, size), dtype=np.int32)
    for i in range(n):
        img = np.full((size, size), rng.uniform(0.0, 0.3))
        for _ in range(int(rng.integers(1, max_shapes + 1))):
            k = int(rng.integers(len(kinds)))
            region = _shape_mask(kinds[k], rng, yy, xx, size)
            img[region] = rng.uniform(0.55, 1.0)
            masks[i][region] = 1 if num_classes == 2 else k + 1
        images[i] = img
    if noise > 0:
        images += rng.normal(0.0, noise, size=images.shape).astype(np.float32)
    np.clip(images, 0.0, 1.0, out=images)
    names = ("background", "shape") if num_classes == 2 else ("background", *kinds)
    return _build(
        "shapes",
        images[..., None],
        masks,
        task="segmentation",
        val_fraction=val_fraction,
        seed=int(rng.integers(2**31)),
        num_classes=num_classes,
        class_names=names,
    )


# --------------------------------------------------------------------------- CIFAR


def _unpickle(path: Path) -> dict[Any, Any]:
    with path.open("rb") as f:
        obj = pickle.load(f, encoding="bytes")
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
    except (ValueError, pickle.UnpicklingError, EOFError):
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
    present. Only load pickle files you trust.

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
        ValueError: On a bad argument or malformed batch contents.
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


# --------------------------------------------------------------------------- IDX


def _read_maybe_gzip(path: Path) -> bytes:
    with path.open("rb") as f:
        head = f.read(2)
    if path.suffix == ".gz" or head == _GZIP_MAGIC:
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError) as exc:
            raise ValueError(f"cannot decompress gzip file {str(path)!r}: {exc}") from exc
    return path.read_bytes()


def _read_idx(path: Path, magic: int, ndim: int, what: str) -> np.ndarray:
    raw = _read_maybe_gzip(path)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(
            f"IDX {what} file {str(path)!r} is too short ({len(raw)} bytes) for its header"
        )
    (found,) = struct.unpack(">I", raw[:4])
    if found != magic:
        raise ValueError(
            f"IDX {what} file {str(path)!r} has magic number {found}, expected {magic}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    if len(raw) - header != expected:
        raise ValueError(
            f"IDX {what} file {str(path)!r}: header declares shape {dims} "
            f"({expected} bytes of data) but {len(raw) - header} bytes follow"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def load_idx(
    images_path: str | Path,
    labels_path: str | Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    num_classes: int | None = None,
) -> Dataset:
    """Load an MNIST / Fashion-MNIST style pair of IDX files.

    Files may be gzipped (detected by a ``.gz`` suffix or the gzip magic bytes). The
    image file must have magic number 2051 (unsigned bytes, 3 dims) and the label file
    2049 (unsigned bytes, 1 dim).

    Args:
        images_path: IDX3 image file, e.g. ``train-images-idx3-ubyte.gz``.
        labels_path: IDX1 label file, e.g. ``train-labels-idx1-ubyte.gz``.
        val_fraction: Fraction of examples for validation (stratified), in ``(0, 1)``.
        seed: Seed for the split.
        num_classes: Number of classes; inferred as ``max(label) + 1`` if ``None``.

    Returns:
        A classification :class:`Dataset` with ``input_shape == (rows, cols, 1)``,
        pixels divided by 255.

    Raises:
        FileNotFoundError: If a file is missing.
        ValueError: On a wrong magic number, truncated data or mismatched counts.
    """
    _check_val_fraction(val_fraction)
    ip = _require_path(images_path, "IDX images file")
    lp = _require_path(labels_path, "IDX labels file")
    images = _read_idx(ip, _IDX_IMAGES_MAGIC, 3, "images")
    labels = _read_idx(lp, _IDX_LABELS_MAGIC, 1, "labels")
    if len(images) != len(labels):
        raise ValueError(
            f"IDX count mismatch: {str(ip)!r} has {len(images)} images but "
            f"{str(lp)!r} has {len(labels)} labels"
        )
    name = ip.name.split(".")[0]
    return _build(
        name,
        _as_float_images(images, "IDX images"),
        labels.astype(np.int32),
        task="classification",
        val_fraction=val_fraction,
        seed=seed,
        num_classes=num_classes,
    )


# --------------------------------------------------------------------------- NPZ


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
    made. ``uint8`` images are divided by 255, other dtypes are cast to ``float32``
    unchanged. ``y`` of shape ``(N,)`` means classification, ``(N, H, W)`` or
    ``(N, H, W, 1)`` segmentation (integer class per pixel); labels must be
    non-negative integers (integral floats and booleans are accepted).

    Args:
        path: The ``.npz`` file.
        val_fraction: Fraction of examples for validation, in ``(0, 1)``.
        seed: Seed for the split.
        task: Force ``"classification"`` or ``"segmentation"``; inferred from the shape
            of ``y`` if ``None``.
        num_classes: Number of classes; inferred as ``max(label) + 1`` if ``None``.

    Returns:
        A :class:`Dataset` named after the file stem.

    Raises:
        FileNotFoundError: If the file is missing.
        ValueError: On missing keys, bad shapes, mismatched lengths or bad labels.
    """
    _check_val_fraction(val_fraction)
    if task is not None and task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS} or None, got {task!r}")
    p = _require_path(path, "npz file")
    with np.load(p, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
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
    x = _as_float_images(arrays["x"], f"npz {p.name} 'x'")
    _check_same_length(x, arrays["y"], f"npz {p.name}")
    y, task = _npz_labels(arrays["y"], x, task, f"npz {p.name} 'y'")
    x_val = y_val = None
    if has_val[0]:
        x_val = _as_float_images(arrays["x_val"], f"npz {p.name} 'x_val'")
        _check_same_length(x_val, arrays["y_val"], f"npz {p.name} validation")
        if x_val.shape[1:] != x.shape[1:]:
            raise ValueError(
                f"npz {p.name}: 'x_val' images have shape {x_val.shape[1:]}, expected "
                f"{x.shape[1:]} like 'x'"
            )
        y_val, _ = _npz_labels(arrays["y_val"], x_val, task, f"npz {p.name} 'y_val'")
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


# --------------------------------------------------------------------------- image folder


def _import_pil() -> Any:
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "load_image_folder needs Pillow to read image files; install it with "
            "'pip install pillow'"
        ) from exc
    return Image


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def _normalise_size(size: int | tuple[int, int] | None) -> tuple[int, int] | None:
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        try:
            h, w = (int(s) for s in size)
        except (TypeError, ValueError):
            raise ValueError(f"size must be an int or (height, width), got {size!r}") from None
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive, got {size!r}")
    return h, w


def _read_images(files: Sequence[Path], size: tuple[int, int] | None, image_mod: Any) -> np.ndarray:
    """Read images as uint8 NHWC; grayscale if all are grayscale, RGB otherwise."""
    opened = []
    for f in files:
        try:
            with image_mod.open(f) as im:
                im.load()
                opened.append(im.copy())
        except OSError as exc:
            raise ValueError(f"cannot read image {str(f)!r}: {exc}") from exc
    gray = all(im.mode in ("L", "1", "LA", "I", "I;16") for im in opened)
    mode = "L" if gray else "RGB"
    arrays = []
    expected: tuple[int, int] | None = None
    for f, im in zip(files, opened, strict=True):
        if im.mode in ("I", "I;16"):
            im = im.point(lambda v: v / 256).convert("L")
        im = im.convert(mode)
        if size is not None:
            im = im.resize((size[1], size[0]), image_mod.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.uint8)
        if expected is None:
            expected = a.shape[:2]
        elif a.shape[:2] != expected:
            raise ValueError(
                f"image {str(f)!r} has size {a.shape[:2]} but earlier images have {expected}; "
                f"pass size=(height, width) to resize all images"
            )
        arrays.append(a if a.ndim == 3 else a[..., None])
    return np.stack(arrays)


def _read_masks(files: Sequence[Path], size: tuple[int, int] | None, image_mod: Any) -> np.ndarray:
    """Read masks as int32 (N, H, W) class indices (palette indices or gray values)."""
    masks = []
    for f in files:
        try:
            with image_mod.open(f) as im:
                im.load()
                if im.mode not in ("P", "L", "1", "I", "I;16"):
                    im = im.convert("L")
                if size is not None:
                    im = im.resize((size[1], size[0]), image_mod.Resampling.NEAREST)
                masks.append(np.asarray(im).astype(np.int64))
        except OSError as exc:
            raise ValueError(f"cannot read mask {str(f)!r}: {exc}") from exc
    m = np.stack(masks)
    values = np.unique(m)
    if len(values) == 2 and values[0] == 0 and values[1] == 255:
        m = (m == 255).astype(np.int64)  # binary masks saved as 0/255
    return _as_int_labels(m, "image-folder masks")


def load_image_folder(
    root: str | Path,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    size: int | tuple[int, int] | None = None,
) -> Dataset:
    """Load images from a directory tree (requires Pillow).

    Two layouts are recognised:

    * Segmentation: ``root/images/*`` and ``root/masks/*`` with matching file stems.
      Masks are read as class indices per pixel (palette indices for ``P`` images,
      gray values otherwise); masks whose only values are 0 and 255 are mapped to 0/1.
    * Classification: ``root/<class_name>/*.png|jpg|...``; classes are the sorted
      sub-directory names (hidden directories ignored), labels their indices.

    Images are converted to 1 channel if all are grayscale, otherwise to RGB, and
    divided by 255. Without ``size`` all images must have the same size; with it,
    images are resized bilinearly and masks with nearest neighbour.

    Args:
        root: The root directory.
        val_fraction: Fraction of examples for validation, in ``(0, 1)``.
        seed: Seed for the split (stratified for classification).
        size: Optional target ``(height, width)`` or a single int for square images.

    Returns:
        A :class:`Dataset` named after the directory.

    Raises:
        ImportError: If Pillow is not installed.
        FileNotFoundError: If ``root`` is missing.
        ValueError: If the layout is not recognised, files do not match, or images have
            different sizes without ``size``.
    """
    _check_val_fraction(val_fraction)
    base = _require_path(root, "image folder")
    if not base.is_dir():
        raise ValueError(f"image folder must be a directory, got file {str(base)!r}")
    target = _normalise_size(size)
    image_mod = _import_pil()

    if (base / "images").is_dir() and (base / "masks").is_dir():
        images = {p.stem: p for p in _image_files(base / "images")}
        masks = {p.stem: p for p in _image_files(base / "masks")}
        if not images:
            raise ValueError(f"no image files in {str(base / 'images')!r}")
        no_mask = sorted(set(images) - set(masks))
        no_image = sorted(set(masks) - set(images))
        if no_mask or no_image:
            raise ValueError(
                f"segmentation folder {str(base)!r}: images without mask {no_mask[:5]}, "
                f"masks without image {no_image[:5]} (stems must match)"
            )
        stems = sorted(images)
        x = _read_images([images[s] for s in stems], target, image_mod)
        y = _read_masks([masks[s] for s in stems], target, image_mod)
        if y.shape[1:] != x.shape[1:3]:
            raise ValueError(
                f"segmentation folder {str(base)!r}: masks have size {y.shape[1:]} but "
                f"images {x.shape[1:3]}; pass size=(height, width) or fix the files"
            )
        return _build(
            base.name,
            x.astype(np.float32) / np.float32(255.0),
            y,
            task="segmentation",
            val_fraction=val_fraction,
            seed=seed,
        )

    class_dirs = sorted(d for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not class_dirs:
        raise ValueError(
            f"image folder {str(base)!r} has no sub-directories; expected "
            f"root/<class_name>/*.png (classification) or root/images + root/masks "
            f"(segmentation)"
        )
    files: list[Path] = []
    labels: list[int] = []
    for k, d in enumerate(class_dirs):
        found = _image_files(d)
        if not found:
            raise ValueError(
                f"class directory {str(d)!r} contains no image files "
                f"({', '.join(sorted(_IMAGE_SUFFIXES))})"
            )
        files.extend(found)
        labels.extend([k] * len(found))
    x = _read_images(files, target, image_mod)
    return _build(
        base.name,
        x.astype(np.float32) / np.float32(255.0),
        np.asarray(labels, dtype=np.int32),
        task="classification",
        val_fraction=val_fraction,
        seed=seed,
        num_classes=len(class_dirs),
        class_names=[d.name for d in class_dirs],
    )


# --------------------------------------------------------------------------- dispatch


def list_datasets() -> list[str]:
    """Return the names of the built-in data sets accepted by :func:`get_dataset`."""
    return list(_BUILTIN)


def _find_idx_pair(folder: Path, prefix: str = "train") -> tuple[Path, Path] | None:
    def first(stem: str) -> Path | None:
        for candidate in (folder / stem, folder / f"{stem}.gz"):
            if candidate.is_file():
                return candidate
        return None

    images = first(f"{prefix}-images-idx3-ubyte")
    labels = first(f"{prefix}-labels-idx1-ubyte")
    if images is not None and labels is not None:
        return images, labels
    return None


def get_dataset(name_or_path: str | Path, **kwargs: Any) -> Dataset:
    """Load a data set by built-in name or from a path.

    Names: ``"digits"`` (:func:`load_digits`) and ``"shapes"`` (:func:`make_shapes`).
    Paths are dispatched on their contents:

    * ``"images.idx:labels.idx"`` -> :func:`load_idx`;
    * a ``.npz`` file -> :func:`load_npz`;
    * a directory with ``data_batch_*`` (or ``cifar-10-batches-py``) -> CIFAR-10, with
      ``train`` + ``test`` files (or ``cifar-100-python``) -> CIFAR-100 (:func:`load_cifar`);
    * a directory with ``train-images-idx3-ubyte[.gz]`` and
      ``train-labels-idx1-ubyte[.gz]`` -> :func:`load_idx`;
    * any other directory with sub-directories -> :func:`load_image_folder`.

    Args:
        name_or_path: Built-in name or path.
        **kwargs: Passed to the selected loader (e.g. ``val_fraction``, ``seed``).

    Returns:
        The loaded :class:`Dataset`.

    Raises:
        FileNotFoundError: If the name is not built in and no such path exists.
        ValueError: If the path's layout is not recognised.
    """
    text = str(name_or_path)
    if text.lower() in _BUILTIN and not isinstance(name_or_path, Path):
        loader = load_digits if text.lower() == "digits" else make_shapes
        return loader(**kwargs)

    path = Path(text).expanduser()
    if not path.exists() and ":" in text:
        parts = text.split(":")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"IDX pair must be given as 'images_path:labels_path', got {text!r}")
        return load_idx(parts[0], parts[1], **kwargs)
    if not path.exists():
        raise FileNotFoundError(
            f"unknown dataset {text!r}: not one of the built-in names "
            f"{list_datasets()} and no such file or directory"
        )
    if path.is_file():
        if path.suffix.lower() == ".npz":
            return load_npz(path, **kwargs)
        raise ValueError(
            f"cannot tell the format of file {text!r} (suffix {path.suffix!r}); expected a "
            f"'.npz' file, an 'images:labels' IDX pair or a directory"
        )

    if (path / "data_batch_1").is_file() or (path / "cifar-10-batches-py").is_dir():
        return load_cifar(path, **{"which": 10, **kwargs})
    if ((path / "train").is_file() and (path / "test").is_file()) or (
        path / "cifar-100-python"
    ).is_dir():
        return load_cifar(path, **{"which": 100, **kwargs})
    pair = _find_idx_pair(path)
    if pair is not None:
        return load_idx(pair[0], pair[1], **kwargs)
    if any(d.is_dir() for d in path.iterdir()):
        return load_image_folder(path, **kwargs)
    raise ValueError(
        f"cannot tell the data set layout of directory {text!r}; expected CIFAR batches, "
        f"train-images-idx3-ubyte + train-labels-idx1-ubyte, images/ + masks/ or "
        f"one sub-directory per class"
    )
