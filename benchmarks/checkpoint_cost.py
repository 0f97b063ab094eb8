"""Cost of the run checkpoint written after every evaluation: size and time of one save.

For each method, a searcher is told ``--trials`` random results (TPE and NSGA-II with all of them
as start-up trials, so the study grows without the sampler's fitting cost), its study kept in the
run folder's Optuna journal storage as a run does; then the checkpoint is saved ``--repeats``
times and the median save time and the file size are printed.

    PYTHONPATH=. python benchmarks/checkpoint_cost.py --trials 3000
"""

from __future__ import annotations

import argparse
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


def measure(method: str, trials: int, repeats: int) -> tuple[float, float]:
    """``(median ms per save, KB)`` of the checkpoint of ``method`` after ``trials`` tells."""
    space = get_space("vgg_mini")
    options = {"tpe": {"n_startup_trials": trials + 1},
               "nsga2": {"population_size": trials + 1},
               "marl": {"exploration_episodes": trials + 1}}.get(method, {})
    searcher = make_searcher(method, space, seed=0, **options)
    folder = Path(tempfile.mkdtemp())
    if hasattr(searcher, "bind_storage"):
        searcher.bind_storage(folder, "bench")
    rng = np.random.default_rng(0)
    for _ in range(trials):
        value = float(rng.random())
        searcher.tell(searcher.ask(), value, Metrics(accuracy=value, model_size_mb=1.0))
    state = LoopState(searcher=searcher, seeds=np.random.default_rng(0), told=trials)
    path = folder / "checkpoint.npz"
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        checkpoint.save(path, state)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times), path.stat().st_size / 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--methods", default="random,evolution,qlearning,marl,tpe,nsga2")
    args = parser.parse_args()
    print(f"checkpoint after {args.trials} evaluations (median of {args.repeats} saves)")
    for method in args.methods.split(","):
        ms, kb = measure(method, args.trials, args.repeats)
        print(f"{method:>10}: {ms:7.2f} ms  {kb:8.1f} KB")


if __name__ == "__main__":
    main()
