"""The run checkpoint: the searcher (or team) with its generators, the loop's state, one file.

Written after every told evaluation, atomically (a temporary file renamed over the old one), so
the file on disk is always a whole checkpoint of the last completed ``tell``. Its content is a
pickle of a :class:`LoopState` (any searcher pickles: NumPy generators, Optuna studies; modules
such as a searcher's reference to ``optuna`` are stored by name; objects with the agents'
``state_dict()``/``load_state_dict()`` protocol, such as ``SharedQAgents``, are stored through it)
behind a header carrying a SHA-256 digest of the payload, so truncation or bit rot is detected and
reported with the file's name instead of loading garbage.

Trust: like any pickle, loading a checkpoint runs code named in it; resume only runs you (or
someone you trust) created.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import os
import pickle
import tempfile
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnn_design_env.space import Design

MAGIC = b"cnn-design-checkpoint v1\n"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded (names the file)."""


@dataclass(frozen=True)
class PendingAsk:
    """A design asked but not yet told when the checkpoint was written.

    Attributes:
        index: Its position in the ask order.
        design: The design.
        eval_seed: Its evaluation seed.
        phase: The searcher's phase when asked.
        epsilon: Its exploration rate then.
    """

    index: int
    design: Design
    eval_seed: int
    phase: str = ""
    epsilon: float = float("nan")


@dataclass
class LoopState:
    """Everything the search loop needs to continue exactly where it was.

    Attributes:
        searcher: The searcher after ``told`` tells (and the asks of ``pending``).
        seeds: The generator of evaluation seeds (drawn at each ask).
        told: Evaluations told to the searcher (indices ``0 .. told - 1``).
        pending: Asked, not yet told, in ask order (indices ``told, told + 1, ...``).
        wall_s: Wall seconds spent by earlier sessions of the run.
        sessions: Sessions so far (1 for a run never resumed).
    """

    searcher: Any
    seeds: np.random.Generator
    told: int = 0
    pending: list[PendingAsk] = field(default_factory=list)
    wall_s: float = 0.0
    sessions: int = 1

    @property
    def asked(self) -> int:
        """Designs asked so far."""
        return self.told + len(self.pending)


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, types.ModuleType):
            return ("module", obj.__name__)
        return None

    def reducer_override(self, obj: Any) -> Any:
        # Objects with the agents' state protocol (the tabular teams) are saved through it:
        # pickling them field by field would turn their NumPy views of the Q-tables into
        # independent copies, and a restored team would read stale values.
        cls = type(obj)
        if (callable(getattr(cls, "state_dict", None))
                and callable(getattr(cls, "load_state_dict", None))
                and hasattr(obj, "space") and hasattr(obj, "seed")):
            arrays, meta = obj.state_dict()
            return _rebuild_stateful, (cls, obj.space, obj.seed, arrays, meta)
        return NotImplemented


def _rebuild_stateful(cls: type, space: Any, seed: int, arrays: dict[str, np.ndarray],
                      meta: dict[str, Any]) -> Any:
    """Rebuild an object saved through ``state_dict`` (see ``_Pickler.reducer_override``)."""
    obj = cls(space, seed=seed)
    obj.load_state_dict(arrays, meta)
    return obj


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        kind, name = pid
        if kind != "module":
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return importlib.import_module(name)


def dumps(state: LoopState) -> bytes:
    """The checkpoint bytes of ``state`` (header + digest + pickle)."""
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(state)
    payload = buffer.getvalue()
    return MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload


def loads(data: bytes, *, source: str = "<bytes>") -> LoopState:
    """Inverse of :func:`dumps`.

    Raises:
        CheckpointError: If ``data`` is not a whole, intact checkpoint (names ``source``).
    """
    if not data.startswith(MAGIC):
        raise CheckpointError(f"{source}: not a cnn-design checkpoint (bad header)")
    digest, newline, payload = data[len(MAGIC):].partition(b"\n")
    if not newline or hashlib.sha256(payload).hexdigest().encode() != digest:
        raise CheckpointError(f"{source}: checkpoint is corrupted (its SHA-256 digest does not "
                              "match its content); refusing to resume from it")
    try:
        state = _Unpickler(io.BytesIO(payload)).load()
    except Exception as error:
        raise CheckpointError(f"{source}: checkpoint cannot be loaded ({type(error).__name__}: "
                              f"{error})") from error
    if not isinstance(state, LoopState):
        raise CheckpointError(f"{source}: checkpoint holds a {type(state).__name__}, "
                              "not a LoopState")
    return state


def save(path: str | os.PathLike[str], state: LoopState) -> Path:
    """Write ``state`` to ``path`` atomically; returns the path."""
    target = Path(path)
    data = dumps(state)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return target


def load(path: str | os.PathLike[str]) -> LoopState:
    """Read a checkpoint written by :func:`save`.

    Raises:
        FileNotFoundError: If ``path`` is missing.
        CheckpointError: If it is corrupted.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {str(path)!r}")
    return loads(path.read_bytes(), source=str(path))


__all__ = ["CheckpointError", "LoopState", "PendingAsk", "dumps", "load", "loads", "save"]
