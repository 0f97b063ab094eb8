"""Evaluations per minute of a real search, this checkout against another one, in one run.

Runs ``cnn-design search --method random --workers 1 --space vgg_mini`` (real training on
``digits``, the CLI's defaults otherwise) once per checkout and repeat, alternating, each in a
fresh process with a fresh persistent compilation cache (``CNN_DESIGN_JAX_CACHE`` points at an
empty directory: both checkouts honour it), and prints the evaluations per minute of each and
their ratio (medians over repeats). Floor: this checkout at least 3x the other.

Run: ``python benchmarks/search_throughput.py --other /work/main [--episodes 60] [--repeats 1]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

FLOOR = 3.0
HERE = Path(__file__).resolve().parent.parent


def run_search(root: Path, episodes: int, epochs: int, seed: int) -> tuple[float, str]:
    """Wall seconds of one search run from the checkout at ``root`` (cold caches) and a summary
    of its journal (evaluations, summed cost and compile seconds, forms)."""
    with tempfile.TemporaryDirectory(prefix="search_bench_") as tmp:
        env = dict(os.environ, PYTHONPATH=str(root), CNN_DESIGN_JAX_CACHE=str(Path(tmp) / "jax"))
        command = [sys.executable, "-m", "cnn_design_env.cli", "search", "--method", "random",
                   "--workers", "1", "--space", "vgg_mini", "--episodes", str(episodes),
                   "--epochs", str(epochs), "--seed", str(seed), "--out", str(Path(tmp) / "run"),
                   "--quiet"]
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"search from {root} failed ({done.returncode}):\n"
                               f"{done.stderr[-3000:]}")
        return seconds, journal_summary(Path(tmp) / "run" / "evaluations.jsonl")


def journal_summary(path: Path) -> str:
    """Evaluations, summed ``cost_s`` and ``compile_s`` and forms of a run's journal."""
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    metrics = [r.get("metrics", {}) for r in records]
    forms = Counter(str(m.get("extra", {}).get("form", "exact")) + "/"
                    + str(m.get("extra", {}).get("compile_mode", "network")) for m in metrics)
    cost = sum(m.get("cost_s", 0.0) for m in metrics)
    compile_s = sum(m.get("compile_s", 0.0) for m in metrics)
    return (f"{len(records)} evaluations, cost {cost:.1f} s of which compile {compile_s:.1f} s; "
            + ", ".join(f"{k} {v}" for k, v in sorted(forms.items())))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--other", type=Path, default=Path("/work/main"),
                        help="the checkout to compare with (default: /work/main)")
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=2, help="the CLI's default: 2")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    sides = {"this checkout": HERE, f"other ({args.other})": args.other.resolve()}
    rates: dict[str, list[float]] = {name: [] for name in sides}
    print(f"random search on vgg_mini, digits, {args.episodes} evaluations of {args.epochs} "
          f"epochs, --workers 1, cold caches; load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    for repeat in range(args.repeats):
        for name, root in (reversed(sides.items()) if repeat % 2 else sides.items()):
            seconds, summary = run_search(root, args.episodes, args.epochs, seed=repeat)
            rate = 60 * args.episodes / seconds
            rates[name].append(rate)
            print(f"    {name:<28} {seconds:7.1f} s  {rate:6.1f} evaluations/min  ({summary}; "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    this, other = medians.values()
    ratio = this / other
    print(f"    median: this {this:.1f}/min, other {other:.1f}/min: {ratio:.2f}x (floor {FLOOR}x: "
          f"{'met' if ratio >= FLOOR else 'NOT met'}); load average "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
