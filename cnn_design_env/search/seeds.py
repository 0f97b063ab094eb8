"""The one seed rule of every search: evaluation seeds drawn from the run's seed.

A run with seed ``s`` draws the seed of its ``i``-th evaluation as the ``i``-th
``np.random.default_rng(s).integers(SEED_BOUND)``. The AEC env (one draw per episode), the runner
(one draw per ask) and the final choice's salted stream all draw from ``[0, SEED_BOUND)``, so the
same seed gives the same evaluation seeds whichever path plays the episodes.

Example:
    >>> first = evaluation_seeds(7)
    >>> draw(first) == int(np.random.default_rng(7).integers(SEED_BOUND))
    True
"""

from __future__ import annotations

import numpy as np

SEED_BOUND = 2**31 - 1
"""Evaluation seeds lie in ``[0, SEED_BOUND)``: they fit an int32 and a JAX PRNG key."""


def evaluation_seeds(seed: int) -> np.random.Generator:
    """The generator of a run's evaluation seeds (:func:`draw` one per evaluation)."""
    return np.random.default_rng(seed)


def draw(seeds: np.random.Generator) -> int:
    """The next evaluation seed from ``seeds``."""
    return int(seeds.integers(SEED_BOUND))


__all__ = ["SEED_BOUND", "draw", "evaluation_seeds"]
