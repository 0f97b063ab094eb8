"""The ``Searcher`` interface: black-box search over designs through ask/tell.

A searcher proposes a complete design with :meth:`Searcher.ask`; the runner
(:func:`baselines.run`) evaluates it with the same evaluator and reward as every other method and
reports back with :meth:`Searcher.tell`. Searchers never evaluate anything themselves, so every
method is measured on the same work (Optuna ``BaseSampler`` / NASLib ``MetaOptimizer`` style: a
small interface, subclasses keep the base signatures exactly).

Rules every searcher follows (the contract test in ``tests/baselines`` checks them):

* all randomness comes from ``seed`` (``self.rng = np.random.default_rng(seed)`` or a library
  sampler seeded with it): the same seed and the same rewards give the same designs;
* ``ask`` returns a :class:`~cnn_design_env.space.Design` of ``self.space``
  (``space.validate`` accepts it);
* ``tell`` accepts any design of the space, not only asked ones (a warm start), and the runner
  calls it once per evaluated design, in order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np

from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace


class Searcher(ABC):
    """Base class of every search method: ``ask() -> Design``, ``tell(design, reward, metrics)``.

    Args:
        space: The search space to search.
        seed: Seed of every random choice the searcher makes.

    Attributes:
        name: The method's registry name (``"random"``, ``"evolution"``, ...).
        space: The search space.
        seed: The seed it was built with.
        rng: Its random generator, ``np.random.default_rng(seed)``.

    Raises:
        TypeError: If ``space`` is not a ``SearchSpace``.
    """

    name: ClassVar[str] = "searcher"

    def __init__(self, space: SearchSpace, *, seed: int) -> None:
        if not isinstance(space, SearchSpace):
            raise TypeError(f"{type(self).__name__} needs a SearchSpace, got {space!r}")
        self.space = space
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    @abstractmethod
    def ask(self) -> Design:
        """The next design to evaluate."""

    @abstractmethod
    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Report the ``reward`` (and the ``metrics``, when known) of an evaluated ``design``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(space={self.space.name!r}, seed={self.seed})"


__all__ = ["Searcher"]
