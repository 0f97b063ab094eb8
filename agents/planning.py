"""Algorithm 1 for a whole exploring episode at once: the shared team's planner.

:class:`ExplorePlanning` is the part of :class:`~agents.shared_q.SharedQAgents` that plans an
episode in which every agent takes a random action (the whole exploration phase): the first two
agents through the team's ``_choose``, every later agent inlined here, reading its incoming rows'
unvisited cells as bit masks and drawing from the team's uniform stream exactly what acting
agent by agent would draw. Two implementations of the same choices and draws:

* :meth:`ExplorePlanning._explore_plan_python`: the reference, pure Python on the Python ``int``
  masks of :attr:`agents.qtables.QTables.free_masks`;
* :meth:`ExplorePlanning._explore_plan_compiled`: the compiled kernel
  :func:`agents.kernels.plan_explore` on :attr:`~agents.qtables.QTables.free_bits` (the first
  two agents included), used when the tables are compiled (numba installed, the space fits); an
  agent it does not handle (draws crossing the end of a stream block, an undecided
  predecessor) goes through the Python code (``_choose``) and the kernel resumes after it.
"""

from __future__ import annotations

import itertools
import operator
from typing import Any

import numpy as np

from agents import kernels
from agents.base import TabularTeam, UndecidedPredecessorError
from agents.exploration import FAN_IN_CANDIDATES, candidates

__all__ = ["ExplorePlanning"]

_TRIES = 4
"""Uniform draws tried (rejection sampling) before selecting among the unvisited cells."""


