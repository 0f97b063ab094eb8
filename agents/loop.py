"""Training loop: a team plays the AEC env episode after episode, like any third-party algorithm.

Each episode::

    env.reset()
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        env.step(None if terminated or truncated else team.act(agent, obs))

then ``team.learn(design, reward, metrics)`` with the ``"design"``, ``"reward"`` and ``"metrics"``
of the terminal ``info``. Nothing else passes between the loop and the team: a team that wants
to plan a whole episode ahead (the tabular teams do) plans on the first ``act`` of an episode.

:func:`train` records a history, calls progress callbacks, stops early on convergence if asked,
and checkpoints the team, the history and the env's generator so that a resumed run continues
exactly as an uninterrupted one would.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

import numpy as np

from agents.checkpoint import load_checkpoint, save_checkpoint
from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.space import Design

__all__ = ["EpisodeRecord", "TrainResult", "play_episode", "progress", "train"]


@dataclass(frozen=True)
class EpisodeRecord:
    """One episode of a training run.

    Attributes:
        episode: 0-based index in the run.
        phase: ``"exploration"`` or ``"exploitation"`` (``""`` for a team that has no phases).
        design: The action indices chosen.
        reward: The terminal reward.
        metrics: The evaluator's metrics (``Metrics.to_dict()``; read-only).
        epsilon: The team's exploration rate in that episode (NaN if it has none).
        alpha: The learning rate of its update (NaN if none).
        explored: Whether a random action was taken.
        updated: Whether the team's tables were updated (false for a repeated design).
    """

    episode: int
    phase: str
    design: tuple[int, ...]
    reward: float
    metrics: Mapping[str, Any]
    epsilon: float
    alpha: float
    explored: bool
    updated: bool


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        history: One record per episode, in order (resumed episodes included).
        best: The record with the highest reward (the first one on ties); ``None`` if no episode.
        converged_design: The design the team converged to, or ``None``.
        converged_episode: The episode at which convergence was detected, or ``None``.
    """

    history: list[EpisodeRecord] = field(default_factory=list)
    best: EpisodeRecord | None = None
    converged_design: Design | None = None
    converged_episode: int | None = None

    @property
    def best_design(self) -> Design | None:
        """The best design found."""
        return None if self.best is None else Design(self.best.design)

    @property
    def rewards(self) -> np.ndarray:
        """Rewards of every episode, in order."""
        return np.array([r.reward for r in self.history], dtype=np.float64)


Callback = Callable[[EpisodeRecord], None]


def play_episode(env: Any, team: Any, *, seed: int | None = None) -> Mapping[str, Any]:
    """Reset ``env`` and play one design with ``team.act``; returns the terminal ``info``.

    Raises:
        RuntimeError: If the episode ends without a ``"design"`` in the infos.
    """
    env.reset(seed=seed)
    final: Mapping[str, Any] | None = None
    for agent in env.agent_iter():
        obs, _, terminated, truncated, info = env.last()
        if terminated or truncated:
            if final is None and "design" in info:
                final = info
            action = None
        else:
            action = team.act(agent, obs)
        env.step(action)
    if final is None:
        raise RuntimeError("the episode ended without a 'design' in the terminal infos")
    return final


