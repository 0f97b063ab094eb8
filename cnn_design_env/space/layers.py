"""Layer specifications: the nodes of a :class:`~cnn_design_env.space.SearchSpace`.

A layer is plain data: a name, a kind, the names of the layers feeding it, its fixed hyperparameters
and, for a *tunable* layer, a choice set per tuned hyperparameter. The action set of a tunable layer
is the Cartesian product of its choice sets (the paper's ``A_conv``), enumerated with
:func:`itertools.product` in the order the choices were declared (the last one varies fastest).

Kinds and their hyperparameters (defaults in brackets):

============  ==========================================================  =================
kind          hyperparameters                                              inputs
============  ==========================================================  =================
input         --                                                          0
conv          kernels, kernel_size [3], stride [1], activation [network]  1
upconv        kernels, kernel_size [2], stride [2], activation [network]  1
pool          pool_size [2], stride [= pool_size] (max pooling)           1
dense         units, activation [network]                                 1 (flat)
activation    fn [network]                                                1
batchnorm     --                                                          1
dropout       rate [0.5]                                                  1
concat        -- (channel concatenation)                                  >= 2
add           -- (element-wise sum)                                       >= 2
global_pool   -- (global average pooling)                                 1
flatten       --                                                          1
output        -- (logits: dense for classification, 1x1 conv for segm.)   1
train         training hyperparameters, see ``TRAIN_KEYS``                0 (not in graph)
============  ==========================================================  =================

``activation=None`` means the network's activation (the ``activation`` training hyperparameter,
``"relu"`` unless a space or a ``train`` agent changes it); ``"linear"`` means none.

Every value, fixed or a choice, is checked when the layer is built
(:mod:`cnn_design_env.space.checks`): sizes and strides are positive integers, activations and
optimisers are names the trainer knows, rates and learning rates are finite and in range, and a
choice set is a tuple or list (a string is refused: it is not four one-letter choices). A
``ValueError`` names the layer, the hyperparameter, the value and what was expected.

Example:
    >>> c = conv("c1", "input", kernels=16, tune={"kernels": (8, 16), "kernel_size": (3, 5)})
    >>> c.num_actions
    4
    >>> c.action_values(3)
    {'kernels': 16, 'kernel_size': 5}
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np

from cnn_design_env.space.checks import check_value

KIND_PARAMS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "input": frozenset(),
        "conv": frozenset({"kernels", "kernel_size", "stride", "activation"}),
        "upconv": frozenset({"kernels", "kernel_size", "stride", "activation"}),
        "pool": frozenset({"pool_size", "stride"}),
        "dense": frozenset({"units", "activation"}),
        "activation": frozenset({"fn"}),
        "batchnorm": frozenset(),
        "dropout": frozenset({"rate"}),
        "concat": frozenset(),
        "add": frozenset(),
        "global_pool": frozenset(),
        "flatten": frozenset(),
        "output": frozenset(),
        "train": frozenset(
            {"learning_rate", "batch_size", "optimizer", "activation", "momentum", "weight_decay"}
        ),
    }
)
"""Every layer kind and the hyperparameters it accepts."""

TRAIN_KEYS = KIND_PARAMS["train"]
"""Training hyperparameters that a ``train`` agent may tune."""

MERGE_KINDS = frozenset({"concat", "add"})
LAYER_DEFAULTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "conv": {"kernel_size": 3, "stride": 1, "activation": None},
        "upconv": {"kernel_size": 2, "stride": 2, "activation": None},
        "pool": {"pool_size": 2, "stride": None},
        "dense": {"activation": None},
        "activation": {"fn": None},
        "dropout": {"rate": 0.5},
    }
)


def _choice_tuple(owner: str, key: str, values: Any) -> tuple[Any, ...]:
    """A choice set as a tuple; a string, a mapping, a set or a lone value is refused."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return tuple(values.tolist())
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(
            f"{owner}: the choice set of {key!r} must be a tuple or list of values, got "
            f"{values!r}; write ({values!r},) for a single value"
        )
    return tuple(values)


