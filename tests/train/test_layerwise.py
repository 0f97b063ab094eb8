"""Layer-wise compilation: same training as the whole-network step, programs shared by designs."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from cnn_design_env.space import SearchSpace, get_space
from cnn_design_env.space import layers as L
from cnn_design_env.train import layerwise, loop
from cnn_design_env.train.model import build_network


def branchy_space() -> SearchSpace:
    """conv -> [conv(stride 2) -> bn -> dropout] + skip (1x1 projection), concat, pool, dense."""
    layers = (
        L.input_layer(),
        L.conv("c1", "input", kernels=4, tune={"kernels": (4,)}),
        L.conv("c2", "c1", kernels=8, stride=2, tune={"stride": (1, 2)}),
        L.batchnorm("bn", "c2"),
        L.dropout("drop", "bn", rate=0.3),
        L.add("sum", ["c1", "drop"]),
        L.concat("cat", ["sum", "c1"]),
        L.pool("pool", "cat"),
        L.flatten("flat", "pool"),
        L.dense("fc", "flat", units=16),
        L.output("output", "fc"),
    )
    return SearchSpace("branchy", layers, (6, 6, 2), 3)


def run(steps: loop.Steps, net, tx, x, y, n: int) -> tuple[list[float], np.ndarray]:
    params, state = jax.device_put(net.init(np.random.default_rng(0)))
    carry = loop.TrainCarry(params, state, steps.init_optimizer(tx, params))
    key = loop.dropout_key(0)
    losses = []
    for i in range(n):
        b = slice(8 * (i % 2), 8 * (i % 2) + 8)
        carry.params, carry.state, carry.opt_state, loss = steps.train(
            carry.params, carry.state, carry.opt_state, x[b], y[b], key, np.int32(i))
        losses.append(float(loss))
    stats = np.asarray(steps.evaluate(carry.params, carry.state, x[:8], y[:8],
                                      np.ones(8, np.float32)))
    return losses, stats


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_layer_steps_follow_the_network_steps(optimizer: str) -> None:
    space = branchy_space()
    net = build_network(space, None)  # c2 has stride 2: the add resizes and projects
    rng = np.random.default_rng(1)
    x = rng.random((16, 6, 6, 2), dtype=np.float32)
    y = rng.integers(0, 3, 16).astype(np.int32)
    tx = loop.make_optimizer(optimizer, learning_rate=0.05, weight_decay=1e-3)
    curves = {}
    for mode in ("network", "layer"):
        steps = loop.compile_steps(net, tx, loop.cross_entropy, batch_size=8, compile=mode)
        curves[mode] = run(steps, net, tx, x, y, 8)
    np.testing.assert_allclose(curves["layer"][0], curves["network"][0], rtol=1e-4, atol=1e-5)
    assert curves["layer"][0][-1] < curves["layer"][0][0]
    np.testing.assert_array_equal(curves["layer"][1], curves["network"][1])


def vgg_mini_design(space: SearchSpace, **changes):
    values = {a: dict(space.by_name[a].params) for a in space.agents}
    for agent, hp in changes.items():
        values[agent].update(hp)
    return space.design_from_hyperparameters(values)


def test_a_design_of_seen_layer_configurations_compiles_nothing() -> None:
    space = get_space("vgg_mini")
    cache = layerwise.LayerCache()
    tx = loop.make_optimizer("sgd", learning_rate=0.05)
    a = vgg_mini_design(space, conv2={"kernels": 8})
    first = layerwise.layer_steps(build_network(space, a), tx, loop.cross_entropy, batch_size=4,
                                  tx_key="sgd", cache=cache)
    assert first[3] > 0 and cache.misses > 0
    misses = cache.misses
    # same layers again, other optimiser object of the same structure: nothing compiles
    again = layerwise.layer_steps(build_network(space, a), loop.make_optimizer(
        "sgd", learning_rate=0.1), loop.cross_entropy, batch_size=4, tx_key="sgd", cache=cache)
    assert again[3] == 0.0 and cache.misses == misses
    # only conv2 changes: programs of the other layers are reused
    b = vgg_mini_design(space, conv2={"kernels": 32})
    layerwise.layer_steps(build_network(space, b), tx, loop.cross_entropy, batch_size=4,
                          tx_key="sgd", cache=cache)
    new = cache.misses - misses
    # forward and backward of conv2, pool1 (new input) and conv3 (new input) and the
    # optimiser init of conv2 and conv3 (new weight shapes); conv1, pool2, fc1, output reused
    assert new == 3 * 2 + 2, new


def test_compile_modes() -> None:
    net = build_network(get_space("vgg_mini"))
    assert loop.resolve_compile("network", net, 32) == "network"
    expected = "layer" if jax.default_backend() == "cpu" else "network"
    assert loop.resolve_compile("auto", net, 32) == expected
    assert loop.resolve_compile("auto", build_network(get_space("vgg16")), 128) == "network"
    with pytest.raises(ValueError, match="unknown compile mode 'fast'"):
        loop.resolve_compile("fast", net, 32)


def test_the_evaluator_trains_the_same_in_both_modes(tmp_path) -> None:
    from cnn_design_env.evaluators.training import TrainingEvaluator
    from cnn_design_env.train.data import load_digits

    data = load_digits(seed=0)
    curves = {}
    for mode in ("network", "layer"):
        evaluator = TrainingEvaluator(get_space("vgg_mini"), data, epochs=2,
                                      subsample_per_class=8, cache_dir=tmp_path, compile=mode,
                                      form="exact")
        metrics = evaluator.evaluate(evaluator.space.sample(np.random.default_rng(2)), seed=0)
        assert not metrics.terminated, metrics.reason
        assert metrics.extra["compile_mode"] == mode and metrics.train_ms_per_batch > 0
        curves[mode] = metrics.loss_curve
    np.testing.assert_allclose(curves["layer"], curves["network"], rtol=1e-4)
    with pytest.raises(ValueError, match="unknown compile mode"):
        TrainingEvaluator(get_space("vgg_mini"), data, persistent_cache=False, compile="x")
