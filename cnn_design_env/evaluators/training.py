"""``TrainingEvaluator``: the real reward: train a design with JAX/Optax and measure it.

Each evaluation builds the design's network (:mod:`cnn_design_env.train.model`), compiles one
train step and one eval step for a fixed batch shape (cached in-process and on disk through JAX's
persistent compilation cache), trains for the current number of epochs with the early-termination
rules of the paper (:mod:`cnn_design_env.train.termination`), and returns :class:`Metrics`:

* ``accuracy``: top-1 accuracy (classification) or mean foreground Dice (segmentation) on the
  data set's validation split after the last epoch; ``accuracy_curve`` after every epoch.
* ``model_size_mb``, ``params``, ``flops``: analytic (:func:`cnn_design_env.space.analyze`); the
  built network has exactly ``params`` stored values.
* ``train_ms_per_batch``: median wall time of a training step after the first of each run;
  ``compile_s``: tracing + compiling (0 when the steps were cached in this process);
  ``infer_ms_per_batch``: median eval step on validation batches of the training batch size.
* ``cost_s``: wall seconds of the whole evaluation (data on device, compile, every run).
* ``epochs``, ``epochs_to_threshold``, ``loss_curve``, ``restarts``: of the last run.

Training settings come from ``space.training_settings(design)`` (Table II defaults, ``train``
agents' choices): ``optimizer``, ``learning_rate``, ``momentum``, ``weight_decay``,
``batch_size`` (clipped to the training set size), ``loss``, ``activation``.

Failures never raise: termination rules give ``reason`` ``"batch_time"``, ``"loss"`` or
``"nan"``; any exception (out of memory included) gives ``"exception: <type>: <message>"``.

Randomness: all of it comes from ``seed``: NumPy initialisation, shuffling and augmentation from
``np.random.SeedSequence(seed)`` (fresh streams for a restart), dropout from
``jax.random.key(seed, impl="rbg")`` (:func:`cnn_design_env.train.loop.dropout_key`). The
validation split is fixed by ``data_seed``, the same for every design. Results are reproducible
on one backend up to its floating-point non-determinism.

Devices: JAX's default device is used, so the evaluator runs unchanged on a GPU when JAX sees one
(install ``jax[cuda12]``); nothing assumes a CPU. Out of GPU memory is an exception like any other
(a terminated ``Metrics``). Several evaluating processes sharing one GPU should set
``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (JAX otherwise reserves 75% of it per process). Timings
are per device, so compare them only between runs on the same machine.

Example:
    >>> from cnn_design_env.space import get_space
    >>> evaluator = TrainingEvaluator(get_space("vgg_mini"), "digits", epochs=3)  # doctest: +SKIP
    >>> evaluator.evaluate(design, seed=0).accuracy  # doctest: +SKIP
    0.96
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.space import Design, SearchSpace, analyze
from cnn_design_env.train import loop
from cnn_design_env.train.augment import Augmentation
from cnn_design_env.train.data import Dataset, get_dataset
from cnn_design_env.train.jaxcache import enable_persistent_cache
from cnn_design_env.train.model import Network, build_network
from cnn_design_env.train.termination import (
    EpochSchedule,
    TerminationConfig,
    TerminationMonitor,
    Verdict,
)

logger = logging.getLogger(__name__)


def check_data(space: SearchSpace, data: Dataset, *, adapt_space: bool = False) -> SearchSpace:
    """``space`` if it fits ``data``, or (with ``adapt_space``) a copy adapted to it.

    Args:
        space: The search space.
        data: The data set.
        adapt_space: Rebuild the space for the data's input shape and number of classes instead
            of raising (``space.with_data``); designs keep their meaning.

    Raises:
        ValueError: If the tasks differ, or the input shape or number of classes differ and
            ``adapt_space`` is false.
    """
    if space.task != data.task:
        raise ValueError(f"space {space.name!r} is for {space.task} but data set {data.name!r} "
                         f"is for {data.task}")
    if space.input_shape == data.input_shape and space.num_classes == data.num_classes:
        return space
    if adapt_space:
        return space.with_data(input_shape=data.input_shape, num_classes=data.num_classes)
    raise ValueError(
        f"space {space.name!r} expects input_shape={space.input_shape} and num_classes="
        f"{space.num_classes} but data set {data.name!r} has input_shape={data.input_shape} and "
        f"num_classes={data.num_classes}; build the space for the data (e.g. get_space(name, "
        f"input_shape=..., num_classes=...)) or pass adapt_space=True")


class TrainingEvaluator:
    """Trains each design on a data set and reports :class:`Metrics` (the real reward).

    Args:
        space: The search space whose designs it evaluates.
        data: ``"digits"``, ``"shapes"``, a path understood by
            :func:`~cnn_design_env.train.data.get_dataset`, or a
            :class:`~cnn_design_env.train.data.Dataset`.
        epochs: Epochs per evaluation; with ``auto_epochs`` the starting (maximum) number.
        auto_epochs: Shrink the epochs after each evaluation to the first epoch that met the loss
            threshold, never below ``min_epochs`` (paper section VI-A); see :attr:`epochs`.
        min_epochs: Floor of ``auto_epochs``.
        termination: Early-termination thresholds.
        augment: Optional training-time augmentation (seeded per evaluation).
        subsample_per_class: Keep at most this many training images per class (the paper
            explored on 500 per class); the validation split is kept whole.
        data_seed: Seed of the data set's validation split and subsampling.
        adapt_space: If the space's input shape or classes differ from the data's, adapt the
            space (``self.space`` is then the adapted copy) instead of raising ``ValueError``.
        persistent_cache: Turn on JAX's persistent compilation cache (process-wide).
        cache_dir: Its directory (default: ``$CNN_DESIGN_JAX_CACHE`` or
            ``~/.cache/cnn_design_env/jax``).
        compiled_cache_size: Compiled architectures kept in memory by this evaluator.
        compile: ``"network"`` (one XLA program per architecture), ``"layer"`` (programs per
            layer configuration shared by every design and evaluator of the process, so a design
            of layers seen before compiles nothing) or ``"auto"`` (layer-wise for small
            networks on a CPU; see :func:`cnn_design_env.train.loop.resolve_compile`).

    Raises:
        ValueError: If the data does not fit the space (see :func:`check_data`) or an argument is
            out of range.
    """

    def __init__(self, space: SearchSpace, data: str | Path | Dataset = "digits", *,
                 epochs: int = 10, auto_epochs: bool = False, min_epochs: int = 3,
                 termination: TerminationConfig | None = None,
                 augment: Augmentation | None = None, subsample_per_class: int | None = None,
                 data_seed: int = 0, adapt_space: bool = False, persistent_cache: bool = True,
                 cache_dir: str | Path | None = None, compiled_cache_size: int = 32,
                 compile: str = "network") -> None:
        if compile not in loop.COMPILE_MODES:
            raise ValueError(f"unknown compile mode {compile!r}; expected one of "
                             f"{loop.COMPILE_MODES}")
        dataset = data if isinstance(data, Dataset) else get_dataset(data, seed=data_seed)
        if subsample_per_class is not None:
            dataset = dataset.subsample(subsample_per_class, seed=data_seed)
        self.space = check_data(space, dataset, adapt_space=adapt_space)
        self.data = dataset
        self.schedule = EpochSchedule(epochs, min(min_epochs, epochs) if auto_epochs else epochs)
        self.auto_epochs = auto_epochs
        self.termination = termination or TerminationConfig()
        self.augment = augment
        self.cache_dir = enable_persistent_cache(cache_dir) if persistent_cache else None
        self.compile = compile
        self._steps = loop.StepCache(compiled_cache_size)
        self._lock = threading.Lock()
        self._val_batches: dict[int, list] = {}
        self._chance: dict[str, float] = {}

    @property
    def epochs(self) -> int:
        """Epochs the next evaluation trains for (shrinks with ``auto_epochs``)."""
        return self.schedule.epochs

    # ------------------------------------------------------------------ public
    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        """Train ``design`` with randomness from ``seed`` and measure it; never raises.

        Returns:
            The :class:`Metrics`; ``terminated`` with a reason if a rule fired or anything
            failed.
        """
        start = time.perf_counter()
        partial: dict[str, Any] = {}
        try:
            metrics = self._evaluate(self.space.validate(design), int(seed), start, partial)
        except Exception as error:  # any failure becomes the penalty case
            reason = f"exception: {type(error).__name__}: {error}"
            logger.warning("training %s failed: %s", getattr(design, "actions", design), reason)
            partial["cost_s"] = time.perf_counter() - start
            return Metrics.failed(reason, **partial)
        if self.auto_epochs and not metrics.terminated:
            self.schedule.update(metrics.epochs_to_threshold)
        return metrics

    # ---------------------------------------------------------------- internals
    def _evaluate(self, design: Design, seed: int, start: float,
                  partial: dict[str, Any]) -> Metrics:
        analysis = analyze(self.space, design)
        partial.update(model_size_mb=analysis.model_size_mb, params=analysis.params,
                       flops=analysis.flops)
        network = build_network(self.space, design)
        settings = self.space.training_settings(design)
        batch_size = min(int(settings["batch_size"]), self.data.num_train)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {settings['batch_size']!r}")
        tx = loop.make_optimizer(settings["optimizer"], learning_rate=settings["learning_rate"],
                                 momentum=settings.get("momentum", 0.9),
                                 weight_decay=settings.get("weight_decay", 0.0))
        loss_fn = loop.make_loss(settings["loss"])
        key = (network.signature, loop.settings_key(settings), batch_size)
        with self._lock:
            steps, hit = self._steps.get(key, lambda: loop.compile_steps(
                network, tx, loss_fn, batch_size=batch_size,
                label_shape=self.data.y_train.shape[1:], compile=self.compile,
                tx_key=settings["optimizer"]))
        compile_s = 0.0 if hit else steps.compile_s
        partial["compile_s"] = compile_s
        monitor = TerminationMonitor(self.termination,
                                     loss_threshold=self._loss_threshold(settings["loss"]))
        run = _Run(self, network, steps, tx, batch_size, monitor, seed)
        run.train(self.epochs, partial)
        extra = {"batch_size": batch_size, "loss_threshold": monitor.loss_threshold,
                 "total_epochs": run.total_epochs, "compiled_cached": hit,
                 "compile_mode": loop.resolve_compile(self.compile, network, batch_size),
                 "device": jax.default_backend(),
                 "settings": {k: v for k, v in settings.items() if _plain(v)}}
        fields = dict(
            accuracy=run.accuracy, model_size_mb=analysis.model_size_mb, params=analysis.params,
            flops=analysis.flops, train_ms_per_batch=run.train_ms, infer_ms_per_batch=run.infer_ms,
            epochs=len(run.loss_curve), epochs_to_threshold=monitor.epochs_to_threshold,
            loss_curve=tuple(run.loss_curve), accuracy_curve=tuple(run.accuracy_curve),
            compile_s=compile_s, restarts=monitor.restarts, extra=extra,
            cost_s=time.perf_counter() - start)
        if monitor.reason:
            return Metrics.failed(monitor.reason, **fields)
        return Metrics(**fields)

    def _loss_threshold(self, loss: str) -> float | None:
        if loss not in self._chance:
            self._chance[loss] = loop.chance_loss(loss, self.data.y_train, self.data.num_classes)
        return self.termination.resolve_loss_threshold(self._chance[loss])

    def val_batches(self, batch_size: int) -> list:
        """The validation split as padded device batches of ``batch_size`` (kept for reuse)."""
        with self._lock:
            if batch_size not in self._val_batches:
                self._val_batches[batch_size] = loop.pad_batches(
                    self.data.x_val, self.data.y_val, batch_size)
            return self._val_batches[batch_size]


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class _Run:
    """The runs (initial + restarts) of one evaluation; fills curves and timings."""

    def __init__(self, evaluator: TrainingEvaluator, network: Network, steps: loop.Steps,
                 tx: Any, batch_size: int, monitor: TerminationMonitor, seed: int) -> None:
        self.evaluator, self.network, self.steps, self.tx = evaluator, network, steps, tx
        self.batch_size, self.monitor, self.seed = batch_size, monitor, seed
        self.loss_curve: list[float] = []
        self.accuracy_curve: list[float] = []
        self.total_epochs = 0
        self._train_s: list[float] = []
        self._infer_s: list[float] = []

    @property
    def accuracy(self) -> float:
        return self.accuracy_curve[-1] if self.accuracy_curve else 0.0

    @property
    def train_ms(self) -> float:
        return 1e3 * float(np.median(self._train_s)) if self._train_s else 0.0

    @property
    def infer_ms(self) -> float:
        times = self._infer_s[1:] or self._infer_s
        return 1e3 * float(np.median(times)) if times else 0.0

    def train(self, epochs: int, partial: dict[str, Any]) -> None:
        """Train up to ``1 + max_restarts`` runs of ``epochs`` epochs until one finishes."""
        seeds = np.random.SeedSequence(self.seed)
        data = self.evaluator.data
        augment = self.evaluator.augment
        for attempt in range(self.evaluator.termination.max_restarts + 1):
            init_seq, shuffle_seq = seeds.spawn(2)
            params, state = jax.device_put(self.network.init(np.random.default_rng(init_seq)))
            carry = loop.TrainCarry(params, state, self.steps.init_optimizer(self.tx, params))
            rng = np.random.default_rng(shuffle_seq)
            key = loop.dropout_key(self.seed, attempt)
            self.loss_curve, self.accuracy_curve = [], []
            verdict = Verdict.CONTINUE
            for epoch in range(epochs):
                result = loop.train_epoch(self.steps, carry, data.x_train, data.y_train,
                                          batch_size=self.batch_size, rng=rng, key=key,
                                          monitor=self.monitor, augment=augment)
                self._train_s.extend(result.batch_seconds[1 if epoch == 0 else 0:])
                self.total_epochs += 1
                verdict = result.verdict
                if verdict is not Verdict.TERMINATE:
                    verdict = self.monitor.on_epoch(result.loss)
                self.loss_curve.append(result.loss)
                partial.update(loss_curve=tuple(self.loss_curve), restarts=self.monitor.restarts,
                               epochs=len(self.loss_curve))
                if verdict is not Verdict.CONTINUE:
                    break
                self._validate(carry)
            if verdict is not Verdict.RESTART:
                return

    def _validate(self, carry: loop.TrainCarry) -> None:
        batches = self.evaluator.val_batches(self.batch_size)
        stats, seconds = loop.evaluate_batches(self.steps, carry.params, carry.state, batches)
        self._infer_s.extend(seconds)
        value = loop.score(stats, self.network.space.task, self.evaluator.data.num_val)
        self.accuracy_curve.append(value)


__all__ = ["TrainingEvaluator", "check_data"]
