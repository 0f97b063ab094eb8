"""``TrainingEvaluator``: the real reward: train a design with JAX/Optax and measure it.

Each evaluation builds the design's network (:mod:`cnn_design_env.train.model`), compiles one
train step and one eval step for a fixed batch shape (cached in-process and on disk in the
:class:`~cnn_design_env.train.jaxcache.ProgramStore` of its
:class:`~cnn_design_env.train.settings.TrainerSettings`), trains for the current number of epochs
with the early-termination rules of the paper (:mod:`cnn_design_env.train.termination`), and
returns :class:`Metrics`:

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

Failures never raise: termination rules give ``reason`` ``"batch_time"``, ``"loss"``,
``"nan"`` or ``"time limit"`` (``time_limit_s``); any exception (out of memory included) gives
``"exception: <type>: <message>"``.

Exact or masked: a design trains in its own program (the exact form) or in the program of its
shape signature's envelope with masks (:mod:`cnn_design_env.train.masked`), as
``settings.form`` says or, with ``"auto"``, as the static cost model
(:mod:`cnn_design_env.train.costmodel`, planned by :mod:`.planning`) estimates cheaper: a pure
function of the design, the space, the settings and the order of requests, never of timings or
cache contents. ``extra["form"]`` and ``extra["form_reason"]`` record the choice.
:meth:`TrainingEvaluator.evaluate_many` trains designs that share a program together in one
``vmap``.

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

import dataclasses
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax

from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.evaluators.planning import Plan, Planner
from cnn_design_env.space import Design, SearchSpace
from cnn_design_env.train import layerwise, loop
from cnn_design_env.train.augment import Augmentation
from cnn_design_env.train.data import Dataset, get_dataset
from cnn_design_env.train.group import compile_group_steps
from cnn_design_env.train.grouprun import GroupRun, Member
from cnn_design_env.train.layerwise import LayerCache
from cnn_design_env.train.settings import TrainerSettings
from cnn_design_env.train.single import SingleRun
from cnn_design_env.train.termination import (
    EpochSchedule,
    TerminationConfig,
    TerminationMonitor,
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
        settings: Compiler options, persistent program store, cache sizes, exact / masked
            form (:class:`~cnn_design_env.train.settings.TrainerSettings`). The next four
            arguments are shorthands for it (JSON scalars for ``--evaluator-option``); give
            either ``settings`` or them.
        persistent_cache: Keep compiled programs on disk (``settings.cache_dir``).
        cache_dir: Their directory (default: ``$CNN_DESIGN_JAX_CACHE`` or
            ``~/.cache/cnn_design_env/jax``).
        compiled_cache_size: Compiled programs kept in memory by this evaluator.
        form: ``"exact"``, ``"masked"`` or ``"auto"`` (``settings.form``).
        compile: ``"network"`` (one XLA program per architecture), ``"layer"`` (programs per
            layer configuration shared by every design of this evaluator, so a design of layers
            seen before compiles nothing) or ``"auto"`` (layer-wise for small networks on a
            CPU; see :func:`cnn_design_env.train.loop.resolve_compile`): how the exact form
            compiles (with ``"layer"`` or ``"auto"`` and no ``form``/``settings``, the form is
            ``"exact"``).
        time_limit_s: Wall-clock seconds per evaluation (``termination.time_limit_s``); a
            design past it is terminated with the reason ``"time limit"``.

    Raises:
        ValueError: If the data does not fit the space (see :func:`check_data`) or an argument is
            out of range.
    """

    def __init__(self, space: SearchSpace, data: str | Path | Dataset = "digits", *,
                 epochs: int = 10, auto_epochs: bool = False, min_epochs: int = 3,
                 termination: TerminationConfig | None = None,
                 augment: Augmentation | None = None, subsample_per_class: int | None = None,
                 data_seed: int = 0, adapt_space: bool = False,
                 settings: TrainerSettings | None = None, persistent_cache: bool | None = None,
                 cache_dir: str | Path | None = None, compiled_cache_size: int | None = None,
                 form: str | None = None, compile: str = "network",
                 time_limit_s: float | None = None) -> None:
        if compile not in loop.COMPILE_MODES:
            raise ValueError(f"unknown compile mode {compile!r}; expected one of "
                             f"{loop.COMPILE_MODES}")
        if form is None and settings is None and compile != "network":
            form = "exact"  # the compile modes are forms of the exact program
        self.settings = TrainerSettings.resolve(settings, persistent_cache=persistent_cache,
                                                cache_dir=cache_dir,
                                                compiled_cache_size=compiled_cache_size,
                                                form=form)
        dataset = data if isinstance(data, Dataset) else get_dataset(data, seed=data_seed)
        if subsample_per_class is not None:
            dataset = dataset.subsample(subsample_per_class, seed=data_seed)
        self.space = check_data(space, dataset, adapt_space=adapt_space)
        self.data = dataset
        self.schedule = EpochSchedule(epochs, min(min_epochs, epochs) if auto_epochs else epochs)
        self.auto_epochs = auto_epochs
        self.termination = termination or TerminationConfig()
        if time_limit_s is not None:
            self.termination = dataclasses.replace(self.termination, time_limit_s=time_limit_s)
        self.augment = augment
        store = self.settings.store()
        self.cache_dir = store.directory if store is not None else None
        self.compile = compile
        self.planner = Planner(self.space, self.data.num_train, self.settings, compile)
        self._steps = loop.StepCache(self.settings.compiled_cache_size)
        self._layers = LayerCache(self.settings.layer_cache_size)
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
            failed. ``extra["form"]`` says whether the exact or the masked program trained it
            and ``extra["form_reason"]`` why.
        """
        start = time.perf_counter()
        partial: dict[str, Any] = {}
        try:
            plan = self.planner.plan(self.space.validate(design), int(seed), partial,
                                     epochs=self.epochs)
            if plan.form == "masked" and self.planner.masked_compile(plan) == "network":
                metrics = self._evaluate_group([plan], start, None)[0]
            else:
                metrics = self._evaluate(plan, start, partial)
        except Exception as error:  # any failure becomes the penalty case
            return self._failed(design, error, start, partial)
        if self.auto_epochs and not metrics.terminated:
            self.schedule.update(metrics.epochs_to_threshold)
        return metrics

    def evaluate_many(self, designs: Sequence[Design], seeds: Sequence[int], *,
                      time_limit_s: float | None = None) -> list[Metrics]:
        """Evaluate ``designs[i]`` with ``seeds[i]`` for every ``i``, many in one program.

        Design-seeds that share a program train together (``vmap``, up to
        ``settings.group_size`` at once): several seeds or learning rates of one design in its
        exact program, different designs of one shape signature in their envelope's masked
        program (:mod:`cnn_design_env.train.masked`; with ``form="exact"`` only the former).
        The others are evaluated one by one. Each result equals :meth:`evaluate`'s for the
        same design and seed (to float32 round-off; with ``auto_epochs`` every design of the
        call trains the epochs the schedule had at its start); a member terminated early stops
        counting while the others go on. ``cost_s`` and ``compile_s`` of a group member are
        its share of the group's (``extra["group_size"]``, ``extra["group_cost_s"]``).

        Args:
            designs: Designs of this evaluator's space.
            seeds: One seed per design.
            time_limit_s: Wall-clock seconds for the whole call; members still training then
                are terminated with the reason ``"time limit"`` (``None``: no limit beyond
                ``termination.time_limit_s`` per design).

        Returns:
            One :class:`Metrics` per design, in order; never raises for a bad design.

        Raises:
            ValueError: If ``designs`` and ``seeds`` differ in length.
        """
        if len(designs) != len(seeds):
            raise ValueError(f"evaluate_many needs one seed per design, got {len(designs)} "
                             f"designs and {len(seeds)} seeds")
        start = time.perf_counter()
        deadline = None if time_limit_s is None else start + float(time_limit_s)
        results: list[Metrics | None] = [None] * len(designs)
        plans: dict[int, Plan] = {}
        for i, (design, seed) in enumerate(zip(designs, seeds, strict=True)):
            partial: dict[str, Any] = {}
            try:
                plans[i] = self.planner.plan(self.space.validate(design), int(seed), partial,
                                             epochs=self.epochs, group=True)
            except Exception as error:
                results[i] = self._failed(design, error, start, partial)
        for indices in self.planner.groups(plans):
            group = [plans[i] for i in indices]
            if len(group) == 1 and group[0].form == "exact":
                one = self.evaluate(group[0].design, seed=group[0].seed)
                results[indices[0]] = one
                continue
            try:
                metrics = self._evaluate_group(group, time.perf_counter(), deadline)
            except Exception as error:
                metrics = [self._failed(p.design, error, start, {}) for p in group]
            for i, m in zip(indices, metrics, strict=True):
                results[i] = m
        if self.auto_epochs:
            for m in results:
                if m is not None and not m.terminated:
                    self.schedule.update(m.epochs_to_threshold)
        return [m for m in results if m is not None]

    # --------------------------------------------------------------- training
    def _evaluate(self, plan: Plan, start: float, partial: dict[str, Any]) -> Metrics:
        network, settings, batch_size = plan.network, plan.settings, plan.batch_size
        loss_fn = loop.make_loss(settings["loss"])
        label_shape = self.data.y_train.shape[1:]
        init = network.init
        if plan.form == "masked":  # layer-wise masked programs, shared across envelopes
            emb = plan.embedding
            with self._lock:
                steps = loop.Steps(*layerwise.layer_steps(
                    emb.envelope, plan.tx, loss_fn, batch_size=batch_size,
                    label_shape=label_shape, tx_key=settings["optimizer"], cache=self._layers,
                    settings=self.settings, masks=jax.device_put(emb.masks)))
            hit = steps.compile_s == 0.0
            init = lambda rng: emb.embed(*emb.network.init(rng))  # noqa: E731
        else:
            with self._lock:
                steps, hit = self._steps.get(plan.key(0), lambda: loop.compile_steps(
                    network, plan.tx, loss_fn, batch_size=batch_size, label_shape=label_shape,
                    compile=self.compile, tx_key=settings["optimizer"], settings=self.settings,
                    layer_cache=self._layers))
        compile_s = 0.0 if hit else steps.compile_s
        partial["compile_s"] = compile_s
        monitor = self._monitor(settings, start, None)
        run = SingleRun(init, steps, plan.tx, batch_size, monitor, plan.seed, data=self.data,
                        val_batches=self.val_batches(batch_size), augment=self.augment,
                        max_restarts=self.termination.max_restarts)
        run.train(self.epochs, partial)
        extra = self._extra(plan, monitor, run.total_epochs, hit, 1)
        extra["compile_mode"] = self.planner.mode(plan)
        return self._metrics(plan, monitor, run, compile_s, time.perf_counter() - start, extra)

    def _evaluate_group(self, plans: list[Plan], start: float,
                        deadline: float | None) -> list[Metrics]:
        """Train ``plans`` (one program) together; one :class:`Metrics` each."""
        first = plans[0]
        masked = first.form == "masked"
        size = len(plans) if len(plans) == 1 else 1 << (len(plans) - 1).bit_length()
        size = min(size, max(len(plans), self.settings.group_size))
        loss_fn = loop.make_loss(first.settings["loss"])
        self.planner.record_group(first, size)
        with self._lock:
            steps, hit = self._steps.get(first.key(size), lambda: compile_group_steps(
                first.program, first.tx, loss_fn, batch_size=first.batch_size, size=size,
                masked=masked, label_shape=self.data.y_train.shape[1:], settings=self.settings))
        compile_s = 0.0 if hit else steps.compile_s
        members = []
        for plan in plans:
            emb = plan.embedding
            init = ((lambda rng, e=emb: e.embed(*e.network.init(rng))) if masked
                    else plan.network.init)
            members.append(Member(init, plan.tx, plan.seed,
                                  self._monitor(plan.settings, start, deadline),
                                  emb.masks if masked else None))
        run = GroupRun(steps, members, self.data.x_train, self.data.y_train,
                       batch_size=first.batch_size, val_batches=self.val_batches(first.batch_size),
                       task=self.space.task, num_val=self.data.num_val, augment=self.augment)
        run.run(self.epochs)
        wall = time.perf_counter() - start
        share = len(plans)
        out = []
        for plan, m in zip(plans, members, strict=True):
            extra = self._extra(plan, m.monitor, m.total_epochs, hit, len(plans))
            extra.update(group_cost_s=wall, compile_mode="network")
            out.append(self._metrics(plan, m.monitor, m, compile_s / share, wall / share, extra))
        return out

    # ----------------------------------------------------------------- pieces
    def _monitor(self, settings: dict[str, Any], start: float,
                 deadline: float | None) -> TerminationMonitor:
        limit = self.termination.time_limit_s
        own = None if limit is None else start + limit
        if own is None or (deadline is not None and deadline < own):
            own = deadline
        return TerminationMonitor(self.termination,
                                  loss_threshold=self._loss_threshold(settings["loss"]),
                                  deadline=own)

    def _extra(self, plan: Plan, monitor: TerminationMonitor, total_epochs: int, hit: bool,
               group_size: int) -> dict[str, Any]:
        return {"batch_size": plan.batch_size, "loss_threshold": monitor.loss_threshold,
                "total_epochs": total_epochs, "compiled_cached": hit, "form": plan.form,
                "form_reason": plan.why, "group_size": group_size,
                "device": jax.default_backend(),
                "settings": {k: v for k, v in plan.settings.items() if _plain(v)}}

    def _metrics(self, plan: Plan, monitor: TerminationMonitor, run: Any, compile_s: float,
                 cost_s: float, extra: dict[str, Any]) -> Metrics:
        analysis = plan.network.analysis
        fields = dict(
            accuracy=run.accuracy, model_size_mb=analysis.model_size_mb, params=analysis.params,
            flops=analysis.flops, train_ms_per_batch=run.train_ms, infer_ms_per_batch=run.infer_ms,
            epochs=len(run.loss_curve), epochs_to_threshold=monitor.epochs_to_threshold,
            loss_curve=tuple(run.loss_curve), accuracy_curve=tuple(run.accuracy_curve),
            compile_s=compile_s, restarts=monitor.restarts, extra=extra, cost_s=cost_s)
        if monitor.reason:
            return Metrics.failed(monitor.reason, **fields)
        return Metrics(**fields)

    def _failed(self, design: Any, error: Exception, start: float,
                partial: dict[str, Any]) -> Metrics:
        reason = f"exception: {type(error).__name__}: {error}"
        logger.warning("training %s failed: %s", getattr(design, "actions", design), reason)
        partial["cost_s"] = time.perf_counter() - start
        return Metrics.failed(reason, **partial)

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


__all__ = ["TrainingEvaluator", "check_data"]
