"""``cnn-design spaces``: list the search spaces (presets, the tabular-benchmark spaces and those
other packages register) with their agents and action-set sizes."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``spaces`` subcommand."""
    parser = subparsers.add_parser("spaces", help="list the search spaces",
                                   description=__doc__.split("\n\n")[0].split(": ", 1)[1])
    parser.add_argument("--agents", action="store_true",
                        help="also list every agent with its choices")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print each space: agents, designs, largest action set, input shape."""
    from cnn_design_env.search.plugins import list_spaces, resolve_space

    print(f"{'space':<16}{'agents':>7}{'max|A|':>8}{'designs':>11}  input        description")
    for name in list_spaces():
        space = resolve_space(name)
        shape = "x".join(map(str, space.input_shape))
        print(f"{name:<16}{space.num_agents:>7}{max(space.action_sizes):>8}{space.size:>11.3g}"
              f"  {shape:<12} {space.description}")
        if args.agents:
            for agent, size in zip(space.agents, space.action_sizes, strict=True):
                layer = space.by_name[agent]
                print(f"    {agent:<20}{layer.kind:<8}|A|={size:<5}{dict(layer.choices)}")
    return 0
