"""SearchSpace validation and design handling on custom spaces."""

from __future__ import annotations

import pytest

from cnn_design_env.space import Design, Layer, SearchSpace
from cnn_design_env.space import layers as L

CONV = {"kernels": (4, 8), "kernel_size": (3, 5)}


def chain(*extra: Layer) -> tuple[Layer, ...]:
    return (L.input_layer(), L.conv("c1", "input", kernels=4, tune=CONV),
            L.conv("c2", "c1", kernels=4, tune=CONV), L.flatten("flat", "c2"),
            L.output("output", "flat"), *extra)


def make(layers, **kw) -> SearchSpace:
    return SearchSpace("custom", layers, (8, 8, 1), 10, **kw)


def test_chain_agents_actions_and_values():
    space = make(chain())
    assert space.agents == ("c1", "c2")
    assert space.action_sizes == (4, 4)
    assert space.agent_edges == (("c1", "c2"),)
    assert space.by_name["c1"].action_values(1) == {"kernels": 4, "kernel_size": 5}
    assert space.hyperparameters(Design((3, 0)))["c1"]["kernels"] == 8


def test_train_agents_follow_layer_agents():
    lr = L.train("lr", tune={"learning_rate": (0.1, 0.01)})
    space = make(chain(lr))
    assert space.agents == ("c1", "c2", "lr")
    assert space.predecessors("lr") == ("c2",)
    assert space.training_settings(Design((0, 0, 1)))["learning_rate"] == 0.01


def test_cycle_is_rejected():
    layers = (L.input_layer(), L.conv("a", "b", kernels=4, tune=CONV),
              L.conv("b", "a", kernels=4), L.flatten("f", "b"), L.output("output", "f"))
    with pytest.raises(ValueError, match="cycle"):
        make(layers)


def test_dangling_layer_is_rejected():
    with pytest.raises(ValueError, match=r"dangling layers \['lost'\]"):
        make(chain(L.conv("lost", "c1", kernels=4)))


def test_unknown_input_is_rejected():
    with pytest.raises(ValueError, match="unknown layer 'nope'"):
        make(chain(L.conv("x", "nope", kernels=4)))


def test_empty_choice_set_is_rejected():
    with pytest.raises(ValueError, match="empty choice set for 'kernels'"):
        L.conv("c", "input", kernels=4, tune={"kernels": ()})


def test_unknown_kind_and_hyperparameter_are_rejected():
    with pytest.raises(ValueError, match="unknown layer kind 'convolution'"):
        Layer("c", "convolution", ("input",))
    with pytest.raises(ValueError, match="unknown hyperparameter 'units'"):
        Layer("c", "conv", ("input",), {"units": 3})


def test_merge_arity_and_single_output():
    with pytest.raises(ValueError, match="at least 2 inputs"):
        make(chain(L.concat("cat", ["c1"])))
    with pytest.raises(ValueError, match="exactly one 'output'"):
        make(chain(L.output("output2", "c2")))


def test_no_tunable_layer_is_rejected():
    layers = (L.input_layer(), L.flatten("f", "input"), L.output("output", "f"))
    with pytest.raises(ValueError, match="no tunable layer"):
        make(layers)


def test_design_validation_errors():
    space = make(chain())
    with pytest.raises(ValueError, match="design has 3 actions but space 'custom' has 2"):
        space.validate((0, 0, 0))
    with pytest.raises(ValueError, match=r"action 7 of agent 'c2' is out of range"):
        space.validate((0, 7))


def test_dense_needs_flat_input():
    layers = (L.input_layer(), L.dense("d", "input", units=4, tune={"units": (4, 8)}),
              L.output("output", "d"))
    from cnn_design_env.space import analyze

    with pytest.raises(ValueError, match="dense layer 'd' needs a flat input"):
        analyze(make(layers))


def test_root_branches_get_chained_edges():
    layers = (L.input_layer(), L.conv("a", "input", kernels=4, tune=CONV),
              L.conv("b", "input", kernels=4, tune=CONV), L.concat("cat", ["a", "b"]),
              L.flatten("f", "cat"), L.output("output", "f"))
    space = make(layers)
    assert space.agent_edges == (("a", "b"),)
