"""Ablation: independent per-agent Q-learners, with no shared tables.

Each agent keeps its own Q-vector over its own actions and ignores what the others chose (a
stateless, bandit-style Q-learner); after each episode every agent updates the entry of its own
action with the shared terminal reward, ``Q_i[a_i] = (1 - alpha) * Q_i[a_i] + alpha * R``. The
phases, schedules, epsilon coin, repeat rule and convergence test are those of
:class:`~agents.shared_q.SharedQAgents` (both derive from :class:`~agents.base.TabularTeam`), so a
comparison isolates what the shared tables buy.

* Random actions (Algorithm 1's analogue): uniformly among the agent's unvisited actions, else
  uniformly.
* Greedy actions: ``argmax Q_i`` (first maximum).
* Exploration length by default: ``max |A_i|`` (the largest table's cell count, as for the shared
  team).

Example:
    >>> from cnn_design_env.space import get_space
    >>> team = IndependentQAgents(get_space("vgg_mini"), seed=0)
    >>> team.exploration_episodes, team.q_table("conv1").shape
    (12, (12,))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from agents.base import TabularTeam
from agents.schedules import PAPER_ALPHA, PAPER_EPSILON, Schedule
from cnn_design_env.space import SearchSpace

__all__ = ["IndependentQAgents"]


class IndependentQAgents(TabularTeam):
    """One independent Q-vector per agent, same terminal reward, same act/learn API.

    Args:
        space: The search space.
        seed: Seed of the team's generator.
        exploration_episodes: Length of the exploration phase; ``None`` = ``max |A_i|``.
        alpha: Learning-rate schedule (as :class:`~agents.shared_q.SharedQAgents`).
        epsilon: Exploration-rate schedule.
        coin: ``"episode"`` or ``"agent"``.
        convergence_window: ``K`` identical consecutive exploiting episodes mean convergence.
        dtype: Floating dtype of the Q-values.

    Attributes:
        q: The Q-values of every agent, one after the other.
        visits: Their visit counts.
    """

    def __init__(self, space: SearchSpace, *, seed: int,
                 exploration_episodes: int | None = None, alpha: Schedule = PAPER_ALPHA,
                 epsilon: Schedule = PAPER_EPSILON, coin: str = "episode",
                 convergence_window: int = 10, dtype: np.dtype | type = np.float64) -> None:
        sizes = np.array(space.action_sizes, dtype=np.int64)
        self._off = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        self.q = np.zeros(int(sizes.sum()), dtype=dtype)
        self.visits = np.zeros(int(sizes.sum()), dtype=np.int32)
        self._q_views = [self.q[o:o + n] for o, n in zip(self._off, sizes, strict=True)]
        self._visit_views = [self.visits[o:o + n] for o, n in zip(self._off, sizes, strict=True)]
        self._version = 0
        super().__init__(space, seed=seed, exploration_episodes=exploration_episodes,
                         alpha=alpha, epsilon=epsilon, coin=coin,
                         convergence_window=convergence_window)

    @property
    def version(self) -> int:
        """Incremented by every change made through the team (updates, loads, :meth:`touch`);
        code that writes ``q`` or ``visits`` directly calls :meth:`touch`."""
        return self._version

    def default_exploration_episodes(self) -> int:
        """``max |A_i|``: every agent can try every action once."""
        return int(max(self.space.action_sizes))

    def q_table(self, agent: str) -> np.ndarray:
        """The Q-vector of ``agent`` (a writable view)."""
        return self._q_views[self.space.agent_index[agent]]

    def visit_table(self, agent: str) -> np.ndarray:
        """The visit counts of ``agent``'s actions (a writable view)."""
        return self._visit_views[self.space.agent_index[agent]]

    @property
    def nbytes(self) -> int:
        """Bytes of the Q-values."""
        return int(self.q.nbytes)

    def _choose(self, i: int, obs: Sequence[int] | np.ndarray, explore: bool) -> int:
        if not explore:
            return int(self._q_views[i].argmax())
        free = np.flatnonzero(self._visit_views[i] == 0)
        if free.size:
            return int(free[self.stream.pick(free.size)])
        return self.stream.pick(int(self._sizes[i]))

    def _update(self, actions: np.ndarray, reward: float, alpha: float) -> None:
        cells = self._off + actions
        self.q[cells] = (1.0 - alpha) * self.q[cells] + alpha * reward
        self.visits[cells] += 1
        self._version += 1

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"q": self.q.copy(), "visits": self.visits.copy()}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.q[:] = np.asarray(arrays["q"])
        self.visits[:] = np.asarray(arrays["visits"])
        self.touch()

    def touch(self) -> None:
        """Declare that ``q`` or ``visits`` was written directly (a plan in progress is made
        again at the next ``act``)."""
        self._version += 1

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "dtype": self.q.dtype.name}

    def __repr__(self) -> str:
        return (f"IndependentQAgents(space={self.space.name!r}, episodes={self.episodes}, "
                f"phase={self.phase!r})")
