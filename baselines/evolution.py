"""Regularized (aging) evolution, Real et al. 2019 ("Regularized Evolution for Image Classifier
Architecture Search", AAAI), Algorithm 1, in ask/tell form.

* The first ``population_size`` designs are drawn uniformly at random.
* Afterwards each design is a *child*: ``sample_size`` members are drawn uniformly (without
  replacement) from the population, the one with the highest reward is the parent (tournament
  selection; ties go to the younger member), and the child is the parent with **one agent's action
  mutated**: an agent with more than one action chosen uniformly, its action replaced by a
  different one drawn uniformly.
* Every told design joins the population as its youngest member; the oldest member dies when the
  population is full (aging: a member survives ``population_size`` evaluations, however good).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from baselines.base import Searcher
from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace


class RegularizedEvolution(Searcher):
    """Aging evolution with tournament selection and one-action mutation.

    Args:
        space: The search space.
        seed: Seed of the random designs, tournaments and mutations.
        population_size: ``P``: members kept alive (Real et al. used 100; 20 suits budgets of
            a few hundred evaluations).
        sample_size: ``S``: tournament size, ``1 <= S <= P`` (default ``min(5, P)``).

    Raises:
        ValueError: If the sizes are out of range.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> searcher = RegularizedEvolution(get_space("vgg_mini"), seed=0, population_size=4,
        ...                                 sample_size=2)
        >>> for _ in range(4):
        ...     searcher.tell(searcher.ask(), 1.0)
        >>> len(searcher.population)
        4
    """

    name = "evolution"

    def __init__(self, space: SearchSpace, *, seed: int, population_size: int = 20,
                 sample_size: int | None = None) -> None:
        super().__init__(space, seed=seed)
        if sample_size is None:  # Real et al.'s S, capped by the population
            sample_size = min(5, int(population_size))
        if int(population_size) < 1:
            raise ValueError(f"population_size must be >= 1, got {population_size!r}")
        if not 1 <= int(sample_size) <= int(population_size):
            raise ValueError(f"sample_size must be in [1, population_size={population_size}], "
                             f"got {sample_size!r}")
        self.population_size = int(population_size)
        self.sample_size = int(sample_size)
        self.population: deque[tuple[Design, float]] = deque(maxlen=self.population_size)
        self._asked = 0
        self._mutable = [i for i, n in enumerate(space.action_sizes) if n > 1]

    def ask(self) -> Design:
        """A random design while the population fills, else a mutated tournament winner."""
        self._asked += 1
        if self._asked <= self.population_size or not self.population:
            return self.space.sample(self.rng)
        return self.mutate(self.tournament())

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Add ``design`` as the youngest member; the oldest dies if the population is full."""
        self.population.append((self.space.validate(design), float(reward)))

    def can_ask_ahead(self, pending: int) -> bool:
        """Always: aging evolution is asynchronous (Real et al.); a child of the current
        population is the same kind of decision whatever is still in flight."""
        return True

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: the population (designs and rewards, oldest first) as arrays, the
        generator's state and the ask counter as JSON."""
        designs = np.array([d.actions for d, _ in self.population], dtype=np.int64)
        designs = designs.reshape(len(self.population), len(self.space.agents))
        rewards = np.array([r for _, r in self.population], dtype=np.float64)
        return ({"population_designs": designs, "population_rewards": rewards},
                {"rng": self.rng.bit_generator.state, "asked": self._asked})

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        designs, rewards = arrays["population_designs"], arrays["population_rewards"]
        self.population.clear()
        for row, reward in zip(designs.tolist(), rewards.tolist(), strict=True):
            self.population.append((self.space.validate(Design(tuple(row))), float(reward)))
        self._asked = int(meta["asked"])
        self.rng.bit_generator.state = meta["rng"]

    def tournament(self) -> Design:
        """The best of ``sample_size`` members drawn without replacement (younger wins ties)."""
        size = min(self.sample_size, len(self.population))
        picks = sorted(self.rng.choice(len(self.population), size=size, replace=False))
        best = max(picks, key=lambda i: (self.population[i][1], i))
        return self.population[best][0]

    def mutate(self, design: Design) -> Design:
        """``design`` with one agent's action replaced by a different one (uniform choices)."""
        if not self._mutable:
            return design
        agent = self._mutable[int(self.rng.integers(len(self._mutable)))]
        size = self.space.action_sizes[agent]
        shift = int(self.rng.integers(1, size))  # any action but the current one
        actions = list(design.actions)
        actions[agent] = (actions[agent] + shift) % size
        return Design(tuple(actions))


__all__ = ["RegularizedEvolution"]
