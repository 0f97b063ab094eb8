"""Algorithm 1 for a whole exploring episode at once: the shared team's two planners.

In an episode where every agent takes a random action (the whole exploration phase),
:class:`~agents.shared_q.SharedQAgents` plans all its agents in one call of a planner, which
draws from the team's :class:`~agents.stream.UniformStream` exactly what acting agent by agent
(``SharedQAgents._choose``) would draw. Two strategies with the same choices and draws:

* :class:`ExplorePlanner`: the reference, pure Python; every agent after the first two is
  inlined, reading its incoming rows' unvisited cells as Python ``int`` bit masks
  (:attr:`agents.qtables.QTables.free_masks`);
* :class:`CompiledExplorePlanner`: the compiled kernel :func:`agents.kernels.plan_explore` on
  :attr:`~agents.qtables.QTables.free_bits` (the first two agents included), used when the
  tables are compiled (numba installed, the space fits).

An agent a planner does not handle (one of the first two agents for the reference, an undecided
predecessor, draws crossing the end of a stream block) goes to the team's per-agent choice, the
``fallback``, and the planner resumes after it. ``tests/agents/test_kernels.py`` checks the two
bit-identical.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from agents import kernels
from agents.episode import Episode
from agents.exploration import FAN_IN_CANDIDATES, candidates
from agents.qtables import QTables
from agents.stream import UniformStream

__all__ = ["CompiledExplorePlanner", "ExplorePlanner", "Fallback"]

Fallback = Callable[[int, list[int], int], int]
"""``fallback(i, expect, start)``: Algorithm 1 for agent ``i`` by the team, drawing from the
stream; -1 to end the plan before ``i`` (an undecided predecessor)."""


class ExplorePlanner:
    """Algorithm 1 for agents ``start, start + 1, ...``, in pure Python (the reference).

    Args:
        tables: The team's Q-tables (read only).
        stream: The team's uniform stream (drawn from).
        fallback: The team's per-agent choice (:data:`Fallback`).
        joint: How many leading agents choose jointly (left to ``fallback``).
    """

    def __init__(self, tables: QTables, stream: UniformStream, fallback: Fallback,
                 joint: int = 2) -> None:
        self.tables, self.stream, self.fallback = tables, stream, fallback
        index, sizes = tables.space.agent_index, tables.space.action_sizes
        # Agent i reads row ``first_row - 1 + expect[j]`` of ``free_masks`` from table (j, i).
        # ``single[i]``: (j, first_row - 1, |A_i|) for one incoming table; ``fan[i]``: (getter
        # of expect[j] for every j, their first_row - 1, |A_i|, the candidates function).
        self.single: list[tuple[int, int, int] | None] = []
        self.fan: list[tuple[Any, tuple[int, ...], int, Any] | None] = []
        for i, name in enumerate(tables.space.agents):
            readers = [] if i < joint else [(index[u], tables.first_row(u, v) - 1)
                                            for u, v in tables.agents[name].incoming]
            self.single.append((*readers[0], sizes[i]) if len(readers) == 1 else None)
            self.fan.append(
                (operator.itemgetter(*(j for j, _ in readers)), tuple(f for _, f in readers),
                 sizes[i], FAN_IN_CANDIDATES.get(len(readers), candidates))
                if len(readers) > 1 else None)

    def plan(self, start: int, expect: list[int], episode: Episode) -> None:
        """Plan agents ``start, ...`` into ``episode`` (``expect``: ``action + 1`` per agent,
        0 = undecided; completed in place). Per agent, the unvisited actions as a mask (at a
        fan-in, those unvisited in the most incoming rows) and the stream's first draw read
        inline, as :meth:`~agents.stream.UniformStream.pick_bit` draws."""
        n, stream = len(expect), self.stream
        actions, positions = [-1] * n, [0] * n
        masks = self.tables.free_masks
        block, k, base = stream.block, stream.k, stream.base
        limit = len(block)
        end = n
        for i, one, fan in zip(range(start, n), self.single[start:], self.fan[start:],
                               strict=True):
            if one is not None and expect[one[0]] and k < limit:     # one incoming table
                j, row, size = one
                mask = masks[row + expect[j]]
            elif fan is not None and k < limit and 0 not in (decided := fan[0](expect)):
                mask = fan[3](masks, fan[1], decided)
                size = fan[2]
            else:                                    # the first two agents, undecided, ...
                stream.k = k
                a = self.fallback(i, expect, start)
                if a < 0:
                    end = i
                    break
                block, k, base = stream.block, stream.k, stream.base
                limit = len(block)
                actions[i], expect[i], positions[i] = a, a + 1, base + k
                continue
            u = block[k]
            k += 1
            a = int(u * size)                                # no unvisited action: uniform
            if mask:
                count = mask.bit_count()
                if 4 * count < size:                         # sparse: the k-th set bit
                    for _ in range(int(u * count)):
                        mask &= mask - 1
                    a = (mask & -mask).bit_length() - 1
                elif not mask >> a & 1:                      # rejected: pick_bit goes on
                    stream.k = k - 1
                    a = stream.pick_bit(mask, size)
                    block, k, base = stream.block, stream.k, stream.base
                    limit = len(block)
            actions[i], expect[i], positions[i] = a, a + 1, base + k
        stream.k = k
        episode.set_plan(actions, expect, positions, end, n)


class CompiledExplorePlanner:
    """:class:`ExplorePlanner` (and the first two agents' Algorithm 1) by the compiled kernel
    :func:`agents.kernels.plan_explore`, in one call unless it stops at an agent it leaves to
    the ``fallback``. Needs compiled tables (:attr:`~agents.qtables.QTables.free_bits`)."""

    def __init__(self, tables: QTables, stream: UniformStream, fallback: Fallback) -> None:
        if tables.free_bits is None:
            raise ValueError("CompiledExplorePlanner needs compiled tables (QTables("
                             "compiled=True))")
        self.tables, self.stream, self.fallback = tables, stream, fallback
        index, sizes = tables.space.agent_index, tables.space.action_sizes
        # Agent i reads the pairs (j, first_row - 1) at ``readers[:, ptr[i]:ptr[i + 1]]``.
        ptr, flat = [0], []
        for name in tables.space.agents:
            flat += [(index[u], tables.first_row(u, v) - 1)
                     for u, v in tables.agents[name].incoming]
            ptr.append(len(flat))
        self.ptr = np.array(ptr, dtype=np.int64)
        self.inline = [i == 0 or lo < hi for i, (lo, hi) in enumerate(itertools.pairwise(ptr))]
        self.readers = np.array(flat, dtype=np.int64).reshape(len(flat), 2).T.copy()
        self.sizes = np.array(sizes, dtype=np.int64)
        n = len(sizes)
        # Reused by every plan: actions, expect, positions and the joint cell.
        self._buffers = tuple(np.zeros(size, dtype=np.int64) for size in (n, n, n, 2))

    def plan(self, start: int, expect: list[int], episode: Episode) -> None:
        """:meth:`ExplorePlanner.plan`, compiled (reads and sets ``episode.joint``)."""
        n, tables, stream, inline = len(expect), self.tables, self.stream, self.inline
        actions, decided, positions, joint = self._buffers
        if start:
            actions[:start] = -1
        in_array = False            # whether ``decided`` (else ``expect``) has the latest actions
        i, end = start, n
        while i < n:
            if inline[i]:
                if in_array:
                    pass
                elif any(expect):
                    decided[:] = expect
                else:
                    decided.fill(0)
                first = i
                if first == 1:
                    joint[0], joint[1] = (-1, -1) if episode.joint is None else episode.joint
                i, stream.k = kernels.plan_explore(
                    i, decided, actions, positions, joint, tables.free_bits, tables.visits,
                    stream.block_array(), stream.k, stream.base, self.ptr, self.readers,
                    self.sizes, tables.kernel_edges, tables.kernel_out, tables.kernel_offsets)
                in_array = True
                if first == 0 and i:
                    episode.joint = None if joint[1] < 0 else (int(joint[0]), int(joint[1]))
                if i == n:
                    break
                expect = decided.tolist()
            a = self.fallback(i, expect, start)
            if a < 0:
                end = i
                break
            actions[i], expect[i], positions[i] = a, a + 1, stream.position
            i += 1
            in_array = False
        if end < n:
            actions[end:], positions[end:] = -1, 0
        episode.set_plan(actions.tolist(), decided.tolist() if in_array else expect,
                         positions.tolist(), end, n)
