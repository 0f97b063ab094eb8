"""Benchmark reports: CSV and Markdown tables and PNG plots of a
:class:`~baselines.compare.BenchmarkResult`.

Plots use Matplotlib's object API on the Agg canvas (no pyplot, no global backend change):

* ``quality_vs_episodes.png`` (with a table): the true quality of the design each method would
  recommend after each evaluation (the benchmark's score), mean ± standard error over all runs;
* ``best_vs_episodes.png``: best single reward observed so far against evaluations;
* ``best_vs_cost.png``: best reward so far against simulated cost (seconds);
* ``pareto.png`` (when Pareto is on): each method's front, over all its seeds, of accuracy against
  model size.

Curves are the mean over seeds with the standard error shaded. A run that ends early (it
converged, or spent its cost budget first) is carried forward at its final value, so a mean never
drops when seeds finish. Every plot names the reward (:func:`~cnn_design_env.run.plots.reward_label`
of the benchmark's reward), the best-so-far and quality plots draw the top-1 % level the tables
count hits against, and the Pareto plot shows every objective the hypervolume uses.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baselines.compare import TOP_FRACTION, BenchmarkResult, pareto_frame
from baselines.pareto import OBJECTIVES, Objective, pareto_front
from baselines.runner import History

COST_POINTS = 200


def write(result: BenchmarkResult, out_dir: str | Path, rows: list[dict[str, Any]], *,
          fractions: Sequence[float], top_fraction: float, plots: bool = True,
          notes: Sequence[str] = ()) -> list[Path]:
    """Write every table and plot into ``out_dir`` (created if missing); return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [_write_csv(out / "summary.csv", rows),
             _write_markdown(out / "summary.md", result, rows, fractions, top_fraction, notes),
             _write_histories(out / "histories.csv", result)]
    if result.pareto:
        paths.append(_write_pareto(out / "pareto.csv", result))
    if plots:
        if result.quality is not None:
            paths.append(plot_quality(result, out / "quality_vs_episodes.png",
                                      top_fraction=top_fraction))
        paths.append(plot_best(result, out / "best_vs_episodes.png", axis="episodes",
                               top_fraction=top_fraction))
        paths.append(plot_best(result, out / "best_vs_cost.png", axis="cost",
                               top_fraction=top_fraction))
        if result.pareto:
            paths.append(plot_pareto(result, out / "pareto.png"))
    return paths


