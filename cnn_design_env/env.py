"""
# CNN design

The design of a CNN as a cooperative turn-based game: each tunable layer of a search space (and
each training-hyperparameter group) is an agent; agents act once each, in topological order from
the input to the output, picking their layer's hyperparameters. When the last agent has acted the
design is complete, the evaluator trains (or looks up) it once, and every agent receives the same
terminal reward.

| Creation           | `cnn_design_env.env(space="vgg_mini", evaluator=...)`                   |
|--------------------|-------------------------------------------------------------------------|
| Registry           | `pettingzoo.make("aec", "cnn_design_env/cnn_design-v0", evaluator=...)` |
| Actions            | Discrete                                                                |
| Parallel API       | Yes (`turn_based_aec_to_parallel`, or `parallel_env(...)`)              |
| Manual Control     | No                                                                      |
| Agents             | `agents = list(space.agents)` (layer names, topological order)          |
| Agents (number)    | `space.num_agents`: 19 for `vgg16`, 71 for `googlenet`, 6 `vgg_mini`    |
| Action Shape       | `Discrete(n_i)`, `n_i = len(space.by_name[agent].actions)`              |
| Action Values      | index into the Cartesian product of the layer's choice sets             |
| Observation Shape  | `Dict(observation=MultiDiscrete(N + 1), action_mask=Box(0, 1, (n_i,)))` |
| Observation Values | `observation[i] = action_i + 1` (0 = undecided), last = acting index    |
| State              | the observation vector (`state_space = MultiDiscrete(N + 1)`)           |
| Rewards            | 0, then the same terminal `R = reward(metrics)` for every agent         |

### Observation space

Identical for all agents, so parameter-sharing algorithms work: `"observation"` is the int64
vector of `observation_nvec(space) = [|A_1|+1, ..., |A_N|+1, N+1]`; entry `i` is agent `i`'s
action plus one once it has acted, else 0, and the last entry is the index of the acting agent
(`N` once the design is complete). `"action_mask"` is an int8 vector (1 = legal) of the agent's
action-space size; it is also in `infos[agent]["action_mask"]`. Masks are read-only arrays.

### Action space

`Discrete(|A_i|)`, the paper's exact action sets (Table III): action `k` of a layer is the `k`-th
element of the Cartesian product of its choice sets, in declaration order (see
`space.by_name[agent].actions`). With `pad_actions=True` every agent gets `Discrete(max |A|)` and
the padding is masked; stepping a masked action raises `ValueError`.

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
cnn_design_env.env(space="vgg_mini", evaluator=evaluator, reward=PaperReward(),
                   pad_actions=False, render_mode=None)
```

`space`: a preset name (`cnn_design_env.list_spaces()`) or a `SearchSpace`.
`evaluator`: required; `evaluate(design, *, seed) -> Metrics` (bound to the same space).
`reward`: `Metrics -> float`; default `PaperReward()`.
`pad_actions`: give every agent the largest action space, with a mask.
`render_mode`: `"ansi"` returns the design so far as a text table, `"human"` prints it.

### Version History

* v0: Initial version (0.1.0)
"""

from __future__ import annotations

import sys
import types
from typing import Any, ClassVar

import numpy as np
from gymnasium.spaces import Box, Dict, Discrete, MultiDiscrete
from gymnasium.utils import seeding
from pettingzoo import AECEnv
from pettingzoo.utils import wrappers
from pettingzoo.utils.conversions import parallel_wrapper_fn
from pettingzoo.utils.wrappers.order_enforcing import (
    AECOrderEnforcingIterable,
    AECOrderEnforcingIterator,
)

from cnn_design_env.episode import DesignEpisode, bind, finish, observation_nvec
from cnn_design_env.evaluators.base import Evaluator
from cnn_design_env.render import render
from cnn_design_env.reward import Reward
from cnn_design_env.space import SearchSpace

__all__ = ["CNNDesignEnv", "env", "parallel_env", "raw_env"]


