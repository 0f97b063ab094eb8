"""The episode core shared by the PettingZoo and the Gymnasium views (pure: NumPy, no PettingZoo).

One episode is one design: the agents of a :class:`~cnn_design_env.space.SearchSpace` decide their
layer's action in agent order; when the last one has acted the design is complete and
:func:`finish` evaluates it once and turns the metrics into the shared terminal reward.

* :class:`DesignEpisode` holds the partial design, the observation vector and the action masks,
  and validates every action.
* :func:`bind` resolves the ``space`` / ``evaluator`` / ``reward`` arguments both envs take.
* :func:`finish` (complete design) and :func:`abandon` (an episode ended by an invalid action) build
  the terminal reward and info dict.

The observation vector has ``N + 1`` entries for ``N`` agents: entry ``i`` is ``action_i + 1`` once
agent ``i`` has decided, else ``0``; the last entry is the index of the acting agent (``N`` once
the design is complete). A predecessor ``j``'s action is ``observation[j] - 1``.

Example:
    >>> from cnn_design_env.space import get_space
    >>> episode = DesignEpisode(get_space("vgg_mini"))
    >>> episode.agent, episode.observation().tolist()
    ('conv1', [0, 0, 0, 0, 0, 0, 0])
    >>> for action in (3, 0, 1, 2, 1, 0):
    ...     episode.step(action)
    >>> episode.done, episode.observation().tolist(), episode.design().actions
    (True, [4, 1, 2, 3, 2, 1, 6], (3, 0, 1, 2, 1, 0))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from cnn_design_env.evaluators.base import Evaluator, Metrics, safe_evaluate
from cnn_design_env.evaluators.faults import scored
from cnn_design_env.evaluators.resolve import resolve_evaluator
from cnn_design_env.reward import PaperReward, Reward
from cnn_design_env.search.seeds import SEED_BOUND
from cnn_design_env.space import Design, SearchSpace, get_space, list_spaces
from cnn_design_env.space.design import action_index

INVALID_ACTIONS = ("raise", "penalty", "wrap")
"""Accepted values of the envs' ``invalid_action``: what a masked (padding) action does."""


def observation_nvec(space: SearchSpace) -> np.ndarray:
    """The ``MultiDiscrete`` sizes of the observation vector, identical for every agent.

    ``[|A_1| + 1, ..., |A_N| + 1, N + 1]``: each decided action shifted by one (0 = undecided),
    then the acting agent's index, which is ``N`` once the design is complete.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> observation_nvec(get_space("vgg_mini")).tolist()
        [13, 13, 3, 13, 3, 4, 7]
    """
    return np.array([n + 1 for n in space.action_sizes] + [space.num_agents + 1], dtype=np.int64)


