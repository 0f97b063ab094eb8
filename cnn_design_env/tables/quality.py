"""Whether a table can tell search methods apart: seed agreement, resolution, duplicates.

* **Seed-to-seed Spearman** of accuracy between every pair of seed columns (their mean), over
  all designs and inside the top 10 % (by the mean over seeds): how far one seed's ranking
  predicts another's. Floor: 0.8 over all designs.
* **Resolution**: the standard error of a design's seed mean (median over designs of
  ``std / sqrt(S)``) against the gap between the best design's mean and the 1 % quantile from
  the top: a gap of many standard errors means the optimum is a real optimum, not a lucky seed.
* **Duplicates**: designs whose network another design already builds
  (:func:`~cnn_design_env.space.signature.network_signature`); must be 0.
* **Terminated share**: entries stopped early by the paper's rules.

Example:
    >>> import numpy as np
    >>> acc = np.array([[0.9, 0.91], [0.5, 0.52], [0.7, 0.69], [0.8, 0.82]])
    >>> q = quality_stats(acc, np.zeros(acc.shape, int))
    >>> q["spearman_all"], q["terminated_share"]
    (1.0, 0.0)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from cnn_design_env.space import SearchSpace
from cnn_design_env.space.signature import network_signature
from cnn_design_env.tables import design_of_row

SPEARMAN_FLOOR = 0.8
"""Floor on the seed-to-seed Spearman over all designs (issue 19)."""


def mean_spearman(accuracy: np.ndarray) -> float:
    """Mean Spearman rank correlation over every pair of columns (NaN for one column or
    fewer than three rows)."""
    columns = accuracy.shape[1]
    if columns < 2 or accuracy.shape[0] < 3:
        return float("nan")
    values = [spearmanr(accuracy[:, a], accuracy[:, b]).statistic
              for a, b in itertools.combinations(range(columns), 2)]
    return float(np.mean(values))


def count_duplicates(space: SearchSpace, rows: Iterable[int]) -> int:
    """Rows whose network an earlier row of ``rows`` already builds."""
    seen: set[str] = set()
    duplicates = 0
    for row in rows:
        signature = network_signature(space, design_of_row(int(row), space.action_sizes))
        duplicates += signature in seen
        seen.add(signature)
    return duplicates


def quality_stats(accuracy: np.ndarray, reason: np.ndarray, *, space: SearchSpace | None = None,
                  rows: Iterable[int] | None = None) -> dict[str, Any]:
    """The statistics of the module docstring for ``accuracy[design, seed]``.

    Args:
        accuracy: Final validation accuracy per design (rows) and seed (columns).
        reason: Termination reason index per entry (0: not terminated).
        space: The table's space, to count duplicate networks (``None``: not counted).
        rows: Table rows of ``accuracy``'s rows (default ``0 .. D-1``), for the duplicates.
    """
    mean = accuracy.mean(axis=1)
    top = mean >= np.quantile(mean, 0.9)
    seeds = accuracy.shape[1]
    se = (float(np.median(accuracy.std(axis=1, ddof=1) / np.sqrt(seeds)))
          if seeds > 1 else float("nan"))
    gap = float(mean.max() - np.quantile(mean, 0.99))
    rows = range(accuracy.shape[0]) if rows is None else rows
    return {
        "designs": int(accuracy.shape[0]), "seeds": seeds,
        "spearman_all": mean_spearman(accuracy),
        "spearman_top10": mean_spearman(accuracy[top]),
        "seed_mean_se": se, "gap_best_to_q99": gap,
        "gap_in_se": gap / se if se > 0 else float("nan"),
        "duplicates": None if space is None else count_duplicates(space, rows),
        "terminated_share": float((reason > 0).mean()),
        "best_mean": float(mean.max()), "median_mean": float(np.median(mean)),
    }


def quality_markdown(named: dict[str, dict[str, Any]]) -> str:
    """A markdown table of :func:`quality_stats` results by table name."""
    names = list(named)
    lines = ["| | " + " | ".join(f"`{n}`" for n in names) + " |",
             "|---|" + "---|" * len(names)]

    def row(label: str, fmt) -> None:
        lines.append(f"| {label} | " + " | ".join(fmt(named[n]) for n in names) + " |")

    row("designs x seeds", lambda q: f"{q['designs']} x {q['seeds']}")
    row(f"seed-to-seed Spearman, all (floor {SPEARMAN_FLOOR})",
        lambda q: f"{q['spearman_all']:.3f}" + ("" if q["spearman_all"] >= SPEARMAN_FLOOR
                                                else " (below)"))
    row("seed-to-seed Spearman, top 10 %", lambda q: f"{q['spearman_top10']:.3f}")
    row("SE of a seed mean / gap best - 1 % quantile",
        lambda q: f"{q['seed_mean_se']:.4f} / {q['gap_best_to_q99']:.4f} "
                  f"({q['gap_in_se']:.1f} SE)")
    row("duplicate networks", lambda q: "not counted" if q["duplicates"] is None
        else str(q["duplicates"]))
    row("terminated share", lambda q: f"{100 * q['terminated_share']:.1f} %")
    row("best / median seed-mean accuracy",
        lambda q: f"{q['best_mean']:.3f} / {q['median_mean']:.3f}")
    return "\n".join(lines) + "\n"


__all__ = ["SPEARMAN_FLOOR", "count_duplicates", "mean_spearman", "quality_markdown",
           "quality_stats"]
