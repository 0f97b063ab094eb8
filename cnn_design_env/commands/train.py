"""``cnn-design train``: train one design to convergence and compare it with the original network.

Examples::

    cnn-design train --space vgg_mini --data digits --design 5,11,1,3,0,2
    cnn-design train --design runs/default    # the run's recommended design (its space/data)

Training continues until the validation accuracy has not improved for ``--patience`` epochs
(the paper's final training), on the whole training split; the parameters of the best epoch are
scored on the held-out test split, which no search has seen, and saved with the space and the
design (``--save``; load them with ``cnn_design_env.load_model``). The space's original
hyperparameters are trained the same way for comparison (``--no-compare`` skips them).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from cnn_design_env.commands.search import _positive_int


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser("train", help="train one design to convergence, compare "
                                   "with the original hyperparameters",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("--design", required=True,
                        help="action indices (e.g. 5,11,1,3,0,2), 'original', or a run "
                        "directory (its recommended design)")
    parser.add_argument("--space", default=None, help="space (default: the run's, or vgg_mini)")
    parser.add_argument("--data", default=None, help="data set (default: the run's, or digits)")
    parser.add_argument("--patience", type=_positive_int, default=5,
                        help="epochs without improvement before stopping (default 5)")
    parser.add_argument("--max-epochs", type=_positive_int, default=100,
                        help="upper bound on epochs (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    parser.add_argument("--no-compare", action="store_true",
                        help="do not train the original network for comparison")
    parser.add_argument("--save", default=None, metavar="FILE",
                        help="write the trained design (.npz: parameters, space, design; default:"
                        " model.npz in the run directory when --design is one, else not saved)")
    parser.add_argument("--out", default=None, metavar="FILE",
                        help="write the comparison as JSON (default: final_training.json in "
                        "the run directory when --design is one)")
    parser.set_defaults(func=run)


def _resolve(args: argparse.Namespace) -> tuple[str, str, str, Path | None]:
    """``(space, data, design text, run dir)`` from the arguments."""
    path = Path(args.design)
    if path.is_dir():
        from cnn_design_env.run import RunDir, read_journal

        run_dir = RunDir(path)
        config = run_dir.load_config()
        records = read_journal(run_dir.journal_path).ordered()
        if not records:
            raise ValueError(f"run {str(path)!r} has no evaluation yet: no best design")
        design = _recommended(run_dir) or max(records, key=lambda r: r.reward).design.actions
        data = args.data or config.data
        if data is None:
            raise ValueError(f"run {str(path)!r} did not train on a data set; give --data")
        return args.space or config.space, data, ",".join(map(str, design)), path
    return args.space or "vgg_mini", args.data or "digits", args.design, None


def _recommended(run_dir: Any) -> tuple[int, ...] | None:
    """The recommended design in the run's ``summary.json`` (``None`` if it has none)."""
    try:
        summary = json.loads(run_dir.summary_path.read_text())
    except (OSError, ValueError):
        return None
    recommendation = summary.get("recommendation") or {}
    design = recommendation.get("design")
    return tuple(int(a) for a in design) if design else None


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or math.isfinite(value) else None


def run(args: argparse.Namespace) -> int:
    """Train the design (and the original), print the comparison."""
    from cnn_design_env.evaluators.executors import resolve_space
    from cnn_design_env.evaluators.training import check_data
    from cnn_design_env.run import final
    from cnn_design_env.run.summary import design_table
    from cnn_design_env.train.data import get_dataset

    space_name, data_name, text, run_dir = _resolve(args)
    space = resolve_space(space_name)
    data = get_dataset(data_name, seed=0)
    space = check_data(space, data, adapt_space=True)
    original_space, original = final.original_design(space)
    design = original if text == "original" else final.parse_design(space, text)
    print(f"training {space.name} design {design.actions} on {data.name} "
          f"({data.num_train} train / {data.num_val} validation / {data.num_test} test images) "
          f"until validation stops improving for {args.patience} epochs")
    if not data.num_test:
        print(f"note: data set {data.name!r} has no test split; accuracies are on validation")
    if original_space is space:
        print(design_table(space, design.actions))
    results = [final.train_to_convergence(space, data, design, seed=args.seed,
                                          patience=args.patience, max_epochs=args.max_epochs)]
    if not args.no_compare and text != "original":
        results.append(final.train_to_convergence(
            original_space, data, original, seed=args.seed, patience=args.patience,
            max_epochs=args.max_epochs, label="original"))
    print()
    print(final.compare_table(results))
    if len(results) == 2:
        split = "test" if data.num_test else "validation"
        score = [r.test_accuracy if data.num_test else r.accuracy for r in results]
        ratio = results[0].model_size_mb / max(results[1].model_size_mb, 1e-12)
        print(f"\ndesign vs original: {score[0] - score[1]:+.4f} {split} accuracy at {ratio:.2f}x "
              "the size")
    save = Path(args.save) if args.save else (run_dir / "model.npz" if run_dir else None)
    if save is not None:
        from cnn_design_env.model_io import save_model

        first = results[0]
        save_model(save, original_space if text == "original" else space, first.design,
                   first.weights, extra={k: _finite(v) for k, v in {
                       "data": data_name, "seed": args.seed, "test_accuracy": first.test_accuracy,
                       "val_accuracy": first.accuracy, "best_epoch": first.best_epoch}.items()})
        print(f"\nmodel: {save} (load with cnn_design_env.load_model)")
    target = Path(args.out) if args.out else (run_dir / "final_training.json" if run_dir else None)
    if target is not None:
        document: dict[str, Any] = final.summary(
            results, {"space": space.name, "data": data_name, "seed": args.seed,
                      "patience": args.patience, "max_epochs": args.max_epochs})
        try:
            target.write_text(json.dumps(document, indent=2) + "\n")
        except OSError as error:
            raise PermissionError(f"cannot write {str(target)!r}: {error}") from error
        print(f"\nwritten: {target}")
    return 0
