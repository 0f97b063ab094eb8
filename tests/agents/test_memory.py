"""Q-table memory per preset, against the paper's figures (printed; run with ``-s``)."""

from __future__ import annotations

import math

import numpy as np

from agents import IndependentQAgents, SharedQAgents
from cnn_design_env.space import get_space, list_spaces

PAPER_KB = {"vgg16": 164, "unet": 255, "googlenet": 380}


def test_qtable_memory_per_preset():
    lines = [f"{'space':<15}{'agents':>7}{'tables':>7}{'cells':>9}{'largest':>8}"
             f"{'Q f64 KB':>10}{'Q f32 KB':>10}{'+visits KB':>11}{'paper KB':>9}"
             f"{'indep. KB':>10}"]
    for name in list_spaces():
        space = get_space(name)
        sizes = dict(zip(space.agents, space.action_sizes, strict=True))
        cells = sum(sizes[u] * sizes[v] for u, v in space.agent_edges)
        largest = max(sizes[u] * sizes[v] for u, v in space.agent_edges)
        team = SharedQAgents(space, seed=0)
        team32 = SharedQAgents(space, seed=0, dtype=np.float32)
        assert team.tables.cells == cells and team.tables.max_cells == largest
        assert team.tables.nbytes == 8 * cells and team32.tables.nbytes == 4 * cells
        assert team.exploration_episodes == math.ceil(1.25 * largest)
        indep = IndependentQAgents(space, seed=0).nbytes
        paper = PAPER_KB.get(name)
        lines.append(
            f"{name:<15}{space.num_agents:>7}{len(space.agent_edges):>7}{cells:>9}{largest:>8}"
            f"{team.tables.nbytes / 1e3:>10.1f}{team32.tables.nbytes / 1e3:>10.1f}"
            f"{(team.tables.nbytes + team.tables.visits.nbytes) / 1e3:>11.1f}"
            f"{paper if paper else '-':>9}{indep / 1e3:>10.2f}")
    print("\nQ-table memory (KB = 1000 bytes):\n" + "\n".join(lines))
