"""Single-agent tabular Q-learning over the layer sequence, in the style of MetaQNN (Baker et al.
2017, "Designing Neural Network Architectures using Reinforcement Learning", ICLR).

One agent builds the design layer by layer, in the space's agent order:

* **state** ``(i, a_{i-1})``: the position ``i`` and the previous action (one start state for
  ``i = 0``); **action** ``a_i`` of agent ``i``. The Q-function is one table per position,
  ``Q_i`` of shape ``(|A_{i-1}|, |A_i|)`` (``(1, |A_0|)`` for the first), initialised to
  ``q_init``.
* **acting**: epsilon-greedy at every position, ties of the greedy choice broken uniformly;
  ``epsilon`` follows a step schedule over the episodes told so far (:class:`EpsilonSchedule`,
  by default MetaQNN's shape as fractions of the budget: 1.0 for the first 56 % of the
  ``budget`` episodes, then 0.9, 0.8, ..., 0.1 over the rest; 0.1 afterwards). MetaQNN trained
  2,700 models; the schedule scales to the budget a run is given (the runner and the CLI pass
  it), so at small budgets it is not random search. Without a budget it spans 200 episodes.
* **learning** (experience replay): every told ``(design, reward)`` joins a replay memory; after
  each tell, ``replay_batch`` experiences are drawn uniformly (with replacement) from it and each
  is replayed backwards from the last position: ``Q_T[s_T, a_T] += alpha (R - Q_T[s_T, a_T])``,
  then ``Q_i[s_i, a_i] += alpha (gamma max_a Q_{i+1}[a_i, a] - Q_i[s_i, a_i])``; the reward is
  terminal, intermediate rewards are 0.

Defaults differ from MetaQNN where our budgets do: ``alpha = 0.1`` (MetaQNN 0.01 over thousands of
models), ``replay_batch = 32`` (128), ``q_init = 0`` (0.5 for accuracies in [0, 1]; our rewards
have any scale); ``gamma = 1`` as in MetaQNN.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from baselines.base import Searcher
from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace

_METAQNN = ((1.0, 1500), (0.9, 100), (0.8, 100), (0.7, 100), (0.6, 150), (0.5, 150),
            (0.4, 150), (0.3, 150), (0.2, 150), (0.1, 150))
"""Baker et al.'s schedule: (epsilon, models trained at that epsilon)."""

DEFAULT_BUDGET = 200
"""Episodes the default schedule spans when the searcher is not told its budget."""


@dataclass(frozen=True)
class EpsilonSchedule:
    """Piecewise-constant epsilon: ``steps[k] = (epsilon, episodes)``; the last value holds on.

    Example:
        >>> schedule = EpsilonSchedule(((1.0, 2), (0.5, 1)))
        >>> [schedule(e) for e in range(5)]
        [1.0, 1.0, 0.5, 0.5, 0.5]
    """

    steps: tuple[tuple[float, int], ...]

    def __post_init__(self) -> None:
        steps = tuple((float(e), int(n)) for e, n in self.steps)
        if not steps:
            raise ValueError("an epsilon schedule needs at least one (epsilon, episodes) step")
        for eps, n in steps:
            if not 0.0 <= eps <= 1.0 or n < 0:
                raise ValueError(f"epsilon schedule step ({eps}, {n}): expected epsilon in "
                                 "[0, 1] and episodes >= 0")
        object.__setattr__(self, "steps", steps)

    @classmethod
    def metaqnn(cls, episodes: int = DEFAULT_BUDGET) -> EpsilonSchedule:
        """MetaQNN's schedule as fractions of ``episodes`` (each step at least 1 episode).

        Example:
            >>> EpsilonSchedule.metaqnn(50).steps[:3]
            ((1.0, 28), (0.9, 2), (0.8, 2))
        """
        if isinstance(episodes, bool) or int(episodes) != episodes or episodes < 1:
            raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
        total = sum(n for _, n in _METAQNN)
        return cls(tuple((eps, max(1, round(n * episodes / total))) for eps, n in _METAQNN))

    def __call__(self, episode: int) -> float:
        """Epsilon for the (0-based) ``episode``."""
        for eps, n in self.steps:
            if episode < n:
                return eps
            episode -= n
        return self.steps[-1][0]


