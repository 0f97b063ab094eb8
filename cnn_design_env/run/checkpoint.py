"""The run checkpoint: the searcher's state, the loop's state and the run's identity, one file.

Written after every told evaluation, atomically (a temporary file renamed over the old one), so
the file on disk is always a whole checkpoint of the last completed ``tell``. The file is an
``.npz`` (NumPy's zip of arrays) holding

* ``meta.json``: one JSON document: the format, the run's identity (its hash and the settings
  it hashes, see :mod:`cnn_design_env.run.identity`), the loop's counters, the designs in flight,
  the evaluation-seed generator's ``bit_generator.state`` and the searcher's JSON state;
* ``searcher/<name>``: the searcher's arrays (Q-tables, populations, generator states...).

No pickle: it is read with ``np.load(..., allow_pickle=False)``, so no object array and no code
can come out of it. A searcher provides its state through ``state_dict() -> (arrays, meta)`` and
``load_state_dict(arrays, meta)``; it is rebuilt from the run's settings first and then given its
state, so the file holds data only. A searcher without that protocol is checkpointed without its
state, and a resume rebuilds it by replaying the journal (see :mod:`cnn_design_env.run.session`).

Errors: a file that is not a whole checkpoint raises :class:`CheckpointError` (naming the file),
one written by another run :class:`RunMismatchError` (naming the settings that differ).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnn_design_env.space import Design

FORMAT = 2
META_KEY = "meta.json"
SEARCHER_PREFIX = "searcher/"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded (names the file)."""


class RunMismatchError(ValueError):
    """A file or setting that belongs to another run (names what differs)."""


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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (inverse: :meth:`from_dict`)."""
        return {"index": self.index, "design": list(self.design.actions),
                "eval_seed": self.eval_seed, "phase": self.phase,
                "epsilon": None if math.isnan(self.epsilon) else self.epsilon}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingAsk:
        """Inverse of :meth:`to_dict`."""
        epsilon = data.get("epsilon")
        return cls(int(data["index"]), Design(tuple(int(a) for a in data["design"])),
                   int(data["eval_seed"]), str(data.get("phase", "")),
                   math.nan if epsilon is None else float(epsilon))


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
        run_id: The run's identity hash (``""``: not bound to a run).
    """

    searcher: Any
    seeds: np.random.Generator
    told: int = 0
    pending: list[PendingAsk] = field(default_factory=list)
    wall_s: float = 0.0
    sessions: int = 1
    run_id: str = ""

    @property
    def asked(self) -> int:
        """Designs asked so far."""
        return self.told + len(self.pending)


def has_state(searcher: Any) -> bool:
    """Whether ``searcher`` provides ``state_dict`` / ``load_state_dict``."""
    return (callable(getattr(searcher, "state_dict", None))
            and callable(getattr(searcher, "load_state_dict", None)))


