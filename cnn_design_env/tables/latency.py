"""Inference latency of every design from a per-layer lookup table, validated by measurement.

Each distinct layer configuration of a space (kind, resolved hyperparameters, input shapes: what
:func:`~cnn_design_env.train.model.apply_layer` computes) is compiled alone and timed once per
batch size: warm-up, then the median of ``repeats`` repeats (each the mean of ``number`` calls,
so a repeat is not a single microsecond-scale call). A design's latency is predicted as

    ``overhead + sum over its layers of (layer time - overhead)``

where ``overhead`` is the time of one call of a compiled program that does nothing (every layer
timed alone pays it once; the whole network pays it once). :func:`validate` measures the whole
network of sampled designs the same way and reports the share of designs predicted within
+-10 % and +-20 % of the measurement.

Timings are from the machine that runs them and move with its load: record
``os.getloadavg()`` beside them (``scripts/latency_table.py`` does).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cnn_design_env.space import Design, LayerInfo, SearchSpace, analyze

BATCHES = (1, 256)
"""Batch sizes of the lookup table."""


def layer_key(space: SearchSpace, info: LayerInfo) -> tuple:
    """What decides a layer's computation (the layer's name does not)."""
    extra = (space.task, space.num_classes, space.input_shape) if info.kind == "output" else ()
    return (info.kind, tuple(sorted((k, repr(v)) for k, v in info.hparams.items())),
            info.input_shapes, info.projected, extra)


def time_call(fn: Callable[..., Any], args: Sequence[Any], *, repeats: int = 5,
              number: int = 10, warmup: int = 2) -> float:
    """Median milliseconds of ``fn(*args)`` (blocked until ready) over ``repeats`` repeats of
    ``number`` calls, after ``warmup`` calls.

    Raises:
        ValueError: If ``repeats < 5`` (the floor of the issue) or ``number < 1``.
    """
    if repeats < 5 or number < 1:
        raise ValueError(f"need repeats >= 5 and number >= 1, got {repeats}, {number}")
    for _ in range(warmup):
        _block(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            _block(fn(*args))
        times.append((time.perf_counter() - start) / number)
    return 1e3 * float(np.median(times))


def _block(out: Any) -> None:
    import jax

    jax.block_until_ready(out)


@dataclass
class LatencyTable:
    """Per-layer latencies (ms) by :func:`layer_key` and batch size, plus the call overhead.

    Attributes:
        space: The space measured.
        layers: ``{(key, batch): ms}``.
        overhead: ``{batch: ms}`` of an empty compiled call.
        repeats: Repeats per measurement (median).
    """

    space: SearchSpace
    layers: dict[tuple, float] = field(default_factory=dict)
    overhead: dict[int, float] = field(default_factory=dict)
    repeats: int = 5
    calibration: dict[int, tuple[float, float]] = field(default_factory=dict)

    def measure_design(self, design: Design, batches: Sequence[int] = BATCHES) -> None:
        """Time every layer configuration of ``design`` not yet in the table."""
        import jax
        import jax.numpy as jnp

        from cnn_design_env.train.model import apply_layer, build_network

        network = build_network(self.space, design)
        params, _ = network.init(np.random.default_rng(0))
        for batch in batches:
            if batch not in self.overhead:
                empty = jax.jit(lambda x: x)
                self.overhead[batch] = time_call(empty, [jnp.zeros((batch, 1))],
                                                 repeats=self.repeats)
        for info in network.analysis.layers:
            if info.kind == "input":
                continue
            key = layer_key(self.space, info)
            p = {k: jnp.asarray(v) for k, v in params.get(info.name, {}).items()}
            for batch in batches:
                if (key, batch) in self.layers:
                    continue
                xs = [jnp.ones((batch, *shape), jnp.float32) for shape in info.input_shapes]

                def layer(p, *xs, info=info):
                    return apply_layer(self.space, info, p, None, list(xs), train=False)[0]

                fn = jax.jit(layer)
                self.layers[(key, batch)] = time_call(fn, [p, *xs], repeats=self.repeats)

    def predict(self, design: Design, batch: int) -> float:
        """Predicted ms of one inference call of ``design`` on ``batch`` images.

        Raises:
            KeyError: If a layer of ``design`` was not measured at ``batch``.
        """
        overhead = self.overhead[batch]
        total = overhead
        for info in analyze(self.space, design).layers:
            if info.kind != "input":
                total += self.layers[(layer_key(self.space, info), batch)] - overhead
        if batch in self.calibration:
            intercept, slope = self.calibration[batch]
            return intercept + slope * total
        return total

    def calibrate(self, designs: Sequence[Design], batches: Sequence[int] = BATCHES) -> None:
        """Fit ``measured = a + b * layer-sum prediction`` per batch size on ``designs``
        (measured whole; keep them apart from the designs :func:`validate` is given)."""
        for batch in batches:
            self.calibration.pop(batch, None)
            raw, measured = [], []
            for design in designs:
                self.measure_design(design, (batch,))
                raw.append(self.predict(design, batch))
                measured.append(measure_network(self.space, design, batch,
                                                repeats=self.repeats))
            slope, intercept = np.polyfit(raw, measured, 1)
            self.calibration[batch] = (float(intercept), float(slope))


def measure_network(space: SearchSpace, design: Design, batch: int, *, repeats: int = 5
                    ) -> float:
    """Exact ms of one compiled inference call of ``design``'s whole network."""
    import jax
    import jax.numpy as jnp

    from cnn_design_env.train.model import build_network

    network = build_network(space, design)
    params, state = network.init(np.random.default_rng(0))
    params = jax.tree_util.tree_map(jnp.asarray, params)
    state = jax.tree_util.tree_map(jnp.asarray, state)
    fn = jax.jit(lambda p, x: network.apply(p, state, x, train=False)[0])
    x = jnp.ones((batch, *space.input_shape), jnp.float32)
    return time_call(fn, [params, x], repeats=repeats)


def validate(table: LatencyTable, designs: Sequence[Design], batches: Sequence[int] = BATCHES
             ) -> dict[int, dict[str, float]]:
    """Measure every design exactly and compare with the prediction, per batch size.

    Returns:
        ``{batch: {"within_10": share, "within_20": share, "median_abs_error": fraction,
        "median_ratio": predicted / measured, "designs": n, "predicted_ms": [...],
        "measured_ms": [...]}}``, the shares computed from the measurements.
    """
    out = {}
    for batch in batches:
        predicted, measured = [], []
        for design in designs:
            table.measure_design(design, (batch,))
            measured.append(measure_network(table.space, design, batch, repeats=table.repeats))
            predicted.append(table.predict(design, batch))
        ratio = np.asarray(predicted) / np.asarray(measured)
        errors = np.abs(ratio - 1.0)
        out[batch] = {"designs": len(designs), "within_10": float((errors <= 0.10).mean()),
                      "within_20": float((errors <= 0.20).mean()),
                      "median_abs_error": float(np.median(errors)),
                      "median_ratio": float(np.median(ratio)),
                      "predicted_ms": predicted, "measured_ms": measured}
    return out


__all__ = ["BATCHES", "LatencyTable", "layer_key", "measure_network", "time_call", "validate"]
