"""The ``cnn-design`` command.

Each subcommand lives in its own module under :mod:`cnn_design_env.commands` exposing
``register(subparsers)``; that function adds its parser and sets ``func(args) -> int``. Modules
import heavy dependencies (JAX, plotting) inside ``func`` so ``cnn-design --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "cnn_design_env.commands.spaces",
    "cnn_design_env.commands.benchmark",
    "cnn_design_env.commands.search",
    "cnn_design_env.commands.resume",
    "cnn_design_env.commands.show",
    "cnn_design_env.commands.export",
    "cnn_design_env.commands.train",
)
"""Modules registering subcommands, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="cnn-design", description="Design CNNs with multi-agent reinforcement learning.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, PermissionError) as error:
        print(f"cnn-design {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
