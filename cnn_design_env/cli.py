"""The ``cnn-design`` command.

Each subcommand lives in its own module exposing ``register(subparsers)``; that function adds
its parser and sets ``func(args) -> int``. The built-in ones are :data:`COMMAND_MODULES`; other
packages add theirs through the ``cnn_design_env.commands`` entry point group (value
``"package.module:register"``), as ``baselines`` adds ``benchmark``, so this package imports none
of its users. Modules import heavy dependencies (JAX, plotting) inside ``func`` so
``cnn-design --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

COMMAND_MODULES = (
    "cnn_design_env.commands.spaces",
    "cnn_design_env.commands.search",
    "cnn_design_env.commands.resume",
    "cnn_design_env.commands.show",
    "cnn_design_env.commands.export",
    "cnn_design_env.commands.train",
)
"""Modules registering the built-in subcommands, in the order ``--help`` lists them (the
plug-in commands follow)."""
COMMANDS_GROUP = "cnn_design_env.commands"


def _registrars() -> list:
    from cnn_design_env.search.plugins import entry_points, load

    found = [importlib.import_module(module).register for module in COMMAND_MODULES]
    for name, target in entry_points(COMMANDS_GROUP).items():
        try:
            found.append(load(target, what=f"command {name!r}"))
        except ValueError as error:  # a broken plug-in must not take the other commands down
            print(f"cnn-design: warning: command {name!r} is unavailable: {error}",
                  file=sys.stderr)
    return found


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="cnn-design", description="Design CNNs with multi-agent reinforcement learning.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in _registrars():
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code.

    A closed standard output (``cnn-design spaces --agents | head``) ends the command quietly.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, PermissionError) as error:
        print(f"cnn-design {args.command}: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader went away: send what is left to /dev/null so the interpreter's own flush
        # at exit does not fail again (Python's documented recipe for SIGPIPE)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
