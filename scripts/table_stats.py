"""Statistics of tabular benchmarks, as markdown (``python scripts/make_table.py --stats``)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy.stats import spearmanr

from cnn_design_env.space.tables import TABLE_SPACES
from cnn_design_env.tables import Table, design_of_row


def table_stats(table: Table) -> dict:
    """Numbers describing one table (see :func:`stats_markdown`)."""
    a, meta = table.arrays, table.metadata
    acc = a["accuracy"]
    mean_acc = acc.mean(axis=1)
    size = a["model_size_mb"]
    terminated = a["reason"] > 0
    reasons = Counter(str(a["reasons"][i]) for i in a["reason"][terminated].ravel())
    best = int(np.argmax(mean_acc))
    space = TABLE_SPACES[table.name]()
    best_design = design_of_row(best, table.action_sizes)
    hp = space.hyperparameters(best_design)
    rho = float(spearmanr(acc[:, 0], acc[:, 1]).statistic) if acc.shape[1] > 1 else float("nan")
    ok = ~terminated.any(axis=1)
    rho_ok = (float(spearmanr(acc[ok, 0], acc[ok, 1]).statistic)
              if acc.shape[1] > 1 and ok.sum() > 2 else float("nan"))
    return {
        "name": table.name, "designs": table.num_designs, "seeds": table.seeds,
        "epochs": int(a["accuracy_curve"].shape[2]), "agents": meta["agents"],
        "acc_best": float(mean_acc.max()), "acc_median": float(np.median(mean_acc)),
        "acc_worst": float(mean_acc.min()),
        "best_design": best_design.actions,
        "best_hp": {name: {k: v for k, v in hp[name].items() if k in space.by_name[name].choices}
                    for name in space.agents},
        "size_min": float(size.min()), "size_median": float(np.median(size)),
        "size_max": float(size.max()), "params_min": int(a["params"].min()),
        "params_max": int(a["params"].max()),
        "spearman": rho, "spearman_not_terminated": rho_ok,
        "mean_abs_seed_diff": float(np.abs(acc[:, 0] - acc[:, -1]).mean()),
        "terminated_share": float(terminated.mean()),
        "designs_terminated_share": float(terminated.any(axis=1).mean()),
        "reasons": dict(reasons),
        "train_ms_median": float(np.median(a["train_ms"])),
        "infer_ms_median": float(np.median(a["infer_ms"])),
        "measured_cost_s": float(a["measured_cost_s"].sum()),
        "cold_cost_s": float(a["cost_s"].sum()),
        "wall_s": float(meta["generation_wall_s"]), "loadavg": float(meta["mean_loadavg"]),
        "file_kb": table.path.stat().st_size / 1024 if table.path else float("nan"),
        "meta": meta,
    }


def stats_markdown(tables: list[Table]) -> str:
    """A markdown section with the statistics of ``tables`` (for the README)."""
    rows = [table_stats(t) for t in tables]
    lines = ["## Tabular benchmarks", "",
             "Every design of two small spaces on `digits` (8x8, 10 classes) trained by our own "
             "`TrainingEvaluator`, once per seed, at the space's settings with the paper's early "
             "termination; per-epoch validation accuracy and training loss are recorded, so the "
             "epoch is a fidelity. Use: `cnn_design_env.env(space=\"table_chain\", "
             "evaluator=\"tabular\")`.", "",
             "| | " + " | ".join(f"`{r['name']}`" for r in rows) + " |",
             "|---|" + "---|" * len(rows)]

    def row(label: str, fmt) -> None:
        lines.append(f"| {label} | " + " | ".join(fmt(r) for r in rows) + " |")

    row("designs x seeds x epochs", lambda r: f"{r['designs']} x {len(r['seeds'])} x "
        f"{r['epochs']}")
    row("agents", lambda r: ", ".join(r["agents"]))
    row("accuracy best / median / worst (mean of seeds)",
        lambda r: f"{r['acc_best']:.3f} / {r['acc_median']:.3f} / {r['acc_worst']:.3f}")
    row("best design", lambda r: f"{r['best_design']}")
    row("model size MB min / median / max",
        lambda r: f"{r['size_min']:.4f} / {r['size_median']:.4f} / {r['size_max']:.4f}")
    row("params min / max", lambda r: f"{r['params_min']:,} / {r['params_max']:,}")
    row("Spearman rho seed 0 vs 1 (all / not terminated)",
        lambda r: f"{r['spearman']:.3f} / {r['spearman_not_terminated']:.3f}")
    row("mean abs accuracy difference between seeds", lambda r: f"{r['mean_abs_seed_diff']:.3f}")
    row("terminated early (evaluations / designs with any)",
        lambda r: f"{100 * r['terminated_share']:.1f}% / "
                  f"{100 * r['designs_terminated_share']:.1f}%")
    row("termination reasons", lambda r: ", ".join(f"{k}: {v}" for k, v in r["reasons"].items())
        or "none")
    row("median train / infer ms per batch",
        lambda r: f"{r['train_ms_median']:.2f} / {r['infer_ms_median']:.2f}")
    row("generation wall time", lambda r: f"{r['wall_s'] / 60:.1f} min")
    row("sum of measured costs / of cold costs",
        lambda r: f"{r['measured_cost_s'] / 60:.1f} / {r['cold_cost_s'] / 60:.1f} min")
    row("mean load average during generation", lambda r: f"{r['loadavg']:.1f}")
    row("file size", lambda r: f"{r['file_kb']:.0f} KB")
    meta = rows[0]["meta"]
    machine = meta["machine"]
    lines += ["", f"Generated {meta['date']} by `{meta['command'].strip()}` at commit "
              f"`{meta['git_commit']}` (package {meta['package_version']}, trainer sources "
              f"`{meta['source_digest']}`) on {machine['platform']}, {machine['cpu_count']} CPUs, "
              f"JAX {machine['jax']} ({machine['jax_backend']}), shared with other jobs (timings "
              "and costs are from that busy machine).", ""]
    total_wall = sum(r["wall_s"] for r in rows)
    lines.append(f"Total generation: {total_wall / 60:.1f} min wall for "
                 f"{sum(r['designs'] * len(r['seeds']) for r in rows)} trainings.")
    for r in rows:
        hp = "; ".join(f"{agent}: " + ", ".join(f"{k}={v}" for k, v in values.items())
                       for agent, values in r["best_hp"].items())
        lines.append(f"Best `{r['name']}` design: {hp}.")
    return "\n".join(lines) + "\n"
