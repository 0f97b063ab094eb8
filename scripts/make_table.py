"""Regenerate the shipped tabular benchmarks by training every design of the table spaces.

Usage::

    python scripts/make_table.py                      # both tables, resumable, then pack
    python scripts/make_table.py --space table_chain  # one table
    python scripts/make_table.py --pack-only          # pack the finished work files
    python scripts/make_table.py --stats              # statistics of the shipped tables

Every design is trained with :class:`~cnn_design_env.evaluators.training.TrainingEvaluator` at
the space's settings (paper early-termination rules included) for a fixed number of epochs, once
per seed; the seeds of one design and the designs of one architecture run back to back, so the
compiled program is reused (the row order puts the ``train`` agent last). Each finished
evaluation is appended at once to ``<work-dir>/<space>.jsonl``, so an interrupted run resumes
where it stopped; the run's settings are in ``<space>.meta.json`` and a resume with other settings
is refused. When a space is complete its table is packed into ``<out>/<space>.npz`` (format: see
:mod:`cnn_design_env.tables`), with the command, code version, machine, date and settings in its
metadata.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from table_stats import stats_markdown  # noqa: E402

from cnn_design_env.space import Design, SearchSpace  # noqa: E402
from cnn_design_env.space.tables import TABLE_SPACES  # noqa: E402
from cnn_design_env.tables import (  # noqa: E402
    TABLE_DIR,
    design_of_row,
    load_table,
    save_table,
    space_fingerprint,
)

SOURCES = ("cnn_design_env/evaluators/training.py", "cnn_design_env/train",
           "cnn_design_env/space", "cnn_design_env/evaluators/base.py")


# ----------------------------------------------------------------------- provenance
def git_commit() -> str:
    """The repository's HEAD commit, with ``+dirty`` when tracked files differ."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def source_digest() -> str:
    """SHA-256 over the trainer and space sources (untracked edits included)."""
    digest = hashlib.sha256()
    for entry in SOURCES:
        path = ROOT / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def machine() -> dict[str, Any]:
    """Platform, CPU count, Python, JAX backend and versions."""
    import jax

    import cnn_design_env

    return {"platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "jax": jax.__version__, "jax_backend": jax.default_backend(),
            "jax_devices": [str(d) for d in jax.devices()],
            "package_version": cnn_design_env.__version__}


# ----------------------------------------------------------------------- generation
def run_settings(space: SearchSpace, args: argparse.Namespace) -> dict[str, Any]:
    """What determines the results: a resume must match these exactly."""
    from dataclasses import asdict

    from cnn_design_env.train.termination import TerminationConfig

    return {"space": space.name, "fingerprint": space_fingerprint(space),
            "seeds": list(args.seeds), "epochs": args.epochs, "data": "digits",
            "data_seed": 0, "termination": asdict(TerminationConfig()),
            "training": dict(space.training), "persistent_cache": False,
            "action_sizes": list(space.action_sizes), "agents": list(space.agents)}


def read_work(path: Path) -> dict[tuple[int, int], dict[str, Any]]:
    """Finished evaluations of a work file by ``(row, seed)`` (a torn last line is skipped)."""
    done: dict[tuple[int, int], dict[str, Any]] = {}
    if not path.exists():
        return done
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        done[(int(record["row"]), int(record["seed"]))] = record
    return done


