"""The search loop: ask, evaluate on an executor, tell in ask order, journal and checkpoint.

One loop serves every method (the paper's agents through ``baselines.TeamSearcher`` and every
baseline)::

    while told < episodes:
        while in_flight < K and asked < episodes and can_ask_ahead(searcher, in_flight):
            design = searcher.ask(); seed = seeds.integers(2**31 - 1); submit(design, seed)
        wait for the oldest design in flight (journal every evaluation as it completes)
        searcher.tell(oldest); checkpoint

Determinism: which designs are asked depends only on the searcher, the seed and ``K``, never on
timing, because results are told in ask order. With ``K = 1`` the evaluation seeds are drawn
exactly as the AEC env draws them (``np.random.default_rng(seed).integers(2**31 - 1)`` once per
episode), so the paper's agents play the same episodes as ``agents.train(env, team, seed=seed)``.

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

Faults: a NaN or infinite metric or reward becomes a terminated evaluation with the reason and
the reward's penalty (:func:`~cnn_design_env.evaluators.faults.scored`), so it is never the best
and no searcher is told a non-finite number; ``time_limit_s`` bounds each evaluation's wall-clock
time on every executor (:func:`~cnn_design_env.evaluators.executors.evaluate_task`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnn_design_env.evaluators import Metrics
from cnn_design_env.evaluators.executors import EvaluatorSpec, evaluate_task, result_or_failure
from cnn_design_env.evaluators.faults import scored
from cnn_design_env.reward import Reward
from cnn_design_env.run import checkpoint
from cnn_design_env.run.checkpoint import LoopState, PendingAsk
from cnn_design_env.run.journal import Journal, Record
from cnn_design_env.run.searchers import can_ask_ahead, converged, phase_of
from cnn_design_env.space import Design

logger = logging.getLogger(__name__)

SEED_BOUND = 2**31 - 1
"""Evaluation seeds are drawn in ``[0, SEED_BOUND)``, as the env and ``baselines.run`` do."""

RecordCallback = Callable[[Record], None]
TellCallback = Callable[[Record, LoopState], None]


class ReplayError(ValueError):
    """Replaying the journal into a fresh searcher asked something the journal does not hold."""


@dataclass
class _InFlight:
    """A design asked and not yet told."""

    ask: PendingAsk
    future: Future | None = None
    source: _InFlight | None = None  # a repeat waits for its first occurrence
    metrics: Metrics | None = None
    record: Record | None = None
    worker: str = ""

    @property
    def resolved(self) -> bool:
        return self.record is not None


class SearchLoop:
    """Runs a searcher against an executor until ``episodes`` evaluations have been told.

    Args:
        state: Where the run stands (fresh: ``told=0``; resumed: from the checkpoint).
        spec: How workers build the evaluator.
        executor: Where evaluations run.
        reward: ``Metrics -> float``.
        episodes: Evaluations in total (resumed ones included).
        in_flight: ``K``: evaluations kept in flight when the searcher can batch.
        journal: The run's journal (opened for append).
        checkpoint_path: Where to save ``state`` after every tell.
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

    def __init__(self, state: LoopState, *, spec: EvaluatorSpec, executor: Executor,
                 reward: Reward, episodes: int, in_flight: int, journal: Journal,
                 checkpoint_path: str | Path, completed: Mapping[int, Record] | None = None,
                 cache: bool = True, wall_offset: float = 0.0, worker: str = "",
                 stop_on_convergence: bool = False, on_record: Iterable[RecordCallback] = (),
                 on_tell: Iterable[TellCallback] = (), time_limit_s: float | None = None,
                 replay: bool = False, identity: Mapping[str, Any] | None = None) -> None:
        self.state = state
        self.spec = spec
        self.executor = executor
        self.reward = reward
        self.episodes = int(episodes)
        self.in_flight = max(1, int(in_flight))
        self.journal = journal
        self.checkpoint_path = Path(checkpoint_path)
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
        """Run to the end; returns why it stopped (``"episodes"`` or ``"converged"``).

        Raises:
            ValueError: If the journal lacks an evaluation the checkpoint says was told.
        """
        state = self.state
        for index in range(state.told):
            record = self.completed.get(index)
            if record is None:
                raise ValueError(f"{self.journal.path}: evaluation {index} is missing although "
                                 f"the checkpoint says {state.told} were told; the journal was "
                                 "truncated or edited")
            if self.cache:
                self._first.setdefault(record.design, record)
        for ask in state.pending:
            self._queue.append(self._submit(ask))
        self.checkpoint()
        while state.told < self.episodes:
            if self.stop_on_convergence and converged(state.searcher)[0]:
                self.stopped = "converged"
                return self.stopped
            self._fill()
            self._wait_for_head()
            self._tell(self._queue.popleft())
        self.stopped = "episodes"
        return self.stopped

    def checkpoint(self) -> None:
        """Save the state (called after every tell; not while replaying the journal)."""
        if self.state.told < self._replay_until:
            return
        self.state.pending = [item.ask for item in self._queue]
        self.state.wall_s = self.wall_s
        checkpoint.save(self.checkpoint_path, self.state, self.identity)

    # ------------------------------------------------------------ internals
    def _fill(self) -> None:
        state = self.state
        while (len(self._queue) < self.in_flight and state.told + len(self._queue) < self.episodes
               and can_ask_ahead(state.searcher, len(self._queue))):
            phase, epsilon = phase_of(state.searcher)
            design = state.searcher.space.validate(state.searcher.ask())
            seed = int(state.seeds.integers(SEED_BOUND))
            ask = PendingAsk(state.told + len(self._queue), design, seed, phase, epsilon)
            self._queue.append(self._submit(ask))

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
            item.future = self.executor.submit(evaluate_task, self.spec, ask.design.actions,
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
        item.metrics, value = scored(item.metrics, self.reward)  # repeats copy what is journaled
        item.record = Record(ask.index, ask.design, ask.eval_seed, item.metrics, value,
                             ask.phase, ask.epsilon, self.wall_s, item.worker)
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
        state.searcher.tell(record.design, record.reward, record.metrics)
        state.told += 1
        self.checkpoint()
        for callback in self.on_tell:
            callback(record, state)


def _repeat(metrics: Metrics) -> Metrics:
    """A repeated design's answer: the first result, marked cached, costing nothing."""
    return dataclasses.replace(metrics, cached=True, cost_s=0.0)


def fresh_state(searcher: Any, *, seed: int, run_id: str = "") -> LoopState:
    """The state of a run that has not asked anything yet."""
    import numpy as np

    return LoopState(searcher=searcher, seeds=np.random.default_rng(seed), run_id=run_id)


__all__ = ["SEED_BOUND", "ReplayError", "SearchLoop", "fresh_state"]
