"""Generate the large benchmark tables in resumable chunks (successor of ``make_table.py``).

Usage::

    python scripts/make_bench_table.py --space bench_chain                # continue, all chunks
    python scripts/make_bench_table.py --space bench_chain --max-chunks 4 # a few chunks, stop
    python scripts/make_bench_table.py --status        # chunks done, throughput, hours left
    python scripts/make_bench_table.py --assemble                         # chunks -> table
    python scripts/make_bench_table.py --stats                            # quality statistics

Each chunk (``--chunk-size`` designs x every seed) is trained with the trainer's batched path and
written to ``<work-dir>/<space>/chunk_NNNNN.npz`` as soon as it is done (see
:mod:`cnn_design_env.tables.generate`): commit the chunk files, and any later sitting continues
with the same command. ``--stats`` prints the quality statistics (seed-to-seed Spearman over
all designs and in the top 10 %, a seed mean's standard error against the gap between the best
design and the 1 % quantile, duplicate networks, terminated share) of the chunks written so far
and of the shipped tables.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from cnn_design_env.space.bench import BENCH_SPACES
from cnn_design_env.space.tables import TABLE_SPACES
from cnn_design_env.tables import TABLE_DIR, list_tables, load_table
from cnn_design_env.tables.generate import (
    GenerationPlan,
    assemble,
    chunk_status,
    finished_entries,
    generate,
    make_evaluator,
)
from cnn_design_env.tables.quality import quality_markdown, quality_stats

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {"seeds": [0, 1, 2], "epochs": 12, "chunk_size": 250}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", nargs="+", default=list(BENCH_SPACES),
                        choices=list(BENCH_SPACES))
    parser.add_argument("--seeds", nargs="+", type=int, default=DEFAULTS["seeds"])
    parser.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    parser.add_argument("--chunk-size", type=int, default=DEFAULTS["chunk_size"])
    parser.add_argument("--work-dir", default=str(ROOT / "tablework"))
    parser.add_argument("--out", default=str(TABLE_DIR))
    parser.add_argument("--max-chunks", type=int, default=None,
                        help="stop after this many chunks (default: all missing)")
    parser.add_argument("--batch", type=int, default=64,
                        help="design-seeds per evaluate_many call")
    parser.add_argument("--form", default=None, choices=("exact", "masked", "auto"),
                        help="the trainer's form (batched trainer only; default: its own)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--status", action="store_true", help="chunks done, throughput, plan")
    group.add_argument("--assemble", action="store_true", help="pack the chunks into tables")
    group.add_argument("--stats", action="store_true", help="quality statistics")
    args = parser.parse_args(argv)
    args.command = " ".join(["python scripts/make_bench_table.py", *(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))])
    return args


def plan_of(name: str, args: argparse.Namespace) -> GenerationPlan:
    """The generation plan of space ``name`` at the arguments' settings."""
    return GenerationPlan(BENCH_SPACES[name](), seeds=tuple(args.seeds), epochs=args.epochs,
                          chunk_size=args.chunk_size)


def stats(args: argparse.Namespace) -> str:
    """Quality statistics of the chunks written so far and of the shipped tables."""
    named = {}
    for name in args.space:
        plan = plan_of(name, args)
        rows, accuracy, terminated = finished_entries(plan, args.work_dir)
        if len(rows) >= 3:
            named[f"{name} ({len(rows)}/{plan.space.size} rows)"] = quality_stats(
                accuracy, terminated.astype(int), space=plan.space, rows=rows)
    known = {**TABLE_SPACES, **BENCH_SPACES}
    for name in list_tables():
        table = load_table(name)
        named[name] = quality_stats(table.arrays["accuracy"], table.arrays["reason"],
                                    space=known[name]())
    return quality_markdown(named) if named else "no chunks and no tables yet\n"


def main(argv: list[str] | None = None) -> None:
    """Generate, report status, assemble or print statistics."""
    args = parse_args(argv)
    if args.stats:
        print(stats(args), end="")
        return
    for name in args.space:
        plan = plan_of(name, args)
        if args.status:
            s = chunk_status(plan, args.work_dir)
            hours = "unknown" if s["hours_left"] is None else f"{s['hours_left']:.1f} h"
            print(f"{name}: {s['done']}/{s['chunks']} chunks of {plan.chunk_size} designs x "
                  f"{len(plan.seeds)} seeds x {plan.epochs} epochs; "
                  f"{s['design_seeds_per_s']:.2f} design-seeds/s (mean load "
                  f"{s['mean_loadavg']}); left: {hours}")
        elif args.assemble:
            print(f"{name}: {assemble(plan, args.work_dir, Path(args.out) / f'{name}.npz')}")
        else:
            trainer = {} if args.form is None else {"form": args.form}
            written = generate(plan, args.work_dir, max_chunks=args.max_chunks,
                               command=args.command, batch=args.batch,
                               evaluator=make_evaluator(plan, **trainer))
            print(f"{name}: wrote {len(written)} chunks", flush=True)


if __name__ == "__main__":
    main()
