"""Resumable, chunked generation of a table: train every design x seed, a chunk at a time.

The rows of a space (its designs in table order, :func:`~cnn_design_env.tables.design_of_row`)
are shuffled once with ``np.random.default_rng(order_seed)`` and cut into chunks of
``chunk_size`` designs: every chunk is a uniform sample of the space, so the statistics of the
chunks written so far (``make_bench_table.py --stats``) and the throughput of the first chunk
stand for the whole table. Each chunk is trained with the trainer's batched
path ``TrainingEvaluator.evaluate_many(designs, seeds)`` (design-seeds sharing a program train
together) and written at once, atomically (a temporary file renamed into place), as
``<work>/<space>/chunk_NNNNN.npz``: a version-2 table file of the chunk's rows (checksum,
provenance: command, commit, trainer hash, machine, date, wall time, load). A killed generator
therefore loses at most the chunk in flight, and a chunk file is small enough to commit. A run
resumes by skipping the chunk files present (their settings must match the run's, see
``settings.json``); :func:`assemble` concatenates the chunks into the table.

An evaluator without ``evaluate_many`` (a trainer before the batched path) is driven one
``evaluate`` at a time, with the same results.

Example (two designs of a tiny space, one epoch; slow, so not run as a doctest)::

    plan = GenerationPlan(space, seeds=(0, 1), epochs=1, chunk_size=2)
    generate(plan, "work")            # -> work/<space>/chunk_00000.npz, ...
    assemble(plan, "work", "out.npz")
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.space import Design, SearchSpace
from cnn_design_env.tables import (
    CURVES,
    PER_DESIGN,
    PER_SEED,
    design_of_row,
    load_table,
    save_table,
    space_fingerprint,
)
from cnn_design_env.tables.provenance import git_commit, load_average, machine, trainer_hash

SPATIAL_KEYS = frozenset({"stride", "pool_size"})
"""Hyperparameters that change tensor shapes, hence the compiled program."""


@dataclass(frozen=True)
class GenerationPlan:
    """What a generation trains: every design of ``space`` for ``epochs`` epochs per seed.

    Attributes:
        space: The table space.
        seeds: Training seeds (the table's columns).
        epochs: Epochs trained (the fidelities recorded).
        chunk_size: Designs per chunk file.
        data: Data set name given to the trainer.
        data_seed: Seed of the data split.
        order_seed: Seed of the shuffle that assigns rows to chunks.
    """

    space: SearchSpace
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 12
    chunk_size: int = 250
    data: str = "digits"
    data_seed: int = 0
    order_seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")
        for key in ("epochs", "chunk_size"):
            value = getattr(self, key)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{key} must be a positive integer, got {value!r}")

    @property
    def num_chunks(self) -> int:
        """Chunks the space is cut into."""
        return -(-self.space.size // self.chunk_size)

    def rows(self, index: int) -> np.ndarray:
        """Rows of chunk ``index`` (in the order its arrays store them).

        Raises:
            IndexError: If there is no such chunk.
        """
        if not 0 <= index < self.num_chunks:
            raise IndexError(f"chunk {index} out of range [0, {self.num_chunks})")
        start = index * self.chunk_size
        order = np.random.default_rng(self.order_seed).permutation(self.space.size)
        return order[start:start + self.chunk_size]

    def settings(self) -> dict[str, Any]:
        """What decides the results: every chunk of one table must share these."""
        from dataclasses import asdict

        from cnn_design_env.train.termination import TerminationConfig

        return {"space": self.space.name, "fingerprint": space_fingerprint(self.space),
                "seeds": list(self.seeds), "epochs": self.epochs,
                "chunk_size": self.chunk_size, "data": self.data, "data_seed": self.data_seed,
                "order_seed": self.order_seed,
                "termination": asdict(TerminationConfig()),
                "training": {k: repr(v) for k, v in sorted(self.space.training.items())},
                "action_sizes": list(self.space.action_sizes), "agents": list(self.space.agents)}


def chunk_path(work_dir: str | Path, plan: GenerationPlan, index: int) -> Path:
    """Where chunk ``index`` of ``plan`` is written."""
    return Path(work_dir) / plan.space.name / f"chunk_{index:05d}.npz"


def make_evaluator(plan: GenerationPlan, **trainer: Any) -> Any:
    """The trainer at the plan's settings (no persistent cache: a table records cold runs);
    ``trainer`` keywords (e.g. ``form="exact"``) go to ``TrainingEvaluator``."""
    from cnn_design_env.evaluators.training import TrainingEvaluator

    return TrainingEvaluator(plan.space, plan.data, epochs=plan.epochs,
                             data_seed=plan.data_seed, persistent_cache=False, **trainer)


def evaluate_batch(evaluator: Any, designs: Sequence[Design], seeds: Sequence[int]
                   ) -> list[Metrics]:
    """``evaluator.evaluate_many(designs, seeds)``, or one ``evaluate`` per pair without it."""
    many = getattr(evaluator, "evaluate_many", None)
    if many is not None:
        return list(many(list(designs), list(seeds)))
    return [evaluator.evaluate(d, seed=s) for d, s in zip(designs, seeds, strict=True)]


def program_key(space: SearchSpace, design: Design) -> tuple[int, ...]:
    """The actions of the agents whose choices change tensor shapes (strides, pool sizes):
    design-seeds with the same key can share one masked program."""
    return tuple(a for a, name in zip(design.actions, space.agents, strict=True)
                 if SPATIAL_KEYS & set(space.by_name[name].choices))


def entry_arrays(metrics: Sequence[Sequence[Metrics]], epochs: int) -> dict[str, np.ndarray]:
    """Table arrays (see :mod:`cnn_design_env.tables`) of ``metrics[row][seed column]``."""
    d, s = len(metrics), len(metrics[0])
    f64 = {k: np.zeros((d, s)) for k in ("accuracy", "train_ms", "infer_ms", "cost_s",
                                         "compile_s", "measured_cost_s")}
    i16 = {k: np.zeros((d, s), np.int16) for k in ("epochs", "total_epochs",
                                                   "epochs_to_threshold", "restarts", "reason")}
    curves = {k: np.full((d, s, epochs), np.nan) for k in CURVES}
    per_design = {"params": np.zeros(d, np.int64), "flops": np.zeros(d, np.int64),
                  "model_size_mb": np.zeros(d)}
    reasons = [""]
    for i, row in enumerate(metrics):
        for j, m in enumerate(row):
            f64["accuracy"][i, j] = m.accuracy
            f64["train_ms"][i, j] = m.train_ms_per_batch
            f64["infer_ms"][i, j] = m.infer_ms_per_batch
            f64["cost_s"][i, j] = f64["measured_cost_s"][i, j] = m.cost_s
            f64["compile_s"][i, j] = m.compile_s
            i16["epochs"][i, j] = m.epochs
            i16["total_epochs"][i, j] = int(m.extra.get("total_epochs", m.epochs))
            i16["epochs_to_threshold"][i, j] = (-1 if m.epochs_to_threshold is None
                                                else m.epochs_to_threshold)
            i16["restarts"][i, j] = m.restarts
            reason = m.reason if m.terminated else ""
            if reason not in reasons:
                reasons.append(reason)
            i16["reason"][i, j] = reasons.index(reason)
            curves["accuracy_curve"][i, j, :len(m.accuracy_curve[:epochs])] = \
                m.accuracy_curve[:epochs]
            curves["loss_curve"][i, j, :len(m.loss_curve[:epochs])] = m.loss_curve[:epochs]
        first = row[0]
        per_design["params"][i], per_design["flops"][i] = first.params, first.flops
        per_design["model_size_mb"][i] = first.model_size_mb
    return {**f64, **i16, **curves, **per_design,
            "reasons": np.asarray(reasons, dtype=np.str_)}


def run_chunk(plan: GenerationPlan, index: int, evaluator: Any, *, batch: int = 64,
              progress: Any = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Train chunk ``index``: its arrays and what the run measured (wall seconds, load).

    Design-seeds are ordered by :func:`program_key` and handed to the trainer ``batch`` at a
    time (the progress bar advances per batch).
    """
    rows = [int(r) for r in plan.rows(index)]
    space = plan.space
    entries = [(row, j) for row in rows for j in range(len(plan.seeds))]
    designs = {row: design_of_row(row, space.action_sizes) for row in rows}
    entries.sort(key=lambda e: (program_key(space, designs[e[0]]), e[0], e[1]))
    results: dict[tuple[int, int], Metrics] = {}
    start, loads = time.perf_counter(), [load_average()]
    for at in range(0, len(entries), batch):
        part = entries[at:at + batch]
        answers = evaluate_batch(evaluator, [designs[r] for r, _ in part],
                                 [plan.seeds[j] for _, j in part])
        results.update(zip(part, answers, strict=True))
        loads.append(load_average())
        if progress is not None:
            progress.update(len(part))
    metrics = [[results[(row, j)] for j in range(len(plan.seeds))] for row in rows]
    arrays = entry_arrays(metrics, plan.epochs)
    arrays.update(action_sizes=np.asarray(space.action_sizes, np.int64),
                  seeds=np.asarray(plan.seeds, np.int64), rows=np.asarray(rows, np.int64))
    measured = {"wall_s": time.perf_counter() - start, "loadavg": float(np.mean(loads)),
                "design_seeds": len(entries),
                "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    return arrays, measured


def _check_settings(plan: GenerationPlan, work_dir: Path) -> None:
    path = work_dir / plan.space.name / "settings.json"
    settings = plan.settings()
    if path.exists():
        if json.loads(path.read_text()) != settings:
            raise ValueError(f"{path} holds other settings than this run's; use another work "
                             "directory or delete that folder to start over")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings, indent=1, sort_keys=True))