def generate(space: SearchSpace, args: argparse.Namespace) -> Path:
    """Train every (design, seed) not yet in the work file, appending each as it finishes."""
    from tqdm import tqdm

    from cnn_design_env.evaluators.training import TrainingEvaluator

    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    settings = run_settings(space, args)
    meta_path, work_path = work / f"{space.name}.meta.json", work / f"{space.name}.jsonl"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta["settings"] != settings:
            raise SystemExit(f"{meta_path} was started with other settings; delete "
                             f"{work_path} and {meta_path} to start over")
    else:
        meta = {"settings": settings, "started": dt.datetime.now(dt.UTC).isoformat(),
                "command": args.command, "machine": machine(), "git_commit": git_commit(),
                "source_digest": source_digest(), "runs": []}
    meta["runs"].append({"started": dt.datetime.now(dt.UTC).isoformat(),
                         "source_digest": source_digest(), "git_commit": git_commit()})
    meta_path.write_text(json.dumps(meta, indent=1))
    done = read_work(work_path)
    todo = [(row, seed) for row in range(space.size) for seed in args.seeds
            if (row, seed) not in done]
    evaluator = TrainingEvaluator(space, "digits", epochs=args.epochs, data_seed=0,
                                  persistent_cache=False)
    total = space.size * len(args.seeds)
    with open(work_path, "a") as out, tqdm(total=total, initial=total - len(todo),
                                             desc=space.name, mininterval=5.0,
                                             file=sys.stderr) as bar:
        for row, seed in todo:
            design = design_of_row(row, space.action_sizes)
            metrics = evaluator.evaluate(design, seed=seed)
            record = {"row": row, "seed": seed, "actions": list(design.actions),
                      "metrics": metrics.to_dict(), "loadavg": os.getloadavg()[0],
                      "finished": dt.datetime.now(dt.UTC).isoformat()}
            out.write(json.dumps(record) + "\n")
            out.flush()
            os.fsync(out.fileno())
            bar.update()
    return work_path


# -------------------------------------------------------------------------- packing
def _arch_key(space: SearchSpace, design: Design) -> tuple:
    """What selects the compiled program: the layer actions and the program-shaping settings."""
    settings = space.training_settings(design)
    layer_actions = tuple(a for a, name in zip(design.actions, space.agents, strict=True)
                          if space.by_name[name].kind != "train")
    return layer_actions, settings["optimizer"], settings["loss"], int(settings["batch_size"])


def pack(space: SearchSpace, args: argparse.Namespace) -> Path:
    """Pack a complete work file into ``<out>/<space>.npz``.

    Raises:
        SystemExit: If some (design, seed) is missing.
    """
    work = Path(args.work_dir)
    meta = json.loads((work / f"{space.name}.meta.json").read_text())
    done = read_work(work / f"{space.name}.jsonl")
    seeds = meta["settings"]["seeds"]
    epochs = int(meta["settings"]["epochs"])
    missing = [(r, s) for r in range(space.size) for s in seeds if (r, s) not in done]
    if missing:
        raise SystemExit(f"{space.name}: {len(missing)} evaluations missing (first {missing[:3]});"
                         " run without --pack-only to finish them")
    arrays = _arrays(space, done, seeds, epochs)
    metadata = _metadata(space, meta, list(done.values()), arrays)
    return save_table(Path(args.out) / f"{space.name}.npz", arrays, metadata)


def _arrays(space: SearchSpace, done: dict[tuple[int, int], dict[str, Any]], seeds: list[int],
            epochs: int) -> dict[str, np.ndarray]:
    """The table's arrays from the finished evaluations (see :mod:`cnn_design_env.tables`)."""
    d, s = space.size, len(seeds)
    f64 = {k: np.zeros((d, s)) for k in ("accuracy", "train_ms", "infer_ms", "cost_s",
                                         "compile_s", "measured_cost_s")}
    i16 = {k: np.zeros((d, s), np.int16) for k in ("epochs", "total_epochs",
                                                   "epochs_to_threshold", "restarts", "reason")}
    curves = {k: np.full((d, s, epochs), np.nan) for k in ("accuracy_curve", "loss_curve")}
    per_design = {"params": np.zeros(d, np.int64), "flops": np.zeros(d, np.int64),
                  "model_size_mb": np.zeros(d)}
    reasons = [""]
    cold_compile: dict[tuple, float] = {}
    for (row, col_seed), record in done.items():
        if col_seed not in seeds or row >= d:
            continue
        m = record["metrics"]
        key = _arch_key(space, design_of_row(row, space.action_sizes))
        cold_compile[key] = max(cold_compile.get(key, 0.0), float(m["compile_s"]))
    for (row, col_seed), record in done.items():
        if col_seed not in seeds or row >= d:
            continue
        j, m = seeds.index(col_seed), record["metrics"]
        design = design_of_row(row, space.action_sizes)
        compile_s = cold_compile[_arch_key(space, design)]
        f64["accuracy"][row, j] = m["accuracy"]
        f64["train_ms"][row, j] = m["train_ms_per_batch"]
        f64["infer_ms"][row, j] = m["infer_ms_per_batch"]
        f64["measured_cost_s"][row, j] = m["cost_s"]
        f64["compile_s"][row, j] = compile_s
        f64["cost_s"][row, j] = m["cost_s"] - m["compile_s"] + compile_s
        i16["epochs"][row, j] = m["epochs"]
        i16["total_epochs"][row, j] = m["extra"].get("total_epochs", m["epochs"])
        i16["epochs_to_threshold"][row, j] = (-1 if m["epochs_to_threshold"] is None
                                              else m["epochs_to_threshold"])
        i16["restarts"][row, j] = m["restarts"]
        reason = m["reason"] if m["terminated"] else ""
        if reason not in reasons:
            reasons.append(reason)
        i16["reason"][row, j] = reasons.index(reason)
        for name, values in (("accuracy_curve", m["accuracy_curve"]),
                             ("loss_curve", m["loss_curve"])):
            curves[name][row, j, :len(values)] = values[:epochs]
        per_design["params"][row] = m["params"]
        per_design["flops"][row] = m["flops"]
        per_design["model_size_mb"][row] = m["model_size_mb"]
    return {**f64, **i16, **curves, **per_design,
            "action_sizes": np.asarray(space.action_sizes, np.int64),
            "seeds": np.asarray(seeds, np.int64), "reasons": np.asarray(reasons, dtype=np.str_)}


