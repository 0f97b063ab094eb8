"""Preset search spaces: the paper's networks (Table III choice sets) and small ones for CPUs.

Each preset is a function returning a fresh :class:`SearchSpace`; nothing is built until asked for.
A user builds their own space the same way (see ``examples/custom_space.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from cnn_design_env.space import layers as L
from cnn_design_env.space.bench import bench_chain, bench_inception
from cnn_design_env.space.graph import SearchSpace
from cnn_design_env.space.layers import Layer
from cnn_design_env.space.tables import table_chain, table_inception

# Table III of the paper.
VGG16_CONV = {"kernels": (16, 32, 64, 128, 256), "kernel_size": (3, 5), "stride": (1, 2)}
VGG16_POOL = {"pool_size": (2, 3)}
PAPER_SPACE_LIMITS = {"max_params": None, "max_flops": None}
"""GoogLeNet's and U-Net's Table III choices reach 0.6 and 1.3 billion parameters (U-Net: 10
TFLOPs per image) at their largest: these presets allow every design of the paper's space."""
DENSE_UNITS = {"units": (128, 256, 512, 1024, 2048, 4096)}
GOOGLENET_CONV = {"kernels": (32, 48, 64, 80, 96, 112, 128, 160, 208, 384),
                  "kernel_size": (1, 3, 5), "stride": (1, 2)}
GOOGLENET_POOL = {"pool_size": (2, 3, 5, 7)}
UNET_CONV = {"kernels": (16, 32, 64, 128, 256, 512, 1024), "kernel_size": (3, 5, 7),
             "stride": (1, 2)}
UNET_POOL = {"pool_size": (2, 3)}
RESNET_CONV = {"kernels": (16, 32, 64, 128, 256, 512), "kernel_size": (3, 5), "stride": (1, 2)}
MINI_CONV = {"kernels": (8, 16, 32), "kernel_size": (3, 5), "stride": (1, 2)}
MINI_POOL = {"pool_size": (2, 3)}
MINI_DENSE = {"units": (32, 64, 128)}


def vgg16(*, input_shape: tuple[int, int, int] = (32, 32, 3), num_classes: int = 100
          ) -> SearchSpace:
    """VGG-16 for CIFAR-100 as in the paper: 13 convs, 5 pools, one dense layer before the output.

    Table II: SGD, batch 128, cross-entropy.
    """
    blocks = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
    layers: list[Layer] = [L.input_layer()]
    prev = "input"
    for b, (kernels, n) in enumerate(blocks, start=1):
        for i in range(1, n + 1):
            name = f"conv{b}_{i}"
            layers.append(L.conv(name, prev, kernels=kernels, tune=VGG16_CONV))
            prev = name
        layers.append(L.pool(f"pool{b}", prev, tune=VGG16_POOL))
        prev = f"pool{b}"
    layers += [L.flatten("flatten", prev), L.dense("fc1", "flatten", units=4096, tune=DENSE_UNITS),
               L.dropout("drop1", "fc1"), L.output("output", "drop1")]
    return SearchSpace("vgg16", tuple(layers), input_shape, num_classes,
                       training={"optimizer": "sgd", "batch_size": 128, "loss": "cross_entropy"},
                       description="VGG-16 (CIFAR-100 adaptation), Table III choices")


def _inception(layers: list[Layer], name: str, src: str, spec: tuple[int, ...],
               conv_choices: dict, pool_choices: dict) -> str:
    """Append an inception module (1x1 | 1x1-3x3 | 1x1-5x5 | pool-1x1) and return its output."""
    n1, n3r, n3, n5r, n5, npool = spec
    layers += [
        L.conv(f"{name}_1x1", src, kernels=n1, kernel_size=1, tune=conv_choices),
        L.conv(f"{name}_3x3r", src, kernels=n3r, kernel_size=1, tune=conv_choices),
        L.conv(f"{name}_3x3", f"{name}_3x3r", kernels=n3, kernel_size=3, tune=conv_choices),
        L.conv(f"{name}_5x5r", src, kernels=n5r, kernel_size=1, tune=conv_choices),
        L.conv(f"{name}_5x5", f"{name}_5x5r", kernels=n5, kernel_size=5, tune=conv_choices),
        L.pool(f"{name}_pool", src, pool_size=3, stride=1, tune=pool_choices),
        L.conv(f"{name}_poolproj", f"{name}_pool", kernels=npool, kernel_size=1,
               tune=conv_choices),
        L.concat(f"{name}_out", [f"{name}_1x1", f"{name}_3x3", f"{name}_5x5",
                                 f"{name}_poolproj"]),
    ]
    return f"{name}_out"


