"""The seeded stream of uniforms a tabular team draws every random choice from, with rewind.

The uniforms in ``[0, 1)`` come from the team's generator in blocks of :data:`UNIFORM_BLOCK`
(a NumPy call per draw would cost more than the rest of a decision). A team plans an episode
ahead of the agents it serves; what a plan drew for agents that were not served is given back
with :meth:`UniformStream.seek`, so the choices are those of acting agent by agent.

Example:
    >>> stream = UniformStream(0)
    >>> mark = stream.position
    >>> first = stream.uniform(); _ = stream.uniform()
    >>> stream.seek(mark)                   # give both draws back
    >>> stream.uniform() == first
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["TRIES", "UNIFORM_BLOCK", "UniformStream"]

UNIFORM_BLOCK = 1024
"""Uniforms drawn from the generator at a time."""

TRIES = 4
"""Uniform draws tried (rejection sampling) before selecting among the unvisited cells."""


class UniformStream:
    """Buffered uniforms of one seeded generator, with rewind within a plan.

    Planners read the current block inline (``block[k]``, then ``k += 1``, :meth:`refill` at
    its end) for speed; these attributes are the stream's whole state.

    Attributes:
        rng: The generator.
        block: The current block of uniforms (a list).
        k: Index of the next uniform in ``block``.
        base: Absolute position of ``block[0]`` since the current plan was marked.
        entered: ``(base, block)`` of the blocks entered since :meth:`mark`.
        ahead: Blocks given back by a rewind, served again before new ones are drawn.
    """

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.block: list[float] = []
        self._drawn: tuple[list[float], np.ndarray] = (self.block, np.zeros(0))
        self._as_array: tuple[list[float] | None, np.ndarray] = (None, np.zeros(0))
        self.k = 0
        self.base = 0
        self.entered: list[tuple[int, list[float]]] = [(0, self.block)]
        self.ahead: list[list[float]] = []

    @property
    def position(self) -> int:
        """Absolute position of the next uniform (since the current plan was marked)."""
        return self.base + self.k

    def uniform(self) -> float:
        """The next uniform."""
        k = self.k
        if k >= len(self.block):
            self.refill()
            k = 0
        self.k = k + 1
        return self.block[k]

    def pick(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        return int(self.uniform() * n)

    def pick_bit(self, mask: int, n: int) -> int:
        """A uniform position among the set bits of ``mask`` (non-zero, below ``1 << n``).

        Rejection sampling (:data:`TRIES` draws accepted on a set bit) while at least a quarter
        of the bits are set, else the k-th set bit: uniform either way.
        """
        count = mask.bit_count()
        block, k = self.block, self.k
        if 4 * count >= n:
            for _ in range(TRIES):
                if k >= len(block):
                    self.refill()
                    block, k = self.block, 0
                c = int(block[k] * n)
                k += 1
                if (mask >> c) & 1:
                    self.k = k
                    return c
        if k >= len(block):
            self.refill()
            block, k = self.block, 0
        self.k = k + 1
        for _ in range(int(block[k] * count)):
            mask &= mask - 1                                  # drop the lowest set bit
        return (mask & -mask).bit_length() - 1

    def refill(self) -> None:
        """Enter the next block: one given back first, else freshly drawn."""
        self.base += len(self.block)
        if self.ahead:
            self.block = self.ahead.pop(0)
        else:
            drawn = self.rng.random(UNIFORM_BLOCK)
            self.block = drawn.tolist()
            self._drawn = (self.block, drawn)
        self.k = 0
        self.entered.append((self.base, self.block))

    def block_array(self) -> np.ndarray:
        """The current block as a float64 array (for a compiled planner; cached per block)."""
        listed, array = self._as_array
        if listed is not self.block:
            drawn_list, drawn = self._drawn
            array = drawn if drawn_list is self.block else np.array(self.block, dtype=np.float64)
            self._as_array = (self.block, array)
        return array

    def mark(self) -> None:
        """Start a plan: positions are counted from here on and :meth:`seek` can go back to
        them."""
        self.entered = [(self.base, self.block)]

    def _at(self, target: int) -> tuple[int, list[float], int, list[list[float]]]:
        entered = self.entered
        j = len(entered) - 1
        while j > 0 and entered[j][0] > target:
            j -= 1
        base, block = entered[j]
        return base, block, target - base, [b for _, b in entered[j + 1:]] + self.ahead

    def seek(self, target: int) -> None:
        """Go back to absolute position ``target`` (since the last :meth:`mark`)."""
        self.base, self.block, self.k, self.ahead = self._at(target)
        self.entered = [(self.base, self.block)]

    # --------------------------------------------------------------- state
    def state_dict(self, target: int) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The stream as if rewound to ``target``: arrays ``uniforms`` and ``ahead``, and meta
        ``rng`` (the generator's state) and ``next_uniform``."""
        block, k, ahead = self.block, self.k, self.ahead
        if target != self.position:
            _, block, k, ahead = self._at(target)
        arrays = {"uniforms": np.array(block, dtype=np.float64),
                  "ahead": np.array(ahead, dtype=np.float64).reshape(len(ahead), UNIFORM_BLOCK)}
        return arrays, {"rng": self.rng.bit_generator.state, "next_uniform": k}

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` (``ahead`` may be missing: none)."""
        self.rng.bit_generator.state = meta["rng"]
        self.block = np.asarray(arrays["uniforms"], dtype=np.float64).tolist()
        self.k = int(meta["next_uniform"])
        ahead = arrays["ahead"] if "ahead" in arrays else np.zeros((0, UNIFORM_BLOCK))
        self.ahead = np.asarray(ahead, dtype=np.float64).tolist()
        self.base = 0
        self.entered = [(0, self.block)]
