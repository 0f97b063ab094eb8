"""A design as a pure JAX function: ``Network.apply(params, state, x)`` with NumPy initialisation.

:func:`build_network` turns a design of a :class:`~cnn_design_env.space.SearchSpace` into a
:class:`Network`: the layer graph of :func:`~cnn_design_env.space.analyze` (every shape, merge
resize and ``add`` projection already resolved) and a pure ``apply`` over a parameter pytree. The
network follows the conventions of :mod:`cnn_design_env.space.analysis` exactly, so the analytic
parameter count equals the number of stored values (``Network.count(params, state)``):

* NHWC feature maps, float32. Convs and pools use SAME padding; an up-conv is a transposed conv
  with SAME padding (``n -> n * stride``); max pooling's stride defaults to its size.
* ``concat`` / ``add`` resize every input to the first input's spatial size (nearest neighbour,
  half-pixel centres); ``add`` projects inputs with other channel counts by a 1x1 conv.
* The output is a dense layer (classification logits, ``(N, num_classes)``) or a 1x1 conv
  resized to the input's size (segmentation logits, ``(N, H, W, num_classes)``), no activation.
* Batch norm normalises with batch statistics in training and running averages at evaluation
  (``state``); dropout draws its mask from the ``key`` given to ``apply``.

Initialisation is NumPy (He-normal weights, Lecun-normal for the output layer, zero biases) from
an explicit :class:`numpy.random.Generator`: no Flax module is traced or run eagerly, which makes
a new architecture cheap to set up. The parameter pytree is a ``dict`` of ``dict`` of arrays keyed
by layer name, so it works with any JAX transformation, Optax, or ``flax.nnx`` containers.

Nothing here assumes a CPU: the same functions run on a GPU when JAX sees one.

Example:
    >>> import numpy as np
    >>> from cnn_design_env.space import get_space
    >>> space = get_space("vgg_mini")
    >>> net = build_network(space, space.sample(np.random.default_rng(0)))
    >>> params, state = net.init(np.random.default_rng(0))
    >>> net.count(params, state) == net.analysis.params
    True
    >>> logits, _ = net.apply(params, state, np.zeros((2, 8, 8, 1), np.float32), train=False)
    >>> logits.shape
    (2, 10)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from cnn_design_env.space import Analysis, Design, LayerInfo, SearchSpace, analyze
from cnn_design_env.train.ops import CONV_DIMS, conv2d, max_pool

Params = dict[str, dict[str, Any]]
"""Trainable values: ``{layer name: {"w": ..., "b": ...}}`` (``add`` layers: ``proj<i>_w``...)."""
State = dict[str, dict[str, Any]]
"""Non-trainable values: batch-norm running ``mean`` and ``var`` per batch-norm layer."""

ACTIVATIONS: Mapping[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "elu": jax.nn.elu,
    "gelu": jax.nn.gelu,
    "selu": jax.nn.selu,
    "silu": jax.nn.silu,
    "swish": jax.nn.silu,
    "leaky_relu": jax.nn.leaky_relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "softplus": jax.nn.softplus,
    "linear": lambda x: x,
}
"""Activation names accepted in layers and by the ``activation`` training setting."""

BN_MOMENTUM = 0.9
"""Running-average momentum of batch norm (short trainings favour a fast average)."""
BN_EPSILON = 1e-5


def activation_fn(name: str) -> Callable[[jax.Array], jax.Array]:
    """The activation function called ``name``.

    Raises:
        ValueError: If ``name`` is not one of :data:`ACTIVATIONS`.
    """
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown activation {name!r}; expected one of "
                         f"{sorted(ACTIVATIONS)}") from None


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Source indices of nearest-neighbour resizing from ``n_in`` to ``n_out`` (half-pixel).

    Example:
        >>> nearest_indices(2, 4).tolist(), nearest_indices(4, 2).tolist()
        ([0, 0, 1, 1], [1, 3])
    """
    centres = (np.arange(n_out) + 0.5) * (n_in / n_out)
    return np.minimum(np.floor(centres), n_in - 1).astype(np.int32)


