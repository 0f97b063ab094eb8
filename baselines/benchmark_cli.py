"""``cnn-design benchmark``: every method x seed under one budget; tables and plots.

Example::

    cnn-design benchmark --space vgg_mini --methods random,evolution,tpe --seeds 10 \\
        --budget 100 --out results/vgg_mini

Every run is the project's one runner (:func:`baselines.run`): run ``(method, seed)`` is the run
``cnn-design search --method METHOD --seed SEED --no-cache`` makes with the same options. It
takes the same evaluation options as ``search`` (``--space``, ``--evaluator``, ``--data``,
``--epochs``, ``--subsample``, ``--evaluator-option``, ``--eval-timeout``), the same ``--workers``
/ ``--scheduler`` and the same refusal to write into a non-empty ``--out`` without
``--overwrite``. Each finished run is saved in ``--out/runs/`` as it ends; ``--resume`` continues
an interrupted benchmark with the same settings, running only what is missing.

It writes ``summary.csv``, ``summary.md``, ``histories.csv`` (every evaluation), ``pareto.csv``
and PNG plots into ``--out`` (see :mod:`baselines.compare`). Methods are scored by the true
quality of the design each would recommend (the best mean of its top 3, re-evaluated: on a
table, over every recorded seed), its regret and the share of runs recommending a top-1 % design,
over all runs; the best single observation is shown beside, for comparison.

This command belongs to the ``baselines`` package (it needs the harness) and reaches the CLI
through the ``cnn_design_env.commands`` entry point, as any other package's command would.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from cnn_design_env.commands.options import (
    add_evaluation_arguments,
    add_executor_arguments,
    add_output_arguments,
)

MARKER = "benchmark.json"
"""The settings of a benchmark folder (what ``--resume`` checks)."""
RUNS = "runs"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``benchmark`` subcommand."""
    parser = subparsers.add_parser(
        "benchmark", help="compare search methods over seeds under one budget",
        description="Run every method with every seed on the same evaluator, reward and budget; "
                    "write CSV/Markdown tables and PNG plots. Each run is the one 'cnn-design "
                    "search --seed S --no-cache' makes.")
    add_evaluation_arguments(parser, space_default="vgg_mini")
    parser.add_argument("--methods", required=True,
                        help="comma-separated methods: random, evolution, tpe, gp, nsga2, "
                             "qlearning, marl, asha, hyperband, bohb (tables only), "
                             "registered ones or package.module:factory")
    parser.add_argument("--seeds", type=int, default=20,
                        help="seeds 0..N-1 (default 20)")
    parser.add_argument("--budget", type=float, required=True,
                        help="budget per run, in --budget-unit")
    parser.add_argument("--budget-unit", choices=("episodes", "seconds"), default="episodes",
                        help="evaluations, or simulated seconds (sum of metrics.cost_s)")
    parser.add_argument("--c-size", type=float, default=0.1,
                        help="reward weight of model size c_S (c_A = 1 - c_S; default 0.1)")
    parser.add_argument("--pareto", choices=("auto", "on", "off"), default="auto",
                        help="report Pareto fronts and hypervolume (auto: when the reward has "
                             "several objectives)")
    parser.add_argument("--fractions", default="0.1,0.25,0.5,1",
                        help="budget fractions of the best-reward columns")
    parser.add_argument("--reuse-evaluations", action="store_true",
                        help="evaluate each design once and replay its metrics (recorded cost "
                             "included) when asked again (in-process evaluations only)")
    add_output_arguments(parser, what="benchmark folder")
    parser.add_argument("--resume", action="store_true",
                        help="continue the benchmark in --out (same settings): keep its finished "
                             "runs, make the missing ones")
    add_executor_arguments(parser)
    parser.set_defaults(func=run)


def settings(args: argparse.Namespace, spec: Any, methods: list[str]) -> dict[str, Any]:
    """What a benchmark's results depend on (stored in ``benchmark.json``; ``--resume`` checks
    it). Workers are not in it: runs are told in ask order, the same with any executor."""
    return {"format": 1, "space": args.space, "evaluator": spec.to_dict(), "methods": methods,
            "seeds": args.seeds, "budget": args.budget, "budget_unit": args.budget_unit,
            "c_size": args.c_size, "reuse_evaluations": args.reuse_evaluations,
            "eval_timeout_s": args.eval_timeout}


def _command(args: argparse.Namespace) -> str:
    parts = ["cnn-design", "benchmark", "--space", args.space, "--evaluator", args.evaluator,
             "--methods", args.methods, "--seeds", str(args.seeds), "--budget", f"{args.budget:g}",
             "--budget-unit", args.budget_unit, "--out", args.out, "--c-size", f"{args.c_size:g}",
             "--pareto", args.pareto, "--fractions", args.fractions]
    if args.reuse_evaluations:
        parts.append("--reuse-evaluations")
    for flag, value in (("--data", args.data), ("--epochs", args.epochs),
                        ("--subsample", args.subsample), ("--eval-timeout", args.eval_timeout)):
        if value is not None:
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    for key, value in args.evaluator_options:
        parts += ["--evaluator-option", f"{key}={json.dumps(value)}"]
    return shlex.join(parts)