class ExplorePlanning(TabularTeam):
    """Algorithm 1 planning of :class:`~agents.shared_q.SharedQAgents` (see the module docstring).

    A subclass sets ``tables`` (:class:`~agents.qtables.QTables`) and calls
    :meth:`_build_explore_readers` once they exist; it supplies ``_choose``.
    """

    tables: Any

    def _build_explore_readers(self) -> None:
        # Algorithm 1 in _explore_plan, from the third agent on (the first two choose jointly):
        # the row of ``free_masks`` read from table (j, i) is ``first_row - 1 + expect[j]``.
        # ``_explore_single[i]``: (j, first_row - 1, |A_i|) for one incoming table (else None);
        # ``_explore_fan[i]``: (getter of expect[j] for every j, their first_row - 1, |A_i|,
        # the function of :data:`FAN_IN_CANDIDATES` for that many tables) for several (else
        # None). The compiled planner reads the same pairs (j, first_row - 1) of agent i at
        # ``_kernel_ptr[i]:_kernel_ptr[i + 1]`` of ``_kernel_readers``, the second agent's
        # included (it reads them when the first agent's cell does not fix its action), and
        # plans the first agent itself.
        t, index, sizes = self.tables, self.space.agent_index, self.space.action_sizes
        self._explore_single: list[tuple[int, int, int] | None] = []
        self._explore_fan: list[tuple[Any, tuple[int, ...], int, Any] | None] = []
        ptr, flat = [0], []
        for i, name in enumerate(self.space.agents):
            readers = [(index[u], t.first_row(u, v) - 1) for u, v in t.agents[name].incoming]
            flat += readers
            ptr.append(len(flat))
            if i < self.pair or not readers:
                readers = []
            self._explore_single.append((*readers[0], sizes[i]) if len(readers) == 1 else None)
            self._explore_fan.append(
                (operator.itemgetter(*(j for j, _ in readers)), tuple(f for _, f in readers),
                 sizes[i], FAN_IN_CANDIDATES.get(len(readers), candidates))
                if len(readers) > 1 else None)
        self._kernel_ptr = np.array(ptr, dtype=np.int64)
        self._kernel_inline = [i == 0 or lo < hi
                               for i, (lo, hi) in enumerate(itertools.pairwise(ptr))]
        self._kernel_readers = np.array(flat, dtype=np.int64).reshape(len(flat), 2).T.copy()
        self._kernel_sizes = np.array(sizes, dtype=np.int64)
        # Reused by every compiled plan: actions, expect, positions and the joint plan.
        self._kernel_plan = tuple(np.zeros(size, dtype=np.int64) for size in (self._n,) * 3 + (2,))
        self._block_list: list[float] | None = None
        self._block_array = np.zeros(0)

    def _pick_bit(self, mask: int, n: int) -> int:
        """A uniform position among the set bits of ``mask`` (non-zero, below ``1 << n``).

        Rejection sampling (uniform draws accepted on a set bit) while at least a quarter of the
        bits are set, else the k-th set bit: uniform either way.
        """
        count = mask.bit_count()
        block, k = self._uniforms, self._next_uniform       # the stream, read inline
        if 4 * count >= n:
            for _ in range(_TRIES):
                if k >= len(block):
                    self._refill()
                    block, k = self._uniforms, 0
                c = int(block[k] * n)
                k += 1
                if (mask >> c) & 1:
                    self._next_uniform = k
                    return c
        if k >= len(block):
            self._refill()
            block, k = self._uniforms, 0
        self._next_uniform = k + 1
        for _ in range(int(block[k] * count)):
            mask &= mask - 1                                  # drop the lowest set bit
        return (mask & -mask).bit_length() - 1

    def _explore_plan(self, start: int, expect: list[int]) -> None:
        """:meth:`_plan_from` when every agent explores: :meth:`_explore_plan_compiled` where the
        tables are compiled, else :meth:`_explore_plan_python`."""
        if self.tables.free_bits is not None:
            self._explore_plan_compiled(start, expect)
        else:
            self._explore_plan_python(start, expect)

    def _explore_plan_python(self, start: int, expect: list[int]) -> None:
        """:meth:`_choose`'s Algorithm 1 with the agents after the first two inlined: the
        unvisited actions as a mask (at a fan-in, those unvisited in the most incoming rows:
        :func:`~agents.exploration.most_unvisited`), and :meth:`_pick_bit`'s first draw read
        straight from the stream block (the same choices and draws)."""
        n = self._n
        actions, positions = [-1] * n, [0] * n
        masks = self.tables.free_masks
        block, k, base = self._uniforms, self._next_uniform, self._base
        limit = len(block)
        end = n
        for i, one, fan in zip(range(start, n), self._explore_single[start:],
                               self._explore_fan[start:], strict=True):
            if one is not None and expect[one[0]] and k < limit:     # one incoming table
                j, row, size = one
                mask = masks[row + expect[j]]
            elif fan is not None and k < limit and 0 not in (decided := fan[0](expect)):
                mask = fan[3](masks, fan[1], decided)
                size = fan[2]
            else:                                    # the first two agents, undecided, ...
                self._next_uniform = k
                a = self._explore_agent(i, expect, start)
                if a < 0:
                    end = i
                    break
                block, k, base = self._uniforms, self._next_uniform, self._base
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
                elif not mask >> a & 1:                      # rejected: _pick_bit goes on
                    self._next_uniform = k - 1
                    a = self._pick_bit(mask, size)
                    block, k, base = self._uniforms, self._next_uniform, self._base
                    limit = len(block)
            actions[i], expect[i], positions[i] = a, a + 1, base + k
        self._next_uniform = k
        self._set_plan(actions, expect, positions, end, n)

    def _explore_plan_compiled(self, start: int, expect: list[int]) -> None:
        """:meth:`_explore_plan_python` (and the first two agents' :meth:`_choose`) by the compiled
        kernel, in one call unless it stops at an agent it leaves to :meth:`_explore_agent`
        (see :func:`~agents.kernels.plan_explore`)."""
        n, tables, inline = self._n, self.tables, self._kernel_inline
        actions, decided, positions, plan = self._kernel_plan
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
                if self._block_list is not self._uniforms:    # the stream block as an array
                    listed, drawn = self._drawn
                    self._block_list = self._uniforms
                    self._block_array = drawn if listed is self._uniforms else np.array(
                        self._uniforms, dtype=np.float64)
                first = i
                if first == 1:                                # the joint plan of agents 0, 1
                    plan[0], plan[1] = (-1, -1) if self._plan is None else self._plan
                i, self._next_uniform = kernels.plan_explore(
                    i, decided, actions, positions, plan, tables.free_bits, tables.visits,
                    self._block_array, self._next_uniform, self._base, self._kernel_ptr,
                    self._kernel_readers, self._kernel_sizes, tables.kernel_edges,
                    tables.kernel_out, tables.kernel_offsets)
                in_array = True
                if first == 0 and i:
                    self._plan = None if plan[1] < 0 else (int(plan[0]), int(plan[1]))
                if i == n:
                    break
                expect = decided.tolist()
            a = self._explore_agent(i, expect, start)
            if a < 0:
                end = i
                break
            actions[i], expect[i], positions[i] = a, a + 1, self._base + self._next_uniform
            i += 1
            in_array = False
        if end < n:
            actions[end:], positions[end:] = -1, 0
        self._set_plan(actions.tolist(), decided.tolist() if in_array else expect,
                       positions.tolist(), end, n)

    def _explore_agent(self, i: int, expect: list[int], start: int) -> int:
        """Algorithm 1 for agent ``i`` of :meth:`_explore_plan` where it is not inlined (one of
        the first two agents, an undecided predecessor, the end of a stream block); -1 to end
        the plan before ``i``."""
        try:
            return self._choose(i, expect, True)
        except UndecidedPredecessorError:
            if i == start:
                raise
            return -1