def train(env: Any, team: Any, *, episodes: int, exploration_episodes: int | None = None,
          seed: int | None = None, callbacks: Iterable[Callback] = (),
          stop_on_convergence: bool = False, checkpoint: str | os.PathLike[str] | None = None,
          checkpoint_every: int = 0, resume: bool = False) -> TrainResult:
    """Train ``team`` on ``env`` for ``episodes`` episodes in total.

    Args:
        env: A PettingZoo AEC env (``cnn_design_env.env(...)``).
        team: Anything with ``act(agent, obs)`` and ``learn(design, reward, metrics)``; phases,
            epsilon and alpha are recorded when it has ``last_episode`` (the tabular teams).
        episodes: Total episodes of the run, resumed ones included.
        exploration_episodes: Sets ``team.exploration_episodes``; ``None`` keeps the team's own,
            whose default is the paper's rule (at least the largest Q-table's cell count).
        seed: Reseeds the env (evaluation seeds) at the first episode of a fresh run.
        callbacks: Called with each :class:`EpisodeRecord` after the team has learned from it.
        stop_on_convergence: Stop as soon as the team reports convergence.
        checkpoint: File to save the team, history and env generator state to (``.npz``).
        checkpoint_every: Save every this many episodes (0: only at the end).
        resume: Continue from ``checkpoint`` if it exists (the team and the env's generator are
            restored; a missing file starts afresh).

    Returns:
        The :class:`TrainResult` (history, best and converged design).

    Raises:
        ValueError: If ``episodes`` or ``checkpoint_every`` is negative, or ``resume`` or
            ``checkpoint_every`` is given without ``checkpoint``.
    """
    if episodes < 0 or checkpoint_every < 0:
        raise ValueError(f"episodes and checkpoint_every must be >= 0, got {episodes!r} and "
                         f"{checkpoint_every!r}")
    if (resume or checkpoint_every) and checkpoint is None:
        raise ValueError("resume and checkpoint_every need a checkpoint path")
    history: list[EpisodeRecord] = []
    if resume and os.path.exists(checkpoint):
        extra = load_checkpoint(checkpoint, team)
        history = [_record_from_json(r) for r in extra["history"]]
        _set_env_rng(env, extra.get("env_rng"))
    if exploration_episodes is not None:
        team.exploration_episodes = exploration_episodes
    callbacks = tuple(callbacks)
    while len(history) < episodes:
        fresh = not history
        info = play_episode(env, team, seed=seed if fresh else None)
        metrics = info["metrics"]
        team.learn(Design(tuple(info["design"])), info["reward"], Metrics.from_dict(metrics))
        record = _record(len(history), info, metrics, getattr(team, "last_episode", None))
        history.append(record)
        for callback in callbacks:
            callback(record)
        if checkpoint is not None and checkpoint_every and len(history) % checkpoint_every == 0:
            _save(checkpoint, team, env, history)
        if stop_on_convergence and getattr(team, "converged", False):
            break
    if checkpoint is not None:
        _save(checkpoint, team, env, history)
    return _result(history, team)


def _record(episode: int, info: Mapping[str, Any], metrics: Mapping[str, Any],
            step: Any) -> EpisodeRecord:
    nan = math.nan
    return EpisodeRecord(
        episode, step.phase if step else "", tuple(int(a) for a in info["design"]),
        float(info["reward"]), metrics, step.epsilon if step else nan,
        step.alpha if step else nan, step.explored if step else True,
        step.updated if step else True)


def _result(history: list[EpisodeRecord], team: Any) -> TrainResult:
    best = max(history, key=lambda r: r.reward) if history else None
    return TrainResult(history, best, getattr(team, "converged_design", None),
                       getattr(team, "converged_episode", None))


def _env_rng(env: Any) -> np.random.Generator | None:
    rng = getattr(env.unwrapped, "np_random", None)
    return rng if isinstance(rng, np.random.Generator) else None


def _set_env_rng(env: Any, state: Mapping[str, Any] | None) -> None:
    rng = _env_rng(env)
    if rng is not None and state is not None:
        rng.bit_generator.state = state


def _save(path: str | os.PathLike[str], team: Any, env: Any,
          history: list[EpisodeRecord]) -> None:
    rng = _env_rng(env)
    save_checkpoint(path, team, {"history": [asdict(r) for r in history],
                                 "env_rng": None if rng is None else rng.bit_generator.state})


def _record_from_json(data: Mapping[str, Any]) -> EpisodeRecord:
    return EpisodeRecord(**{**data, "design": tuple(data["design"])})


def progress(every: int = 10, *, stream: TextIO | None = None) -> Callback:
    """A callback printing one line every ``every`` episodes: phase, reward, best, epsilon, alpha.

    Example:
        >>> import io
        >>> out = io.StringIO()
        >>> show = progress(1, stream=out)
        >>> show(EpisodeRecord(0, "exploration", (1, 2), 3.5, {}, 1.0, 0.95, True, True))
        >>> out.getvalue().split()[:4]
        ['episode', '1', 'exploration', 'R=3.500']
    """
    best = -math.inf

    def show(record: EpisodeRecord) -> None:
        nonlocal best
        best = max(best, record.reward)
        if (record.episode + 1) % every == 0:
            print(f"episode {record.episode + 1} {record.phase} R={record.reward:.3f} "
                  f"best={best:.3f} eps={record.epsilon:.3g} alpha={record.alpha:.3g}",
                  file=stream if stream is not None else sys.stdout)

    return show
