"""The compiled kernels (numba) against the Python/NumPy reference: bit-identical runs.

Every preset space, seeded: the team with ``compiled=True`` and ``compiled=False`` must choose
the same designs and end with the same Q-tables, visit counts, look-ahead statistics, unvisited
masks and random stream (the whole ``state_dict``), through ``act`` in agent order (the training
loop's path), through ``act`` with a driver that overrides actions and asks agents twice (plans
from the middle of an episode), and with tiny uniform blocks (the kernel hands agents at a
block's end to the Python planner).
"""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import meddled_run

pytest.importorskip("numba")

import agents.stream
from agents import Constant, ExponentialDecay, SharedQAgents, kernels
from agents.exploration import most_unvisited
from agents.planning import CompiledExplorePlanner, ExplorePlanner
from agents.qtables import QTables
from cnn_design_env.space import get_space, list_spaces

EPISODES = 500


def in_order_run(team: SharedQAgents, episodes: int, seed: int) -> list[tuple[int, ...]]:
    """Episodes through ``act`` for every agent in order, rewards of both signs."""
    space, rng = team.space, np.random.default_rng(seed)
    designs = []
    for _ in range(episodes):
        obs = np.zeros(space.num_agents + 1, dtype=np.int64)
        for i, agent in enumerate(space.agents):
            obs[-1] = i
            obs[i] = team.act(agent, obs) + 1
        design = tuple(int(v) - 1 for v in obs[:-1])
        team.learn(design, float(rng.normal()))
        designs.append(design)
    return designs


def assert_same_team(compiled: SharedQAgents, reference: SharedQAgents) -> None:
    assert compiled.tables.compiled and not reference.tables.compiled
    (arrays_c, meta_c), (arrays_r, meta_r) = compiled.state_dict(), reference.state_dict()
    assert meta_c == meta_r
    assert arrays_c.keys() == arrays_r.keys()
    for name, array in arrays_r.items():
        np.testing.assert_array_equal(arrays_c[name], array, err_msg=name, strict=True)
    for name in ("next_max", "next_free"):
        np.testing.assert_array_equal(getattr(compiled.tables, name),
                                      getattr(reference.tables, name), err_msg=name, strict=True)
    assert compiled.tables.free_masks == reference.tables.free_masks
    assert compiled.stream.rng.bit_generator.state == reference.stream.rng.bit_generator.state
    assert isinstance(compiled.planner, CompiledExplorePlanner)
    assert isinstance(reference.planner, ExplorePlanner)


def twins(name: str, **kwargs) -> tuple[SharedQAgents, SharedQAgents]:
    space = get_space(name)
    return (SharedQAgents(space, seed=4, compiled=True, **kwargs),
            SharedQAgents(space, seed=4, compiled=False, **kwargs))


@pytest.mark.parametrize("name", list_spaces())
def test_in_order_runs_are_bit_identical(name):
    """Both phases (exploration shortened to 400 episodes), the paper's update."""
    compiled, reference = twins(name, exploration_episodes=400)
    assert in_order_run(compiled, EPISODES, 1) == in_order_run(reference, EPISODES, 1)
    assert_same_team(compiled, reference)


@pytest.mark.parametrize("name", ["vgg_mini", "inception_mini", "unet_mini", "table_inception",
                                  "googlenet"])
def test_meddled_runs_are_bit_identical(name):
    """Plans from the middle of episodes, random episodes in the second phase, the running
    average update."""
    kwargs = {"exploration_episodes": 150, "epsilon": Constant(0.4), "additive": False}
    compiled, reference = twins(name, **kwargs)
    assert meddled_run(compiled, 250, 2, reward_shift=-0.2) == meddled_run(
        reference, 250, 2, reward_shift=-0.2)
    assert_same_team(compiled, reference)


@pytest.mark.parametrize("name", ["inception_mini", "unet", "googlenet"])
def test_tiny_blocks_and_agent_coins_are_bit_identical(monkeypatch, name):
    """Blocks of 7 uniforms (agents at a block's end go through Python), one coin per agent."""
    monkeypatch.setattr(agents.stream, "UNIFORM_BLOCK", 7)
    compiled, reference = twins(name, exploration_episodes=120)
    assert in_order_run(compiled, 150, 3) == in_order_run(reference, 150, 3)
    kwargs = {"exploration_episodes": 60, "coin": "agent", "epsilon": ExponentialDecay(1.0, 0.98)}
    compiled, reference = twins(name, **kwargs)
    assert meddled_run(compiled, 120, 4, reward_shift=-0.2) == meddled_run(
        reference, 120, 4, reward_shift=-0.2)
    assert_same_team(compiled, reference)


def test_resumed_compiled_team_continues_like_the_reference(tmp_path):
    """A checkpoint of a compiled team loads into a reference team and vice versa."""
    compiled, reference = twins("unet_mini", exploration_episodes=80)
    in_order_run(compiled, 50, 5)
    in_order_run(reference, 50, 5)
    other_c, other_r = twins("unet_mini")
    other_r.load(compiled.save(str(tmp_path / "c.npz")))
    other_c.load(reference.save(str(tmp_path / "r.npz")))
    assert in_order_run(other_c, 60, 6) == in_order_run(other_r, 60, 6)
    assert_same_team(other_c, other_r)


def test_update_kernel_matches_numpy_with_negative_rewards():
    """Maxima that go down (negative rewards, bootstrapped cells) are recomputed alike."""
    space = get_space("inception_mini")
    compiled, reference = QTables(space, compiled=True), QTables(space, compiled=False)
    rng = np.random.default_rng(0)
    for episode in range(2000):
        design = rng.integers(np.minimum(space.action_sizes, 2 + episode % 3))
        reward = float(rng.normal())
        for tables in (compiled, reference):
            tables.update(design, reward, alpha=0.6, gamma=0.9, additive=bool(episode % 2))
    for name in ("q", "visits", "next_max", "next_free"):
        np.testing.assert_array_equal(getattr(compiled, name), getattr(reference, name))
    assert compiled.free_masks == reference.free_masks
    assert compiled.version == reference.version


def test_candidate_kernel_matches_most_unvisited():
    kernels.compile_kernels()
    rng = np.random.default_rng(1)
    digits = np.zeros(64, dtype=np.int64)
    for _ in range(500):
        rows = int(rng.integers(1, 8))
        masks = rng.integers(0, 1 << 20, size=rows) & rng.integers(0, 1 << 20, size=rows)
        pred = np.arange(rows, dtype=np.int64)
        expect = np.ones(rows, dtype=np.int64)
        row0 = np.arange(rows, dtype=np.int64) - 1
        got = kernels._candidates(masks.astype(np.int64), expect, pred, row0, 0, rows, digits)
        assert got == most_unvisited([int(m) for m in masks])


def test_compiled_needs_a_fitting_space():
    with pytest.raises(ValueError, match="compiled=True"):
        QTables(get_space("vgg_mini"), dtype=np.float32, compiled=True)
    assert not QTables(get_space("vgg_mini"), dtype=np.float32).compiled
