"""Training loop: a team plays the AEC env episode after episode, like any third-party algorithm.

Each episode is the textbook AEC loop (:func:`play_episode`)::

    env.reset()
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        env.step(None if terminated or truncated else team.act(agent, obs))

then ``team.learn(design, reward, metrics)`` with the ``"design"``, ``"reward"`` and ``"metrics"``
of the terminal ``info``. Nothing else passes between the loop and the team: a team that wants
to plan a whole episode ahead (the tabular teams do) plans on the first ``act`` of an episode.

:func:`train` runs those episodes on the project's one runner
(:class:`~cnn_design_env.run.loop.SearchLoop`, the loop of ``cnn-design search`` and
:func:`cnn_design_env.search.run`): the env and the team are one searcher,
:class:`EnvTeamSearcher`, whose ``ask`` plays an episode through the loop above and whose
``tell`` is the team's ``learn``. The env has already evaluated the design it ended on, so the
runner's evaluation is the env's own result (its metrics, reward and evaluation seed, which is
the seed the runner's seed rule draws for that episode: the env draws its seeds the same way).
Budget, convergence stop, callbacks, the journal of every episode and the checkpoint (JSON +
``.npz``, no pickle: the team's ``state_dict``, the env's generator, the loop's counters) are the
runner's, so a resumed run continues exactly as an uninterrupted one would.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.evaluators.executors import InlineExecutor
from cnn_design_env.run import checkpoint as run_checkpoint
from cnn_design_env.run.checkpoint import LoopState
from cnn_design_env.run.journal import Journal, Record, read_journal
from cnn_design_env.run.loop import MethodError, SearchLoop
from cnn_design_env.search.team import TeamSearcher
from cnn_design_env.space import Design

__all__ = ["EnvTeamSearcher", "EpisodeRecord", "TrainResult", "journal_path", "play_episode",
           "progress", "train"]


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


class EnvTeamSearcher(TeamSearcher):
    """A team playing an AEC env, as a searcher of the runner: ``ask`` plays one episode.

    ``ask`` is :func:`play_episode` (the env evaluates the design at its last step); ``tell`` is
    ``team.learn``. :attr:`score` is the runner's evaluator and reward for it: the env's metrics
    and reward of the episode just played. Besides the team's hooks (phase, convergence, state)
    the searcher keeps, per told episode, the team's learning rate and whether it explored and
    updated (``team.last_episode``), and its state holds the env's generator, so a checkpoint
    restores the env's evaluation seeds too.

    Args:
        env: A PettingZoo AEC env (``cnn_design_env.env(...)``).
        team: Anything with ``act(agent, obs)`` and ``learn(design, reward, metrics)``.
        seed: The searcher's seed (the team and the env carry their own).

    Raises:
        TypeError: If ``team`` lacks ``act``/``learn``.
    """

    def __init__(self, env: Any, team: Any, *, seed: int = 0) -> None:
        super().__init__(env.unwrapped.space, seed=seed, team=team,
                         name=type(team).__name__)
        self.env = env
        self.score = _EnvScore(self)
        self.played: Mapping[str, Any] | None = None
        self.alpha: list[float] = []
        self.explored: list[bool] = []
        self.updated: list[bool] = []

    @property
    def env_rng(self) -> np.random.Generator | None:
        """The env's generator of evaluation seeds (``None`` for an env without one)."""
        rng = getattr(self.env.unwrapped, "np_random", None)
        return rng if isinstance(rng, np.random.Generator) else None

    def ask(self) -> Design:
        """Play one episode through the AEC loop; the env evaluates its design.

        Raises:
            ValueError: If the env ended the episode before the design was complete (an invalid
                action with ``invalid_action="penalty"``): the runner records designs only.
        """
        info = play_episode(self.env, self.team)
        if "eval_seed" in info and info["eval_seed"] is None:
            raise ValueError(f"the env ended the episode before the design was complete "
                             f"({info['metrics'].get('reason')}); agents.train records complete "
                             "designs only: build the env with invalid_action='raise' or 'wrap'")
        self.played = info
        design = info["design"]
        return Design(design if type(design) is tuple else tuple(design))

    def can_ask_ahead(self, pending: int) -> bool:
        """Never: the env plays and scores one episode at a time."""
        return False

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """``team.learn(design, reward, metrics)``, then note what the team did in it."""
        self.team.learn(design, float(reward), metrics)
        step = getattr(self.team, "last_episode", None)
        self.alpha.append(step.alpha if step else math.nan)
        self.explored.append(step.explored if step else True)
        self.updated.append(step.updated if step else True)

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The team's state, the env's generator and what the team did in each told episode.

        Raises:
            NotImplementedError: If the team has no ``state_dict``.
        """
        arrays, meta = super().state_dict()
        rng = self.env_rng
        meta["env_rng"] = None if rng is None else rng.bit_generator.state
        arrays.update({"episodes.alpha": np.array(self.alpha, dtype=np.float64),
                       "episodes.explored": np.array(self.explored, dtype=bool),
                       "episodes.updated": np.array(self.updated, dtype=bool)})
        return arrays, meta

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` into the team, the env and this searcher."""
        own = {k: v for k, v in arrays.items() if not k.startswith("episodes.")}
        super().load_state_dict(own, meta)
        rng = self.env_rng
        if rng is not None and meta.get("env_rng") is not None:
            rng.bit_generator.state = meta["env_rng"]
        self.alpha = [float(a) for a in arrays["episodes.alpha"]]
        self.explored = [bool(a) for a in arrays["episodes.explored"]]
        self.updated = [bool(a) for a in arrays["episodes.updated"]]

    def record(self, journaled: Record) -> EpisodeRecord:
        """The :class:`EpisodeRecord` of told episode ``journaled.index``."""
        i = journaled.index
        metrics = (self.played["metrics"] if self.played is not None and i == len(self.alpha) - 1
                   else journaled.metrics.to_dict())
        return EpisodeRecord(i, journaled.phase, journaled.design.actions, journaled.reward,
                             metrics, journaled.epsilon, self.alpha[i], self.explored[i],
                             self.updated[i])