GOOGLENET_MODULES = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet(*, input_shape: tuple[int, int, int] = (32, 32, 3), num_classes: int = 100
              ) -> SearchSpace:
    """GoogLeNet (Inception v1) with its 9 inception modules, for CIFAR-100.

    The auxiliary classifiers are left out; their dense layer (1024 units) becomes one tunable
    dense layer before the output. Pools inside modules keep stride 1 (only their size is tuned).
    Table II: SGD, batch 32, cross-entropy.
    """
    layers: list[Layer] = [
        L.input_layer(),
        L.conv("stem_conv1", "input", kernels=64, kernel_size=7, stride=2, tune=GOOGLENET_CONV),
        L.pool("stem_pool1", "stem_conv1", pool_size=3, stride=2, tune=GOOGLENET_POOL),
        L.conv("stem_conv2", "stem_pool1", kernels=64, kernel_size=1, tune=GOOGLENET_CONV),
        L.conv("stem_conv3", "stem_conv2", kernels=192, kernel_size=3, tune=GOOGLENET_CONV),
        L.pool("stem_pool2", "stem_conv3", pool_size=3, stride=2, tune=GOOGLENET_POOL),
    ]
    prev = "stem_pool2"
    for name, spec in GOOGLENET_MODULES.items():
        prev = _inception(layers, f"inc{name}", prev, spec, GOOGLENET_CONV, GOOGLENET_POOL)
        if name in ("3b", "4e"):
            layers.append(L.pool(f"pool_{name}", prev, pool_size=3, stride=2,
                                 tune=GOOGLENET_POOL))
            prev = f"pool_{name}"
    layers += [L.global_pool("gap", prev),
               L.dense("fc1", "gap", units=1024, tune=DENSE_UNITS),
               L.dropout("drop", "fc1", rate=0.4), L.output("output", "drop")]
    return SearchSpace("googlenet", tuple(layers), input_shape, num_classes,
                       training={"optimizer": "sgd", "batch_size": 32, "loss": "cross_entropy"},
                       description="GoogLeNet, 9 inception modules, Table III choices",
                       **PAPER_SPACE_LIMITS)


def _unet(name: str, widths: tuple[int, ...], conv_choices: dict, pool_choices: dict,
          input_shape: tuple[int, int, int], num_classes: int, description: str,
          batch_size: int) -> SearchSpace:
    """A U-Net with ``len(widths) - 1`` down/up levels and two convs per level."""
    layers: list[Layer] = [L.input_layer()]
    prev, skips = "input", []
    depth = len(widths) - 1
    for level, width in enumerate(widths, start=1):
        for i in (1, 2):
            layers.append(L.conv(f"enc{level}_conv{i}", prev, kernels=width, tune=conv_choices))
            prev = f"enc{level}_conv{i}"
        if level <= depth:
            skips.append(prev)
            layers.append(L.pool(f"enc{level}_pool", prev, tune=pool_choices))
            prev = f"enc{level}_pool"
    for level in range(depth, 0, -1):
        width = widths[level - 1]
        layers += [L.upconv(f"dec{level}_up", prev, kernels=width, tune=conv_choices),
                   L.concat(f"dec{level}_cat", [skips[level - 1], f"dec{level}_up"])]
        prev = f"dec{level}_cat"
        for i in (1, 2):
            layers.append(L.conv(f"dec{level}_conv{i}", prev, kernels=width, tune=conv_choices))
            prev = f"dec{level}_conv{i}"
    layers.append(L.output("output", prev))
    return SearchSpace(name, tuple(layers), input_shape, num_classes, task="segmentation",
                       training={"optimizer": "adam", "learning_rate": 1e-3,
                                 "batch_size": batch_size, "loss": "dice"},
                       description=description, **PAPER_SPACE_LIMITS)


