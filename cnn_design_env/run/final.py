"""Final training: one design trained until validation stops improving (the paper's last step),
beside the space's original hyperparameters, scored on the held-out test split.

A search evaluates designs with a few epochs; the design it picks is then trained "to
convergence": epoch after epoch until the validation accuracy has not improved for ``patience``
epochs (or ``max_epochs``), keeping the best epoch's accuracy (early stopping). The same is done
for the original network, so the two are compared on equal terms (same data split, seed and
training settings of the space). The parameters of the best epoch are kept: their accuracy on the
data set's test split (never seen by a search, whose reward reads the validation split) is the
reported result, and :func:`cnn_design_env.model_io.save_model` writes them.

Built from the trainer's public pieces (:mod:`cnn_design_env.train.loop`): the evaluator trains a
fixed number of epochs, which is what a search needs, but not this.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnn_design_env.space import Design, SearchSpace, analyze


@dataclass(frozen=True)
class FinalResult:
    """One design trained to convergence.

    Attributes:
        label: ``"design"`` or ``"original"``.
        design: Its action indices (in ``space``; for an original outside the choice sets, in a
            one-action copy of the space).
        accuracy: Best validation accuracy (Dice for segmentation) over the epochs.
        best_epoch: The epoch (1-based) that reached it.
        epochs: Epochs trained.
        stopped: ``"plateau"``, ``"max_epochs"`` or ``"nan"``.
        accuracy_curve: Validation accuracy per epoch.
        loss_curve: Training loss per epoch.
        params: Stored values.
        model_size_mb: Model size in MB.
        seconds: Wall seconds (compilation included).
        test_accuracy: Accuracy (Dice) of the best epoch's parameters on the test split (``None``
            when the data set has none).
        train_ms_per_batch: Median training milliseconds per batch.
        infer_ms_per_batch: Median inference milliseconds per batch (test or validation
            batches of the training batch size).
        weights: ``(params, state)`` of the best epoch as NumPy trees (not in :meth:`to_dict`).
    """

    label: str
    design: tuple[int, ...]
    accuracy: float
    best_epoch: int
    epochs: int
    stopped: str
    accuracy_curve: tuple[float, ...]
    loss_curve: tuple[float, ...]
    params: int
    model_size_mb: float
    seconds: float
    test_accuracy: float | None = None
    train_ms_per_batch: float = math.nan
    infer_ms_per_batch: float = math.nan
    weights: Any = dataclasses.field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
               if f.name != "weights"}
        out["design"], out["accuracy_curve"] = list(self.design), list(self.accuracy_curve)
        out["loss_curve"] = list(self.loss_curve)
        return out


def original_design(space: SearchSpace) -> tuple[SearchSpace, Design]:
    """The space's original network as ``(space, design)``.

    If every original value is one of its layer's choices, that is ``space`` itself and the
    matching design; otherwise (e.g. VGG-16's 512-kernel convs, not in Table III) a copy of the
    space whose tunable layers offer only their original values, and the all-zero design.
    """
    values = {a: {**(space.training if space.by_name[a].kind == "train" else {}),
                  **space.by_name[a].params} for a in space.agents}
    try:
        return space, space.design_from_hyperparameters(values)
    except ValueError:
        pass
    layers = tuple(
        dataclasses.replace(layer, choices={k: (values[layer.name][k],) for k in layer.choices})
        if layer.tunable else layer for layer in space.layers)
    fixed = SearchSpace(f"{space.name}-original", layers, space.input_shape, space.num_classes,
                        space.task, space.training, space.description)
    return fixed, Design((0,) * fixed.num_agents)


def train_to_convergence(space: SearchSpace, data: Any, design: Design | Sequence[int], *,
                         seed: int = 0, patience: int = 5, max_epochs: int = 100,
                         min_delta: float = 0.0, label: str = "design") -> FinalResult:
    """Train ``design`` until validation stops improving.

    Args:
        space: The space (its input shape and classes must fit ``data``).
        data: A :class:`~cnn_design_env.train.data.Dataset`.
        design: The design.
        seed: Initialisation, shuffling and dropout seed.
        patience: Stop after this many epochs without an improvement above ``min_delta``.
        max_epochs: Stop after this many epochs in any case.
        min_delta: The smallest change of validation accuracy that counts as an improvement.
        label: The result's label.

    Raises:
        ValueError: On a design outside the space or bad ``patience``/``max_epochs``.
    """
    import jax

    from cnn_design_env.train import loop
    from cnn_design_env.train.model import build_network
    from cnn_design_env.train.termination import TerminationConfig, TerminationMonitor

    if patience < 1 or max_epochs < 1:
        raise ValueError(f"patience and max_epochs must be >= 1, got {patience}, {max_epochs}")
    start = time.perf_counter()
    design = space.validate(design)
    network = build_network(space, design)
    settings = space.training_settings(design)
    batch = min(int(settings["batch_size"]), data.num_train)
    tx = loop.make_optimizer(settings["optimizer"], learning_rate=settings["learning_rate"],
                             momentum=settings.get("momentum", 0.9),
                             weight_decay=settings.get("weight_decay", 0.0))
    steps = loop.compile_steps(network, tx, loop.make_loss(settings["loss"]), batch_size=batch,
                               label_shape=data.y_train.shape[1:])
    init_seq, shuffle_seq = np.random.SeedSequence(seed).spawn(2)
    params, state = jax.device_put(network.init(np.random.default_rng(init_seq)))
    carry = loop.TrainCarry(params, state, steps.init_optimizer(tx, params))
    rng, key = np.random.default_rng(shuffle_seq), loop.dropout_key(seed)
    monitor = TerminationMonitor(TerminationConfig(batch_time_s=None, loss_threshold=None),
                                 loss_threshold=None)
    val = loop.pad_batches(data.x_val, data.y_val, batch)
    accuracy: list[float] = []
    losses: list[float] = []
    batch_ms: list[float] = []
    best, best_epoch, stopped = -math.inf, 0, "max_epochs"
    weights = jax.device_get((carry.params, carry.state))
    for epoch in range(1, max_epochs + 1):
        result = loop.train_epoch(steps, carry, data.x_train, data.y_train, batch_size=batch,
                                  rng=rng, key=key, monitor=monitor)
        losses.append(result.loss)
        batch_ms += [1e3 * t for t in result.batch_seconds]
        if not math.isfinite(result.loss):
            stopped = "nan"
            break
        stats, _ = loop.evaluate_batches(steps, carry.params, carry.state, val)
        accuracy.append(loop.score(stats, space.task, data.num_val))
        if accuracy[-1] > best + min_delta:
            best, best_epoch = accuracy[-1], epoch
            weights = jax.device_get((carry.params, carry.state))
        elif epoch - best_epoch >= patience:
            stopped = "plateau"
            break
    test, infer_ms = _test_score(steps, weights, data, space.task, batch)
    analysis = analyze(space, design)
    return FinalResult(label, design.actions, max(best, 0.0), best_epoch, len(losses), stopped,
                       tuple(accuracy), tuple(losses), analysis.params, analysis.model_size_mb,
                       time.perf_counter() - start, test,
                       float(np.median(batch_ms)) if batch_ms else math.nan, infer_ms, weights)


def _test_score(steps: Any, weights: Any, data: Any, task: str, batch: int
                ) -> tuple[float | None, float]:
    """Test accuracy of ``weights`` (``None`` without a test split) and the median inference
    milliseconds per batch (on the test split, else the validation split)."""
    from cnn_design_env.train import loop

    x, y = (data.x_test, data.y_test) if data.num_test else (data.x_val, data.y_val)
    if x.shape[1:] != data.x_train.shape[1:]:
        raise ValueError(f"data set {data.name!r}: test images have shape {x.shape[1:]}, the "
                         f"training images {data.x_train.shape[1:]}")
    params, state = weights
    stats, seconds = loop.evaluate_batches(steps, params, state, loop.pad_batches(x, y, batch))
    infer_ms = 1e3 * float(np.median(seconds[1:] or seconds))
    return (loop.score(stats, task, len(x)) if data.num_test else None), infer_ms


def parse_design(space: SearchSpace, text: str) -> Design:
    """A design from ``"3,5,1,0,2,1"`` (action indices, commas or spaces).

    Raises:
        ValueError: If it is not a list of integers or does not fit the space.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> parse_design(get_space("vgg_mini"), "1,2,0,3,1,2").actions
        (1, 2, 0, 3, 1, 2)
    """
    parts = [p for p in text.replace(",", " ").replace("(", " ").replace(")", " ").split() if p]
    try:
        actions = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(f"--design {text!r}: expected action indices such as "
                         f"{','.join('0' * space.num_agents)}, or a run directory") from None
    return space.validate(actions)


def compare_table(results: Sequence[FinalResult]) -> str:
    """The results side by side."""
    head = (f"{'':<10}{'test acc':>9}{'val acc':>9}{'best ep':>9}{'epochs':>8}{'params':>10}"
            f"{'MB':>9}{'train ms':>9}{'infer ms':>9}{'s':>7}  stop")
    lines = [head, "-" * len(head)]
    for r in results:
        test = "-" if r.test_accuracy is None else f"{r.test_accuracy:.4f}"
        lines.append(f"{r.label:<10}{test:>9}{r.accuracy:>9.4f}{r.best_epoch:>9}{r.epochs:>8}"
                     f"{r.params:>10}{r.model_size_mb:>9.4f}{r.train_ms_per_batch:>9.2f}"
                     f"{r.infer_ms_per_batch:>9.2f}{r.seconds:>7.1f}  {r.stopped}")
    return "\n".join(lines)


def summary(results: Sequence[FinalResult], extra: Mapping[str, Any] | None = None
            ) -> dict[str, Any]:
    """A JSON document of the comparison."""
    return {**dict(extra or {}), "results": [r.to_dict() for r in results]}


__all__ = ["FinalResult", "compare_table", "original_design", "parse_design", "summary",
           "train_to_convergence"]
