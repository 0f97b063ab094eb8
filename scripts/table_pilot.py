"""Pilot a table setting before the long generation: seed-to-seed Spearman on a sample.

Trains ``--designs`` random designs of a large-table space (a fixed sample, ``--sample-seed``)
on three seeds with the exact trainer and prints, as one JSON line (also appended to
``--log``), the quality figures the table's floor is about: the mean seed-to-seed Spearman of
final validation accuracy over the sample and inside its top 10 %, the accuracy range, the
median seed standard deviation, the terminated share and the throughput. The data can be made
harder (a larger validation split, fixed pixel noise) and the optimiser changed, to find a
setting whose ranking of designs is stable across seeds (issue 19's floor: Spearman >= 0.8)::

    python scripts/table_pilot.py --designs 40 --val-fraction 0.5 --noise 0.3 \
        --optimizer adam --learning-rate 0.001
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from cnn_design_env.space.bench import BENCH_SPACES
from cnn_design_env.tables import design_of_row
from cnn_design_env.tables.quality import mean_spearman
from cnn_design_env.train.data.builtin import load_digits

SEEDS = (0, 1, 2)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", default="bench_chain", choices=list(BENCH_SPACES))
    parser.add_argument("--designs", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--noise", type=float, default=0.0,
                        help="std of fixed Gaussian pixel noise (0: clean data)")
    parser.add_argument("--optimizer", default=None, help="override the space's optimiser")
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--sample-seed", type=int, default=7)
    parser.add_argument("--log", default=None, help="append the JSON line to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Run the pilot; returns the figures printed."""
    from cnn_design_env.evaluators.training import TrainingEvaluator

    args = parse_args(argv)
    space = BENCH_SPACES[args.space]()
    training = dict(space.training)
    if args.optimizer is not None:
        training["optimizer"] = args.optimizer
        if args.optimizer != "sgd":
            training.pop("momentum", None)
    if args.learning_rate is not None:
        training["learning_rate"] = args.learning_rate
    if training != dict(space.training):
        space = dataclasses.replace(space, training=training)
    data = load_digits(val_fraction=args.val_fraction, seed=0)
    if args.noise > 0:
        data = data.with_noise(args.noise, seed=1234)
    evaluator = TrainingEvaluator(space, data, epochs=args.epochs, persistent_cache=False,
                                  form="exact")
    rows = np.random.default_rng(args.sample_seed).choice(space.size, args.designs,
                                                          replace=False)
    accuracy = np.zeros((args.designs, len(SEEDS)))
    terminated = np.zeros_like(accuracy, dtype=bool)
    start = time.perf_counter()
    for i, row in enumerate(rows):
        design = design_of_row(int(row), space.action_sizes)
        for j, seed in enumerate(SEEDS):
            metrics = evaluator.evaluate(design, seed=seed)
            accuracy[i, j], terminated[i, j] = metrics.accuracy, metrics.terminated
    wall = time.perf_counter() - start
    mean = accuracy.mean(axis=1)
    top = mean >= np.quantile(mean, 0.9)
    out = {"space": args.space, "designs": args.designs, "epochs": args.epochs,
           "val_fraction": args.val_fraction, "noise": args.noise,
           "training": {k: repr(v) for k, v in sorted(training.items())},
           "train_images": data.num_train, "val_images": data.num_val,
           "spearman": round(mean_spearman(accuracy), 3),
           "spearman_top10": round(mean_spearman(accuracy[top]), 3),
           "accuracy_min_median_max": [round(float(q), 3) for q in
                                       np.quantile(accuracy, [0, 0.5, 1])],
           "median_seed_sd": round(float(np.median(accuracy.std(axis=1))), 4),
           "terminated_share": round(float(terminated.mean()), 3),
           "wall_s": round(wall, 1), "design_seeds_per_s": round(accuracy.size / wall, 2)}
    print(json.dumps(out))
    if args.log:
        with Path(args.log).open("a") as fh:
            fh.write(json.dumps(out) + "\n")
    return out


if __name__ == "__main__":
    main()
