"""Options shared by the subcommands, with one name, one default and one meaning each.

``search`` and ``benchmark`` take the same evaluation options (:func:`add_evaluation_arguments`:
``--space``, ``--evaluator``, ``--data``, ``--epochs``, ``--subsample``, ``--evaluator-option``,
``--eval-timeout``), the same executor options (:func:`add_executor_arguments`: ``--workers``,
``--scheduler``) and the same output rule (:func:`add_output_arguments`: ``--out`` is refused
when it already holds something, unless ``--overwrite``). :func:`evaluator_spec` turns them into
the :class:`~cnn_design_env.evaluators.executors.EvaluatorSpec` both run.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

DEFAULT_EPOCHS = 3
"""Epochs per design with the train evaluator (the paper's floor of N_epoch)."""
DEFAULT_SUBSAMPLE = 0
"""Training images kept per class (0: all)."""


def key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with a JSON value (a plain string when it is not JSON)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _int_at_least(text: str, minimum: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return _int_at_least(text, 0, "an integer >= 0")


def seconds(text: str) -> float:
    """A positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (value > 0 and value != float("inf")):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def out_dir(text: str) -> str:
    """A non-empty path."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a directory, got an empty path")
    return text


def add_evaluation_arguments(parser: argparse.ArgumentParser, *, space_default: str | None
                             ) -> None:
    """``--space --evaluator --data --epochs --subsample --evaluator-option --eval-timeout``."""
    parser.add_argument("--space", default=space_default, required=space_default is None,
                        help="preset or registered space (see 'cnn-design spaces'), or "
                        "package.module:function" + (f" (default: {space_default})"
                                                     if space_default else ""))
    parser.add_argument("--evaluator", default="train", metavar="KIND",
                        help="train (real training, default), tabular (the shipped tables), or "
                        "package.module:factory (factory(space, **options))")
    parser.add_argument("--data", default=None, help="train evaluator: data set: digits, "
                        "shapes or a path (default: digits or shapes for the small presets, "
                        "required for the others)")
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help=f"train evaluator: epochs per design (default: {DEFAULT_EPOCHS})")
    parser.add_argument("--subsample", type=non_negative_int, default=None,
                        metavar="PER_CLASS", help="train evaluator: training images kept per "
                        "class (default: all)")
    parser.add_argument("--evaluator-option", dest="evaluator_options", type=key_value,
                        action="append", default=[], metavar="KEY=VALUE",
                        help="an evaluator option (JSON value); repeatable")
    parser.add_argument("--eval-timeout", type=seconds, default=None, metavar="S",
                        help="wall-clock seconds one evaluation may take; past it the design is "
                        "terminated (the reward's penalty) and the search goes on (default: no "
                        "limit)")


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers K`` | ``--scheduler ADDRESS`` (and ``--scheduler-timeout``)."""
    parser.add_argument("--workers", type=positive_int, default=None, metavar="K",
                        help="local worker processes; batch-capable methods keep K evaluations "
                        "in flight (default: 1, in-process). With --scheduler: evaluations in "
                        "flight on the cluster (default: its worker threads)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run evaluations on a Dask distributed scheduler, e.g. "
                        "tcp://host:8786 (needs the 'dask' extra)")
    parser.add_argument("--scheduler-timeout", type=float, default=None, metavar="S",
                        help="seconds to wait for the scheduler (default: 10)")


def add_output_arguments(parser: argparse.ArgumentParser, *, what: str) -> None:
    """``--out DIR`` (required) and ``--overwrite``."""
    parser.add_argument("--out", required=True, metavar="DIR", type=out_dir,
                        help=f"{what} to create (new or empty), e.g. runs/NAME")
    parser.add_argument("--overwrite", action="store_true",
                        help=f"replace what is already in --out (only a {what} made by "
                        "cnn-design; default: refuse)")


def default_data(space: Any) -> str | None:
    """The built-in data set a space was made for: ``digits`` (8x8x1, 10 classes) or
    ``shapes`` (the 32x32x1 segmentation preset), else ``None``."""
    if space.task == "classification" and space.input_shape == (8, 8, 1) \
            and space.num_classes == 10:
        return "digits"
    if space.task == "segmentation" and space.input_shape == (32, 32, 1):
        return "shapes"
    return None


def evaluator_spec(args: argparse.Namespace, space: Any) -> Any:
    """The :class:`~cnn_design_env.evaluators.executors.EvaluatorSpec` of the parsed evaluation
    options.

    Raises:
        ValueError: On inconsistent options (``--epochs`` without the train evaluator, ...).
    """
    from cnn_design_env.evaluators.executors import EvaluatorSpec

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
    return EvaluatorSpec(args.evaluator, args.space, data, options)


def reshape_notice(original: Any, used: Any, data: str | None) -> str | None:
    """What changed when a preset was rebuilt for the data (``None`` when nothing did).

    Example:
        >>> from cnn_design_env.space import get_space
        >>> space = get_space("vgg_mini")
        >>> print(reshape_notice(space, space.with_data(input_shape=(16, 16, 1), num_classes=3),
        ...                      "mine"))  # doctest: +ELLIPSIS
        note: space vgg_mini was reshaped to the data set 'mine': input 8x8x1 -> 16x16x1, ...
    """
    if original.input_shape == used.input_shape and original.num_classes == used.num_classes:
        return None
    from cnn_design_env.space.analysis import analyze

    changes = []
    if original.input_shape != used.input_shape:
        changes.append("input " + "x".join(map(str, original.input_shape)) + " -> "
                       + "x".join(map(str, used.input_shape)))
    if original.num_classes != used.num_classes:
        changes.append(f"classes {original.num_classes} -> {used.num_classes}")
    try:
        before = analyze(original, hparams=original.hyperparameters(None)).params
        after = analyze(used, hparams=used.hyperparameters(None)).params
        params = (f"; the original network has {after:,} parameters ({before:,} in the space "
                  "as given)")
    except ValueError:
        params = ""
    return (f"note: space {original.name} was reshaped to the data set {data!r}: "
            f"{', '.join(changes)}{params}")


__all__ = ["DEFAULT_EPOCHS", "DEFAULT_SUBSAMPLE", "add_evaluation_arguments",
           "add_executor_arguments", "add_output_arguments", "default_data", "evaluator_spec",
           "key_value", "non_negative_int", "out_dir", "positive_int",
           "reshape_notice", "seconds"]
