"""Per-layer latency lookup table of a space, its predictions, and their validation.

Usage::

    python scripts/latency_table.py --space bench_chain [--validate 200] [--out latency.npz]

Times each distinct layer configuration of the space once per batch size (1 and 256; warm-up,
median of 5 repeats), predicts the inference latency of every design
(:mod:`cnn_design_env.tables.latency`), measures the whole network of ``--validate`` designs
drawn with ``np.random.default_rng(--seed)`` and prints the share predicted within +-10 % and
+-20 %, with the load average of the machine before and after. ``--out`` writes
``latency_ms`` (designs x 2 batch sizes, table row order) with the figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time

import numpy as np

from cnn_design_env.space import Design, analyze, get_space
from cnn_design_env.tables.latency import BATCHES, LatencyTable, layer_key, validate


def main(argv: list[str] | None = None) -> None:
    """Build, predict, validate, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--space", default="bench_chain")
    parser.add_argument("--validate", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--calibrate", type=int, default=0,
                        help="designs (apart from the validated ones) for a linear calibration")
    parser.add_argument("--out", default="")
    args = parser.parse_args(argv)
    space = get_space(args.space)
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    representatives: dict[tuple, Design] = {}
    designs = [Design(a) for a in itertools.product(*(range(n) for n in space.action_sizes))]
    for design in designs:
        for info in analyze(space, design).layers[1:]:
            representatives.setdefault(layer_key(space, info), design)
    table = LatencyTable(space)
    for design in dict.fromkeys(representatives.values()):
        table.measure_design(design)
    build_s = time.perf_counter() - start
    rng = np.random.default_rng(args.seed)
    picked = rng.choice(len(designs), size=args.validate + args.calibrate, replace=False)
    sample = [designs[i] for i in picked[:args.validate]]
    start = time.perf_counter()
    if args.calibrate:
        table.calibrate([designs[i] for i in picked[args.validate:]])
        print(f"calibration on {args.calibrate} other designs (ms = a + b * layer sum): "
              f"{table.calibration}")
    latency = np.array([[table.predict(d, b) for b in BATCHES] for d in designs])
    result = validate(table, sample)
    validate_s = time.perf_counter() - start
    load_after = os.getloadavg()[0]
    print(f"{space.name}: {len(representatives)} layer configurations timed in {build_s:.0f} s; "
          f"{len(designs)} designs predicted; load average {load_before:.1f} -> "
          f"{load_after:.1f} on {os.cpu_count()} CPUs")
    for batch, r in result.items():
        print(f"  batch {batch}: {100 * r['within_10']:.1f} % within +-10 %, "
              f"{100 * r['within_20']:.1f} % within +-20 % (floor 80 %), median |error| "
              f"{100 * r['median_abs_error']:.1f} %, median predicted/measured "
              f"{r['median_ratio']:.2f}, over {r['designs']} measured designs "
              f"({validate_s:.0f} s)")
    if args.out:
        np.savez_compressed(args.out, latency_ms=latency, batches=np.asarray(BATCHES),
                            figures=np.str_(json.dumps({str(k): v for k, v in result.items()})),
                            loadavg=np.asarray([load_before, load_after]))


if __name__ == "__main__":
    main()
