"""The two phases of a tabular team's run (section VI) and its rates in each.

The first ``exploration_episodes`` episodes explore (``epsilon = 1``, the learning rate constant
at ``alpha.value(0)``); afterwards, in the exploration-exploitation phase, ``alpha`` and
``epsilon`` follow their schedules in ``k``, the number of episodes already finished in that
phase. :class:`Phases` is the part of :class:`~agents.base.TabularTeam` that says which phase the
next episode is in and at which rates.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from agents.schedules import Schedule

__all__ = ["EXPLOITATION", "EXPLORATION", "EpisodeInfo", "Phases"]

EXPLORATION = "exploration"
EXPLOITATION = "exploitation"


@dataclass(frozen=True)
class EpisodeInfo:
    """What a team did in one episode (filled by ``learn``).

    Attributes:
        episode: Index of the episode (0-based, counting every episode the team learned from).
        phase: ``"exploration"`` or ``"exploitation"`` (the exploration-exploitation phase).
        epsilon: Exploration rate of the episode.
        alpha: Learning rate used for its update.
        explored: Whether any agent took a random action (always true in exploration).
        updated: Whether the tables were updated (false for an exactly repeated design).
    """

    episode: int
    phase: str
    epsilon: float
    alpha: float
    explored: bool
    updated: bool


class Phases(ABC):
    """Phase, ``k``, epsilon and alpha of the next episode, and convergence.

    A subclass sets ``episodes`` (episodes learned from), ``alpha_schedule``,
    ``epsilon_schedule``, ``converged_design`` and ``exploration_episodes`` (``None``: the
    subclass's :meth:`default_exploration_episodes`).
    """

    episodes: int
    alpha_schedule: Schedule
    epsilon_schedule: Schedule
    converged_design: object | None
    _exploration_episodes: int

    @abstractmethod
    def default_exploration_episodes(self) -> int:
        """The paper's rule for the exploration length (subclasses define it)."""

    @property
    def exploration_episodes(self) -> int:
        """Length of the exploration phase in episodes."""
        return self._exploration_episodes

    @exploration_episodes.setter
    def exploration_episodes(self, value: int | None) -> None:
        if value is None:
            value = self.default_exploration_episodes()
        if int(value) < 0:
            raise ValueError(f"exploration_episodes must be >= 0, got {value!r}")
        self._exploration_episodes = int(value)

    @property
    def phase(self) -> str:
        """The phase of the next episode."""
        return EXPLORATION if self.episodes < self._exploration_episodes else EXPLOITATION

    @property
    def phase_episodes(self) -> int:
        """``k``: episodes already finished in the exploration-exploitation phase."""
        return max(0, self.episodes - self._exploration_episodes)

    @property
    def epsilon(self) -> float:
        """Exploration rate of the next episode (1 during exploration)."""
        if self.phase == EXPLORATION:
            return 1.0
        return self.epsilon_schedule.value(self.phase_episodes)

    @property
    def alpha(self) -> float:
        """Learning rate of the next episode's update."""
        if self.phase == EXPLORATION:
            return self.alpha_schedule.value(0)
        return self.alpha_schedule.value(self.phase_episodes)

    @property
    def converged(self) -> bool:
        """Whether the same design came out of ``K`` consecutive exploiting episodes."""
        return self.converged_design is not None
