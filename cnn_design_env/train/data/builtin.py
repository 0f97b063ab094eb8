"""Built-in data sets: scikit-learn's bundled digits and the synthetic ``shapes`` set."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from cnn_design_env.train.data.dataset import TEST_FRACTION, Dataset, _build, _check_val_fraction

_SHAPE_KINDS: tuple[str, ...] = ("circle", "rectangle", "triangle")


def _digits_csv() -> Path:
    """Path of scikit-learn's bundled ``digits.csv.gz`` (found without importing sklearn)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the digits data set ships with scikit-learn: pip install scikit-learn")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"


def load_digits(*, val_fraction: float = 0.2, seed: int = 0,
                test_fraction: float = TEST_FRACTION) -> Dataset:
    """Load scikit-learn's bundled 8x8 handwritten digits (1797 images, no download).

    Args:
        val_fraction: Fraction of examples for validation (stratified), in ``(0, 1)``.
        seed: Seed for the split.
        test_fraction: Fraction held out as the test split (stratified; 0: none); see
            :func:`~cnn_design_env.train.data.dataset.split_train_val_test`.

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
        test_fraction=test_fraction,
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
    test_fraction: float = TEST_FRACTION,
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
        test_fraction: Fraction of images held out as the test split (0: none).

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
        test_fraction=test_fraction,
    )
