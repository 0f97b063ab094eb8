"""Scale-out: evaluations per minute with 1 and 2 local workers and through a Dask LocalCluster.

Every configuration evaluates its own distinct designs of the space with the real trainer
(``TrainingEvaluator``), through the search loop of ``cnn-design search`` (journal, checkpoint
after every tell, results told in ask order), keeping ``K`` evaluations in flight:

* ``inline``: ``K = 1``, in the calling process (``--workers 1``);
* ``processes``: ``K = 2`` local processes started with ``spawn`` (``--workers 2``);
* ``dask``: ``K = 2`` on a ``distributed.LocalCluster`` of 2 single-threaded worker processes
  (``--scheduler ADDRESS``); the cluster's own start-up is timed separately.

Each configuration gets a fresh JAX persistent-compilation-cache directory, so every design
compiles (as on a first run); designs are disjoint between configurations. Reported per
configuration: evaluations per minute over the whole run (worker start-up included: each worker
imports JAX and loads the data at its first task) and in the steady state (from the K-th completed
evaluation to the last), and the ratios to ``inline``.

On a 2-core machine two workers compete for the same cores as the compiler's own threads, so the
ratio is bounded well below 2; on a machine with more cores (or a cluster) ``K`` scales further.

Run: ``python benchmarks/scale_out.py [--designs 10] [--epochs 2] [--skip-dask]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cnn_design_env.evaluators.executors import EvaluatorSpec, open_executor, resolve_space
from cnn_design_env.reward import PaperReward
from cnn_design_env.run.checkpoint import LoopState
from cnn_design_env.run.journal import Journal
from cnn_design_env.run.loop import SearchLoop
from cnn_design_env.space import Design


class ListSearcher:
    """Asks a fixed list of designs, in order; always batch-capable."""

    name = "list"

    def __init__(self, space, designs: list[Design]) -> None:
        self.space = space
        self.designs = list(designs)
        self.asked = 0

    def ask(self) -> Design:
        design = self.designs[self.asked]
        self.asked += 1
        return design

    def tell(self, design, reward, metrics=None) -> None:
        pass

    def can_ask_ahead(self, pending: int) -> bool:
        return True


def distinct_designs(space, count: int, seed: int) -> list[Design]:
    """``count`` distinct random designs."""
    rng = np.random.default_rng(seed)
    seen: dict[Design, None] = {}
    while len(seen) < count:
        seen.setdefault(space.sample(rng), None)
    return list(seen)


def run_config(name: str, designs: list[Design], spec: EvaluatorSpec, *, workers: int,
               scheduler: str | None, root: Path) -> dict:
    """Evaluate ``designs`` through the search loop; returns timings."""
    space = resolve_space(spec.space)
    out = root / name
    out.mkdir()
    state = LoopState(searcher=ListSearcher(space, designs), seeds=np.random.default_rng(0))
    done: list[float] = []
    start = time.perf_counter()
    with open_executor(workers=workers, scheduler=scheduler) as executor, \
            Journal(out / "evaluations.jsonl") as journal:
        SearchLoop(state, spec=spec, executor=executor, reward=PaperReward(),
                   episodes=len(designs), in_flight=workers, journal=journal,
                   checkpoint_path=out / "checkpoint.npz", cache=False, worker=name,
                   on_record=[lambda record: done.append(time.perf_counter() - start)]).run()
    wall = time.perf_counter() - start
    k = min(workers, len(done) - 1)
    steady = (len(done) - 1 - k) / (done[-1] - done[k]) * 60 if len(done) > k + 1 else float("nan")
    return {"name": name, "workers": workers, "evaluations": len(done), "wall_s": wall,
            "per_min": len(done) / wall * 60, "steady_per_min": steady,
            "first_s": done[0] if done else float("nan")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="vgg_mini")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--designs", type=int, default=10, help="designs per configuration")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args(argv)

    space = resolve_space(args.space)
    configs = [("inline", 1), ("processes", 2)] + ([] if args.skip_dask else [("dask", 2)])
    pool = distinct_designs(space, args.designs * len(configs), seed=12345)
    results = []
    with tempfile.TemporaryDirectory(prefix="scale_out_") as tmp:
        root = Path(tmp)
        for position, (name, workers) in enumerate(configs):
            cache = root / f"jax_cache_{name}"
            os.environ["CNN_DESIGN_JAX_CACHE"] = str(cache)  # spawned workers inherit it
            spec = EvaluatorSpec("train", args.space, args.data,
                                 {"epochs": args.epochs, "cache_dir": str(cache)})
            designs = pool[position * args.designs:(position + 1) * args.designs]
            cluster, scheduler, startup = None, None, 0.0
            if name == "dask":
                from distributed import LocalCluster

                t0 = time.perf_counter()
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                scheduler, startup = cluster.scheduler_address, time.perf_counter() - t0
            try:
                result = run_config(name, designs, spec, workers=workers, scheduler=scheduler,
                                    root=root)
            finally:
                if cluster is not None:
                    cluster.close()
            result["cluster_start_s"] = startup
            results.append(result)
            print(f"{name:<10} K={workers}  {result['evaluations']} designs in "
                  f"{result['wall_s']:.1f} s (first result after {result['first_s']:.1f} s)",
                  flush=True)

    base = results[0]
    print(f"\nscale-out on {os.cpu_count()} CPU cores: {args.space} + {args.data}, "
          f"{args.epochs} epochs per design, {args.designs} distinct designs per configuration, "
          "fresh compilation cache each")
    print(f"{'configuration':<16}{'evals/min':>10}{'ratio':>8}{'steady/min':>12}{'ratio':>8}"
          f"{'wall s':>9}{'first s':>9}")
    for r in results:
        label = f"{r['name']} (K={r['workers']})"
        print(f"{label:<16}{r['per_min']:>10.2f}{r['per_min'] / base['per_min']:>8.2f}"
              f"{r['steady_per_min']:>12.2f}"
              f"{r['steady_per_min'] / base['steady_per_min']:>8.2f}"
              f"{r['wall_s']:>9.1f}{r['first_s']:>9.1f}")
    dask = [r for r in results if r["name"] == "dask"]
    if dask:
        print(f"(Dask LocalCluster start-up, not in the table: {dask[0]['cluster_start_s']:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
