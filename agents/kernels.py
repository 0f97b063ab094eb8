"""Compiled kernels (numba) of the shared team's per-episode hot path, when numba is installed.

Two kernels, each the compiled twin of a pure Python/NumPy reference that stays the definition
(and runs wherever numba is missing or a space does not fit the kernels):

* :func:`plan_explore`: Algorithm 1 for the agents of an exploring episode
  (:meth:`agents.planning.ExplorePlanner.plan` and the first two agents'
  ``SharedQAgents._explore``): the same candidate sets, the same uniforms read from the same
  stream block, in the same order.
* :func:`update`: Algorithm 2 over every edge (:meth:`agents.qtables.QTables.update`) with its
  look-ahead statistics and unvisited-cell bit masks, in the same floating-point operations in
  the same order (no fast-math), so Q-values come out bit-identical.

Both run on the :class:`~agents.qtables.QTables` arrays; the unvisited cells of each row are an
``int64`` bit mask (``QTables.free_bits``), so a space fits when no agent has more than
:data:`MAX_COLUMNS` actions. Compiled once per machine (``cache=True``: later processes load the
machine code from ``__pycache__``) by :func:`compile_kernels`, which a compiled
:class:`~agents.qtables.QTables` calls: until then the functions here are plain Python (and numba
is not imported).
"""

from __future__ import annotations

import importlib.util

import numpy as np

__all__ = ["MAX_COLUMNS", "available", "compile_kernels", "plan_explore", "update"]

MAX_COLUMNS = 63
"""Most actions per agent for the kernels: a row's unvisited cells fit in a positive ``int64``."""

_INLINE = ("_popcount", "_nth_bit", "_candidates", "_draw")
"""Helpers inlined into the kernels (no call, no reference counting per call), in the order
they are compiled (a function is compiled after those it calls)."""
_KERNELS = ("_first_cell", "plan_explore", "update")
_compiled = False


def available() -> bool:
    """Whether numba is installed (the kernels can be compiled)."""
    return importlib.util.find_spec("numba") is not None


def compile_kernels() -> None:
    """Replace this module's functions by their numba versions (once per process; numba is
    imported here, not with the module, and the machine code comes from its on-disk cache
    after the first process)."""
    global _compiled
    if _compiled:
        return
    import numba

    for name in _INLINE + _KERNELS:
        options = {"inline": "always"} if name in _INLINE else {}
        globals()[name] = numba.njit(cache=True, nogil=True, **options)(globals()[name])
    _compiled = True


def _popcount(mask: int) -> int:
    """Set bits of a non-negative ``int64`` (SWAR, no multiply)."""
    mask = mask - ((mask >> 1) & 0x5555555555555555)
    mask = (mask & 0x3333333333333333) + ((mask >> 2) & 0x3333333333333333)
    mask = (mask + (mask >> 4)) & 0x0F0F0F0F0F0F0F0F
    mask += mask >> 8
    mask += mask >> 16
    mask += mask >> 32
    return mask & 0x7F


def _nth_bit(mask: int, nth: int) -> int:
    """Position of the ``nth`` (0-based) set bit of ``mask``."""
    for _ in range(nth):
        mask &= mask - 1
    low = mask & -mask
    position = 0
    while low > 1:
        low >>= 1
        position += 1
    return position


def _candidates(masks: np.ndarray, expect: np.ndarray, pred: np.ndarray, row0: np.ndarray,
                lo: int, hi: int, digits: np.ndarray) -> int:
    """:func:`agents.exploration.most_unvisited` of the rows ``masks[row0[t] + expect[pred[t]]]``
    for ``t`` in ``lo:hi`` (bit-sliced counters); -1 if a predecessor is undecided."""
    if hi - lo == 1:
        e = expect[pred[lo]]
        return masks[row0[lo] + e] if e else -1
    width = 0
    while (hi - lo) >> width:
        width += 1
    for d in range(width):
        digits[d] = 0
    union = 0
    for t in range(lo, hi):
        e = expect[pred[t]]
        if e == 0:
            return -1
        carry = masks[row0[t] + e]
        union |= carry
        for d in range(width):
            digit = digits[d]
            digits[d] = digit ^ carry
            carry = digit & carry
            if carry == 0:
                break
    if union == 0:
        return 0
    best = -1
    for d in range(width - 1, -1, -1):
        if best & digits[d]:
            best &= digits[d]
    return best