class QLearningSearcher(Searcher):
    """MetaQNN-style tabular Q-learning with an epsilon schedule and experience replay.

    Args:
        space: The search space.
        seed: Seed of exploration, tie-breaking and replay sampling.
        alpha: Learning rate in ``(0, 1]``.
        gamma: Discount in ``[0, 1]``.
        epsilon: The epsilon schedule (default :meth:`EpsilonSchedule.metaqnn` over ``budget``
            episodes).
        budget: The run's budget in episodes, over which the default schedule is spread
            (``None``: :data:`DEFAULT_BUDGET`); ignored when ``epsilon`` is given.
        replay_batch: Experiences replayed after each tell.
        q_init: Initial Q-value.

    Attributes:
        tables: ``tables[i]`` is ``Q_i`` (rows: previous action, or one start row for ``i = 0``).
        memory: The replay memory of ``(design, reward)``.

    Raises:
        ValueError: If a parameter is out of range.
    """

    name = "qlearning"

    def __init__(self, space: SearchSpace, *, seed: int, alpha: float = 0.1, gamma: float = 1.0,
                 epsilon: EpsilonSchedule | None = None, replay_batch: int = 32,
                 q_init: float = 0.0, budget: int | None = None) -> None:
        super().__init__(space, seed=seed)
        if not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
        if int(replay_batch) < 1:
            raise ValueError(f"replay_batch must be >= 1, got {replay_batch!r}")
        self.alpha, self.gamma = float(alpha), float(gamma)
        if budget is not None and (isinstance(budget, bool) or int(budget) != budget
                                   or budget < 1):
            raise ValueError(f"budget must be a positive integer, got {budget!r}")
        self.budget = DEFAULT_BUDGET if budget is None else int(budget)
        self.epsilon = epsilon or EpsilonSchedule.metaqnn(self.budget)
        self.replay_batch = int(replay_batch)
        sizes = space.action_sizes
        rows = (1, *sizes[:-1])
        self.tables = [np.full((r, n), float(q_init)) for r, n in zip(rows, sizes, strict=True)]
        self.memory: list[tuple[Design, float]] = []

    @property
    def episodes(self) -> int:
        """Episodes told so far."""
        return len(self.memory)

    def ask(self) -> Design:
        """Build a design position by position, epsilon-greedy on the Q-tables."""
        eps = self.epsilon(self.episodes)
        previous = 0
        actions = []
        for table in self.tables:
            row = table[previous]
            if self.rng.random() < eps:
                action = int(self.rng.integers(row.size))
            else:
                best = np.flatnonzero(row == row.max())
                action = int(best[self.rng.integers(best.size)])
            actions.append(action)
            previous = action
        return Design(tuple(actions))

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Store the experience, then replay ``replay_batch`` sampled experiences."""
        self.memory.append((self.space.validate(design), float(reward)))
        picks = self.rng.integers(len(self.memory), size=self.replay_batch)
        for k in picks:
            self.update(*self.memory[int(k)])

    def update(self, design: Design | Sequence[int], reward: float) -> None:
        """One backward Q-learning pass over the trajectory of ``design`` with terminal
        ``reward``."""
        actions = tuple(design)
        states = (0, *actions[:-1])
        target = float(reward)
        for i in range(len(actions) - 1, -1, -1):
            q = self.tables[i]
            s, a = states[i], actions[i]
            q[s, a] += self.alpha * (target - q[s, a])
            target = self.gamma * float(q[s].max())  # the target of position i - 1

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: the Q-tables and the replay memory as arrays, the generator's
        state as JSON (the parameters come from the run's settings)."""
        designs = np.array([d.actions for d, _ in self.memory], dtype=np.int64)
        arrays = {f"q{i}": table for i, table in enumerate(self.tables)}
        arrays["memory_designs"] = designs.reshape(len(self.memory), len(self.tables))
        arrays["memory_rewards"] = np.array([r for _, r in self.memory], dtype=np.float64)
        return arrays, {"rng": self.rng.bit_generator.state}

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`.

        Raises:
            ValueError: If the tables do not fit this searcher's space.
        """
        tables = [np.asarray(arrays[f"q{i}"], dtype=np.float64) for i in range(len(self.tables))]
        for i, (table, own) in enumerate(zip(tables, self.tables, strict=True)):
            if table.shape != own.shape:
                raise ValueError(f"Q-table {i} has shape {table.shape}, expected {own.shape}")
        self.tables = [table.copy() for table in tables]
        self.memory = [(Design(tuple(row)), float(r)) for row, r in
                       zip(arrays["memory_designs"].tolist(),
                           arrays["memory_rewards"].tolist(), strict=True)]
        self.rng.bit_generator.state = meta["rng"]

    def next_phase(self) -> tuple[str, float]:
        """``("", epsilon)`` of the next episode (the schedule at the episodes told)."""
        return "", float(self.epsilon(self.episodes))

    def facts(self) -> dict[str, Any]:
        """The greedy design of the current Q-tables (for the summary)."""
        return {"greedy_design": list(self.greedy().actions)}

    def greedy(self) -> Design:
        """The design the current Q-tables prefer (first maximum at every position)."""
        previous, actions = 0, []
        for table in self.tables:
            previous = int(np.argmax(table[previous]))
            actions.append(previous)
        return Design(tuple(actions))


__all__ = ["DEFAULT_BUDGET", "EpsilonSchedule", "QLearningSearcher"]
