"""``TeamSearcher``: any multi-agent team that plays the env, as an ask/tell searcher.

A *team* is anything with ``act(agent, observation) -> int`` and
``learn(design, reward, metrics=None)`` (the paper's ``agents.SharedQAgents``, a policy-gradient
team, ...). ``ask`` plays one episode of :class:`cnn_design_env.episode.DesignEpisode` (the core
the AEC env is built on): agents act in the env's order and each receives the observation the env
would give it, ``{"observation": <int64 vector>, "action_mask": <int8 mask>}``. ``tell`` calls
``learn`` once for the finished episode. The evaluation itself is done by the runner, with the
same evaluator and reward as every other method.

The paper's agents run this way as method ``"marl"`` (``baselines.team.shared_q_searcher``);
``agents.train`` drives a team through the AEC env itself with a subclass whose ``ask`` plays the
env's textbook loop (``agents.loop.EnvTeamSearcher``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np

from cnn_design_env.episode import DesignEpisode
from cnn_design_env.evaluators import Metrics
from cnn_design_env.search.searcher import Searcher
from cnn_design_env.space import Design, SearchSpace


@runtime_checkable
class Team(Protocol):
    """A team of agents that plays a design episode and learns from its shared reward."""

    def act(self, agent: str, observation: Any) -> int:
        """The action of ``agent`` given its observation."""
        ...

    def learn(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Learn from one finished episode."""
        ...


class TeamSearcher(Searcher):
    """Drives a :class:`Team` over :class:`~cnn_design_env.episode.DesignEpisode` as ask/tell.

    Args:
        space: The search space.
        seed: Passed to ``team`` when it is a factory; a team instance carries its own seed.
        team: A team instance, or a factory called as ``team(space, seed=seed)``.
        name: The method name the runner records (default ``"team"``).

    Raises:
        TypeError: If ``team`` has no ``act``/``learn`` pair and is not a factory of one.

    Example:
        >>> import numpy as np
        >>> from cnn_design_env.space import get_space
        >>> class FirstAction:
        ...     def act(self, agent, observation):
        ...         return int(np.argmax(observation["action_mask"]))
        ...     def learn(self, design, reward, metrics=None):
        ...         pass
        >>> TeamSearcher(get_space("vgg_mini"), seed=0, team=FirstAction()).ask().actions
        (0, 0, 0, 0, 0, 0)
    """

    name = "team"

    def __init__(self, space: SearchSpace, *, seed: int,
                 team: Team | Callable[..., Team], name: str = "team") -> None:
        super().__init__(space, seed=seed)
        if isinstance(team, type) or not isinstance(team, Team):  # a class is a factory
            if not callable(team):
                raise TypeError(f"team must have act(agent, observation) and "
                                f"learn(design, reward, metrics), or be a factory of such a team; "
                                f"got {team!r}")
            team = team(space, seed=self.seed)
            if not isinstance(team, Team):
                raise TypeError(f"the team factory returned {team!r}, which lacks "
                                "act(agent, observation) / learn(design, reward, metrics)")
        self.team = team
        self.name = name  # type: ignore[misc]  # per instance: the team's method name
        self._episode = DesignEpisode(space)

    def ask(self) -> Design:
        """Play one episode: each agent in turn acts on its env observation."""
        episode = self._episode
        episode.reset()
        while not episode.done:
            observation = {"observation": episode.observation(),
                           "action_mask": episode.action_mask()}
            episode.step(self.team.act(episode.agent, observation))
        return episode.design()

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """``team.learn(design, reward, metrics)``."""
        self.team.learn(design, float(reward), metrics)

    # The hooks read the team's documented public attributes where it has them (the paper's
    # teams do): ``episodes``, ``exploration_episodes``, ``phase``, ``epsilon``, ``converged``,
    # ``converged_design``, ``converged_episode`` and ``greedy_design()``.
    def can_ask_ahead(self, pending: int) -> bool:
        """During the exploration phase, while every design in flight will also be told in it
        (``episodes + pending < exploration_episodes``): exploration actions are random, so
        asking ahead is the same kind of decision; the exploitation phase is sequential."""
        explore = getattr(self.team, "exploration_episodes", None)
        episodes = getattr(self.team, "episodes", None)
        return explore is not None and episodes is not None and episodes + pending < explore

    def next_phase(self) -> tuple[str, float]:
        """The team's ``(phase, epsilon)`` for its next episode."""
        phase = getattr(self.team, "phase", "")
        epsilon = getattr(self.team, "epsilon", math.nan)
        return (phase if isinstance(phase, str) else ""), _number(epsilon)

    def convergence(self) -> tuple[bool, tuple[int, ...] | None, int | None]:
        """Whether the team reports convergence, on which design, after which episode."""
        if not getattr(self.team, "converged", False):
            return False, None, None
        design = self.team.converged_design
        return True, tuple(design.actions), getattr(self.team, "converged_episode", None)

    def facts(self) -> dict[str, Any]:
        """Convergence, the exploration length and the greedy design, for the summary."""
        converged, design, episode = self.convergence()
        facts: dict[str, Any] = {
            "converged": converged, "converged_design": design, "converged_episode": episode,
            "exploration_episodes": getattr(self.team, "exploration_episodes", None)}
        greedy = getattr(self.team, "greedy_design", None)
        if callable(greedy):
            facts["greedy_design"] = [int(a) for a in greedy()]
        return facts

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The team's ``state_dict()`` (the searcher itself keeps nothing between episodes).

        Raises:
            NotImplementedError: If the team has no ``state_dict`` (a run then rebuilds it by
                replaying its journal).
        """
        own = getattr(self.team, "state_dict", None)
        if not callable(own) or not callable(getattr(self.team, "load_state_dict", None)):
            raise NotImplementedError(f"team {type(self.team).__name__} has no state_dict")
        arrays, meta = own()
        return dict(arrays), {"team": meta}

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` into the team."""
        self.team.load_state_dict(arrays, meta["team"])


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


__all__ = ["Team", "TeamSearcher"]
