"""Evaluations on any :class:`concurrent.futures.Executor`: in-process, local processes, Dask.

An evaluator holds things that do not travel between processes (compiled JAX programs, locks,
device arrays), so what is sent to a worker is an :class:`EvaluatorSpec`: a small, picklable,
JSON-able recipe (kind, space name, data, options). A worker builds the evaluator from it once
(memoised per process, see :func:`build_evaluator`) and answers ``evaluate_task(spec, actions,
seed) -> Metrics`` for every design it is given. The same task function runs on

* :class:`InlineExecutor` (``workers=1``): in the calling process, no pickling, no copy;
* ``ProcessPoolExecutor`` with the ``spawn`` context (``workers=K``): JAX is not fork-safe, so
  workers start fresh interpreters (each imports JAX and loads the data once);
* a Dask distributed cluster (``scheduler="tcp://host:8786"``): ``Client(address,
  timeout=...).get_executor()``, Dask's own ``concurrent.futures`` front end. Dask is the optional
  ``dask`` extra; ``dask-jobqueue`` runs the same on SLURM/PBS. Nothing here schedules anything.

Evaluators are pure functions of ``(design, seed)`` for the search loop's purposes (the loop
caches and resumes on that basis); a failure inside an evaluation is a terminated ``Metrics``
(:func:`~cnn_design_env.evaluators.safe_evaluate`; ``SystemExit`` included), and a worker that
dies becomes one too (:func:`result_or_failure`). A per-evaluation wall-clock limit
(``evaluate_task(..., time_limit_s=S)``) is enforced where the evaluation runs, the same way on
every executor (:func:`~cnn_design_env.evaluators.faults.with_time_limit`): an evaluation past its
limit becomes a terminated one with reason ``"time limit: ..."``. Local worker processes watch
their parent and exit as soon as it is gone (even after ``kill -9``).

Example:
    >>> spec = EvaluatorSpec("fixtures:FixtureEvaluator", "vgg_mini")  # doctest: +SKIP
    >>> with open_executor(workers=1) as executor:  # doctest: +SKIP
    ...     executor.submit(evaluate_task, spec, (0, 0, 0, 0, 0, 0), 7).result().accuracy
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from dataclasses import dataclass, field
from typing import Any

from cnn_design_env.evaluators.base import Evaluator, Metrics, safe_evaluate
from cnn_design_env.evaluators.faults import EvaluationTimeout, with_time_limit
from cnn_design_env.space import Design, SearchSpace

EVALUATOR_KINDS = ("train", "tabular")
"""Built-in evaluator kinds; any ``"package.module:callable"`` is accepted too."""
DEFAULT_SCHEDULER_TIMEOUT_S = 10.0
PARENT_POLL_S = 0.25
"""How often a local worker process checks that its parent is alive."""
logger = logging.getLogger(__name__)


def resolve_space(name: str) -> SearchSpace:
    """The space ``name``: a preset, a registered space or ``package.module:function``
    (:func:`cnn_design_env.search.plugins.resolve_space`).

    Raises:
        ValueError: If ``name`` is none of them, listing the known names.
    """
    from cnn_design_env.search.plugins import resolve_space as resolve

    return resolve(name)


@dataclass(frozen=True)
class EvaluatorSpec:
    """A picklable recipe for an evaluator, built where the evaluation runs.

    Args:
        kind: ``"train"`` (:class:`~cnn_design_env.evaluators.training.TrainingEvaluator`),
            ``"tabular"`` (the shipped tables), or ``"package.module:callable"``: a factory
            called as ``factory(space, **options)`` (plus ``data=...`` when ``data`` is given).
        space: Name of the space (see :func:`resolve_space`).
        data: The data set (name or path) for ``"train"``.
        options: Keyword options of the evaluator (JSON scalars): for ``"train"`` e.g.
            ``epochs``, ``subsample_per_class``, ``data_seed``.

    Raises:
        ValueError: On an unknown kind, a ``"train"`` spec without data, or a non-scalar option.
    """

    kind: str
    space: str
    data: str | None = None
    options: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        options = self.options.items() if isinstance(self.options, Mapping) else self.options
        options = tuple(sorted((str(k), v) for k, v in options))
        for key, value in options:
            if not (value is None or isinstance(value, str | int | float | bool)):
                raise ValueError(f"evaluator option {key}={value!r} must be a JSON scalar")
        object.__setattr__(self, "options", options)
        if self.kind not in EVALUATOR_KINDS and ":" not in self.kind:
            raise ValueError(f"unknown evaluator {self.kind!r}; expected one of "
                             f"{list(EVALUATOR_KINDS)} or 'package.module:callable'")
        if self.kind == "train" and not self.data:
            raise ValueError("the 'train' evaluator needs a data set (--data NAME_OR_PATH)")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (inverse: :meth:`from_dict`)."""
        return {"kind": self.kind, "space": self.space, "data": self.data,
                "options": dict(self.options)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluatorSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(data["kind"], data["space"], data.get("data"), dict(data.get("options", {})))

    def build(self) -> Evaluator:
        """Build the evaluator (loads data, tables or a plugin); prefer :func:`build_evaluator`.

        Raises:
            ValueError: On an unknown space, data set or plugin.
            FileNotFoundError: On a missing data path.
        """
        space = resolve_space(self.space)
        options = dict(self.options)
        if self.kind == "train":
            from cnn_design_env.evaluators.training import TrainingEvaluator

            return TrainingEvaluator(space, self.data, adapt_space=True, **options)
        if self.kind == "tabular":
            return _tabular(space, self.data, options)
        factory = _import_factory(self.kind)
        if self.data is not None:
            options["data"] = self.data
        evaluator = factory(space, **options)
        if not callable(getattr(evaluator, "evaluate", None)):
            raise ValueError(f"evaluator factory {self.kind!r} returned {evaluator!r}, which has "
                             "no evaluate(design, *, seed) method")
        return evaluator

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def _tabular(space: SearchSpace, data: str | None, options: dict[str, Any]) -> Evaluator:
    try:
        from cnn_design_env.evaluators.tabular import TabularEvaluator
    except ImportError as error:
        raise ValueError(f"the tabular evaluator is not available: {error}") from error
    if data not in (None, "digits"):
        raise ValueError(f"the tabular benchmark was trained on 'digits'; got --data {data!r}")
    return TabularEvaluator(space, **options)


def _import_factory(path: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValueError(f"cannot import evaluator module {module_name!r} (from {path!r}): "
                         f"{error}") from error
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ValueError(f"{path!r}: module {module_name!r} has no callable {attr!r}")
    return factory


@functools.lru_cache(maxsize=8)
def build_evaluator(spec: EvaluatorSpec) -> Evaluator:
    """``spec.build()``, memoised per process: a worker builds each evaluator once."""
    return spec.build()


class EvaluatorBuildError(RuntimeError):
    """A worker could not build the evaluator (a missing module, data set or table there).

    Unlike a failing evaluation this concerns every design, so it stops the search.
    """


def evaluate_task(spec: EvaluatorSpec, actions: tuple[int, ...], seed: int,
                  time_limit_s: float | None = None) -> Metrics:
    """The unit of work sent to an executor: evaluate one design; never raises on a bad design.

    An exception, a ``SystemExit`` or the time limit inside the evaluation gives a terminated
    ``Metrics`` naming it; only ``KeyboardInterrupt`` goes through (it stops the search).

    Args:
        spec: How to build the evaluator (memoised in the worker).
        actions: The design's action indices.
        seed: The evaluation seed.
        time_limit_s: Wall-clock seconds the evaluation may take (``None``: no limit).

    Raises:
        EvaluatorBuildError: If the worker cannot build the evaluator.
    """
    try:
        evaluator = build_evaluator(spec)
    except Exception as error:
        raise EvaluatorBuildError(f"a worker could not build the evaluator {spec}: "
                                  f"{type(error).__name__}: {error}") from None
    return evaluate_object(evaluator, actions, seed, time_limit_s)


def evaluate_object(evaluator: Evaluator, actions: tuple[int, ...], seed: int,
                    time_limit_s: float | None = None) -> Metrics:
    """:func:`evaluate_task` for an evaluator object already built (the Python API's runs):
    evaluate one design; an exception, a ``SystemExit`` or the time limit gives a terminated
    ``Metrics`` naming it."""
    design = Design(tuple(actions))
    try:
        return with_time_limit(lambda: safe_evaluate(evaluator, design, seed=int(seed)),
                               time_limit_s)
    except EvaluationTimeout as error:
        reason = str(error)
    except SystemExit as error:
        reason = f"exception: SystemExit({error.code!r}) raised inside the evaluation"
    logger.warning("evaluation of %s failed: %s", design.actions, reason)
    return Metrics.failed(reason)


def result_or_failure(future: Future) -> Metrics:
    """The future's ``Metrics``; a worker that died or a transport error gives a terminated one.

    ``safe_evaluate`` already turns an evaluator's exceptions into metrics inside the worker, so
    an exception here comes from the infrastructure (a killed process, a lost Dask worker).

    Raises:
        EvaluatorBuildError: If the worker could not build the evaluator (stops the search).
        BrokenExecutor: If a local worker process died (the pool is unusable: the search stops
            and its resume evaluates the designs that were in flight again).
    """
    try:
        return future.result()
    except (EvaluatorBuildError, BrokenExecutor):
        raise
    except Exception as error:
        return Metrics.failed(f"exception: worker failed: {type(error).__name__}: {error}")


class InlineExecutor(Executor):
    """Runs each task in the calling thread at submission (``workers=1``); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shutdown = False

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn(*args, **kwargs)`` now and return a finished future."""
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit to an InlineExecutor after shutdown")
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            if not isinstance(error, Exception):
                raise
            future.set_exception(error)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Refuse later submissions."""
        with self._lock:
            self._shutdown = True


def local_executor(workers: int) -> Executor:
    """``workers`` local processes started with ``spawn`` (1 worker: :class:`InlineExecutor`).

    Raises:
        ValueError: If ``workers < 1``.
    """
    if isinstance(workers, bool) or int(workers) != workers or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if workers == 1:
        return InlineExecutor()
    return ProcessPoolExecutor(max_workers=int(workers),
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init, initargs=(os.getpid(),))


def _worker_init(parent: int) -> None:
    """Workers leave Ctrl-C to the driver, which stops them (no traceback from each worker), and
    exit as soon as their parent is gone (a killed driver leaves nothing running)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), name="cnn-design-parent-watch",
                     daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)