def env(space: str | SearchSpace = "vgg_mini", evaluator: Evaluator | None = None,
        reward: Reward | None = None, *, pad_actions: bool = False,
        render_mode: str | None = None) -> AECEnv:
    """The CNN-design AEC env, wrapped (action checks raising ``ValueError``, order enforcing).

    Arguments are those of :class:`CNNDesignEnv`.

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
    wrapped: AECEnv = CNNDesignEnv(space, evaluator, reward, pad_actions=pad_actions,
                                   render_mode=render_mode)
    wrapped = AssertOutOfBoundsWrapper(wrapped)
    return OrderEnforcingWrapper(wrapped)


class CNNDesignEnv(AECEnv):
    """The raw CNN-design AEC env (see the module docstring for the full description).

    Args:
        space: A preset name or a :class:`~cnn_design_env.space.SearchSpace`.
        evaluator: Required; scores complete designs (``evaluate(design, *, seed) -> Metrics``).
        reward: ``Metrics -> float``; ``None`` gives :class:`~cnn_design_env.reward.PaperReward`.
        pad_actions: Give every agent ``Discrete(max |A_i|)`` with the padding masked.
        render_mode: ``None``, ``"ansi"`` or ``"human"``.

    Raises:
        TypeError: If the evaluator is missing or has no ``evaluate`` method.
        ValueError: On an unknown space name or render mode, or an evaluator bound to another
            space.
    """

    metadata: ClassVar[dict[str, Any]] = {"name": "cnn_design_v0",
                                          "render_modes": ["human", "ansi"],
                                          "is_parallelizable": True}

    def __init__(self, space: str | SearchSpace = "vgg_mini", evaluator: Evaluator | None = None,
                 reward: Reward | None = None, *, pad_actions: bool = False,
                 render_mode: str | None = None) -> None:
        super().__init__()
        self.space, self.evaluator, self.reward_fn = bind(space, evaluator, reward)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; expected one of "
                             f"{self.metadata['render_modes']} or None")
        self.render_mode = render_mode
        self.pad_actions = pad_actions
        self._episode = DesignEpisode(self.space, pad_actions=pad_actions)
        self.possible_agents = list(self.space.agents)
        nvec = observation_nvec(self.space)
        self._masks = {a: self._episode.action_mask(i) for i, a in enumerate(self.possible_agents)}
        self._action_spaces = {a: Discrete(len(m)) for a, m in self._masks.items()}
        self._observation_spaces = {
            a: Dict({"observation": MultiDiscrete(nvec),
                     "action_mask": Box(0, 1, (len(m),), dtype=np.int8)})
            for a, m in self._masks.items()
        }
        self.state_space = MultiDiscrete(nvec)
        self._np_random: np.random.Generator | None = None
        self.np_random_seed: int | None = None

    # ---------------------------------------------------------------- spaces
    def observation_space(self, agent: str) -> Dict:
        """The (cached) observation space of ``agent``; the same for every agent up to its mask."""
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

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        """The design so far (with the acting index) and ``agent``'s action mask."""
        return {"observation": self._episode.observation(), "action_mask": self._masks[agent]}

    def state(self) -> np.ndarray:
        """The global design vector (the observation vector)."""
        return self._episode.observation()

    def step(self, action: int | None) -> None:
        """Record the acting agent's action; after the last agent, evaluate and reward everyone.

        Raises:
            RuntimeError: If called before :meth:`reset` or after the episode ended.
            ValueError: If ``action`` is out of the agent's space, masked, or not an integer
                (``bool``, floats and strings refused; the message names the agent, the action and
                the legal range), or not ``None`` for a terminated agent.
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
            raise ValueError(f"agent {agent!r}: action None is only valid for a terminated agent")
        episode.step(action)
        self._cumulative_rewards[agent] = 0.0
        if episode.done:
            self._terminate()
        else:
            self.agent_selection = episode.agent
        self._accumulate_rewards()

    def _terminate(self) -> None:
        reward, info = finish(self._episode, evaluator=self.evaluator, reward_fn=self.reward_fn,
                              rng=self.np_random)
        masks = self._masks
        for agent in self.agents:
            self.rewards[agent] = reward
            self.terminations[agent] = True
            self.infos[agent] = {**info, "action_mask": masks[agent]}
        self.agent_selection = self.agents[0]

    # ---------------------------------------------------------------- render
    def render(self) -> str | None:
        """``"ansi"``: the design so far as a text table; ``"human"``: print it."""
        return render(self.render_mode, self.space, self._episode.actions)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return (f"CNNDesignEnv(space={self.space.name!r}, agents={len(self.possible_agents)}, "
                f"pad_actions={self.pad_actions})")


# ------------------------------------------------------------------- wrappers
# PettingZoo's wrappers reach the wrapped env's attributes through ``__getattr__``, which Python
# runs only after a failed normal lookup (an AttributeError raised and caught at each level): about
# 4 us per read of ``agent_selection`` through two wrappers, and ``Discrete.contains`` costs about
# 5 us per action, so a vgg16 episode took 2.3 ms wrapped against 0.4 ms raw. These subclasses add
# fast paths: plain properties for the bookkeeping attributes and ``last()`` delegated to the
# wrapped env. The order-enforcing checks and messages are PettingZoo's; the action check is the
# raw env's (a ``ValueError`` naming the agent, the action and the range, where PettingZoo's
# ``AssertOutOfBoundsWrapper`` asserted and accepted ``True`` as action 1).
_BOOKKEEPING = ("agents", "agent_selection", "rewards", "_cumulative_rewards", "terminations",
                "truncations", "infos")


def _forward(name: str, *, check_reset: bool) -> property:
    # Reads the attribute of the unwrapped env: the wrappers in between change none of these.
    if check_reset:
        def get(self: Any) -> Any:
            if not self._has_reset:
                raise AttributeError(f"{name} cannot be accessed before reset")
            return getattr(self._raw, name)
    else:
        def get(self: Any) -> Any:
            return getattr(self._raw, name)
    return property(get, doc=f"``{name}`` of the unwrapped env.")


class AssertOutOfBoundsWrapper(wrappers.AssertOutOfBoundsWrapper):
    """PettingZoo's ``AssertOutOfBoundsWrapper`` raising ``ValueError`` instead of asserting.

    The stock wrapper answers any action outside the agent's space with a bare
    ``AssertionError: action is not in action space`` (and accepts ``True`` as action 1); here
    the raw env's own checks apply: a ``ValueError`` naming the agent, the action and the legal
    range for an action that is not an integer (``bool``, float, string, ``None`` for a live
    agent), out of range or masked, and PettingZoo's ``ValueError`` for a non-``None`` action of
    a dead agent. The class keeps its name and base for code that looks for it.
    """

    def __init__(self, env: AECEnv) -> None:
        super().__init__(env)
        self._raw = env.unwrapped

    def step(self, action: Any) -> None:
        """Step; the raw env validates ``action`` (``ValueError``, see the class docstring)."""
        self.env.step(action)

    def last(self, observe: bool = True) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """``last()`` of the wrapped env."""
        return self.env.last(observe)


class OrderEnforcingWrapper(wrappers.OrderEnforcingWrapper):
    """PettingZoo's ``OrderEnforcingWrapper`` with fast paths (same checks)."""

    def __init__(self, env: AECEnv) -> None:
        super().__init__(env)
        self._raw = env.unwrapped

    def step(self, action: Any) -> None:
        """Step, or fail as PettingZoo does before reset / warn after the episode."""
        if self._has_reset and self._raw.agents:
            self._has_updated = True
            self.env.step(action)
        else:
            super().step(action)

    def last(self, observe: bool = True) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """``last()`` of the wrapped env (an AttributeError before reset)."""
        if not self._has_reset:
            return super().last(observe)
        return self.env.last(observe)

    def agent_iter(self, max_iter: int = 2**63) -> AECOrderEnforcingIterable:
        """Iterate over the acting agents, enforcing a ``step()`` per iteration."""
        if not self._has_reset:
            return super().agent_iter(max_iter)
        return _OrderEnforcingIterable(self, max_iter)


