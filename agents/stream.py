"""The buffered uniform stream of a tabular team, with rewind.

A team's every random choice reads uniforms in ``[0, 1)`` from its own generator, drawn in
blocks of :data:`UNIFORM_BLOCK` (a NumPy call per draw would cost more than the rest of a
decision). A team plans ahead of the agents it serves; what a plan drew for agents that were not
served is given back (:meth:`UniformStream._seek`), so the choices are those of acting agent by
agent. ``_blocks`` lists the blocks entered since the plan in progress started (``_base`` is the
absolute index of the current block's first value); blocks given back wait in ``_ahead``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["UNIFORM_BLOCK", "UniformStream"]

UNIFORM_BLOCK = 1024
"""Uniforms drawn from the generator at a time."""


class UniformStream:
    """Mixin: the seeded stream of uniforms of :class:`~agents.base.TabularTeam`."""

    def _init_stream(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._uniforms: list[float] = []
        self._drawn: tuple[list[float], np.ndarray] = (self._uniforms, np.zeros(0))
        self._next_uniform = 0
        self._base = 0
        self._blocks: list[tuple[int, list[float]]] = [(0, self._uniforms)]
        self._ahead: list[list[float]] = []

    def _uniform(self) -> float:
        """The next uniform in ``[0, 1)`` of the team's generator, drawn in blocks (a NumPy call
        per draw would cost more than the rest of a decision)."""
        k = self._next_uniform
        if k >= len(self._uniforms):
            self._refill()
            k = 0
        self._next_uniform = k + 1
        return self._uniforms[k]

    def _refill(self) -> None:
        # Blocks given back by a rewind come first; ``_blocks`` lists the blocks entered since
        # the plan in progress started (``_base`` is the absolute index of a block's first value).
        self._base += len(self._uniforms)
        if self._ahead:
            self._uniforms = self._ahead.pop(0)
        else:                          # the array too (for a compiled planner: ``_drawn``)
            drawn = self._rng.random(UNIFORM_BLOCK)
            self._uniforms = drawn.tolist()
            self._drawn = (self._uniforms, drawn)
        self._next_uniform = 0
        self._blocks.append((self._base, self._uniforms))

    def _stream_at(self, target: int) -> tuple[int, list[float], int, list[list[float]]]:
        """``(base, block, index, ahead)`` of the stream rewound to absolute position ``target``
        (within the plan in progress)."""
        blocks = self._blocks
        k = len(blocks) - 1
        while k > 0 and blocks[k][0] > target:
            k -= 1
        base, block = blocks[k]
        return base, block, target - base, [b for _, b in blocks[k + 1:]] + self._ahead

    def _seek(self, target: int) -> None:
        self._base, self._uniforms, self._next_uniform, self._ahead = self._stream_at(target)
        self._blocks = [(self._base, self._uniforms)]

    def _stream_state(self) -> tuple[list[float], int, list[list[float]]]:
        """The stream as acting agent by agent would have left it: ``(block, index, ahead)``."""
        c = self._cursor
        if c >= 0:
            target = self._positions[c - 1]
            if target != self._base + self._next_uniform:
                _, block, k, ahead = self._stream_at(target)
                return block, k, ahead
        return self._uniforms, self._next_uniform, self._ahead