def connect_dask(address: str, *, timeout: float = DEFAULT_SCHEDULER_TIMEOUT_S) -> Any:
    """A Dask ``Client`` connected to the scheduler at ``address``.

    Raises:
        ImportError: If Dask distributed is not installed (names the extra).
        ValueError: If the scheduler cannot be reached within ``timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError as error:
        from cnn_design_env.search.plugins import install_hint

        raise ImportError(f"--scheduler needs Dask distributed: {install_hint('dask')}"
                          ) from error
    try:
        kind = probe_scheduler(address, timeout=timeout)
    except Exception as error:  # refused, timed out, a bad address, a server speaking garbage
        raise ValueError(f"cannot reach the Dask scheduler at {address!r} within {timeout:g} s "
                         f"({type(error).__name__}: {error}); start one with "
                         "'dask scheduler' or check the address") from None
    if kind != "Scheduler":
        raise ValueError(f"{address!r} answers as a Dask {kind!r}, not a scheduler")
    return Client(address, timeout=timeout, set_as_default=False)


def probe_scheduler(address: str, *, timeout: float = DEFAULT_SCHEDULER_TIMEOUT_S) -> str:
    """Ask the Dask server at ``address`` what it is (``"Scheduler"``), within ``timeout`` s.

    Done before building a ``Client``: a ``Client`` that fails to connect waits twice its timeout
    again while it is garbage-collected, and a server that is not Dask can make it read garbage.

    Raises:
        Exception: Whatever connecting raised (``OSError``, ``TimeoutError``, ``ValueError``...).
    """
    import asyncio

    from distributed.core import rpc

    async def identity() -> dict:
        async with rpc(address, timeout=timeout) as remote:
            return await remote.identity()

    def run() -> dict:  # in a thread of its own: the caller may be inside an event loop
        return asyncio.run(asyncio.wait_for(identity(), timeout))

    with ThreadPoolExecutor(max_workers=1) as pool:
        info = pool.submit(run).result()
    return str(info.get("type", "unknown")) if isinstance(info, dict) else "unknown"


@contextlib.contextmanager
def open_executor(*, workers: int = 1, scheduler: str | None = None,
                  timeout: float = DEFAULT_SCHEDULER_TIMEOUT_S) -> Iterator[Executor]:
    """The executor for ``workers`` local processes or a Dask ``scheduler``; closed on exit.

    On exit (normal or an exception such as ``KeyboardInterrupt``) queued tasks are cancelled and
    local worker processes are terminated, so an interrupted search leaves nothing running.

    Args:
        workers: Local processes (1: in-process). Ignored with ``scheduler``.
        scheduler: Address of a Dask scheduler (``tcp://host:port``).
        timeout: Seconds to wait for the scheduler.

    Raises:
        ValueError: Bad ``workers`` or an unreachable scheduler.
    """
    if scheduler is not None:
        client = connect_dask(scheduler, timeout=timeout)
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
        return
    executor = local_executor(workers)
    try:
        yield executor
    finally:
        # ``_processes`` is CPython's pid -> Process map (``terminate_workers`` arrives in 3.14).
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()


def describe(*, workers: int = 1, scheduler: str | None = None) -> str:
    """A short text for logs: ``"in-process"``, ``"2 local processes"``, ``"dask tcp://..."``."""
    if scheduler is not None:
        return f"dask {scheduler}"
    return "in-process" if workers == 1 else f"{workers} local processes"


__all__ = ["DEFAULT_SCHEDULER_TIMEOUT_S", "EVALUATOR_KINDS", "EvaluatorBuildError",
           "EvaluatorSpec", "InlineExecutor", "build_evaluator", "connect_dask", "describe",
           "evaluate_object", "evaluate_task", "local_executor", "open_executor",
           "probe_scheduler", "resolve_space", "result_or_failure"]
