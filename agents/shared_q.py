"""The paper's team: one Q-learning agent per tunable layer, sharing one Q-table per graph edge.

Each agent observes the actions of the agents feeding it (read from the env's observation vector,
``observation[j] - 1`` for agent ``j``) and picks its layer's action; every agent gets the same
terminal reward. Tables live in :class:`~agents.qtables.QTables`, whose :attr:`agents` mapping says
which agent reads and writes which table.

Acting (per agent, in agent order):

* **Algorithm 1** (random actions; every action of the exploration phase): the first agent picks a
  cell uniformly among the unvisited cells of all its outgoing tables (for a chain, the pair
  ``(a_1, a_2)`` of table 1), which fixes its action and, when the cell lies in its table with the
  second agent, the second agent's too (kept as the episode's plan). Any other agent picks
  uniformly among the actions whose cell in its incoming row is unvisited; at a fan-in (several
  incoming tables) among the actions unvisited in the most incoming rows, so every feeder's table
  loses unvisited cells. With none unvisited, a uniformly random action.
* **Algorithm 3** (greedy): the first agent takes the best cell over all its outgoing tables (the
  joint argmax of table 1 for a chain, which fixes the second agent's action); any other agent the
  argmax of its incoming row; at a fan-in, the action most incoming rows vote for (their per-row
  argmaxes), else (a tie) the highest mean Q over the rows. ``argmax`` keeps the first maximum.

Learning: **Algorithm 2** (:meth:`~agents.qtables.QTables.update`) once per episode, unless the
design repeats one already experienced.

Choices the paper leaves open, with their defaults: ``gamma = 0.5`` (the best of 0, 0.5, 0.9 on
the vgg_mini test fixture); one epsilon coin per episode (``coin="agent"``: one per agent, the
first two agents sharing one); convergence after ``K = 10`` identical exploiting episodes;
exploration length = ``ceil(1.25 * max |A_u| * |A_v|)`` (the paper's minimum, the largest
table's cell count, with the paper's VGG-16 margin); random actions of the
exploration-exploitation phase also follow Algorithm 1 (uniform once every cell has been visited).

Defaults reproduce the paper: Algorithm 2 as written (``Q += alpha * R`` where it has no
look-ahead, the last table always, so a cell sums its rewards; ``additive=False`` makes it a
running average) and the schedules as the paper's results show them, plain exponential decays
``epsilon_k = 0.99 ** k`` and ``alpha_k = 0.95 * 0.999 ** k`` (:mod:`agents.schedules`; the
literal compounding reading of Eq. 3 is the ``COMPOUNDING_*`` option, which goes greedy after
about 30 episodes of the second phase).

Speed: the first agent to act plans the whole episode (:meth:`SharedQAgents._plan_from`, drawing
the random numbers acting agent by agent would draw, in the same order) and the other agents are
served from the plan after checking the observation entries they read (or, through
:meth:`~agents.base.TabularTeam.act_ahead`, handed to the play loop at once); an agent acting off
the plan gives back the unused draws and replans, so choices never depend on the plan. A random
action is drawn from a Python ``int`` bit mask of its row's unvisited cells
(:attr:`~agents.qtables.QTables.free_masks`; at a fan-in, :mod:`agents.exploration`) with
uniforms drawn in blocks, in one loop over the agents when the whole episode explores
(:mod:`agents.planning`); a greedy episode is the greedy design cached until the tables change.
Where numba is installed, that loop and the update run as compiled kernels
(:mod:`agents.kernels`; ``compiled=False`` keeps the Python/NumPy reference, with the same
choices, draws and Q-values).

Example:
    >>> from cnn_design_env.space import get_space
    >>> team = SharedQAgents(get_space("vgg_mini"), seed=0)
    >>> team.exploration_episodes, team.tables.agents["pool1"].incoming
    (180, (('conv2', 'pool1'),))
    >>> obs = np.zeros(7, dtype=np.int64)
    >>> a1 = team.act("conv1", obs)
    >>> obs[0], obs[-1] = a1 + 1, 1
    >>> a2 = team.act("conv2", obs)
    >>> bool(team.tables.visit_table("conv1", "conv2")[a1, a2] == 0)   # an unvisited pair
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from agents.exploration import most_unvisited, nth_unvisited
from agents.planning import _TRIES, ExplorePlanning
from agents.qtables import QTables
from agents.schedules import PAPER_ALPHA, PAPER_EPSILON, Schedule
from cnn_design_env.space import Design, SearchSpace

__all__ = ["EXPLORATION_MARGIN", "SharedQAgents"]

EXPLORATION_MARGIN = 1.25
"""Exploration length over the minimum (the largest table's cells): the paper's VGG-16 margin
(500 episodes for 400 cells), the largest of the margins it used (1.03-1.25)."""


class SharedQAgents(ExplorePlanning):
    """The paper's multi-agent Q-learning team (shared Q-tables on the agent graph's edges).

    Args:
        space: The search space (at least 2 agents).
        seed: Seed of the team's generator (every random choice).
        gamma: Discount of the look-ahead in Algorithm 2 (the paper gives none).
        additive: Algorithm 2 as written: ``Q += alpha * R`` where it has no look-ahead (the last
            table, an unvisited next row), so a cell sums its rewards. ``False``: the standard
            Q-learning step ``Q += alpha * (R - Q)`` there (a running average; the same first
            value), which matters once cells are visited repeatedly.
        exploration_episodes: Length of the exploration phase; ``None`` = the paper's rule with
            its margin, ``ceil(EXPLORATION_MARGIN * largest table's cells)``
            (:meth:`default_exploration_episodes`).
        alpha: Learning-rate schedule (default :data:`~agents.schedules.PAPER_ALPHA`: 0.95, then
            ``0.95 * 0.999 ** k``; the compounding reading is ``COMPOUNDING_ALPHA``).
        epsilon: Exploration-rate schedule (default :data:`~agents.schedules.PAPER_EPSILON`: 1,
            then ``0.99 ** k``; the compounding reading is ``COMPOUNDING_EPSILON``).
        coin: ``"episode"`` or ``"agent"`` (see the module docstring).
        convergence_window: ``K`` identical consecutive exploiting episodes mean convergence.
        dtype: Floating dtype of the Q-tables.
        compiled: Plan exploring episodes and update with the compiled kernels of
            :mod:`agents.kernels` (the same choices, draws and Q-values as the Python/NumPy
            reference): ``None`` (default) where numba is installed and the space fits them,
            ``False`` never, ``True`` always (:class:`~agents.qtables.QTables`).

    Attributes:
        tables: The Q-tables and visit counts, with the agent-to-table mapping.

    Raises:
        ValueError: If the space has fewer than 2 agents (there is no edge to hold a table),
            ``gamma`` is outside ``[0, 1]``, or another argument is invalid.
    """

    pair: ClassVar[int] = 2

    def __init__(self, space: SearchSpace, *, seed: int, gamma: float = 0.5,
                 additive: bool = True, exploration_episodes: int | None = None,
                 alpha: Schedule = PAPER_ALPHA, epsilon: Schedule = PAPER_EPSILON,
                 coin: str = "episode", convergence_window: int = 10,
                 dtype: np.dtype | type = np.float64, compiled: bool | None = None) -> None:
        if space.num_agents < 2:
            raise ValueError(f"SharedQAgents needs at least 2 agents (one Q-table per agent-graph "
                             f"edge); space {space.name!r} has {space.num_agents}: use "
                             "IndependentQAgents")
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
        self.gamma = float(gamma)
        self.additive = bool(additive)
        self.tables = QTables(space, dtype=dtype, compiled=compiled)
        self._plan: tuple[int, int] | None = None
        super().__init__(space, seed=seed, exploration_episodes=exploration_episodes,
                         alpha=alpha, epsilon=epsilon, coin=coin,
                         convergence_window=convergence_window)
        self._build_readers()

    def default_exploration_episodes(self) -> int:
        """The paper's rule with its margin: ``ceil(EXPLORATION_MARGIN * max |A_u| * |A_v|)``.

        Algorithm 1 needs at least the largest table's cell count to fill every table (section
        VI-A); the paper ran 1.03-1.25 times that minimum (section VIII-D: 500 for 400 on
        VGG-16, 2000 for 1764 on U-Net, 4500 for 4356 on GoogLeNet) and recommends more than the
        minimum (VIII-E).

        Example:
            >>> from cnn_design_env.space import get_space
            >>> SharedQAgents(get_space("vgg_mini"), seed=0).default_exploration_episodes()
            180
        """
        return math.ceil(EXPLORATION_MARGIN * self.tables.max_cells - 1e-9)

    def _build_readers(self) -> None:
        # The explicit agent -> table mapping of ``tables.agents`` resolved once into what acting
        # needs: for an agent with one incoming table, (predecessor index, Q view, index of the
        # table's row 0 in ``tables.free_masks``); at a fan-in, the predecessors' indices, those
        # row-0 indices, and a (feeders x |A_v|) array of the flat cell indices of row 0 of each
        # incoming table (row ``a_u`` is ``+ a_u * |A_v|``).
        t = self.tables
        index = self.space.agent_index
        self._single: list[tuple[int, np.ndarray, int] | None] = []
        self._fan: list[tuple[list[int], list[int], np.ndarray, int] | None] = []
        for name, size in zip(self.space.agents, self.space.action_sizes, strict=True):
            incoming = t.agents[name].incoming
            if len(incoming) == 1:
                (u, v), = incoming
                self._single.append((index[u], t.q_table(u, v), t.first_row(u, v)))
                self._fan.append(None)
            else:
                preds = [index[u] for u, _ in incoming]
                firsts = [t.first_row(u, v) for u, v in incoming]
                base = np.array([t.offset(u, v) + np.arange(size) for u, v in incoming],
                                dtype=np.int64).reshape(len(incoming), size)
                self._single.append(None)
                self._fan.append((preds, firsts, base, size) if incoming else None)
        self._preds = [tuple(index[u] for u, _ in t.agents[name].incoming)
                       for name in self.space.agents]
        self._build_explore_readers()
        self._first_cells = t.outgoing_slice(0)
        # The first agent's tables come first in the layout, so their rows are the first
        # ``len(_first_row_len)`` rows of ``free_masks``, in the order of their cells.
        first_out = sorted(t.agents[self.space.agents[0]].outgoing, key=lambda e: index[e[1]])
        self._first_row_len = [self.space.action_sizes[index[v]] for _, v in first_out
                               for _ in range(self.space.action_sizes[0])]
        self._second = self.space.agents[1]
        self._greedy: list[int] = []
        self._greedy_expect: list[int] = []
        self._greedy_version = -1
        self._deps = self._preds
        self._versioned = self.tables

    # ----------------------------------------------------------------- act
    def _plan_from(self, start: int, expect: list[int]) -> None:
        """The episode's actions from agent ``start`` on (see :meth:`TabularTeam._plan_from`):
        Algorithm 1 where the coin says random, Algorithm 3 elsewhere, in agent order, drawing
        what acting agent by agent draws. A greedy episode from the first agent is the cached
        greedy design; an episode where every agent explores is :meth:`_explore_plan`."""
        per_agent = self.coin == "agent" and self._ep_epsilon < 1.0
        if per_agent:
            super()._plan_from(start, expect)
        elif self._ep_coin:
            self._explore_plan(start, expect)
        elif start == 0:
            n = self._n
            self._set_plan(self._greedy_cache(), self._greedy_expect,
                           [self._base + self._next_uniform] * n, n, n)
        else:
            super()._plan_from(start, expect)

    def _choose(self, i: int, obs: list[int], explore: bool) -> int:
        if not explore:
            return self._exploit(i, obs)
        if i == 0:
            return self._explore_first()
        if i == 1 and self._plan is not None and obs[0] - 1 == self._plan[0]:
            return self._plan[1]
        single = self._single[i]
        if single is None:
            return self._fan_in(i, obs, True)
        j, _, first = single
        row = self._pred_action(obs, j, i)
        mask = self.tables.free_mask(first + row)
        return self._pick_bit(mask, int(self._sizes[i])) if mask else self._pick(
            int(self._sizes[i]))

    def _explore_first(self) -> int:
        """Algorithm 1 for the first agent: an unvisited cell of its outgoing tables."""
        masks = self.tables.free_mask_rows(0, len(self._first_row_len))
        free = sum(map(int.bit_count, masks))
        if not free:
            return self._pick(int(self._sizes[0]))
        start, stop = self._first_cells
        visits = self.tables.visits
        for _ in range(_TRIES):
            position = start + int(self._uniform() * (stop - start))
            if not visits[position]:
                break
        else:
            position = start + nth_unvisited(masks, self._first_row_len, self._pick(free))
        (_, v), row, col = self.tables.locate(position)
        if v == self._second:
            self._plan = (row, col)
        return row

    def _greedy_cache(self) -> list[int]:
        """The greedy design (Algorithm 3), recomputed when the tables changed."""
        if self._greedy_version != self.tables.version:
            self._greedy = self._greedy_actions()
            self._greedy_expect = [a + 1 for a in self._greedy]
            self._greedy_version = self.tables.version
        return self._greedy

    def _exploit(self, i: int, obs: list[int]) -> int:
        """Algorithm 3, from the cached greedy design when the predecessors followed it."""
        greedy = self._greedy_cache()
        for j in self._preds[i]:
            if obs[j] - 1 != greedy[j]:
                return self._greedy_choice(i, obs)
        return greedy[i]

    def _greedy_actions(self) -> list[int]:
        obs = [0] * self._n
        for i in range(self._n):
            obs[i] = self._greedy_choice(i, obs) + 1
        return [v - 1 for v in obs]

    def _greedy_choice(self, i: int, obs: list[int]) -> int:
        if i == 0:
            # The best cell over all outgoing tables; for a chain, the joint argmax of table 1,
            # whose column the second agent's row argmax then reproduces (first maximum).
            start, stop = self._first_cells
            (_, _), row, _ = self.tables.locate(start + int(self.tables.q[start:stop].argmax()))
            return row
        single = self._single[i]
        if single is None:
            return self._fan_in(i, obs, False)
        j, q, _ = single
        return int(q[self._pred_action(obs, j, i)].argmax())

    def greedy_design(self) -> Design:
        """The design of Algorithm 3 (no random action); uses no randomness."""
        return Design(tuple(self._greedy_actions()))

    def _fan_in(self, i: int, obs: list[int], explore: bool) -> int:
        """Algorithms 1 and 3 at a fan-in (several incoming tables)."""
        preds, firsts, base, size = self._fan[i]
        if explore:
            row_masks = []
            for j, first in zip(preds, firsts, strict=True):
                row = obs[j] - 1
                if row < 0:
                    self._pred_action(obs, j, i)
                row_masks.append(self.tables.free_mask(first + row))
            return self._most_unvisited(row_masks, size)
        rows = [obs[j] - 1 for j in preds]
        if min(rows) < 0:
            for j in preds:
                self._pred_action(obs, j, i)
        q_rows = self.tables.q[base + np.multiply(rows, size)[:, None]]
        votes = q_rows.argmax(axis=1).tolist()
        tally = {v: votes.count(v) for v in votes}
        top = max(tally.values())
        winners = [v for v, c in tally.items() if c == top]
        if len(winners) == 1:
            return int(winners[0])
        return int(q_rows.mean(axis=0).argmax())

    def _most_unvisited(self, masks: list[int], size: int) -> int:
        """Uniformly, an action unvisited in the largest number of the rows ``masks``."""
        best = most_unvisited(masks)
        return self._pick_bit(best, size) if best else self._pick(size)

    def _clear_episode(self) -> None:
        super()._clear_episode()
        self._plan = None

    # --------------------------------------------------------------- learn
    def _update(self, actions: np.ndarray, reward: float, alpha: float) -> None:
        self.tables.update(actions, reward, alpha=alpha, gamma=self.gamma,
                           additive=self.additive)

    # --------------------------------------------------------------- state
    def _episode_state(self) -> dict[str, Any]:
        return {**super()._episode_state(),
                "plan": None if self._plan is None else list(self._plan)}

    def _set_episode_state(self, state: Mapping[str, Any]) -> None:
        super()._set_episode_state(state)
        plan = state.get("plan")
        self._plan = None if plan is None else (int(plan[0]), int(plan[1]))

    def _params(self) -> dict[str, Any]:
        return {**super()._params(), "gamma": self.gamma, "additive": self.additive,
                "dtype": self.tables.q.dtype.name}

    def _set_params(self, params: Mapping[str, Any]) -> None:
        self.gamma = float(params["gamma"])
        self.additive = bool(params["additive"])

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"q": self.tables.q.copy(), "visits": self.tables.visits.copy()}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        for name, target in (("q", self.tables.q), ("visits", self.tables.visits)):
            source = np.asarray(arrays[name])
            if source.shape != target.shape:
                raise ValueError(f"saved {name!r} has shape {source.shape}; expected "
                                 f"{target.shape}")
            target[:] = source
        self.tables.touch()

    def __repr__(self) -> str:
        return (f"SharedQAgents(space={self.space.name!r}, tables={len(self.tables.edges)}, "
                f"cells={self.tables.cells}, episodes={self.episodes}, phase={self.phase!r})")