def unet(*, input_shape: tuple[int, int, int] = (128, 128, 1), num_classes: int = 2
         ) -> SearchSpace:
    """The U-Net of the paper's Fig. 2: 22 conv/up-conv layers, 4 skip concatenations.

    Table II: Adam, batch 20, Dice loss. A concat brings the up-sampled path to the skip's size.
    """
    return _unet("unet", (64, 128, 256, 512, 1024), UNET_CONV, UNET_POOL, input_shape,
                 num_classes, "U-Net, 22 conv/up-conv layers, Table III choices", 20)


def resnet18(*, input_shape: tuple[int, int, int] = (32, 32, 3), num_classes: int = 100
             ) -> SearchSpace:
    """ResNet-18: a 3x3 stem and 8 basic blocks with residual adds (projection convs fixed)."""
    layers: list[Layer] = [
        L.input_layer(),
        L.conv("stem_conv", "input", kernels=64, tune=RESNET_CONV, activation="linear"),
        L.batchnorm("stem_bn", "stem_conv"), L.activation("stem_relu", "stem_bn"),
    ]
    prev = "stem_relu"
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in (1, 2):
            p = f"s{stage}b{block}"
            stride = 2 if stage > 1 and block == 1 else 1
            layers += [
                L.conv(f"{p}_conv1", prev, kernels=width, stride=stride, activation="linear",
                       tune=RESNET_CONV),
                L.batchnorm(f"{p}_bn1", f"{p}_conv1"), L.activation(f"{p}_relu1", f"{p}_bn1"),
                L.conv(f"{p}_conv2", f"{p}_relu1", kernels=width, activation="linear",
                       tune=RESNET_CONV),
                L.batchnorm(f"{p}_bn2", f"{p}_conv2"),
            ]
            shortcut = prev
            if stride != 1:
                layers += [L.conv(f"{p}_proj", prev, kernels=width, kernel_size=1, stride=stride,
                                  activation="linear"),
                           L.batchnorm(f"{p}_projbn", f"{p}_proj")]
                shortcut = f"{p}_projbn"
            layers += [L.add(f"{p}_add", [shortcut, f"{p}_bn2"]),
                       L.activation(f"{p}_out", f"{p}_add")]
            prev = f"{p}_out"
    layers += [L.global_pool("gap", prev), L.output("output", "gap")]
    return SearchSpace("resnet18", tuple(layers), input_shape, num_classes,
                       training={"optimizer": "sgd", "batch_size": 128, "loss": "cross_entropy"},
                       description="ResNet-18 (CIFAR stem), residual adds, VGG-16-like choices")


