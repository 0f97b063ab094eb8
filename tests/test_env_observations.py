"""Issue 18.1-18.2: observations every library takes, invalid actions, agent ids."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import FixtureEvaluator
from gymnasium.spaces import Box, Dict, Discrete

import cnn_design_env
from cnn_design_env.observations import FlatEncoder, agent_ids
from cnn_design_env.space import get_space, list_spaces

FORBIDDEN = {"train", "eval", "forward", "parameters", "state_dict", "to", "step", "reset"}


def make(name="vgg_mini", **kwargs):
    space = get_space(name)
    return cnn_design_env.env(space, FixtureEvaluator(space), **kwargs)


@pytest.mark.parametrize("observation", ["dict", "flat", "flat_dict"])
@pytest.mark.parametrize("name", list_spaces())
def test_padded_spaces_are_identical_for_every_agent(name, observation):
    env = make(name, pad_actions=True, observation=observation)
    first = env.possible_agents[0]
    for agent in env.possible_agents:
        assert env.observation_space(agent) == env.observation_space(first)
        assert env.action_space(agent) == env.action_space(first)


def test_flat_observation_is_one_hot_of_decisions_acting_and_observing_agent():
    env = make("vgg_mini", observation="flat")
    space = env.unwrapped.space
    n, total = space.num_agents, sum(space.action_sizes)
    agent = env.possible_agents[0]
    assert env.observation_space(agent) == Box(0.0, 1.0, (total + 2 * n + 1,), np.float32)
    env.reset(seed=0)
    env.step(4)
    env.step(2)
    obs, _, _, _, info = env.last()
    assert obs.dtype == np.float32 and env.observation_space(agent).contains(obs)
    # conv1 = 4, conv2 = 2 (offset 12), acting index 2, observer index 2
    assert np.flatnonzero(obs).tolist() == [4, 12 + 2, total + 2, total + n + 1 + 2]
    assert info["action_mask"].tolist() == [1, 1]
    assert np.array_equal(obs, FlatEncoder(space).encode((4, 2), observer=2))


def test_flat_dict_carries_the_mask_as_its_own_key():
    env = make("vgg_mini", observation="flat_dict", pad_actions=True)
    space = env.observation_space("pool_0")
    assert isinstance(space, Dict) and set(space) == {"observation", "action_mask"}
    env.reset(seed=0)
    env.step(0)
    env.step(0)
    obs = env.observe("pool_0")
    assert obs["action_mask"].tolist() == [1, 1] + [0] * 10
    assert obs["observation"].dtype == np.float32


def test_every_agent_of_the_parallel_view_knows_who_it_is_and_who_acts():
    space = get_space("vgg_mini")
    for observation in ("flat", "dict"):
        env = cnn_design_env.parallel_env(space, FixtureEvaluator(space),
                                          observation=observation)
        observations, _ = env.reset(seed=0)
        seen = {agent: (obs if observation == "flat" else obs["agent"])
                for agent, obs in observations.items()}
        if observation == "flat":
            encoder = FlatEncoder(space)
            for i, agent in enumerate(env.possible_agents):
                assert np.array_equal(seen[agent], encoder.encode((), observer=i))
        else:
            assert seen == {a: i for i, a in enumerate(env.possible_agents)}
            assert env.observation_space("conv_0")["agent"] == Discrete(space.num_agents)


def test_default_dict_observation_keeps_the_design_vector():
    env = make("vgg_mini")
    env.reset(seed=0)
    env.step(3)
    obs = env.observe("conv_1")
    assert obs["observation"].tolist() == [4, 0, 0, 0, 0, 0, 1] and obs["agent"] == 1


@pytest.mark.parametrize("name", list_spaces())
def test_agent_ids_follow_kind_n_and_clash_with_nothing(name):
    space = get_space(name)
    ids = agent_ids(space)
    assert len(set(ids)) == len(ids) == space.num_agents
    assert not FORBIDDEN & set(ids)
    for agent, layer in zip(ids, space.agents, strict=True):
        kind, number = agent.rsplit("_", 1)
        assert kind == space.by_name[layer].kind and number.isdigit()
    env = make(name)
    assert env.possible_agents == list(ids)
    assert env.unwrapped.layer_names == dict(zip(ids, space.agents, strict=True))


def test_masked_action_raises_by_default_and_names_agent_and_layer():
    env = make("vgg_mini", pad_actions=True)
    env.reset(seed=0)
    env.step(0)
    env.step(0)
    with pytest.raises(ValueError, match=r"agent 'pool_0' \(layer 'pool1'\): action 5 is masked"):
        env.step(5)


def test_masked_action_with_penalty_ends_the_episode_for_everyone():
    env = make("vgg_mini", pad_actions=True, invalid_action="penalty")
    env.reset(seed=0)
    env.step(0)
    env.step(0)
    env.step(5)
    assert all(env.terminations.values())
    assert set(env.rewards.values()) == {-1.0}
    info = env.infos["conv_0"]
    assert info["metrics"]["reason"] == (
        "invalid action 5 for agent 'pool_0' (layer 'pool1') (legal: [0, 2))")
    assert info["design"] == (0, 0) and info["eval_seed"] is None
    for _ in env.agent_iter():
        env.step(None)
    assert env.agents == []


def test_masked_action_with_wrap_is_folded_into_the_legal_range():
    env = make("vgg_mini", pad_actions=True, invalid_action="wrap")
    env.reset(seed=0)
    for action in (13 % 12, 0, 5, 0, 7, 0):
        env.step(action)
    assert env.infos["conv_0"]["design"] == (1, 0, 1, 0, 1, 0)


def test_out_of_space_actions_always_raise():
    for mode in ("penalty", "wrap"):
        env = make("vgg_mini", pad_actions=True, invalid_action=mode)
        env.reset(seed=0)
        with pytest.raises(ValueError, match="out of range"):
            env.step(12)


def test_parallel_view_takes_invalid_action():
    space = get_space("vgg_mini")
    env = cnn_design_env.parallel_env(space, FixtureEvaluator(space), pad_actions=True,
                                      invalid_action="wrap", observation="flat")
    env.reset(seed=0)
    _, _, terminations, _, infos = env.step(dict.fromkeys(env.possible_agents, 11))
    assert all(terminations.values())
    assert infos["pool_0"]["design"] == (11, 11, 1, 11, 1, 2)


@pytest.mark.parametrize(("option", "value"), [("observation", "box"),
                                               ("invalid_action", "ignore")])
def test_unknown_options_are_refused(option, value):
    with pytest.raises(ValueError, match=f"unknown {option} {value!r}; expected one of"):
        make("vgg_mini", **{option: value})


def test_teams_play_the_env_by_its_agent_ids():
    from agents import SharedQAgents

    space = get_space("vgg_mini")
    env = make("vgg_mini")
    env.reset(seed=0)
    obs = env.last()[0]
    by_id = SharedQAgents(space, seed=0).act("conv_0", obs)
    by_layer = SharedQAgents(space, seed=0).act("conv1", obs)
    assert by_id == by_layer and 0 <= by_id < space.action_sizes[0]  # same choice by either name