# ------------------------------------------------------------------------------------ tables
def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["method"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _fmt(mean: float, se: float | None = None) -> str:
    if mean is None or not math.isfinite(mean):
        return "-"
    if se is None or not math.isfinite(se):
        return f"{mean:.4g}"
    return f"{mean:.4g} ± {se:.2g}"


def _share(value: float, runs: int) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{round(value * runs)}/{runs}"


def markdown_table(rows: list[dict[str, Any]], fractions: Sequence[float], *,
                   top_fraction: float, pareto: bool) -> str:
    """The summary rows as a Markdown table (mean ± standard error over all runs).

    Leading columns: the recommended design's true quality at each budget fraction, its regret
    and the share of runs recommending a top ``top_fraction`` design at the full budget; then
    the best single reward observed (for comparison).
    """
    top = f"{100 * top_fraction:g}%"
    last = f"{max(fractions):g}"
    header = ["method", "runs", *[f"recommended @{100 * f:g}%" for f in fractions],
              "regret", f"in top {top}", "best observed"]
    if pareto:
        header += ["hypervolume", "front size"]
    header += ["search ms/eval", "errors"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [row["method"], str(row["runs"]),
                 *[_fmt(row[f"quality@{f:g}"], row[f"quality@{f:g}_se"]) for f in fractions],
                 _fmt(row[f"regret@{last}"], row[f"regret@{last}_se"]),
                 _share(row[f"top_share@{last}"], row["runs"]),
                 _fmt(row[f"best@{last}"], row[f"best@{last}_se"])]
        if pareto:
            cells += [_fmt(row["hypervolume"], row["hypervolume_se"]), _fmt(row["front_size"])]
        cells += [_fmt(row["search_ms_per_eval"]), str(row["errors"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _write_markdown(path: Path, result: BenchmarkResult, rows: list[dict[str, Any]],
                    fractions: Sequence[float], top_fraction: float,
                    notes: Sequence[str]) -> Path:
    budget = " and ".join(
        part for part in (
            f"{result.budget_episodes} evaluations" if result.budget_episodes else "",
            f"{result.budget_seconds:g} simulated seconds" if result.budget_seconds else "")
        if part)
    lines = [f"# Benchmark on `{result.space}`", "",
             f"- budget per run: {budget}; seeds: {', '.join(map(str, result.seeds))}"]
    if result.quality is not None:
        lines += [f"- recommended @f: the true quality (mean reward over the table's recorded "
                  f"seeds) of the design the method recommends after f of the budget: the best "
                  f"of its top {result.top_k} designs by mean observed reward, re-evaluated on "
                  f"every recorded seed; regret: the table optimum "
                  f"({_fmt(result.optimum)}) minus it",
                  f"- in top {100 * top_fraction:g}%: runs whose recommendation's quality is >= "
                  f"{_fmt(result.quality_threshold(top_fraction))}, the "
                  f"{100 * (1 - top_fraction):g}th percentile of the table's designs, over all "
                  "runs"]
    else:
        lines.append("- recommended @100%: the mean reward of the final choice (top 3 "
                     "re-evaluated on 2 more seeds), an estimate; no table, so no true quality")
    lines += ["- best observed: the best single (noisy) reward a run saw, not the score",
              "- values: mean ± standard error over all runs"]
    if result.pareto:
        reference, ideal = pareto_frame(result)
        lines.append("- hypervolume over (accuracy max, model size min, inference time min), "
                     "normalised to the box from the reference point "
                     f"{_point(reference)} to the ideal point {_point(ideal)}")
    lines += [f"- {note}" for note in notes]
    lines += ["", markdown_table(rows, fractions, top_fraction=top_fraction,
                                 pareto=result.pareto), ""]
    if result.errors:
        lines += ["## Errors", "", *[f"- {e}" for e in result.errors], ""]
    path.write_text("\n".join(lines))
    return path


def _point(values: np.ndarray) -> str:
    names = ("accuracy", "size MB", "infer ms")
    return "(" + ", ".join(f"{n} {v:.4g}" for n, v in zip(names, values, strict=True)) + ")"


def _write_histories(path: Path, result: BenchmarkResult) -> Path:
    fields = ["method", "seed", "index", "reward", "cost_s", "wall_s", "search_s", "eval_seed",
              "accuracy", "model_size_mb", "infer_ms_per_batch", "terminated", "reason",
              "design"]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(fields)
        for method in result.methods:
            for h in result.histories[method]:
                for e in h:
                    m = e.metrics
                    writer.writerow([method, h.seed, e.index, e.reward, e.cost_s, e.wall_s,
                                     e.search_s, e.eval_seed, m.accuracy, m.model_size_mb,
                                     m.infer_ms_per_batch, m.terminated, m.reason,
                                     " ".join(map(str, e.design.actions))])
    return path


def _write_pareto(path: Path, result: BenchmarkResult,
                  objectives: Sequence[Objective] = OBJECTIVES) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "seed", "index", *[o.metric for o in objectives], "reward",
                         "design"])
        for method in result.methods:
            for h in result.histories[method]:
                for e in pareto_front(h, objectives):
                    writer.writerow([method, h.seed, e.index,
                                     *[e.metrics.value(o.metric) for o in objectives], e.reward,
                                     " ".join(map(str, e.design.actions))])
    return path


# ------------------------------------------------------------------------------------- plots
def _figure() -> tuple[Any, Any]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, figure.add_subplot()


def mean_se_curve(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column-wise mean and standard error of ``matrix`` (runs x points), ignoring NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        count = np.sum(np.isfinite(matrix), axis=0)
        mean = np.nanmean(matrix, axis=0)
        std = np.nanstd(matrix, axis=0, ddof=1) if matrix.shape[0] > 1 else np.zeros_like(mean)
    se = np.where(count > 1, std / np.sqrt(np.maximum(count, 1)), 0.0)
    return mean, np.nan_to_num(se)


def carry_forward(values: np.ndarray, length: int) -> np.ndarray:
    """``values`` cut or extended to ``length`` with its last value (NaN if it is empty).

    Example:
        >>> carry_forward(np.array([1.0, 3.0]), 4).tolist()
        [1.0, 3.0, 3.0, 3.0]
    """
    out = np.full(length, np.nan)
    if values.size:
        out[: min(length, values.size)] = values[:length]
        out[values.size:] = values[-1]
    return out


def _curves(runs: list[History], axis: str, grid: np.ndarray) -> np.ndarray:
    # A finished run keeps its final best (carried forward), so a mean never drops when a seed
    # ends before the others.
    matrix = np.full((len(runs), grid.size), np.nan)
    for r, h in enumerate(runs):
        best = h.best_so_far
        if not best.size:
            continue
        if axis == "episodes":
            matrix[r] = carry_forward(best, grid.size)
        else:
            idx = np.searchsorted(h.costs, grid, side="right") - 1
            ok = idx >= 0
            matrix[r, ok] = best[idx[ok]]
    return matrix


def _reward(result: BenchmarkResult) -> str:
    return result.reward_label or "reward"


def _top_line(ax: Any, level: float, label: str) -> None:
    if math.isfinite(level):
        ax.axhline(level, color="black", lw=0.8, ls=":", label=label)


def plot_best(result: BenchmarkResult, path: str | Path, *, axis: str = "episodes",
              top_fraction: float = TOP_FRACTION) -> Path:
    """Best reward so far (mean ± standard error over seeds) against evaluations or cost, with
    the reward of the top ``top_fraction`` of designs (of the table, else of all observed)."""
    if axis not in ("episodes", "cost"):
        raise ValueError(f"axis must be 'episodes' or 'cost', got {axis!r}")
    runs_all = [h for m in result.methods for h in result.histories[m]]
    if axis == "episodes":
        length = max([result.budget_episodes or 0, *[len(h) for h in runs_all]])
        grid = np.arange(1, length + 1, dtype=float)
    else:
        top = max([h.cost_s for h in runs_all] or [0.0])
        grid = np.linspace(0.0, top, COST_POINTS)
    figure, ax = _figure()
    for method in result.methods:
        matrix = _curves(result.histories[method], axis, grid)
        if not np.isfinite(matrix).any():
            continue
        mean, se = mean_se_curve(matrix)
        (line,) = ax.plot(grid, mean, label=method,
                          drawstyle="steps-post" if axis == "cost" else "default")
        ax.fill_between(grid, mean - se, mean + se, alpha=0.2, color=line.get_color(),
                        step="post" if axis == "cost" else None)
    level, source = result.top_threshold(top_fraction)
    _top_line(ax, level, f"top {top_fraction:.0%} of the {source} rewards")
    ax.set_xlabel("evaluations" if axis == "episodes" else "simulated cost (s)")
    ax.set_ylabel("best reward so far")
    ax.set_title(f"{result.space}, {_reward(result)}: mean ± s.e. over {len(result.seeds)} "
                 "seed(s)", fontsize="medium")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    figure.savefig(path, dpi=110)
    return Path(path)


def plot_quality(result: BenchmarkResult, path: str | Path, *,
                 top_fraction: float = TOP_FRACTION) -> Path:
    """The recommendation's true quality after each evaluation, mean ± s.e. over all runs, with
    the table's optimum and the quality of its top ``top_fraction`` of designs."""
    from baselines.compare import quality_curve

    runs_all = [h for m in result.methods for h in result.histories[m]]
    length = max([result.budget_episodes or 0, *[len(h) for h in runs_all]])
    grid = np.arange(1, length + 1, dtype=float)
    figure, ax = _figure()
    for method in result.methods:
        matrix = np.full((len(result.histories[method]), length), np.nan)
        for r, h in enumerate(result.histories[method]):
            matrix[r] = carry_forward(quality_curve(h, result), length)
        if not np.isfinite(matrix).any():
            continue
        mean, se = mean_se_curve(matrix)
        (line,) = ax.plot(grid, mean, label=method)
        ax.fill_between(grid, mean - se, mean + se, alpha=0.2, color=line.get_color())
    ax.axhline(result.optimum, color="black", lw=0.8, ls="--", label="table optimum")
    _top_line(ax, result.quality_threshold(top_fraction),
              f"top {top_fraction:.0%} of the table's designs")
    ax.set_xlabel("evaluations")
    ax.set_ylabel("true quality of the recommended design")
    ax.set_title(f"{result.space}, {_reward(result)} (mean over the table's seeds): mean ± s.e. "
                 f"over {len(result.seeds)} run seed(s)", fontsize="small")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    figure.savefig(path, dpi=110)
    return Path(path)


def plot_pareto(result: BenchmarkResult, path: str | Path,
                objectives: Sequence[Objective] = OBJECTIVES) -> Path:
    """Each method's Pareto front over all its seeds, in the objectives of the hypervolume.

    The front is taken in all ``objectives`` at once (the hypervolume's), and drawn as one panel
    per further objective against the first (accuracy): model size, inference time.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    first, others = objectives[0], list(objectives[1:])
    figure = Figure(figsize=(4.2 * max(1, len(others)), 4.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, max(1, len(others)), squeeze=False)[0]
    arrows = {"maximize": "↑", "minimize": "↓"}
    for method in result.methods:
        evaluations = [e for h in result.histories[method] for e in h]
        front = pareto_front(evaluations, objectives)
        if not front:
            continue
        y = [e.metrics.value(first.metric) for e in front]
        for ax, objective in zip(axes, others, strict=False):
            ax.scatter([e.metrics.value(objective.metric) for e in front], y, s=18,
                       alpha=0.8, label=method)
    for ax, objective in zip(axes, others, strict=False):
        ax.set_xlabel(f"{objective.metric} {arrows[objective.direction]}")
        ax.set_ylabel(f"{first.metric} {arrows[first.direction]}")
        ax.grid(alpha=0.3)
    if axes[0].get_legend_handles_labels()[0]:
        axes[0].legend(fontsize="small")
    names = ", ".join(f"{o.metric} {arrows[o.direction]}" for o in objectives)
    figure.suptitle(f"{result.space}: Pareto fronts over all seeds in the hypervolume's "
                    f"objectives ({names})", fontsize="small")
    figure.savefig(path, dpi=110)
    return Path(path)


__all__ = ["carry_forward", "markdown_table", "mean_se_curve", "plot_best", "plot_pareto",
           "plot_quality", "write"]
