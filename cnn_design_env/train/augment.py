"""Seeded data augmentation of NHWC batches in NumPy: shift, horizontal flip, small rotation.

One nearest-neighbour resampling applies all three per image (flip, then rotate about the image
centre, then shift); pixels brought in from outside the image are 0. Segmentation masks get the
same transform (uncovered pixels become class 0, the background).

Example:
    >>> aug = Augmentation(shift=1, flip=True)
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> out, _ = aug(x, np.zeros(1, np.int32), np.random.default_rng(0))
    >>> out.shape
    (1, 4, 4, 1)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Augmentation:
    """Random shift, flip and rotation of training batches.

    Attributes:
        shift: Maximum shift in pixels along each axis (uniform integer in ``[-shift, shift]``).
        flip: Flip horizontally with probability 1/2.
        rotate: Maximum rotation in degrees (uniform in ``[-rotate, rotate]``).

    Raises:
        ValueError: On a negative shift or rotation.
    """

    shift: int = 0
    flip: bool = False
    rotate: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.shift, int) or self.shift < 0:
            raise ValueError(f"Augmentation.shift must be an integer >= 0, got {self.shift!r}")
        if not isinstance(self.rotate, int | float) or not 0 <= self.rotate <= 180:
            raise ValueError(f"Augmentation.rotate must be degrees in [0, 180], "
                             f"got {self.rotate!r}")

    @property
    def active(self) -> bool:
        """Whether any transform is switched on."""
        return bool(self.shift or self.flip or self.rotate)

    def __call__(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator
                 ) -> tuple[np.ndarray, np.ndarray]:
        """Transform a batch ``x`` (N, H, W, C) and, for segmentation, its masks ``y`` (N, H, W).

        Args:
            x: Images.
            y: Labels: class indices ``(N,)`` (returned unchanged) or masks ``(N, H, W)``.
            rng: Source of every random draw.
        """
        if not self.active:
            return x, y
        n, h, w = x.shape[:3]
        angles = np.deg2rad(rng.uniform(-self.rotate, self.rotate, n)) if self.rotate else \
            np.zeros(n)
        shifts = (rng.integers(-self.shift, self.shift + 1, (n, 2)) if self.shift
                  else np.zeros((n, 2), np.int64))
        flips = rng.random(n) < 0.5 if self.flip else np.zeros(n, bool)
        rows, cols, valid = _source_pixels(h, w, angles, shifts, flips)
        batch = np.arange(n)[:, None, None]
        out = np.where(valid[..., None], x[batch, rows, cols], 0).astype(x.dtype)
        if y.ndim == 3:
            y = np.where(valid, y[batch, rows, cols], 0).astype(y.dtype)
        return out, y


def _source_pixels(h: int, w: int, angles: np.ndarray, shifts: np.ndarray, flips: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every output pixel of every image, the nearest source pixel and whether it exists."""
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    # Undo the shift, then the rotation, then the flip.
    u = yy[None] - cy - shifts[:, 0, None, None]
    v = xx[None] - cx - shifts[:, 1, None, None]
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    su = cos * u + sin * v
    sv = -sin * u + cos * v
    sv = np.where(flips[:, None, None], -sv, sv)
    rows = np.rint(su + cy).astype(np.int64)
    cols = np.rint(sv + cx).astype(np.int64)
    valid = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    return np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1), valid