class ActionSet(Sequence):
    """The Cartesian product of a layer's choice sets, in :func:`itertools.product` order (the
    last choice set varies fastest), built item by item.

    Example:
        >>> actions = ActionSet({"kernels": (8, 16), "kernel_size": (3, 5)})
        >>> len(actions), dict(actions[1])
        (4, {'kernels': 8, 'kernel_size': 5})
    """

    def __init__(self, choices: Mapping[str, tuple[Any, ...]]) -> None:
        self._keys = tuple(choices)
        self._values = tuple(choices[k] for k in self._keys)
        self._len = math.prod(len(v) for v in self._values)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self[i] for i in range(*index.indices(self._len)))
        if isinstance(index, bool) or not isinstance(index, numbers.Integral):
            raise TypeError(f"action indices must be integers, got {index!r}")
        i = int(index) + self._len if index < 0 else int(index)
        if not 0 <= i < self._len:
            raise IndexError(f"action {index} out of range [0, {self._len})")
        picked = [None] * len(self._values)
        for slot in range(len(self._values) - 1, -1, -1):
            i, r = divmod(i, len(self._values[slot]))
            picked[slot] = self._values[slot][r]
        return MappingProxyType(dict(zip(self._keys, picked, strict=True)))

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return (self[i] for i in range(self._len))


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, eq=False)
class Layer:
    """One node of a CNN's layer graph.

    Args:
        name: Unique name; a tunable layer's name is its agent's name.
        kind: One of :data:`KIND_PARAMS`.
        inputs: Names of the layers feeding this one, in order (the first is the main path of a
            merge).
        params: Fixed (original) hyperparameter values.
        choices: For tunable hyperparameters, the tuple of allowed values.
    """

    name: str
    kind: str
    inputs: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"layer name must be a non-empty string, got {self.name!r}")
        if self.kind not in KIND_PARAMS:
            raise ValueError(
                f"layer {self.name!r}: unknown layer kind {self.kind!r}; "
                f"expected one of {sorted(KIND_PARAMS)}"
            )
        inputs = (self.inputs,) if isinstance(self.inputs, str) else tuple(self.inputs)
        object.__setattr__(self, "inputs", inputs)
        allowed = KIND_PARAMS[self.kind]
        params = {**LAYER_DEFAULTS.get(self.kind, {}), **dict(self.params)}
        for key in list(params) + list(self.choices):
            if key not in allowed:
                raise ValueError(
                    f"layer {self.name!r} ({self.kind}): unknown hyperparameter {key!r}; "
                    f"expected one of {sorted(allowed)}"
                )
        owner = f"layer {self.name!r} ({self.kind})"
        params = {key: check_value(owner, key, value, kind=self.kind)
                  for key, value in params.items()}
        choices = {}
        for key, values in self.choices.items():
            values = _choice_tuple(owner, key, values)
            if not values:
                raise ValueError(
                    f"layer {self.name!r}: empty choice set for {key!r}; give at least one value"
                )
            values = tuple(check_value(owner, key, v, kind=self.kind,
                                       label=f"a choice of {key}")
                           for v in values)
            if len(set(values)) != len(values):
                raise ValueError(f"layer {self.name!r}: repeated values in choices {key}={values}")
            choices[key] = values
        object.__setattr__(self, "params", _freeze(params))
        object.__setattr__(self, "choices", _freeze(choices))

    def __reduce__(self):
        # mappingproxy values do not pickle; rebuild from plain dicts (processes, Dask, deepcopy).
        return (Layer, (self.name, self.kind, self.inputs, dict(self.params), dict(self.choices)))

    @property
    def tunable(self) -> bool:
        """Whether this layer is an agent (has at least one choice set)."""
        return bool(self.choices)

    @cached_property
    def actions(self) -> ActionSet:
        """The action set: one mapping of tuned values per action, in action-index order.

        A lazy sequence: an action's mapping is built when it is read, so a layer with millions
        of actions costs no memory until its actions are enumerated.
        """
        return ActionSet(self.choices)

    @property
    def num_actions(self) -> int:
        """``|A_i|``: the size of the action set (1 for a fixed layer)."""
        return len(self.actions)

    def action_values(self, action: int) -> dict[str, Any]:
        """The tuned values of ``action``.

        Raises:
            ValueError: If ``action`` is not in ``range(num_actions)``.
        """
        if (isinstance(action, bool) or not isinstance(action, numbers.Integral)
                or not 0 <= action < self.num_actions):
            raise ValueError(
                f"layer {self.name!r}: action {action!r} out of range; "
                f"expected an integer in [0, {self.num_actions})"
            )
        return dict(self.actions[int(action)])

    def hyperparameters(self, action: int | None = None) -> dict[str, Any]:
        """Fixed parameters overlaid with the values of ``action`` (original values if None)."""
        values = dict(self.params)
        if action is not None:
            values.update(self.action_values(action))
        return values

    def action_of(self, values: Mapping[str, Any]) -> int:
        """The action index whose tuned values equal ``values`` (extra keys are ignored).

        Raises:
            ValueError: If no action matches.
        """
        wanted = {k: values[k] for k in self.choices if k in values}
        for index, action in enumerate(self.actions):
            if all(action[k] == v for k, v in wanted.items()) and len(wanted) == len(action):
                return index
        raise ValueError(
            f"layer {self.name!r}: no action has values {dict(values)!r}; "
            f"choices are {dict(self.choices)!r}"
        )


