"""Tiny custom search spaces for the agent tests (built with the public layer helpers)."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_design_env.space import SearchSpace
from cnn_design_env.space import layers as L


def chain_space() -> SearchSpace:
    """Three agents in a chain: a (2 actions) -> b (3) -> c (2). Tables (a,b) 2x3, (b,c) 3x2."""
    return SearchSpace("chain3", (
        L.input_layer(),
        L.conv("a", "input", kernels=4, tune={"kernels": (4, 8)}),
        L.conv("b", "a", kernels=4, tune={"kernels": (4, 8, 16)}),
        L.conv("c", "b", kernels=4, tune={"kernels": (4, 8)}),
        L.global_pool("gp", "c"),
        L.output("output", "gp"),
    ), (8, 8, 1), 3)


def fan_space() -> SearchSpace:
    """p (2) -> s (2) -> {x (2), y (3)} -> concat -> t (2): s fans out, t is a fan-in.

    Edges: (p,s), (s,x), (s,y), (x,t), (y,t).
    """
    return SearchSpace("fan5", (
        L.input_layer(),
        L.conv("p", "input", kernels=4, tune={"kernels": (4, 8)}),
        L.conv("s", "p", kernels=4, tune={"kernels": (4, 8)}),
        L.conv("x", "s", kernels=4, tune={"kernels": (4, 8)}),
        L.conv("y", "s", kernels=4, tune={"kernels": (4, 8, 16)}),
        L.concat("cat", ["x", "y"]),
        L.conv("t", "cat", kernels=4, tune={"kernels": (4, 8)}),
        L.global_pool("gp", "t"),
        L.output("output", "gp"),
    ), (8, 8, 1), 3)


def first_fan_space() -> SearchSpace:
    """The first agent fans out: s (2) -> {x (2), y (3)} -> concat -> t (2)."""
    return SearchSpace("fan4", (
        L.input_layer(),
        L.conv("s", "input", kernels=4, tune={"kernels": (4, 8)}),
        L.conv("x", "s", kernels=4, tune={"kernels": (4, 8)}),
        L.conv("y", "s", kernels=4, tune={"kernels": (4, 8, 16)}),
        L.concat("cat", ["x", "y"]),
        L.conv("t", "cat", kernels=4, tune={"kernels": (4, 8)}),
        L.global_pool("gp", "t"),
        L.output("output", "gp"),
    ), (8, 8, 1), 3)


def observation(space: SearchSpace, partial: dict[str, int], acting: str) -> np.ndarray:
    """The env's observation vector: decided actions + 1 (0 = undecided), then the acting index."""
    obs = np.zeros(space.num_agents + 1, dtype=np.int64)
    for name, action in partial.items():
        obs[space.agent_index[name]] = action + 1
    obs[-1] = space.agent_index[acting]
    return obs


def play(team, space: SearchSpace) -> tuple[int, ...]:
    """One design from ``team.act`` for every agent in order (no env)."""
    chosen: dict[str, int] = {}
    for name in space.agents:
        chosen[name] = team.act(name, observation(space, chosen, name))
    return tuple(chosen[a] for a in space.agents)


@pytest.fixture
def chain() -> SearchSpace:
    return chain_space()


@pytest.fixture
def fan() -> SearchSpace:
    return fan_space()


@pytest.fixture
def first_fan() -> SearchSpace:
    return first_fan_space()


@pytest.fixture
def observe():
    """:func:`observation` (conftest modules are not importable by name)."""
    return observation


@pytest.fixture
def play_design():
    """:func:`play`."""
    return play
