"""Issue 17, validation where the mistake is made: layers, spaces, training settings, limits.

Each test reproduces a finding: on the code before the fix the bad value was accepted (and every
design scored -1 later, or the value was silently changed).
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from cnn_design_env.space import SearchSpace, analyze, get_space, list_spaces
from cnn_design_env.space import layers as L
from cnn_design_env.space.analysis import extreme_hyperparameters
from cnn_design_env.space.checks import ACTIVATION_NAMES, LOSS_NAMES, OPTIMIZER_NAMES

CONV = {"kernels": (4, 8)}


def chain(*middle, training=None, input_shape=(8, 8, 1), **kwargs) -> SearchSpace:
    layers = (L.input_layer(), *middle, L.flatten("f", middle[-1].name), L.output("output", "f"))
    return SearchSpace("s", layers, input_shape, 10, training=training or {}, **kwargs)


@pytest.mark.parametrize("build, match", [
    (lambda: L.conv("c", "input", kernels=4, activation="rleu", tune=CONV),
     r"layer 'c' \(conv\): unknown activation 'rleu' \(did you mean 'relu'\?\); expected one of"),
    (lambda: L.conv("c", "input", kernels=4, tune={"activation": ("relu", "nope")}),
     r"unknown a choice of activation 'nope'"),
    (lambda: L.dropout("d", "c", rate=1.5), r"rate must be a finite number in \[0, 1\), got 1.5"),
    (lambda: L.dropout("d", "c", rate=float("nan")), r"rate must be a finite number"),
    (lambda: L.dense("d", "f", units=0, tune={"units": (4,)}),
     r"layer 'd' \(dense\): units must be a positive integer, got 0"),
    (lambda: L.conv("c", "input", kernels=4, tune={"kernels": (8, 2.5)}),
     r"a choice of kernels must be a positive integer, got 2.5"),
    (lambda: L.conv("c", "input", kernels=True, tune=CONV), r"kernels must be a positive integer"),
    (lambda: L.pool("p", "c", pool_size=-2, tune={"stride": (1, None)}),
     r"pool_size must be a positive integer, got -2"),
    (lambda: L.train("t", tune={"learning_rate": (0.1, -1)}),
     r"layer 't' \(train\): a choice of learning_rate must be a finite number in \(0, inf\), "
     r"got -1"),
    (lambda: L.train("t", tune={"optimizer": ("sgd", "adamw")}),
     r"unknown a choice of optimizer 'adamw' \(did you mean 'adam'\?\)"),
    (lambda: L.train("t", tune={"batch_size": (32, 0)}), r"batch_size must be a positive integer"),
    (lambda: L.train("t", tune={"momentum": (0.9, 2.0)}), r"momentum must be a finite number in "
                                                          r"\[0, 1\], got 2.0"),
])
def test_bad_layer_values_are_refused_at_construction(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_a_string_is_not_a_choice_set():
    # was: tune={"activation": "relu"} became four actions 'r', 'e', 'l', 'u'
    with pytest.raises(ValueError, match=r"the choice set of 'activation' must be a tuple or list "
                                         r"of values, got 'relu'; write \('relu',\)"):
        L.conv("c", "input", kernels=4, tune={"activation": "relu"})
    with pytest.raises(ValueError, match="must be a tuple or list"):
        L.conv("c", "input", kernels=4, tune={"kernels": {4, 8}})  # a set has no order
    with pytest.raises(ValueError, match="must be a tuple or list"):
        L.conv("c", "input", kernels=4, tune={"kernels": 8})
    layer = L.conv("c", "input", kernels=4, tune={"kernels": np.array([4, 8])})
    assert layer.choices["kernels"] == (4, 8) and type(layer.choices["kernels"][0]) is int


def test_training_settings_are_checked_and_a_misspelt_key_is_named():
    # was: training={"optimiser": "adam"} was ignored (SGD trained)
    with pytest.raises(ValueError, match=r"space 's': unknown training setting 'optimiser' "
                                         r"\(did you mean 'optimizer'\?\)"):
        chain(L.conv("c", "input", kernels=4, tune=CONV), training={"optimiser": "adam"})
    for settings, match in [({"optimizer": "adamw"}, "unknown training optimizer 'adamw'"),
                            ({"loss": "mse"}, "unknown training loss 'mse'"),
                            ({"activation": "rleu"}, "unknown training activation 'rleu'"),
                            ({"learning_rate": -1}, r"training learning_rate must be a finite "
                                                    r"number in \(0, inf\), got -1"),
                            ({"learning_rate": float("inf")}, "learning_rate must be a finite"),
                            ({"batch_size": 0}, "training batch_size must be a positive integer"),
                            ({"weight_decay": -0.1}, r"weight_decay must be a finite number in "
                                                     r"\[0, inf\)")]:
        with pytest.raises(ValueError, match=match):
            chain(L.conv("c", "input", kernels=4, tune=CONV), training=settings)


def test_space_numbers_must_be_integers():
    conv = L.conv("c", "input", kernels=4, tune=CONV)
    # was: num_classes=2.7 was stored as 2.7
    with pytest.raises(ValueError, match=r"num_classes must be a positive integer, got 2\.7"):
        SearchSpace("s", (L.input_layer(), conv, L.flatten("f", "c"), L.output("output", "f")),
                    (8, 8, 1), 2.7)
    with pytest.raises(ValueError, match="num_classes >= 2, got 1"):
        SearchSpace("s", (L.input_layer(), conv, L.flatten("f", "c"), L.output("output", "f")),
                    (8, 8, 1), 1)
    with pytest.raises(ValueError, match=r"input_shape entry must be a positive integer, got 8\.5"):
        SearchSpace("s", (L.input_layer(), conv, L.flatten("f", "c"), L.output("output", "f")),
                    (8.5, 8, 1), 10)
    with pytest.raises(ValueError, match="input_shape must be"):
        SearchSpace("s", (L.input_layer(), conv, L.flatten("f", "c"), L.output("output", "f")),
                    "881", 10)
    space = SearchSpace("s", (L.input_layer(), conv, L.flatten("f", "c"),
                              L.output("output", "f")), np.array([8, 8, 1]), np.int64(10))
    assert space.input_shape == (8, 8, 1) and type(space.num_classes) is int


def test_a_dense_layer_on_a_feature_map_is_refused_by_the_space():
    # was: the space built, and every design scored -1 with a log line
    with pytest.raises(ValueError, match="dense layer 'd' needs a flat input, got shape"):
        SearchSpace("s", (L.input_layer(), L.dense("d", "input", units=4, tune={"units": (4, 8)}),
                          L.output("output", "d")), (8, 8, 1), 10)


def test_parameter_limit_names_the_estimate():
    # was: kernels=100000 trained a 205-million-parameter net
    huge = L.conv("c", "input", kernels=100_000, tune={"kernel_size": (3, 5)})
    with pytest.raises(ValueError, match=r"space 's': even its smallest design has "
                                         r"257,000,010 parameters \(1,028.0 MB of float32\), above "
                                         r"the limit max_params=100,000,000; layer 'output' alone "
                                         r"has 256,000,010"):
        chain(huge, input_shape=(16, 16, 1))
    assert chain(huge, input_shape=(16, 16, 1), max_params=None).max_params is None
    flops = L.conv("c", "input", kernels=64, kernel_size=99, tune={"kernels": (64,)})
    with pytest.raises(ValueError, match=r"80,371,712 FLOPs per image, above the limit "
                                         r"max_flops=1,000"):
        chain(flops, max_flops=1_000)


def test_designs_above_the_limit_are_refused_when_analysed(caplog):
    conv = L.conv("c", "input", kernels=4, tune={"kernels": (4, 5_000)})
    with caplog.at_level(logging.WARNING, logger="cnn_design_env.space.analysis"):
        space = chain(conv, max_params=100_000)
    big = analyze(space, hparams=space.hyperparameters((1,))).params
    assert f"its largest design has {big:,} parameters" in caplog.text
    assert analyze(space, space.validate((0,))).params == 2_610
    with pytest.raises(ValueError, match=rf"design \(1,\) has {big:,} parameters"):
        analyze(space, space.validate((1,)))


def test_extreme_hyperparameters_bound_every_design_of_the_small_presets():
    rng = np.random.default_rng(0)
    for name in ("vgg_mini", "inception_mini", "unet_mini", "table_chain"):
        space = get_space(name)
        hi = analyze(space, hparams=extreme_hyperparameters(space))
        lo = analyze(space, hparams=extreme_hyperparameters(space, largest=False))
        for _ in range(30):
            a = analyze(space, space.sample(rng))
            assert lo.params <= a.params <= hi.params and lo.flops <= a.flops <= hi.flops


def test_every_preset_still_builds_and_no_preset_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="cnn_design_env.space.analysis"):
        for name in list_spaces():
            get_space(name)
    assert caplog.text == ""


def test_the_names_match_the_trainer():
    from cnn_design_env.train.loop import LOSSES, OPTIMIZERS
    from cnn_design_env.train.model import ACTIVATIONS

    assert set(ACTIVATION_NAMES) == set(ACTIVATIONS)
    assert set(OPTIMIZER_NAMES) == set(OPTIMIZERS) and set(LOSS_NAMES) == set(LOSSES)


def test_action_sets_are_lazy():
    # a layer with 4 million actions costs no memory until its actions are read
    layer = L.conv("c", "input", kernels=4, tune={"kernels": tuple(range(1, 2001)),
                                                   "kernel_size": tuple(range(1, 2001))})
    assert layer.num_actions == 4_000_000
    assert layer.action_values(3_999_999) == {"kernels": 2000, "kernel_size": 2000}
    assert dict(layer.actions[2001]) == {"kernels": 2, "kernel_size": 2}
    small = L.conv("c", "input", kernels=4, tune={"kernels": (4, 8), "stride": (1, 2)})
    assert [dict(a) for a in small.actions] == [
        {"kernels": 4, "stride": 1}, {"kernels": 4, "stride": 2},
        {"kernels": 8, "stride": 1}, {"kernels": 8, "stride": 2}]
    assert small.actions[-1] == small.actions[3]
    with pytest.raises(ValueError, match=r"action True out of range"):
        small.action_values(True)
