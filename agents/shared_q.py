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

Speed (the same choices, draws and Q-values as acting agent by agent): the first ``act`` of an
episode plans every agent (:meth:`~agents.base.TabularTeam.act`); an exploring episode is planned
in one loop over the agents by an :mod:`agents.planning` strategy (the pure Python reference, or
the compiled kernel of :mod:`agents.kernels` where numba is installed), a greedy one is the
greedy design cached until the tables change. Random actions draw from Python ``int`` bit masks
of a row's unvisited cells (:attr:`~agents.qtables.QTables.free_masks`; at a fan-in,
:mod:`agents.exploration`).

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

from agents.base import TabularTeam, UndecidedPredecessorError
from agents.exploration import most_unvisited, nth_unvisited
from agents.planning import CompiledExplorePlanner, ExplorePlanner
from agents.qtables import QTables
from agents.schedules import PAPER_ALPHA, PAPER_EPSILON, Schedule
from agents.stream import TRIES
from cnn_design_env.space import Design, SearchSpace

__all__ = ["EXPLORATION_MARGIN", "SharedQAgents"]

EXPLORATION_MARGIN = 1.25
"""Exploration length over the minimum (the largest table's cells): the paper's VGG-16 margin
(500 episodes for 400 cells), the largest of the margins it used (1.03-1.25)."""


