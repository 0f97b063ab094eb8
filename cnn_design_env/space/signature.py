"""A canonical signature of the network a design builds: equal signatures, same network.

Two designs of a space can build the same network although their actions differ: under SAME
padding a pool over a map it already covers gives the same 1x1 output at every size, and a
kernel wider than the map it slides over has taps that only ever read padding. The signature
describes each layer by what it computes, not by the hyperparameters it was given:

* a ``conv`` by its output width, stride, activation and, per spatial axis, the *live* tap
  offsets: the offsets ``j - low_padding`` of the taps ``j`` that read a real input pixel for at
  least one output position (a dead tap multiplies zero padding only, so its weight never
  matters);
* a ``pool`` (max pooling, padding ignored) by the input index range each output position
  covers, per axis;
* every other layer by its kind, inputs and resolved hyperparameters; the training settings
  (optimizer, learning rate, ...) are part of the signature too.

Designs with the same signature compute the same function family and train the same way;
designs with different signatures differ in some layer's output shape, live weights or windows.

Pure Python: no JAX.

Example:
    >>> from cnn_design_env.space.tables import table_chain
    >>> space = table_chain()
    >>> a, b = (0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 1, 0, 0)  # pool2 size 2 or 3 after pool1 2
    >>> network_signature(space, a) == network_signature(space, b)
    True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from cnn_design_env.space.analysis import LayerInfo, analyze
from cnn_design_env.space.design import Design
from cnn_design_env.space.graph import SearchSpace


def _same(size: int, window: int, stride: int) -> tuple[int, int]:
    """Output size and low padding of SAME padding (XLA's convention, as ``train.ops``)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return out, total // 2


def live_taps(size: int, kernel: int, stride: int) -> tuple[int, ...]:
    """Offsets (relative to ``output * stride``) of the taps that read a real input pixel.

    Example:
        >>> live_taps(8, 5, 1), live_taps(2, 5, 1), live_taps(2, 3, 1)
        ((-2, -1, 0, 1, 2), (-1, 0, 1), (-1, 0, 1))
    """
    out, low = _same(size, kernel, stride)
    return tuple(j - low for j in range(kernel)
                 if any(0 <= o * stride + j - low < size for o in range(out)))


def pool_windows(size: int, window: int, stride: int) -> tuple[tuple[int, int], ...]:
    """The input index range ``(first, last)`` each output position of a max pool covers.

    Example:
        >>> pool_windows(2, 2, 2), pool_windows(2, 3, 3)
        (((0, 1),), ((0, 1),))
    """
    out, low = _same(size, window, stride)
    return tuple((max(o * stride - low, 0), min(o * stride - low + window - 1, size - 1))
                 for o in range(out))


def _layer_signature(info: LayerInfo, inputs: Sequence[str]) -> list[Any]:
    hp = dict(info.hparams)
    base: list[Any] = [info.kind, list(inputs), [list(s) for s in info.input_shapes],
                       list(info.output_shape)]
    if info.kind == "conv":
        h, w, _ = info.input_shapes[0]
        k, s = hp["kernel_size"], hp["stride"]
        return [*base, hp["kernels"], s, str(hp["activation"]),
                list(live_taps(h, k, s)), list(live_taps(w, k, s))]
    if info.kind == "pool":
        h, w, _ = info.input_shapes[0]
        p, s = hp["pool_size"], hp["stride"]
        return [*base, [list(x) for x in pool_windows(h, p, s)],
                [list(x) for x in pool_windows(w, p, s)]]
    return [*base, sorted((k, repr(v)) for k, v in hp.items())]


def network_signature(space: SearchSpace, design: Design | Sequence[int]) -> str:
    """A 20-hex-digit hash of what ``design``'s network computes (see the module docstring).

    Raises:
        ValueError: If ``design`` is not a design of ``space``.
    """
    design = space.validate(design)
    analysis = analyze(space, design)
    layers = [_layer_signature(info, space.by_name[info.name].inputs)
              for info in analysis.layers]
    settings = sorted((k, repr(v)) for k, v in space.training_settings(design).items())
    text = json.dumps([layers, settings, space.task, space.num_classes])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def duplicate_designs(space: SearchSpace, designs: Iterable[Design | Sequence[int]] | None = None
                      ) -> list[tuple[Design, ...]]:
    """Groups of designs (every design of the space by default) that build the same network.

    Returns:
        One tuple per signature shared by more than one design, in order of first appearance.

    Example:
        >>> from cnn_design_env.space.tables import table_chain
        >>> len(duplicate_designs(table_chain()))  # pool2 is a no-op after a pool1 of 2
        80
    """
    if designs is None:
        designs = _every_design(space)
    groups: dict[str, list[Design]] = {}
    for design in designs:
        design = space.validate(design)
        groups.setdefault(network_signature(space, design), []).append(design)
    return [tuple(group) for group in groups.values() if len(group) > 1]


def _every_design(space: SearchSpace) -> Iterable[Design]:
    import itertools

    for actions in itertools.product(*(range(n) for n in space.action_sizes)):
        yield Design(actions)


__all__ = ["duplicate_designs", "live_taps", "network_signature", "pool_windows"]
