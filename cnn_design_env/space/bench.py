"""The two benchmark spaces of the large tables (``digits``, 8x8x1, 10 classes).

Built so that a table over them can tell search methods apart (issue 19): each has about ten
thousand designs, no two of which build the same network
(:func:`~cnn_design_env.space.signature.network_signature`, checked in a test over every
design), so a budget of 300 evaluations covers under 4 % of either. The choice sets follow the
pattern of the paper's Table III (kernels, kernel size, stride, pool size, units), scaled to
8x8 images: a spatial choice appears only where each of its values changes the network at
every map size it can meet (a pool of 3 after a map of 4 would equal a pool of 2; a 5x5 kernel
on a 2x2 map equals a 3x3 one).

* ``bench_chain`` (6 agents, 9,000 designs): a VGG-style chain
  ``conv1 - conv2 - pool1 - conv3 - pool2 - fc1``.
* ``bench_inception`` (7 agents, 10,368 designs): a tunable stem, one inception module
  (fan-out to a 1x1 branch, a conv branch and a pool + 1x1 branch; fan-in by channel concat),
  a tunable pool and a dense head; the paper's fan-out and fan-in rules apply.

There is no learning-rate agent: the tables record architectures at one training setting
(SGD with momentum 0.9, learning rate 0.05, batch 32, as the small tables), which keeps every
design's effect recorded and every design-seed trainable in a shared masked program (widths and
kernel sizes are masked; only pool and stride choices change the program: 8 and 9 shape
signatures).

Pure Python: no JAX.

Example:
    >>> bench_chain().size, bench_chain().num_agents
    (9000, 6)
    >>> bench_inception().size, bench_inception().predecessors("pool")
    (10368, ('b1_1x1', 'b2_conv', 'b3_1x1'))
"""

from __future__ import annotations

from cnn_design_env.space import layers as L
from cnn_design_env.space.graph import SearchSpace
from cnn_design_env.space.tables import TABLE_TRAINING


def bench_chain(*, input_shape: tuple[int, int, int] = (8, 8, 1), num_classes: int = 10
                ) -> SearchSpace:
    """A 6-agent VGG-style chain for 8x8 digits (9,000 distinct networks).

    Choice sets: ``conv1`` kernels {4, 8, 16, 24, 32}; ``conv2`` kernels {8, 16, 32} x kernel
    size {1, 3, 5}; ``pool1`` size {2, 3} x stride {1, 2} (8x8 or 4x4 out); ``conv3`` kernels
    {8, 16, 32, 48, 64} (3x3); ``pool2`` size {2, 4}; ``fc1`` units {16, 32, 64, 128, 256}.
    """
    layers = (
        L.input_layer(),
        L.conv("conv1", "input", kernels=16, tune={"kernels": (4, 8, 16, 24, 32)}),
        L.conv("conv2", "conv1", kernels=16,
               tune={"kernels": (8, 16, 32), "kernel_size": (1, 3, 5)}),
        L.pool("pool1", "conv2", tune={"pool_size": (2, 3), "stride": (1, 2)}),
        L.conv("conv3", "pool1", kernels=32, tune={"kernels": (8, 16, 32, 48, 64)}),
        L.pool("pool2", "conv3", tune={"pool_size": (2, 4)}),
        L.flatten("flatten", "pool2"),
        L.dense("fc1", "flatten", units=64, tune={"units": (16, 32, 64, 128, 256)}),
        L.output("output", "fc1"),
    )
    return SearchSpace("bench_chain", layers, input_shape, num_classes, training=TABLE_TRAINING,
                       description="6-agent VGG-style chain on digits, 9,000 distinct networks "
                                   "(large table)")


def bench_inception(*, input_shape: tuple[int, int, int] = (8, 8, 1), num_classes: int = 10
                    ) -> SearchSpace:
    """A stem, one 3-branch inception module, a pool and a dense head (10,368 networks).

    Choice sets: ``stem`` kernels {8, 16, 24, 32}; ``b1_1x1`` kernels {4, 8, 12, 16};
    ``b2_conv`` kernels {4, 8, 16} x kernel size {3, 5}; ``b3_pool`` size {2, 3, 5} (stride 1);
    ``b3_1x1`` kernels {4, 8, 16}; ``pool`` size {2, 3, 4}; ``fc1`` units {32, 64, 128, 256}.
    """
    layers = (
        L.input_layer(),
        L.conv("stem", "input", kernels=16, tune={"kernels": (8, 16, 24, 32)}),
        L.conv("b1_1x1", "stem", kernels=8, kernel_size=1, tune={"kernels": (4, 8, 12, 16)}),
        L.conv("b2_conv", "stem", kernels=8, tune={"kernels": (4, 8, 16), "kernel_size": (3, 5)}),
        L.pool("b3_pool", "stem", pool_size=3, stride=1, tune={"pool_size": (2, 3, 5)}),
        L.conv("b3_1x1", "b3_pool", kernels=8, kernel_size=1, tune={"kernels": (4, 8, 16)}),
        L.concat("cat", ["b1_1x1", "b2_conv", "b3_1x1"]),
        L.pool("pool", "cat", tune={"pool_size": (2, 3, 4)}),
        L.flatten("flatten", "pool"),
        L.dense("fc1", "flatten", units=64, tune={"units": (32, 64, 128, 256)}),
        L.output("output", "fc1"),
    )
    return SearchSpace("bench_inception", layers, input_shape, num_classes,
                       training=TABLE_TRAINING,
                       description="stem + 3-branch inception on digits, 10,368 distinct "
                                   "networks (large table)")


BENCH_SPACES = {"bench_chain": bench_chain, "bench_inception": bench_inception}
"""Large-table space name -> function building it (for ``space/presets.py`` ``PRESETS``)."""
