"""What every tabular team shares: phases, schedules, the epsilon coin, repeats and convergence.

A team plays one design per episode through ``act(agent, observation)`` (called for the agents in
order) and learns once per finished episode through ``learn(design, reward, metrics)``. This base
class keeps the bookkeeping common to :class:`~agents.shared_q.SharedQAgents` and the ablation
:class:`~agents.independent.IndependentQAgents`; a subclass supplies the tables: how an agent
chooses (``_choose``), how a design updates them (``_update``) and their arrays (``_arrays``).

Phases (section VI): the first ``exploration_episodes`` episodes explore (``epsilon = 1``, the
learning rate constant at ``alpha.value(0)``); afterwards, in the exploration-exploitation phase,
``alpha`` and ``epsilon`` follow their schedules in ``k``, the number of episodes already finished
in that phase (:class:`~agents.phases.Phases`). The coin deciding random vs greedy is flipped once
per episode (``coin="episode"``, the default) or once per agent (``coin="agent"``; agents that
choose jointly, such as the first two agents of the shared team, use one coin).
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from agents.phases import EXPLOITATION, EXPLORATION, EpisodeInfo, Phases
from agents.schedules import PAPER_ALPHA, PAPER_EPSILON, Schedule
from agents.state import TeamState
from agents.stream import UniformStream
from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.observations import agent_ids
from cnn_design_env.space import Design, SearchSpace

__all__ = ["COINS", "EXPLOITATION", "EXPLORATION", "EpisodeInfo", "TabularTeam",
           "UndecidedPredecessorError"]

COINS = ("episode", "agent")


class UndecidedPredecessorError(ValueError):
    """An agent was asked to act before a predecessor it reads had decided."""


class TabularTeam(Phases, UniformStream, TeamState):
    """Base of the tabular teams (see the module docstring).

    Args:
        space: The search space.
        seed: Seed of the team's generator (every random choice).
        exploration_episodes: Length of the exploration phase; ``None`` = the subclass's paper
            rule (:meth:`default_exploration_episodes`).
        alpha: Learning-rate schedule of the exploration-exploitation phase; its ``value(0)`` is
            also the constant rate of the exploration phase.
        epsilon: Exploration-rate schedule of the exploration-exploitation phase.
        coin: ``"episode"`` (default): one random-vs-greedy coin per episode; ``"agent"``: one
            per agent.
        convergence_window: ``K``: converged once the same design was chosen in ``K``
            consecutive exploiting episodes (random episodes in between are skipped).

    Raises:
        ValueError: On a bad coin, window or exploration length.
    """

    pair: ClassVar[int] = 1
    """How many leading agents decide jointly under one coin."""

    def __init__(self, space: SearchSpace, *, seed: int, exploration_episodes: int | None = None,
                 alpha: Schedule = PAPER_ALPHA, epsilon: Schedule = PAPER_EPSILON,
                 coin: str = "episode", convergence_window: int = 10) -> None:
        if coin not in COINS:
            raise ValueError(f"coin must be one of {COINS}, got {coin!r}")
        if int(convergence_window) < 1:
            raise ValueError(f"convergence_window must be >= 1, got {convergence_window!r}")
        self.space = space
        self.seed = seed
        self.alpha_schedule = alpha
        self.epsilon_schedule = epsilon
        self.coin = coin
        self.convergence_window = int(convergence_window)
        self.exploration_episodes = exploration_episodes
        self._init_stream(seed)
        # the env's agent ids (``conv_0``) and the layer names (``conv1``) both name an agent
        self._index = {**dict(zip(agent_ids(space), range(space.num_agents), strict=True)),
                       **space.agent_index}
        self._names = space.agents
        self._ids = agent_ids(space)
        self._n = space.num_agents
        self._deps: list[tuple[int, ...]] = [()] * self._n
        self._versioned: Any = self          # what has the ``version`` the plans depend on
        self._plan_version = -1
        self._plan_start = 0
        self._actions: list[int] = []
        self._expect: list[int] = []
        self._positions: list[int] = []
        self._sizes = np.array(space.action_sizes, dtype=np.int64)
        self.episodes = 0
        self._seen: dict[tuple[int, ...], None] = {}
        self._streak_design: tuple[int, ...] | None = None
        self._streak = 0
        self.converged_design: Design | None = None
        self.converged_episode: int | None = None
        self.last_episode: EpisodeInfo | None = None
        self._clear_episode()

    # ----------------------------------------------------------------- act
    def act(self, agent: str, observation: Mapping[str, Any] | np.ndarray) -> int:
        """The action of ``agent`` given the env's observation (dict or bare vector).

        The first agent acting starts a new episode (coin, joint plan), so a reset mid-episode is
        harmless. The team plans the rest of the episode when an agent acts off its plan (the
        first agent, an earlier action it did not choose, a table changed in between) and then
        serves each next agent from the plan after checking that the observation holds the
        planned actions of the agents it reads. The plan draws the same random numbers in the
        same order as acting agent by agent would, and what it drew for agents that were not
        served is given back to the generator's stream (see :meth:`_rewind`), so the choices are
        those of acting agent by agent whatever the driver does.

        Raises:
            ValueError: On an unknown agent, an observation of the wrong length or for another
                acting agent, or an agent acting before its predecessor.
        """
        obs = observation["observation"] if type(observation) is dict else observation
        i = self._index.get(agent)
        if i is None:
            raise ValueError(f"unknown agent {agent!r}; expected one of {list(self._names)}")
        if len(obs) != self._n + 1 or obs[-1] != i:
            raise ValueError(f"agent {agent!r} (index {i}) got an observation of length "
                             f"{len(obs)} with acting index {obs[-1] if len(obs) else None}; "
                             f"expected length {self._n + 1} and acting index {i}")
        if i == self._cursor and i < self._plan_end and \
                self._plan_version == self._versioned.version:
            expect = self._expect
            for j in self._deps[i]:
                if obs[j] != expect[j]:
                    break
            else:
                self._cursor = i + 1
                return self._actions[i]
        return self._replan(i, obs)

    def act_ahead(self, agent: str, observation: Mapping[str, Any] | np.ndarray
                  ) -> tuple[Sequence[str], list[int]]:
        """:meth:`act` for ``agent`` and, in the same call, for the agents after it.

        For a play loop that steps exactly the returned actions in the returned order: each is
        what :meth:`act` would return to its agent observing the ones before it (the same
        choices and draws), without an ``act`` call and an observation check per agent. All of
        them count as served; a driver that plays fewer reports it with :meth:`played` before
        the team acts again.

        Returns:
            ``(agents, actions)``: ``agent`` and the agents after it in order, up to where the
            plan stops (the last agent, or an agent whose predecessor is undecided), and their
            actions. Agents are named as ``agent`` is: layer names, or the env's agent ids.

        Raises:
            ValueError: As :meth:`act`.
        """
        self.act(agent, observation)
        start, end = self._cursor - 1, self._plan_end
        self._ahead_range = range(start, end)
        self._cursor = end
        names = self._names if agent == self._names[start] else self._ids  # the caller's names
        return names[start:end], self._actions[start:end]

    def played(self, count: int) -> None:
        """Only the first ``count`` actions of the last :meth:`act_ahead` were played.

        Raises:
            ValueError: If ``count`` is not between 1 and the number of actions returned, or the
                team acted since.
        """
        if self._ahead_range is None or not 1 <= count <= len(self._ahead_range):
            raise ValueError(f"played({count!r}) does not follow an act_ahead (of "
                             f"{len(self._ahead_range or ())} actions)")
        self._cursor = self._ahead_range[0] + count
        self._ahead_range = None

    def _replan(self, i: int, obs: np.ndarray) -> int:
        """Plan agents ``i, i + 1, ...`` from the observation and serve agent ``i``."""
        self._rewind()
        self._ahead_range = None
        if i == 0 or self._ep_coin is None:
            self._begin_episode()
        self._blocks = [(self._base, self._uniforms)]
        expect = obs[:-1].tolist() if isinstance(obs, np.ndarray) else [int(v) for v in obs[:-1]]
        self._plan_start = i
        self._plan_from(i, expect)
        self._plan_version = self._versioned.version
        self._cursor = i + 1
        return self._actions[i]

    def _plan_from(self, start: int, expect: list[int]) -> None:
        """Choose the actions of agents ``start, start + 1, ...`` in order, as if each acted with
        ``expect`` (``action + 1`` per agent, 0 = undecided) holding its predecessors' actions.

        Sets ``_actions``, ``_expect`` (``expect`` completed with the plan), ``_positions``
        (the stream position after each agent), ``_plan_end`` (where planning stopped: an agent
        whose predecessor is undecided and not planned) and ``_first_explore`` (the first agent
        whose own coin chose a random action). This generic version calls :meth:`_choose`.
        """
        n = self._n
        actions, positions = [-1] * n, [0] * n
        per_agent = self.coin == "agent" and self._ep_epsilon < 1.0
        coin, epsilon, pair = self._ep_coin, self._ep_epsilon, self.pair
        first_explore, end = n, n
        for i in range(start, n):
            explore = coin
            if per_agent and i >= pair:
                explore = self._uniform() < epsilon
                if explore and first_explore == n:
                    first_explore = i
            try:
                a = self._choose(i, expect, explore)
            except UndecidedPredecessorError:
                if i == start:
                    raise
                end = i
                break
            actions[i] = a
            expect[i] = a + 1
            positions[i] = self._base + self._next_uniform
        self._set_plan(actions, expect, positions, end, first_explore)

    def _set_plan(self, actions: list[int], expect: list[int], positions: list[int], end: int,
                  first_explore: int) -> None:
        self._actions, self._expect, self._positions = actions, expect, positions
        self._plan_end, self._first_explore = end, first_explore

    def _rewind(self) -> None:
        """End the plan in progress: give back to the stream what it drew for agents that were
        not served, and keep the random-action flag of those that were."""
        c = self._cursor
        if c < 0:
            return
        self._cursor = -1
        if self._first_explore < c:
            self._ep_explored = True
        target = self._positions[c - 1]
        if target != self._base + self._next_uniform:
            self._seek(target)

    def _begin_episode(self) -> None:
        self._clear_episode()
        if self.phase == EXPLORATION:
            self._ep_epsilon, self._ep_coin = 1.0, True
        else:
            self._ep_epsilon = self.epsilon
            self._ep_coin = self._uniform() < self._ep_epsilon
        self._ep_explored = self._ep_coin

    def _clear_episode(self) -> None:
        self._ep_coin: bool | None = None
        self._ep_epsilon = 1.0
        self._ep_explored = False
        self._cursor = -1
        self._plan_end = 0
        self._ahead_range: range | None = None
        self._first_explore = self._n

    def _explored(self) -> bool:
        """Whether a served agent took a random action in the episode in progress."""
        return self._ep_explored or (0 <= self._first_explore < self._cursor)

    def _pick(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        return int(self._uniform() * n)

    def _pred_action(self, obs: Sequence[int] | np.ndarray, j: int, i: int) -> int:
        a = int(obs[j]) - 1
        if a < 0:
            raise UndecidedPredecessorError(
                f"agent {self._names[i]!r} acts before its predecessor {self._names[j]!r} has "
                f"decided (observation entry {j} is 0)")
        return a

    @abstractmethod
    def _choose(self, i: int, obs: Sequence[int] | np.ndarray, explore: bool) -> int:
        """Agent ``i``'s action given the observation (exploring or exploiting)."""

    def greedy_design(self) -> Design:
        """The design the team plays with no random action (Algorithm 3 for the shared team).

        Uses no randomness and leaves the team's episode state untouched.
        """
        obs = [0] * self._n
        for i in range(self._n):
            obs[i] = self._choose(i, obs, False) + 1
        return Design(tuple(v - 1 for v in obs))

    # --------------------------------------------------------------- learn
    def learn(self, design: Design | Sequence[int], reward: float,
              metrics: Metrics | None = None) -> None:
        """Update after a finished episode (no update if ``design`` was already experienced).

        Args:
            design: The episode's design (one action per agent).
            reward: Its reward.
            metrics: Its metrics (unused by the tabular teams; part of the team interface).

        Raises:
            ValueError: If the design does not fit the space or the reward is not finite.
        """
        key = tuple(design.actions if isinstance(design, Design) else (int(a) for a in design))
        actions = None
        if not (self._cursor == self._n and self._plan_end == self._n and len(key) == self._n
                and self._plan_start == 0 and list(key) == self._actions):
            # Not the plan the team just served in full (whose actions fit by construction).
            actions = np.array(key, dtype=np.int64)
            if actions.shape != (self._n,) or (actions < 0).any() or \
                    (actions >= self._sizes).any():
                raise ValueError(f"design {key} does not fit space {self.space.name!r}: "
                                 f"expected {self._n} actions below {self._sizes.tolist()}")
        reward = float(reward)
        if not math.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        phase, alpha = self.phase, self.alpha
        epsilon = 1.0 if phase == EXPLORATION else self.epsilon
        explored = True if self._ep_coin is None else self._explored()
        updated = key not in self._seen
        if updated:
            if actions is None:
                actions = np.array(key, dtype=np.int64)
            self._update(actions, reward, alpha)
            self._seen[key] = None
        if phase == EXPLOITATION and not explored:
            self._streak = self._streak + 1 if key == self._streak_design else 1
            self._streak_design = key
            if self._streak >= self.convergence_window and self.converged_design is None:
                self.converged_design, self.converged_episode = Design(key), self.episodes
        self.last_episode = EpisodeInfo(self.episodes, phase, epsilon, alpha, explored, updated)
        self.episodes += 1
        self._rewind()
        self._clear_episode()

    @abstractmethod
    def _update(self, actions: np.ndarray, reward: float, alpha: float) -> None:
        """Update the tables with one finished design's reward."""
