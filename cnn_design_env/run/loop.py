"""The search loop: ask, evaluate on an executor, tell in ask order, journal and checkpoint.

The one runner of the project: ``cnn-design search``/``resume``/``benchmark`` run it on disk
(:mod:`cnn_design_env.run.session`), the Python API in memory (:func:`cnn_design_env.search.run`,
``baselines.run``) and ``agents.train`` (a team playing the AEC env, as one searcher whose ``ask``
plays an episode). It serves every method (the paper's agents through
:class:`~cnn_design_env.search.team.TeamSearcher` and every baseline)::

    while no budget is spent (evaluations, simulated seconds, wall seconds):
        while in_flight < K and budget left and searcher.can_ask_ahead(in_flight):
            design = searcher.ask(); seed = draw(seeds); submit(design, seed)
        wait for the oldest design in flight (journal every evaluation as it completes)
        searcher.tell(oldest); checkpoint (every ``checkpoint_every`` tells)

Budgets and stopping rules, the same for every method: before each ask the loop stops asking
once ``episodes`` evaluations were asked, the simulated cost told so far (the sum of
``metrics.cost_s``, e.g. GPU-seconds recorded in a table) reached ``budget_seconds`` or the wall
time reached ``wall_seconds``; the evaluations in flight are still told. The evaluation that
crosses a seconds budget is kept (its cost was not known before it ran). A seconds-only budget
stops after :data:`ZERO_COST_LIMIT` consecutive evaluations that cost nothing (``"no_cost"``),
and ``stop_on_convergence`` stops when the searcher's ``convergence()`` hook says so.

Determinism: which designs are asked depends only on the searcher, the seed and ``K``, never on
timing, because results are told in ask order. Evaluation seeds follow the one rule of
:mod:`cnn_design_env.search.seeds` (as the AEC env draws them, once per episode), so with ``K = 1``
the paper's agents play the same episodes as ``agents.train(env, team, seed=seed)``.

Cache: with ``cache=True`` a design asked before (at a lower index) is not evaluated again; it
gets the first result with ``cached=True`` and ``cost_s=0``. Whether an index is a repeat depends
only on the ask order, so interrupted and uninterrupted runs make the same decisions.

Resume (:class:`~cnn_design_env.run.checkpoint.LoopState` + the journal): the checkpoint holds the
searcher after its last tell and the designs then in flight; the journal holds every completed
evaluation. The loop re-submits the designs in flight, taking any result already journaled (same
index, design and seed) instead of evaluating, and asks the rest anew; nothing completed is
evaluated twice. Without a checkpoint (missing or corrupt) the run starts from a fresh searcher
with ``replay=True``: every ask that the journal answers (same index, design and seed) is told
its journaled result without evaluating, so the searcher is rebuilt by replaying its tells; an ask
that differs from the journal stops the replay (:class:`ReplayError`), leaving the journal as is.

Errors of the method: a searcher that raises in ``ask`` or ``tell`` (or asks a design outside
the space), or a reward that raises, stops the loop with :class:`MethodError` naming the phase;
everything completed is journaled.

Faults: a NaN or infinite metric or reward becomes a terminated evaluation with the reason and
the reward's penalty (:func:`~cnn_design_env.evaluators.faults.scored`), so it is never the best
and no searcher is told a non-finite number; ``time_limit_s`` bounds each evaluation's wall-clock
time on every executor (:func:`~cnn_design_env.evaluators.executors.evaluate_task`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnn_design_env.evaluators import Evaluator, Metrics
from cnn_design_env.evaluators.executors import (
    EvaluatorSpec,
    evaluate_object,
    evaluate_task,
    result_or_failure,
)
from cnn_design_env.evaluators.faults import scored
from cnn_design_env.reward import Reward
from cnn_design_env.run import checkpoint
from cnn_design_env.run.checkpoint import LoopState, PendingAsk
from cnn_design_env.run.journal import Journal, Record
from cnn_design_env.search.searcher import can_ask_ahead, convergence, next_phase
from cnn_design_env.search.seeds import SEED_BOUND, draw, evaluation_seeds
from cnn_design_env.space import Design

logger = logging.getLogger(__name__)

ZERO_COST_LIMIT = 1000
"""A seconds-only budget stops after this many consecutive evaluations that cost nothing."""

RecordCallback = Callable[[Record], None]
TellCallback = Callable[[Record, LoopState], None]


class ReplayError(ValueError):
    """Replaying the journal into a fresh searcher asked something the journal does not hold."""


class MethodError(RuntimeError):
    """The method failed (its ``ask`` or ``tell`` raised, it asked a design outside the space,
    or the reward raised); ``phase`` says where, the message names the method."""

    def __init__(self, message: str, phase: str) -> None:
        super().__init__(message)
        self.phase = phase


def check_budget(episodes: int | None, budget_seconds: float | None,
                 wall_seconds: float | None = None) -> None:
    """Check the budgets: at least one, each positive (episodes an integer).

    Raises:
        ValueError: Naming the bad budget.
    """
    if episodes is None and budget_seconds is None and wall_seconds is None:
        raise ValueError("give a budget: budget_episodes, budget_seconds and/or wall_seconds")
    if episodes is not None and (isinstance(episodes, bool) or int(episodes) != episodes
                                 or episodes <= 0):
        raise ValueError(f"budget_episodes must be a positive integer, got {episodes!r}")
    for name, value in (("budget_seconds", budget_seconds), ("wall_seconds", wall_seconds)):
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise ValueError(f"{name} must be a positive number, got {value!r}")


@dataclass
class _InFlight:
    """A design asked and not yet told."""

    ask: PendingAsk
    future: Future | None = None
    source: _InFlight | None = None  # a repeat waits for its first occurrence
    metrics: Metrics | None = None
    record: Record | None = None
    worker: str = ""
    search_s: float = 0.0  # wall seconds the searcher spent asking it

    @property
    def resolved(self) -> bool:
        return self.record is not None


class SearchLoop:
    """Runs a searcher against an executor until a budget is spent.

    Args:
        state: Where the run stands (fresh: ``told=0``; resumed: from the checkpoint).
        spec: How workers build the evaluator (an :class:`EvaluatorSpec`), or an evaluator
            object (evaluated where the executor runs it: in-process, or pickled to workers).
        executor: Where evaluations run.
        reward: ``Metrics -> float``.
        episodes: Evaluations in total (resumed ones included; ``None``: no such budget).
        in_flight: ``K``: evaluations kept in flight when the searcher can batch.
        journal: The run's journal (opened for append; ``None``: none kept).
        checkpoint_path: Where to save ``state`` (``None``: nowhere): when the run starts, after
            every ``checkpoint_every`` tells and when it stops.
        checkpoint_every: Tells between checkpoints (default 1: after every tell; 0: only when
            the run starts and stops). A resume from an older checkpoint asks again what was
            told since, taking each result from the journal.
        budget_seconds: Simulated cost (sum of ``metrics.cost_s``) after which nothing more is
            asked.
        wall_seconds: Wall seconds (all sessions) after which nothing more is asked.
        method: The method's name in errors (default: the searcher's ``name``).
        completed: Journaled records by index (on resume).
        cache: Evaluate each distinct design once.
        wall_offset: Wall seconds of earlier sessions.
        worker: Label recorded for evaluations made on ``executor``.
        stop_on_convergence: Stop as soon as a team reports convergence.
        on_record: Called with each record as it is journaled (completion order).
        on_tell: Called after each tell (ask order) with the record and the state.
        time_limit_s: Wall-clock seconds one evaluation may take (``None``: no limit).
        replay: Rebuilding a searcher from the journal: an ask that differs from a journaled
            evaluation at the same index raises :class:`ReplayError` instead of evaluating.
        identity: The run's settings, stored in the checkpoint to name a mismatch.
    """

    def __init__(self, state: LoopState, *, spec: EvaluatorSpec | Evaluator, executor: Executor,
                 reward: Reward, episodes: int | None, in_flight: int = 1,
                 journal: Journal | None = None, checkpoint_path: str | Path | None = None,
                 completed: Mapping[int, Record] | None = None,
                 cache: bool = True, wall_offset: float = 0.0, worker: str = "",
                 stop_on_convergence: bool = False, on_record: Iterable[RecordCallback] = (),
                 on_tell: Iterable[TellCallback] = (), time_limit_s: float | None = None,
                 replay: bool = False, identity: Mapping[str, Any] | None = None,
                 budget_seconds: float | None = None, wall_seconds: float | None = None,
                 method: str | None = None, checkpoint_every: int = 1) -> None:
        check_budget(episodes, budget_seconds, wall_seconds)
        if isinstance(checkpoint_every, bool) or int(checkpoint_every) != checkpoint_every \
                or checkpoint_every < 0:
            raise ValueError(f"checkpoint_every must be a non-negative integer, got "
                             f"{checkpoint_every!r}")
        self.method = method or getattr(state.searcher, "name", type(state.searcher).__name__)
        self.state = state
        self.spec = spec
        self.executor = executor
        self.reward = reward
        self.episodes = None if episodes is None else int(episodes)
        self.budget_seconds = budget_seconds
        self.wall_seconds = wall_seconds
        self.in_flight = max(1, int(in_flight))
        self.journal = journal
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.checkpoint_every = int(checkpoint_every)
        self.completed = dict(completed or {})
        self.cache = cache
        self.worker = worker
        self.stop_on_convergence = stop_on_convergence
        self.on_record = tuple(on_record)
        self.on_tell = tuple(on_tell)
        self.time_limit_s = time_limit_s
        self.replay = replay
        # while replaying, no checkpoint: one of a replay cut short would hide the journal's rest
        self._replay_until = max(self.completed) + 1 if replay and self.completed else 0
        self.identity = dict(identity or {})
        self.stopped = ""
        self.cost_s = 0.0  # simulated cost told so far
        self.last_search_s = 0.0  # the searcher's seconds in the last told ask and tell
        self._zero_streak = 0
        self._wall_offset = float(wall_offset)
        self._start = time.perf_counter()
        self._first: dict[Design, _InFlight | Record] = {}
        self._queue: deque[_InFlight] = deque()

    @property
    def wall_s(self) -> float:
        """Wall seconds of the run so far (all sessions)."""
        return self._wall_offset + time.perf_counter() - self._start

    # ------------------------------------------------------------------ run
    def run(self) -> str:
        """Run to the end; returns why it stopped: ``"budget_episodes"``, ``"budget_seconds"``,
        ``"budget_wall"``, ``"no_cost"`` or ``"converged"``.

        Raises:
            ValueError: If the journal lacks an evaluation the checkpoint says was told.
            MethodError: If the method fails (everything completed is journaled).
        """
        self.stopped = self._run()
        if self.checkpoint_every != 1:  # otherwise saved at the last tell already
            self.checkpoint()
        return self.stopped

    def _run(self) -> str:
        state = self.state
        for index in range(state.told):
            record = self.completed.get(index)
            if record is None:
                raise ValueError(f"{self.journal.path}: evaluation {index} is missing although "
                                 f"the checkpoint says {state.told} were told; the journal was "
                                 "truncated or edited")
            if self.cache:
                self._first.setdefault(record.design, record)
            self._count_cost(record.metrics)
        for ask in state.pending:
            self._queue.append(self._submit(ask))
        self.checkpoint()
        while True:
            if self.stop_on_convergence and convergence(state.searcher)[0]:
                return "converged"
            spent = self.spent()
            if not spent:
                self._fill()
            if not self._queue:
                return spent or "budget_episodes"
            self._wait_for_head()
            self._tell(self._queue.popleft())

    def spent(self) -> str:
        """The budget spent before the next ask (``""``: none is, ask on)."""
        asked = self.state.told + len(self._queue)
        if self.episodes is not None and asked >= self.episodes:
            return "budget_episodes"
        if self.budget_seconds is not None and self.cost_s >= self.budget_seconds:
            return "budget_seconds"
        if self.wall_seconds is not None and self.wall_s >= self.wall_seconds:
            return "budget_wall"
        if (self.episodes is None and self.budget_seconds is not None
                and self._zero_streak >= ZERO_COST_LIMIT):
            return "no_cost"
        return ""

    def _count_cost(self, metrics: Metrics) -> None:
        self.cost_s += max(0.0, float(metrics.cost_s))
        self._zero_streak = self._zero_streak + 1 if metrics.cost_s <= 0 else 0

    def checkpoint(self) -> None:
        """Save the state (see ``checkpoint_every``; not while replaying the journal)."""
        if self.checkpoint_path is None or self.state.told < self._replay_until:
            return
        self.state.pending = [item.ask for item in self._queue]
        self.state.wall_s = self.wall_s
        checkpoint.save(self.checkpoint_path, self.state, self.identity)

    # ------------------------------------------------------------ internals
    def _fill(self) -> None:
        state = self.state
        while (len(self._queue) < self.in_flight and not self.spent()
               and can_ask_ahead(state.searcher, len(self._queue))):
            start = time.perf_counter()
            phase, epsilon = next_phase(state.searcher)
            design = self._method("ask", state.searcher.ask)
            design = self._method("ask (design outside the space)",
                                  lambda d=design: state.searcher.space.validate(d))
            seed = draw(state.seeds)
            ask = PendingAsk(state.told + len(self._queue), design, seed, phase, epsilon)
            item = self._submit(ask)
            item.search_s = time.perf_counter() - start
            self._queue.append(item)

    def _method(self, phase: str, call: Callable[[], Any]) -> Any:
        """``call()``; an exception becomes a :class:`MethodError` naming the method."""
        try:
            return call()
        except Exception as error:
            raise MethodError(f"method {self.method!r} failed in {phase}: {type(error).__name__}: "
                              f"{error}", phase) from error

    def _submit(self, ask: PendingAsk) -> _InFlight:
        item = _InFlight(ask)
        known = self.completed.get(ask.index)
        first = self._first.get(ask.design) if self.cache else None
        if known is not None and known.design == ask.design and known.eval_seed == ask.eval_seed:
            item.metrics, item.record, item.worker = known.metrics, known, "journal"
        elif first is not None:
            item.source, item.worker = (first if isinstance(first, _InFlight) else None), "cache"
            if isinstance(first, Record):
                item.metrics = _repeat(first.metrics)
        else:
            if known is not None and self.replay:
                raise ReplayError(
                    f"{self.journal.path}: replaying the journal into a fresh "
                    f"{type(self.state.searcher).__name__} diverged at evaluation {ask.index}: "
                    f"the journal holds design {known.design.actions} (seed {known.eval_seed}), "
                    f"the method asked {ask.design.actions} (seed {ask.eval_seed}); the method "
                    "is not a function "
                    "of its seed and tells, or the run was made with another number of workers "
                    "(resume with that --workers). The journal is left as it is")
            if known is not None:
                logger.warning("journal line for evaluation %d holds design %s (seed %d) but the "
                               "resumed search asked %s (seed %d); evaluating again", ask.index,
                               known.design.actions, known.eval_seed, ask.design.actions,
                               ask.eval_seed)
            task = evaluate_task if isinstance(self.spec, EvaluatorSpec) else evaluate_object
            item.future = self.executor.submit(task, self.spec, ask.design.actions,
                                               ask.eval_seed, self.time_limit_s)
            item.worker = self.worker
        if self.cache:
            self._first.setdefault(ask.design, item)
        return item

    def _resolve(self) -> None:
        for item in self._queue:
            if item.resolved:
                continue
            if item.metrics is None:
                if item.future is not None and item.future.done():
                    item.metrics = result_or_failure(item.future)
                elif item.source is not None and item.source.metrics is not None:
                    item.metrics = _repeat(item.source.metrics)
            if item.metrics is not None:
                self._journal(item)

    def _journal(self, item: _InFlight) -> None:
        ask = item.ask
        # repeats copy what is journaled
        item.metrics, value = self._method("reward", lambda: scored(item.metrics, self.reward))
        item.record = Record(ask.index, ask.design, ask.eval_seed, item.metrics, value,
                             ask.phase, ask.epsilon, self.wall_s, item.worker)
        if self.journal is not None:
            self.journal.append(item.record)
        for callback in self.on_record:
            callback(item.record)

    def _wait_for_head(self) -> None:
        head = self._queue[0]
        while True:
            self._resolve()
            if head.resolved:
                return
            waiting = [i.future for i in self._queue if i.future is not None and not i.resolved]
            if not waiting:  # cannot happen: a repeat's source is earlier in the queue
                raise RuntimeError(f"evaluation {head.ask.index} waits on nothing")
            concurrent.futures.wait(waiting, return_when=concurrent.futures.FIRST_COMPLETED)

    def _tell(self, item: _InFlight) -> None:
        record = item.record
        state = self.state
        start = time.perf_counter()
        self._method("tell", lambda: state.searcher.tell(record.design, record.reward,
                                                         record.metrics))
        self.last_search_s = item.search_s + time.perf_counter() - start
        self._count_cost(record.metrics)
        state.told += 1
        if self.checkpoint_every and state.told % self.checkpoint_every == 0:
            self.checkpoint()
        for callback in self.on_tell:
            callback(record, state)


def _repeat(metrics: Metrics) -> Metrics:
    """A repeated design's answer: the first result, marked cached, costing nothing."""
    return dataclasses.replace(metrics, cached=True, cost_s=0.0)


def fresh_state(searcher: Any, *, seed: int, run_id: str = "") -> LoopState:
    """The state of a run that has not asked anything yet (its seeds: the one seed rule)."""
    return LoopState(searcher=searcher, seeds=evaluation_seeds(seed), run_id=run_id)


__all__ = ["SEED_BOUND", "ZERO_COST_LIMIT", "MethodError", "ReplayError", "SearchLoop",
           "check_budget", "fresh_state"]
