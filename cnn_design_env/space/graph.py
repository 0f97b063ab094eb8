"""``SearchSpace``: a CNN's layer graph, its agents and their action sets.

Pure Python: no JAX, no PettingZoo. The agents are the tunable layers in topological order (ties
broken by declaration order), followed by the ``train`` agents (training hyperparameters) in
declaration order.

The *agent graph* has an edge ``u -> v`` when tunable layer ``u`` reaches tunable layer ``v``
through fixed ops only (activation, batch-norm, concat, add, ...). Two rules make it usable by the
paper's Q-tables, where every agent but the first observes a predecessor's action:

* an agent other than the first with no tunable ancestor (a root, such as an inception branch that
  reads the network input) gets an edge from the agent just before it in topological order;
* ``train`` agents are chained after the last layer agent, in order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from cnn_design_env.space.checks import check_training, positive_int
from cnn_design_env.space.design import Design
from cnn_design_env.space.layers import MERGE_KINDS, Layer

TASKS = ("classification", "segmentation")
DEFAULT_TRAINING: Mapping[str, Any] = {
    "optimizer": "sgd",
    "learning_rate": 0.01,
    "momentum": 0.9,
    "weight_decay": 0.0,
    "batch_size": 128,
    "loss": "cross_entropy",
    "activation": "relu",
}
"""Training settings used when a space does not override them (Table II, VGG-16 column)."""
MAX_PARAMS = 100_000_000
"""Default limit on the parameters of one design (400 MB of float32 weights)."""
MAX_FLOPS = 100_000_000_000
"""Default limit on the FLOPs per image of one design (100 GFLOP)."""


@dataclass(frozen=True, eq=False)
class SearchSpace:
    """A DAG of layers with choice sets: the design problem of one CNN.

    Args:
        name: Identifier (the preset name for presets).
        layers: All layers, including exactly one ``input`` and one ``output`` layer, and any
            ``train`` agents.
        input_shape: ``(height, width, channels)`` of one input image.
        num_classes: Width of the output layer (classes, or segmentation classes per pixel).
        task: ``"classification"`` or ``"segmentation"``.
        training: Training settings (optimizer, learning rate, batch size, loss, activation, ...)
            overriding :data:`DEFAULT_TRAINING`.
        description: One line shown by ``cnn-design spaces``.
        max_params: Limit on the parameters of one design; ``None``: no limit. The space is
            refused when even its smallest design exceeds it (every layer at its smallest
            choices, :func:`~cnn_design_env.space.analysis.extreme_hyperparameters`), a warning
            is logged when its largest does, and :func:`~cnn_design_env.space.analyze` refuses
            each design above it (the trainer then scores it as a terminated evaluation).
        max_flops: The same limit on FLOPs per image.

    Raises:
        ValueError: On a malformed graph: duplicate or unknown layer names, a cycle, a dangling
            layer (not on a path from the input to the output), a wrong number of inputs, no
            agent; a layer that gets an input of the wrong rank (a dense layer on a feature map);
            a bad ``input_shape``, ``num_classes``, ``task`` or training setting (unknown key or
            name, out-of-range number); a smallest design above ``max_params`` or
            ``max_flops`` (the message gives the estimate).
    """

    name: str
    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int]
    num_classes: int
    task: str = "classification"
    training: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    max_params: int | None = MAX_PARAMS
    max_flops: int | None = MAX_FLOPS

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"space name must be a non-empty string, got {self.name!r}")
        owner = f"space {self.name!r}"
        object.__setattr__(self, "layers", tuple(self.layers))
        shape = self.input_shape
        if (isinstance(shape, str) or not isinstance(shape, Sequence | np.ndarray)
                or len(shape) != 3):
            raise ValueError(f"{owner}: input_shape must be (height, width, channels) of "
                             f"positive integers, got {shape!r}")
        object.__setattr__(self, "input_shape", tuple(
            positive_int(owner, "input_shape entry", d) for d in shape))
        object.__setattr__(self, "num_classes", positive_int(owner, "num_classes",
                                                             self.num_classes))
        if self.task not in TASKS:
            raise ValueError(f"{owner}: unknown task {self.task!r}; expected one of {TASKS}")
        if self.task == "classification" and self.num_classes < 2:
            raise ValueError(f"{owner}: a classification space needs num_classes >= 2, got "
                             f"{self.num_classes} (one class makes every design 100% accurate)")
        object.__setattr__(self, "training",
                           {**DEFAULT_TRAINING, **check_training(owner, self.training)})
        for key in ("max_params", "max_flops"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, positive_int(owner, key, value))
        _validate_graph(self.name, self.layers)
        if not self.agents:
            raise ValueError(f"space {self.name!r} has no tunable layer: give at least one layer "
                             "a choice set")
        from cnn_design_env.space.analysis import check_limits  # analysis imports this module

        check_limits(self)

    # ------------------------------------------------------------------ graph
    @cached_property
    def by_name(self) -> Mapping[str, Layer]:
        """Layers by name."""
        return {layer.name: layer for layer in self.layers}

    @cached_property
    def graph_layers(self) -> tuple[Layer, ...]:
        """Layers of the network graph (all but ``train`` agents) in topological order."""
        return _topological(self.name, [la for la in self.layers if la.kind != "train"])

    @cached_property
    def agents(self) -> tuple[str, ...]:
        """Agent names: tunable layers in topological order, then ``train`` agents."""
        layer_agents = [la.name for la in self.graph_layers if la.tunable]
        train_agents = [la.name for la in self.layers if la.kind == "train"]
        return tuple(layer_agents + train_agents)

    @cached_property
    def agent_index(self) -> Mapping[str, int]:
        """Position of each agent in :attr:`agents`."""
        return {name: i for i, name in enumerate(self.agents)}

    @cached_property
    def action_sizes(self) -> tuple[int, ...]:
        """``|A_i|`` for each agent, in agent order."""
        return tuple(self.by_name[a].num_actions for a in self.agents)

    @cached_property
    def agent_edges(self) -> tuple[tuple[str, str], ...]:
        """Edges ``(u, v)`` of the agent graph, sorted by (index of v, index of u)."""
        index = self.agent_index
        edges: set[tuple[str, str]] = set()
        for name in self.agents:
            layer = self.by_name[name]
            if layer.kind == "train":
                continue
            for src in self._tunable_ancestors(name):
                edges.add((src, name))
        for i, name in enumerate(self.agents[1:], start=1):
            if not any(v == name for _, v in edges):
                edges.add((self.agents[i - 1], name))
        return tuple(sorted(edges, key=lambda e: (index[e[1]], index[e[0]])))

    def predecessors(self, agent: str) -> tuple[str, ...]:
        """Agents with an edge into ``agent``, in agent order."""
        return tuple(u for u, v in self.agent_edges if v == agent)

    def successors(self, agent: str) -> tuple[str, ...]:
        """Agents ``agent`` has an edge to, in agent order."""
        return tuple(v for u, v in self.agent_edges if u == agent)

    def _tunable_ancestors(self, name: str) -> list[str]:
        found: list[str] = []
        stack = list(self.by_name[name].inputs)
        seen: set[str] = set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            layer = self.by_name[current]
            if layer.tunable:
                found.append(current)
            else:
                stack.extend(layer.inputs)
        return found

    # ------------------------------------------------------------- designs
    @property
    def num_agents(self) -> int:
        """Number of agents."""
        return len(self.agents)

    @cached_property
    def size(self) -> int:
        """Number of distinct designs (product of the action-set sizes)."""
        return int(np.prod([int(n) for n in self.action_sizes], dtype=object))

    def validate(self, design: Design | Sequence[int]) -> Design:
        """Return ``design`` as a :class:`Design` after checking it belongs to this space.

        Raises:
            ValueError: If its length is wrong, or an action is not an integer (``bool``, float
                and string refused) or out of range.
        """
        design = design if isinstance(design, Design) else Design(tuple(design))
        if len(design) != self.num_agents:
            raise ValueError(
                f"design has {len(design)} actions but space {self.name!r} has "
                f"{self.num_agents} agents"
            )
        for agent, action, size in zip(self.agents, design.actions, self.action_sizes,
                                       strict=True):
            if not 0 <= action < size:
                raise ValueError(
                    f"action {action} of agent {agent!r} is out of range; expected [0, {size})"
                )
        return design

    def hyperparameters(self, design: Design | Sequence[int] | None = None
                        ) -> dict[str, dict[str, Any]]:
        """Per-layer hyperparameters of ``design`` (the original ones if ``None``).

        Returns:
            A dict over every layer (``train`` agents included) of its hyperparameter dict.
        """
        chosen: dict[str, int] = {}
        if design is not None:
            design = self.validate(design)
            chosen = dict(zip(self.agents, design.actions, strict=True))
        return {la.name: la.hyperparameters(chosen.get(la.name)) for la in self.layers}

    def training_settings(self, design: Design | Sequence[int] | None = None) -> dict[str, Any]:
        """The space's training settings overlaid with any ``train`` agents' choices."""
        settings = dict(self.training)
        hparams = self.hyperparameters(design)
        for layer in self.layers:
            if layer.kind == "train":
                settings.update(hparams[layer.name])
        return settings

    def design_from_hyperparameters(self, values: Mapping[str, Mapping[str, Any]]) -> Design:
        """The design whose agents' tuned values equal ``values`` (a dict per agent name).

        Raises:
            ValueError: If an agent is missing or its values are not one of its actions.
        """
        missing = [a for a in self.agents if a not in values]
        if missing:
            raise ValueError(f"no values given for agents {missing} of space {self.name!r}")
        return Design(tuple(self.by_name[a].action_of(values[a]) for a in self.agents))

    def sample(self, rng: np.random.Generator) -> Design:
        """A design drawn uniformly at random with ``rng``."""
        return Design(tuple(int(rng.integers(n)) for n in self.action_sizes))

    def encode(self, design: Design | Sequence[int]) -> np.ndarray:
        """``design`` as an int64 vector of action indices."""
        return np.asarray(self.validate(design).actions, dtype=np.int64)

    def decode(self, vector: Iterable[int]) -> Design:
        """Inverse of :meth:`encode`."""
        return self.validate(Design(tuple(vector)))

    def with_data(self, *, input_shape: Sequence[int] | None = None,
                  num_classes: int | None = None) -> SearchSpace:
        """A copy of this space for another input shape or number of classes."""
        return SearchSpace(
            self.name, self.layers,
            tuple(input_shape) if input_shape is not None else self.input_shape,
            num_classes if num_classes is not None else self.num_classes,
            self.task, self.training, self.description, self.max_params, self.max_flops,
        )

    def __repr__(self) -> str:
        return (f"SearchSpace({self.name!r}, agents={self.num_agents}, layers="
                f"{len(self.graph_layers)}, designs={self.size:.3g}, input={self.input_shape})")


def _validate_graph(space: str, layers: Sequence[Layer]) -> None:
    names: dict[str, Layer] = {}
    for layer in layers:
        if not isinstance(layer, Layer):
            raise TypeError(f"space {space!r}: expected Layer objects, got {layer!r}")
        if layer.name in names:
            raise ValueError(f"space {space!r}: duplicate layer name {layer.name!r}")
        names[layer.name] = layer
    graph = [la for la in layers if la.kind != "train"]
    for kind in ("input", "output"):
        found = [la.name for la in graph if la.kind == kind]
        if len(found) != 1:
            raise ValueError(f"space {space!r}: expected exactly one {kind!r} layer, "
                             f"found {len(found)} ({found})")
    for layer in layers:
        for src in layer.inputs:
            if src not in names:
                raise ValueError(f"space {space!r}: layer {layer.name!r} reads unknown layer "
                                 f"{src!r}")
            if names[src].kind in ("train", "output"):
                raise ValueError(f"space {space!r}: layer {layer.name!r} cannot read "
                                 f"{names[src].kind} layer {src!r}")
        n = len(layer.inputs)
        if layer.kind in ("input", "train"):
            expected_ok, expected = n == 0, "no inputs"
        elif layer.kind in MERGE_KINDS:
            expected_ok, expected = n >= 2, "at least 2 inputs"
        else:
            expected_ok, expected = n == 1, "exactly 1 input"
        if not expected_ok:
            raise ValueError(f"space {space!r}: {layer.kind} layer {layer.name!r} needs "
                             f"{expected}, got {list(layer.inputs)}")
    order = _topological(space, graph)
    source = next(la.name for la in graph if la.kind == "input")
    sink = next(la.name for la in graph if la.kind == "output")
    reach_from_input = {source}
    for layer in order:
        if any(src in reach_from_input for src in layer.inputs):
            reach_from_input.add(layer.name)
    reach_output = {sink}
    for layer in reversed(order):
        if layer.name in reach_output:
            reach_output.update(layer.inputs)
    dangling = [la.name for la in graph
                if la.name not in reach_from_input or la.name not in reach_output]
    if dangling:
        raise ValueError(f"space {space!r}: dangling layers {dangling} are not on a path from "
                         f"input {source!r} to output {sink!r}")


def _topological(space: str, layers: Sequence[Layer]) -> tuple[Layer, ...]:
    """Kahn's algorithm, ties broken by declaration order."""
    position = {la.name: i for i, la in enumerate(layers)}
    pending = {la.name: len(la.inputs) for la in layers}
    readers: dict[str, list[str]] = {la.name: [] for la in layers}
    for layer in layers:
        for src in layer.inputs:
            readers[src].append(layer.name)
    ready = sorted((n for n, k in pending.items() if k == 0), key=position.__getitem__)
    order: list[Layer] = []
    by_name = {la.name: la for la in layers}
    while ready:
        name = ready.pop(0)
        order.append(by_name[name])
        for reader in readers[name]:
            pending[reader] -= 1
            if pending[reader] == 0:
                ready.append(reader)
                ready.sort(key=position.__getitem__)
    if len(order) != len(layers):
        cyclic = sorted(n for n, k in pending.items() if k > 0)
        raise ValueError(f"space {space!r}: the layer graph has a cycle through {cyclic}")
    return tuple(order)
