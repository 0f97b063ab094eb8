"""``cnn-design show RUN``: print a run's summary (finished, interrupted or still running)."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``show`` subcommand."""
    parser = subparsers.add_parser(
        "show", help="print a run's summary",
        description="Print the summary of a search run (finished, interrupted or still "
                    "running) from its journal: the best and recommended designs, the final "
                    "choice and where the plots are.")
    parser.add_argument("run_dir", metavar="RUN", help="the run directory (runs/NAME)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--plots", action="store_true",
                        help="also (re)write summary.json, best_design.txt and the plots")
    parser.set_defaults(func=run)


def _saved_choice(saved: dict, records: list) -> dict | None:
    """The final choice of the last summary, if it was made on the same evaluations."""
    if saved.get("evaluations") != len(records):
        return None
    return saved.get("recommendation")


def run(args: argparse.Namespace) -> int:
    """Summarise the run from its journal (and the searcher facts of its last summary)."""
    from cnn_design_env.evaluators.executors import resolve_space
    from cnn_design_env.run import RunDir, read_journal
    from cnn_design_env.run.session import finish
    from cnn_design_env.run.summary import render, summarize

    run_dir = RunDir(args.run_dir)
    config = run_dir.load_config()
    records = read_journal(run_dir.journal_path).ordered()
    saved = {}
    if run_dir.summary_path.exists():
        try:
            saved = json.loads(run_dir.summary_path.read_text())
        except ValueError as error:
            raise ValueError(f"{run_dir.summary_path}: not valid JSON ({error})") from None
    status = saved.get("status", "interrupted")
    if run_dir.in_use():
        status = "running"
    elif saved.get("evaluations") != len(records) and len(records) < config.episodes:
        status = "interrupted (resume to continue)"
    space = resolve_space(config.space)
    if args.plots:
        result = finish(run_dir, config, space, team=saved.get("team"), status=status,
                        recommendation=_saved_choice(saved, records))
        summary = result.summary
    else:
        summary = summarize(config, space, records, status=status, team=saved.get("team"),
                            recommendation=_saved_choice(saved, records))
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(render(summary, space))
    return 0