def resize_nearest(x: jax.Array, height: int, width: int) -> jax.Array:
    """Resize an NHWC map to ``(height, width)`` by nearest neighbour (a no-op if equal)."""
    _, h, w, _ = x.shape
    if h != height:
        x = (jnp.repeat(x, height // h, axis=1) if height % h == 0
             else jnp.take(x, nearest_indices(h, height), axis=1))
    if w != width:
        x = (jnp.repeat(x, width // w, axis=2) if width % w == 0
             else jnp.take(x, nearest_indices(w, width), axis=2))
    return x


@dataclass(frozen=True, eq=False)
class Network:
    """One design of a space as a pure function of its parameters.

    Attributes:
        space: The search space.
        analysis: The resolved layer graph (shapes, hyperparameters, projections).
    """

    space: SearchSpace
    analysis: Analysis

    @cached_property
    def signature(self) -> tuple:
        """A hashable key of everything that determines the computation (not the layer names).

        Two designs with the same signature compile to the same program.
        """
        return (self.space.task, self.space.num_classes, self.space.input_shape, tuple(
            (info.kind, tuple(sorted(info.hparams.items())),
             info.input_shapes, self._input_positions(info), info.projected)
            for info in self.analysis.layers))

    def _input_positions(self, info: LayerInfo) -> tuple[int, ...]:
        order = {la.name: i for i, la in enumerate(self.analysis.layers)}
        return tuple(order[src] for src in self.space.by_name[info.name].inputs)

    @cached_property
    def has_dropout(self) -> bool:
        """Whether ``apply(train=True)`` needs a random key."""
        return any(info.kind == "dropout" and info.hparams["rate"] > 0
                   for info in self.analysis.layers)

    # ------------------------------------------------------------------ init
    def init(self, rng: np.random.Generator) -> tuple[Params, State]:
        """Fresh NumPy float32 parameters and batch-norm state drawn from ``rng``."""
        params: Params = {}
        state: State = {}
        for info in self.analysis.layers:
            p, s = _layer_specs(info)
            if p:
                params[info.name] = {k: _draw(rng, shape, init) for k, (shape, init) in p.items()}
            if s:
                state[info.name] = {k: _draw(rng, shape, init) for k, (shape, init) in s.items()}
        return params, state

    def abstract(self) -> tuple[Params, State]:
        """``jax.ShapeDtypeStruct`` trees shaped like :meth:`init`'s result (nothing drawn)."""
        params: Params = {}
        state: State = {}
        for info in self.analysis.layers:
            p, s = _layer_specs(info)
            for tree, spec in ((params, p), (state, s)):
                if spec:
                    tree[info.name] = {k: jax.ShapeDtypeStruct(shape, jnp.float32)
                                       for k, (shape, _) in spec.items()}
        return params, state

    @staticmethod
    def count(params: Params, state: State) -> int:
        """Number of stored values in ``params`` and ``state`` (arrays or shape structs)."""
        return sum(math.prod(leaf.shape) for leaf in jax.tree_util.tree_leaves((params, state)))

    # ----------------------------------------------------------------- apply
    def apply(self, params: Params, state: State, x: jax.Array, *, train: bool,
              key: jax.Array | None = None) -> tuple[jax.Array, State]:
        """Logits of a batch ``x`` (NHWC) and the updated batch-norm state.

        Args:
            params: Trainable values (from :meth:`init`, possibly trained).
            state: Batch-norm running statistics.
            x: Input batch of shape ``(N, *space.input_shape)``.
            train: Training mode (batch statistics, dropout) or evaluation mode.
            key: JAX random key for dropout; required when ``train`` and :attr:`has_dropout`.
                The trainer uses ``rbg`` keys (:func:`cnn_design_env.train.loop.dropout_key`):
                the default threefry PRNG compiles far slower on a CPU.

        Returns:
            ``(logits, new_state)``; ``new_state is state`` in evaluation mode.
        """
        if train and self.has_dropout and key is None:
            raise ValueError("Network.apply(train=True) needs a random key for dropout")
        values: dict[str, jax.Array] = {}
        new_state = dict(state)
        for index, info in enumerate(self.analysis.layers):
            if info.kind == "input":
                values[info.name] = jnp.asarray(x)
                continue
            inputs = [values[src] for src in self.space.by_name[info.name].inputs]
            layer_key = (jax.random.fold_in(key, index)
                         if train and info.kind == "dropout" and key is not None else None)
            out, layer_state = apply_layer(self.space, info, params.get(info.name, {}),
                                           state.get(info.name), inputs, train=train,
                                           key=layer_key)
            if layer_state is not None:
                new_state[info.name] = layer_state
            values[info.name] = out
        return values[self.analysis.layers[-1].name], (new_state if train else state)

    def inputs_of(self, info: LayerInfo) -> tuple[str, ...]:
        """Names of the layers feeding ``info`` (in the order ``apply_layer`` expects)."""
        return tuple(self.space.by_name[info.name].inputs)


def build_network(space: SearchSpace, design: Design | None = None) -> Network:
    """The :class:`Network` of ``design`` (the original network if ``None``).

    Raises:
        ValueError: If the design does not belong to ``space``, a layer gets an input of the
            wrong rank, an activation is unknown or a dropout rate is not in ``[0, 1)``.
    """
    analysis = analyze(space, design)
    for info in analysis.layers:
        for key in ("activation", "fn"):
            if key in info.hparams:
                activation_fn(info.hparams[key])
        rate = info.hparams.get("rate", 0.0) if info.kind == "dropout" else 0.0
        if not isinstance(rate, int | float) or not 0 <= rate < 1:
            raise ValueError(f"dropout layer {info.name!r}: rate must be in [0, 1), got {rate!r}")
    return Network(space, analysis)


# --------------------------------------------------------------------- layer functions
Init = tuple[str, int, float]
"""How a value is initialised: ``("normal", fan_in, gain)``, ``("zeros", 0, 0)`` or
``("ones", 0, 0)``."""
Spec = dict[str, tuple[tuple[int, ...], Init]]

_ZEROS: Init = ("zeros", 0, 0.0)
_ONES: Init = ("ones", 0, 0.0)


def _he(fan_in: int, gain: float = 2.0) -> Init:
    return ("normal", fan_in, gain)


def _layer_specs(info: LayerInfo) -> tuple[Spec, Spec]:
    """Shapes and initialisers of one layer's parameters and state."""
    hp, kind = info.hparams, info.kind
    if kind in ("conv", "upconv"):
        k, cin, n = hp["kernel_size"], info.input_shapes[0][-1], hp["kernels"]
        return {"w": ((k, k, cin, n), _he(k * k * cin)), "b": ((n,), _ZEROS)}, {}
    if kind in ("dense", "output"):
        fan_in, units = info.input_shapes[0][-1], info.output_shape[-1]
        shape = (fan_in, units)  # segmentation output: a 1x1 conv as a matmul on channels
        return {"w": (shape, _he(fan_in, 1.0 if kind == "output" else 2.0)),
                "b": ((units,), _ZEROS)}, {}
    if kind == "add":
        c0 = info.output_shape[-1]
        params: Spec = {}
        for i in info.projected:
            cin = info.input_shapes[i][-1]
            params[f"proj{i}_w"] = ((cin, c0), _he(cin, 1.0))
            params[f"proj{i}_b"] = ((c0,), _ZEROS)
        return params, {}
    if kind == "batchnorm":
        c = (info.output_shape[-1],)
        return {"scale": (c, _ONES), "bias": (c, _ZEROS)}, {"mean": (c, _ZEROS), "var": (c, _ONES)}
    return {}, {}


def _draw(rng: np.random.Generator, shape: tuple[int, ...], init: Init) -> np.ndarray:
    kind, fan_in, gain = init
    if kind == "zeros":
        return np.zeros(shape, np.float32)
    if kind == "ones":
        return np.ones(shape, np.float32)
    std = np.float32(np.sqrt(gain / max(1, fan_in)))
    return rng.standard_normal(shape, dtype=np.float32) * std


def apply_layer(space: SearchSpace, info: LayerInfo, p: Mapping[str, jax.Array],
                s: Mapping[str, jax.Array] | None, inputs: list[jax.Array], *, train: bool,
                key: jax.Array | None = None) -> tuple[jax.Array, dict[str, jax.Array] | None]:
    """One layer (not ``input``) of a network: its output and new batch-norm state (or ``None``).

    Args:
        space: The search space (task and input size matter for the output layer).
        info: The analysed layer.
        p: Its parameters (empty for layers without any).
        s: Its batch-norm state (``None`` for other layers).
        inputs: Its input values, in the order of the layer's ``inputs``.
        train: Training mode (batch statistics, dropout).
        key: This layer's dropout key (used only by a dropout layer in training mode).
    """
    if info.kind == "batchnorm":
        return _batchnorm(s, p, inputs[0], train)
    if info.kind == "dropout":
        rate = float(info.hparams["rate"])
        out = _dropout(inputs[0], rate, key) if train and rate > 0 else inputs[0]
        return out, None
    return _forward(space, info, p, inputs), None


def _forward(space: SearchSpace, info: LayerInfo, p: Mapping[str, jax.Array],
             inputs: list[jax.Array]) -> jax.Array:
    """One stateless layer (everything but input, batch norm and dropout)."""
    hp, kind, x = info.hparams, info.kind, inputs[0]
    if kind == "conv":
        return activation_fn(hp["activation"])(conv2d(x, p["w"], hp["stride"]) + p["b"])
    if kind == "upconv":
        s = hp["stride"]
        y = jax.lax.conv_transpose(x, p["w"], (s, s), "SAME", dimension_numbers=CONV_DIMS)
        return activation_fn(hp["activation"])(y + p["b"])
    if kind == "pool":
        return max_pool(x, hp["pool_size"], hp["stride"])
    if kind == "dense":
        return activation_fn(hp["activation"])(x @ p["w"] + p["b"])
    if kind == "output":
        y = x @ p["w"] + p["b"]
        if space.task == "segmentation":
            y = resize_nearest(y, space.input_shape[0], space.input_shape[1])
        return y
    if kind == "activation":
        return activation_fn(hp["fn"])(x)
    if kind in ("concat", "add"):
        h, w = info.output_shape[:2]
        resized = [resize_nearest(v, h, w) for v in inputs]
        if kind == "concat":
            return jnp.concatenate(resized, axis=-1)
        total = resized[0]
        for i, v in enumerate(resized[1:], start=1):
            if i in info.projected:
                v = v @ p[f"proj{i}_w"] + p[f"proj{i}_b"]
            total = total + v
        return total
    if kind == "global_pool":
        return jnp.mean(x, axis=(1, 2))
    if kind == "flatten":
        return x.reshape(x.shape[0], -1)
    raise ValueError(f"layer {info.name!r}: unsupported layer kind {kind!r}")


def _batchnorm(s: Mapping[str, jax.Array], p: Mapping[str, jax.Array], x: jax.Array,
               train: bool) -> tuple[jax.Array, dict[str, jax.Array]]:
    if train:
        axes = tuple(range(x.ndim - 1))
        mean = jnp.mean(x, axis=axes)
        var = jnp.mean(jnp.square(x - mean), axis=axes)
        new = {"mean": BN_MOMENTUM * s["mean"] + (1 - BN_MOMENTUM) * jax.lax.stop_gradient(mean),
               "var": BN_MOMENTUM * s["var"] + (1 - BN_MOMENTUM) * jax.lax.stop_gradient(var)}
    else:
        mean, var, new = s["mean"], s["var"], dict(s)
    y = (x - mean) * jax.lax.rsqrt(var + BN_EPSILON)
    return y * p["scale"] + p["bias"], new


def _dropout(x: jax.Array, rate: float, key: jax.Array) -> jax.Array:
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)
