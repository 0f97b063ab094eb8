"""The large-table spaces: big enough, and no two designs build the same network."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_design_env.space import get_space
from cnn_design_env.space.bench import BENCH_SPACES
from cnn_design_env.space.signature import duplicate_designs, live_taps, network_signature


@pytest.mark.parametrize("name", sorted(BENCH_SPACES))
def test_no_two_designs_build_the_same_network(name):
    space = get_space(name)
    assert space.size >= 6500
    assert 300 / space.size <= 0.05
    assert duplicate_designs(space) == []


def test_chain_has_six_agents_and_inception_merges():
    assert get_space("bench_chain").num_agents >= 6
    space = get_space("bench_inception")
    assert len(space.predecessors("pool")) == 3  # fan-in of three agents through the concat
    assert set(space.successors("stem")) == {"b1_1x1", "b2_conv", "b3_pool"}  # fan-out


def test_signature_finds_the_known_duplicates_of_table_chain():
    space = get_space("table_chain")
    groups = duplicate_designs(space)
    assert sum(len(g) - 1 for g in groups) == 80  # pool2's size is a no-op after pool1 = 2
    for group in groups:
        hp = [space.hyperparameters(d) for d in group]
        assert {h["pool1"]["pool_size"] for h in hp} == {2}
        assert {h["pool2"]["pool_size"] for h in hp} == {2, 3}


def test_signature_separates_live_kernels_and_merges_dead_taps():
    assert live_taps(8, 5, 1) != live_taps(8, 3, 1)
    assert live_taps(2, 5, 1) == live_taps(2, 3, 1)  # a 5x5 kernel on a 2x2 map reads 3x3
    space = get_space("bench_chain")
    a = space.sample(np.random.default_rng(0))
    b = tuple((x + 1) % n for x, n in zip(a.actions, space.action_sizes, strict=True))
    assert network_signature(space, a) != network_signature(space, b)
    assert network_signature(space, a) == network_signature(space, a.actions)
