"""Checkpoints of a tabular team: its whole state as arrays and a JSON document.

:class:`TeamState` is the part of :class:`~agents.base.TabularTeam` that saves and restores
everything a run needs to go on exactly: the tables (through the subclass's ``_arrays``), the
experienced designs, the generator and its buffered uniforms, the schedules, the convergence
bookkeeping and an episode in progress.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import numpy as np

from agents import stream
from agents.phases import EpisodeInfo
from agents.schedules import schedule_from_dict
from cnn_design_env.space import Design

__all__ = ["TeamState"]


class TeamState(ABC):
    """Mixin: ``state_dict`` / ``load_state_dict`` / ``save`` / ``load`` of a tabular team."""

    def _episode_state(self) -> dict[str, Any]:
        return {"coin": self._ep_coin, "epsilon": self._ep_epsilon, "explored": self._explored()}

    def _set_episode_state(self, state: Mapping[str, Any]) -> None:
        self._ep_coin = state["coin"]
        self._ep_epsilon = float(state["epsilon"])
        self._ep_explored = bool(state["explored"])
        self._cursor = -1

    def _params(self) -> dict[str, Any]:
        return {"seed": self.seed, "exploration_episodes": self._exploration_episodes,
                "alpha": self.alpha_schedule.to_dict(), "epsilon": self.epsilon_schedule.to_dict(),
                "coin": self.coin, "convergence_window": self.convergence_window}

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
        ``bit_generator.state`` and the state of an episode in progress (as acting agent by agent
        would have left it: a plan is not saved, it is made again on resume).
        """
        seen = np.array(list(self._seen), dtype=np.int64).reshape(len(self._seen), self._n)
        block, next_uniform, ahead = self._stream_state()
        meta = {
            "class": type(self).__name__, "space": self.space.name,
            "action_sizes": self._sizes.tolist(),
            "edges": [list(e) for e in self.space.agent_edges],
            "params": self._params(), "episodes": self.episodes,
            "rng": self._rng.bit_generator.state, "next_uniform": next_uniform,
            "episode_state": self._episode_state(),
            "streak": [self._streak, None if self._streak_design is None
                       else list(self._streak_design)],
            "converged": [None if self.converged_design is None
                          else list(self.converged_design.actions), self.converged_episode],
            "last_episode": None if self.last_episode is None else asdict(self.last_episode),
        }
        uniforms = np.array(block, dtype=np.float64)
        ahead = np.array(ahead, dtype=np.float64).reshape(len(ahead), stream.UNIFORM_BLOCK)
        return {**self._arrays(), "seen": seen, "uniforms": uniforms, "ahead": ahead}, meta

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
        self._rng.bit_generator.state = meta["rng"]
        self._uniforms = np.asarray(arrays["uniforms"], dtype=np.float64).tolist()
        self._next_uniform = int(meta["next_uniform"])
        ahead = arrays["ahead"] if "ahead" in arrays else np.zeros((0, stream.UNIFORM_BLOCK))
        self._ahead = np.asarray(ahead, dtype=np.float64).tolist()
        self._base = 0
        self._blocks = [(0, self._uniforms)]
        self._set_episode_state(meta["episode_state"])
        streak, streak_design = meta["streak"]
        self._streak = int(streak)
        self._streak_design = None if streak_design is None else tuple(streak_design)
        design, episode = meta["converged"]
        self.converged_design = None if design is None else Design(tuple(design))
        self.converged_episode = episode
        last = meta.get("last_episode")
        self.last_episode = None if last is None else EpisodeInfo(**last)

    def _set_params(self, params: Mapping[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Restore subclass parameters from :meth:`_params` (none by default)."""

    def save(self, path: str) -> str:
        """Write the whole team state to ``path`` (an ``.npz`` holding the arrays and a JSON
        document); returns the path written."""
        from agents.checkpoint import save_checkpoint

        return save_checkpoint(path, self)

    def load(self, path: str) -> None:
        """Restore the state written by :meth:`save` into this team."""
        from agents.checkpoint import load_checkpoint

        load_checkpoint(path, self)
