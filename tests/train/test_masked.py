"""The masked form trains exactly like the exact network on every small preset."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from cnn_design_env.evaluators.training import TrainingEvaluator
from cnn_design_env.space import Design, SearchSpace, analyze, get_space
from cnn_design_env.space import layers as L
from cnn_design_env.train.data import load_digits, make_shapes
from cnn_design_env.train.masked import (
    MaskingError,
    embedding,
    envelope,
    masked_params,
    tap_offset,
)
from cnn_design_env.train.model import build_network
from cnn_design_env.train.settings import TrainerSettings

PRESETS = {"vgg_mini": "digits", "inception_mini": "digits", "unet_mini": "shapes",
           "table_chain": "digits", "table_inception": "digits"}


@pytest.fixture(scope="module")
def datasets():
    return {"digits": load_digits(seed=0).subsample(8, seed=0),
            "shapes": make_shapes(n=48, seed=0)}


def smallest(space: SearchSpace) -> Design:
    """Action 0 everywhere: the smallest widths and kernels (unet_mini: 2x2 up-convs)."""
    return Design((0,) * space.num_agents)


def designs(space: SearchSpace) -> list[Design]:
    return [smallest(space), space.sample(np.random.default_rng(7))]


@pytest.mark.parametrize("name", list(PRESETS))
def test_embedded_design_computes_the_same_function(name):
    space = get_space(name)
    rng = np.random.default_rng(0)
    extra = 0 if name == "unet_mini" else 3  # CI time: unet_mini compiles slowest
    for design in [*designs(space), *(space.sample(rng) for _ in range(extra))]:
        emb = embedding(space, design)
        net = build_network(space, design)
        params, state = net.init(np.random.default_rng(1))
        big_p, big_s = emb.embed(params, state)
        x = np.random.default_rng(2).random((3, *space.input_shape), dtype=np.float32)
        exact, _ = jax.jit(lambda p, s, x: net.apply(  # noqa: B023
            p, s, x, train=True))(params, state, x)
        masked, _ = jax.jit(lambda p, s, m, x: emb.envelope.apply(  # noqa: B023
            masked_params(p, m), s, x, train=True))(big_p, big_s, emb.masks, x)
        np.testing.assert_allclose(masked, exact, rtol=1e-5, atol=1e-5)
        back_p, _ = emb.extract(big_p, big_s)
        assert net.count(back_p, {}) == net.count(params, {})
        assert emb.envelope.signature == envelope(space, design).signature
        mask_count = sum(int(m.sum()) for layer in emb.masks.values() for m in layer.values())
        assert mask_count == net.count(params, {})  # the masks keep the design's values


@pytest.mark.parametrize("name", list(PRESETS))
def test_masked_training_equals_exact_training(name, datasets, tmp_path):
    space = get_space(name)
    data = datasets[PRESETS[name]]
    forms = {form: TrainingEvaluator(space, data, epochs=2, cache_dir=tmp_path, form=form)
             for form in ("exact", "masked")}
    cases = designs(space)[:1] if name == "unet_mini" else designs(space)  # CI time
    for i, design in enumerate(cases):
        exact = forms["exact"].evaluate(design, seed=i)
        masked = forms["masked"].evaluate(design, seed=i)
        assert exact.extra["form"] == "exact" and masked.extra["form"] == "masked"
        assert not exact.terminated and not masked.terminated, (exact.reason, masked.reason)
        np.testing.assert_allclose(masked.loss_curve, exact.loss_curve, rtol=2e-5)
        np.testing.assert_allclose(masked.accuracy_curve, exact.accuracy_curve, atol=1e-6)
        analysis = analyze(space, design)
        assert (masked.params, masked.flops) == (analysis.params, analysis.flops)


def test_all_designs_of_a_signature_share_one_program(datasets, tmp_path):
    space = get_space("vgg_mini")
    settings = TrainerSettings(cache_dir=tmp_path, form="masked", masked_compile="network")
    evaluator = TrainingEvaluator(space, datasets["digits"], epochs=1, settings=settings)
    base = smallest(space)
    # conv1 16 kernels instead of 8, conv2 a 5x5 kernel instead of 3x3 (same strides)
    wider = Design((4, 2, *base.actions[2:]))
    assert envelope(space, base).signature == envelope(space, wider).signature
    assert build_network(space, base).signature != build_network(space, wider).signature
    first = evaluator.evaluate(base, seed=0)
    second = evaluator.evaluate(wider, seed=0)
    assert first.compile_s > 0 and second.compile_s == 0.0 and second.extra["compiled_cached"]
    # layer-wise masked programs keep the kernel sizes: other widths share every program
    layers = TrainingEvaluator(space, datasets["digits"], epochs=1, settings=TrainerSettings(
        cache_dir=tmp_path / "layer", form="masked", masked_compile="layer"))
    first = layers.evaluate(base, seed=0)
    other = layers.evaluate(Design((4, 4, *base.actions[2:])), seed=1)  # 16 kernels, 3x3
    assert first.extra["compile_mode"] == "layer" and first.compile_s > 0
    assert other.compile_s == 0.0 and not other.terminated


def test_kernel_offsets_follow_same_padding():
    assert tap_offset("conv", 8, 3, 5, 1) == 1
    assert tap_offset("conv", 8, 1, 3, 2) == 0  # XLA pads 0 low for a 1-tap stride-2 conv
    assert tap_offset("conv", 5, 2, 3, 1) == 1  # even kernels embed too
    assert tap_offset("upconv", 4, 2, 3, 2) == 1
    assert tap_offset("conv", 8, 2, 5, 1) == 2  # SAME pads a 2-tap kernel (0, 1), 5-tap (2, 2)
    for size in range(1, 10):  # every even/odd pair fits (see the module docstring)
        for stride in (1, 2, 3):
            for k in range(1, 6):
                for big in range(k, 7):
                    for kind in ("conv", "upconv"):
                        assert 0 <= tap_offset(kind, size, k, big, stride) <= big - k
    with pytest.raises(MaskingError, match="cannot be placed"):
        tap_offset("conv", 8, 5, 3, 1)  # a kernel larger than the envelope's


def test_designs_without_an_exact_masked_form_keep_the_exact_program(datasets, tmp_path):
    layers = (L.input_layer(), L.conv("c1", "input", kernels=8, tune={"kernels": (4, 8)}),
              L.flatten("f", "c1"), L.dense("d", "f", units=16), L.dropout("drop", "d"),
              L.output("output", "drop"))
    space = SearchSpace("drop", layers, (8, 8, 1), 10,
                        training={"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 16})
    with pytest.raises(MaskingError, match="dropout"):
        embedding(space, Design((0,)))
    evaluator = TrainingEvaluator(space, datasets["digits"], epochs=1, cache_dir=tmp_path,
                                  form="masked")
    metrics = evaluator.evaluate(Design((0,)), seed=0)
    assert not metrics.terminated, metrics.reason
    assert metrics.extra["form"] == "exact" and "dropout" in metrics.extra["form_reason"]


def test_the_cost_model_picks_a_form_and_says_why(datasets, tmp_path):
    space = get_space("vgg_mini")
    evaluator = TrainingEvaluator(space, datasets["digits"], epochs=1, cache_dir=tmp_path)
    metrics = evaluator.evaluate(smallest(space), seed=0)
    assert metrics.extra["form"] in ("exact", "masked")
    assert metrics.extra["form_reason"].startswith("cost model: exact ")
    again = evaluator.evaluate(smallest(space), seed=0)  # its program is cached now
    assert again.extra["form"] == metrics.extra["form"] and again.compile_s == 0.0
