"""Analytic shapes, parameter counts, FLOPs and model size of a design.

Conventions (the trainer builds exactly this network):

* **SAME padding**: a conv or pool with stride ``s`` maps ``n`` to ``max(1, ceil(n / s))``; an
  up-conv maps ``n`` to ``n * s``. A pool's stride defaults to its pool size.
* **Merges** (``concat``, ``add``) bring every input to the spatial size of their *first* input
  with nearest-neighbour resizing (U-Net skips after strided choices, inception branches with a
  stride). ``add`` also projects an input whose channels differ from the first input's with a
  1x1 convolution (ResNet's projection shortcut); its parameters and FLOPs are counted.
* **Segmentation output** is a 1x1 convolution to ``num_classes``, resized (nearest) to the input
  image's spatial size if a strided choice shrank it. Classification output is a dense layer.
* **Params** count every stored value: weights, biases, batch-norm scale, bias, mean and variance.
* **FLOPs** per image are ``2 x`` multiply-accumulates of conv, up-conv, dense, output and
  projection layers (other ops are not counted).
* **Model size** is ``params x 4`` bytes (float32) in MB of ``10**6`` bytes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnn_design_env.space.design import Design
from cnn_design_env.space.graph import SearchSpace

Shape = tuple[int, ...]
BYTES_PER_PARAM = 4
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LayerInfo:
    """What one layer of a design computes.

    Attributes:
        name: Layer name.
        kind: Layer kind.
        hparams: Resolved hyperparameters (pool stride filled in, activation resolved).
        input_shapes: Shapes of the inputs, before any merge resizing.
        output_shape: ``(H, W, C)`` for feature maps, ``(F,)`` for flat vectors.
        params: Stored values of this layer (projections of an ``add`` included).
        flops: FLOPs per image (2 x MACs).
        projected: For ``add``: indices of inputs projected by a 1x1 conv to the first input's
            channels.
    """

    name: str
    kind: str
    hparams: Mapping[str, Any]
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    flops: int
    projected: tuple[int, ...] = ()


@dataclass(frozen=True)
class Analysis:
    """Per-layer :class:`LayerInfo` in topological order, with totals."""

    layers: tuple[LayerInfo, ...]
    params: int
    flops: int

    @property
    def model_size_mb(self) -> float:
        """Model size in MB (float32 values, 10**6 bytes per MB)."""
        return self.params * BYTES_PER_PARAM / 1e6

    @property
    def output_shape(self) -> Shape:
        """Shape of the network output for one image."""
        return self.layers[-1].output_shape

    def __getitem__(self, name: str) -> LayerInfo:
        for info in self.layers:
            if info.name == name:
                return info
        raise KeyError(name)


def same_size(n: int, stride: int) -> int:
    """Output length of a SAME-padded conv or pool: ``max(1, ceil(n / stride))``."""
    return max(1, math.ceil(n / stride))


def analyze(space: SearchSpace, design: Design | None = None, *,
            hparams: Mapping[str, Mapping[str, Any]] | None = None) -> Analysis:
    """Shapes, params and FLOPs of ``design`` (or of explicit per-layer ``hparams``).

    Args:
        space: The search space.
        design: A design of ``space``; ``None`` with no ``hparams`` means the original network.
        hparams: Per-layer hyperparameters (as from ``space.hyperparameters``), overriding
            ``design``; lets a user analyse values outside the choice sets.

    Raises:
        ValueError: If a layer gets an input of the wrong rank (a dense layer on a feature map, a
            conv on a flat vector) or a hyperparameter is not a positive integer; or, for a
            design (no ``hparams``), if its parameters or FLOPs exceed the space's
            ``max_params`` / ``max_flops`` (the message gives the estimate and the limit).
    """
    if hparams is not None:
        return _analyze(space, hparams, design)
    analysis = _analyze(space, space.hyperparameters(design), design)
    problem = _over_limit(space, analysis, "design " + (
        "(the original network)" if design is None else str(tuple(Design(tuple(design))))))
    if problem:
        raise ValueError(problem)
    return analysis


def _analyze(space: SearchSpace, values: Mapping[str, Mapping[str, Any]],
             design: Design | None) -> Analysis:
    activation = space.training_settings(design).get("activation", "relu")
    shapes: dict[str, Shape] = {}
    infos: list[LayerInfo] = []
    for layer in space.graph_layers:
        hp = dict(values[layer.name])
        if "activation" in hp and hp["activation"] is None:
            hp["activation"] = activation
        if layer.kind == "activation" and hp.get("fn") is None:
            hp["fn"] = activation
        in_shapes = tuple(shapes[s] for s in layer.inputs)
        info = _layer_info(space, layer.name, layer.kind, hp, in_shapes)
        shapes[layer.name] = info.output_shape
        infos.append(info)
    return Analysis(tuple(infos), sum(i.params for i in infos), sum(i.flops for i in infos))


def _positive(layer: str, hp: Mapping[str, Any], *keys: str) -> None:
    for key in keys:
        value = hp.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"layer {layer!r}: {key} must be a positive integer, got {value!r}")


def _spatial(layer: str, kind: str, shape: Shape) -> Shape:
    if len(shape) != 3:
        raise ValueError(f"{kind} layer {layer!r} needs a feature map (H, W, C) input, got "
                         f"shape {shape}; it cannot follow a flatten, global_pool or dense layer")
    return shape


def _layer_info(space: SearchSpace, name: str, kind: str, hp: dict[str, Any],
                in_shapes: tuple[Shape, ...]) -> LayerInfo:
    params = flops = 0
    projected: tuple[int, ...] = ()
    if kind == "input":
        out: Shape = space.input_shape
    elif kind in ("conv", "upconv"):
        _positive(name, hp, "kernels", "kernel_size", "stride")
        h, w, c = _spatial(name, kind, in_shapes[0])
        k, s, n = hp["kernel_size"], hp["stride"], hp["kernels"]
        if kind == "conv":
            out = (same_size(h, s), same_size(w, s), n)
            flops = 2 * k * k * c * n * out[0] * out[1]
        else:
            out = (h * s, w * s, n)
            flops = 2 * k * k * c * n * h * w
        params = k * k * c * n + n
    elif kind == "pool":
        if hp.get("stride") is None:
            hp["stride"] = hp["pool_size"]
        _positive(name, hp, "pool_size", "stride")
        h, w, c = _spatial(name, kind, in_shapes[0])
        out = (same_size(h, hp["stride"]), same_size(w, hp["stride"]), c)
    elif kind in ("dense", "output") and (kind == "dense" or space.task == "classification"):
        if len(in_shapes[0]) != 1:
            raise ValueError(f"{kind} layer {name!r} needs a flat input, got shape "
                             f"{in_shapes[0]}; add a flatten or global_pool layer before it")
        units = space.num_classes if kind == "output" else hp["units"]
        if kind == "dense":
            _positive(name, hp, "units")
        params = in_shapes[0][0] * units + units
        flops = 2 * in_shapes[0][0] * units
        out = (units,)
    elif kind == "output":  # segmentation: 1x1 conv, resized to the input's spatial size
        h, w, c = _spatial(name, kind, in_shapes[0])
        n = space.num_classes
        params, flops = c * n + n, 2 * c * n * h * w
        out = (space.input_shape[0], space.input_shape[1], n)
    elif kind in ("concat", "add"):
        for shape in in_shapes:
            _spatial(name, kind, shape)
        h, w, c0 = in_shapes[0]
        if kind == "concat":
            out = (h, w, sum(s[2] for s in in_shapes))
        else:
            projected = tuple(i for i, s in enumerate(in_shapes) if s[2] != c0)
            for i in projected:
                cin = in_shapes[i][2]
                params += cin * c0 + c0
                flops += 2 * cin * c0 * h * w
            out = (h, w, c0)
    elif kind == "batchnorm":
        out = in_shapes[0]
        params = 4 * out[-1]
    elif kind == "global_pool":
        out = (_spatial(name, kind, in_shapes[0])[2],)
    elif kind == "flatten":
        out = (math.prod(in_shapes[0]),)
    else:  # activation, dropout
        out = in_shapes[0]
    return LayerInfo(name, kind, hp, in_shapes, out, params, flops, projected)



_GROWS = frozenset({"kernels", "units", "kernel_size"})


def extreme_hyperparameters(space: SearchSpace, *, largest: bool = True
                            ) -> dict[str, dict[str, Any]]:
    """Per-layer hyperparameters of the space's largest (or smallest) network: every tuned value
    at its extreme.

    Largest: the largest kernels, units and kernel sizes, the smallest conv and pool strides and
    pool sizes (which keep feature maps largest) and the largest up-conv strides; smallest: the
    opposite. Parameters and FLOPs grow with each of these choices, so the two networks bound
    every design's (up to the 1x1 projections of an ``add``, which only a channel mismatch adds).

    Example:
        >>> from cnn_design_env.space import get_space
        >>> space = get_space("vgg_mini")
        >>> dict(space.by_name["conv1"].choices)
        {'kernels': (8, 16, 32), 'kernel_size': (3, 5), 'stride': (1, 2)}
        >>> largest = extreme_hyperparameters(space)["conv1"]
        >>> smallest = extreme_hyperparameters(space, largest=False)["conv1"]
        >>> [(h["kernels"], h["kernel_size"], h["stride"]) for h in (largest, smallest)]
        [(32, 5, 1), (8, 3, 2)]
    """
    values: dict[str, dict[str, Any]] = {}
    for layer in space.layers:
        hp = dict(layer.params)
        for key in sorted(layer.choices, key=lambda k: k == "stride"):  # pool size first
            options = layer.choices[key]
            if key in _GROWS or key == "pool_size":
                grows = key in _GROWS
                hp[key] = max(options) if grows == largest else min(options)
            elif key == "stride":  # a pool's None stride is its pool size
                strides = [hp.get("pool_size") or 1 if o is None else o for o in options]
                grows = layer.kind == "upconv"
                hp[key] = max(strides) if grows == largest else min(strides)
            else:
                hp[key] = options[0]
        values[layer.name] = hp
    return values


def check_limits(space: SearchSpace) -> None:
    """Check the space at construction: every layer's input rank, and its smallest network
    (:func:`extreme_hyperparameters`) within ``space.max_params`` / ``space.max_flops``.

    A largest network above a limit is logged as a warning: the designs above it are refused
    when analysed (:func:`analyze`), so the trainer scores them as terminated evaluations.

    Raises:
        ValueError: On a rank mismatch (a dense layer on a feature map, a conv on a flat
            vector), or a smallest network above a limit (no design could be trained).
    """
    smallest = _analyze(space, extreme_hyperparameters(space, largest=False), None)
    problem = _over_limit(space, smallest, "even its smallest design")
    if problem:
        raise ValueError(problem)
    largest = _analyze(space, extreme_hyperparameters(space, largest=True), None)
    problem = _over_limit(space, largest, "its largest design")
    if problem:
        logger.warning("%s; such designs are refused (terminated evaluations)", problem)


def _over_limit(space: SearchSpace, analysis: Analysis, what: str) -> str | None:
    for key, label, total, limit in (
            ("params", "parameters", analysis.params, space.max_params),
            ("flops", "FLOPs per image", analysis.flops, space.max_flops)):
        if limit is not None and total > limit:
            top = max(analysis.layers, key=lambda info: getattr(info, key))
            size = f" ({analysis.model_size_mb:,.1f} MB of float32)" if key == "params" else ""
            hparams = f" ({dict(top.hparams)})" if top.hparams else ""
            return (f"space {space.name!r}: {what} has {total:,} {label}{size}, above the limit "
                    f"max_{key}={limit:,}; layer {top.name!r} alone has {getattr(top, key):,}"
                    f"{hparams}; shrink the choices or give the SearchSpace a larger max_{key} "
                    "(None: no limit)")
    return None
