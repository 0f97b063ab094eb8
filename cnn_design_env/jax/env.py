"""``TableEnv``: the CNN-design game over a shipped table as a functional JAX env (JaxMARL API).

The PettingZoo env's episode, turn-based inside a simultaneous-move interface: every step all
agents submit an action, only the acting agent's counts, and the others are masked to a single
no-op. Pure ``jax.numpy``, so ``reset`` and ``step`` ``jit``, ``vmap`` and ``lax.scan``.

| Creation           | `cnn_design_env.jax.TableEnv("table_chain", reward=PaperReward())`   |
|--------------------|-----------------------------------------------------------------------|
| Interface          | JaxMARL `MultiAgentEnv`: `reset(key)`, `step(key, state, actions)`    |
| Agents             | `env.agents`: the PettingZoo env's ids (`conv_0`, ..., `kind_N`), in order |
| Actions            | `Discrete(max_i |A_i| + 1)` for every agent; the last one, `env.noop`, |
|                    | is the no-op                                                          |
| Avail. actions     | `get_avail_actions(state)`: the acting agent's `|A_i|` actions; every  |
|                    | other agent only the no-op                                            |
| Observations       | `Box(0, 1, (K + 2N + 1,), float32)`, the same for every agent        |
| Rewards            | 0, then the table reward to every agent when the last agent acts      |
| Episode            | `N` steps; `dones[a]` and `dones["__all__"]` together; auto reset     |

**Observation** of agent ``j`` (float32, 0/1): ``K = sum_i |A_i|`` entries, the one-hot of
each decided agent's action (block ``i`` is all 0 while agent ``i`` has not acted), then the
one-hot of the acting agent's index over ``N + 1`` entries (``N`` = none), then the one-hot of
``j`` itself over ``N`` (so one shared policy knows whose turn it is).

**Reward and recorded seed.** ``reset(key)`` draws the recorded seed (a column of the table)
from ``key`` into the state; when the last agent acts the reward is one gather in the
``(E, D, S)`` reward table (fidelity, design row, column), which holds ``reward(metrics)`` of
the :class:`~cnn_design_env.evaluators.tabular.TabularEvaluator`'s answers, so it is exactly
the PettingZoo env's reward for the same design and recorded seed (to float32).
``state.epochs`` is the fidelity (``epochs`` of the constructor by default; any value in
``[1, E]`` per env). An acting agent's action outside its legal set (the no-op, padding or out
of range) ends the episode with the reward of a terminated evaluation
(``reward(Metrics.failed(...))``, -1 for the paper's) and ``infos["invalid_action"]``.

**Infos** (every leaf of shape ``(num_agents,)``, the same value for every agent, as JaxMARL's
baselines reshape them): ``"design_row"`` (the table row, -1 until the design is complete),
``"recorded_seed"``, ``"invalid_action"`` and ``"metrics"``: each numeric ``Metrics`` field,
``"terminated"`` and ``"reason"`` (an index into ``env.reasons``) of the answer (zeros until the
design is complete). :meth:`TableEnv.metrics` gives the exact host-side ``Metrics``.

Example:
    >>> import jax
    >>> env = TableEnv("table_chain")
    >>> obs, state = env.reset(jax.random.key(0))
    >>> for position in range(env.num_agents):  # every acting agent picks its action 1
    ...     actions = {a: 1 if i == position else env.noop for i, a in enumerate(env.agents)}
    ...     obs, state, rewards, dones, infos = env.step(jax.random.key(1), state, actions)
    >>> bool(dones["__all__"]), int(infos["design_row"][0]), int(state.position)
    (True, 316, 0)
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from jax import Array

from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.jax.rewards import JaxReward, MetricsTree, jax_reward
from cnn_design_env.jax.spaces import Box, Discrete
from cnn_design_env.jax.tabulate import INT_FIELDS, tabulate, tabulate_reward
from cnn_design_env.observations import agent_ids
from cnn_design_env.reward import PaperReward, Reward
from cnn_design_env.space import Design
from cnn_design_env.tables import Table, design_of_row


@struct.dataclass
class TableState:
    """One episode's state (a pytree; batch it with ``vmap``).

    Attributes:
        actions: ``(N,)`` int32, each agent's decided action, -1 while undecided.
        position: Index of the acting agent (``N`` once the design is complete).
        column: The recorded seed's column in the table (drawn at reset).
        epochs: The fidelity, in ``[1, E]`` (set it with ``state.replace(epochs=...)``; a value
            outside is clipped into it, as nothing can raise inside ``jit``).
        done: Whether the episode is over.
        step: Steps taken in this episode.
    """

    actions: Array
    position: Array
    column: Array
    epochs: Array
    done: Array
    step: Array


class TableEnv:
    """The design game over one table, with JaxMARL's ``MultiAgentEnv`` interface.

    Args:
        table: A shipped table's name (``"table_chain"``, ``"table_inception"``), a path to a
            table ``.npz`` or a loaded :class:`~cnn_design_env.tables.Table`.
        reward: ``Metrics -> float``, tabulated once over every answer of the table;
            ``None`` gives :class:`~cnn_design_env.reward.PaperReward`.
        epochs: Default fidelity of new episodes (``None``: every recorded epoch).

    Attributes:
        agents: Agent names, in acting order (the table space's agents).
        num_agents: ``N``.
        num_actions: Size of every agent's ``Discrete`` action space, ``max_i |A_i| + 1``.
        noop: The no-op action, ``num_actions - 1``.
        action_sizes: ``|A_i|`` per agent.
        space: The table's search space.
        evaluator: The :class:`TabularEvaluator` whose answers the env serves.
        reward: The host-side reward.
        reward_fn: ``jax_reward(reward)`` for the package's arithmetic rewards, else ``None``.
        true_rewards: ``(D,)`` float32, each design's reward at full fidelity averaged over the
            recorded seeds (the design's true quality, for regret).
        reasons: Termination reason strings (``infos["metrics"]["reason"]`` indexes them).

    Raises:
        FileNotFoundError: If there is no such table.
        ValueError: If ``epochs`` is out of ``[1, E]``.
    """

    def __init__(self, table: str | Path | Table = "table_chain", *, reward: Reward | None = None,
                 epochs: int | None = None) -> None:
        self.evaluator = TabularEvaluator(table if not isinstance(table, Table) else table.name,
                                          table=table if isinstance(table, Table) else None)
        self.space = self.evaluator.space
        self.reward = PaperReward() if reward is None else reward
        if not callable(self.reward):
            raise TypeError(f"reward must be callable as reward(metrics) -> float, got "
                            f"{self.reward!r}")
        arrays = tabulate(self.evaluator)
        num_epochs, num_designs, num_seeds = arrays.shape
        if epochs is not None and not (isinstance(epochs, int) and 1 <= epochs <= num_epochs):
            raise ValueError(f"epochs must be an integer in [1, {num_epochs}] or None, got "
                             f"{epochs!r}")
        self.agents = list(agent_ids(self.space))    # the PettingZoo env's ids (kind_N)
        self.num_agents = len(self.agents)
        self.action_sizes = tuple(self.space.action_sizes)
        self.num_actions = max(self.action_sizes) + 1
        self.noop = self.num_actions - 1
        self.num_epochs, self.num_designs, self.num_seeds = num_epochs, num_designs, num_seeds
        self.default_epochs = num_epochs if epochs is None else epochs
        self.reasons = arrays.reasons
        self.recorded_seeds = self.evaluator.table.seeds
        self._arrays = arrays
        self.reward_fn: JaxReward | None = _maybe_jax_reward(self.reward)
        rewards = tabulate_reward(arrays, self.reward)
        self.true_rewards = jnp.asarray(rewards[-1].mean(axis=1), dtype=jnp.float32)
        self._build_constants(rewards)
        obs_size = int(sum(self.action_sizes)) + 2 * self.num_agents + 1
        self.observation_spaces = {a: Box(0.0, 1.0, (obs_size,)) for a in self.agents}
        self.action_spaces = {a: Discrete(self.num_actions) for a in self.agents}

    def _build_constants(self, rewards: np.ndarray) -> None:
        n, sizes = self.num_agents, np.asarray(self.action_sizes)
        self._sizes = jnp.asarray(sizes, dtype=jnp.int32)
        self._radix = jnp.asarray(self.evaluator.table.radix, dtype=jnp.int32)
        failed = Metrics.failed("invalid action (outside the acting agent's legal actions)")
        self._invalid_reward = jnp.float32(float(self.reward(failed)))
        self._seeds = jnp.asarray(self.recorded_seeds, dtype=jnp.int32)
        self._identity = jnp.eye(n, dtype=jnp.float32)
        actions = np.arange(self.num_actions)
        self._legal = jnp.asarray(actions[None, :] < sizes[:, None])
        self._noop_only = jnp.asarray(actions == self.noop)
        # the answers as two (E * D * S, F) tables, one row per (fidelity, row, column), so an
        # info is one row gather (XLA's CPU gathers are slow per element, fast per row)
        arrays = self._arrays
        ints = [name for name in sorted(arrays.fields) if name in INT_FIELDS]
        floats = [name for name in sorted(arrays.fields) if name not in INT_FIELDS]
        self._int_names = (*ints, "terminated", "reason")
        self._float_names = tuple(floats)
        flat = num_answers = rewards.size
        self._rewards = jnp.asarray(rewards.reshape(num_answers), dtype=jnp.float32)
        self._int_table = jnp.asarray(np.stack(
            [arrays.fields[k].reshape(flat) for k in ints]
            + [arrays.terminated.reshape(flat), arrays.reason.reshape(flat)], axis=1),
            dtype=jnp.int32)
        self._float_table = jnp.asarray(np.stack([arrays.fields[k].reshape(flat)
                                                  for k in floats], axis=1), dtype=jnp.float32)

    # ------------------------------------------------------------ JaxMARL API
    @property
    def name(self) -> str:
        """``TableEnv-<table>``."""
        return f"TableEnv-{self.space.name}"

    @property
    def agent_classes(self) -> dict[str, list[str]]:
        """Agents grouped by their layer's kind (``conv``, ``pool``, ``dense``, ``train``...)."""
        groups: dict[str, list[str]] = {}
        for agent, layer in zip(self.agents, self.space.agents, strict=True):
            groups.setdefault(self.space.by_name[layer].kind, []).append(agent)
        return groups

    def observation_space(self, agent: str) -> Box:
        """The (cached) observation space of ``agent``, the same for every agent."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> Discrete:
        """The (cached) action space of ``agent``, ``Discrete(num_actions)`` for every agent."""
        return self.action_spaces[agent]

    @partial(jax.jit, static_argnums=(0,))
    def reset(self, key: Array) -> tuple[dict[str, Array], TableState]:
        """A new, empty design; the recorded seed's column is drawn from ``key``."""
        column = jax.random.randint(key, (), 0, self.num_seeds, dtype=jnp.int32)
        state = TableState(actions=jnp.full((self.num_agents,), -1, dtype=jnp.int32),
                           position=jnp.int32(0), column=column,
                           epochs=jnp.int32(self.default_epochs), done=jnp.bool_(False),
                           step=jnp.int32(0))
        return self.get_obs(state), state

    @partial(jax.jit, static_argnums=(0,))
    def step(self, key: Array, state: TableState, actions: dict[str, Array],
             reset_state: TableState | None = None
             ) -> tuple[dict[str, Array], TableState, dict[str, Array], dict[str, Array],
                        dict[str, Any]]:
        """One agent's decision; resets automatically when the episode ends (as JaxMARL's).

        Args:
            key: PRNG key (the reset's recorded seed is drawn from it).
            state: The current state.
            actions: Agent name -> action; only the acting agent's is read.
            reset_state: State to reset to when the episode ends (default: ``reset(key)``).

        Returns:
            ``(obs, state, rewards, dones, infos)``; after the last decision ``obs`` and
            ``state`` are those of the next episode, ``rewards``/``dones``/``infos`` of this one.
        """
        # the transition is deterministic, so the whole key goes to the reset (no split)
        state_st, rewards, dones, infos = self._transition(state, actions)
        state_re = self.reset(key)[1] if reset_state is None else reset_state
        done = dones["__all__"]
        state = jax.tree.map(lambda x, y: jax.lax.select(done, x, y), state_re, state_st)
        # observations are a function of the state: the same as selecting between the
        # observations of both states (as JaxMARL's MultiAgentEnv.step does), at half the work
        return self.get_obs(state), state, rewards, dones, infos

    def step_env(self, key: Array, state: TableState, actions: dict[str, Array]
                 ) -> tuple[dict[str, Array], TableState, dict[str, Array], dict[str, Array],
                            dict[str, Any]]:
        """The transition without the automatic reset (``key`` is unused: it is deterministic)."""
        del key
        state, rewards, dones, infos = self._transition(state, actions)
        return self.get_obs(state), state, rewards, dones, infos

    def _transition(self, state: TableState, actions: dict[str, Array]
                    ) -> tuple[TableState, dict[str, Array], dict[str, Array], dict[str, Any]]:
        n = self.num_agents
        chosen = jnp.stack([jnp.asarray(actions[a]) for a in self.agents]).astype(jnp.int32)
        acting = jnp.arange(n) == state.position  # masks, not dynamic indices: no XLA gathers
        action = jnp.sum(jnp.where(acting, chosen, 0))
        valid = (action >= 0) & (action < jnp.sum(jnp.where(acting, self._sizes, 0)))
        decided = jnp.where(acting, jnp.where(valid, action, -1), state.actions)
        position = state.position + 1
        complete = valid & (position == n)
        done = complete | ~valid
        row = jnp.sum(jnp.maximum(decided, 0) * self._radix)
        fidelity = jnp.clip(state.epochs, 1, self.num_epochs) - 1
        answer = (fidelity * self.num_designs + row) * self.num_seeds + state.column
        reward = jnp.where(complete, self._rewards[answer],
                           jnp.where(valid, jnp.float32(0), self._invalid_reward))
        state = state.replace(actions=decided, position=position, done=done,
                              step=state.step + 1)
        infos = self._infos(state, row, answer, complete, ~valid)
        rewards = dict.fromkeys(self.agents, reward)
        dones = {**dict.fromkeys(self.agents, done), "__all__": done}
        return state, rewards, dones, infos

    def get_obs(self, state: TableState) -> dict[str, Array]:
        """Agent name -> its float32 observation (see the module docstring)."""
        decided = jnp.concatenate([state.actions[i:i + 1] == jnp.arange(size)
                                   for i, size in enumerate(self.action_sizes)])
        acting = jnp.arange(self.num_agents + 1) == state.position
        shared = jnp.concatenate([decided, acting]).astype(jnp.float32)
        return {a: jnp.concatenate([shared, self._identity[i]])
                for i, a in enumerate(self.agents)}

    @partial(jax.jit, static_argnums=(0,))
    def get_avail_actions(self, state: TableState) -> dict[str, Array]:
        """Agent name -> bool mask over ``num_actions``: the acting agent's legal actions, the
        no-op alone for every other agent."""
        return {a: jnp.where(state.position == i, self._legal[i], self._noop_only)
                for i, a in enumerate(self.agents)}

    def _infos(self, state: TableState, row: Array, answer: Array, complete: Array,
               invalid: Array) -> dict[str, Any]:
        per_agent = (self.num_agents,)
        ints = jnp.where(complete, self._int_table[answer], 0)
        floats = jnp.where(complete, self._float_table[answer], 0.0)
        metrics = {name: jnp.broadcast_to(ints[i], per_agent)
                   for i, name in enumerate(self._int_names)}
        metrics.update({name: jnp.broadcast_to(floats[i], per_agent)
                        for i, name in enumerate(self._float_names)})
        metrics["terminated"] = metrics["terminated"].astype(bool)
        return {"design_row": jnp.broadcast_to(jnp.where(complete, row, -1), per_agent),
                "recorded_seed": jnp.broadcast_to(self._seeds[state.column], per_agent),
                "invalid_action": jnp.broadcast_to(invalid, per_agent),
                "metrics": metrics}

    # ---------------------------------------------------------------- extras
    def metrics_tree(self, row: Array, column: Array, epochs: Array | None = None) -> MetricsTree:
        """The metrics pytree (float32/int32) of ``(row, column)`` at fidelity ``epochs``, for
        ``reward_fn`` inside ``jit`` (e.g. to sweep reward coefficients)."""
        fidelity = self.num_epochs - 1 if epochs is None else jnp.clip(epochs, 1,
                                                                        self.num_epochs) - 1
        answer = (fidelity * self.num_designs + row) * self.num_seeds + column
        ints, floats = self._int_table[answer], self._float_table[answer]
        tree = {name: ints[..., i] for i, name in enumerate(self._int_names) if name != "reason"}
        tree.update({name: floats[..., i] for i, name in enumerate(self._float_names)})
        tree["terminated"] = tree["terminated"].astype(bool)
        return tree

    def metrics(self, row: int, column: int, epochs: int | None = None) -> Metrics:
        """The exact host-side ``Metrics`` of ``(row, column)`` at fidelity ``epochs``.

        Raises:
            ValueError: If an argument is out of range.
        """
        e = self.num_epochs if epochs is None else epochs
        for name, value, limit in (("row", row, self.num_designs),
                                   ("column", column, self.num_seeds),
                                   ("epochs", e - 1, self.num_epochs)):
            if not 0 <= int(value) < limit:
                shown = e if name == "epochs" else value
                low, high = (1, limit) if name == "epochs" else (0, limit - 1)
                raise ValueError(f"{name} must be in [{low}, {high}], got {shown!r}")
        return self._arrays.metrics[int(e) - 1][int(row)][int(column)]

    def design_of_row(self, row: int) -> Design:
        """The design stored in table row ``row``."""
        return design_of_row(int(row), self.action_sizes)

    def row_of(self, design: Design | tuple[int, ...]) -> int:
        """The table row of ``design`` (validated)."""
        return self.evaluator.row(design)

    def __repr__(self) -> str:
        return (f"TableEnv({self.space.name!r}, agents={self.num_agents}, "
                f"num_actions={self.num_actions}, epochs={self.default_epochs})")


def _maybe_jax_reward(reward: Reward) -> JaxReward | None:
    try:
        return jax_reward(reward)
    except TypeError:
        return None


__all__ = ["TableEnv", "TableState"]
