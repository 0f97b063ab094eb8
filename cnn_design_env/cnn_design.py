"""
# CNN design

The design of a CNN as a cooperative turn-based game: each tunable layer of a search space (and
each training-hyperparameter group) is an agent; agents act once each, in topological order from
the input to the output, picking their layer's hyperparameters. When the last agent has acted the
design is complete, the evaluator trains (or looks up) it once, and every agent receives the same
terminal reward.

This is the implementation; import it as PettingZoo's convention has it, through the versioned
module: ``from cnn_design_env import cnn_design_v0; cnn_design_v0.env(...)`` (also
``cnn_design_env.env(...)``).

| Creation           | `cnn_design_v0.env(space="table_chain", evaluator="tabular")`            |
|--------------------|--------------------------------------------------------------------------|
| Registry           | `pettingzoo.make("aec", "cnn_design_env/cnn_design_v0")` (table_chain)   |
| Actions            | Discrete                                                                 |
| Parallel API       | Yes (`parallel_env(...)`, or `turn_based_aec_to_parallel(env(...))`)     |
| Manual Control     | No                                                                       |
| Agents             | `kind_N` ids in topological order: `conv_0, conv_1, pool_0, ..., dense_0` |
| Agents (number)    | `space.num_agents`: 19 for `vgg16`, 71 for `googlenet`, 6 `vgg_mini`     |
| Action Shape       | `Discrete(n_i)`, `n_i = len(space.by_name[layer].actions)`; padded: max  |
| Action Values      | index into the Cartesian product of the layer's choice sets              |
| Observation        | `observation=`: `"dict"` (default), `"flat"` or `"flat_dict"` (below)   |
| State              | the design vector (`state_space = MultiDiscrete(N + 1)`)                 |
| Rewards            | 0, then the same terminal `R = reward(metrics)` for every agent          |

### Agents

`env.possible_agents` are PettingZoo-style ids `<layer kind>_<k>` (`conv_0`, `pool_1`, `dense_0`,
`upconv_0`, `train_0`; see :func:`~cnn_design_env.observations.agent_ids`), so no id clashes with
a framework's attribute (`train`, `eval`, `forward`) and libraries grouping agents by prefix group
them by layer kind. `env.unwrapped.layer_names[agent]` is the layer behind an id (the readable
name the space, the renders, the run files and error messages use: ``agent 'conv_1' (layer
'conv2')``).

### Observation space

Identical for all agents with `pad_actions=True` (else the mask lengths differ):

* `"dict"`: `Dict(observation=MultiDiscrete(observation_nvec(space)), action_mask=Box(0, 1,
  (n_i,), int8), agent=Discrete(N))`;
* `"flat"`: `Box(0, 1, (sum |A_i| + 2N + 1,), float32)` (exact sizes, padded or not);
* `"flat_dict"`: `Dict(observation=<the flat Box>, action_mask=Box(0, 1, (n_i,), int8))`.

`"observation"` of the dict form is the int64 vector of `observation_nvec(space)`: entry `i` is
agent `i`'s action plus one once it has acted, else 0, and the last entry is the index of the
acting agent (`N` once the design is complete); `"agent"` is the observer's own index. The flat
vector is the one-hot of each decided action (`|A_i|` entries per agent, zeros while
undecided), the one-hot of the acting agent (`N + 1` entries) and the one-hot of the observing
agent (`N` entries), so in the parallel view every agent's observation says who it is and who
acts. The int8 mask (1 = legal) has the agent's action-space size and is always in
`infos[agent]["action_mask"]`. Masks are read-only arrays.

### Action space

`Discrete(|A_i|)`, the paper's exact action sets (Table III): action `k` of a layer is the `k`-th
element of the Cartesian product of its choice sets, in declaration order (see
`space.by_name[layer].actions`). With `pad_actions=True` every agent gets `Discrete(max |A|)` and
the padding is masked. A masked action is handled by `invalid_action`: `"raise"` (default) a
`ValueError` naming the agent, its layer, the action and the legal range; `"penalty"` ends the
episode for every agent with the reward of a failed evaluation (`-1` for the paper's reward,
`metrics["reason"]` names the action); `"wrap"` takes it modulo `|A_i|`. An action outside the
agent's `Discrete` space, or not an integer (`bool`, floats, strings), always raises.

### Rewards

0 for every agent until the last agent acts. Then the design is evaluated once (seed drawn from
the env's `np_random`) and every agent gets the same `R = reward(metrics)` (paper Eq. 2 by
default: -1 if training was terminated, else `c_A * A_val / N_epoch - c_S * S_MB`). All agents
terminate together, and `infos[agent]` holds `"design"` (action indices), `"hyperparameters"`
(per layer), `"metrics"` (`Metrics.to_dict()`), `"reward"` and `"eval_seed"`. Nested values are
shared between the agents' infos: treat them as read-only. An evaluator that raises gives a
terminated `Metrics` whose `reason` names the exception, hence the penalty reward.

### Arguments

```python
cnn_design_v0.env(space="vgg_mini", evaluator=evaluator, reward=PaperReward(),
                  pad_actions=False, observation="dict", invalid_action="raise",
                  render_mode=None)
```

`space`: a preset name (`cnn_design_env.list_spaces()`) or a `SearchSpace`.
`evaluator`: required; `evaluate(design, *, seed) -> Metrics` (bound to the same space), or
`"tabular"` for a table space. The registries default to `table_chain` and `"tabular"`.
`reward`: `Metrics -> float`; default `PaperReward()`.
`pad_actions`: give every agent the largest action space, with a mask.
`observation`: `"dict"`, `"flat"` or `"flat_dict"` (see above).
`invalid_action`: `"raise"`, `"penalty"` or `"wrap"` (see above).
`render_mode`: `"ansi"` returns the design so far as a text table, `"human"` prints it,
`"rgb_array"` returns a picture of it (through matplotlib).

### Wrappers

`env()` is the raw env in one small wrapper of ours,
:class:`~cnn_design_env.order_enforcing.OrderEnforcing`: PettingZoo's order checks and messages,
a PettingZoo `BaseWrapper` using only the public AEC API, with the bookkeeping read through plain
properties (the stock `OrderEnforcingWrapper` forwards it through `__getattr__`, which tripled the
cost of a `vgg16` episode). PettingZoo's `AssertOutOfBoundsWrapper` is left out on purpose: the
raw env checks every action itself, with the messages above (the stock wrapper asserts with a
bare `AssertionError` and takes `True` as 1). Stock wrappers stack on top as usual.

### Version History

* v0: Initial version (0.1.0)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium.spaces import Box, Dict, Discrete, MultiDiscrete, Space
from gymnasium.utils import seeding
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import aec_to_parallel

from cnn_design_env.episode import (
    DesignEpisode,
    abandon,
    bind,
    check_invalid_action,
    finish,
    observation_nvec,
)
from cnn_design_env.evaluators.base import Evaluator
from cnn_design_env.observations import FlatEncoder, agent_ids, check_observation
from cnn_design_env.order_enforcing import OrderEnforcing
from cnn_design_env.registration import ENV_NAME
from cnn_design_env.render import RENDER_MODES, render
from cnn_design_env.reward import Reward
from cnn_design_env.space import SearchSpace

__all__ = ["CNNDesignEnv", "env", "parallel_env", "raw_env"]


def env(space: str | SearchSpace = "vgg_mini", evaluator: Evaluator | str | None = None,
        reward: Reward | None = None, *, pad_actions: bool = False, observation: str = "dict",
        invalid_action: str = "raise", render_mode: str | None = None) -> AECEnv:
    """The CNN-design AEC env, order-checked by :class:`.order_enforcing.OrderEnforcing`.

    Arguments are those of :class:`CNNDesignEnv`. PettingZoo's ``AssertOutOfBoundsWrapper`` is
    not applied: the env checks every action itself and raises a ``ValueError`` naming the
    agent, the action and the legal range (the stock wrapper asserts, and takes ``True`` for 1).

    Example:
        >>> import cnn_design_env
        >>> from cnn_design_env import Metrics
        >>> class Constant:
        ...     def evaluate(self, design, *, seed):
        ...         return Metrics(accuracy=0.5, epochs=1)
        >>> e = cnn_design_env.env("vgg_mini", evaluator=Constant())
        >>> e.reset(seed=0)
        >>> for agent in e.agent_iter():
        ...     obs, reward, terminated, truncated, info = e.last()
        ...     e.step(None if terminated else int(np.flatnonzero(obs["action_mask"])[-1]))
        >>> round(reward, 6), info["design"]          # 0.9 * 100 * 0.5 / max(3, 1) - 0.1 * 0
        (15.0, (11, 11, 1, 11, 1, 2))
    """
    return OrderEnforcing(CNNDesignEnv(
        space, evaluator, reward, pad_actions=pad_actions, observation=observation,
        invalid_action=invalid_action, render_mode=render_mode))


class CNNDesignEnv(AECEnv):
    """The raw CNN-design AEC env (see the module docstring for the full description).

    Args:
        space: A preset name or a :class:`~cnn_design_env.space.SearchSpace`.
        evaluator: Required; scores complete designs (``evaluate(design, *, seed) -> Metrics``),
            or ``"tabular"`` for a table space.
        reward: ``Metrics -> float``; ``None`` gives :class:`~cnn_design_env.reward.PaperReward`.
        pad_actions: Give every agent ``Discrete(max |A_i|)`` with the padding masked; every
            agent then has the same observation and action space.
        observation: ``"dict"``, ``"flat"`` or ``"flat_dict"`` (see the module docstring).
        invalid_action: What a masked (padding) action does: ``"raise"`` (a ``ValueError``),
            ``"penalty"`` (the episode ends with the reward of a failed evaluation) or
            ``"wrap"`` (taken modulo the agent's action count).
        render_mode: ``None``, ``"ansi"``, ``"human"`` or ``"rgb_array"``.

    Attributes:
        layer_names: The layer behind each agent id (``{"conv_0": "conv1", ...}``).

    Raises:
        TypeError: If the evaluator is missing or has no ``evaluate`` method.
        ValueError: On an unknown space name, observation, invalid_action or render mode, or an
            evaluator bound to another space.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": ENV_NAME, "render_modes": list(RENDER_MODES),
                                          "is_parallelizable": True, "render_fps": 4}

    def __init__(self, space: str | SearchSpace = "vgg_mini",
                 evaluator: Evaluator | str | None = None, reward: Reward | None = None, *,
                 pad_actions: bool = False, observation: str = "dict",
                 invalid_action: str = "raise", render_mode: str | None = None) -> None:
        super().__init__()
        self.space, self.evaluator, self.reward_fn = bind(space, evaluator, reward)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; expected one of "
                             f"{self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        self.pad_actions = pad_actions
        self.observation_format = check_observation(observation)
        self.invalid_action = check_invalid_action(invalid_action)
        self.possible_agents = list(agent_ids(self.space))
        self.layer_names = dict(zip(self.possible_agents, self.space.agents, strict=True))
        self._index = {a: i for i, a in enumerate(self.possible_agents)}
        self._episode = DesignEpisode(self.space, pad_actions=pad_actions,
                                      names=self.possible_agents)
        self._encoder = FlatEncoder(self.space)
        self._masks = {a: self._episode.action_mask(i) for a, i in self._index.items()}
        self._action_spaces = {a: Discrete(len(m)) for a, m in self._masks.items()}
        self._observation_spaces = {a: self._space_of(len(m)) for a, m in self._masks.items()}
        self.state_space = MultiDiscrete(observation_nvec(self.space))
        self._np_random: np.random.Generator | None = None
        self.np_random_seed: int | None = None

    def _space_of(self, mask_length: int) -> Space:
        n = self.space.num_agents
        flat = Box(0.0, 1.0, (self._encoder.size,), dtype=np.float32)
        mask = Box(0, 1, (mask_length,), dtype=np.int8)
        if self.observation_format == "flat":
            return flat
        if self.observation_format == "flat_dict":
            return Dict({"observation": flat, "action_mask": mask})
        return Dict({"observation": MultiDiscrete(observation_nvec(self.space)),
                     "action_mask": mask, "agent": Discrete(n)})

    # ---------------------------------------------------------------- spaces
    def observation_space(self, agent: str) -> Space:
        """The (cached) observation space of ``agent``: the same for every agent, except the
        ``"action_mask"`` length of a Dict observation when ``pad_actions=False``."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> Discrete:
        """The (cached) ``Discrete`` action space of ``agent``."""
        return self._action_spaces[agent]

    @property
    def np_random(self) -> np.random.Generator:
        """The env's generator (evaluation seeds); reseeded by ``reset(seed=...)``."""
        if self._np_random is None:
            self._np_random, self.np_random_seed = seeding.np_random()
        return self._np_random

    # ------------------------------------------------------------------- AEC
    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        """Start a new design; ``seed`` reseeds :attr:`np_random`."""
        if seed is not None:
            self._np_random, self.np_random_seed = seeding.np_random(seed)
        self._episode.reset()
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos = {a: {"action_mask": self._masks[a]} for a in self.agents}
        self.agent_selection = self.agents[0]

    def observe(self, agent: str) -> Any:
        """What ``agent`` sees of the design so far (see the module docstring's table)."""
        fmt = self.observation_format
        if fmt == "dict":
            return {"observation": self._episode.observation(), "action_mask": self._masks[agent],
                    "agent": self._index[agent]}
        flat = self._encoder.encode(self._episode.actions, self._index[agent])
        if fmt == "flat":
            return flat
        return {"observation": flat, "action_mask": self._masks[agent]}

    def state(self) -> np.ndarray:
        """The global design vector (the ``"dict"`` observation's ``"observation"``)."""
        return self._episode.observation()

    def step(self, action: int | None) -> None:
        """Record the acting agent's action; after the last agent, evaluate and reward everyone.

        Raises:
            RuntimeError: If called before :meth:`reset` or after the episode ended.
            ValueError: If ``action`` is out of the agent's space, masked (with
                ``invalid_action="raise"``), or not an integer (``bool``, floats and strings
                refused; the message names the agent, the action and the legal range), or not
                ``None`` for a terminated agent.
        """
        try:
            agent = self.agent_selection
        except AttributeError:
            raise RuntimeError("step() called before reset(); call env.reset() first") from None
        if not self.agents:
            raise RuntimeError(f"step({action!r}) called after the episode ended (every agent "
                               "has taken its final step); call env.reset() first")
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        episode = self._episode
        if action is None:
            raise ValueError(f"agent {agent!r} (layer {self.layer_names[agent]!r}): action None "
                             "is only valid for a terminated agent")
        index, reason = episode.resolve(action, self.invalid_action)
        self._cumulative_rewards[agent] = 0.0
        if reason is not None:
            self._terminate(*abandon(episode, reason, reward_fn=self.reward_fn))
        else:
            episode.step(index)
            if episode.done:
                self._terminate(*finish(episode, evaluator=self.evaluator,
                                        reward_fn=self.reward_fn, rng=self.np_random))
            else:
                self.agent_selection = self.possible_agents[episode.position]
        self._accumulate_rewards()

    def _terminate(self, reward: float, info: dict[str, Any]) -> None:
        masks = self._masks
        for agent in self.agents:
            self.rewards[agent] = reward
            self.terminations[agent] = True
            self.infos[agent] = {**info, "action_mask": masks[agent]}
        self.agent_selection = self.agents[0]

    # ---------------------------------------------------------------- render
    def render(self) -> str | np.ndarray | None:
        """``"ansi"``: the design so far as a text table; ``"human"``: print it;
        ``"rgb_array"``: a picture of it (an ``(H, W, 3)`` uint8 array, through matplotlib)."""
        return render(self.render_mode, self.space, self._episode.actions)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return (f"CNNDesignEnv(space={self.space.name!r}, agents={len(self.possible_agents)}, "
                f"pad_actions={self.pad_actions}, observation={self.observation_format!r})")


raw_env = CNNDesignEnv
"""The bare env class (``raw_env(...)`` builds one without wrappers)."""



def parallel_env(space: str | SearchSpace = "vgg_mini",
                 evaluator: Evaluator | str | None = None, reward: Reward | None = None,
                 **options: Any) -> ParallelEnv:
    """The parallel view: every agent decides at once, blind to the others (one step = one
    design; each agent's observation says who it is). PettingZoo's ``aec_to_parallel`` of
    :func:`env`, with the same arguments; ``turn_based_aec_to_parallel(env(...))`` keeps the
    sequential observations instead."""
    return aec_to_parallel(env(space, evaluator, reward, **options))