def _layer(
    kind: str,
    name: str,
    inputs: str | Sequence[str],
    tune: Mapping[str, Sequence[Any]] | None,
    **params: Any,
) -> Layer:
    given = {k: v for k, v in params.items() if v is not None}
    return Layer(name, kind, tuple([inputs] if isinstance(inputs, str) else inputs), given,
                 dict(tune or {}))


def input_layer(name: str = "input") -> Layer:
    """The network input (its shape is the space's ``input_shape``)."""
    return Layer(name, "input")


def conv(name: str, inputs: str | Sequence[str], *, kernels: int, kernel_size: int = 3,
         stride: int = 1, activation: str | None = None,
         tune: Mapping[str, Sequence[Any]] | None = None) -> Layer:
    """A 2-D convolution with SAME padding. ``tune`` maps hyperparameters to choice sets."""
    return _layer("conv", name, inputs, tune, kernels=kernels, kernel_size=kernel_size,
                  stride=stride, activation=activation)


def upconv(name: str, inputs: str | Sequence[str], *, kernels: int, kernel_size: int = 2,
           stride: int = 2, activation: str | None = None,
           tune: Mapping[str, Sequence[Any]] | None = None) -> Layer:
    """A transposed convolution (up-conv) with SAME padding: output size = input size x stride."""
    return _layer("upconv", name, inputs, tune, kernels=kernels, kernel_size=kernel_size,
                  stride=stride, activation=activation)


def pool(name: str, inputs: str | Sequence[str], *, pool_size: int = 2, stride: int | None = None,
         tune: Mapping[str, Sequence[Any]] | None = None) -> Layer:
    """Max pooling with SAME padding; ``stride=None`` means stride = pool size."""
    return _layer("pool", name, inputs, tune, pool_size=pool_size, stride=stride)


def dense(name: str, inputs: str | Sequence[str], *, units: int, activation: str | None = None,
          tune: Mapping[str, Sequence[Any]] | None = None) -> Layer:
    """A fully connected layer; its input must be flat (after ``flatten`` or ``global_pool``)."""
    return _layer("dense", name, inputs, tune, units=units, activation=activation)


def activation(name: str, inputs: str | Sequence[str], fn: str | None = None) -> Layer:
    """An element-wise activation (``None``: the network's activation)."""
    return _layer("activation", name, inputs, None, fn=fn)


def batchnorm(name: str, inputs: str | Sequence[str]) -> Layer:
    """Batch normalisation over the channel axis."""
    return _layer("batchnorm", name, inputs, None)


def dropout(name: str, inputs: str | Sequence[str], rate: float = 0.5) -> Layer:
    """Dropout with the given rate (training only)."""
    return _layer("dropout", name, inputs, None, rate=rate)


def concat(name: str, inputs: Sequence[str]) -> Layer:
    """Channel concatenation (inception outputs, U-Net skips)."""
    return _layer("concat", name, inputs, None)


def add(name: str, inputs: Sequence[str]) -> Layer:
    """Element-wise sum (residual connections)."""
    return _layer("add", name, inputs, None)


def global_pool(name: str, inputs: str | Sequence[str]) -> Layer:
    """Global average pooling to a flat vector of channels."""
    return _layer("global_pool", name, inputs, None)


def flatten(name: str, inputs: str | Sequence[str]) -> Layer:
    """Flatten a feature map to a vector."""
    return _layer("flatten", name, inputs, None)


def output(name: str, inputs: str | Sequence[str]) -> Layer:
    """The logits layer; its width is the space's ``num_classes``."""
    return _layer("output", name, inputs, None)


def train(name: str, *, tune: Mapping[str, Sequence[Any]], **params: Any) -> Layer:
    """A non-layer agent tuning training hyperparameters (see :data:`TRAIN_KEYS`)."""
    return Layer(name, "train", (), params, dict(tune))
