"""What a tabular team knows about the episode in progress, and what it reports after one.

:class:`Episode` is the team's plan of the episode being played: its random-vs-greedy coin, the
actions planned for the agents still to act and where the uniform stream stood after each.
:class:`EpisodeInfo` is what ``learn`` reports about a finished episode (the training loop's
history reads it). Pure Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["EXPLOITATION", "EXPLORATION", "Episode", "EpisodeInfo"]

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


class Episode:
    """The episode in progress: its coin and the plan of its remaining agents.

    A fresh episode has no coin (``None``: not started) and no plan (``cursor == -1``).

    Attributes:
        coin: Whether the episode is random (Algorithm 1) rather than greedy (Algorithm 3);
            ``None`` before its first agent acted.
        epsilon: Its exploration rate.
        explored: Whether an agent already served took a random action (besides the plan's
            ``first_explore``).
        joint: ``(a_1, a_2)`` when the first agent's random cell also fixed the second agent's
            action (Algorithm 1, shared team), else ``None``.
        start: The first agent planned.
        end: The first agent not planned (the plan stopped at an undecided predecessor).
        cursor: The next agent the plan serves; -1 when there is no plan.
        actions: The planned action of each agent (-1 outside ``start:end``).
        expect: ``action + 1`` of each agent as the plan assumes it (0 = undecided): what an
            agent's observation must hold for its planned action to stand.
        positions: The stream position after each planned agent's draws.
        first_explore: The first agent whose own coin chose a random action (per-agent coin).
        version: The tables' version the plan was made from.
    """

    __slots__ = ("actions", "coin", "cursor", "end", "epsilon", "expect", "explored",
                 "first_explore", "joint", "positions", "start", "version")

    def __init__(self, agents: int) -> None:
        self.coin: bool | None = None
        self.epsilon = 1.0
        self.explored = False
        self.joint: tuple[int, int] | None = None
        self.start = 0
        self.end = 0
        self.cursor = -1
        self.actions: list[int] = []
        self.expect: list[int] = []
        self.positions: list[int] = []
        self.first_explore = agents
        self.version = -1

    def set_plan(self, actions: list[int], expect: list[int], positions: list[int], end: int,
                 first_explore: int) -> None:
        """Record a plan (see the attributes)."""
        self.actions, self.expect, self.positions = actions, expect, positions
        self.end, self.first_explore = end, first_explore

    def served_random(self) -> bool:
        """Whether an agent served so far took a random action."""
        return self.explored or (0 <= self.first_explore < self.cursor)

    def state(self) -> dict[str, Any]:
        """The episode as acting agent by agent leaves it (JSON-friendly; no plan: a plan is
        made again on resume)."""
        return {"coin": self.coin, "epsilon": self.epsilon, "explored": self.served_random(),
                "plan": None if self.joint is None else list(self.joint)}

    @classmethod
    def from_state(cls, agents: int, state: Mapping[str, Any]) -> Episode:
        """The episode of :meth:`state`, with no plan.

        Example:
            >>> episode = Episode.from_state(3, {"coin": True, "epsilon": 1.0, "explored": True,
            ...                                  "plan": [1, 0]})
            >>> episode.state() == {"coin": True, "epsilon": 1.0, "explored": True, "plan": [1, 0]}
            True
        """
        episode = cls(agents)
        episode.coin, episode.epsilon = state["coin"], float(state["epsilon"])
        episode.explored = bool(state["explored"])
        joint = state.get("plan")
        episode.joint = None if joint is None else (int(joint[0]), int(joint[1]))
        return episode
