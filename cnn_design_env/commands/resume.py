"""``cnn-design resume RUN``: continue an interrupted search from its last completed evaluation.

Nothing completed is evaluated again (the journal is the source of truth): the checkpoint holds
the searcher as it was after its last tell. With the same number of workers the resumed run ends
exactly where an uninterrupted one would have (given an evaluator that is a function of design
and seed, such as the tabular one). With the checkpoint missing or corrupt, the method's state is
rebuilt by replaying the journal into a fresh searcher, and the command says so. A journal line
that is corrupted or edited, or a checkpoint, config or line of another run, is reported (file,
line, what differs) and the run is left untouched.
"""

from __future__ import annotations

import argparse

from cnn_design_env.commands.search import _positive_int, add_executor_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``resume`` subcommand."""
    parser = subparsers.add_parser("resume", help="continue an interrupted search",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", metavar="RUN", help="the run directory (runs/NAME)")
    parser.add_argument("--episodes", type=_positive_int, default=None, metavar="N",
                        help="a new total number of evaluations (to extend a finished run)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_executor_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Resume the run and print where its results are."""
    from cnn_design_env.commands.search import execute
    from cnn_design_env.run import session

    return execute(lambda: session.resume(args.run_dir, episodes=args.episodes,
                                          workers=args.workers, scheduler=args.scheduler,
                                          scheduler_timeout=args.scheduler_timeout,
                                          progress=not args.quiet), args.run_dir)
