"""The append-only JSONL journal of a run: one line per completed evaluation.

The journal is the source of truth for what has been evaluated: a resumed run never re-evaluates
a design whose line is there, and the evaluation cache is rebuilt from it. Lines are written when
an evaluation completes (with several in flight, possibly out of index order), each with one
``write`` of the whole line on an unbuffered append-mode file, so a killed process leaves at most
one partial *last* line. Reading:

* a last line without its newline is a write cut short by the kill: it is dropped (and cut off the
  file by :meth:`Journal.open_for_append` before anything is appended);
* any other line that is not a valid record is corruption: :class:`JournalError` names the file
  and the line number, and resume refuses to continue.

If a line for the same ``index`` appears twice (an evaluation redone after a resume), the later
line wins.

Integrity: every line carries the run's identity hash (``"run"``, its first 16 hex digits) and a
chained checksum (``"chain"``, the last key): the first 16 hex digits of
``SHA-256(previous chain + line without its chain)``, the first line chained to the run hash. A
line edited by hand (a reward of 9999), removed from the middle, moved or copied from another
run's journal breaks the chain, and :func:`read_journal` names the file and the line.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design


class JournalError(ValueError):
    """A journal line that cannot be read (names the file and the 1-based line)."""


@dataclass(frozen=True)
class Record:
    """One completed evaluation.

    Attributes:
        index: Position in the run's ask order (0-based).
        design: The design evaluated.
        eval_seed: The seed given to the evaluator.
        metrics: What the evaluator measured (``cached=True``, ``cost_s=0`` for a repeat).
        reward: ``reward(metrics)``.
        phase: The searcher's phase when it asked (``""`` if it has none).
        epsilon: Its exploration rate then (NaN if none).
        wall_s: Wall seconds of the run (all sessions) when the evaluation completed.
        worker: Where it ran (``"inline"``, ``"process"``, ``"dask"``, ``"cache"``, ``"journal"``).
    """

    index: int
    design: Design
    eval_seed: int
    metrics: Metrics
    reward: float
    phase: str = ""
    epsilon: float = math.nan
    wall_s: float = 0.0
    worker: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"index": self.index, "design": list(self.design.actions),
                "eval_seed": self.eval_seed, "reward": self.reward, "phase": self.phase,
                "epsilon": None if math.isnan(self.epsilon) else self.epsilon,
                "wall_s": self.wall_s, "worker": self.worker, "metrics": self.metrics.to_dict(),
                "extra": dict(self.extra)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Record:
        """Inverse of :meth:`to_dict`.

        Raises:
            KeyError, TypeError, ValueError: On a malformed record.
        """
        epsilon = data.get("epsilon")
        index = data["index"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise ValueError(f"index must be a non-negative integer, got {index!r}")
        return cls(index=index, design=Design(tuple(data["design"])),
                   eval_seed=int(data["eval_seed"]), metrics=Metrics.from_dict(data["metrics"]),
                   reward=float(data["reward"]), phase=str(data.get("phase", "")),
                   epsilon=math.nan if epsilon is None else float(epsilon),
                   wall_s=float(data.get("wall_s", 0.0)), worker=str(data.get("worker", "")),
                   extra=dict(data.get("extra", {})))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


RUN_ID_DIGITS = 16
_CHAIN = re.compile(rb'^(.*), "chain": "([0-9a-f]{16})"\}$', re.DOTALL)


def chain_of(previous: str, payload: bytes) -> str:
    """The chained checksum of a line whose text without its chain is ``payload``."""
    return hashlib.sha256(previous.encode() + b"|" + payload).hexdigest()[:16]


def dumps(record: Record, *, run_id: str = "", previous: str | None = None) -> str:
    """One journal line (no newline), bound to ``run_id`` and chained to ``previous``.

    Args:
        record: The evaluation.
        run_id: The run's identity hash.
        previous: The chain of the line before (``None``: this is the first line).
    """
    run = run_id[:RUN_ID_DIGITS]
    payload = json.dumps({"run": run, **record.to_dict()}, default=_json_default,
                         allow_nan=True)
    chain = chain_of(run if previous is None else previous, payload.encode())
    return f'{payload[:-1]}, "chain": "{chain}"}}'


@dataclass
class JournalContents:
    """What :func:`read_journal` found.

    Attributes:
        records: The latest record of each index, by index.
        lines: Complete lines read.
        partial_tail: Bytes of an unterminated last line (a write cut short), or 0.
        chain: The chain of the last complete line (``None`` if there is none).
        run: The run hash its lines carry (16 hex digits; ``None`` if there is no line).
    """

    records: dict[int, Record]
    lines: int
    partial_tail: int
    chain: str | None = None
    run: str | None = None

    def ordered(self) -> list[Record]:
        """The records sorted by index."""
        return [self.records[i] for i in sorted(self.records)]

    def prefix(self) -> list[Record]:
        """The records ``0, 1, ..., k-1`` for the largest contiguous ``k``."""
        out = []
        while len(out) in self.records:
            out.append(self.records[len(out)])
        return out


def _check_chain(path: Path, number: int, line: bytes, previous: str | None,
                 run: str | None) -> tuple[str, str]:
    """``(chain, run)`` of a line after checking its checksum and run."""
    match = _CHAIN.match(line)
    if match is None:
        raise JournalError(f"{path}: line {number} has no checksum (it was not written by "
                           "cnn-design, or was edited)")
    payload, chain = match.group(1) + b"}", match.group(2).decode()
    found = re.search(rb'^\{"run": "([0-9a-f]*)"', payload)
    line_run = found.group(1).decode() if found else ""
    if run is not None and line_run != run:
        raise JournalError(f"{path}: line {number} belongs to run {line_run!r}, not to this "
                           f"run {run!r} (copied from another run's journal?)")
    if chain_of(line_run if previous is None else previous, payload) != chain:
        raise JournalError(f"{path}: line {number} was edited or moved (its chained checksum "
                           "does not match); refusing to use this journal. The lines before it "
                           "are intact")
    return chain, line_run


def read_journal(path: str | os.PathLike[str], *, run_id: str | None = None) -> JournalContents:
    """Read a journal (a missing file is an empty journal), checking every line's checksum.

    Args:
        path: The ``.jsonl`` file.
        run_id: The run's identity hash: a line of another run is refused.

    Raises:
        JournalError: On a line that is not a valid record (other than a partial last line), an
            edited line or a line of another run, naming the file and the line.
    """
    path = Path(path)
    if not path.exists():
        return JournalContents({}, 0, 0)
    raw = path.read_bytes()
    complete, _, tail = raw.rpartition(b"\n")
    records: dict[int, Record] = {}
    count = 0
    chain: str | None = None
    run = None if run_id is None else run_id[:RUN_ID_DIGITS]
    for number, line in enumerate(complete.split(b"\n") if complete else [], start=1):
        count = number
        if not line.strip():
            raise JournalError(f"{path}: line {number} is empty (the journal is corrupted)")
        try:
            record = Record.from_dict(json.loads(line))
        except Exception as error:  # whatever a damaged line makes the parser raise
            snippet = line[:80].decode("utf-8", "replace")
            raise JournalError(f"{path}: line {number} is not a valid evaluation record "
                               f"({type(error).__name__}: {error}): {snippet!r}") from error
        chain, run = _check_chain(path, number, line, chain, run)
        records[record.index] = record
    return JournalContents(records, count, len(tail), chain, run)


class Journal:
    """Appends records to ``path``, one complete line per ``write``.

    Args:
        path: The ``.jsonl`` file.
        run_id: The run's identity hash, carried by every line.
    """

    def __init__(self, path: str | os.PathLike[str], *, run_id: str = "") -> None:
        self.path = Path(path)
        self.run_id = run_id
        self._fd: int | None = None
        self._chain: str | None = None

    def open_for_append(self) -> Journal:
        """Open (creating the file, never through a symbolic link); a partial last line left by
        a kill is cut off first.

        Raises:
            JournalError: If the journal is corrupted, edited or of another run.
        """
        contents = read_journal(self.path, run_id=self.run_id or None)
        if contents.partial_tail:
            size = self.path.stat().st_size
            os.truncate(self.path, size - contents.partial_tail)
        self._chain = contents.chain
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        self._fd = os.open(self.path, flags, 0o644)
        return self

    def append(self, record: Record) -> None:
        """Write ``record`` as one line."""
        if self._fd is None:
            self.open_for_append()
        line = dumps(record, run_id=self.run_id, previous=self._chain)
        self._chain = line[-18:-2]  # the line ends with: "chain": "<16 hex digits>"}
        data = (line + "\n").encode()
        written = os.write(self._fd, data)
        while written < len(data):  # a short write on a full disk or a signal
            written += os.write(self._fd, data[written:])

    def extend(self, records: Iterable[Record]) -> None:
        """Append several records."""
        for record in records:
            self.append(record)

    def close(self) -> None:
        """Close the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Journal:
        return self.open_for_append()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Journal", "JournalContents", "JournalError", "Record", "chain_of", "dumps",
           "read_journal"]
