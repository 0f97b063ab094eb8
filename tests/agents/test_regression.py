"""Seeded runs reproduce the designs recorded before the acting and update fast paths.

The digests were recorded with the team acting agent by agent (no episode plan) and the update
reading whole rows (no row statistics): the plan, the stream rewinds and the row statistics must
change nothing a seeded run chooses, through the env and with a driver that overrides actions
and asks agents twice. Re-recorded when the default schedules became the plain exponential decays
(``alpha_k = 0.95 * 0.999 ** k``, ``epsilon_k = 0.99 ** k``) and the default exploration length
``ceil(1.25 * largest table)``: the same digests from the compiled kernels and from the
Python/NumPy reference (``compiled=False``).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from fixtures import FixtureEvaluator, meddled_run

import cnn_design_env
from agents import Constant, ExponentialDecay, IndependentQAgents, SharedQAgents, train
from cnn_design_env.space import get_space

RECORDED = {
    "vgg_mini/paper": "26f10a4260699396",
    "inception_mini/agent-coin": "ec059940e4f4e1fc",
    "unet/paper": "dfd622d537e15f96",
    "unet_mini/independent": "dc0746ae83d5db19",
    "inception_mini/meddled": "6bc996897e435afc",
    "unet/meddled-episode-coin": "8795a9a273ecc3f5",
}


def digest(designs: list[tuple[int, ...]]) -> str:
    return hashlib.sha256(json.dumps([list(d) for d in designs]).encode()).hexdigest()[:16]


def env_designs(name: str, team_class: type, episodes: int, **kwargs) -> list[tuple[int, ...]]:
    space = get_space(name)
    env = cnn_design_env.env(space, evaluator=FixtureEvaluator(space, noise=0.05))
    result = train(env, team_class(space, seed=3, **kwargs), episodes=episodes, seed=1)
    return [r.design for r in result.history]


def meddled_designs(name: str, episodes: int, **kwargs) -> list[tuple[int, ...]]:
    """No env: an outside party overrides 5 % of the actions and 3 % of the agents act twice."""
    return meddled_run(SharedQAgents(get_space(name), seed=5, **kwargs), episodes, 11)


RUNS = {
    "vgg_mini/paper": lambda: env_designs("vgg_mini", SharedQAgents, 300),
    "inception_mini/agent-coin": lambda: env_designs(
        "inception_mini", SharedQAgents, 300, exploration_episodes=100, coin="agent",
        epsilon=ExponentialDecay(1.0, 0.98)),
    "unet/paper": lambda: env_designs("unet", SharedQAgents, 300, exploration_episodes=150),
    "unet_mini/independent": lambda: env_designs(
        "unet_mini", IndependentQAgents, 300, coin="agent", epsilon=ExponentialDecay(1.0, 0.98)),
    "inception_mini/meddled": lambda: meddled_designs(
        "inception_mini", 300, exploration_episodes=100, coin="agent",
        epsilon=ExponentialDecay(1.0, 0.97)),
    "unet/meddled-episode-coin": lambda: meddled_designs(
        "unet", 300, exploration_episodes=100, epsilon=Constant(0.3)),
}


@pytest.mark.parametrize("run", list(RUNS))
def test_seeded_designs_match_the_recording(run):
    assert digest(RUNS[run]()) == RECORDED[run]


def test_rewinds_across_uniform_blocks(monkeypatch, tmp_path):
    """Tiny uniform blocks: plans and rewinds cross block boundaries (blocks given back are
    served again, and saved with a checkpoint), and the choices do not change."""
    import agents.stream

    expected = meddled_designs("inception_mini", 60, exploration_episodes=20, coin="agent",
                               epsilon=ExponentialDecay(1.0, 0.95))
    monkeypatch.setattr(agents.stream, "UNIFORM_BLOCK", 3)
    assert meddled_designs("inception_mini", 60, exploration_episodes=20, coin="agent",
                           epsilon=ExponentialDecay(1.0, 0.95)) == expected
    space = get_space("inception_mini")
    team = SharedQAgents(space, seed=2, exploration_episodes=5, epsilon=Constant(0.5),
                         coin="agent")
    for k in range(8):
        obs = np.zeros(space.num_agents + 1, dtype=np.int64)
        for i, agent in enumerate(space.agents):
            obs[-1] = i
            obs[i] = team.act(agent, obs) + 1
        team.learn(tuple(int(v) - 1 for v in obs[:-1]), float(k))
    obs = np.zeros(space.num_agents + 1, dtype=np.int64)
    obs[0] = team.act(space.agents[0], obs) + 1                     # a plan in progress
    other = SharedQAgents(space, seed=0)
    other.load(team.save(str(tmp_path / "team.npz")))
    for i, agent in enumerate(space.agents[1:], start=1):
        obs[-1] = i
        action = team.act(agent, obs)
        assert other.act(agent, obs) == action
        obs[i] = action + 1