def _draw(mask: int, size: int, block: np.ndarray, k: int) -> tuple[int, int]:
    """A uniform action among the set bits of ``mask`` (any of ``size`` if 0) drawn from
    ``block[k:]``: the inlined first draw of the Python planner, then ``UniformStream.pick_bit``'s
    rejection tries or k-th set bit. Returns ``(action, k)``; ``k`` is -1 if the draws need
    more uniforms than the block has."""
    limit = block.shape[0]
    if k >= limit:
        return -1, -1
    u = block[k]
    k += 1
    a = int(u * size)                                      # no unvisited action: uniform
    if mask:
        count = _popcount(mask)
        if 4 * count < size:                               # sparse: the k-th set bit
            a = _nth_bit(mask, int(u * count))
        elif not (mask >> a) & 1:                          # rejection sampling, 4 tries
            for _ in range(3):
                if k >= limit:
                    return -1, -1
                c = int(block[k] * size)
                k += 1
                if (mask >> c) & 1:
                    return c, k
            if k >= limit:
                return -1, -1
            a = _nth_bit(mask, int(block[k] * count))
            k += 1
    return a, k


def _first_cell(masks: np.ndarray, visits: np.ndarray, block: np.ndarray, k: int,
                edges: np.ndarray, out_tables: np.ndarray, offsets: np.ndarray,
                size: int) -> tuple[int, int, int]:
    """The first agent's Algorithm 1 (``SharedQAgents._explore_first``): an unvisited cell of
    its outgoing tables (4 uniform tries over their cells, else the k-th unvisited cell).

    Returns:
        ``(row, column, k)``: the first agent's action, the second agent's (-1 when the cell is
        not in their table, or every cell was visited) and the stream position reached (-1 if
        the draws need more uniforms than the block has).
    """
    limit = block.shape[0]
    if k + 5 > limit:                                      # rare: leave it to Python
        return -1, -1, -1
    lo, hi = out_tables[0, 0], out_tables[0, 1]
    free = 0
    for t in range(lo, hi):
        for r in range(size):
            free += _popcount(masks[edges[4, t] + r])
    if free == 0:
        return int(block[k] * size), -1, k + 1
    start, stop = offsets[lo], offsets[hi - 1] + size * edges[2, hi - 1]
    position = -1
    for _ in range(4):
        p = start + int(block[k] * (stop - start))
        k += 1
        if visits[p] == 0:
            position = p
            break
    if position < 0:                                       # the nth unvisited cell
        nth = int(block[k] * free)
        k += 1
        offset = start
        for t in range(lo, hi):
            for r in range(size):
                mask = masks[edges[4, t] + r]
                count = _popcount(mask)
                if position < 0 and nth < count:
                    position = offset + _nth_bit(mask, nth)
                nth -= count
                offset += edges[2, t]
    t = lo
    while t + 1 < hi and offsets[t + 1] <= position:
        t += 1
    row, col = divmod(position - offsets[t], edges[2, t])
    return row, col if edges[1, t] == 1 else -1, k


def plan_explore(i: int, expect: np.ndarray, actions: np.ndarray, positions: np.ndarray,
                 plan: np.ndarray, masks: np.ndarray, visits: np.ndarray, block: np.ndarray,
                 k: int, base: int, ptr: np.ndarray, readers: np.ndarray, sizes: np.ndarray,
                 edges: np.ndarray, out_tables: np.ndarray, offsets: np.ndarray
                 ) -> tuple[int, int]:
    """Algorithm 1 for agents ``i, i + 1, ...`` of an exploring episode.

    The first agent draws a cell of its outgoing tables (:func:`_first_cell`; ``plan`` gets
    ``(row, column)`` of it, the column -1 unless the cell fixes the second agent's action),
    the second takes the planned column when ``plan`` holds one for the first agent's action;
    agent ``i`` otherwise reads the rows ``masks[readers[1, t] + expect[readers[0, t]]]`` for
    ``t`` in ``ptr[i]:ptr[i + 1]`` (``expect``: ``action + 1`` per agent, 0 = undecided) and
    draws from them (:func:`_draw`). The uniforms are read from ``block[k:]`` as the Python
    planner reads them; ``actions``, ``expect`` and ``positions`` (``base + k`` after the agent)
    are filled in place. ``edges``, ``out_tables`` and ``offsets`` are :func:`update`'s.

    Returns:
        ``(stop, k)``: the first agent not planned (``len(actions)``, or one the Python planner
        must handle: no incoming readers, an undecided predecessor, draws past the end of
        the block) and the stream position reached.
    """
    n = actions.shape[0]
    digits = np.zeros(64, dtype=np.int64)
    pred, row0 = readers[0], readers[1]
    while i < n:
        if i == 0:
            a, col, after = _first_cell(masks, visits, block, k, edges, out_tables, offsets,
                                        sizes[0])
            if after < 0:
                break
            plan[0], plan[1], k = a, col, after
        elif i == 1 and plan[1] >= 0 and expect[0] - 1 == plan[0]:
            a = plan[1]
        else:
            lo, hi = ptr[i], ptr[i + 1]
            if lo == hi:
                break
            mask = _candidates(masks, expect, pred, row0, lo, hi, digits)
            if mask < 0:
                break
            a, after = _draw(mask, sizes[i], block, k)
            if after < 0:
                break
            k = after
        actions[i] = a
        expect[i] = a + 1
        positions[i] = base + k
        i += 1
    return i, k


