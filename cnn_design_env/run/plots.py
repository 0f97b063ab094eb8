"""The run's plots, as PNG files (Matplotlib's object API on the Agg canvas: no pyplot state).

* ``reward_per_episode.png``: the reward of every episode, coloured by phase, with the best so
  far (the paper's Fig. 9) and the recommended design's mean reward ± s.d. as a band;
* ``pareto.png``: accuracy against model size of every evaluated design (at its mean accuracy
  over all its evaluations), the Pareto front (accuracy max, size min) drawn as a staircase, the
  recommended design starred with its mean accuracy ± s.d. as an error bar, and the best single
  evaluation ringed (Fig. 3a);
* ``best_vs_cost.png``: the best reward so far against the cumulative evaluation cost in seconds.

Every plot names the reward it ranks by (:func:`reward_label`) in its axis or title.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cnn_design_env.reward import reward_label
from cnn_design_env.run.journal import Record
from cnn_design_env.run.summary import design_means

PHASE_COLORS = {"exploration": "tab:orange", "exploitation": "tab:blue", "": "tab:gray"}


def _figure(width: float = 7.0, height: float = 4.2) -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot(1, 1, 1)


def _save(figure: Any, ax: Any, path: str | Path, *, labels: tuple[str, str, str],
          legend: bool = True) -> Path:
    """Label the axes (``x, y, title``), add a grid (and legend) and write ``path``."""
    xlabel, ylabel, title = labels
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if legend:
        ax.legend(loc="lower right", fontsize=8)
    path = Path(path)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def _sd(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and np.isfinite(value) else 0.0


def plot_rewards(records: Sequence[Record], path: str | Path, *, title: str = "",
                 recommendation: Mapping[str, Any] | None = None,
                 reward: str = "reward") -> Path:
    """Reward per episode with the best so far (Fig. 9) and the recommendation's mean."""
    figure, ax = _figure()
    episodes = np.array([r.index for r in records]) + 1
    rewards = np.array([r.reward for r in records], dtype=float)
    for phase in dict.fromkeys(r.phase for r in records):
        mask = np.array([r.phase == phase for r in records])
        ax.scatter(episodes[mask], rewards[mask], s=10, alpha=0.7,
                   color=PHASE_COLORS.get(phase, "tab:green"), label=phase or "episode")
    if len(rewards):
        ax.plot(episodes, np.maximum.accumulate(rewards), color="black", lw=1.5,
                label="best single reward so far")
    if recommendation:
        mean, sd = recommendation["mean_reward"], _sd(recommendation["sd_reward"])
        ax.axhline(mean, color="gold", lw=2, label=f"recommended: {mean:.2f} ± {sd:.2f}")
        ax.axhspan(mean - sd, mean + sd, color="gold", alpha=0.25)
    return _save(figure, ax, path, labels=("episode", reward, title or "reward per episode"))


def plot_pareto(records: Sequence[Record], path: str | Path, *, title: str = "",
                recommendation: Mapping[str, Any] | None = None,
                reward: str = "reward") -> Path:
    """Accuracy against model size of every evaluated design, with the Pareto front (Fig. 3a).

    Each design is drawn at its mean accuracy over all its evaluations (the final choice's
    re-evaluations included, :func:`~cnn_design_env.run.summary.design_means`), so the
    recommended design (starred, with its s.d.) and the front are on the same footing.
    """
    figure, ax = _figure()
    means = design_means(records, recommendation)
    points = np.array(list(means.values()), dtype=float).reshape(-1, 2)
    ax.scatter(points[:, 1], points[:, 0], s=12, alpha=0.5, color="tab:blue",
               label="evaluated design (mean accuracy)")
    failed = [r for r in records if r.metrics.terminated and not r.metrics.cached]
    if failed:
        ax.scatter([r.metrics.model_size_mb for r in failed], [r.metrics.accuracy for r in failed],
                   s=12, marker="x", color="tab:red", alpha=0.6, label="terminated early")
    if len(points):
        acc, size = points[:, 0], points[:, 1]
        front = [i for i in range(len(points))
                 if not np.any((acc >= acc[i]) & (size <= size[i])
                               & ((acc > acc[i]) | (size < size[i])))]
        front.sort(key=lambda i: size[i])
        ax.step(size[front], acc[front], where="post", color="tab:orange", lw=1.5)
        ax.scatter(size[front], acc[front], s=30, color="tab:orange", zorder=3,
                   label="Pareto front")
    if records:
        best = max(records, key=lambda r: r.reward)
        ax.scatter([best.metrics.model_size_mb], [best.metrics.accuracy], s=120,
                   facecolor="none", edgecolor="black", zorder=4,
                   label=f"best single {reward} (its one draw)")
    if recommendation:
        size_r, acc_r = recommendation["model_size_mb"], recommendation["mean_accuracy"]
        ax.errorbar([size_r], [acc_r], yerr=[_sd(recommendation["sd_accuracy"])], fmt="none",
                    ecolor="black", capsize=4, zorder=4)
        ax.scatter([size_r], [acc_r], s=180, marker="*", color="gold", edgecolor="black",
                   zorder=5, label=f"recommended by {reward} (mean ± s.d.)")
    sizes = points[:, 1]
    if len(sizes) and sizes.min() > 0 and sizes.max() / sizes.min() > 20:
        ax.set_xscale("log")
    return _save(figure, ax, path, labels=("model size (MB)", "validation accuracy",
                                           title or "accuracy vs model size"))


def plot_best_vs_cost(records: Sequence[Record], path: str | Path, *, title: str = "",
                      reward: str = "reward") -> Path:
    """Best reward so far against the cumulative evaluation cost (seconds)."""
    figure, ax = _figure()
    if records:
        cost = np.cumsum([max(0.0, r.metrics.cost_s) for r in records])
        best = np.maximum.accumulate([r.reward for r in records])
        ax.step(cost, best, where="post", color="tab:blue")
        ax.scatter(cost, best, s=6, color="tab:blue")
    return _save(figure, ax, path, legend=False,
                 labels=("cumulative evaluation cost (s)", f"best so far ({reward})",
                         title or "best reward vs cost"))


def write_plots(records: Sequence[Record], directory: str | Path, *, title: str = "",
                recommendation: Mapping[str, Any] | None = None,
                reward: Any = "reward") -> list[Path]:
    """Write the three plots into ``directory``; returns their paths.

    ``reward``: the run's reward (or its name), named on every plot (:func:`reward_label`).
    """
    directory = Path(directory)
    reward = reward_label(reward)
    records = sorted(records, key=lambda r: r.index)
    suffix = f" - {title}" if title else ""
    return [plot_rewards(records, directory / "reward_per_episode.png",
                         title=f"reward per episode{suffix}", recommendation=recommendation,
                         reward=reward),
            plot_pareto(records, directory / "pareto.png",
                        title=f"accuracy vs model size{suffix}", recommendation=recommendation,
                        reward=reward),
            plot_best_vs_cost(records, directory / "best_vs_cost.png",
                              title=f"best reward vs cost{suffix}", reward=reward)]


__all__ = ["plot_best_vs_cost", "plot_pareto", "plot_rewards", "reward_label", "write_plots"]
