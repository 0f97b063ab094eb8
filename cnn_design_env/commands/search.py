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
import sys
from typing import Any

from cnn_design_env.commands.options import (
    DEFAULT_EPOCHS,
    DEFAULT_SUBSAMPLE,
    add_evaluation_arguments,
    add_executor_arguments,
    add_output_arguments,
    default_data,
    evaluator_spec,
    key_value,
    positive_int,
)

DEFAULT_EPISODES = 90
DEFAULT_EXPLORATION = 48
_positive_int = positive_int  # the name other commands imported


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``search`` subcommand."""
    parser = subparsers.add_parser(
        "search", help="search a space with the paper's agents or a baseline",
        description="Search a space; writes a run directory (journal, checkpoint, summary, "
                    "plots) that 'cnn-design resume' continues and 'cnn-design show' prints.")
    add_evaluation_arguments(parser, space_default="vgg_mini")
    parser.add_argument("--method", default="marl", help="marl (the paper's agents, default), "
                        "a baseline (random, evolution, tpe, gp, nsga2, qlearning; asha, "
                        "hyperband, bohb on a table), a method "
                        "registered by another package, or package.module:factory "
                        "(factory(space, seed=..., **options))")
    parser.add_argument("--episodes", type=positive_int, default=None, metavar="N",
                        help=f"evaluations in total (default: {DEFAULT_EPISODES})")
    parser.add_argument("--exploration", default=None, metavar="N|paper",
                        help="marl: exploration episodes (default: 'paper', the largest "
                        "Q-table's cell count, capped at "
                        f"{DEFAULT_EXPLORATION} with the train evaluator)")
    parser.add_argument("--option", dest="options", type=key_value, action="append",
                        default=[], metavar="KEY=VALUE",
                        help="a method option (JSON value), e.g. population_size=10; repeatable")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole run (default 0)")
    parser.add_argument("--c-size", type=float, default=None,
                        help="reward weight of model size c_S (c_A = 1 - c_S; default 0.1, as "
                        "in benchmark)")
    parser.add_argument("--no-cache", action="store_true",
                        help="evaluate repeated designs again instead of reusing the result")
    parser.add_argument("--stop-on-convergence", action="store_true",
                        help="marl: stop as soon as the agents converge")
    add_output_arguments(parser, what="run directory")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_arguments(parser)
    parser.set_defaults(func=run)


def paper_exploration(space: Any) -> int:
    """The paper's exploration length for ``space`` (the largest Q-table's cell count): what the
    ``marl`` method's team reports with its default settings."""
    from cnn_design_env.search.plugins import make_searcher
    from cnn_design_env.search.searcher import facts

    return int(facts(make_searcher("marl", space, seed=0))["exploration_episodes"])


def _takes_budget(method: str) -> bool:
    """Whether ``method``'s factory spreads a schedule over a ``budget`` (e.g. MetaQNN's)."""
    from cnn_design_env.search.plugins import takes_option

    return takes_option(method, "budget")


def build_config(args: argparse.Namespace) -> Any:
    """The :class:`~cnn_design_env.run.RunConfig` of the parsed arguments.

    Raises:
        ValueError: On inconsistent arguments.
    """
    from cnn_design_env.evaluators.executors import resolve_space
    from cnn_design_env.run import RunConfig

    space = resolve_space(args.space)  # an unknown space is the first thing to report
    spec = evaluator_spec(args, space)
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
        evaluator=spec, seed=args.seed,
        workers=args.workers or (0 if args.scheduler else 1), scheduler=args.scheduler,
        scheduler_timeout=args.scheduler_timeout or 10.0, method_options=method_options,
        cache=not args.no_cache, stop_on_convergence=args.stop_on_convergence, data=spec.data,
        eval_timeout_s=args.eval_timeout,
        reward={} if args.c_size is None else {"c_accuracy": 1.0 - args.c_size,
                                               "c_size": args.c_size})


def run(args: argparse.Namespace) -> int:
    """Run the search and print where its results are."""
    from cnn_design_env.run import session

    config = build_config(args)
    _notice_reshape(config)
    return execute(lambda: session.start(config, args.out, overwrite=args.overwrite,
                                         progress=not args.quiet), args.out)


def _notice_reshape(config: Any) -> None:
    """Say on standard error how the space was reshaped to the data, if it was."""
    from cnn_design_env.commands.options import reshape_notice
    from cnn_design_env.evaluators.executors import build_evaluator, resolve_space

    if config.evaluator.kind != "train":
        return
    try:
        used = build_evaluator(config.evaluator).space  # memoised: the search reuses it
    except Exception:
        return
    notice = reshape_notice(resolve_space(config.space), used, config.data)
    if notice:
        print(notice, file=sys.stderr)


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
