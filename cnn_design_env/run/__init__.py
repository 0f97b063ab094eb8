"""Search runs on disk: a run directory with a journal of every evaluation, a checkpoint after
every told evaluation, lossless resume, a summary and plots (``cnn-design search``/``resume``/
``show``).

* :mod:`.config`: :class:`RunConfig`, the run's settings (``config.json``).
* :mod:`.layout`: :class:`RunDir`, the directory's files, marker and lock.
* :mod:`.identity`: the run's identity (the hash of its settings) and what differs.
* :mod:`.journal`: the append-only JSONL of evaluations (:class:`Record`), lines chained.
* :mod:`.checkpoint`: the searcher and loop state (:class:`LoopState`), JSON + ``.npz``, atomic.
* :mod:`.loop`: :class:`SearchLoop`, the project's one runner: ask / evaluate on an executor /
  tell in ask order, budgets and stopping rules (the searcher hooks it reads, the seed rule and
  the plug-in registry are in :mod:`cnn_design_env.search`).
* :mod:`.session`: :func:`start`, :func:`resume`, :func:`finish`.
* :mod:`.summary`, :mod:`.plots`, :mod:`.progress`: what a user sees.
* :mod:`.final`: train one design until validation stops improving (``cnn-design train``).

Example:
    >>> from cnn_design_env.evaluators.executors import EvaluatorSpec
    >>> config = RunConfig(space="vgg_mini", method="random", episodes=3,
    ...                    evaluator=EvaluatorSpec("train", "vgg_mini", "digits"))
    >>> config.in_flight
    1
"""

from __future__ import annotations

from cnn_design_env.run.checkpoint import CheckpointError, LoopState, PendingAsk, RunMismatchError
from cnn_design_env.run.config import RunConfig
from cnn_design_env.run.journal import Journal, JournalError, Record, read_journal
from cnn_design_env.run.layout import RunDir
from cnn_design_env.run.loop import SearchLoop
from cnn_design_env.run.session import RunResult, finish, load_state, resume, start, where

__all__ = ["CheckpointError", "Journal", "JournalError", "LoopState", "PendingAsk", "Record",
           "RunConfig", "RunDir", "RunMismatchError", "RunResult", "SearchLoop", "finish",
           "load_state", "read_journal", "resume", "start", "where"]
