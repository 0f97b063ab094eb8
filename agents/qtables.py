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
edge with index arrays built once; its look-ahead reads per-row maxima and unvisited counts kept
up to date with the tables, so an update costs O(edges), not O(cells of the rows it reads).

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

import numpy as np

from cnn_design_env.space import SearchSpace

__all__ = ["AgentTables", "Edge", "QTables"]

Edge = tuple[str, str]
"""An edge ``(u, v)`` of the agent graph: the key of one Q-table."""


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

    Attributes:
        space: The search space.
        edges: The edges, in ``space.agent_edges`` order.
        agents: Per agent, the tables it reads and writes (:class:`AgentTables`).
        q: Flat Q-values of every table.
        visits: Flat visit counts (int32) of every table.
        free_masks: The unvisited cells of every row of every table as a Python ``int`` bit mask
            (bit ``c`` set = column ``c`` unvisited), derived from ``visits``; what the random
            actions of Algorithm 1 draw from without a NumPy call.
        out_free: Per agent, the number of unvisited cells over its outgoing tables (int64).
        row_max: Per row of every table (rows numbered table after table, in layout order), the
            largest Q-value; :meth:`update`'s look-ahead reads it.
        row_free: Per row, the number of unvisited cells.
        version: Incremented by every change made through this class (:meth:`update`,
            :meth:`reset`, :meth:`touch`); a team caches its greedy design and its episode plan
            per version, and ``row_max``, ``row_free``, ``free_masks`` and ``out_free`` are kept
            up to date by :meth:`update` only, so code that writes ``q`` or ``visits`` directly
            must call :meth:`touch` afterwards.
    """

    def __init__(self, space: SearchSpace, *, dtype: np.dtype | type = np.float64) -> None:
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
        self.free_masks: list[int] = []
        self.out_free = np.zeros(space.num_agents, dtype=np.int64)
        self.version = 0
        self._build_update_index()
        self.touch()
        self._q_views = {e: self._view(self.q, k) for e, k in self._slot.items()}
        self._visit_views = {e: self._view(self.visits, k) for e, k in self._slot.items()}
        self.agents: Mapping[str, AgentTables] = {
            name: AgentTables(name, i, space_edges_into(self.edges, name),
                              space_edges_out_of(self.edges, name))
            for i, name in enumerate(space.agents)
        }

    def _view(self, flat: np.ndarray, k: int) -> np.ndarray:
        start = int(self._off[k])
        rows, cols = int(self._rows[k]), int(self._cols[k])
        return flat[start:start + rows * cols].reshape(rows, cols)

    def _build_update_index(self) -> None:
        # Global rows: row r of table k is row ``_row_off[k] + r``; rows are contiguous in the
        # flat arrays (``_row_cell``: flat index of a row's first cell, ``_row_len``: its length).
        # The look-ahead of Algorithm 2 reads, for every source agent v, the rows a_v of its
        # outgoing tables: the rows ``_row_off + a[_src]`` of one contiguous segment of edges
        # (the layout is sorted by source), reduced with ``reduceat`` over ``_bounds``; the last
        # segment is a sink (no outgoing table: never bootstraps) for agents without one, which
        # ``_dst_seg`` maps every edge's target agent to.
        n, e = self.space.num_agents, len(self._layout)
        self._row_len = np.repeat(self._cols, self._rows)
        self._row_cell = np.concatenate(([0], np.cumsum(self._row_len)[:-1])).astype(np.int64)
        sources = np.unique(self._src)
        segment = np.full(n, len(sources), dtype=np.int64)
        segment[sources] = np.arange(len(sources))
        self._bounds = np.append(np.searchsorted(self._src, sources), e).astype(np.int64)
        self._dst_seg = segment[self._dst]
        self._buf_max = np.zeros(e + 1, dtype=np.float64)       # [e]: the sink, never full
        self._buf_free = np.ones(e + 1, dtype=np.int64)
        self.row_max = np.zeros(len(self._row_len), dtype=np.float64)
        self.row_free = np.zeros(len(self._row_len), dtype=np.int64)

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

    def free_per_row(self, u: str, v: str) -> np.ndarray:
        """Number of unvisited cells in each row of table ``(u, v)``."""
        k = self._slot[self._edge(u, v)]
        start = int(self._row_off[k])
        return np.array([m.bit_count() for m in self.free_masks[start:start + int(self._rows[k])]],
                        dtype=np.int64)

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
        e = len(self._layout)
        if not e:
            self.version += 1
            return
        q, visits, row_max = self.q, self.visits, self.row_max
        src_a, dst_a = a[self._src], a[self._dst]
        rows = self._row_off + src_a                  # the updated row of every table
        cells = self._row_cell[rows] + dst_a
        # Look-ahead from the row statistics (the tables before this episode): per source agent
        # the max over its rows and whether every cell of them was visited.
        np.take(row_max, rows, out=self._buf_max[:e])
        np.take(self.row_free, rows, out=self._buf_free[:e])
        best_next = np.maximum.reduceat(self._buf_max, self._bounds)[self._dst_seg]
        boot = np.maximum.reduceat(self._buf_free, self._bounds)[self._dst_seg] == 0
        old = q[cells]
        plain = old + alpha * reward if additive else (1.0 - alpha) * old + alpha * reward
        q[cells] = np.where(boot, (1.0 - alpha) * old + alpha * (reward + gamma * best_next),
                            plain)
        new = q[cells]
        seen = visits[cells]
        visits[cells] = seen + 1
        # Row maxima: the new value if it is larger; a row whose maximum cell went down is
        # recomputed.
        top = row_max[rows]
        row_max[rows] = np.maximum(top, new)
        dropped = (new < top) & (old == top)
        if dropped.any():
            self._recompute_max(rows[dropped])
        fresh = np.flatnonzero(seen == 0)
        if fresh.size:
            fresh_rows = rows[fresh]
            self.row_free[fresh_rows] -= 1
            self.out_free -= np.bincount(self._src[fresh], minlength=len(self.out_free))
            masks = self.free_masks
            for row, col in zip(fresh_rows.tolist(), dst_a[fresh].tolist(), strict=True):
                masks[row] &= ~(1 << col)
        self.version += 1

    def _recompute_max(self, rows: np.ndarray) -> None:
        """``row_max`` of the global ``rows`` from ``q``."""
        lengths = self._row_len[rows]
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        cells = np.repeat(self._row_cell[rows] - starts, lengths) + np.arange(int(lengths.sum()))
        self.row_max[rows] = np.maximum.reduceat(self.q[cells], starts)

    def reset(self) -> None:
        """Zero every Q-value and visit count."""
        self.q[:] = 0
        self.visits[:] = 0
        self.touch()

    def touch(self) -> None:
        """Declare that ``q`` or ``visits`` was written directly: recomputes :attr:`free_masks`
        and :attr:`out_free` and invalidates cached choices."""
        masks: list[int] = []
        out_free = np.zeros(self.space.num_agents, dtype=np.int64)
        for k, src in enumerate(self._src.tolist()):
            table = self._view(self.visits, k) == 0
            bits = np.packbits(table, axis=1, bitorder="little")
            masks.extend(int.from_bytes(row.tobytes(), "little") for row in bits)
            out_free[src] += int(table.sum())
        self.free_masks, self.out_free = masks, out_free
        if len(self._row_cell):
            self.row_max[:] = np.maximum.reduceat(self.q, self._row_cell)
            self.row_free[:] = np.add.reduceat((self.visits == 0).astype(np.int64),
                                               self._row_cell)
        self.version += 1


def space_edges_into(edges: tuple[Edge, ...], agent: str) -> tuple[Edge, ...]:
    """The edges ``(u, agent)`` among ``edges``, in order."""
    return tuple(e for e in edges if e[1] == agent)


def space_edges_out_of(edges: tuple[Edge, ...], agent: str) -> tuple[Edge, ...]:
    """The edges ``(agent, w)`` among ``edges``, in order."""
    return tuple(e for e in edges if e[0] == agent)
