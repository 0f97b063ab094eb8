"""The single-agent Gymnasium view of the CNN design problem.

One agent designs the whole network layer by layer (the MetaQNN setting): one step per agent of
the :class:`~cnn_design_env.space.SearchSpace`, in the same order and with the same observation
encoding, evaluator, reward and episode core (:mod:`cnn_design_env.episode`) as the PettingZoo
env, so an episode here and in the AEC env with the same seed and actions give the same design,
reward and metrics.

| Creation          | `gymnasium.make("cnn_design_env/CNNDesign-v0", space=..., evaluator=...)` |
|-------------------|---------------------------------------------------------------------------|
| Action space      | `Discrete(n)`, `n` the largest action set; legal ones in `action_masks()` |
| Action mask       | `info["action_mask"]` and `env.action_masks()` (int8, 1 = legal)          |
| Observation space | `MultiDiscrete(observation_nvec(space))`, the AEC env's `"observation"`   |
| Observation       | `action_i + 1` per decided layer (0 = undecided), then the acting index   |
| Reward            | 0 until the design is complete, then `R = reward(metrics)`                |
| Termination       | `terminated=True` once the design is complete (never truncated)           |

**Invalid actions.** An action outside ``Discrete(max |A_i|)`` always raises ``ValueError``. An
action inside it but masked for the layer being decided (``action >= |A_i|``) is handled by
``invalid_action``:

* ``"penalty"`` (default): the episode ends there, ``terminated=True``, with the reward of a
  terminated evaluation (``reward(Metrics.failed(reason))``, -1 for the paper's reward), and
  ``info["metrics"]["reason"]`` says which action was invalid. Every element of the action
  space is then a valid input to ``step``, as Gymnasium's API (and ``check_env``, which steps
  sampled actions) expects.
* ``"raise"``: ``ValueError`` naming the layer and the action.
* ``"wrap"``: the action is taken modulo ``|A_i|`` (uniform actions stay uniform).

Maskable algorithms (sb3-contrib's ``MaskablePPO``) never produce masked actions.

**Infos.** Every step's info has ``"action_mask"`` (all zeros once the episode is over). The
terminal info adds the keys of the AEC env's terminal infos: ``"design"``, ``"hyperparameters"``,
``"metrics"``, ``"reward"``, ``"eval_seed"``.

**Version history.** v0: initial version (0.1.0).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium
import numpy as np
from gymnasium.spaces import Discrete, MultiDiscrete

from cnn_design_env.episode import (
    INVALID_ACTIONS,
    DesignEpisode,
    abandon,
    bind,
    check_invalid_action,
    finish,
    observation_nvec,
)
from cnn_design_env.evaluators.base import Evaluator
from cnn_design_env.registration import ENV_NAME
from cnn_design_env.render import RENDER_MODES, render
from cnn_design_env.reward import Reward
from cnn_design_env.space import SearchSpace

__all__ = ["INVALID_ACTIONS", "CNNDesignGymEnv"]

class CNNDesignGymEnv(gymnasium.Env):
    """Design a CNN layer by layer as a single agent.

    Args:
        space: A preset name or a :class:`~cnn_design_env.space.SearchSpace`.
        evaluator: Required; scores complete designs (``evaluate(design, *, seed) -> Metrics``).
        reward: ``Metrics -> float``; ``None`` gives :class:`~cnn_design_env.reward.PaperReward`.
        invalid_action: ``"penalty"``, ``"raise"`` or ``"wrap"`` (see the module docstring).
        render_mode: ``None``, ``"ansi"`` or ``"human"``.

    Raises:
        TypeError: If the evaluator is missing or has no ``evaluate`` method.
        ValueError: On an unknown space name, ``invalid_action`` or render mode, or an evaluator
            bound to another space.

    Example:
        >>> from cnn_design_env import Metrics
        >>> class Constant:
        ...     def evaluate(self, design, *, seed):
        ...         return Metrics(accuracy=0.5, epochs=1)
        >>> env = CNNDesignGymEnv("vgg_mini", Constant())
        >>> obs, info = env.reset(seed=0)
        >>> terminated = False
        >>> while not terminated:
        ...     action = int(np.flatnonzero(info["action_mask"])[-1])
        ...     obs, reward, terminated, truncated, info = env.step(action)
        >>> round(reward, 6), info["design"], obs.tolist()    # N_epoch floored at 3
        (15.0, (11, 11, 1, 11, 1, 2), [12, 12, 2, 12, 2, 3, 6])
    """

    metadata: ClassVar[dict[str, Any]] = {"name": ENV_NAME, "render_modes": list(RENDER_MODES),
                                          "render_fps": 4}

    def __init__(self, space: str | SearchSpace = "vgg_mini", evaluator: Evaluator | None = None,
                 reward: Reward | None = None, *, invalid_action: str = "penalty",
                 render_mode: str | None = None) -> None:
        self.space, self.evaluator, self.reward_fn = bind(space, evaluator, reward)
        check_invalid_action(invalid_action)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"unknown render_mode {render_mode!r}; expected one of "
                             f"{self.metadata['render_modes']} or None")
        self.invalid_action = invalid_action
        self.render_mode = render_mode
        self._episode = DesignEpisode(self.space, pad_actions=True)
        self.action_space = Discrete(self._episode.num_actions)
        self.observation_space = MultiDiscrete(observation_nvec(self.space))
        self._no_action = np.zeros(self._episode.num_actions, dtype=np.int8)
        self._over = True

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new design; ``seed`` reseeds :attr:`np_random` (evaluation seeds)."""
        super().reset(seed=seed)
        self._episode.reset()
        self._over = False
        if self.render_mode == "human":
            self.render()
        return self._episode.observation(), {"action_mask": self.action_masks()}

    def action_masks(self) -> np.ndarray:
        """A new int8 mask of the legal actions now (all zeros once the episode is over)."""
        if self._over:
            return self._no_action.copy()
        return self._episode.action_mask().copy()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Decide the current layer; after the last one, evaluate and return the reward.

        Raises:
            RuntimeError: If the episode is over (or was never reset): call :meth:`reset`.
            ValueError: If ``action`` is not an integer of the action space (``bool``, floats
                and strings are refused), or is masked and ``invalid_action="raise"``.
        """
        if self._over:
            raise RuntimeError("step() called on a finished episode (or before reset()); "
                               "call reset() first")
        episode = self._episode
        index, reason = episode.resolve(action, self.invalid_action)
        if reason is not None:
            reward, info = abandon(episode, reason, reward_fn=self.reward_fn)
            return self._end(reward, info)
        episode.step(index)  # raises on out-of-range and (with "raise") masked actions
        if episode.done:
            reward, info = finish(episode, evaluator=self.evaluator, reward_fn=self.reward_fn,
                                  rng=self.np_random)
            return self._end(reward, info)
        if self.render_mode == "human":
            self.render()
        return episode.observation(), 0.0, False, False, {"action_mask": self.action_masks()}

    def _end(self, reward: float, info: dict[str, Any]
             ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self._over = True
        info["action_mask"] = self.action_masks()
        if self.render_mode == "human":
            self.render()
        return self._episode.observation(), reward, True, False, info

    def render(self) -> str | np.ndarray | None:
        """``"ansi"``: the design so far as a text table; ``"human"``: print it;
        ``"rgb_array"``: a picture of it (``(H, W, 3)`` uint8)."""
        return render(self.render_mode, self.space, self._episode.actions)
