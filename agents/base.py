"""What every tabular team shares: phases, schedules, the epsilon coin, repeats and convergence.

A team plays one design per episode through ``act(agent, observation)`` (called for the agents in
order, as the textbook AEC loop does) and learns once per finished episode through
``learn(design, reward, metrics)``. :class:`TabularTeam` keeps the bookkeeping common to
:class:`~agents.shared_q.SharedQAgents` and the ablation
:class:`~agents.independent.IndependentQAgents`; a subclass supplies the tables: how an agent
chooses (``_choose``), how a design updates them (``_update``) and their arrays.

State, each part owned by one object: the uniform stream (:class:`~agents.stream.UniformStream`),
the episode in progress (:class:`~agents.episode.Episode`) and, here, the phase counter, the
experienced designs and the convergence streak.

Phases (section VI): the first ``exploration_episodes`` episodes explore (``epsilon = 1``, the
learning rate constant at ``alpha.value(0)``); afterwards, in the exploration-exploitation phase,
``alpha`` and ``epsilon`` follow their schedules in ``k``, the number of episodes already finished
in that phase. The coin deciding random vs greedy is flipped once per episode (``coin="episode"``,
the default) or once per agent (``coin="agent"``; agents that choose jointly, such as the first
two agents of the shared team, use one coin).

Planning: on the first ``act`` of an episode the team plans every agent's action at once (the
same choices and draws as acting agent by agent), then serves each next agent from the plan after
checking that its observation holds the planned actions of the agents it reads. An agent acting
off the plan (an overridden action, an agent asked twice, tables changed in between) is planned
again from its observation, and what the old plan drew for agents not served is given back to the
stream, so the choices are those of acting agent by agent whatever the driver does.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any, ClassVar

import numpy as np

from agents.episode import EXPLOITATION, EXPLORATION, Episode, EpisodeInfo
from agents.schedules import PAPER_ALPHA, PAPER_EPSILON, Schedule, schedule_from_dict
from agents.stream import UniformStream
from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.observations import agent_ids
from cnn_design_env.space import Design, SearchSpace

__all__ = ["COINS", "EXPLOITATION", "EXPLORATION", "EpisodeInfo", "TabularTeam",
           "UndecidedPredecessorError"]

COINS = ("episode", "agent")


class UndecidedPredecessorError(ValueError):
    """An agent was asked to act before a predecessor it reads had decided."""


class TabularTeam(ABC):
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
        reads: Per agent (in ``space.agents`` order), the indices of the agents whose actions
            its choice depends on (default: none).
        versioned: What holds the tables: its ``version`` attribute changes whenever they do
            (a plan stands for one version); default the team itself.

    Raises:
        ValueError: On a bad coin, window or exploration length.
    """

    pair: ClassVar[int] = 1
    """How many leading agents decide jointly under one coin."""

    def __init__(self, space: SearchSpace, *, seed: int, exploration_episodes: int | None = None,
                 alpha: Schedule = PAPER_ALPHA, epsilon: Schedule = PAPER_EPSILON,
                 coin: str = "episode", convergence_window: int = 10,
                 reads: Sequence[tuple[int, ...]] | None = None, versioned: Any = None) -> None:
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
        self.stream = UniformStream(seed)
        # the env's agent ids (``conv_0``) and the layer names (``conv1``) both name an agent
        self._index = {**dict(zip(agent_ids(space), range(space.num_agents), strict=True)),
                       **space.agent_index}
        self._n = space.num_agents
        self._width = self._n + 1                            # observation length
        self._sizes = np.array(space.action_sizes, dtype=np.int64)
        self._reads = list(reads) if reads is not None else [()] * self._n
        self._versioned = self if versioned is None else versioned
        self.episode = Episode(self._n)
        self.episodes = 0
        self._seen: dict[tuple[int, ...], None] = {}
        self._streak_design: tuple[int, ...] | None = None
        self._streak = 0
        self.converged_design: Design | None = None
        self.converged_episode: int | None = None
        self.last_episode: EpisodeInfo | None = None

    # -------------------------------------------------------------- phases
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
        return 1.0 if self.phase == EXPLORATION else self.epsilon_schedule.value(
            self.phase_episodes)

    @property
    def alpha(self) -> float:
        """Learning rate of the next episode's update."""
        return self.alpha_schedule.value(
            0 if self.phase == EXPLORATION else self.phase_episodes)

    @property
    def converged(self) -> bool:
        """Whether the same design came out of ``K`` consecutive exploiting episodes."""
        return self.converged_design is not None

    # ----------------------------------------------------------------- act
    def act(self, agent: str, observation: Mapping[str, Any] | np.ndarray) -> int:
        """The action of ``agent`` given the env's observation (dict or bare vector).

        The first agent acting starts a new episode (coin, plan), so a reset mid-episode is
        harmless; every later agent is served from the plan when its observation agrees with it
        (see the module docstring).

        Raises:
            ValueError: On an unknown agent, an observation of the wrong length or for another
                acting agent, or an agent acting before its predecessor.
        """
        obs = observation["observation"] if type(observation) is dict else observation
        i = self._index.get(agent)
        ep = self.episode
        if i == ep.cursor and i < ep.end and len(obs) == self._width and obs[-1] == i \
                and ep.version == self._versioned.version:
            expect = ep.expect
            for j in self._reads[i]:
                if obs[j] != expect[j]:
                    break
            else:                                            # served from the plan
                ep.cursor = i + 1
                return ep.actions[i]
        if i is None:
            raise ValueError(f"unknown agent {agent!r}; expected one of "
                             f"{list(agent_ids(self.space))} (or the layer names)")
        if len(obs) != self._width or obs[-1] != i:
            raise ValueError(f"agent {agent!r} (index {i}) got an observation of length "
                             f"{len(obs)} with acting index {obs[-1] if len(obs) else None}; "
                             f"expected length {self._width} and acting index {i}")
        return self._replan(i, obs)

    def _replan(self, i: int, obs: np.ndarray) -> int:
        """Plan agents ``i, i + 1, ...`` from the observation and serve agent ``i``."""
        self._rewind()
        ep = self.episode
        if i == 0 or ep.coin is None:
            ep = self.episode = Episode(self._n)
            if self.phase == EXPLORATION:
                ep.epsilon, ep.coin = 1.0, True
            else:
                ep.epsilon = self.epsilon
                ep.coin = self.stream.uniform() < ep.epsilon
            ep.explored = ep.coin
        self.stream.mark()
        expect = obs[:-1].tolist() if isinstance(obs, np.ndarray) else [int(v) for v in obs[:-1]]
        ep.start = i
        self._plan(i, expect)
        ep.version = self._versioned.version
        ep.cursor = i + 1
        return ep.actions[i]

    def _plan(self, start: int, expect: list[int]) -> None:
        """Plan agents ``start, start + 1, ...`` in order into :attr:`episode`, as if each acted
        with ``expect`` (``action + 1`` per agent, 0 = undecided) holding its predecessors'
        actions, stopping before an agent whose predecessor is undecided. This generic version
        calls :meth:`_choose` per agent; subclasses may plan faster (the same draws)."""
        n, ep, stream = self._n, self.episode, self.stream
        actions, positions = [-1] * n, [0] * n
        per_agent = self.coin == "agent" and ep.epsilon < 1.0
        first_explore, end = n, n
        for i in range(start, n):
            explore = ep.coin
            if per_agent and i >= self.pair:
                explore = stream.uniform() < ep.epsilon
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
            positions[i] = stream.position
        ep.set_plan(actions, expect, positions, end, first_explore)

    def _rewind(self) -> None:
        """End the plan in progress: give back to the stream what it drew for agents that were
        not served, and keep the random-action flag of those that were."""
        ep = self.episode
        c = ep.cursor
        if c < 0:
            return
        ep.explored = ep.served_random()
        ep.cursor = -1
        target = ep.positions[c - 1]
        if target != self.stream.position:
            self.stream.seek(target)

    def _pred_action(self, obs: Sequence[int] | np.ndarray, j: int, i: int) -> int:
        """Agent ``j``'s action read by agent ``i`` from ``obs`` (``action + 1`` per agent)."""
        a = int(obs[j]) - 1
        if a < 0:
            names = self.space.agents
            raise UndecidedPredecessorError(
                f"agent {names[i]!r} acts before its predecessor {names[j]!r} has decided "
                f"(observation entry {j} is 0)")
        return a

    @abstractmethod
    def _choose(self, i: int, obs: Sequence[int] | np.ndarray, explore: bool) -> int:
        """Agent ``i``'s action given ``obs`` (``action + 1`` per agent), exploring or not."""

    def greedy_design(self) -> Design:
        """The design the team plays with no random action; uses no randomness and leaves the
        episode in progress untouched."""
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
        ep, n = self.episode, self._n
        served_in_full = (ep.cursor == n and ep.end == n and ep.start == 0
                          and len(key) == n and list(key) == ep.actions)
        actions = np.array(key, dtype=np.int64)
        if not served_in_full and (actions.shape != (n,) or (actions < 0).any()
                                   or (actions >= self._sizes).any()):
            raise ValueError(f"design {key} does not fit space {self.space.name!r}: "
                             f"expected {n} actions below {self._sizes.tolist()}")
        reward = float(reward)
        if not math.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        phase, alpha = self.phase, self.alpha
        epsilon = 1.0 if phase == EXPLORATION else self.epsilon
        explored = True if ep.coin is None else ep.served_random()
        updated = key not in self._seen
        if updated:
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
        self.episode = Episode(n)

    @abstractmethod
    def _update(self, actions: np.ndarray, reward: float, alpha: float) -> None:
        """Update the tables with one finished design's reward."""

    # --------------------------------------------------------------- state
    def _params(self) -> dict[str, Any]:
        return {"seed": self.seed, "exploration_episodes": self._exploration_episodes,
                "alpha": self.alpha_schedule.to_dict(), "epsilon": self.epsilon_schedule.to_dict(),
                "coin": self.coin, "convergence_window": self.convergence_window}

    def _set_params(self, params: Mapping[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore subclass parameters from :meth:`_params` (none by default)."""

    @abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        """The learned arrays to checkpoint."""

    @abstractmethod
    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Restore the arrays of :meth:`_arrays`."""

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The whole team state: ``(arrays, meta)``; ``meta`` is JSON-serialisable.

        Arrays: the tables, visit counts, experienced designs and the generator's buffered
        uniforms (the current block and any blocks given back by a plan). Meta: parameters,
        schedules, episode counter, convergence bookkeeping, the generator's
        ``bit_generator.state`` and the episode in progress as acting agent by agent would have
        left it (a plan is not saved: it is made again on resume).
        """
        ep = self.episode
        seen = np.array(list(self._seen), dtype=np.int64).reshape(len(self._seen), self._n)
        served = ep.positions[ep.cursor - 1] if ep.cursor >= 0 else self.stream.position
        stream_arrays, stream_meta = self.stream.state_dict(served)
        meta = {
            "class": type(self).__name__, "space": self.space.name,
            "action_sizes": self._sizes.tolist(),
            "edges": [list(e) for e in self.space.agent_edges],
            "params": self._params(), "episodes": self.episodes, **stream_meta,
            "episode_state": ep.state(),
            "streak": [self._streak, None if self._streak_design is None
                       else list(self._streak_design)],
            "converged": [None if self.converged_design is None
                          else list(self.converged_design.actions), self.converged_episode],
            "last_episode": None if self.last_episode is None else asdict(self.last_episode),
        }
        return {**self._arrays(), "seen": seen, **stream_arrays}, meta

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` (parameters included).

        Raises:
            ValueError: If it was saved by another team class or for another space.
        """
        if meta["class"] != type(self).__name__:
            raise ValueError(f"state of a {meta['class']} cannot be loaded into a "
                             f"{type(self).__name__}")
        edges = [list(e) for e in self.space.agent_edges]
        if meta["action_sizes"] != self._sizes.tolist() or meta["edges"] != edges:
            raise ValueError(f"state saved for space {meta['space']!r} (action sizes "
                             f"{meta['action_sizes']}) does not fit space {self.space.name!r} "
                             f"(action sizes {self._sizes.tolist()})")
        params = meta["params"]
        self.seed = params["seed"]
        self.alpha_schedule = schedule_from_dict(params["alpha"])
        self.epsilon_schedule = schedule_from_dict(params["epsilon"])
        self.coin = params["coin"]
        self.convergence_window = int(params["convergence_window"])
        self.exploration_episodes = int(params["exploration_episodes"])
        self._set_params(params)
        self._set_arrays(arrays)
        self._seen = dict.fromkeys(tuple(int(a) for a in row) for row in arrays["seen"])
        self.episodes = int(meta["episodes"])
        self.stream.load_state_dict(arrays, meta)
        self.episode = Episode.from_state(self._n, meta["episode_state"])
        streak, streak_design = meta["streak"]
        self._streak = int(streak)
        self._streak_design = None if streak_design is None else tuple(streak_design)
        design, episode = meta["converged"]
        self.converged_design = None if design is None else Design(tuple(design))
        self.converged_episode = episode
        last = meta.get("last_episode")
        self.last_episode = None if last is None else EpisodeInfo(**last)

    def save(self, path: str) -> str:
        """Write the whole team state to ``path`` (an ``.npz`` holding the arrays and a JSON
        document); returns the path written."""
        from agents.checkpoint import save_checkpoint

        return save_checkpoint(path, self)

    def load(self, path: str) -> None:
        """Restore the state written by :meth:`save` into this team."""
        from agents.checkpoint import load_checkpoint

        load_checkpoint(path, self)