class DesignEpisode:
    """The state of one design episode: who acts next and what has been decided.

    Masks are precomputed read-only arrays, shared between calls; :meth:`observation` returns a
    fresh array each call.

    Args:
        space: The search space.
        pad_actions: Give every agent ``max |A_i|`` actions, the extra ones masked (0 in the mask).
        names: The agents' names in error messages, in agent order (the env passes its agent ids,
            and a message then reads ``agent 'conv_1' (layer 'conv2')``); default the layers'.

    Attributes:
        space: The search space.
        num_actions: The padded number of actions when ``pad_actions``, else ``None``.
        position: Index of the acting agent; ``space.num_agents`` once the design is complete.
        agent: Name of the acting agent; ``None`` once the design is complete.
        done: Whether the design is complete.
    """

    def __init__(self, space: SearchSpace, *, pad_actions: bool = False,
                 names: Sequence[str] | None = None) -> None:
        self.space = space
        self._labels = tuple(repr(layer) if name == layer else f"{name!r} (layer {layer!r})"
                             for name, layer in zip(names or space.agents, space.agents,
                                                    strict=True))
        self._agents = space.agents
        self._sizes = space.action_sizes
        self._n = space.num_agents
        self.num_actions: int | None = max(self._sizes) if pad_actions else None
        self._limit = self.num_actions or 0
        self._masks = tuple(_mask(n, self.num_actions or n) for n in self._sizes)
        self._obs = np.zeros(self._n + 1, dtype=np.int64)
        self._actions: list[int] = []
        self._hparams = _HyperparameterCache(space)
        self.reset()

    def reset(self) -> None:
        """Start a new, empty design."""
        self._obs[:] = 0
        self._actions.clear()
        self.position = 0
        self.agent: str | None = self._agents[0]
        self.done = False

    @property
    def actions(self) -> tuple[int, ...]:
        """The actions decided so far, in agent order."""
        return tuple(self._actions)

    def action_mask(self, index: int | None = None) -> np.ndarray:
        """The read-only int8 mask (1 = legal) of agent ``index`` (default: the acting agent).

        Raises:
            ValueError: If ``index`` is None and the design is complete.
        """
        if index is None:
            if self.done:
                raise ValueError("the design is complete: no agent is acting")
            index = self.position
        return self._masks[index]

    def observation(self) -> np.ndarray:
        """A new int64 vector: ``action + 1`` per decided agent, 0 if undecided, acting index."""
        return self._obs.copy()

    def step(self, action: Any) -> None:
        """Record the acting agent's ``action`` and move to the next agent.

        Raises:
            ValueError: If the design is already complete, or ``action`` is not an integer, is out
                of the agent's action space, or is a masked (padding) action; the message names the
                agent and the action.
        """
        if self.done:
            raise ValueError(f"action {action!r}: the design is already complete; call reset()")
        position = self.position
        size = self._sizes[position]
        index = action if type(action) is int else self.check_integer(action)
        if not 0 <= index < size:
            raise ValueError(self._out_of_range(index, size))
        self._actions.append(index)
        self._obs[position] = index + 1
        position += 1
        self.position = position
        self._obs[-1] = position
        if position == self._n:
            self.agent = None
            self.done = True
        else:
            self.agent = self._agents[position]

    def check_integer(self, action: Any) -> int:
        """``action`` as an ``int`` if it is an integer (``bool``, floats, strings and ``None``
        refused with a ``ValueError`` naming the acting agent, the action and the legal range)."""
        try:
            return action_index(action)
        except ValueError:
            size = self._sizes[self.position]
            raise ValueError(
                f"agent {self._labels[self.position]}: action {action!r} is not an integer "
                f"({type(action).__name__}); expected an integer in [0, {self._limit or size})"
            ) from None

    def _out_of_range(self, index: int, size: int) -> str:
        if size <= index < self._limit:
            return (f"agent {self._labels[self.position]}: action {index} is masked (padding); "
                    f"legal actions are [0, {size}) of the padded Discrete({self._limit})")
        return (f"agent {self._labels[self.position]}: action {index} is out of range; expected "
                f"an integer in [0, {self._limit or size})")

    def resolve(self, action: Any, invalid_action: str) -> tuple[int | None, str | None]:
        """What to do with ``action`` of the acting agent under ``invalid_action``.

        A masked (padding) action ``|A_i| <= action < max |A|`` is folded into the legal range
        (``"wrap"``: ``action % |A_i|``, uniform actions stay uniform) or ends the episode
        (``"penalty"``); with ``"raise"`` (and for anything outside the padded space) it is left
        for :meth:`step` to refuse.

        Returns:
            ``(index, None)`` to step ``index``, or ``(None, reason)`` to end the episode with
            the penalty (see :func:`abandon`).

        Raises:
            ValueError: If ``action`` is not an integer (see :meth:`check_integer`).
        """
        index = action if type(action) is int else self.check_integer(action)
        size = self._sizes[self.position]
        if size <= index < self._limit and invalid_action != "raise":
            if invalid_action == "wrap":
                return index % size, None
            return None, (f"invalid action {index} for agent {self._labels[self.position]} "
                          f"(legal: [0, {size}))")
        return index, None

    def design(self) -> Design:
        """The complete design.

        Raises:
            ValueError: If the design is not complete yet.
        """
        if not self.done:
            raise ValueError(f"the design is not complete: agent {self.agent!r} (position "
                             f"{self.position} of {self._n}) has not acted")
        return Design(tuple(self._actions))

    def hyperparameters(self) -> dict[str, dict[str, Any]]:
        """``space.hyperparameters(design())``, from per-action values cached across episodes.

        Raises:
            ValueError: If the design is not complete yet.
        """
        if not self.done:
            self.design()  # raises, naming the agent still to act
        return self._hparams.of(self._actions)


class _HyperparameterCache:
    """Per-layer hyperparameter dicts of each action, built on first use and copied out."""

    def __init__(self, space: SearchSpace) -> None:
        index = space.agent_index
        # (layer, agent position or None for a fixed layer, per-action cache)
        self._layers = tuple((la, index.get(la.name), [None] * la.num_actions)
                             for la in space.layers)

    def of(self, actions: list[int]) -> dict[str, dict[str, Any]]:
        out = {}
        for layer, position, cache in self._layers:
            action = 0 if position is None else actions[position]
            values = cache[action]
            if values is None:
                values = cache[action] = layer.hyperparameters(
                    None if position is None else action)
            out[layer.name] = dict(values)
        return out


def _mask(size: int, length: int) -> np.ndarray:
    mask = np.zeros(length, dtype=np.int8)
    mask[:size] = 1
    mask.flags.writeable = False
    return mask


def check_invalid_action(invalid_action: str) -> str:
    """``invalid_action`` if it is one of :data:`INVALID_ACTIONS`.

    Raises:
        ValueError: Naming the value and the accepted ones.
    """
    if invalid_action not in INVALID_ACTIONS:
        raise ValueError(f"unknown invalid_action {invalid_action!r}; expected one of "
                         f"{INVALID_ACTIONS}")
    return invalid_action


