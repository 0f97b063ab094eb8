"""The masked form: a design trained inside its shape signature's envelope network.

What forces a new XLA program is what changes tensor shapes between layers: strides, pool
sizes (hence every spatial size), the number of classes, the ``add`` projections, the batch
size, optimiser and loss. Widths (``kernels``, ``units``) and kernel sizes need not: the
*envelope* of a design is the same design with every tuned width and kernel size at the
largest value of its choice set, and every design with the same envelope runs the envelope's
compiled program, realised by 0/1 masks over the envelope's parameters:

* a conv / up-conv kernel keeps the design's taps (placed where SAME padding puts them, see
  :func:`tap_offset`), its input channels and its output channels; its bias the output ones;
* a dense / output layer keeps the rows of the design's input features (after ``flatten``:
  every position of the active channels) and its units;
* batch norm and ``add`` projections keep the active channels.

The network applied is ``envelope.apply(params * masks, ...)``: an inactive channel computes
``act(0)``, a constant that every consumer multiplies by a masked (zero) weight, so the active
values are exactly the design's (up to float32 summation order); masked parameters get zero
gradients, start at zero and stay zero under every optimiser of
:func:`~cnn_design_env.train.loop.make_optimizer`. The initial values are the design's own
(:meth:`Embedding.embed` places ``network.init(rng)`` in the envelope's tensors), so the loss
curve and accuracy match the exact network's on a fixed seed (tested on every small preset).

Even kernels embed exactly too, under SAME padding: with ``t`` the total padding of the
small kernel, the large one pads ``t + K - k``, so the difference of the low paddings lies in
``[floor((K - k) / 2), ceil((K - k) / 2)]`` (and in ``[0, K - k]`` when SAME's padding is
clipped at 0, or for transposed convs); :func:`tap_offset` computes it per axis (tested
exhaustively on small sizes). Where an exact embedding does not exist, :func:`embedding` raises
:class:`MaskingError` with the reason and the trainer keeps the exact program: dropout with a
rate above 0 (its mask is drawn over the tensor's shape), an ``add`` whose unprojected inputs
have different envelope widths or channel layouts, and a design whose ``add`` projections
differ from its envelope's (widths decide which inputs are projected).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import jax
import numpy as np

from cnn_design_env.space import Design, LayerInfo, SearchSpace, analyze
from cnn_design_env.train.model import Network, Params, State, _draw, _layer_specs
from cnn_design_env.train.ops import same_padding

Index = tuple[np.ndarray, ...]
"""Per axis of a parameter, the envelope positions of the design's entries (``np.ix_``)."""
WIDTH_KEYS = {"conv": ("kernels", "kernel_size"), "upconv": ("kernels", "kernel_size"),
              "dense": ("units",)}


class MaskingError(ValueError):
    """A design that has no exact masked form (the reason is the message)."""


def envelope_hparams(space: SearchSpace, design: Design, *, kernel_sizes: bool = True
                     ) -> dict[str, dict[str, Any]]:
    """Per-layer hyperparameters of ``design`` with tuned widths (and, with ``kernel_sizes``,
    kernel sizes) at their largest choice (everything else, activations resolved, as in the
    design)."""
    values = space.hyperparameters(design)
    activation = space.training_settings(design).get("activation", "relu")
    out = {}
    for layer in space.graph_layers:
        hp = dict(values[layer.name])
        if "activation" in hp and hp["activation"] is None:
            hp["activation"] = activation
        if layer.kind == "activation" and hp.get("fn") is None:
            hp["fn"] = activation
        for key in WIDTH_KEYS.get(layer.kind, ()):
            if key in layer.choices and (kernel_sizes or key != "kernel_size"):
                hp[key] = max(layer.choices[key])
        out[layer.name] = hp
    return out


def envelope(space: SearchSpace, design: Design, *, kernel_sizes: bool = True) -> Network:
    """The envelope network of ``design`` (its :attr:`Network.signature` keys the program);
    ``kernel_sizes=False`` keeps the design's kernel sizes (fewer wasted FLOPs, more
    programs: what the layer-wise masked steps use)."""
    hparams = envelope_hparams(space, design, kernel_sizes=kernel_sizes)
    return Network(space, analyze(space, design, hparams=hparams))


def tap_offset(kind: str, size: int, k: int, big: int, stride: int) -> int:
    """Where a ``k``-tap kernel sits inside a ``big``-tap one along an axis of ``size`` so that
    both compute the same SAME-padded conv (``kind="conv"``) or transposed conv (``"upconv"``).

    A conv reads input ``i * stride + t - low`` with tap ``t`` (``low``: SAME's low padding,
    :func:`~cnn_design_env.train.ops.same_padding`); a transposed conv (JAX's
    ``conv_transpose``) pads its dilated input by ``k - 1`` (``stride > k - 1``) or
    ``ceil((k + stride - 2) / 2)`` low. The offset is the difference of the low paddings.

    Raises:
        MaskingError: If the offset leaves the large kernel.

    Example:
        >>> tap_offset("conv", 8, 3, 5, 1), tap_offset("conv", 8, 1, 3, 2)
        (1, 0)
        >>> tap_offset("conv", 8, 2, 3, 1), tap_offset("upconv", 4, 2, 3, 2)
        (1, 1)
    """
    if kind == "conv":
        offset = same_padding(size, big, stride)[1] - same_padding(size, k, stride)[1]
    else:
        offset = _transpose_low(big, stride) - _transpose_low(k, stride)
    if not 0 <= offset <= big - k:
        raise MaskingError(f"a {k}x{k} kernel cannot be placed in a {big}x{big} one under SAME "
                          f"padding (size {size}, stride {stride}, offset {offset})")
    return offset


