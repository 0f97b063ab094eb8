"""Random search: every design drawn uniformly at random (the paper's baseline)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from baselines.base import Searcher
from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace


class RandomSearch(Searcher):
    """Draws each design uniformly from the space; learns nothing from ``tell``.

    Args:
        space: The search space.
        seed: Seed of the draws.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> space = get_space("vgg_mini")
        >>> RandomSearch(space, seed=0).ask() == RandomSearch(space, seed=0).ask()
        True
    """

    name = "random"

    def __init__(self, space: SearchSpace, *, seed: int) -> None:
        super().__init__(space, seed=seed)

    def ask(self) -> Design:
        """A uniformly random design."""
        return self.space.sample(self.rng)

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Random search ignores the results."""

    def can_ask_ahead(self, pending: int) -> bool:
        """Always: a draw never depends on results."""
        return True

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: the generator's state (JSON); no arrays."""
        return {}, {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        self.rng.bit_generator.state = meta["rng"]


__all__ = ["RandomSearch"]
