"""Cost of the run checkpoint written after every evaluation: size and time of one save.

For each method, a searcher is told ``--trials`` random results (TPE and NSGA-II with all of them
as start-up trials, so the study grows without the sampler's fitting cost), its study kept in the
run folder's Optuna journal storage as a run does; then the checkpoint is saved ``--repeats``
times and the median save time and the file size are printed. For the Optuna methods the time
per ask + tell is printed too, with the study in memory and in the journal storage (which writes
and ``fsync``s every operation: the price of a study that resumes through Optuna itself).

    PYTHONPATH=. python benchmarks/checkpoint_cost.py --trials 3000
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from baselines import make_searcher
from cnn_design_env.evaluators import Metrics
from cnn_design_env.run import checkpoint
from cnn_design_env.run.checkpoint import LoopState
from cnn_design_env.space import get_space


def measure(method: str, trials: int, repeats: int, *, storage: bool = True
            ) -> tuple[float, float, float]:
    """``(median ms per save, KB, ms per ask + tell)`` of ``method`` after ``trials`` tells."""
    space = get_space("vgg_mini")
    options = {"tpe": {"n_startup_trials": trials + 1},
               "nsga2": {"population_size": trials + 1},
               "marl": {"exploration_episodes": trials + 1}}.get(method, {})
    searcher = make_searcher(method, space, seed=0, **options)
    folder = Path(tempfile.mkdtemp())
    if storage and hasattr(searcher, "bind_storage"):
        searcher.bind_storage(folder, "bench")
    rng = np.random.default_rng(0)
    began = time.perf_counter()
    for _ in range(trials):
        value = float(rng.random())
        searcher.tell(searcher.ask(), value, Metrics(accuracy=value, model_size_mb=1.0))
    per_trial = 1e3 * (time.perf_counter() - began) / trials
    if not storage:
        return math.nan, math.nan, per_trial
    state = LoopState(searcher=searcher, seeds=np.random.default_rng(0), told=trials)
    path = folder / "checkpoint.npz"
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        checkpoint.save(path, state)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times), path.stat().st_size / 1e3, per_trial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--methods", default="random,evolution,qlearning,marl,tpe,nsga2")
    args = parser.parse_args()
    print(f"checkpoint after {args.trials} evaluations (median of {args.repeats} saves)")
    for method in args.methods.split(","):
        ms, kb, per_trial = measure(method, args.trials, args.repeats)
        line = f"{method:>10}: save {ms:7.2f} ms  {kb:8.1f} KB"
        if method in ("tpe", "nsga2", "gp"):
            in_memory = measure(method, args.trials, args.repeats, storage=False)[2]
            line += (f"  ask+tell {per_trial:.2f} ms in the journal storage, {in_memory:.2f} ms "
                     f"in memory ({per_trial / in_memory:.1f}x)")
        print(line)


if __name__ == "__main__":
    main()