class _EnvScore:
    """The runner's evaluator and reward for :class:`EnvTeamSearcher`: what the env measured.

    ``evaluate`` answers the design just played with the env's metrics; the reward is the env's
    reward of that episode. The seed the runner drew must be the one the env evaluated with (both
    follow the one seed rule from the same generator state); a mismatch stops the run.
    """

    def __init__(self, player: EnvTeamSearcher) -> None:
        self.player = player
        self.space = player.space
        self._seed: int | None = None

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        """The env's metrics of the episode just played."""
        self._seed = seed
        return Metrics.from_dict(self.player.played["metrics"])

    def __call__(self, metrics: Metrics) -> float:
        """The env's reward of the episode just played.

        Raises:
            RuntimeError: If the env evaluated with another seed than the runner drew.
        """
        played = self.player.played
        env_seed = played.get("eval_seed")
        if env_seed is not None and env_seed != self._seed:
            raise RuntimeError(f"the env evaluated the episode with seed {env_seed}, the runner "
                               f"drew {self._seed}: the env's generator was used outside the "
                               "training loop")
        return float(played["reward"])


def journal_path(checkpoint: str | os.PathLike[str]) -> Path:
    """The journal kept beside a training checkpoint: its name with the suffix ``.jsonl``."""
    return Path(checkpoint).with_suffix(".jsonl")


