"""Image-folder loader (classification sub-directories or images/ + masks/; needs Pillow)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnn_design_env.train.data.checks import check_classes
from cnn_design_env.train.data.dataset import (
    Dataset,
    _as_int_labels,
    _build,
    _check_val_fraction,
    _require_path,
)

# Pillow raises OSError (UnidentifiedImageError, truncated files), ValueError or SyntaxError
# for broken files and DecompressionBombError (an Exception) for oversized ones.
_IMAGE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error)
_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


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
        except (*_IMAGE_ERRORS, image_mod.DecompressionBombError) as exc:
            raise ValueError(f"cannot read image {str(f)!r} (expected an image file Pillow "
                             f"can open): {exc}") from exc
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
        except (*_IMAGE_ERRORS, image_mod.DecompressionBombError) as exc:
            raise ValueError(f"cannot read mask {str(f)!r} (expected an image file Pillow "
                             f"can open): {exc}") from exc
    m = np.stack(masks)
    values = np.unique(m)
    if len(values) == 2 and values[0] == 0 and values[1] == 255:
        m = (m == 255).astype(np.int64)  # binary masks saved as 0/255
    (m,), _ = check_classes([_as_int_labels(m, "image-folder masks")], num_classes=None,
                            what="image-folder masks")
    return m


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
    check_classes([np.asarray(labels)], num_classes=None, what=f"image folder {str(base)!r}")
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
