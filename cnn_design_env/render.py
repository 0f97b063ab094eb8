"""Rendering of a (partial) design, shared by the PettingZoo and the Gymnasium views.

``"ansi"`` and ``"human"`` give :func:`design_table`; ``"rgb_array"`` gives :func:`design_picture`,
drawn with matplotlib (imported on first use).
"""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium
import numpy as np

from cnn_design_env.space import SearchSpace

RENDER_MODES = ("human", "ansi", "rgb_array")
"""The render modes of both envs."""

_KIND_COLOURS = {"conv": "tab:blue", "pool": "tab:orange", "dense": "tab:green",
                 "upconv": "tab:purple", "train": "tab:red"}


def design_table(space: SearchSpace, actions: Sequence[int]) -> str:
    """The design so far as a text table: one row per agent, ``-`` where undecided.

    The acting agent (the first undecided one) is marked with ``>``.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> print(design_table(get_space("vgg_mini"), [5]).splitlines()[2])
          conv1  conv   kernels=16 kernel_size=3 stride=2
    """
    rows = []
    for i, agent in enumerate(space.agents):
        layer = space.by_name[agent]
        if i < len(actions):
            chosen = " ".join(f"{k}={v}" for k, v in layer.actions[actions[i]].items())
        else:
            chosen = "-"
        marker = ">" if i == len(actions) else " "
        rows.append((marker, agent, layer.kind, chosen))
    width = max(len("agent"), *(len(r[1]) for r in rows))
    kind_width = max(len("kind"), *(len(r[2]) for r in rows))
    lines = [f"  {'agent':<{width}}  {'kind':<{kind_width}}  choice",
             f"  {'-' * width}  {'-' * kind_width}  {'-' * 6}"]
    lines += [f"{m} {a:<{width}}  {k:<{kind_width}}  {c}" for m, a, k, c in rows]
    done = len(actions) == space.num_agents
    status = "complete" if done else f"{len(actions)}/{space.num_agents}"
    lines.append(f"design of {space.name!r}: {status}")
    return "\n".join(lines)


def design_picture(space: SearchSpace, actions: Sequence[int]) -> np.ndarray:
    """A picture of the design so far: an ``(H, W, 3)`` uint8 RGB array.

    One bar per agent, in agent order, coloured by layer kind: its height is the chosen action's
    position in the agent's action set (``action / (|A_i| - 1)``); undecided agents are grey
    outlines, and the acting agent is marked. The title names the space and the progress.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> picture = design_picture(get_space("vgg_mini"), [5, 0])
        >>> picture.shape[2], picture.dtype
        (3, dtype('uint8'))
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    n = space.num_agents
    sizes = space.action_sizes
    figure = Figure(figsize=(max(4.0, 0.22 * n + 1.5), 3.0), dpi=80)
    axes = figure.add_subplot()
    for i, agent in enumerate(space.agents):
        kind = space.by_name[agent].kind
        if i < len(actions):
            height = actions[i] / max(1, sizes[i] - 1)
            axes.bar(i, max(height, 0.03), color=_KIND_COLOURS.get(kind, "tab:gray"))
        else:
            axes.bar(i, 1.0, fill=False, edgecolor="lightgray")
    if len(actions) < n:
        axes.axvline(len(actions), color="black", linestyle=":", linewidth=1)
    axes.set_xlim(-0.6, n - 0.4)
    axes.set_ylim(0, 1.05)
    axes.set_xticks(range(n), space.agents, rotation=90, fontsize=6)
    axes.set_ylabel("action / (|A| - 1)", fontsize=7)
    status = "complete" if len(actions) == n else f"{len(actions)}/{n} decided"
    axes.set_title(f"design of {space.name!r}: {status}", fontsize=8)
    figure.tight_layout()
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def render(render_mode: str | None, space: SearchSpace, actions: Sequence[int]
           ) -> str | np.ndarray | None:
    """What both envs' ``render()`` does: ``"ansi"`` returns the table, ``"human"`` prints it,
    ``"rgb_array"`` returns :func:`design_picture`.

    With no render mode it warns (as Gymnasium does) and returns ``None``.
    """
    if render_mode is None:
        gymnasium.logger.warn(
            "You are calling render() without specifying any render mode: pass "
            f"render_mode= one of {RENDER_MODES} when creating the env.")
        return None
    if render_mode == "rgb_array":
        return design_picture(space, actions)
    table = design_table(space, actions)
    if render_mode == "ansi":
        return table
    print(table)
    return None
