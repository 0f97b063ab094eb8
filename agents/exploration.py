"""Algorithm 1 on bit masks: the candidate actions of a random choice at a fan-in.

A row of a Q-table's unvisited cells is a Python ``int`` bit mask (bit ``c`` set: column ``c``
unvisited; :attr:`agents.qtables.QTables.free_masks`). An agent reading one incoming table picks
among its row's unvisited actions; at a fan-in (several incoming tables), among the actions
unvisited in the largest number of its incoming rows, so that every feeder's table loses
unvisited cells. These functions compute that candidate set with integer bit operations (no
NumPy call: the team calls them once per fan-in per episode). Pure Python.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["FAN_IN_CANDIDATES", "candidates", "most_unvisited", "nth_unvisited"]


def most_unvisited(masks: Sequence[int]) -> int:
    """The actions unvisited in the largest number of the rows ``masks`` (bit masks of unvisited
    actions), as a bit mask; 0 if every action was visited in every row.

    Example:
        >>> bin(most_unvisited([0b0110, 0b0011, 0b1010]))      # action 1 is in all three
        '0b10'
    """
    if not any(masks):
        return 0
    # Bit-sliced counters: bit c of digits[d] is digit d of column c's count.
    digits = [0] * len(masks).bit_length()
    for carry in masks:
        for d in range(len(digits)):
            digits[d], carry = digits[d] ^ carry, digits[d] & carry
            if not carry:
                break
    best = -1
    for digit in reversed(digits):                            # keep the largest counts
        if best & digit:
            best &= digit
    return best


def candidates(masks: Sequence[int], rows: tuple[int, ...], decided: tuple[int, ...]) -> int:
    """At a fan-in, :func:`most_unvisited` of the rows ``masks[rows[t] + decided[t]]``.

    ``rows``: per incoming table, the index in ``masks`` of its row 0, minus 1; ``decided``: its
    predecessor's ``action + 1``. :data:`FAN_IN_CANDIDATES` holds this unrolled for 2, 3 and 4
    incoming tables (the first non-empty set of the actions unvisited in all rows, all but one,
    ..., one).

    Example:
        >>> candidates([0, 0b011, 0, 0b110], (0, 2), (1, 1))    # rows 1 and 3
        2
    """
    return most_unvisited([masks[r + e] for r, e in zip(rows, decided, strict=True)])


def _candidates_2(masks: Sequence[int], rows: tuple[int, ...], decided: tuple[int, ...]) -> int:
    (r0, r1), (e0, e1) = rows, decided
    a, b = masks[r0 + e0], masks[r1 + e1]
    return a & b or a | b


def _candidates_3(masks: Sequence[int], rows: tuple[int, ...], decided: tuple[int, ...]) -> int:
    (r0, r1, r2), (e0, e1, e2) = rows, decided
    a, b, c = masks[r0 + e0], masks[r1 + e1], masks[r2 + e2]
    ab, a_b = a & b, a | b
    return ab & c or ab | (a_b & c) or a_b | c


def _candidates_4(masks: Sequence[int], rows: tuple[int, ...], decided: tuple[int, ...]) -> int:
    (r0, r1, r2, r3), (e0, e1, e2, e3) = rows, decided
    a, b, c, d = masks[r0 + e0], masks[r1 + e1], masks[r2 + e2], masks[r3 + e3]
    ab, a_b, cd, c_d = a & b, a | b, c & d, c | d
    return (ab & cd) or (ab & c_d) | (cd & a_b) or ab | cd | (a_b & c_d) or a_b | c_d


FAN_IN_CANDIDATES = {2: _candidates_2, 3: _candidates_3, 4: _candidates_4}
"""Unrolled :func:`candidates` by number of incoming tables (others: :func:`candidates`)."""


def nth_unvisited(masks: Sequence[int], lengths: Sequence[int], k: int) -> int:
    """Offset of the ``k``-th unvisited cell (0-based) of consecutive rows: ``masks`` their bit
    masks, ``lengths`` their lengths, cells counted row after row.

    Raises:
        ValueError: If the rows have ``k`` or fewer unvisited cells.

    Example:
        >>> nth_unvisited([0b100, 0b011], [3, 3], 1)     # cells 2, 3, 4 are unvisited
        3
    """
    offset = 0
    for mask, length in zip(masks, lengths, strict=True):
        count = mask.bit_count()
        if k < count:
            for _ in range(k):
                mask &= mask - 1                              # drop the lowest set bit
            return offset + (mask & -mask).bit_length() - 1
        k -= count
        offset += length
    raise ValueError(f"fewer than {k + 1} unvisited cells in the rows")
