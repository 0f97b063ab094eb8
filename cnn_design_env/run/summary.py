"""A run's summary: best design, Pareto front, costs, as JSON and as text tables.

Everything is computed from the journal (so ``cnn-design show`` works on an interrupted or
running search too), plus what only the searcher knows (a team's convergence and greedy design)
when the caller passes it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cnn_design_env.run.config import RunConfig
from cnn_design_env.run.journal import Record
from cnn_design_env.space import SearchSpace


def pareto_mask(records: Sequence[Record]) -> np.ndarray:
    """Which records are on the accuracy (max) / model size (min) front.

    Terminated evaluations and repeats of a design are never on it; of identical points the first
    is kept.

    Example:
        >>> from cnn_design_env import Metrics, Design
        >>> rec = lambda i, a, s: Record(i, Design((i,)), 0, Metrics(accuracy=a, model_size_mb=s),
        ...                              0.0)
        >>> pareto_mask([rec(0, 0.9, 2.0), rec(1, 0.8, 1.0), rec(2, 0.7, 1.5)]).tolist()
        [True, True, False]
    """
    points = np.array([[-r.metrics.accuracy, r.metrics.model_size_mb] for r in records],
                      dtype=float).reshape(len(records), 2)
    eligible = np.array([not r.metrics.terminated and not r.metrics.cached for r in records],
                        dtype=bool)
    keep = np.zeros(len(records), dtype=bool)
    idx = np.flatnonzero(eligible)
    if idx.size == 0:
        return keep
    p = points[idx]
    weakly = (p[:, None, :] <= p[None, :, :]).all(-1)
    strictly = (p[:, None, :] < p[None, :, :]).any(-1)
    dominated = (weakly & strictly).any(0)
    duplicate = np.triu((p[:, None, :] == p[None, :, :]).all(-1), 1).any(0)
    keep[idx] = ~(dominated | duplicate)
    return keep


def _design_entry(space: SearchSpace, record: Record) -> dict[str, Any]:
    m = record.metrics
    return {"index": record.index, "design": list(record.design.actions),
            "reward": record.reward, "accuracy": m.accuracy, "model_size_mb": m.model_size_mb,
            "params": m.params, "flops": m.flops, "epochs": m.epochs,
            "infer_ms_per_batch": m.infer_ms_per_batch, "terminated": m.terminated,
            "reason": m.reason,
            "choices": {a: dict(space.by_name[a].actions[i])
                        for a, i in zip(space.agents, record.design.actions, strict=True)}}


def summarize(config: RunConfig, space: SearchSpace, records: Sequence[Record], *,
              status: str, team: Mapping[str, Any] | None = None,
              wall_s: float | None = None,
              recommendation: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The summary document of a run.

    Args:
        config: The run's settings.
        space: Its space.
        records: Its journaled evaluations (any order; sorted by index here).
        status: ``"finished"``, ``"converged"``, ``"interrupted"``, ``"running"``, ...
        team: Extra facts from the searcher (``converged``, ``greedy_design``, ...).
        wall_s: Wall seconds of the run (default: the latest record's).
        recommendation: The final choice (:meth:`Recommendation.to_dict
            <cnn_design_env.run.recommend.Recommendation.to_dict>`), with its design's choices
            and whether it lies on the Pareto front added.
    """
    records = sorted(records, key=lambda r: r.index)
    rewards = np.array([r.reward for r in records], dtype=float)
    costs = np.array([max(0.0, r.metrics.cost_s) for r in records], dtype=float)
    phases: dict[str, int] = {}
    for r in records:
        if r.phase:
            phases[r.phase] = phases.get(r.phase, 0) + 1
    best = records[int(np.argmax(rewards))] if records else None
    finished = [r for r in records if not r.metrics.terminated]
    best_acc = max(finished, key=lambda r: r.metrics.accuracy) if finished else None
    front = [r for r, keep in zip(records, pareto_mask(records), strict=True) if keep]
    front.sort(key=lambda r: r.metrics.model_size_mb)
    return {
        "status": status, "space": config.space, "data": config.data,
        "method": config.method, "seed": config.seed, "episodes": config.episodes,
        "evaluator": config.evaluator.to_dict(),
        "executor": (f"dask {config.scheduler}" if config.scheduler
                     else f"{config.workers} local worker(s)"),
        "evaluations": len(records),
        "distinct_designs": len({r.design for r in records}),
        "cache_hits": sum(r.metrics.cached for r in records),
        "terminated": sum(r.metrics.terminated for r in records),
        "phases": phases,
        "cost_s": float(costs.sum()),
        "wall_s": float(wall_s if wall_s is not None
                        else (max((r.wall_s for r in records), default=0.0))),
        "best": None if best is None else _design_entry(space, best),
        "best_accuracy": None if best_acc is None else _design_entry(space, best_acc),
        "pareto_front": [_design_entry(space, r) for r in front],
        "recommendation": _recommendation_entry(space, recommendation, records),
        **({"team": dict(team)} if team else {}),
    }


