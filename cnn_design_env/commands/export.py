"""``cnn-design export RUN``: a run's evaluations as one flat table (CSV or Parquet, by pandas).

One row per evaluation, in the run's order: ``episode`` (from 1), ``seed`` (the evaluator's
seed), ``reward``, ``cost_s`` (seconds the evaluation cost); one column per tuned hyperparameter,
named ``layer.hyperparameter`` (``conv1.kernels``) and holding its value; one column per metric
(``accuracy``, ``model_size_mb``, ``params``, ``flops``, ``train_ms_per_batch``,
``infer_ms_per_batch``, ``epochs``, ``epochs_to_threshold``, ``compile_s``, ``terminated``,
``reason``, ``restarts``, ``cached``, and a scalar entry ``KEY`` of the metrics' extras as
``extra.KEY``); then ``phase``, ``epsilon``, ``wall_s``, ``worker`` and ``design`` (the action
indices, as JSON). The per-epoch curves stay in ``evaluations.jsonl``.

The journal is read with its checks (a corrupted or edited line is an error naming it), while a
run is going on too. The table goes to ``--out`` (default: beside the run folder,
``RUN.csv`` / ``RUN.parquet``; ``-`` writes CSV to standard output), written atomically; an
existing file is replaced only with ``--overwrite``. Parquet needs ``pyarrow``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FORMATS = ("csv", "parquet")
METRICS = ("accuracy", "model_size_mb", "params", "flops", "train_ms_per_batch",
           "infer_ms_per_batch", "epochs", "epochs_to_threshold", "compile_s", "terminated",
           "reason", "restarts", "cached")
"""The metrics columns (after the hyperparameters), in order."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    parser = subparsers.add_parser(
        "export", help="write a run's evaluations as a flat table (CSV or Parquet)",
        description="Write a run's evaluations as one flat table: a row per evaluation "
                    "(episode from 1, seed, reward, cost_s), a column per hyperparameter "
                    "(layer.hyperparameter) and per metric.")
    parser.add_argument("run_dir", metavar="RUN", help="the run directory (runs/NAME)")
    parser.add_argument("--format", choices=FORMATS, default="csv",
                        help="csv (default) or parquet (needs pyarrow)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="the table's file (default: RUN.csv or RUN.parquet beside the run "
                             "folder; '-': CSV on standard output)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing FILE")
    parser.set_defaults(func=run)


def rows(space: Any, records: Iterable[Any]) -> list[dict[str, Any]]:
    """One flat dict per journal record (see the module docstring for the columns).

    Example:
        >>> from cnn_design_env.evaluators import Metrics
        >>> from cnn_design_env.run.journal import Record
        >>> from cnn_design_env.space import Design
        >>> from cnn_design_env.space.tables import table_chain
        >>> record = Record(index=0, design=Design((1, 0, 1, 0, 1, 0, 4)), eval_seed=7,
        ...                 metrics=Metrics(accuracy=0.9, cost_s=2.5), reward=1.25)
        >>> row = rows(table_chain(), [record])[0]
        >>> row["episode"], row["seed"], row["conv1.kernels"], row["train.learning_rate"]
        (1, 7, 16, 0.1)
    """
    out = []
    for record in records:
        metrics = record.metrics
        row: dict[str, Any] = {"episode": record.index + 1, "seed": record.eval_seed,
                               "reward": record.reward, "cost_s": metrics.cost_s}
        for agent, action in zip(space.agents, space.validate(record.design).actions,
                                 strict=True):
            layer = space.by_name[agent]
            for key, value in layer.action_values(action).items():
                row[f"{layer.name}.{key}"] = value
        row.update({name: getattr(metrics, name) for name in METRICS})
        row.update({f"extra.{key}": value for key, value in metrics.extra.items()
                    if value is None or isinstance(value, (bool, int, float, str))})
        row.update(phase=record.phase, epsilon=record.epsilon, wall_s=record.wall_s,
                   worker=record.worker, design=json.dumps(list(record.design.actions)))
        out.append(row)
    return out


def frame(space: Any, records: Iterable[Any]) -> Any:
    """The table as a ``pandas.DataFrame`` (``epsilon`` is NaN where the method has none).

    Raises:
        ImportError: If pandas is missing (with the install hint).
    """
    pandas = _need("pandas", "pandas")
    table = pandas.DataFrame(rows(space, records))
    if "epochs_to_threshold" in table:  # None where the loss never met the threshold
        table["epochs_to_threshold"] = table["epochs_to_threshold"].astype("Int64")
    return table


def _need(module: str, package: str) -> Any:
    if importlib.util.find_spec(module) is None:
        raise ImportError(f"cnn-design export needs {package}: pip install {package}")
    return importlib.import_module(module)


def _target(args: argparse.Namespace) -> Path | None:
    """Where the table goes (``None``: standard output)."""
    if args.out == "-":
        if args.format != "csv":
            raise ValueError("--out - writes CSV only; give a FILE for --format parquet")
        return None
    if args.out is None:
        run = Path(args.run_dir).resolve()
        path = run.with_name(f"{run.name}.{args.format}")
    else:
        path = Path(args.out)
    if path.is_dir():
        raise ValueError(f"--out {str(path)!r} is a directory; give a file name")
    if path.exists() and not args.overwrite:
        raise ValueError(f"--out {str(path)!r} already exists; replace it with --overwrite or "
                         "choose another --out")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"--out {str(path)!r}: no directory {str(path.parent)!r}")
    return path


def run(args: argparse.Namespace) -> int:
    """Read the run's journal, build the table, write it."""
    from cnn_design_env.evaluators.executors import resolve_space
    from cnn_design_env.run import RunDir, read_journal
    from cnn_design_env.run.layout import atomic_write

    run_dir = RunDir(args.run_dir)
    config = run_dir.load_config()
    run_id = run_dir.load_marker()["run"] if run_dir.marker_path.is_file() else None
    target = _target(args)
    try:
        if args.format == "parquet":
            _need("pyarrow", "pyarrow")  # before reading anything: pandas' own error is vaguer
        table = frame(resolve_space(config.space),
                      read_journal(run_dir.journal_path, run_id=run_id).ordered())
    except ImportError as error:
        print(f"cnn-design export: error: {error}", file=sys.stderr)
        return 2
    if target is None:
        table.to_csv(sys.stdout, index=False)
        return 0
    if args.format == "csv":
        atomic_write(target, lambda handle: table.to_csv(handle, index=False))
    else:
        atomic_write(target, lambda handle: table.to_parquet(handle, index=False))
    print(f"{len(table)} evaluations x {table.shape[1]} columns: {target}", file=sys.stderr)
    return 0


__all__ = ["FORMATS", "METRICS", "frame", "register", "rows", "run"]
