"""A policy-gradient team in JAX/Optax: REINFORCE on the shared terminal reward.

A learning baseline written on the env's public API alone (the observation layout of
``cnn_design_env.episode.observation_nvec`` and the :class:`~cnn_design_env.space.SearchSpace`),
driven like any third-party algorithm by the AEC loop::

    team = ReinforceTeam(space, seed=0)
    for agent in env.agent_iter():
        obs, reward, term, trunc, info = env.last()
        if term or trunc:
            if "design" in info:                  # the design is complete: learn once
                team.learn(Design(info["design"]), info["reward"])
            env.step(None)
        else:
            env.step(team.act(agent, obs))

Policies. Every agent has a softmax policy over its own actions. Two parameterisations:

* ``shared_policy=False`` (default): one policy per agent, with the structure of the paper's
  Q-tables: ``logits_v = b_v + sum_{u -> v} T_{u,v}[a_u]``, a bias per agent plus one
  ``|A_u| x |A_v|`` table per edge ``u -> v`` of the agent graph (``space.agent_edges``), read
  at the predecessor's action ``a_u`` (taken from the observation). Zero-initialised: every
  policy starts uniform.
* ``shared_policy=True``: one MLP for all agents, on the one-hot encoding of the whole observation
  (the partial design *and* the acting agent's index, the observation's last entry), with a
  ``hidden``-unit tanh layer and an output padded to the largest action set; a mask keeps each agent
  to its own actions (and to whatever the env's ``action_mask`` allows).

Which parameters an agent reads and writes is the explicit mapping :attr:`ReinforceTeam.policy_of`.

Learning. After each episode, one Adam step (``optax.chain(clip_by_global_norm, adam)``, jitted) on
``-(R - b) / s * sum_i log pi_i(a_i | o_i)`` (minus an optional entropy bonus), where the baseline
``b`` is an exponential moving average of past rewards (``baseline="ema"``) and ``s`` a moving
standard deviation (``normalize=True``), which makes the learning rate independent of the reward's
scale. ``baseline="none"`` uses ``b = 0``.

Randomness: parameters from ``jax.random.key(seed)``, action sampling from
``np.random.default_rng(seed)``; two teams with the same seed fed the same rewards act identically.
``act`` runs in NumPy on a host copy of the parameters, refreshed after each update.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnn_design_env.episode import observation_nvec
from cnn_design_env.evaluators import Metrics
from cnn_design_env.observations import agent_ids
from cnn_design_env.space import Design, SearchSpace

BASELINES = ("ema", "none")
_MASKED = -1e9


def edge_logits(params: Mapping[str, Any], obs: Any, *, src: Any, dst: Any, xp: Any = np) -> Any:
    """Per-agent logits ``b_v + sum_{u -> v} T_{u,v}[a_u]`` for observations ``obs``.

    Args:
        params: ``{"bias": [N, A], "edges": [E, A, A]}`` (``A`` the largest action set).
        obs: Observation vectors, shape ``[..., N + 1]`` (entry ``j`` = action ``+ 1`` or 0; last
            entry the acting agent's index).
        src: Source agent index of each edge, shape ``[E]``.
        dst: Destination agent index of each edge, shape ``[E]``.
        xp: ``numpy`` or ``jax.numpy``.

    Returns:
        Logits of shape ``[..., A]`` for the acting agent of each observation.
    """
    position = obs[..., -1]
    previous = obs[..., src]  # [..., E]: predecessor action + 1, or 0 if undecided
    contributions = params["edges"][xp.arange(src.shape[0]), xp.maximum(previous - 1, 0)]
    active = (dst == position[..., None]) & (previous > 0)
    return params["bias"][position] + (active[..., None] * contributions).sum(-2)


def mlp_logits(params: Mapping[str, Any], obs: Any, *, offsets: Any, xp: Any = np) -> Any:
    """Shared-policy logits: a tanh MLP on the one-hot encoding of ``obs``.

    Args:
        params: ``{"w1": [D, H], "b1": [H], "w2": [H, A], "b2": [A]}`` with ``D`` the sum of
            the observation's ``nvec``.
        obs: Observation vectors, shape ``[..., N + 1]``.
        offsets: Start of each observation entry's block in the one-hot vector, shape ``[N + 1]``.
        xp: ``numpy`` or ``jax.numpy``.

    Returns:
        Logits of shape ``[..., A]``.
    """
    hidden = xp.tanh(params["w1"][offsets + obs].sum(-2) + params["b1"])
    return hidden @ params["w2"] + params["b2"]


class ReinforceTeam:
    """Softmax policies for every agent of ``space``, trained with REINFORCE on the team reward.

    Args:
        space: The search space the env was built on.
        seed: Seeds parameter initialisation (``jax.random``) and action sampling (NumPy).
        learning_rate: Adam step size; ``None`` picks 0.05 for per-agent policies and 0.003 for
            the shared MLP (whose many hidden units all move one logit, so Adam's per-parameter
            steps add up: larger rates collapse it early on ``vgg_mini``).
        shared_policy: One MLP for all agents (conditioned on the acting agent's index) instead of
            one edge-factored policy per agent; see the module docstring.
        hidden: Hidden units of the shared MLP (ignored without ``shared_policy``).
        baseline: ``"ema"`` (moving average of rewards) or ``"none"``.
        baseline_decay: Decay of the moving averages, in ``[0, 1)``.
        normalize: Divide the advantage by a moving standard deviation of the reward.
        entropy_coef: Weight of an entropy bonus (0 disables it).
        max_grad_norm: Global gradient-norm clip.

    Raises:
        ValueError: On an unknown ``baseline`` or a parameter out of range.

    Example:
        >>> from cnn_design_env import get_space
        >>> team = ReinforceTeam(get_space("vgg_mini"), seed=0)
        >>> team.probabilities("conv1", np.zeros(7, dtype=np.int64)).round(3)[:3]
        array([0.083, 0.083, 0.083])
    """

    def __init__(self, space: SearchSpace, *, seed: int, learning_rate: float | None = None,
                 shared_policy: bool = False, hidden: int = 64, baseline: str = "ema",
                 baseline_decay: float = 0.9, normalize: bool = True, entropy_coef: float = 0.0,
                 max_grad_norm: float = 1.0) -> None:
        if baseline not in BASELINES:
            raise ValueError(f"unknown baseline {baseline!r}; expected one of {BASELINES}")
        if not 0.0 <= baseline_decay < 1.0:
            raise ValueError(f"baseline_decay must be in [0, 1), got {baseline_decay!r}")
        if learning_rate is None:
            learning_rate = 0.003 if shared_policy else 0.05
        if learning_rate <= 0 or hidden < 1 or max_grad_norm <= 0 or entropy_coef < 0:
            raise ValueError(
                f"expected learning_rate > 0, hidden >= 1, max_grad_norm > 0, entropy_coef >= 0; "
                f"got {learning_rate!r}, {hidden!r}, {max_grad_norm!r}, {entropy_coef!r}")
        self.space = space
        self.shared_policy = shared_policy
        self.baseline = baseline
        self.baseline_decay = baseline_decay
        self.normalize = normalize
        self.num_actions = max(space.action_sizes)
        self.policy_of: Mapping[str, str] = {
            agent: "shared" if shared_policy else agent for agent in space.agents}
        """Which policy each agent reads and writes (``"shared"`` or the agent's own)."""
        self._rng = np.random.default_rng(seed)
        self._legal = np.arange(self.num_actions)[None, :] < np.array(space.action_sizes)[:, None]
        self._logits, params = self._build_model(jax.random.key(seed), hidden)
        optimizer = optax.chain(optax.clip_by_global_norm(max_grad_norm),
                                optax.adam(learning_rate))
        self._params = params
        self._opt_state = optimizer.init(params)
        self._host_params = jax.device_get(params)
        self._update = jax.jit(partial(_update, logits_fn=partial(self._logits, xp=jnp),
                                       optimizer=optimizer, entropy_coef=entropy_coef))
        self._trajectory: dict[int, tuple[int, np.ndarray]] = {}
        self._mean = 0.0
        self._var = 0.0
        self.episodes = 0
        # the env's agent ids (``conv_0``) and the layer names (``conv1``) both name an agent
        self._positions = {**dict(zip(agent_ids(space), range(space.num_agents), strict=True)),
                           **space.agent_index}

    def _build_model(self, key: jax.Array, hidden: int) -> tuple[Callable[..., Any], dict]:
        space, size = self.space, self.num_actions
        if not self.shared_policy:
            index = space.agent_index
            src = np.array([index[u] for u, _ in space.agent_edges], dtype=np.int32)
            dst = np.array([index[v] for _, v in space.agent_edges], dtype=np.int32)
            params = {"bias": jnp.zeros((space.num_agents, size)),
                      "edges": jnp.zeros((len(src), size, size))}
            return partial(edge_logits, src=src, dst=dst), params
        nvec = observation_nvec(space)
        offsets = np.concatenate([[0], np.cumsum(nvec)[:-1]]).astype(np.int32)
        scale = 1.0 / math.sqrt(len(nvec))
        params = {"w1": scale * jax.random.normal(key, (int(nvec.sum()), hidden)),
                  "b1": jnp.zeros(hidden), "w2": jnp.zeros((hidden, size)), "b2": jnp.zeros(size)}
        return partial(mlp_logits, offsets=offsets), params

    # ------------------------------------------------------------------ acting
    def probabilities(self, agent: str, observation: Mapping[str, Any] | np.ndarray
                      ) -> np.ndarray:
        """The policy of ``agent`` at ``observation``: probabilities over its ``|A_agent|`` actions.

        Args:
            agent: The acting agent.
            observation: The env's observation dict (``"observation"``, ``"action_mask"``) or the
                bare observation vector.

        Raises:
            ValueError: If ``agent`` is unknown or the observation says another agent is acting.
        """
        position, vector, mask = self._parse(agent, observation)
        return self._probabilities(position, vector, mask)[: self.space.action_sizes[position]]

    def act(self, agent: str, observation: Mapping[str, Any] | np.ndarray) -> int:
        """Sample ``agent``'s action at ``observation`` (see :meth:`probabilities`)."""
        position, vector, mask = self._parse(agent, observation)
        probabilities = self._probabilities(position, vector, mask)
        action = int(self._rng.choice(self.num_actions, p=probabilities))
        self._trajectory[position] = (action, mask)
        return action

    def greedy_design(self) -> Design:
        """The design of the most probable action of every agent in turn."""
        n = self.space.num_agents
        vector = np.zeros(n + 1, dtype=np.int64)
        for position in range(n):
            vector[-1] = position
            probabilities = self._probabilities(position, vector, self._legal[position])
            vector[position] = int(np.argmax(probabilities)) + 1
        return Design(tuple(int(a) - 1 for a in vector[:n]))

    def _parse(self, agent: str, observation: Mapping[str, Any] | np.ndarray
               ) -> tuple[int, np.ndarray, np.ndarray]:
        position = self._positions.get(agent)
        if position is None:
            raise ValueError(f"unknown agent {agent!r}; expected one of {self.space.agents}")
        mask = self._legal[position].copy()
        if isinstance(observation, Mapping):
            given = np.asarray(observation["action_mask"], dtype=bool)
            mask[: len(given)] &= given
            observation = observation["observation"]
        vector = np.asarray(observation, dtype=np.int64)
        if vector.shape != (self.space.num_agents + 1,) or vector[-1] != position:
            raise ValueError(f"observation {vector.tolist()} is not agent {agent!r}'s: expected "
                             f"{self.space.num_agents + 1} entries ending with {position}")
        if not mask.any():
            raise ValueError(f"agent {agent!r} has no legal action in its action mask")
        return position, vector, mask

    def _probabilities(self, position: int, vector: np.ndarray, mask: np.ndarray) -> np.ndarray:
        logits = np.asarray(self._logits(self._host_params, vector, xp=np), dtype=np.float64)
        logits = np.where(mask, logits, -np.inf)
        weights = np.exp(logits - logits.max())
        return weights / weights.sum()

    # ---------------------------------------------------------------- learning
    def learn(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """One REINFORCE step on a finished episode.

        The observations are rebuilt from ``design`` (agent ``i`` saw the actions of agents
        ``0..i-1``); the masks are those :meth:`act` saw where it chose these actions, else each
        agent's full action set.

        Args:
            design: The finished design (``Design(info["design"])``).
            reward: The team reward of the episode.
            metrics: Unused; accepted for the team interface.

        Raises:
            ValueError: If ``design`` is not in the space or ``reward`` is not finite.
        """
        design = self.space.validate(design)
        reward = float(reward)
        if not math.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        n = self.space.num_agents
        actions = np.array(design.actions, dtype=np.int32)
        observations = np.zeros((n, n + 1), dtype=np.int32)
        observations[:, :n] = np.tril(np.broadcast_to(actions + 1, (n, n)), k=-1)
        observations[:, n] = np.arange(n)
        masks = self._legal.copy()
        for position, (action, mask) in self._trajectory.items():
            if action == actions[position]:
                masks[position] = mask
        self._trajectory = {}
        advantage = self._advantage(reward)
        self._params, self._opt_state = self._update(
            self._params, self._opt_state, observations, actions, masks, np.float32(advantage))
        self._host_params = jax.device_get(self._params)
        self.episodes += 1

    def _advantage(self, reward: float) -> float:
        """``(R - b) / s`` with bias-corrected moving averages, then update ``b`` and ``s``."""
        if self.baseline == "none":
            return reward
        decay = self.baseline_decay
        correction = 1.0 - decay ** self.episodes if self.episodes else 1.0
        mean = self._mean / correction if self.episodes else reward
        deviation = reward - mean
        self._mean = decay * self._mean + (1 - decay) * reward
        self._var = decay * self._var + (1 - decay) * deviation ** 2
        if not self.normalize:
            return deviation
        std = math.sqrt(self._var / (1.0 - decay ** (self.episodes + 1)))
        return deviation / std if std > 1e-12 else 0.0

    @property
    def baseline_value(self) -> float:
        """The current baseline ``b`` (0 before the first episode or with ``baseline="none"``)."""
        if self.baseline == "none" or not self.episodes:
            return 0.0
        return self._mean / (1.0 - self.baseline_decay ** self.episodes)


def _update(params: Any, opt_state: Any, observations: jax.Array, actions: jax.Array,
            masks: jax.Array, advantage: jax.Array, *, logits_fn: Callable[..., jax.Array],
            optimizer: optax.GradientTransformation, entropy_coef: float) -> tuple[Any, Any]:
    """One Adam step on the REINFORCE loss of one episode (pure; jitted per team)."""

    def loss(p: Any) -> jax.Array:
        logits = jnp.where(masks, logits_fn(p, observations), _MASKED)
        log_probs = jax.nn.log_softmax(logits)
        chosen = jnp.take_along_axis(log_probs, actions[:, None], axis=1).sum()
        entropy = -(jnp.exp(log_probs) * jnp.where(masks, log_probs, 0.0)).sum(-1).mean()
        return -advantage * chosen - entropy_coef * entropy

    grads = jax.grad(loss)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state