def _searcher_state(searcher: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    if not has_state(searcher):
        return None
    try:
        arrays, meta = searcher.state_dict()
    except NotImplementedError:  # e.g. a TeamSearcher whose team keeps no state protocol
        return None
    return dict(arrays), dict(meta)  # object arrays are refused by write_document


def document(state: LoopState) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and JSON document of ``state`` (what :func:`save` writes)."""
    searcher = _searcher_state(state.searcher)
    meta: dict[str, Any] = {
        "format": FORMAT, "run": state.run_id, "told": state.told,
        "pending": [p.to_dict() for p in state.pending], "wall_s": state.wall_s,
        "sessions": state.sessions, "seeds": state.seeds.bit_generator.state,
        "searcher_class": type(state.searcher).__name__,
        "searcher": None if searcher is None else searcher[1],
    }
    arrays = {} if searcher is None else {SEARCHER_PREFIX + k: v for k, v in searcher[0].items()}
    return arrays, meta


def write_document(path: str | os.PathLike[str], meta: Mapping[str, Any],
                   arrays: Mapping[str, np.ndarray]) -> Path:
    """Write ``meta`` (as JSON, under ``meta.json``) and ``arrays`` to the ``.npz`` at ``path``,
    atomically (never through a symbolic link); returns the path. The one file format of the
    run checkpoint and of a team saved alone (``agents.checkpoint``).

    Raises:
        TypeError: If ``meta`` is not JSON or an array holds Python objects.
    """
    from cnn_design_env.run.layout import atomic_write

    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise TypeError(f"array {name!r} holds Python objects; a checkpoint holds plain "
                            "numbers only")
    text = json.dumps(dict(meta), allow_nan=True)
    return atomic_write(path, lambda handle: np.savez(handle, **{META_KEY: np.array(text)},
                                                      **arrays))


def read_document(path: str | os.PathLike[str], *, what: str = "cnn-design checkpoint"
                  ) -> tuple[dict[str, np.ndarray], Any]:
    """The arrays and the JSON document of a file written by :func:`write_document`, read with
    ``allow_pickle=False`` (no object array, no code comes out of it).

    Args:
        path: The ``.npz`` file.
        what: What the file should be, for the error messages.

    Raises:
        FileNotFoundError: If ``path`` is missing.
        CheckpointError: If it is not such a file (naming it and ``what``).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no {what} at {str(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if META_KEY not in data.files:
                raise CheckpointError(f"{path}: not a {what} (no {META_KEY})")
            meta = json.loads(str(data[META_KEY]))
            arrays = {name: data[name] for name in data.files if name != META_KEY}
    except CheckpointError:
        raise
    except Exception as error:  # whatever a damaged zip or JSON raises: the file is unusable
        raise CheckpointError(f"{path}: checkpoint is corrupted or not a {what} "
                              f"({type(error).__name__}: {error})") from error
    return arrays, meta


def save(path: str | os.PathLike[str], state: LoopState,
         identity: Mapping[str, Any] | None = None) -> Path:
    """Write ``state`` to ``path`` atomically (never through a symbolic link); returns the path.

    Args:
        path: The ``.npz`` file.
        state: The loop's state.
        identity: The run's settings behind ``state.run_id`` (stored to name a mismatch).

    Raises:
        TypeError: If the searcher's state holds Python objects or is not JSON.
    """
    arrays, meta = document(state)
    meta["identity"] = dict(identity or {})
    return write_document(path, meta, arrays)


def read(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and JSON document of the checkpoint at ``path`` (no searcher built).

    Raises:
        FileNotFoundError: If ``path`` is missing.
        CheckpointError: If it is not a whole checkpoint of this format.
    """
    arrays, meta = read_document(path)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(f"{path}: checkpoint format {found!r} is not supported "
                              f"(expected {FORMAT})")
    return arrays, meta


def check_identity(meta: Mapping[str, Any], run_id: str, identity: Mapping[str, Any], *,
                   source: str) -> None:
    """Refuse a checkpoint written by another run, naming the settings that differ.

    Raises:
        RunMismatchError: If its run hash is not ``run_id``.
    """
    if meta.get("run") == run_id:
        return
    from cnn_design_env.run.identity import differences

    theirs = meta.get("identity") or {}
    diff = differences(theirs, identity) or ["its run identity"]
    raise RunMismatchError(f"{source} belongs to another run ({'; '.join(diff)}); refusing to "
                           "resume from it. Remove that checkpoint to rebuild the state from "
                           "this run's own journal")


def load(path: str | os.PathLike[str], searcher: Any, *, run_id: str | None = None,
         identity: Mapping[str, Any] | None = None) -> LoopState:
    """Read a checkpoint written by :func:`save` into ``searcher`` (built from the run's settings).

    Args:
        path: The checkpoint.
        searcher: A fresh searcher of the run; its state is restored in place.
        run_id: The run's identity hash; a checkpoint of another run is refused.
        identity: The run's settings (to name a mismatch).

    Raises:
        FileNotFoundError: If ``path`` is missing.
        CheckpointError: If it is corrupted, or holds no state for this searcher.
        RunMismatchError: If it was written by another run.
    """
    arrays, meta = read(path)
    if run_id is not None:
        check_identity(meta, run_id, identity or {}, source=str(path))
    if meta.get("searcher") is None:
        raise CheckpointError(f"{path}: holds no state of its searcher "
                              f"({meta.get('searcher_class')} has no state_dict)")
    if meta.get("searcher_class") != type(searcher).__name__:
        raise CheckpointError(f"{path}: holds the state of a {meta.get('searcher_class')}, not "
                              f"of a {type(searcher).__name__}")
    own = {k[len(SEARCHER_PREFIX):]: v for k, v in arrays.items()
           if k.startswith(SEARCHER_PREFIX)}
    try:
        searcher.load_state_dict(own, meta["searcher"])
        seeds = np.random.default_rng()
        seeds.bit_generator.state = meta["seeds"]
        pending = [PendingAsk.from_dict(p) for p in meta["pending"]]
        state = LoopState(searcher=searcher, seeds=seeds, told=int(meta["told"]),
                          pending=pending, wall_s=float(meta["wall_s"]),
                          sessions=int(meta["sessions"]), run_id=str(meta.get("run", "")))
    except Exception as error:  # a damaged state: the journal can still rebuild it
        raise CheckpointError(f"{path}: checkpoint cannot be restored ({type(error).__name__}: "
                              f"{error})") from error
    return state


__all__ = ["CheckpointError", "FORMAT", "LoopState", "PendingAsk", "RunMismatchError",
           "check_identity", "document", "has_state", "load", "read", "read_document", "save",
           "write_document"]