def prepare_out(out: Path, document: dict[str, Any], *, overwrite: bool,
                resume: bool) -> dict[tuple[str, int], Any]:
    """Make ``out`` ready; returns the runs already finished there (with ``resume``).

    Raises:
        ValueError: If ``out`` holds something and neither flag allows it, if it was not made by
            ``cnn-design benchmark``, or if ``--resume`` finds other settings (naming them).
    """
    from baselines.runner import History

    marker = out / MARKER
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is a file, not a folder")
    busy = out.exists() and any(out.iterdir())
    if busy and not marker.exists():
        raise ValueError(f"--out {str(out)!r} is not empty and was not made by 'cnn-design "
                         "benchmark'; refusing to write into it (choose another folder)")
    done: dict[tuple[str, int], Any] = {}
    if busy and resume:
        saved = json.loads(marker.read_text())
        differ = [f"{k}: {saved.get(k)!r} there, {v!r} here" for k, v in document.items()
                  if saved.get(k) != v]
        if differ:
            raise ValueError(f"--resume: the benchmark in {str(out)!r} was made with other "
                             f"settings ({'; '.join(differ)}); resume it with its own settings "
                             "or start another with --out elsewhere")
        for path in sorted((out / RUNS).glob("*.json")):
            history = History.from_dict(json.loads(path.read_text()))
            done[(history.method, history.seed)] = history
        return done
    if busy and not overwrite:
        raise ValueError(f"--out {str(out)!r} already holds a benchmark; pass --overwrite to "
                         "replace it or --resume to continue it")
    if busy:
        shutil.rmtree(out)
    (out / RUNS).mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(document, indent=2) + "\n")
    return done


def _save_run(out: Path, history: Any) -> None:
    name = f"{history.method.replace(':', '.').replace('/', '_')}-seed{history.seed}.json"
    target = out / RUNS / name
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(history.to_dict()))
    temporary.replace(target)  # a run file is whole or absent


def _check(args: argparse.Namespace) -> list[float]:
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
    if args.overwrite and args.resume:
        raise ValueError("--overwrite and --resume exclude each other")
    return fractions


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, write the report; exit 1 if any run failed (its results are kept)."""
    from baselines.compare import benchmark, write_report
    from cnn_design_env.commands.options import evaluator_spec, reshape_notice
    from cnn_design_env.evaluators.executors import (
        build_evaluator,
        open_executor,
        resolve_space,
    )
    from cnn_design_env.reward import PaperReward
    from cnn_design_env.search.plugins import check_methods

    methods = check_methods(args.methods.split(","))
    if args.seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {args.seeds}")
    fractions = _check(args)
    space = resolve_space(args.space)
    spec = evaluator_spec(args, space)
    workers = args.workers or 1
    if args.reuse_evaluations and (workers > 1 or args.scheduler):
        raise ValueError("--reuse-evaluations replays metrics in this process; use it with "
                         "--workers 1 and no --scheduler")
    evaluator = build_evaluator(spec)  # a bad evaluator is reported before --out is touched
    out = Path(args.out)
    done = prepare_out(out, settings(args, spec, methods), overwrite=args.overwrite,
                       resume=args.resume)
    notice = reshape_notice(space, evaluator.space, spec.data)
    if notice:
        print(notice, file=sys.stderr)
    if done:
        print(f"resuming: {len(done)} finished runs kept from {out / RUNS}", file=sys.stderr)
    reward = PaperReward(c_accuracy=1.0 - args.c_size, c_size=args.c_size)
    budget = ({"budget_episodes": int(args.budget)} if args.budget_unit == "episodes"
              else {"budget_seconds": float(args.budget)})

    def progress(history: Any) -> None:
        _save_run(out, history)
        rec = history.recommendation
        status = history.error or (f"recommended {tuple(rec.design)} (mean reward "
                                   f"{rec.best.mean_reward:.4g})" if rec else "nothing")
        print(f"{history.method:<10} seed {history.seed:<3} {len(history):>5} evaluations, "
              f"{history.cost_s:9.1f} s simulated, {history.wall_s:7.1f} s wall: {status}",
              flush=True)

    parallel = workers > 1 or args.scheduler is not None
    with open_executor(workers=workers, scheduler=args.scheduler,
                       timeout=args.scheduler_timeout or 10.0) as executor:
        result = benchmark(methods, evaluator, reward, seeds=args.seeds,
                           reuse_evaluations=args.reuse_evaluations,
                           pareto={"auto": None, "on": True, "off": False}[args.pareto],
                           progress=progress, done=done, executor=executor,
                           in_flight=workers, spec=spec if parallel else None,
                           time_limit_s=args.eval_timeout, **budget)
    paths = write_report(result, out, fractions=fractions,
                         notes=[f"command: `{_command(args)}`",
                                f"reward: {reward!r}", f"evaluator: {args.evaluator}"])
    print(next(p for p in paths if p.name == "summary.md").read_text())
    print("wrote " + ", ".join(str(p) for p in paths))
    for error in result.errors:
        print(f"cnn-design benchmark: run failed: {error}", file=sys.stderr)
    return 1 if result.errors else 0
