"""Train and eval steps compiled per layer configuration and chained in Python.

The whole-network steps of :func:`cnn_design_env.train.loop.compile_steps` compile one XLA
program per architecture, so on a CPU every new candidate of a search pays seconds of
compilation for a few seconds of training. Here each layer is compiled on its own, keyed on what
determines its program (kind, hyperparameters, input and output shapes, batch size, optimiser,
mode), and kept in a :class:`LayerCache` its owner passes in; a new design made of layer
configurations seen before compiles nothing. Per layer and configuration there are three programs:

* ``forward``: the training-mode forward pass: ``(p, s, inputs, key) -> (out, new_s)``;
* ``backward``: recomputes the forward pass, takes the vector-Jacobian product with the
  cotangent of the output and applies the optimiser to the layer's parameters:
  ``(p, s, opt, inputs, g, key) -> (new_p, new_opt, input cotangents)``;
* ``infer``: the evaluation-mode forward pass (batch norm and dropout only; for the other
  kinds ``forward`` serves evaluation too).

The loss and its gradient, the evaluation statistics and the optimiser initialisation are small
programs of their own. The optimiser state is one Optax state per layer with parameters; every
optimiser of :func:`~cnn_design_env.train.loop.make_optimizer` acts leaf by leaf, so the updates
equal those of the whole-network step (same dropout masks too: the same keys are folded in).

Costs: about ``2 x layers`` dispatches per batch instead of one and one extra forward
convolution per layer in the backward pass (no residuals cross program boundaries), which loses
on large networks and long trainings; it wins when compilation dominates (small candidates on a
CPU). ``loop.compile_steps(..., compile="auto")`` picks between the two.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

from cnn_design_env.space import LayerInfo
from cnn_design_env.train.masked import masked_params
from cnn_design_env.train.model import Network, Params, State, _layer_specs, apply_layer
from cnn_design_env.train.settings import TrainerSettings, compile_with


class LayerCache:
    """An LRU of compiled per-layer programs shared by every layer-wise step of the process.

    Args:
        maxsize: Programs kept.
    """

    def __init__(self, maxsize: int = 2048) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable, build: Callable[[], Any]) -> tuple[Any, float]:
        """The program for ``key`` (built on a miss) and the seconds spent building it."""
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key], 0.0
        start = time.perf_counter()
        program = build()
        self.misses += 1
        self._entries[key] = program
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return program, time.perf_counter() - start

    def clear(self) -> None:
        """Drop every program."""
        self._entries.clear()


def _compiled(settings: TrainerSettings | None, fn: Callable, *args: Any, **jit_kwargs: Any
              ) -> Any:
    """``fn`` jitted, lowered for ``args`` and compiled under ``settings``."""
    return compile_with(settings, jax.jit(fn, **jit_kwargs).lower(*args))


def _struct(shape: Sequence[int]) -> jax.ShapeDtypeStruct:
    return jax.ShapeDtypeStruct(tuple(shape), jnp.float32)


def _abstract_layer(info: LayerInfo) -> tuple[dict, dict | None]:
    p, s = _layer_specs(info)
    return ({k: _struct(shape) for k, (shape, _) in p.items()},
            {k: _struct(shape) for k, (shape, _) in s.items()} if s else None)


def _ident(network: Network, info: LayerInfo, batch_size: int, masked: bool) -> tuple:
    """What determines a layer's programs (the cache key without the program's role)."""
    masked = masked and bool(_layer_specs(info)[0])
    return (info.kind, tuple(sorted(info.hparams.items())), info.input_shapes,
            info.output_shape, info.projected, network.space.task, batch_size, masked)


def program_keys(network: Network, *, batch_size: int, tx_key: Hashable,
                 masked: bool = False) -> list[tuple]:
    """The :class:`LayerCache` keys of the layer programs :func:`layer_steps` uses for
    ``network`` (the loss and statistics programs not counted)."""
    keys: list[tuple] = []
    for info in network.analysis.layers:
        if info.kind == "input":
            continue
        ident = _ident(network, info, batch_size, masked)
        params = _abstract_layer(info)[0]
        keys += [("fwd", ident), ("bwd", ident, tx_key)]
        if info.kind in ("batchnorm", "dropout"):
            keys.append(("inf", ident))
        if params:
            keys.append(("opt", tuple(sorted((k, v.shape) for k, v in params.items())), tx_key))
    return keys


def missing_programs(network: Network, cache: LayerCache, *, batch_size: int,
                     tx_key: Hashable, masked: bool = False) -> int:
    """How many layer programs :func:`layer_steps` would compile for ``network`` now
    (the loss and statistics programs not counted)."""
    keys = program_keys(network, batch_size=batch_size, tx_key=tx_key, masked=masked)
    return sum(key not in cache for key in set(keys))


class _Layer:
    """The compiled programs of one layer of one network (masked: they take the masks too)."""

    def __init__(self, network: Network, info: LayerInfo, index: int, tx: Any,
                 tx_key: Hashable, batch_size: int, cache: LayerCache,
                 settings: TrainerSettings | None, masked: bool = False) -> None:
        self.name, self.index = info.name, index
        self.sources = network.inputs_of(info)
        self.has_params = bool(_layer_specs(info)[0])
        self.has_state = bool(_layer_specs(info)[1])
        self.masked = masked = masked and self.has_params
        space = network.space
        ident = _ident(network, info, batch_size, masked)
        p, s = _abstract_layer(info)
        xs = [_struct((batch_size, *shape)) for shape in info.input_shapes]
        key = jax.eval_shape(lambda: jax.random.key(0, impl="rbg"))
        opt = jax.eval_shape(tx.init, p) if self.has_params else None
        dropout = info.kind == "dropout"

        def forward(p, m, s, xs, key, train=True):
            used = masked_params(p, m) if masked else p
            return apply_layer(space, info, used, s, list(xs), train=train,
                               key=key if dropout else None)

        def backward(p, m, s, opt, xs, g, key):
            _out, vjp = jax.vjp(lambda p, xs: forward(p, m, s, xs, key)[0], p, xs)
            gp, gxs = vjp(g)
            if opt is None:
                return p, opt, gxs
            updates, opt = tx.update(gp, opt, p)
            return optax.apply_updates(p, updates), opt, gxs

        m = p if masked else {}
        g = _struct((batch_size, *info.output_shape))
        self.compile_s = 0.0
        self._forward = self._get(cache, ("fwd", ident),
                                  lambda: _compiled(settings, forward, p, m, s, xs, key))
        self._backward = self._get(cache, ("bwd", ident, tx_key), lambda: _compiled(
            settings, backward, p, m, s, opt, xs, g, key,
            donate_argnums=(0, 3) if self.has_params else ()))
        if info.kind in ("batchnorm", "dropout"):  # the only kinds with a training mode
            self._infer = self._get(cache, ("inf", ident), lambda: _compiled(
                settings, lambda p, m, s, xs: forward(p, m, s, xs, None, train=False)[0],
                p, m, s, xs))
        else:  # the training forward program serves evaluation too (one compile less)
            dummy = jax.random.key(0, impl="rbg")
            self._infer = lambda p, m, s, xs: self._forward(p, m, s, xs, dummy)[0]
        self.init_opt = (self._get(cache, ("opt", tuple(sorted((k, v.shape) for k, v in p.items())),
                                           tx_key), lambda: _compiled(settings, tx.init, p))
                         if self.has_params else None)

    def forward(self, p: Any, m: Any, s: Any, xs: Any, key: Any) -> Any:
        return self._forward(p, m if self.masked else {}, s, xs, key)

    def backward(self, p: Any, m: Any, s: Any, opt: Any, xs: Any, g: Any, key: Any) -> Any:
        return self._backward(p, m if self.masked else {}, s, opt, xs, g, key)

    def infer(self, p: Any, m: Any, s: Any, xs: Any) -> Any:
        return self._infer(p, m if self.masked else {}, s, xs)

    def _get(self, cache: LayerCache, key: Hashable, build: Callable[[], Any]) -> Any:
        program, seconds = cache.get(key, build)
        self.compile_s += seconds
        return program


def layer_steps(network: Network, tx: Any, loss_fn: Callable, *, batch_size: int,
                label_shape: Sequence[int] = (), tx_key: Hashable | None = None,
                cache: LayerCache | None = None, settings: TrainerSettings | None = None,
                masks: Params | None = None) -> tuple[Callable, Callable, Callable, float]:
    """``(train, evaluate, init_opt, compile_s)`` with the signatures of ``loop.Steps``.

    Args:
        network: The network.
        tx: Its optimiser (only its structure matters; settings are in its state).
        loss_fn: ``loss(logits, labels) -> scalar``.
        batch_size: Fixed batch size of every call.
        label_shape: Shape of one label.
        tx_key: A hashable naming the optimiser's structure in cache keys (default: ``tx``
            itself, so only steps built with the same object share optimiser programs).
        cache: Program cache, shared by every call given it (default: a fresh one).
        settings: Compiler options and persistent program store.
        masks: The masks of a design trained in ``network`` as its envelope
            (:mod:`.masked`): every layer with parameters applies ``params * masks``. Masked
            layer programs are shared by every design whose envelope has that layer.
    """
    cache = LayerCache() if cache is None else cache
    tx_key = tx if tx_key is None else tx_key
    infos = network.analysis.layers
    masked = masks is not None
    masks = masks or {}
    layers = [_Layer(network, info, i, tx, tx_key, batch_size, cache, settings, masked)
              for i, info in enumerate(infos) if info.kind != "input"]
    input_name = infos[0].name
    out_shape = (batch_size, *network.analysis.output_shape)
    logits = _struct(out_shape)
    labels = jax.ShapeDtypeStruct((batch_size, *label_shape), jnp.int32)
    mask = jax.ShapeDtypeStruct((batch_size,), jnp.float32)
    head_key = (out_shape, tuple(label_shape), network.space.task)
    grad, s1 = cache.get(("loss", head_key, loss_fn), lambda: _compiled(
        settings, jax.value_and_grad(loss_fn), logits, labels))
    stats, s2 = cache.get(("stats", head_key), lambda: _compiled(
        settings, lambda lg, y, m: eval_stats(network.space.task, lg, y, m), logits, labels, mask))
    compile_s = s1 + s2 + sum(layer.compile_s for layer in layers)
    dropout = network.has_dropout

    def train(params: Params, state: State, opt_state: dict, x: Any, y: Any, key: jax.Array,
              step: Any) -> tuple[Params, State, dict, jax.Array]:
        step_key = jax.random.fold_in(key, step) if dropout else key
        values = {input_name: x}
        keys = {}
        new_state = dict(state)
        for layer in layers:
            lkey = jax.random.fold_in(step_key, layer.index) if dropout else key
            keys[layer.name] = lkey
            xs = [values[src] for src in layer.sources]
            values[layer.name], s = layer.forward(params.get(layer.name, {}),
                                                  masks.get(layer.name), state.get(layer.name),
                                                  xs, lkey)
            if layer.has_state:
                new_state[layer.name] = s
        loss, g = grad(values[layers[-1].name], y)
        cot = {layers[-1].name: g}
        new_params, new_opt = dict(params), dict(opt_state)
        for layer in reversed(layers):
            xs = [values[src] for src in layer.sources]
            p, o, gxs = layer.backward(params.get(layer.name, {}), masks.get(layer.name),
                                       state.get(layer.name),
                                       opt_state.get(layer.name), xs, cot.pop(layer.name),
                                       keys[layer.name])
            if layer.has_params:
                new_params[layer.name], new_opt[layer.name] = p, o
            for src, gx in zip(layer.sources, gxs, strict=True):
                if src != input_name:
                    cot[src] = cot[src] + gx if src in cot else gx
        return new_params, new_state, new_opt, loss

    def evaluate(params: Params, state: State, x: Any, y: Any, m: Any) -> jax.Array:
        values = {input_name: x}
        for layer in layers:
            values[layer.name] = layer.infer(params.get(layer.name, {}), masks.get(layer.name),
                                             state.get(layer.name),
                                             [values[src] for src in layer.sources])
        return stats(values[layers[-1].name], y, m)

    def init_opt(params: Params) -> dict:
        return {layer.name: layer.init_opt(params[layer.name])
                for layer in layers if layer.has_params}

    return train, evaluate, init_opt, compile_s


def eval_stats(task: str, logits: jax.Array, y: jax.Array, mask: jax.Array) -> jax.Array:
    """Summed evaluation statistics of a batch (``mask`` 0 marks padding).

    Returns:
        ``(1,)`` correct predictions (classification) or ``(3, K)`` sums of intersection,
        predicted and true pixels per class (segmentation).
    """
    pred = jnp.argmax(logits, axis=-1)
    if task == "classification":
        return jnp.sum((pred == y) * mask)[None]
    k = logits.shape[-1]
    m = mask.reshape((-1,) + (1,) * (pred.ndim - 1) + (1,))
    p = jax.nn.one_hot(pred, k) * m
    g = jax.nn.one_hot(y, k) * m
    axes = tuple(range(p.ndim - 1))
    return jnp.stack([jnp.sum(p * g, axis=axes), jnp.sum(p, axis=axes), jnp.sum(g, axis=axes)])
