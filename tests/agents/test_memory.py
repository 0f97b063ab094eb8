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


# ------------------------------------------------------------- issue 17: memory limit per team
def _wide_space(actions: int):
    """A chain whose middle layer has ``actions`` actions (12 on either side)."""
    from cnn_design_env.space import SearchSpace
    from cnn_design_env.space import layers as L

    twelve = {"kernels": tuple(range(1, 13))}
    wide = {"kernels": tuple(range(1, 301)), "kernel_size": tuple(range(1, actions // 300 + 1))}
    layers = (L.input_layer(), L.conv("c1", "input", kernels=4, tune=twelve),
              L.conv("c2", "c1", kernels=4, tune=wide),
              L.conv("c3", "c2", kernels=4, tune=twelve), L.flatten("f", "c3"),
              L.output("output", "f"))
    return SearchSpace("wide", layers, (2, 2, 1), 2, max_params=None, max_flops=None)


def test_a_wide_layer_costs_memory_linear_in_its_cells():
    # was: a layer with 90k actions added 540 MB (bit masks of O(columns^2) bits) and touch()
    # gathered (actions x columns) indices: 1.96 GB peak for 9,000 actions, 60 GiB for 90,000
    import tracemalloc

    from agents.qtables import estimate_nbytes

    space = _wide_space(90_000)
    tracemalloc.start()
    try:
        team = SharedQAgents(space, seed=0, compiled=False)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    estimate = estimate_nbytes(space)
    assert team.tables.cells == 2 * 12 * 90_000
    assert 0.8 * current < estimate < 1.25 * current, (estimate, current)
    assert peak < 2 * estimate < 100e6


def test_qtable_memory_limit_names_the_estimate(monkeypatch):
    import pytest

    from agents.qtables import QTables, TableMemoryError, estimate_nbytes

    space = _wide_space(90_000)
    estimate = estimate_nbytes(space)
    with pytest.raises(TableMemoryError, match=rf"space 'wide' would take about "
                                               rf"{estimate / 2**20:,.0f} MiB, above the limit of "
                                               rf"10 MiB; the largest is \('c1', 'c2'\): 12 x "
                                               rf"90,000 actions.*QTables.max_bytes = <bytes>"):
        QTables(space, max_bytes=10 * 2**20)
    monkeypatch.setattr(QTables, "max_bytes", 10 * 2**20)   # the settable default
    with pytest.raises(MemoryError):                         # also a ValueError (CLI message)
        SharedQAgents(space, seed=0)
    monkeypatch.setattr(QTables, "max_bytes", None)
    assert SharedQAgents(space, seed=0).tables.cells == 2_160_000
    # 4 million actions next to 12-action layers: about 1.6 GB, under the 2 GiB default
    monkeypatch.undo()
    assert 1.4e9 < estimate_nbytes(_wide_space(4_000_200)) < QTables.max_bytes == 2 * 2**30
