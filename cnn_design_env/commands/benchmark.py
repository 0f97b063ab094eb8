"""``cnn-design benchmark``: every method x seed under one budget; tables and plots.

Example::

    cnn-design benchmark --space vgg_mini --evaluator train --methods random,evolution,tpe \\
        --seeds 10 --budget 100 --out results/vgg_mini

writes ``summary.csv``, ``summary.md``, ``histories.csv`` (every evaluation), ``pareto.csv`` and
PNG plots into ``--out`` (see :mod:`baselines.compare`). Methods are scored by the true quality
of the design each would recommend (the best mean of its top 3, re-evaluated: on a table, over
every recorded seed), its regret and the share of runs recommending a top-1 % design, over all
runs; the best single observation is shown beside, for comparison.

Evaluators: ``train`` (:class:`~cnn_design_env.evaluators.training.TrainingEvaluator`, trains
every design on ``--data``), ``tabular`` (a recorded benchmark, once it exists), or an import path
``module:factory`` called as ``factory(space)`` for your own evaluator.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import shlex
import sys
from typing import Any

EVALUATORS = {
    "train": "cnn_design_env.evaluators.training:TrainingEvaluator",
    "tabular": "cnn_design_env.evaluators.tabular:TabularEvaluator",
}
"""Evaluator name -> ``"module:class"``; a name whose module is missing is not available."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``benchmark`` subcommand."""
    parser = subparsers.add_parser(
        "benchmark", help="compare search methods over seeds under one budget",
        description="Run every method with every seed on the same evaluator, reward and budget; "
                    "write CSV/Markdown tables and PNG plots.")
    parser.add_argument("--space", required=True, help="preset space (see `cnn-design spaces`)")
    parser.add_argument("--evaluator", required=True,
                        help=f"one of {', '.join(EVALUATORS)}, or module:factory "
                             "(called as factory(space))")
    parser.add_argument("--methods", required=True,
                        help="comma-separated methods: random, evolution, tpe, gp, nsga2, "
                             "qlearning, marl")
    parser.add_argument("--seeds", type=int, default=20, help="seeds 0..N-1 (default 20)")
    parser.add_argument("--budget", type=float, required=True,
                        help="budget per run, in --budget-unit")
    parser.add_argument("--budget-unit", choices=("episodes", "seconds"), default="episodes",
                        help="evaluations, or simulated seconds (sum of metrics.cost_s)")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--c-size", type=float, default=0.1,
                        help="reward weight of model size c_S (c_A = 1 - c_S; default 0.1)")
    parser.add_argument("--pareto", choices=("auto", "on", "off"), default="auto",
                        help="report Pareto fronts and hypervolume (auto: when the reward has "
                             "several objectives)")
    parser.add_argument("--fractions", default="0.1,0.25,0.5,1",
                        help="budget fractions of the best-reward columns")
    parser.add_argument("--reuse-evaluations", action="store_true",
                        help="evaluate each design once and replay its metrics (recorded cost "
                             "included) when asked again")
    parser.add_argument("--data", default=None,
                        help="train: data set name or path (default: digits, or shapes for "
                             "segmentation spaces)")
    parser.add_argument("--epochs", type=int, default=3, help="train: epochs per evaluation")
    parser.add_argument("--subsample-per-class", type=int, default=None,
                        help="train: training images kept per class")
    parser.set_defaults(func=run)


def _available() -> list[str]:
    return [name for name, target in EVALUATORS.items()
            if importlib.util.find_spec(target.split(":")[0]) is not None]


