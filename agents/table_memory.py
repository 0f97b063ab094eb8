"""The memory of a space's Q-tables, estimated before they are allocated, and its limit.

Pure NumPy: :func:`estimate_nbytes` counts what :class:`~agents.qtables.QTables` allocates
(table cells, per-action index arrays, the look-ahead index) and :func:`check_memory` refuses a
space above a limit with :class:`TableMemoryError`, naming the estimate and the largest table.
"""

from __future__ import annotations

import numpy as np

from cnn_design_env.space import SearchSpace

__all__ = ["TableMemoryError", "check_memory", "estimate_nbytes"]


class TableMemoryError(ValueError, MemoryError):
    """The Q-tables of a space would exceed the memory limit
    (:attr:`agents.qtables.QTables.max_bytes`)."""


def estimate_nbytes(space: SearchSpace, dtype: np.dtype | type = np.float64) -> int:
    """Bytes that the :class:`~agents.qtables.QTables` of ``space`` hold, estimated before they
    are allocated.

    Per table cell: the Q-value (``dtype``), an ``int32`` visit count and one bit of the
    unvisited masks; per action: about 136 bytes of index arrays and masks; per agent and column
    of its outgoing tables: 16 bytes (the look-ahead index). Measured with ``tracemalloc``, tables
    come within 20% of it (``tests/agents/test_memory.py``); building them peaks at about 1.5x.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> estimate_nbytes(get_space("vgg_mini")) < 20_000
        True
    """
    sizes = [int(n) for n in space.action_sizes]
    index = space.agent_index
    cells = sum(sizes[index[u]] * sizes[index[v]] for u, v in space.agent_edges)
    width: dict[str, int] = {}
    for u, v in space.agent_edges:
        width[u] = width.get(u, 0) + sizes[index[v]]
    item = np.dtype(dtype).itemsize
    return int(cells * (item + 4 + 0.125) + 136 * sum(sizes)
               + 16 * len(sizes) * max(width.values(), default=1))


def check_memory(space: SearchSpace, dtype: np.dtype | type, max_bytes: int | None) -> int:
    """:func:`estimate_nbytes` of ``space``'s tables; :class:`TableMemoryError` above
    ``max_bytes``."""
    estimate = estimate_nbytes(space, dtype)
    if max_bytes is not None and estimate > max_bytes:
        sizes = dict(zip(space.agents, space.action_sizes, strict=True))
        u, v = max(space.agent_edges, key=lambda e: sizes[e[0]] * sizes[e[1]])
        raise TableMemoryError(
            f"the Q-tables of space {space.name!r} would take about {estimate / 2**20:,.0f} MiB, "
            f"above the limit of {max_bytes / 2**20:,.0f} MiB; the largest is ({u!r}, {v!r}): "
            f"{sizes[u]:,} x {sizes[v]:,} actions. Shrink the choice sets, or raise the limit: "
            f"QTables.max_bytes = <bytes> (None: no limit)")
    return estimate
