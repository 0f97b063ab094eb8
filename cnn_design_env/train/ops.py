"""Convolution and max pooling with SAME padding, in the form that trains fastest on each backend.

XLA's CPU backend runs the gradients of ``lax.conv_general_dilated`` and of ``lax.reduce_window``
(max pooling) far below the machine's matmul speed. On a CPU these functions therefore compute

* a convolution as one matrix product over gathered patches ("im2col"): the padded input's
  ``k x k`` windows become the rows of a ``(N * H' * W', k * k * C_in)`` matrix multiplied by
  the kernel reshaped to ``(k * k * C_in, C_out)``; its gradient is again matrix products.
  Small patch matrices are gathered with one index array (``"gather"``: the smallest program,
  so the fastest to compile; its gradient gathers and sums instead of XLA's scatter-add),
  larger ones by concatenating the ``k x k`` strided views (``"slices"``: the gradient is
  padded slices). Measured on a 2-core CPU: ~3x the training throughput of
  ``lax.conv_general_dilated`` on the first two VGG-16 blocks (32x32x3, batch 64). On images
  of at most 8x8 pixels XLA's convolution is as fast and compiles faster, so it is kept there
  (:func:`conv_impl` has the rule and the measurements);
* a max pool as a maximum over the ``k x k`` strided views of the ``-inf``-padded input, or, when
  windows do not overlap, a reshape and ``max``: its gradient is a select instead of XLA's
  ``select_and_scatter``.

The patches take ``k * k`` times the input's memory, so a convolution falls back to
``lax.conv_general_dilated`` above :data:`PATCH_MAX_BYTES`, and on other backends (cuDNN on a
GPU is the fast path there). Both forms compute the same function (tested against each other);
only float rounding differs, and where several inputs of a pooling window tie for the maximum the
gradient may go to another one of them.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

CONV_IMPLS = ("auto", "gather", "slices", "xla")
"""``conv2d`` implementations: chosen per backend and size (``"auto"``), or forced."""
POOL_IMPLS = ("auto", "slices", "xla")
"""``max_pool`` implementations."""
GATHER_MAX_BYTES = 2**20
"""Largest patch matrix (bytes) that ``"auto"`` gathers with one index array."""
XLA_MAX_SIDE = 8
"""Largest image side on which ``"auto"`` prefers XLA's convolution on a CPU (see
:func:`conv_impl`)."""
PATCH_MAX_BYTES = 512 * 2**20
"""Largest patch matrix (bytes) that ``"auto"`` builds; larger convolutions use XLA's conv."""
CONV_DIMS = ("NHWC", "HWIO", "NHWC")
"""Dimension numbers of the convolutions: NHWC inputs and outputs, HWIO kernels."""


