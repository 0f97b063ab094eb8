"""Save and restore a team (and optionally a training run) in one ``.npz`` file.

The file holds the team's arrays (Q-tables, visit counts, experienced designs) as NumPy arrays and
everything else (parameters, schedules, counters, the generator's ``bit_generator.state``, the
episode in progress, and any ``extra`` document such as a training loop's history) as one JSON
document stored under the key ``"meta.json"``. No pickle: it loads with ``allow_pickle=False``.
Writes are atomic (a temporary file renamed over the target).

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

import json
import os
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cnn_design_env.run.layout import atomic_write

__all__ = ["META_KEY", "load_checkpoint", "save_checkpoint"]

META_KEY = "meta.json"
FORMAT = 1


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
    document = json.dumps({"format": FORMAT, "team": meta, "extra": dict(extra or {})})
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, lambda handle: np.savez(handle, **{META_KEY: np.array(document)},
                                                 **arrays))
    return str(path)


def load_checkpoint(path: str | os.PathLike[str], team: _Stateful) -> dict[str, Any]:
    """Restore ``team`` from ``path``; returns the ``extra`` document saved with it.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        ValueError: If the file is not a checkpoint of this format (truncated, not an ``.npz``,
            a pickle, an object array), or was saved by another team class or for another space;
            the message names the file.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no team checkpoint at {os.fspath(path)!r}")
    try:
        with np.load(path, allow_pickle=False) as data:
            if META_KEY not in data.files:
                raise ValueError(f"no {META_KEY!r} entry")
            document = json.loads(str(data[META_KEY]))
            arrays = {name: data[name] for name in data.files if name != META_KEY}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"{os.fspath(path)!r} is not a readable team checkpoint (an .npz with a "
                         f"{META_KEY!r} entry): {type(error).__name__}: {error}") from error
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