class SharedQAgents(TabularTeam):
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
        coin: ``"episode"`` or ``"agent"`` (see :mod:`agents.base`).
        convergence_window: ``K`` identical consecutive exploiting episodes mean convergence.
        dtype: Floating dtype of the Q-tables.
        compiled: Plan exploring episodes and update with the compiled kernels of
            :mod:`agents.kernels` (the same choices, draws and Q-values as the Python/NumPy
            reference): ``None`` (default) where numba is installed and the space fits them,
            ``False`` never, ``True`` always (:class:`~agents.qtables.QTables`).

    Attributes:
        tables: The Q-tables and visit counts, with the explicit agent-to-table mapping
            ``tables.agents`` (which tables each agent acts from and updates).
        planner: The strategy planning an exploring episode (:mod:`agents.planning`).

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
        self.tables = t = QTables(space, dtype=dtype, compiled=compiled)
        index = space.agent_index
        incoming = [t.agents[name].incoming for name in space.agents]
        super().__init__(space, seed=seed, exploration_episodes=exploration_episodes,
                         alpha=alpha, epsilon=epsilon, coin=coin,
                         convergence_window=convergence_window,
                         reads=[tuple(index[u] for u, _ in edges) for edges in incoming],
                         versioned=t)
        # What agent i reads, from ``tables.agents``: for one incoming table (u, i), u's index,
        # the Q view and the index of its row 0 in ``free_masks``; at a fan-in, the feeders'
        # indices, those row-0 indices and a (feeders x |A_i|) array of the flat cells of row 0
        # of each incoming table (row ``a_u`` is ``+ a_u * |A_i|``).
        self._single: list[tuple[int, np.ndarray, int] | None] = []
        self._fan: list[tuple[list[int], list[int], np.ndarray, int] | None] = []
        for edges, size in zip(incoming, space.action_sizes, strict=True):
            if len(edges) == 1:
                (u, v), = edges
                self._single.append((index[u], t.q_table(u, v), t.first_row(u, v)))
                self._fan.append(None)
                continue
            cells = np.array([t.offset(u, v) + np.arange(size) for u, v in edges],
                             dtype=np.int64).reshape(len(edges), size)
            self._single.append(None)
            self._fan.append(([index[u] for u, _ in edges], [t.first_row(u, v) for u, v in edges],
                              cells, size) if edges else None)
        # The first agent's outgoing tables: their flat cells, and the lengths of their rows
        # (the first rows of ``free_masks``, in the order of their cells).
        self._first_cells = t.outgoing_slice(0)
        first_out = sorted(t.agents[space.agents[0]].outgoing, key=lambda e: index[e[1]])
        self._first_row_len = [space.action_sizes[index[v]] for _, v in first_out
                               for _ in range(space.action_sizes[0])]
        self._second = space.agents[1]
        self._greedy: tuple[int, list[int], list[int]] = (-1, [], [])  # version, design, expect
        planner = CompiledExplorePlanner if t.free_bits is not None else ExplorePlanner
        self.planner = planner(t, self.stream, self._explore_or_stop)

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

    def _choose(self, i: int, obs: list[int], explore: bool) -> int:
        return self._explore(i, obs) if explore else self._exploit(i, obs)

    # ------------------------------------------------ Algorithm 1 (random)
    def _explore(self, i: int, obs: list[int]) -> int:
        """Algorithm 1 for agent ``i``: an action whose cell in its incoming row is unvisited."""
        if i == 0:
            return self._explore_first()
        joint = self.episode.joint
        if i == 1 and joint is not None and obs[0] - 1 == joint[0]:
            return joint[1]                   # fixed by the first agent's cell
        single = self._single[i]
        if single is None:
            return self._explore_fan_in(i, obs)
        j, _, first = single
        size = int(self._sizes[i])
        mask = self.tables.free_mask(first + self._pred_action(obs, j, i))
        return self.stream.pick_bit(mask, size) if mask else self.stream.pick(size)

    def _explore_first(self) -> int:
        """The first agent (with the second): an unvisited cell of its outgoing tables."""
        masks = self.tables.free_mask_rows(0, len(self._first_row_len))
        free = sum(map(int.bit_count, masks))
        if not free:
            return self.stream.pick(int(self._sizes[0]))
        start, stop = self._first_cells
        visits = self.tables.visits
        for _ in range(TRIES):
            position = start + int(self.stream.uniform() * (stop - start))
            if not visits[position]:
                break
        else:
            position = start + nth_unvisited(masks, self._first_row_len, self.stream.pick(free))
        (_, v), row, col = self.tables.locate(position)
        if v == self._second:
            self.episode.joint = (row, col)
        return row

    def _explore_fan_in(self, i: int, obs: list[int]) -> int:
        """At a fan-in: an action unvisited in the most incoming rows (every feeder's table
        loses unvisited cells)."""
        preds, firsts, _, size = self._fan[i]
        masks = [self.tables.free_mask(first + self._pred_action(obs, j, i))
                 for j, first in zip(preds, firsts, strict=True)]
        best = most_unvisited(masks)
        return self.stream.pick_bit(best, size) if best else self.stream.pick(size)

    def _explore_or_stop(self, i: int, expect: list[int], start: int) -> int:
        """The planners' fallback: :meth:`_explore`, or -1 at an undecided predecessor after
        ``start``."""
        try:
            return self._explore(i, expect)
        except UndecidedPredecessorError:
            if i == start:
                raise
            return -1

    def _plan(self, start: int, expect: list[int]) -> None:
        """The episode from agent ``start`` on: an exploring episode by :attr:`planner`, a
        greedy one from the first agent is the cached greedy design, others agent by agent."""
        ep = self.episode
        if self.coin == "agent" and ep.epsilon < 1.0:
            super()._plan(start, expect)              # a coin per agent: agent by agent
        elif ep.coin:
            self.planner.plan(start, expect, ep)      # every agent explores
        elif start == 0:
            n = self._n
            _, design, expect = self._greedy_cache()
            ep.set_plan(design, expect, [self.stream.position] * n, n, n)
        else:
            super()._plan(start, expect)

    # ------------------------------------------------ Algorithm 3 (greedy)
    def _greedy_cache(self) -> tuple[int, list[int], list[int]]:
        """``(version, greedy design, its expect)``, recomputed when the tables changed."""
        if self._greedy[0] != self.tables.version:
            design = self._greedy_actions()
            self._greedy = (self.tables.version, design, [a + 1 for a in design])
        return self._greedy

    def _greedy_actions(self) -> list[int]:
        obs = [0] * self._n
        for i in range(self._n):
            obs[i] = self._greedy_choice(i, obs) + 1
        return [v - 1 for v in obs]

    def _exploit(self, i: int, obs: list[int]) -> int:
        """Algorithm 3 for agent ``i``, from the cached greedy design when the agents it reads
        followed it."""
        greedy = self._greedy_cache()[1]
        for j in self._reads[i]:
            if obs[j] - 1 != greedy[j]:
                return self._greedy_choice(i, obs)
        return greedy[i]

    def _greedy_choice(self, i: int, obs: list[int]) -> int:
        if i == 0:
            # The best cell over all outgoing tables; for a chain, the joint argmax of table 1,
            # whose column the second agent's row argmax then reproduces (first maximum).
            start, stop = self._first_cells
            (_, _), row, _ = self.tables.locate(start + int(self.tables.q[start:stop].argmax()))
            return row
        single = self._single[i]
        if single is None:
            return self._exploit_fan_in(i, obs)
        j, q, _ = single
        return int(q[self._pred_action(obs, j, i)].argmax())

    def _exploit_fan_in(self, i: int, obs: list[int]) -> int:
        """At a fan-in: the action most incoming rows vote for (their argmaxes), else (a tie)
        the highest mean Q over them."""
        preds, _, cells, size = self._fan[i]
        rows = [self._pred_action(obs, j, i) for j in preds]
        q_rows = self.tables.q[cells + np.multiply(rows, size)[:, None]]
        votes = q_rows.argmax(axis=1).tolist()
        tally = {v: votes.count(v) for v in votes}
        top = max(tally.values())
        winners = [v for v, c in tally.items() if c == top]
        if len(winners) == 1:
            return int(winners[0])
        return int(q_rows.mean(axis=0).argmax())

    def greedy_design(self) -> Design:
        """The design of Algorithm 3 (no random action); uses no randomness."""
        return Design(tuple(self._greedy_actions()))

    # ------------------------------------------------ Algorithm 2 (update)
    def _update(self, actions: np.ndarray, reward: float, alpha: float) -> None:
        self.tables.update(actions, reward, alpha=alpha, gamma=self.gamma,
                           additive=self.additive)

    # --------------------------------------------------------------- state
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