def bind(space: str | SearchSpace, evaluator: Evaluator | None, reward: Reward | None
         ) -> tuple[SearchSpace, Evaluator, Reward]:
    """Resolve the ``space``, ``evaluator`` and ``reward`` arguments of the envs.

    A preset name resolves to the evaluator's own space when the evaluator is bound to that preset
    (so a space rebuilt for other data keeps its input shape), else to ``get_space(name)``.

    Args:
        space: A preset name (see :func:`~cnn_design_env.list_spaces`) or a ``SearchSpace``.
        evaluator: Required; anything with ``evaluate(design, *, seed) -> Metrics``.
        reward: ``Metrics -> float``; ``None`` gives the paper's :class:`PaperReward`.

    Returns:
        ``(space, evaluator, reward)``.

    Raises:
        TypeError: If the evaluator is missing or has no ``evaluate`` method, the space is neither
            a name nor a ``SearchSpace``, or the reward is not callable.
        ValueError: If the name is not a preset, or the evaluator is bound to a different space
            (other name, agents or action-set sizes).
    """
    evaluator = resolve_evaluator(evaluator, space)
    if evaluator is None:
        raise TypeError("an evaluator is required: pass evaluator=<object with "
                        "evaluate(design, *, seed) -> Metrics>, e.g. a TrainingEvaluator")
    if not callable(getattr(evaluator, "evaluate", None)):
        raise TypeError(f"evaluator {evaluator!r} has no evaluate(design, *, seed) method")
    bound = getattr(evaluator, "space", None)
    if isinstance(space, str):
        if space not in list_spaces():
            raise ValueError(f"unknown space {space!r}; expected one of {list_spaces()} or a "
                             "SearchSpace")
        own = isinstance(bound, SearchSpace) and bound.name == space
        space = bound if own else get_space(space)
    elif not isinstance(space, SearchSpace):
        raise TypeError(f"space must be a preset name or a SearchSpace, got {space!r}")
    if isinstance(bound, SearchSpace) and bound is not space and (
            bound.name != space.name or bound.agents != space.agents
            or bound.action_sizes != space.action_sizes):
        raise ValueError(f"the evaluator is bound to space {bound.name!r} ({bound.num_agents} "
                         f"agents) but the env was given space {space.name!r} "
                         f"({space.num_agents} agents); pass the evaluator's space")
    reward = PaperReward() if reward is None else reward
    if not callable(reward):
        raise TypeError(f"reward must be callable as reward(metrics) -> float, got {reward!r}")
    return space, evaluator, reward


def finish(episode: DesignEpisode, *, evaluator: Evaluator, reward_fn: Reward,
           rng: np.random.Generator) -> tuple[float, dict[str, Any]]:
    """Evaluate the complete design of ``episode`` and build its terminal reward and info.

    The evaluation seed is drawn from ``rng`` (the env's ``np_random``), so ``reset(seed=...)``
    makes the whole episode reproducible. An evaluator that raises gives a terminated ``Metrics``
    (see :func:`~cnn_design_env.evaluators.safe_evaluate`) and so the reward's penalty; so does a
    non-finite metric or reward (:func:`~cnn_design_env.evaluators.faults.scored`), so no agent is
    ever told a NaN.

    Returns:
        ``(reward, info)``; ``info`` holds ``"design"`` (tuple of action indices),
        ``"hyperparameters"`` (per layer), ``"metrics"`` (``Metrics.to_dict()``), ``"reward"``
        and ``"eval_seed"``.

    Raises:
        ValueError: If the design is not complete.
    """
    design = episode.design()
    seed = int(rng.integers(SEED_BOUND))
    metrics, reward = scored(safe_evaluate(evaluator, design, seed=seed), reward_fn)
    return reward, {"design": design.actions, "hyperparameters": episode.hyperparameters(),
                    "metrics": metrics.to_dict(), "reward": reward, "eval_seed": seed}


def abandon(episode: DesignEpisode, reason: str, *, reward_fn: Reward
            ) -> tuple[float, dict[str, Any]]:
    """End ``episode`` before its design is complete: the reward of ``Metrics.failed(reason)``.

    Returns:
        ``(reward, info)`` with the same keys as :func:`finish`; ``"design"`` holds the actions
        decided so far, ``"hyperparameters"`` is ``None`` and ``"eval_seed"`` is ``None`` (nothing
        was evaluated).
    """
    metrics = Metrics.failed(reason)
    reward = float(reward_fn(metrics))
    return reward, {"design": episode.actions, "hyperparameters": None,
                    "metrics": metrics.to_dict(), "reward": reward, "eval_seed": None}