def generate(plan: GenerationPlan, work_dir: str | Path, *, evaluator: Any = None,
             max_chunks: int | None = None, command: str = "", progress: bool = True,
             batch: int = 64) -> list[Path]:
    """Train and write every chunk not yet in ``work_dir`` (at most ``max_chunks`` of them).

    Returns:
        The chunk files written by this call.

    Raises:
        ValueError: If ``work_dir`` holds chunks of other settings.
    """
    from tqdm import tqdm

    work = Path(work_dir)
    _check_settings(plan, work)
    todo = [i for i in range(plan.num_chunks) if not chunk_path(work, plan, i).exists()]
    if max_chunks is not None:
        todo = todo[:max_chunks]
    evaluator = make_evaluator(plan) if evaluator is None and todo else evaluator
    provenance = {"command": command, "git_commit": git_commit(), "trainer_hash": trainer_hash(),
                  "machine": machine() if todo else {}}
    total = sum(len(plan.rows(i)) for i in todo) * len(plan.seeds)
    written = []
    with tqdm(total=total, desc=plan.space.name, unit="design-seed", file=sys.stderr,
              disable=not progress, mininterval=2.0) as bar:
        for index in todo:
            arrays, measured = run_chunk(plan, index, evaluator, batch=batch, progress=bar)
            metadata = {"space": plan.space.name, "fingerprint": space_fingerprint(plan.space),
                        "agents": list(plan.space.agents), "settings": plan.settings(),
                        "chunk": {"index": index, "of": plan.num_chunks},
                        **provenance, **measured, "date": measured["finished"][:10]}
            path = chunk_path(work, plan, index)
            tmp = path.with_name(path.stem + ".partial.npz")
            save_table(tmp, arrays, metadata)
            os.replace(tmp, path)
            written.append(path)
    return written


