"""``cnn-design search``: design a CNN with the paper's agents or any baseline, on disk.

Example::

    cnn-design search --space vgg_mini --data digits --out runs/default
    cnn-design search --space vgg_mini --data digits --method evolution --episodes 100 \\
        --workers 2 --out runs/evo
    cnn-design search --space table_chain --evaluator tabular --episodes 2000 --out runs/tab
    cnn-design search ... --scheduler tcp://10.0.0.5:8786      # a Dask cluster

Defaults (the embedded command, ``make run``): the paper's agents (``marl``) on ``vgg_mini`` +
``digits`` with real training (3 epochs per design, the paper's floor of N_epoch, on the whole
training split), an exploration phase of 48 episodes and 90 episodes in all, then the final
choice (the top 3 designs re-evaluated on 2 more seeds, the best mean recommended and trained
once more for its test accuracy). The paper's exploration rule (``ceil(1.25 x`` the largest
Q-table's cells``)``: 180 on vgg_mini; the default with the tabular evaluator, or
``--exploration paper``) does not fit a 3-minute budget on a 2-core CPU, where compiling each
new architecture dominates, so with real training it is capped at 48. Measured on the shared
2-core machine: 86 distinct designs (4 repeats served by the cache), 2 min 58 s wall in all
(167 s searching, the rest the final choice).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

DEFAULT_EPISODES = 90
DEFAULT_EXPLORATION = 48
DEFAULT_EPOCHS = 3
DEFAULT_SUBSAMPLE = 0


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _run_dir(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a run directory, got an empty path")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers K`` | ``--scheduler ADDRESS`` (and ``--scheduler-timeout``)."""
    parser.add_argument("--workers", type=_positive_int, default=None, metavar="K",
                        help="local worker processes; batch-capable methods keep K evaluations "
                        "in flight (default: 1, in-process). With --scheduler: evaluations in "
                        "flight on the cluster (default: its worker threads)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run evaluations on a Dask distributed scheduler, e.g. "
                        "tcp://host:8786 (needs the 'dask' extra)")
    parser.add_argument("--scheduler-timeout", type=float, default=None, metavar="S",
                        help="seconds to wait for the scheduler (default: 10)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``search`` subcommand."""
    parser = subparsers.add_parser(
        "search", help="search a space with the paper's agents or a baseline",
        description="Search a space; writes a run directory (journal, checkpoint, summary, "
                    "plots) that 'cnn-design resume' continues and 'cnn-design show' prints.")
    parser.add_argument("--space", default="vgg_mini", help="preset or table space "
                        "(see 'cnn-design spaces'; default: vgg_mini)")
    parser.add_argument("--data", default=None, help="data set: digits, shapes or a path "
                        "(for the train evaluator; default: digits or shapes for the small "
                        "presets, required for the others)")
    parser.add_argument("--method", default="marl", help="marl (the paper's agents, default) "
                        "or a baseline: random, evolution, tpe, gp, nsga2, qlearning")
    parser.add_argument("--episodes", type=_positive_int, default=None, metavar="N",
                        help=f"evaluations in total (default: {DEFAULT_EPISODES})")
    parser.add_argument("--evaluator", default="train", metavar="KIND",
                        help="train (real training, default), tabular (the shipped tables), or "
                        "package.module:factory (factory(space, **options))")
    parser.add_argument("--epochs", type=_positive_int, default=None,
                        help=f"train evaluator: epochs per design (default: {DEFAULT_EPOCHS})")
    parser.add_argument("--subsample", type=int, default=None, metavar="PER_CLASS",
                        help="train evaluator: training images kept per class (default: "
                        "all)")
    parser.add_argument("--exploration", default=None, metavar="N|paper",
                        help="marl: exploration episodes (default: 'paper', the largest "
                        "Q-table's cell count, capped at "
                        f"{DEFAULT_EXPLORATION} with the train evaluator)")
    parser.add_argument("--option", dest="options", type=_key_value, action="append",
                        default=[], metavar="KEY=VALUE",
                        help="a method option (JSON value), e.g. population_size=10; repeatable")
    parser.add_argument("--evaluator-option", dest="evaluator_options", type=_key_value,
                        action="append", default=[], metavar="KEY=VALUE",
                        help="an evaluator option (JSON value); repeatable")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole run (default 0)")
    parser.add_argument("--no-cache", action="store_true",
                        help="evaluate repeated designs again instead of reusing the result")
    parser.add_argument("--stop-on-convergence", action="store_true",
                        help="marl: stop as soon as the agents converge")
    parser.add_argument("--eval-timeout", type=_seconds, default=None, metavar="S",
                        help="wall-clock seconds one evaluation may take; past it the design is "
                        "terminated (the reward's penalty) and the search goes on (default: no "
                        "limit)")
    parser.add_argument("--out", required=True, metavar="DIR", type=_run_dir,
                        help="run directory to create (new or empty), e.g. runs/NAME")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a run already in --out (only a folder created by "
                        "cnn-design as a run; default: refuse)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_arguments(parser)
    parser.set_defaults(func=run)


def default_data(space: Any) -> str | None:
    """The built-in data set a space was made for: ``digits`` (8x8x1, 10 classes) or
    ``shapes`` (the 32x32x1 segmentation preset), else ``None``."""
    if space.task == "classification" and space.input_shape == (8, 8, 1) \
            and space.num_classes == 10:
        return "digits"
    if space.task == "segmentation" and space.input_shape == (32, 32, 1):
        return "shapes"
    return None


def paper_exploration(space: Any) -> int:
    """The paper's exploration length for ``space``: the largest Q-table's cell count."""
    from agents import SharedQAgents

    return SharedQAgents(space, seed=0).default_exploration_episodes()


def _takes_budget(method: str) -> bool:
    """Whether ``method`` spreads a schedule over its budget (the registry's searchers only)."""
    from baselines.compare import takes_budget
    from baselines.registry import METHODS

    return method in METHODS and takes_budget(method)


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`~cnn_design_env.run.RunConfig` of the parsed arguments.

    Raises:
        ValueError: On inconsistent arguments.
    """
    from cnn_design_env.evaluators.executors import EvaluatorSpec, resolve_space
    from cnn_design_env.run import RunConfig

    space = resolve_space(args.space)  # an unknown space is the first thing to report
    data = args.data
    if data is None and args.evaluator == "train":
        data = default_data(space)
        if data is None:
            raise ValueError(f"--data is required with --evaluator train on space {args.space!r}")
    options: dict[str, Any] = dict(args.evaluator_options)
    if args.evaluator == "train":
        options.setdefault("epochs", args.epochs or DEFAULT_EPOCHS)
        subsample = DEFAULT_SUBSAMPLE if args.subsample is None else args.subsample
        if subsample:
            options.setdefault("subsample_per_class", subsample)
    elif args.epochs is not None or args.subsample is not None:
        raise ValueError("--epochs and --subsample apply to --evaluator train only")
    method_options = dict(args.options)
    if args.method == "marl":
        exploration = args.exploration
        if exploration is None:  # the paper's rule, capped when every design is really trained
            exploration = paper_exploration(space)
            if args.evaluator == "train":
                exploration = min(exploration, DEFAULT_EXPLORATION)
        if exploration != "paper":
            try:
                method_options.setdefault("exploration_episodes", int(exploration))
            except ValueError:
                raise ValueError(f"--exploration must be an integer or 'paper', got "
                                 f"{exploration!r}") from None
    elif args.exploration is not None:
        raise ValueError("--exploration applies to --method marl only")
    if _takes_budget(args.method):  # e.g. MetaQNN's epsilon schedule
        method_options.setdefault("budget", args.episodes or DEFAULT_EPISODES)
    return RunConfig(
        space=args.space, method=args.method, episodes=args.episodes or DEFAULT_EPISODES,
        evaluator=EvaluatorSpec(args.evaluator, args.space, data, options), seed=args.seed,
        workers=args.workers or (0 if args.scheduler else 1), scheduler=args.scheduler,
        scheduler_timeout=args.scheduler_timeout or 10.0, method_options=method_options,
        cache=not args.no_cache, stop_on_convergence=args.stop_on_convergence, data=data,
        eval_timeout_s=args.eval_timeout)


def run(args: argparse.Namespace) -> int:
    """Run the search and print where its results are."""
    from cnn_design_env.run import session

    config = build_config(args)
    return execute(lambda: session.start(config, args.out, overwrite=args.overwrite,
                                         progress=not args.quiet), args.out)


def execute(action: Any, out: str) -> int:
    """Run ``action`` (start or resume) and report; Ctrl-C exits 130 with a resume hint."""
    from concurrent.futures import BrokenExecutor

    from cnn_design_env.evaluators.executors import EvaluatorBuildError
    from cnn_design_env.run.session import where
    from cnn_design_env.run.summary import render

    try:
        result = action()
    except KeyboardInterrupt:
        print(f"\ninterrupted: every completed evaluation is saved; continue with "
              f"'cnn-design resume {out}'", file=sys.stderr)
        return 130
    except (EvaluatorBuildError, ImportError) as error:
        print(f"cnn-design: error: {error}", file=sys.stderr)
        return 2
    except BrokenExecutor as error:
        print(f"cnn-design: error: a worker process died ({error}); every completed evaluation "
              f"is saved; continue with 'cnn-design resume {out}'", file=sys.stderr)
        return 1
    print(render(result.summary, result.space))
    print()
    print(where(result))
    return 0


__all__ = ["DEFAULT_EPISODES", "DEFAULT_EPOCHS", "DEFAULT_EXPLORATION", "DEFAULT_SUBSAMPLE",
           "add_executor_arguments", "build_config", "default_data", "execute",
           "paper_exploration", "register", "run"]
