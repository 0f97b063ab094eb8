"""Save and restore a team alone in one ``.npz`` file (the run checkpoint's file format).

The file holds the team's arrays (Q-tables, visit counts, experienced designs) as NumPy arrays and
everything else (parameters, schedules, counters, the generator's ``bit_generator.state``, the
episode in progress, and any ``extra`` document) as one JSON document stored under the key
``"meta.json"``: :func:`cnn_design_env.run.checkpoint.write_document`, as the runner writes its
checkpoints (a training run of :func:`agents.train` is checkpointed by the runner itself, team
included). No pickle: it loads with ``allow_pickle=False``. Writes are atomic (a temporary file
renamed over the target).

Example:
    >>> import tempfile, os
    >>> from cnn_design_env.space import get_space
    >>> from agents.shared_q import SharedQAgents
    >>> team = SharedQAgents(get_space("vgg_mini"), seed=0)
    >>> team.tables.q[:3] = [1.0, 2.0, 3.0]
    >>> path = save_checkpoint(os.path.join(tempfile.mkdtemp(), "team.npz"), team)
    >>> other = SharedQAgents(get_space("vgg_mini"), seed=1)
    >>> load_checkpoint(path, other)
    {}
    >>> other.tables.q[:3].tolist()
    [1.0, 2.0, 3.0]
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cnn_design_env.run.checkpoint import META_KEY, read_document, write_document

__all__ = ["META_KEY", "load_checkpoint", "save_checkpoint"]

FORMAT = 1
WHAT = "readable team checkpoint"


class _Stateful(Protocol):
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]: ...

    def load_state_dict(self, arrays: Mapping[str, np.ndarray],
                        meta: Mapping[str, Any]) -> None: ...


def save_checkpoint(path: str | os.PathLike[str], team: _Stateful,
                    extra: Mapping[str, Any] | None = None) -> str:
    """Write ``team.state_dict()`` and a JSON-serialisable ``extra`` document to ``path``.

    Returns:
        The path written (as given; no suffix is added).

    Raises:
        TypeError: If ``extra`` is not JSON-serialisable.
    """
    arrays, meta = team.state_dict()
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_document(target, {"format": FORMAT, "team": meta, "extra": dict(extra or {})}, arrays)
    return str(path)


def load_checkpoint(path: str | os.PathLike[str], team: _Stateful) -> dict[str, Any]:
    """Restore ``team`` from ``path``; returns the ``extra`` document saved with it.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a checkpoint of this format (truncated, not an ``.npz``,
            a pickle, an object array), or was saved by another team class or for another space;
            the message names the file.
    """
    arrays, document = read_document(path, what=WHAT)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        document = document if isinstance(document, dict) else {}
        raise ValueError(f"{os.fspath(path)!r} has checkpoint format {document.get('format')!r}; "
                         f"expected {FORMAT}")
    try:
        team.load_state_dict(arrays, document["team"])
    except (KeyError, TypeError, IndexError) as error:
        raise ValueError(f"{os.fspath(path)!r}: the team state is incomplete or malformed "
                         f"({type(error).__name__}: {error})") from error
    return document.get("extra", {})