def _transpose_low(k: int, stride: int) -> int:
    return k - 1 if stride > k - 1 else math.ceil((k + stride - 2) / 2)


@dataclass(frozen=True, eq=False)
class Embedding:
    """How one design's parameters sit in its envelope's.

    Attributes:
        network: The design's exact network.
        envelope: The envelope network (its program is shared).
        index: ``{layer: {name: Index}}`` for every parameter and state array.
    """

    network: Network
    envelope: Network
    index: Mapping[str, Mapping[str, Index]]

    @cached_property
    def masks(self) -> Params:
        """0/1 float32 masks shaped like the envelope's parameters (1: the design's entries)."""
        params, _ = self.envelope.abstract()
        out: Params = {}
        for layer, leaves in params.items():
            out[layer] = {}
            for name, leaf in leaves.items():
                mask = np.zeros(leaf.shape, np.float32)
                mask[np.ix_(*self.index[layer][name])] = 1.0
                out[layer][name] = mask
        return out

    def embed(self, params: Params, state: State) -> tuple[Params, State]:
        """The design's ``params`` and ``state`` placed in envelope-shaped NumPy arrays
        (parameters 0 elsewhere, state at its initial value elsewhere)."""
        big_p: Params = {}
        big_s: State = {}
        for info in self.envelope.analysis.layers:
            p_spec, s_spec = _layer_specs(info)
            for spec, small, big, zero in ((p_spec, params, big_p, True),
                                           (s_spec, state, big_s, False)):
                if not spec:
                    continue
                big[info.name] = {}
                for name, (shape, init) in spec.items():
                    array = (np.zeros(shape, np.float32) if zero
                             else _draw(np.random.default_rng(0), shape, init))
                    array[np.ix_(*self.index[info.name][name])] = np.asarray(
                        small[info.name][name])
                    big[info.name][name] = array
        return big_p, big_s

    def extract(self, params: Params, state: State) -> tuple[Params, State]:
        """Inverse of :meth:`embed`: the design's own arrays out of envelope-shaped ones."""
        def take(tree: Mapping) -> dict:
            return {layer: {name: np.asarray(value)[np.ix_(*self.index[layer][name])]
                            for name, value in leaves.items()}
                    for layer, leaves in tree.items()}
        return take(params), take(state)


def masked_params(params: Params, masks: Params) -> Params:
    """``params * masks`` leaf by leaf (what the masked program applies)."""
    return jax.tree.map(lambda p, m: p * m, params, masks)


def embedding(space: SearchSpace, design: Design, *, kernel_sizes: bool = True) -> Embedding:
    """The :class:`Embedding` of ``design`` in its envelope (see :func:`envelope`).

    Raises:
        MaskingError: If the design has no exact masked form (see the module docstring).
    """
    exact = Network(space, analyze(space, design))
    big = envelope(space, design, kernel_sizes=kernel_sizes)
    layout: dict[str, np.ndarray] = {}
    index: dict[str, dict[str, Index]] = {}
    for d, e in zip(exact.analysis.layers, big.analysis.layers, strict=True):
        if d.output_shape[:-1] != e.output_shape[:-1] or d.projected != e.projected:
            raise MaskingError(f"layer {d.name!r}: the envelope changes its shape or projections")
        ins = [layout[src] for src in space.by_name[d.name].inputs]
        layout[d.name], index[d.name] = _layer_index(d, e, ins)
    return Embedding(exact, big, index)


def _layer_index(d: LayerInfo, e: LayerInfo, ins: list[np.ndarray]
                 ) -> tuple[np.ndarray, dict[str, Index]]:
    """The channel layout of a layer's output and the index of its parameters."""
    kind, hp = d.kind, d.hparams
    if kind == "input":
        return np.arange(d.output_shape[-1]), {}
    if kind in ("conv", "upconv"):
        k, big, n, s = hp["kernel_size"], e.hparams["kernel_size"], hp["kernels"], hp["stride"]
        h, w = d.input_shapes[0][:2]
        taps = [tap_offset(kind, size, k, big, s) + np.arange(k) for size in (h, w)]
        out = np.arange(n)
        return out, {"w": (taps[0], taps[1], ins[0], out), "b": (out,)}
    if kind in ("dense", "output"):
        out = np.arange(d.output_shape[-1])
        return out, {"w": (ins[0], out), "b": (out,)}
    if kind == "flatten":
        h, w, c = e.input_shapes[0]
        return np.add.outer(np.arange(h * w) * c, ins[0]).ravel(), {}
    if kind == "concat":
        starts = np.cumsum([0] + [shape[-1] for shape in e.input_shapes[:-1]])
        return np.concatenate([lay + start for lay, start in zip(ins, starts, strict=True)]), {}
    if kind == "add":
        index: dict[str, Index] = {}
        for i in range(1, len(ins)):
            if i in d.projected:
                index[f"proj{i}_w"], index[f"proj{i}_b"] = (ins[i], ins[0]), (ins[0],)
            elif (e.input_shapes[i][-1] != e.input_shapes[0][-1]
                  or not np.array_equal(ins[i], ins[0])):
                raise MaskingError(f"add {d.name!r}: input {i} has another envelope width or "
                                  "channel layout than input 0")
        return ins[0], index
    if kind == "batchnorm":
        return ins[0], {name: (ins[0],) for name in ("scale", "bias", "mean", "var")}
    if kind == "dropout" and hp.get("rate", 0) > 0:
        raise MaskingError(f"dropout {d.name!r}: its mask is drawn over the tensor's shape")
    return ins[0], {}  # pool, activation, dropout(0), global_pool: channel-wise