def _recommendation_entry(space: SearchSpace, recommendation: Mapping[str, Any] | None,
                          records: Sequence[Record]) -> dict[str, Any] | None:
    if not recommendation:
        return None
    entry = dict(recommendation)
    design = tuple(entry["design"])
    entry["choices"] = {a: dict(space.by_name[a].actions[i])
                        for a, i in zip(space.agents, design, strict=True)}
    entry["on_pareto_front"] = on_mean_front(records, recommendation)
    return entry


def design_means(records: Sequence[Record], recommendation: Mapping[str, Any] | None = None
                 ) -> dict[tuple[int, ...], tuple[float, float]]:
    """``design -> (mean accuracy, model size)`` over every evaluation a run made of it.

    The search's evaluations (terminated ones and cached repeats left out) and, for the final
    choice's candidates, their re-evaluations too.
    """
    seen: dict[tuple[int, ...], tuple[list[float], float]] = {}
    for r in records:
        if not r.metrics.terminated and not r.metrics.cached:
            seen.setdefault(r.design.actions, ([], r.metrics.model_size_mb))[0].append(
                r.metrics.accuracy)
    for c in (recommendation or {}).get("candidates", ()):
        accuracies = list(c["search_accuracies"] if c.get("uses_search", True) else [])
        accuracies += list(c["final_accuracies"])
        if accuracies:
            seen[tuple(c["design"])] = (accuracies, float(c["model_size_mb"]))
    return {d: (float(np.mean(a)), size) for d, (a, size) in seen.items() if a}


def on_mean_front(records: Sequence[Record], recommendation: Mapping[str, Any]) -> bool:
    """Whether the recommended design lies on the accuracy / size Pareto front of what the run
    evaluated, each design at its mean accuracy over all its evaluations (:func:`design_means`).

    Example:
        >>> from cnn_design_env import Metrics, Design
        >>> rec = lambda i, a, s: Record(i, Design((i,)), 0, Metrics(accuracy=a, model_size_mb=s),
        ...                              0.0)
        >>> choice = {"design": [0], "candidates": [{"design": [0], "search_accuracies": [0.9],
        ...           "final_accuracies": [0.7, 0.8], "model_size_mb": 2.0}]}
        >>> on_mean_front([rec(0, 0.9, 2.0), rec(1, 0.85, 1.0)], choice)   # 0.8 at 2 MB
        False
    """
    means = design_means(records, recommendation)
    mine = means.get(tuple(recommendation["design"]))
    if mine is None:
        return False
    return not any(a >= mine[0] and s <= mine[1] and (a > mine[0] or s < mine[1])
                   for a, s in means.values())


def _pm(mean: Any, sd: Any, spec: str) -> str:
    text = _num(mean, spec)
    return text if sd is None or not math.isfinite(sd) else f"{text} ± {_num(sd, spec)}"


def recommendation_line(rec: Mapping[str, Any]) -> str:
    """The recommendation in one line: mean ± s.d. of reward and accuracy, test accuracy.

    Example:
        >>> recommendation_line({"mean_reward": 28.5, "sd_reward": 0.4, "mean_accuracy": 0.95,
        ...     "sd_accuracy": 0.013, "n": 3, "model_size_mb": 0.05, "test_accuracy": 0.94,
        ...     "k": 3, "extra_seeds": 2, "source": "reevaluated"})
        'reward 28.500 ± 0.400, accuracy 0.9500 ± 0.0130 (n=3), 0.0500 MB, test accuracy 0.9400'
    """
    test = rec.get("test_accuracy")
    return (f"reward {_pm(rec['mean_reward'], rec['sd_reward'], '.3f')}, accuracy "
            f"{_pm(rec['mean_accuracy'], rec['sd_accuracy'], '.4f')} (n={rec['n']}), "
            f"{_num(rec['model_size_mb'], '.4f')} MB"
            + (f", test accuracy {_num(test, '.4f')}" if test is not None else ""))


def _fmt_values(values: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items()) or "-"