def update(a: np.ndarray, reward: float, alpha: float, gamma: float, additive: bool,
           q: np.ndarray, visits: np.ndarray, next_max: np.ndarray, next_free: np.ndarray,
           masks: np.ndarray, action_base: np.ndarray, edges: np.ndarray,
           out_tables: np.ndarray, offsets: np.ndarray) -> None:
    """Algorithm 2 on every edge, in place (see :meth:`agents.qtables.QTables.update`).

    Args:
        a: The design (one action per agent).
        reward: ``R``.
        alpha: Learning rate.
        gamma: Look-ahead discount.
        additive: ``Q += alpha * R`` where there is no look-ahead (else ``Q += alpha * (R - Q)``).
        q: Flat Q-values (float64).
        visits: Flat visit counts.
        next_max: Per action id, the max of the agent's outgoing rows for that action.
        next_free: Per action id, the unvisited cells of those rows.
        masks: Per row of every table, its unvisited cells as a bit mask.
        action_base: Per agent, its first action id.
        edges: ``(5, tables)``: per table in layout order, its source agent, target agent,
            columns, cell shift and row shift (``QTables`` update index).
        out_tables: Per agent, ``(first, stop)`` of its outgoing tables in layout order.
        offsets: Per table, its first flat cell.
    """
    m = edges.shape[1]
    old = np.empty(m, dtype=np.float64)
    new = np.empty(m, dtype=np.float64)
    lost = np.zeros(m, dtype=np.bool_)
    step = alpha * reward
    keep = 1.0 - alpha
    for e in range(m):                     # every look-ahead reads the tables before the update
        u, v, cols = edges[0, e], edges[1, e], edges[2, e]
        src_id, dst_id = action_base[u] + a[u], action_base[v] + a[v]
        o = q[src_id * cols + edges[3, e] + a[v]]
        old[e] = o
        if next_free[dst_id] == 0:
            x = next_max[dst_id] * gamma
            x += reward
            x *= alpha
            x += o * keep
        elif additive:
            x = o + step
        else:
            x = keep * o + step
        new[e] = x
        lost[e] = x < o and o == next_max[src_id]
    for e in range(m):
        u, v, cols = edges[0, e], edges[1, e], edges[2, e]
        src_id = action_base[u] + a[u]
        cell = src_id * cols + edges[3, e] + a[v]
        q[cell] = new[e]
        seen = visits[cell]
        visits[cell] = seen + 1
        if not next_max[src_id] >= new[e]:
            next_max[src_id] = new[e]
        if seen == 0:
            next_free[src_id] -= 1
            masks[src_id + edges[4, e]] &= ~(1 << a[v])
    for e in range(m):                     # a row maximum that went down: recompute it
        if lost[e]:
            u = edges[0, e]
            row = a[u]
            first = out_tables[u, 0]
            best = q[offsets[first] + row * edges[2, first]]
            for t in range(first, out_tables[u, 1]):
                cols = edges[2, t]
                start = offsets[t] + row * cols
                for c in range(start, start + cols):
                    if q[c] > best:
                        best = q[c]
            next_max[action_base[u] + row] = best
