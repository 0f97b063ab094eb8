"""Text rendering of a (partial) design, shared by the PettingZoo and the Gymnasium views."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium

from cnn_design_env.space import SearchSpace


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


def render(render_mode: str | None, space: SearchSpace, actions: Sequence[int]) -> str | None:
    """What both envs' ``render()`` does: ``"ansi"`` returns the table, ``"human"`` prints it.

    With no render mode it warns (as Gymnasium does) and returns ``None``.
    """
    if render_mode is None:
        gymnasium.logger.warn(
            "You are calling render() without specifying any render mode: pass "
            "render_mode='ansi' or 'human' when creating the env.")
        return None
    table = design_table(space, actions)
    if render_mode == "ansi":
        return table
    print(table)
    return None