def make_evaluator(name: str, space: Any, args: argparse.Namespace) -> Any:
    """The evaluator called ``name`` for ``space``.

    Raises:
        ValueError: On an unknown or not yet available evaluator, listing the known ones.
    """
    if ":" in name:
        module, attr = name.split(":", 1)
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as error:
            raise ValueError(f"cannot import evaluator factory {name!r}: {error}") from error
        return factory(space)
    if name not in EVALUATORS:
        raise ValueError(f"unknown evaluator {name!r}; known evaluators: {', '.join(_available())} "
                         "(or module:factory)")
    if name not in _available():
        raise ValueError(f"evaluator {name!r} is not available in this version (no module "
                         f"{EVALUATORS[name].split(':')[0]}); available evaluators: "
                         f"{', '.join(_available())} (or module:factory)")
    module, attr = EVALUATORS[name].split(":")
    cls = getattr(importlib.import_module(module), attr)
    if name == "train":
        data = args.data or ("shapes" if space.task == "segmentation" else "digits")
        return cls(space, data, epochs=args.epochs,
                   subsample_per_class=args.subsample_per_class)
    return cls(space)


def _command(args: argparse.Namespace) -> str:
    parts = ["cnn-design", "benchmark", "--space", args.space, "--evaluator", args.evaluator,
             "--methods", args.methods, "--seeds", str(args.seeds), "--budget", f"{args.budget:g}",
             "--budget-unit", args.budget_unit, "--out", args.out, "--c-size", f"{args.c_size:g}",
             "--pareto", args.pareto, "--fractions", args.fractions]
    if args.reuse_evaluations:
        parts.append("--reuse-evaluations")
    if args.evaluator == "train":
        parts += ["--epochs", str(args.epochs)] + (["--data", args.data] if args.data else [])
        if args.subsample_per_class is not None:
            parts += ["--subsample-per-class", str(args.subsample_per_class)]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, write the report; exit 1 if any run failed (its results are kept)."""
    from baselines.compare import benchmark, write_report
    from baselines.registry import check_methods
    from cnn_design_env.reward import PaperReward
    from cnn_design_env.space import get_space, list_spaces

    methods = check_methods(args.methods.split(","))
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    if not args.budget > 0:
        raise ValueError(f"--budget must be > 0, got {args.budget:g}")
    if args.budget_unit == "episodes" and args.budget != int(args.budget):
        raise ValueError(f"--budget in episodes must be an integer, got {args.budget:g}")
    try:
        fractions = [float(f) for f in args.fractions.split(",")]
    except ValueError:
        raise ValueError(f"--fractions must be comma-separated numbers, got "
                         f"{args.fractions!r}") from None
    if not all(0 < f <= 1 for f in fractions):
        raise ValueError(f"--fractions must lie in (0, 1], got {args.fractions!r}")
    if args.space not in list_spaces():
        raise ValueError(f"unknown space {args.space!r}; expected one of {list_spaces()}")
    reward = PaperReward(c_accuracy=1.0 - args.c_size, c_size=args.c_size)
    evaluator = make_evaluator(args.evaluator, get_space(args.space), args)
    budget = ({"budget_episodes": int(args.budget)} if args.budget_unit == "episodes"
              else {"budget_seconds": float(args.budget)})

    def progress(history: Any) -> None:
        rec = history.recommendation
        status = history.error or (f"recommended {tuple(rec.design)} (mean reward "
                                   f"{rec.best.mean_reward:.4g})" if rec else "nothing")
        print(f"{history.method:<10} seed {history.seed:<3} {len(history):>5} evaluations, "
              f"{history.cost_s:9.1f} s simulated, {history.wall_s:7.1f} s wall: {status}",
              flush=True)

    result = benchmark(methods, evaluator, reward, seeds=args.seeds,
                       reuse_evaluations=args.reuse_evaluations,
                       pareto={"auto": None, "on": True, "off": False}[args.pareto],
                       progress=progress, **budget)
    paths = write_report(result, args.out, fractions=fractions,
                         notes=[f"command: `{_command(args)}`",
                                f"reward: {reward!r}", f"evaluator: {args.evaluator}"])
    print(next(p for p in paths if p.name == "summary.md").read_text())
    print("wrote " + ", ".join(str(p) for p in paths))
    for error in result.errors:
        print(f"cnn-design benchmark: run failed: {error}", file=sys.stderr)
    return 1 if result.errors else 0