def chunk_status(plan: GenerationPlan, work_dir: str | Path) -> dict[str, Any]:
    """Chunks done and missing, and the measured throughput (design-seeds per wall second)."""
    work = Path(work_dir)
    done = [i for i in range(plan.num_chunks) if chunk_path(work, plan, i).exists()]
    walls = seeds = 0.0
    loads = []
    for i in done:
        meta = load_table(chunk_path(work, plan, i)).metadata
        walls += meta["wall_s"]
        seeds += meta["design_seeds"]
        loads.append(meta["loadavg"])
    rate = seeds / walls if walls else float("nan")
    missing = plan.num_chunks - len(done)
    left = (plan.space.size * len(plan.seeds) - seeds)
    return {"chunks": plan.num_chunks, "done": len(done), "missing": missing,
            "design_seeds_per_s": rate, "hours_left": left / rate / 3600 if walls else None,
            "mean_loadavg": float(np.mean(loads)) if loads else None}


def finished_entries(plan: GenerationPlan, work_dir: str | Path
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, accuracy ``(rows, seeds)`` and termination flags of the chunks written so far."""
    rows, accuracy, terminated = [], [], []
    for i in range(plan.num_chunks):
        path = chunk_path(work_dir, plan, i)
        if path.exists():
            chunk = load_table(path)
            rows.append(chunk.arrays["rows"])
            accuracy.append(chunk.arrays["accuracy"])
            terminated.append(chunk.arrays["reason"] > 0)
    if not rows:
        seeds = len(plan.seeds)
        return np.zeros(0, int), np.zeros((0, seeds)), np.zeros((0, seeds), bool)
    return np.concatenate(rows), np.concatenate(accuracy), np.concatenate(terminated)


def assemble(plan: GenerationPlan, work_dir: str | Path, out: str | Path) -> Path:
    """Concatenate every chunk into the table ``out`` (version 2, with a checksum).

    Raises:
        ValueError: If a chunk is missing, damaged (checksum) or of other settings.
    """
    work = Path(work_dir)
    missing = [i for i in range(plan.num_chunks) if not chunk_path(work, plan, i).exists()]
    if missing:
        raise ValueError(f"{plan.space.name}: {len(missing)} of {plan.num_chunks} chunks missing "
                         f"(first {missing[:5]}); run the generator to finish them")
    settings = plan.settings()
    chunks = [load_table(chunk_path(work, plan, i)) for i in range(plan.num_chunks)]
    for chunk in chunks:
        if chunk.metadata["settings"] != settings:
            raise ValueError(f"{chunk.path} was generated with other settings")
    reasons = [""]
    for chunk in chunks:
        reasons += [str(r) for r in chunk.arrays["reasons"] if str(r) not in reasons]
    rows = np.concatenate([chunk.arrays["rows"] for chunk in chunks])
    if not np.array_equal(np.sort(rows), np.arange(plan.space.size)):
        raise ValueError(f"{plan.space.name}: the chunks do not cover every row exactly once")
    arrays: dict[str, np.ndarray] = {}
    for key in (*PER_DESIGN, *PER_SEED, *CURVES):
        parts = []
        for chunk in chunks:
            part = chunk.arrays[key]
            if key == "reason":
                remap = np.asarray([reasons.index(str(r)) for r in chunk.arrays["reasons"]])
                part = remap[part].astype(np.int16)
            parts.append(part)
        merged = np.concatenate(parts)
        arrays[key] = np.empty_like(merged)
        arrays[key][rows] = merged
    arrays.update(action_sizes=np.asarray(plan.space.action_sizes, np.int64),
                  seeds=np.asarray(plan.seeds, np.int64),
                  reasons=np.asarray(reasons, dtype=np.str_))
    metas = [c.metadata for c in chunks]
    metadata = {
        "space": plan.space.name, "fingerprint": space_fingerprint(plan.space),
        "description": plan.space.description, "agents": list(plan.space.agents),
        "settings": settings, "command": metas[-1]["command"],
        "git_commits": sorted({m["git_commit"] for m in metas}),
        "trainer_hashes": sorted({m["trainer_hash"] for m in metas}),
        "machines": sorted({json.dumps(m["machine"], sort_keys=True) for m in metas}),
        "date": max(m["date"] for m in metas), "started": min(m["finished"] for m in metas),
        "finished": max(m["finished"] for m in metas),
        "generation_wall_s": float(sum(m["wall_s"] for m in metas)),
        "mean_loadavg": float(np.mean([m["loadavg"] for m in metas])),
        "total_measured_cost_s": float(arrays["measured_cost_s"].sum()),
        "chunks": plan.num_chunks,
    }
    return save_table(out, arrays, metadata)


__all__ = ["GenerationPlan", "assemble", "chunk_path", "chunk_status", "entry_arrays",
           "evaluate_batch", "finished_entries", "generate", "make_evaluator", "program_key",
           "run_chunk"]
