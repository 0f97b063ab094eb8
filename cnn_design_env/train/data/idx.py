"""MNIST-style IDX file loader (optionally gzipped)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

from cnn_design_env.train.data.checks import check_classes
from cnn_design_env.train.data.dataset import (
    Dataset,
    _as_float_images,
    _build,
    _check_val_fraction,
    _require_path,
)

_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049
_GZIP_MAGIC = b"\x1f\x8b"


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
        num_classes: Number of classes; inferred as ``max(label) + 1`` if ``None`` (labels
            that are not ``0..K-1`` are then mapped to it with a ``DataWarning``).

    Returns:
        A classification :class:`Dataset` with ``input_shape == (rows, cols, 1)``,
        pixels divided by 255.

    Raises:
        FileNotFoundError: If a file is missing.
        ValueError: On a wrong magic number, truncated data, mismatched counts or fewer than two
            classes.
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
    (labels,), num_classes = check_classes([labels.astype(np.int32)], num_classes=num_classes,
                                           what=f"IDX labels file {str(lp)!r}")
    return _build(
        name,
        _as_float_images(images, "IDX images"),
        labels,
        task="classification",
        val_fraction=val_fraction,
        seed=seed,
        num_classes=num_classes,
    )
