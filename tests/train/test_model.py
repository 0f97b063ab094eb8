"""The network builder follows the analysis conventions exactly (shapes, params, merges)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cnn_design_env.space import SearchSpace, analyze, get_space
from cnn_design_env.space import layers as L
from cnn_design_env.train import loop
from cnn_design_env.train.model import build_network, nearest_indices, resize_nearest

SMALL = ["vgg_mini", "inception_mini", "unet_mini"]


def forward_shape(net, batch: int = 2) -> tuple[int, ...]:
    params, state = net.abstract()
    x = jax.ShapeDtypeStruct((batch, *net.space.input_shape), jnp.float32)
    out, _ = jax.eval_shape(
        lambda p, s, x: net.apply(p, s, x, train=True, key=loop.dropout_key(0)), params, state, x)
    return out.shape


@pytest.mark.parametrize("name", SMALL)
def test_real_params_equal_analytic_params_for_random_small_designs(name: str) -> None:
    space = get_space(name)
    rng = np.random.default_rng(7)
    for _ in range(8):
        design = space.sample(rng)
        net = build_network(space, design)
        params, state = net.init(rng)
        leaves = jax.tree_util.tree_leaves((params, state))
        assert all(a.dtype == np.float32 for a in leaves)
        assert sum(a.size for a in leaves) == analyze(space, design).params
        assert net.count(*net.abstract()) == net.analysis.params


def test_every_preset_builds_with_the_analysed_output_shape(preset_name: str) -> None:
    space = get_space(preset_name)
    rng = np.random.default_rng(0)
    for design in (None, space.sample(rng)):
        net = build_network(space, design)
        assert net.count(*net.abstract()) == net.analysis.params
        assert forward_shape(net) == (2, *net.analysis.output_shape)


@pytest.mark.parametrize("name", SMALL)
def test_apply_runs_and_every_layer_has_its_analysed_shape(name: str) -> None:
    space = get_space(name)
    design = space.sample(np.random.default_rng(3))
    net = build_network(space, design)
    params, state = net.init(np.random.default_rng(0))
    x = np.random.default_rng(1).random((3, *space.input_shape), dtype=np.float32)
    logits, new_state = jax.jit(lambda p, s, x: net.apply(p, s, x, train=False))(params, state, x)
    assert logits.shape == (3, *net.analysis.output_shape)
    assert np.isfinite(np.asarray(logits)).all()
    assert jax.tree_util.tree_structure(new_state) == jax.tree_util.tree_structure(state)


def residual_space(**training) -> SearchSpace:
    """conv(4) -> [conv(8, stride s) -> bn -> dropout] + skip, with a 1x1 projection."""
    layers = (
        L.input_layer(),
        L.conv("c1", "input", kernels=4, tune={"kernels": (4,)}),
        L.conv("c2", "c1", kernels=8, stride=2, tune={"stride": (1, 2)}),
        L.batchnorm("bn", "c2"),
        L.dropout("drop", "bn", rate=0.5),
        L.add("sum", ["c1", "drop"]),
        L.activation("act", "sum", fn="tanh"),
        L.upconv("up", "act", kernels=3, kernel_size=3, stride=2),
        L.global_pool("gap", "up"),
        L.output("output", "gap"),
    )
    return SearchSpace("residual", layers, (6, 6, 2), 5, training=training)


def test_add_projects_and_resizes_batchnorm_and_dropout_follow_train_mode() -> None:
    space = residual_space()
    design = space.design_from_hyperparameters({"c1": {"kernels": 4}, "c2": {"stride": 2}})
    net = build_network(space, design)
    info = net.analysis["sum"]
    assert info.projected == (1,) and info.input_shapes == ((6, 6, 4), (3, 3, 8))
    assert net.analysis["up"].output_shape == (12, 12, 3)
    params, state = net.init(np.random.default_rng(0))
    assert set(params["sum"]) == {"proj1_w", "proj1_b"}
    assert net.count(params, state) == net.analysis.params
    assert net.has_dropout
    x = np.random.default_rng(1).random((4, 6, 6, 2), dtype=np.float32)
    train = jax.jit(lambda p, s, x, k: net.apply(p, s, x, train=True, key=k))
    key = loop.dropout_key(0)
    a, new_state = train(params, state, x, key)
    b, _ = train(params, state, x, key)
    c, _ = train(params, state, x, loop.dropout_key(1))
    np.testing.assert_array_equal(a, b)  # dropout mask comes from the key
    assert not np.allclose(a, c)
    # batch-norm running averages move in training mode, not in evaluation mode
    assert not np.allclose(new_state["bn"]["mean"], state["bn"]["mean"])
    evaluate = jax.jit(lambda p, s, x: net.apply(p, s, x, train=False))
    e1, s1 = evaluate(params, state, x)
    e2, _ = evaluate(params, state, x)
    np.testing.assert_array_equal(e1, e2)
    jax.tree_util.tree_map(np.testing.assert_array_equal, s1, state)
    with pytest.raises(ValueError, match="random key"):
        net.apply(params, state, x, train=True)


def test_signature_is_equal_for_equal_architectures_only() -> None:
    space = get_space("vgg_mini")
    rng = np.random.default_rng(0)
    a, b = space.sample(rng), space.sample(rng)
    assert build_network(space, a).signature == build_network(space, a).signature
    assert build_network(space, a).signature != build_network(space, b).signature
    hash(build_network(space, a).signature)


def test_nearest_resize_matches_half_pixel_nearest_neighbour() -> None:
    x = jnp.arange(2 * 3 * 3 * 1, dtype=jnp.float32).reshape(2, 3, 3, 1)
    up = resize_nearest(x, 6, 6)
    np.testing.assert_array_equal(up[:, ::2, ::2], x)
    np.testing.assert_array_equal(up[:, 1::2, 1::2], x)
    odd = resize_nearest(x, 2, 4)
    rows, cols = nearest_indices(3, 2), nearest_indices(3, 4)
    np.testing.assert_array_equal(odd, np.asarray(x)[:, rows][:, :, cols])
    np.testing.assert_array_equal(
        odd, jax.image.resize(x, (2, 2, 4, 1), "nearest"))


def test_same_seed_same_init_and_unknown_activation_is_rejected() -> None:
    space = get_space("vgg_mini")
    net = build_network(space, space.sample(np.random.default_rng(0)))
    p1, _ = net.init(np.random.default_rng(5))
    p2, _ = net.init(np.random.default_rng(5))
    jax.tree_util.tree_map(np.testing.assert_array_equal, p1, p2)
    with pytest.raises(ValueError, match="unknown activation 'nope'"):  # when the space is built
        SearchSpace("bad", (L.input_layer(), L.conv("c", "input", kernels=4, activation="nope",
                                                    tune={"kernels": (4, 8)}),
                            L.flatten("f", "c"), L.output("output", "f")), (4, 4, 1), 2)


def test_network_as_an_nnx_module_matches_the_functional_network() -> None:
    from flax import nnx

    from cnn_design_env.train.nnx_module import to_nnx

    space = residual_space()
    net = build_network(space, None)
    params, state = net.init(np.random.default_rng(0))
    module = to_nnx(net, params, state)
    assert sum(v.size for v in jax.tree_util.tree_leaves(nnx.state(module))) == \
        net.analysis.params
    _, trainable, _ = nnx.split(module, nnx.Param, ...)
    assert sum(v.size for v in jax.tree_util.tree_leaves(trainable)) == \
        net.analysis.params - 2 * 8  # batch-norm mean and var are not trainable
    x = np.random.default_rng(1).random((4, 6, 6, 2), dtype=np.float32)
    call = nnx.jit(lambda m, x, key: (m(x), m(x, train=True, key=key)))
    logits, _ = call(module, x, loop.dropout_key(0))
    expected = jax.jit(lambda p, s, x: net.apply(p, s, x, train=False)[0])(params, state, x)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(module.batch_stats["bn"]["mean"][...], state["bn"]["mean"])


def test_batchnorm_running_averages_converge_to_the_batch_statistics() -> None:
    layers = (L.input_layer(), L.conv("c", "input", kernels=3, tune={"kernels": (3,)}),
              L.batchnorm("bn", "c"), L.flatten("f", "bn"), L.output("output", "f"))
    space = SearchSpace("bn", layers, (4, 4, 2), 3)
    net = build_network(space, None)
    params, state = net.init(np.random.default_rng(0))
    x = np.random.default_rng(1).normal(3.0, 2.0, (8, 4, 4, 2)).astype(np.float32)
    train = jax.jit(lambda p, s, x: net.apply(p, s, x, train=True))
    for _ in range(80):  # momentum 0.9: 0.9**80 ~ 2e-4 of the initial values remain
        logits, state = train(params, state, x)
    evaluated, _ = jax.jit(lambda p, s, x: net.apply(p, s, x, train=False))(params, state, x)
    np.testing.assert_allclose(evaluated, logits, rtol=1e-3, atol=1e-3)
