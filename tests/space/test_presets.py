"""Preset spaces checked against numbers written out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_design_env.space import analyze, get_space, list_spaces


def conv_params(k: int, cin: int, cout: int) -> int:
    return k * k * cin * cout + cout


def test_vgg16_original_params_and_shapes():
    space = get_space("vgg16")
    analysis = analyze(space)  # original hyperparameters: 3x3 convs, stride 1, 2x2 pools
    widths = [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256),
              (256, 512), (512, 512), (512, 512), (512, 512), (512, 512), (512, 512)]
    convs = sum(conv_params(3, cin, cout) for cin, cout in widths)
    assert convs == 14_714_688  # the classic VGG-16 feature extractor
    fc1 = 512 * 4096 + 4096  # 32 / 2**5 = 1 -> flatten gives 512
    out = 4096 * 100 + 100
    assert analysis.params == convs + fc1 + out == 17_225_636
    assert analysis.model_size_mb == pytest.approx(17_225_636 * 4 / 1e6)
    assert analysis["conv1_2"].output_shape == (32, 32, 64)
    assert analysis["pool1"].output_shape == (16, 16, 64)
    assert analysis["pool3"].output_shape == (4, 4, 256)
    assert analysis["pool5"].output_shape == (1, 1, 512)
    assert analysis["flatten"].output_shape == (512,)
    assert analysis.output_shape == (100,)
    # FLOPs of the first conv: 2 * 3*3*3*64 MACs per pixel on 32x32 outputs.
    assert analysis["conv1_1"].flops == 2 * 27 * 64 * 32 * 32


def test_vgg16_design_shapes_never_below_one():
    space = get_space("vgg16")
    # every conv stride 2 and pool 3: 32 -> 16 -> 8 -> 3 -> ... stays >= 1
    values = {a: {"kernels": 16, "kernel_size": 3, "stride": 2} for a in space.agents
              if a.startswith("conv")}
    values.update({a: {"pool_size": 3} for a in space.agents if a.startswith("pool")})
    values["fc1"] = {"units": 128}
    design = space.design_from_hyperparameters(values)
    analysis = analyze(space, design)
    assert analysis["conv1_1"].output_shape == (16, 16, 16)
    assert analysis["conv1_2"].output_shape == (8, 8, 16)
    assert analysis["pool1"].output_shape == (3, 3, 16)
    assert analysis["pool5"].output_shape == (1, 1, 16)
    assert analysis["flatten"].output_shape == (16,)


@pytest.mark.parametrize(
    ("name", "conv_actions", "pool_actions", "dense_actions"),
    [("vgg16", 5 * 2 * 2, 2, 6), ("googlenet", 10 * 3 * 2, 4, 6), ("unet", 7 * 3 * 2, 2, None)],
)
def test_action_sets_are_table_iii_products(name, conv_actions, pool_actions, dense_actions):
    space = get_space(name)
    for agent, size in zip(space.agents, space.action_sizes, strict=True):
        kind = space.by_name[agent].kind
        expected = {"conv": conv_actions, "upconv": conv_actions, "pool": pool_actions,
                    "dense": dense_actions}[kind]
        assert size == expected, agent


def test_paper_exploration_bounds():
    # Section VI-A: VGG-16 needs 400 episodes, U-Net 1764 (the largest table's cells).
    for name, cells in (("vgg16", 400), ("unet", 1764)):
        space = get_space(name)
        sizes = dict(zip(space.agents, space.action_sizes, strict=True))
        assert max(sizes[u] * sizes[v] for u, v in space.agent_edges) == cells


def test_unet_has_22_conv_layers_and_skip_concats():
    space = get_space("unet")
    kinds = [space.by_name[a].kind for a in space.agents]
    assert kinds.count("conv") + kinds.count("upconv") == 22
    cats = [la for la in space.graph_layers if la.kind == "concat"]
    assert [la.inputs for la in cats] == [
        ("enc4_conv2", "dec4_up"), ("enc3_conv2", "dec3_up"),
        ("enc2_conv2", "dec2_up"), ("enc1_conv2", "dec1_up")]
    analysis = analyze(space)
    assert analysis["enc5_conv2"].output_shape == (8, 8, 1024)
    assert analysis["dec1_cat"].output_shape == (128, 128, 128)
    assert analysis.output_shape == (128, 128, 2)


def test_unet_skip_mismatch_resolved_by_resizing_to_skip():
    space = get_space("unet")
    values = space.hyperparameters()
    values["enc1_conv1"] = {**values["enc1_conv1"], "stride": 2}  # encoder path now 64x64
    values["dec1_up"] = {**values["dec1_up"], "stride": 1}
    analysis = analyze(space, hparams=values)
    assert analysis["dec1_up"].output_shape[:2] == (32, 32)  # up-conv with stride 1
    assert analysis["enc1_conv2"].output_shape[:2] == (64, 64)
    assert analysis["dec1_cat"].output_shape[:2] == analysis["enc1_conv2"].output_shape[:2]
    assert analysis.output_shape == (128, 128, 2)  # output resized to the image size


def test_inception_mini_order_and_agent_edges():
    space = get_space("inception_mini")
    assert space.agents == ("stem", "b1_1x1", "b2_1x1", "b2_3x3", "b3_pool", "b3_1x1", "pool",
                            "fc1")
    assert set(space.successors("stem")) == {"b1_1x1", "b2_1x1", "b3_pool"}  # fan-out
    assert set(space.predecessors("pool")) == {"b1_1x1", "b2_3x3", "b3_1x1"}  # fan-in via concat
    assert space.predecessors("b2_3x3") == ("b2_1x1",)
    assert space.predecessors("fc1") == ("pool",)


def test_googlenet_inception_module_edges():
    space = get_space("googlenet")
    assert set(space.successors("stem_pool2")) == {"inc3a_1x1", "inc3a_3x3r", "inc3a_5x5r",
                                                   "inc3a_pool"}
    assert set(space.predecessors("inc3b_1x1")) == {"inc3a_1x1", "inc3a_3x3", "inc3a_5x5",
                                                    "inc3a_poolproj"}
    order = space.agent_index
    for u, v in space.agent_edges:
        assert order[u] < order[v]
    analysis = analyze(space)
    assert analysis["inc3a_out"].output_shape == (4, 4, 64 + 128 + 32 + 32)


def test_resnet_add_projects_mismatched_channels():
    space = get_space("resnet18")
    values = space.hyperparameters()
    values["s1b1_conv2"] = {**values["s1b1_conv2"], "kernels": 32}
    analysis = analyze(space, hparams=values)
    info = analysis["s1b1_add"]
    assert info.projected == (1,)
    assert info.params == 32 * 64 + 64
    assert info.output_shape == (32, 32, 64)


@pytest.mark.parametrize("name", list_spaces())
def test_random_designs_analyse_and_round_trip(name):
    space = get_space(name)
    rng = np.random.default_rng(0)
    for _ in range(10):
        design = space.sample(rng)
        assert space.decode(space.encode(design)) == design
        hp = space.hyperparameters(design)
        assert space.design_from_hyperparameters({a: hp[a] for a in space.agents}) == design
        analysis = analyze(space, design)
        assert analysis.params > 0 and analysis.flops > 0
        assert all(min(i.output_shape) >= 1 for i in analysis.layers)


def test_get_space_unknown_name():
    with pytest.raises(ValueError, match=r"unknown space 'vgg17'.*vgg16"):
        get_space("vgg17")