def _metadata(space: SearchSpace, meta: dict[str, Any], records: list[dict[str, Any]],
              arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """The table's metadata: provenance from the work file's meta, plus generation totals."""
    finished = max(r["finished"] for r in records)
    return {
        "space": space.name, "fingerprint": space_fingerprint(space),
        "description": space.description, "agents": list(space.agents),
        "command": meta["command"], "git_commit": meta["git_commit"],
        "source_digest": meta["source_digest"], "runs": meta["runs"],
        "package_version": meta["machine"]["package_version"], "machine": meta["machine"],
        "date": finished[:10], "started": meta["started"], "finished": finished,
        "generation_wall_s": _wall_seconds(records),
        "total_measured_cost_s": float(arrays["measured_cost_s"].sum()),
        "mean_loadavg": float(np.mean([r["loadavg"] for r in records])),
        "settings": meta["settings"],
        "loss_threshold": records[0]["metrics"]["extra"].get("loss_threshold"),
        "batch_size": records[0]["metrics"]["extra"].get("batch_size"),
    }


def _wall_seconds(records: list[dict[str, Any]]) -> float:
    """Wall time of the generation: sum of the spans of its runs (gaps over 10 min excluded)."""
    ordered = sorted(records, key=lambda r: r["finished"])
    stamps = [dt.datetime.fromisoformat(r["finished"]).timestamp() for r in ordered]
    first = stamps[0] - ordered[0]["metrics"]["cost_s"]
    gaps = np.diff([first, *stamps])
    return float(np.sum(gaps[gaps < 600]))


# ----------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", nargs="+", default=list(TABLE_SPACES),
                        choices=list(TABLE_SPACES), help="table spaces (default: all)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--work-dir", default=str(ROOT / ".tablework"))
    parser.add_argument("--out", default=str(TABLE_DIR))
    parser.add_argument("--pack-only", action="store_true", help="pack finished work files")
    parser.add_argument("--stats", action="store_true",
                        help="print the statistics of the tables in --out and write --notes")
    parser.add_argument("--notes", default="/work/notes/README_tabular.md",
                        help="markdown file --stats writes ('' for none)")
    args = parser.parse_args(argv)
    args.command = " ".join(["python scripts/make_table.py", *(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))])
    return args


def main(argv: list[str] | None = None) -> None:
    """Generate, pack, or print statistics."""
    args = parse_args(argv)
    if args.stats:
        tables = [load_table(Path(args.out) / f"{name}.npz") for name in args.space]
        text = stats_markdown(tables)
        print(text)
        if args.notes:
            Path(args.notes).write_text(text)
        return
    for name in args.space:
        space = TABLE_SPACES[name]()
        if not args.pack_only:
            start = time.perf_counter()
            generate(space, args)
            print(f"{name}: generated in {time.perf_counter() - start:.0f} s", flush=True)
        print(f"{name}: packed {pack(space, args)}", flush=True)


if __name__ == "__main__":
    main()
