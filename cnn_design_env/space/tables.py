"""The two search spaces of the shipped tabular benchmark (``digits``, 8x8x1, 10 classes).

Every design of both spaces was trained (two seeds each) to build the tables in
``cnn_design_env/tables/`` (see :class:`~cnn_design_env.evaluators.tabular.TabularEvaluator`
and ``scripts/make_table.py``). Each space has 64 architectures and a ``train`` agent choosing
the learning rate among 5 values: 320 designs. The learning rate is injected into the compiled
program, so it multiplies the designs without multiplying the compilations.

* ``table_chain``: a VGG-style chain of 6 tunable layers
  ``conv1 - conv2 - pool1 - conv3 - pool2 - fc1``, then the ``train`` agent (7 agents).
* ``table_inception``: a tunable stem conv, one inception module (fan-out to three branches:
  1x1 conv | 3x3/5x5 conv | pool + 1x1 conv, fan-in by a channel concat), a tunable pool, a dense
  head, then the ``train`` agent (7 agents). The stem feeds three agents (``b1_1x1``,
  ``b2_conv``, ``b3_pool``) and the concat makes ``pool`` read three agents, so the paper's
  fan-out and fan-in rules (section VI-D) are exercised.

Training settings (both): SGD with momentum 0.9, batch 32 (Table II, GoogLeNet column; as the
``*_mini`` presets), cross-entropy, ReLU; the learning rate is the ``train`` agent's choice.

Pure Python: no JAX.

Example:
    >>> space = table_chain()
    >>> space.size, space.num_agents
    (320, 7)
    >>> table_inception().predecessors("pool")
    ('b1_1x1', 'b2_conv', 'b3_1x1')
"""

from __future__ import annotations

from cnn_design_env.space import layers as L
from cnn_design_env.space.graph import SearchSpace

TABLE_TRAINING = {"optimizer": "sgd", "learning_rate": 0.05, "momentum": 0.9,
                  "batch_size": 32, "loss": "cross_entropy", "activation": "relu"}
"""Training settings of both table spaces (the learning rate is tuned by the ``train`` agent)."""

TABLE_LEARNING_RATES = (0.005, 0.01, 0.02, 0.05, 0.1)
"""Choices of the ``train`` agent of both table spaces."""


def table_chain(*, input_shape: tuple[int, int, int] = (8, 8, 1), num_classes: int = 10
                ) -> SearchSpace:
    """A 7-agent chain for 8x8 digits: conv-conv-pool-conv-pool-dense + learning rate (320).

    Choice sets: ``conv1`` kernels {8, 16}; ``conv2`` kernel size {3, 5}; ``pool1`` size {2, 3};
    ``conv3`` kernels {16, 32}; ``pool2`` size {2, 3}; ``fc1`` units {32, 128}; ``train``
    learning rate {0.005, 0.01, 0.02, 0.05, 0.1}.
    """
    layers = (
        L.input_layer(),
        L.conv("conv1", "input", kernels=16, tune={"kernels": (8, 16)}),
        L.conv("conv2", "conv1", kernels=16, tune={"kernel_size": (3, 5)}),
        L.pool("pool1", "conv2", tune={"pool_size": (2, 3)}),
        L.conv("conv3", "pool1", kernels=32, tune={"kernels": (16, 32)}),
        L.pool("pool2", "conv3", tune={"pool_size": (2, 3)}),
        L.flatten("flatten", "pool2"),
        L.dense("fc1", "flatten", units=64, tune={"units": (32, 128)}),
        L.output("output", "fc1"),
        L.train("train", tune={"learning_rate": TABLE_LEARNING_RATES}),
    )
    return SearchSpace("table_chain", layers, input_shape, num_classes, training=TABLE_TRAINING,
                       description="6-layer-agent chain + learning rate on digits (tabular)")


def table_inception(*, input_shape: tuple[int, int, int] = (8, 8, 1), num_classes: int = 10
                    ) -> SearchSpace:
    """A stem, one 3-branch inception module, a pool, a dense head + learning rate (320).

    Choice sets: ``stem`` kernels {8, 16}; ``b1_1x1`` kernels {4, 8}; ``b2_conv`` kernel size
    {3, 5}; ``b3_pool`` size {2, 3} (stride 1); ``b3_1x1`` kernels {4, 8}; ``pool`` size
    {2, 3}; ``train`` learning rate {0.005, 0.01, 0.02, 0.05, 0.1}. ``fc1`` is fixed at 64 units.
    """
    layers = (
        L.input_layer(),
        L.conv("stem", "input", kernels=16, tune={"kernels": (8, 16)}),
        L.conv("b1_1x1", "stem", kernels=8, kernel_size=1, tune={"kernels": (4, 8)}),
        L.conv("b2_conv", "stem", kernels=16, tune={"kernel_size": (3, 5)}),
        L.pool("b3_pool", "stem", pool_size=3, stride=1, tune={"pool_size": (2, 3)}),
        L.conv("b3_1x1", "b3_pool", kernels=8, kernel_size=1, tune={"kernels": (4, 8)}),
        L.concat("cat", ["b1_1x1", "b2_conv", "b3_1x1"]),
        L.pool("pool", "cat", tune={"pool_size": (2, 3)}),
        L.flatten("flatten", "pool"),
        L.dense("fc1", "flatten", units=64),
        L.output("output", "fc1"),
        L.train("train", tune={"learning_rate": TABLE_LEARNING_RATES}),
    )
    return SearchSpace("table_inception", layers, input_shape, num_classes,
                       training=TABLE_TRAINING,
                       description="stem + 3-branch inception + learning rate on digits "
                                   "(tabular)")


TABLE_SPACES = {"table_chain": table_chain, "table_inception": table_inception}
"""Table space name -> function building it (for ``space/presets.py`` ``PRESETS``)."""
