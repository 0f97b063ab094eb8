"""Q-tables on the edges of the agent graph, with visit counts, and the paper's update rule.

Pure NumPy. One table per edge ``u -> v`` of ``space.agent_edges``, of shape ``|A_u| x |A_v|``:
rows are ``u``'s actions (``v``'s state), columns ``v``'s actions. A plain chain of ``N`` agents has
``N - 1`` tables. Every table is shared by two agents, and which agent uses which table is the
explicit mapping :attr:`QTables.agents` (one :class:`AgentTables` per agent):

* ``incoming``: the tables whose columns are the agent's actions. It acts from them (Algorithms 1
  and 3: the row is its predecessor's action) and they are the tables updated with its action
  after each episode (Algorithm 2).
* ``outgoing``: the tables whose rows are the agent's actions. The update of its incoming tables
  looks ahead into them (the unvisited-row check and the max), and the first agent, which has no
  incoming table, acts from them.

Unvisited cells: the paper tests ``Q == 0``; the tables count visits explicitly, which is the same
thing when no reward is exactly 0 and stays right when one is.

Storage: all tables live in one flat ``q`` array and one flat ``visits`` array, laid out by
(source, target) agent index so an agent's outgoing tables are contiguous; ``q_table(u, v)`` and
``visit_table(u, v)`` are 2-D views into them. :meth:`QTables.update` is vectorised over every
edge with index arrays built once (a fixed, small number of NumPy calls per episode); its
look-ahead reads, per agent and action, the maximum and the unvisited count over the agent's
outgoing rows for that action (:attr:`QTables.next_max`, :attr:`QTables.next_free`), kept up to
date with the tables, so an update costs O(edges), not O(cells of the rows it reads). Where
numba is installed (and every agent has at most 63 actions, Q-values in float64), the update runs
as the compiled kernel :func:`agents.kernels.update` (the same arithmetic) and the masks of
unvisited cells live in an ``int64`` array (:attr:`QTables.free_bits`).

Memory: linear in the cells (no index array of actions x columns); the tables are estimated
before they are allocated and refused above :attr:`QTables.max_bytes` (:mod:`agents.table_memory`).

Example:
    >>> from cnn_design_env.space import get_space
    >>> tables = QTables(get_space("vgg_mini"))
    >>> tables.agents["conv2"].incoming, tables.agents["conv2"].outgoing
    ((('conv1', 'conv2'),), (('conv2', 'pool1'),))
    >>> tables.q_table("conv1", "conv2").shape, tables.cells, tables.max_cells
    ((12, 12), 222, 144)
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from dataclasses import dataclass
from types import EllipsisType

import numpy as np

from agents import kernels
from agents.table_memory import TableMemoryError, check_memory, estimate_nbytes
from cnn_design_env.space import SearchSpace

__all__ = ["AgentTables", "Edge", "QTables", "TableMemoryError", "estimate_nbytes"]

Edge = tuple[str, str]
"""An edge ``(u, v)`` of the agent graph: the key of one Q-table."""

CLEAR_BIT_COLUMNS = 1024
"""Tables up to this many columns use precomputed bit masks in :meth:`QTables.update`."""


@dataclass(frozen=True)
class AgentTables:
    """Which Q-tables one agent reads and writes.

    Attributes:
        name: The agent.
        index: Its position in ``space.agents``.
        incoming: Edges ``(u, name)``: it acts from these rows (the row is ``u``'s action) and they
            are updated with its action after each episode.
        outgoing: Edges ``(name, w)``: the look-ahead of the update of its incoming tables; the
            first agent acts from them.
    """

    name: str
    index: int
    incoming: tuple[Edge, ...]
    outgoing: tuple[Edge, ...]


class QTables:
    """Zero-initialised Q-tables and visit counts on every edge of a space's agent graph.

    Args:
        space: The search space; one table per edge of ``space.agent_edges``.
        dtype: Floating dtype of the Q-values (``float32`` halves the memory).
        compiled: Use the compiled kernels (:mod:`agents.kernels`): ``None`` (default) where
            numba is installed and the space fits them (float64, at most
            :data:`~agents.kernels.MAX_COLUMNS` actions per agent), ``False`` never (the NumPy
            reference), ``True`` always.
        max_bytes: Refuse tables whose :func:`estimate_nbytes` exceeds this (``None``: no
            limit); default :attr:`QTables.max_bytes` (2 GiB), settable on the class.

    Raises:
        TableMemoryError: (a ``ValueError`` and a ``MemoryError``) If the estimate exceeds
            ``max_bytes``; the message gives the estimate, the largest table and how to raise
            the limit. Nothing is allocated.

    Attributes:
        space: The search space.
        edges: The edges, in ``space.agent_edges`` order.
        agents: Per agent, the tables it reads and writes (:class:`AgentTables`).
        q: Flat Q-values of every table.
        visits: Flat visit counts (int32) of every table.
        free_masks: The unvisited cells of every row of every table as a Python ``int`` bit mask
            (bit ``c`` set = column ``c`` unvisited), derived from ``visits``; what the random
            actions of Algorithm 1 draw from without a NumPy call. Rows are numbered table after
            table in layout order (:meth:`first_row`). With the compiled kernels, a read-only
            list made from :attr:`free_bits` when read (:meth:`free_mask` reads one row).
        free_bits: With the compiled kernels, the same masks as an ``int64`` array (kept up to
            date by :meth:`update`); else ``None``.
        compiled: Whether the compiled kernels are used.
        kernel_edges: The kernels' table index: per table in layout order, its source agent,
            target agent, columns, cell shift and row shift (:func:`agents.kernels.update`).
        kernel_out: Per agent, ``(first, stop)`` of its outgoing tables in layout order.
        kernel_offsets: Per table in layout order, the flat index of its first cell.
        next_max: Per action id (agent ``i``'s action ``a`` is id ``action_base[i] + a``), the
            largest Q-value of agent ``i``'s outgoing rows ``a``: the max of :meth:`update`'s
            look-ahead (0 for an agent without outgoing tables).
        next_free: Per action id, the number of unvisited cells of those rows; :meth:`update`
            bootstraps where it is 0 (1 for an agent without outgoing tables: never).
        action_base: Per agent, its first action id.
        version: Incremented by every change made through this class (:meth:`update`,
            :meth:`touch`); a team caches its greedy design and its episode plan
            per version, and ``free_masks``, ``next_max`` and ``next_free`` are kept up to
            date by :meth:`update` only, so code that writes ``q`` or ``visits`` directly
            must call :meth:`touch` afterwards.
    """

    max_bytes: int | None = 2 * 2**30
    """Default limit of :func:`estimate_nbytes` per set of tables (one team); ``None``: none."""

    def __init__(self, space: SearchSpace, *, dtype: np.dtype | type = np.float64,
                 compiled: bool | None = None, max_bytes: int | EllipsisType | None = ...) -> None:
        check_memory(space, dtype, type(self).max_bytes if max_bytes is ... else max_bytes)
        self.space = space
        self.edges: tuple[Edge, ...] = tuple(space.agent_edges)
        index = space.agent_index
        sizes = space.action_sizes
        layout = sorted(self.edges, key=lambda e: (index[e[0]], index[e[1]]))
        self._layout = tuple(layout)
        self._slot = {edge: k for k, edge in enumerate(layout)}
        self._src = np.array([index[u] for u, _ in layout], dtype=np.int64)
        self._dst = np.array([index[v] for _, v in layout], dtype=np.int64)
        self._rows = np.array([sizes[index[u]] for u, _ in layout], dtype=np.int64)
        self._cols = np.array([sizes[index[v]] for _, v in layout], dtype=np.int64)
        cells = self._rows * self._cols
        self._off = np.concatenate(([0], np.cumsum(cells)[:-1])).astype(np.int64)
        self._off_list, self._cols_list = self._off.tolist(), self._cols.tolist()
        self.q = np.zeros(int(cells.sum()), dtype=dtype)
        self.visits = np.zeros(int(cells.sum()), dtype=np.int32)
        self._row_off = np.concatenate(([0], np.cumsum(self._rows)[:-1])).astype(np.int64)
        self._masks: list[int] = []
        self.free_bits: np.ndarray | None = None
        self.version = 0
        fits = (self.q.dtype == np.float64 and max(sizes, default=0) <= kernels.MAX_COLUMNS
                and len(layout) > 0)
        if compiled and not (kernels.available() and fits):
            raise ValueError(f"compiled=True needs numba and a space with at most "
                             f"{kernels.MAX_COLUMNS} actions per agent and float64 Q-values; "
                             f"got numba={'yes' if kernels.available() else 'missing'}, "
                             f"{max(sizes, default=0)} actions, {self.q.dtype}")
        self.compiled = bool(kernels.available() and fits if compiled is None else compiled)
        if self.compiled:
            kernels.compile_kernels()
        self._build_update_index()
        self.touch()
        self._q_views = {e: self._view(self.q, k) for e, k in self._slot.items()}
        self._visit_views = {e: self._view(self.visits, k) for e, k in self._slot.items()}
        self.agents: Mapping[str, AgentTables] = {
            name: AgentTables(name, i, tuple(e for e in self.edges if e[1] == name),
                              tuple(e for e in self.edges if e[0] == name))
            for i, name in enumerate(space.agents)
        }

    def _view(self, flat: np.ndarray, k: int) -> np.ndarray:
        start = int(self._off[k])
        rows, cols = int(self._rows[k]), int(self._cols[k])
        return flat[start:start + rows * cols].reshape(rows, cols)

    def _build_update_index(self) -> None:
        # Rows are numbered table after table (row r of table k is ``_row_off[k] + r``) and are
        # contiguous in the flat arrays (``_row_cell``: flat index of a row's first cell). For
        # the edge k = (u, v) and the actions a_u, a_v, with ``id = action_base[u] + a_u``:
        # its row is ``id + _row_shift[k]`` and its cell ``id * cols + _cell_shift[k] + a_v``.
        sizes = np.array(self.space.action_sizes, dtype=np.int64)
        n = len(sizes)
        self.action_base = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        src_base = self.action_base[self._src]
        self._cell_shift = self._off - src_base * self._cols
        self._row_shift = self._row_off - src_base
        self._row_len = np.repeat(self._cols, self._rows)
        self._row_cell = np.concatenate(([0], np.cumsum(self._row_len)[:-1])).astype(np.int64)
        # global row -> action id of its source agent
        self._row_action = np.arange(len(self._row_len)) - np.repeat(self._row_shift, self._rows)
        self._source = np.zeros(n, dtype=bool)            # agents with outgoing tables
        self._source[self._src] = True
        self._build_refresh_index()
        # ~(1 << c) precomputed for narrow tables only: the list costs O(columns^2) bits
        self._clear_bit = [~(1 << c) for c in range(min(int(sizes.max()), CLEAR_BIT_COLUMNS))]
        self._ones = np.ones(len(self._layout), dtype=np.int32)
        # The compiled update's index: per table (source, target, columns, cell shift, row
        # shift); per agent, the range of its outgoing tables in layout order.
        self.kernel_edges = np.stack([self._src, self._dst, self._cols, self._cell_shift,
                                      self._row_shift])
        agents = np.arange(n)
        self.kernel_out = np.stack([np.searchsorted(self._src, agents),
                                    np.searchsorted(self._src, agents, "right")], axis=1)
        self.kernel_offsets = self._off
        self.next_max = np.zeros(int(sizes.sum()), dtype=np.float64)
        self.next_free = np.ones(int(sizes.sum()), dtype=np.int64)

    def _build_refresh_index(self) -> None:
        # The flat cells of the outgoing rows of action id ``id`` of agent u (all of u's outgoing
        # tables, row a = ``_id_row[id]``): ``_out_cells[u] + a * _out_stride[u]``, padded with
        # copies of the first cell (harmless to a max) to a common width; 0 for an agent without
        # outgoing tables.
        sizes = self.space.action_sizes
        n = len(sizes)
        cells, strides = [np.zeros(1, dtype=np.int64)] * n, [np.zeros(1, dtype=np.int64)] * n
        for u in np.unique(self._src).tolist():
            ks = np.flatnonzero(self._src == u).tolist()
            cells[u] = np.concatenate([self._off[k] + np.arange(self._cols[k]) for k in ks])
            strides[u] = np.concatenate([np.full(self._cols[k], self._cols[k]) for k in ks])
        width = max(len(c) for c in cells)
        self._out_cells, self._out_stride = (
            np.array([np.pad(c, (0, width - len(c)), mode="edge") for c in parts], dtype=np.int64)
            for parts in (cells, strides))
        self._id_agent = np.repeat(np.arange(n), sizes)
        self._id_row = np.concatenate([np.arange(size) for size in sizes])

    def _row_maxima(self, ids: np.ndarray) -> np.ndarray:
        """The largest Q-value of the outgoing rows of the action ``ids`` (of agents with
        outgoing tables)."""
        agents, rows = self._id_agent[ids], self._id_row[ids]
        cells = self._out_cells[agents] + rows[:, None] * self._out_stride[agents]
        return self.q[cells].max(axis=1)

    # ----------------------------------------------------------------- access
    def q_table(self, u: str, v: str) -> np.ndarray:
        """The ``|A_u| x |A_v|`` Q-table of edge ``(u, v)`` (a writable view).

        Raises:
            KeyError: If ``(u, v)`` is not an edge of the agent graph.
        """
        return self._q_views[self._edge(u, v)]

    def visit_table(self, u: str, v: str) -> np.ndarray:
        """The visit counts of edge ``(u, v)`` (a writable view), shaped like its Q-table."""
        return self._visit_views[self._edge(u, v)]

    def _edge(self, u: str, v: str) -> Edge:
        if (u, v) not in self._slot:
            raise KeyError(f"({u!r}, {v!r}) is not an edge of the agent graph of space "
                           f"{self.space.name!r}; edges: {list(self.edges)}")
        return (u, v)

    def offset(self, u: str, v: str) -> int:
        """Position of cell ``(0, 0)`` of table ``(u, v)`` in the flat arrays (row-major)."""
        return int(self._off[self._slot[self._edge(u, v)]])

    def first_row(self, u: str, v: str) -> int:
        """Index in :attr:`free_masks` of row 0 of table ``(u, v)`` (row ``r`` is ``+ r``)."""
        return int(self._row_off[self._slot[self._edge(u, v)]])

    @property
    def free_masks(self) -> list[int]:
        """See the class docstring."""
        if self.free_bits is not None and self._masks_version != self.version:
            self._masks, self._masks_version = self.free_bits.tolist(), self.version
        return self._masks

    def free_mask(self, row: int) -> int:
        """The :attr:`free_masks` entry ``row`` (without building the whole list)."""
        return self._masks[row] if self.free_bits is None else int(self.free_bits[row])

    def free_mask_rows(self, start: int, stop: int) -> list[int]:
        """The :attr:`free_masks` entries ``start:stop``."""
        if self.free_bits is None:
            return self._masks[start:stop]
        return self.free_bits[start:stop].tolist()

    def free_per_row(self, u: str, v: str) -> np.ndarray:
        """Number of unvisited cells in each row of table ``(u, v)``."""
        k = self._slot[self._edge(u, v)]
        start = int(self._row_off[k])
        masks = self.free_mask_rows(start, start + int(self._rows[k]))
        return np.array([m.bit_count() for m in masks], dtype=np.int64)

    def outgoing_slice(self, agent_index: int) -> tuple[int, int]:
        """``(start, stop)`` of the flat cells of all outgoing tables of an agent (contiguous)."""
        ks = np.flatnonzero(self._src == agent_index)
        if not len(ks):
            return 0, 0
        last = int(ks[-1])
        return int(self._off[ks[0]]), int(self._off[last] + self._rows[last] * self._cols[last])

    def locate(self, position: int) -> tuple[Edge, int, int]:
        """The ``(edge, row, column)`` of flat cell ``position``."""
        k = bisect.bisect_right(self._off_list, position) - 1
        row, col = divmod(position - self._off_list[k], self._cols_list[k])
        return self._layout[k], row, col

    @property
    def cells(self) -> int:
        """Number of cells over all tables."""
        return int(self.q.size)

    @property
    def max_cells(self) -> int:
        """Cells of the largest table: the paper's minimum length of the exploration phase."""
        return int((self._rows * self._cols).max()) if len(self._rows) else 0

    @property
    def unvisited(self) -> int:
        """Number of cells never updated."""
        return int(np.count_nonzero(self.visits == 0))

    @property
    def nbytes(self) -> int:
        """Bytes of the Q-values (visit counts excluded)."""
        return int(self.q.nbytes)

    # ----------------------------------------------------------------- update
    def update(self, actions: np.ndarray, reward: float, *, alpha: float, gamma: float,
               additive: bool = True) -> None:
        """Algorithm 2 with the fan-out and fan-in rules: one update of every table.

        For each edge ``u -> v`` and the cell ``(a_u, a_v)`` of the episode's actions:

        * if ``v`` has no outgoing table (the last table), or some outgoing table of ``v`` has an
          unvisited cell in row ``a_v``: ``Q += alpha * R`` (``additive``, the paper as written),
          or ``Q += alpha * (R - Q)`` (``additive=False``, the standard Q-learning step towards
          ``R``; the same for a first visit);
        * else ``Q = (1 - alpha) * Q + alpha * (R + gamma * m)``, with ``m`` the max of row
          ``a_v`` over all outgoing tables of ``v`` (at a fan-out, the max over every successor's
          table; a fan-in feeder looks into its table with the merging agent like any other).

        All look-aheads read the tables as they were before this episode, which is what the
        paper's loop over tables in agent order does; then every cell's visit count goes up by 1.

        Args:
            actions: The design: one action index per agent, in agent order (int array).
            reward: The episode's reward ``R``.
            alpha: Learning rate.
            gamma: Discount of the look-ahead.
            additive: Use the paper's ``Q += alpha * R`` where there is no look-ahead.
        """
        a = np.asarray(actions, dtype=np.int64)
        if not len(self._layout):
            self.version += 1
            return
        if self.free_bits is not None:
            kernels.update(a, float(reward), float(alpha), float(gamma), bool(additive), self.q,
                           self.visits, self.next_max, self.next_free, self.free_bits,
                           self.action_base, self.kernel_edges, self.kernel_out,
                           self.kernel_offsets)
            self.version += 1
            return
        ids = self.action_base + a
        src_id, dst_id, dst_a = ids[self._src], ids[self._dst], a[self._dst]
        cells = src_id * self._cols
        cells += self._cell_shift
        cells += dst_a
        q = self.q
        old = q[cells]
        new = old + alpha * reward if additive else (1.0 - alpha) * old + alpha * reward
        # Look-ahead from the statistics of the tables before this episode.
        boot = np.logical_not(self.next_free[dst_id])      # (array ops beat scalar ones)
        booted = np.count_nonzero(boot)
        if booted:                  # new = (1 - alpha) * old + alpha * (reward + gamma * max)
            target = self.next_max[dst_id]
            target *= gamma
            target += reward
            target *= alpha
            target += old * (1.0 - alpha)
            np.copyto(new, target, where=boot)
        q[cells] = new
        seen = self.visits[cells]
        self.visits[cells] = seen + self._ones
        self._track_max(src_id, old, new, bool(booted) or not additive or alpha * reward < 0)
        fresh = np.logical_not(seen).nonzero()[0]
        if fresh.size:
            fresh_id = src_id[fresh]
            np.subtract.at(self.next_free, fresh_id, 1)
            self._mark_visited(fresh_id + self._row_shift[fresh], dst_a[fresh])
        self.version += 1

    def _track_max(self, ids: np.ndarray, old: np.ndarray, new: np.ndarray,
                   may_drop: bool) -> None:
        """``next_max`` of the action ``ids`` after a cell of their rows went from ``old`` to
        ``new``: raised to ``new``; recomputed where the cell holding the maximum went down
        (``may_drop``: whether any cell can have gone down)."""
        if not may_drop:
            np.maximum.at(self.next_max, ids, new)
            return
        lost = (new < old) & (old == self.next_max[ids])
        np.maximum.at(self.next_max, ids, new)
        if np.count_nonzero(lost):
            ids = ids[lost]
            self.next_max[ids] = self._row_maxima(ids)

    def _mark_visited(self, rows: np.ndarray, cols: np.ndarray) -> None:
        """Clear the bits ``cols`` of the ``free_masks`` ``rows`` (Python ``int`` masks)."""
        masks, clear = self._masks, self._clear_bit
        narrow = len(clear)
        for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
            masks[row] &= clear[col] if col < narrow else ~(1 << col)

    def touch(self) -> None:
        """Declare that ``q`` or ``visits`` was written directly: recomputes :attr:`free_masks`,
        :attr:`next_max` and :attr:`next_free` and invalidates cached choices."""
        masks: list[int] = []
        for k in range(len(self._layout)):
            bits = np.packbits(self._view(self.visits, k) == 0, axis=1, bitorder="little")
            masks.extend(int.from_bytes(row.tobytes(), "little") for row in bits)
        self._masks, self._masks_version = masks, -1
        if self.compiled:
            self.free_bits = np.array(masks, dtype=np.int64)
        self.next_max[:] = 0.0
        self.next_free[:] = 1
        if len(self._row_cell):
            sources = np.repeat(self._source, self.space.action_sizes)
            # the max over each source action's outgoing rows, table by table: O(cells) memory
            self.next_max[sources] = -np.inf
            for k in range(len(self._layout)):
                start = int(self.action_base[self._src[k]])
                rows = slice(start, start + int(self._rows[k]))
                np.maximum(self.next_max[rows], self._view(self.q, k).max(axis=1),
                           out=self.next_max[rows])
            self.next_free[sources] = 0
            np.add.at(self.next_free, self._row_action,
                      np.add.reduceat((self.visits == 0).astype(np.int64), self._row_cell))
        self.version += 1
