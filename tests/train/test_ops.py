"""The CPU-fast convolution and pooling equal XLA's (values and gradients)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cnn_design_env.train import ops
from cnn_design_env.train.ops import conv2d, conv_impl, max_pool, same_padding

CASES = [  # (height, width, channels, kernel, stride)
    (8, 8, 3, 3, 1), (8, 8, 2, 3, 2), (7, 5, 4, 5, 2), (6, 6, 3, 1, 1), (9, 9, 2, 1, 2),
    (5, 5, 2, 5, 3), (4, 4, 3, 2, 2),
]


@pytest.mark.parametrize("impl", ["gather", "slices"])
@pytest.mark.parametrize(("h", "w", "c", "k", "s"), CASES)
def test_conv_patches_equal_xla_conv_and_gradients(h, w, c, k, s, impl):
    rng = np.random.default_rng(h * 100 + k * 10 + s)
    x = rng.standard_normal((2, h, w, c), dtype=np.float32)
    kernel = rng.standard_normal((k, k, c, 4), dtype=np.float32)

    def loss(impl):
        return lambda x, kernel: jnp.sum(jnp.sin(conv2d(x, kernel, s, impl=impl)))

    y_fast, y_xla = (conv2d(x, kernel, s, impl=i) for i in (impl, "xla"))
    assert y_fast.shape == y_xla.shape == (2, -(-h // s), -(-w // s), 4)
    np.testing.assert_allclose(y_fast, y_xla, rtol=1e-4, atol=1e-4)
    g_fast = jax.grad(loss(impl), argnums=(0, 1))(x, kernel)
    g_xla = jax.grad(loss("xla"), argnums=(0, 1))(x, kernel)
    for a, b in zip(g_fast, g_xla, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize(("h", "w", "size", "stride"),
                         [(8, 8, 2, 2), (8, 8, 3, 3), (7, 9, 2, 2), (8, 8, 3, 1), (9, 7, 3, 2)])
def test_max_pool_views_equal_reduce_window_and_gradients(h, w, size, stride):
    rng = np.random.default_rng(size * 10 + stride)
    x = rng.standard_normal((2, h, w, 3), dtype=np.float32)  # continuous: no ties
    fast, xla = (max_pool(x, size, stride, impl=i) for i in ("slices", "xla"))
    np.testing.assert_array_equal(fast, xla)

    def loss(impl):
        return lambda x: jnp.sum(jnp.sin(max_pool(x, size, stride, impl=impl)))

    np.testing.assert_allclose(jax.grad(loss("slices"))(x), jax.grad(loss("xla"))(x),
                               rtol=1e-6, atol=1e-6)


def test_same_padding_matches_the_xla_convention():
    assert same_padding(8, 2, 2) == (4, 0, 0)
    assert same_padding(8, 3, 3) == (3, 0, 1)
    assert same_padding(7, 3, 1) == (7, 1, 1)


def test_unknown_impl_is_rejected_with_the_choices():
    x = np.zeros((1, 4, 4, 1), np.float32)
    with pytest.raises(ValueError, match=r"'fast'.*auto"):
        conv2d(x, np.zeros((3, 3, 1, 1), np.float32), 1, impl="fast")
    with pytest.raises(ValueError, match="'fast'"):
        max_pool(x, 2, 2, impl="fast")


def test_auto_picks_by_image_and_patch_size_on_a_cpu():
    if jax.default_backend() != "cpu":
        pytest.skip("auto uses XLA's conv off the CPU")
    assert conv_impl((32, 8, 8, 16), 3, 1) == "xla"  # small image, kernel inside it
    assert conv_impl((32, 8, 8, 16), 5, 2) == "gather"  # a 5x5 kernel strides: 800 KB
    assert conv_impl((32, 4, 4, 16), 5, 1) == "gather"  # the kernel covers the image
    assert conv_impl((32, 8, 8, 1), 3, 1) == "gather"  # one input channel
    assert conv_impl((32, 16, 16, 32), 3, 1) == "slices"  # 4.5 MB of patches
    assert conv_impl((64, 32, 32, 64), 3, 1) == "slices"  # 151 MB of patches
    assert conv_impl((64, 224, 224, 64), 3, 1) == "xla"  # past PATCH_MAX_BYTES
    assert ops.GATHER_MAX_BYTES < ops.PATCH_MAX_BYTES