def vgg_mini(*, input_shape: tuple[int, int, int] = (8, 8, 1), num_classes: int = 10
             ) -> SearchSpace:
    """A small VGG-style chain for 8x8 digits: conv-conv-pool-conv-pool-dense (6 agents)."""
    layers = (
        L.input_layer(),
        L.conv("conv1", "input", kernels=16, tune=MINI_CONV),
        L.conv("conv2", "conv1", kernels=16, tune=MINI_CONV),
        L.pool("pool1", "conv2", tune=MINI_POOL),
        L.conv("conv3", "pool1", kernels=32, tune=MINI_CONV),
        L.pool("pool2", "conv3", tune=MINI_POOL),
        L.flatten("flatten", "pool2"),
        L.dense("fc1", "flatten", units=64, tune=MINI_DENSE),
        L.output("output", "fc1"),
    )
    return SearchSpace("vgg_mini", layers, input_shape, num_classes,
                       training={"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32},
                       description="small VGG-style chain for 8x8 digits (CPU, ~1 s/epoch)")


def inception_mini(*, input_shape: tuple[int, int, int] = (8, 8, 1), num_classes: int = 10
                   ) -> SearchSpace:
    """A stem conv, one inception module (fan-out to 3 branches, fan-in by concat), a dense head."""
    conv = {"kernels": (8, 16, 32), "kernel_size": (1, 3), "stride": (1, 2)}
    layers = (
        L.input_layer(),
        L.conv("stem", "input", kernels=16, tune=MINI_CONV),
        L.conv("b1_1x1", "stem", kernels=8, kernel_size=1, tune=conv),
        L.conv("b2_1x1", "stem", kernels=8, kernel_size=1, tune=conv),
        L.conv("b2_3x3", "b2_1x1", kernels=16, kernel_size=3, tune=conv),
        L.pool("b3_pool", "stem", pool_size=3, stride=1, tune=MINI_POOL),
        L.conv("b3_1x1", "b3_pool", kernels=8, kernel_size=1, tune=conv),
        L.concat("cat", ["b1_1x1", "b2_3x3", "b3_1x1"]),
        L.pool("pool", "cat", tune=MINI_POOL),
        L.flatten("flatten", "pool"),
        L.dense("fc1", "flatten", units=64, tune=MINI_DENSE),
        L.output("output", "fc1"),
    )
    return SearchSpace("inception_mini", layers, input_shape, num_classes,
                       training={"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32},
                       description="one inception module with fan-out/fan-in, for 8x8 digits")


def unet_mini(*, input_shape: tuple[int, int, int] = (32, 32, 1), num_classes: int = 2
              ) -> SearchSpace:
    """A two-level U-Net for 32x32 synthetic shapes (``shapes`` dataset)."""
    conv = {"kernels": (8, 16, 32), "kernel_size": (3, 5), "stride": (1, 2)}
    layers = (
        L.input_layer(),
        L.conv("enc1", "input", kernels=8, tune=conv),
        L.pool("pool1", "enc1", tune=MINI_POOL),
        L.conv("enc2", "pool1", kernels=16, tune=conv),
        L.pool("pool2", "enc2", tune=MINI_POOL),
        L.conv("mid", "pool2", kernels=32, tune=conv),
        L.upconv("up2", "mid", kernels=16, tune={"kernels": (8, 16, 32), "kernel_size": (2, 3)}),
        L.concat("cat2", ["enc2", "up2"]),
        L.conv("dec2", "cat2", kernels=16, tune=conv),
        L.upconv("up1", "dec2", kernels=8, tune={"kernels": (8, 16, 32), "kernel_size": (2, 3)}),
        L.concat("cat1", ["enc1", "up1"]),
        L.conv("dec1", "cat1", kernels=8, tune=conv),
        L.output("output", "dec1"),
    )
    return SearchSpace("unet_mini", layers, input_shape, num_classes, task="segmentation",
                       training={"optimizer": "adam", "learning_rate": 3e-3, "batch_size": 16,
                                 "loss": "dice"},
                       description="two-level U-Net for 32x32 synthetic shapes segmentation")


PRESETS: dict[str, Callable[..., SearchSpace]] = {
    "vgg16": vgg16,
    "googlenet": googlenet,
    "unet": unet,
    "resnet18": resnet18,
    "vgg_mini": vgg_mini,
    "inception_mini": inception_mini,
    "unet_mini": unet_mini,
    "table_chain": table_chain,
    "table_inception": table_inception,
    "bench_chain": bench_chain,
    "bench_inception": bench_inception,
}
"""Preset name -> function building it (lazily)."""


def list_spaces() -> list[str]:
    """Names of the preset spaces.

    Example:
        >>> "vgg16" in list_spaces()
        True
    """
    return list(PRESETS)


def get_space(name: str, **kwargs) -> SearchSpace:
    """Build the preset ``name`` (keyword arguments such as ``input_shape`` go to its function).

    Raises:
        ValueError: If ``name`` is not a preset.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown space {name!r}; expected one of {list_spaces()}")
    return PRESETS[name](**kwargs)