class _OrderEnforcingIterable(AECOrderEnforcingIterable):
    def __iter__(self) -> _OrderEnforcingIterator:
        return _OrderEnforcingIterator(self.env, self.max_iter)


class _OrderEnforcingIterator(AECOrderEnforcingIterator):
    """PettingZoo's iterator reading the unwrapped env's bookkeeping directly."""

    def __next__(self) -> str:
        env = self.env
        raw = env._raw
        if not raw.agents or self.iters_til_term <= 0:
            raise StopIteration
        self.iters_til_term -= 1
        assert env._has_updated, "need to call step() or reset() in a loop over `agent_iter`"
        env._has_updated = False
        return raw.agent_selection


for _name in (*_BOOKKEEPING, "possible_agents"):
    setattr(AssertOutOfBoundsWrapper, _name, _forward(_name, check_reset=False))
    setattr(OrderEnforcingWrapper, _name, _forward(_name, check_reset=_name != "possible_agents"))


raw_env = CNNDesignEnv
"""The bare env class (``raw_env(...)`` builds one without wrappers)."""

parallel_env = parallel_wrapper_fn(env)
"""Parallel view in which every agent decides at once, blind to the others (one step = one
design); use ``turn_based_aec_to_parallel(env(...))`` to keep the sequential observations."""


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`env`.

    Importing ``cnn_design_env.env`` rebinds the package attribute ``cnn_design_env.env`` from the
    :func:`env` factory to this module; making the module call :func:`env` keeps
    ``cnn_design_env.env(space=..., evaluator=...)`` working in every import order.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> AECEnv:
        return env(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