def train(env: Any, team: Any, *, episodes: int, exploration_episodes: int | None = None,
          seed: int | None = None, callbacks: Iterable[Callback] = (),
          stop_on_convergence: bool = False, checkpoint: str | os.PathLike[str] | None = None,
          checkpoint_every: int = 0, resume: bool = False) -> TrainResult:
    """Train ``team`` on ``env`` for ``episodes`` episodes in total, on the runner.

    Args:
        env: A PettingZoo AEC env (``cnn_design_env.env(...)``).
        team: Anything with ``act(agent, obs)`` and ``learn(design, reward, metrics)``; phases,
            epsilon and alpha are recorded when it has them (``phase``, ``epsilon``,
            ``last_episode``: the tabular teams).
        episodes: Total episodes of the run, resumed ones included.
        exploration_episodes: Sets ``team.exploration_episodes``; ``None`` keeps the team's own,
            whose default is the paper's rule (at least the largest Q-table's cell count).
        seed: Reseeds the env (evaluation seeds) at the start of a fresh run.
        callbacks: Called with each :class:`EpisodeRecord` after the team has learned from it.
        stop_on_convergence: Stop as soon as the team reports convergence.
        checkpoint: The runner's checkpoint file (``.npz``: the team's state, the env's
            generator, the loop's counters); the journal of every episode is kept beside it
            (:func:`journal_path`: the same name with ``.jsonl``). A fresh run replaces both.
        checkpoint_every: Save every this many episodes (0: only at the start and the end; the
            journal has every episode, and a resume asks again what came after the checkpoint).
        resume: Continue from ``checkpoint`` if it exists (the team and the env's generator are
            restored, the history read back from the journal; a missing file starts afresh).

    Returns:
        The :class:`TrainResult` (history, best and converged design).

    Raises:
        ValueError: If ``episodes`` or ``checkpoint_every`` is negative, ``resume`` or
            ``checkpoint_every`` is given without ``checkpoint``, or the checkpoint's suffix is
            ``.jsonl``.
        TypeError: If a checkpoint is asked for a team without ``state_dict``/``load_state_dict``.
        Exception: Whatever the team or the env raises (the run stops there; with a checkpoint,
            every completed episode is in the journal).
    """
    if episodes < 0 or checkpoint_every < 0:
        raise ValueError(f"episodes and checkpoint_every must be >= 0, got {episodes!r} and "
                         f"{checkpoint_every!r}")
    if (resume or checkpoint_every) and checkpoint is None:
        raise ValueError("resume and checkpoint_every need a checkpoint path")
    player = EnvTeamSearcher(env, team)
    journal = None if checkpoint is None else journal_path(checkpoint)
    if journal is not None:
        if journal == Path(checkpoint):
            raise ValueError(f"the checkpoint {os.fspath(checkpoint)!r} must not end in .jsonl "
                             "(its journal is kept under that suffix)")
        if not run_checkpoint.has_state(team):
            raise TypeError(f"a checkpoint needs a team with state_dict()/load_state_dict(); "
                            f"{type(team).__name__} has none")
    completed: dict[int, Record] = {}
    if resume and os.path.exists(checkpoint):
        state = run_checkpoint.load(checkpoint, player)
        completed = read_journal(journal).records if journal.exists() else {}
    else:
        if journal is not None:
            journal.unlink(missing_ok=True)
            Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
        if seed is not None:
            env.reset(seed=seed)
        rng = player.env_rng
        seeds = np.random.default_rng(seed)
        if rng is not None:  # the runner draws the seeds the env will draw
            seeds.bit_generator.state = rng.bit_generator.state
        state = LoopState(searcher=player, seeds=seeds)
    if exploration_episodes is not None:
        team.exploration_episodes = exploration_episodes
    missing = [i for i in range(state.told) if i not in completed]
    if missing:
        raise ValueError(f"{journal}: episodes {missing[:5]} are missing although the checkpoint "
                         f"says {state.told} were played; the journal was truncated or removed")
    history = [player.record(completed[i]) for i in range(state.told)]
    if state.told < episodes:
        history += _run(player, state, completed, episodes=episodes, callbacks=callbacks,
                        stop_on_convergence=stop_on_convergence, journal=journal,
                        checkpoint=checkpoint, checkpoint_every=checkpoint_every)
    best = max(history, key=lambda r: r.reward) if history else None
    return TrainResult(history, best, getattr(team, "converged_design", None),
                       getattr(team, "converged_episode", None))


def _run(player: EnvTeamSearcher, state: LoopState, completed: dict[int, Record], *,
         episodes: int, callbacks: Iterable[Callback], stop_on_convergence: bool,
         journal: Path | None, checkpoint: str | os.PathLike[str] | None,
         checkpoint_every: int) -> list[EpisodeRecord]:
    """The episodes ``state.told .. episodes - 1`` on the runner; their records."""
    callbacks = tuple(callbacks)
    played: list[EpisodeRecord] = []

    def told(record: Record, _state: LoopState) -> None:
        episode = player.record(record)
        played.append(episode)
        for callback in callbacks:
            callback(episode)

    with Journal(journal) if journal is not None else contextlib.nullcontext() as kept:
        loop = SearchLoop(
            state, spec=player.score, executor=InlineExecutor(), reward=player.score,
            episodes=episodes, journal=kept, checkpoint_path=checkpoint, completed=completed,
            cache=False, stop_on_convergence=stop_on_convergence, on_tell=[told],
            checkpoint_every=checkpoint_every, method=player.name)
        try:
            loop.run()
        except MethodError as failure:  # the team's or the env's own error, as they raised it
            raise (failure.__cause__ or failure) from None
    return played


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