def same_padding(size: int, window: int, stride: int) -> tuple[int, int, int]:
    """Output size and (low, high) padding of SAME padding along one axis (XLA's convention).

    Example:
        >>> same_padding(8, 3, 2)
        (4, 0, 1)
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2, total - total // 2


def _check_impl(impl: str, choices: tuple[str, ...], what: str) -> None:
    if impl not in choices:
        raise ValueError(f"unknown {what} implementation {impl!r}; expected one of {choices}")


def conv_impl(x_shape: tuple[int, ...], kernel_size: int, stride: int) -> str:
    """The implementation ``conv2d(impl="auto")`` uses for an input of ``x_shape``.

    On a CPU, from the time of a training step (forward and both gradients) and its
    compilation, measured per form on a 2-core machine (:data:`CONV_IMPLS`):

    * small images (at most :data:`XLA_MAX_SIDE` pixels a side, ``C_in >= 8``) with a kernel
      smaller than the image and stride 1 (or a 3x3 kernel): XLA's convolution. It runs as
      fast as the im2col forms there and compiles in the least time (no patch kernels); on
      larger images it ran 1.5-5x slower, and it is slow as soon as the kernel covers the
      image or a 5x5 kernel strides;
    * patch matrices up to :data:`GATHER_MAX_BYTES`: ``"gather"``, whose program compiles
      fastest (one gather each way), where its slower copies cost least;
    * up to :data:`PATCH_MAX_BYTES`: ``"slices"``, 1.3-2x faster per step than ``"gather"``;
    * above, and on every other backend: XLA's convolution.

    Example:
        >>> conv_impl((32, 8, 8, 16), 5, 2) if jax.default_backend() == "cpu" else "gather"
        'gather'
    """
    if jax.default_backend() != "cpu":
        return "xla"
    n, h, w, c = x_shape
    if (max(h, w) <= XLA_MAX_SIDE and c >= 8 and kernel_size < min(h, w)
            and (stride == 1 or kernel_size <= 3)):
        return "xla"
    nbytes = n * -(-h // stride) * -(-w // stride) * kernel_size * kernel_size * c * 4
    if nbytes <= GATHER_MAX_BYTES:
        return "gather"
    return "slices" if nbytes <= PATCH_MAX_BYTES else "xla"


def _pad_same(x: jax.Array, window: int, stride: int, value: float) -> tuple[jax.Array, int, int]:
    """``x`` padded for SAME windows, and the output height and width."""
    _, h, w, _ = x.shape
    out_h, top, bottom = same_padding(h, window, stride)
    out_w, left, right = same_padding(w, window, stride)
    if top or bottom or left or right:
        x = jnp.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=value)
    return x, out_h, out_w


def _windows(x: jax.Array, window: int, stride: int, pad_value: float) -> list[jax.Array]:
    """The ``window x window`` strided views of ``x`` under SAME padding, ``(N, H', W', C)``."""
    x, out_h, out_w = _pad_same(x, window, stride, pad_value)
    span_h, span_w = (out_h - 1) * stride + 1, (out_w - 1) * stride + 1
    return [x[:, i:i + span_h:stride, j:j + span_w:stride, :]
            for i in range(window) for j in range(window)]


def conv2d(x: jax.Array, w: jax.Array, stride: int, *, impl: str = "auto") -> jax.Array:
    """SAME convolution of an NHWC batch with an HWIO kernel (square kernel and stride).

    Args:
        x: Input ``(N, H, W, C_in)``.
        w: Kernel ``(k, k, C_in, C_out)``.
        stride: Stride along both spatial axes.
        impl: ``"gather"`` or ``"slices"`` (im2col matmul), ``"xla"``
            (``lax.conv_general_dilated``) or ``"auto"`` (:func:`conv_impl`).

    Returns:
        ``(N, ceil(H / stride), ceil(W / stride), C_out)``.

    Raises:
        ValueError: On an unknown ``impl``.

    Example:
        >>> import numpy as np
        >>> x = np.ones((1, 4, 4, 2), np.float32); w = np.ones((3, 3, 2, 5), np.float32)
        >>> y = conv2d(x, w, 2, impl="gather")
        >>> y.shape, float(y[0, 0, 0, 0]), float(y[0, 1, 1, 0])
        ((1, 2, 2, 5), 18.0, 8.0)
    """
    _check_impl(impl, CONV_IMPLS, "conv")
    k = w.shape[0]
    if impl == "auto":
        impl = conv_impl(x.shape, k, stride)
    if impl == "xla":
        return jax.lax.conv_general_dilated(x, w, (stride, stride), "SAME",
                                            dimension_numbers=CONV_DIMS)
    patches = _gather_patches(x, k, stride) if impl == "gather" else _slice_patches(x, k, stride)
    n, out_h, out_w, depth = patches.shape
    y = patches.reshape(n * out_h * out_w, depth) @ w.reshape(depth, w.shape[-1])
    return y.reshape(n, out_h, out_w, w.shape[-1])


def _slice_patches(x: jax.Array, k: int, stride: int) -> jax.Array:
    """``(N, H', W', k * k * C)`` patches concatenated from the strided views."""
    views = _windows(x, k, stride, 0.0)
    return views[0] if len(views) == 1 else jnp.concatenate(views, axis=-1)


def _gather_patches(x: jax.Array, k: int, stride: int) -> jax.Array:
    """``(N, H', W', k * k * C)`` patches taken with one gather over flattened positions."""
    n, _, _, c = x.shape
    x, out_h, out_w = _pad_same(x, k, stride, 0.0)
    width = x.shape[2]
    rows = np.arange(out_h)[:, None, None, None] * stride + np.arange(k)[None, None, :, None]
    cols = np.arange(out_w)[None, :, None, None] * stride + np.arange(k)[None, None, None, :]
    index = (rows * width + cols).reshape(-1)
    patches = take_rows(x.reshape(n, -1, c), index)
    return patches.reshape(n, out_h, out_w, k * k * c)


def _inverse_index(index: np.ndarray, size: int) -> np.ndarray:
    """``(size, J)``: for each source row, the positions of ``index`` that read it, padded with
    ``len(index)`` (J: the most reads of one row)."""
    order = np.argsort(index, kind="stable")
    counts = np.bincount(index, minlength=size)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(len(index)) - np.repeat(starts, counts)
    inverse = np.full((size, max(1, int(counts.max()))), len(index), np.int64)
    inverse[index[order], rank] = order
    return inverse


def take_rows(x: jax.Array, index: np.ndarray) -> jax.Array:
    """``x[:, index, :]`` for a static ``index``, differentiated by a gather-and-sum (each
    source row sums the rows of the cotangent that read it) instead of XLA's scatter-add."""
    inverse = _inverse_index(index, x.shape[1])

    @jax.custom_vjp
    def take(x: jax.Array) -> jax.Array:
        return x[:, index, :]

    def forward(x: jax.Array) -> tuple[jax.Array, None]:
        return take(x), None

    def backward(_: None, g: jax.Array) -> tuple[jax.Array]:
        g = jnp.pad(g, ((0, 0), (0, 1), (0, 0)))
        return (g[:, inverse, :].sum(axis=2),)

    take.defvjp(forward, backward)
    return take(x)


def max_pool(x: jax.Array, size: int, stride: int, *, impl: str = "auto") -> jax.Array:
    """SAME max pooling of an NHWC batch (square window and stride; padding never wins).

    Args:
        x: Input ``(N, H, W, C)``.
        size: Window size.
        stride: Stride along both spatial axes.
        impl: ``"slices"`` (maximum of strided views), ``"xla"`` (``lax.reduce_window``) or
            ``"auto"`` (slices on a CPU).

    Raises:
        ValueError: On an unknown ``impl``.

    Example:
        >>> import numpy as np
        >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
        >>> max_pool(x, 3, 3, impl="slices")[0, :, :, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """
    _check_impl(impl, POOL_IMPLS, "pool")
    if impl == "xla" or (impl == "auto" and jax.default_backend() != "cpu"):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, size, size, 1),
                                     (1, stride, stride, 1), "SAME")
    if size == stride:  # windows tile the padded input: one reshape, one reduction
        x, out_h, out_w = _pad_same(x, size, stride, -math.inf)
        n, _, _, c = x.shape
        return x.reshape(n, out_h, size, out_w, size, c).max(axis=(2, 4))
    views = _windows(x, size, stride, -math.inf)
    out = views[0]
    for view in views[1:]:
        out = jnp.maximum(out, view)
    return out