def design_table(space: SearchSpace, actions: Sequence[int]) -> str:
    """The design as a table beside the space's original values (``*`` marks a change).

    Example:
        >>> from cnn_design_env.space import get_space
        >>> print(design_table(get_space("vgg_mini"), [0, 0, 0, 0, 0, 0]).splitlines()[2])
        * conv1  conv   kernels=8 kernel_size=3 stride=1  kernels=16 kernel_size=3 stride=1
    """
    rows = []
    for agent, action in zip(space.agents, actions, strict=True):
        layer = space.by_name[agent]
        chosen = dict(layer.actions[int(action)])
        original = {k: layer.params.get(k, space.training.get(k)) for k in chosen}
        mark = " " if chosen == original else "*"
        rows.append((mark, agent, layer.kind, _fmt_values(chosen), _fmt_values(original)))
    head = ("agent", "kind", "design", "original")
    widths = [max(len(r[i]) for r in [*(row[1:] for row in rows), head]) for i in range(4)]

    def line(mark: str, cells: Sequence[str]) -> str:
        return (f"{mark} " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
                ).rstrip()

    lines = [line(" ", head), line(" ", ["-" * w for w in widths])]
    lines += [line(row[0], row[1:]) for row in rows]
    return "\n".join(lines)


def _num(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    return format(value, spec)


def render(summary: Mapping[str, Any], space: SearchSpace) -> str:
    """The summary as text (``cnn-design show`` and the end of a search)."""
    s = summary
    lines = [f"run: {s['method']} on {s['space']} + {s['data'] or s['evaluator']['kind']} "
             f"(seed {s['seed']}, {s['executor']}) - {s['status']}",
             f"evaluations: {s['evaluations']}/{s['episodes']} ({s['distinct_designs']} distinct, "
             f"{s['cache_hits']} repeats from cache, {s['terminated']} terminated early)",
             f"cost: {_num(s['cost_s'], '.1f')} s evaluating, {_num(s['wall_s'], '.1f')} s wall"]
    if s["phases"]:
        lines.append("phases: " + ", ".join(f"{k} {v}" for k, v in s["phases"].items()))
    team = s.get("team") or {}
    if team.get("converged"):
        lines.append(f"converged at episode {team.get('converged_episode')} to "
                     f"{tuple(team['converged_design'])}")
    best = s["best"]
    if best is None:
        lines.append("no evaluation yet")
        return "\n".join(lines)
    rec = s.get("recommendation")
    if rec:
        how = ("mean over the table's recorded seeds" if rec["source"] == "table" else
               f"mean ± s.d. over the search's evaluations and {rec['extra_seeds']} more seeds")
        lines += ["", f"recommended design (the best mean of the top {rec['k']} by reward, {how}):",
                  f"  {tuple(rec['design'])}: {recommendation_line(rec)}"
                  + ("" if rec.get("on_pareto_front", True)
                     else "  (dominated on the front of mean accuracies)"),
                  design_table(space, rec["design"])]
        lines.append("candidates: " + "; ".join(
            f"{tuple(c['design'])} {_pm(c['mean_reward'], c['sd_reward'], '.3f')}"
            for c in rec["candidates"]))
    else:
        lines.append("no final choice yet (the run has not finished)")
    lines += ["", f"best single evaluation (evaluation {best['index'] + 1}): reward "
              f"{_num(best['reward'], '.3f')}, accuracy {_num(best['accuracy'], '.4f')}, "
              f"{_num(best['model_size_mb'], '.4f')} MB, {best['params']} params, design "
              f"{tuple(best['design'])}"]
    if not rec:
        lines.append(design_table(space, best["design"]))
    if s["best_accuracy"] and s["best_accuracy"]["index"] != best["index"]:
        b = s["best_accuracy"]
        lines.append(f"highest accuracy: {_num(b['accuracy'], '.4f')} at evaluation "
                     f"{b['index'] + 1} "
                     f"({_num(b['model_size_mb'], '.4f')} MB), design {tuple(b['design'])}")
    front = s["pareto_front"]
    if front:
        lines += ["", f"Pareto front (accuracy vs model size, {len(front)} designs):"]
        lines += [f"  {_num(f['model_size_mb'], '9.4f')} MB  accuracy {_num(f['accuracy'], '.4f')}"
                  f"  evaluation {f['index'] + 1:>4}  {tuple(f['design'])}" for f in front[:12]]
        if len(front) > 12:
            lines.append(f"  ... {len(front) - 12} more in summary.json")
    return "\n".join(lines)


__all__ = ["design_means", "design_table", "on_mean_front", "pareto_mask", "recommendation_line",
           "render", "summarize"]
