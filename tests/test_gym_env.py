"""The Gymnasium view: check_env on every preset, equivalence with the AEC view, invalid actions,
registration."""

from __future__ import annotations

import warnings

import gymnasium
import numpy as np
import pytest
from fixtures import FixtureEvaluator
from gymnasium.spaces import Discrete, MultiDiscrete
from gymnasium.utils.env_checker import check_env

import cnn_design_env
from cnn_design_env.episode import observation_nvec
from cnn_design_env.gym_env import CNNDesignGymEnv
from cnn_design_env.registration import ENV_ID, register_envs
from cnn_design_env.space import Design, get_space, list_spaces


def make(name="vgg_mini", **kwargs):
    space = get_space(name)
    return CNNDesignGymEnv(space, FixtureEvaluator(space, noise=0.05), **kwargs)


@pytest.mark.parametrize("name", list_spaces())
@pytest.mark.parametrize("render_mode", [None, "ansi"])
def test_check_env(name, render_mode):
    with warnings.catch_warnings():
        # Built directly, the env has no spec, so check_env cannot remake it per render mode
        # (test_check_env_through_make covers that path).
        warnings.filterwarnings("ignore", message=".*not having a spec.*")
        check_env(make(name, render_mode=render_mode))


def test_check_env_through_make():
    register_envs()
    space = get_space("vgg_mini")
    env = gymnasium.make(ENV_ID, space="vgg_mini", evaluator=FixtureEvaluator(space))
    check_env(env.unwrapped)


def test_spaces_and_masks():
    env = make("vgg16")
    space = env.space
    assert env.action_space == Discrete(20)
    assert env.observation_space == MultiDiscrete(observation_nvec(space))
    obs, info = env.reset(seed=0)
    assert obs.tolist() == [0] * 20
    assert info["action_mask"].tolist() == [1] * 20
    for i, size in enumerate(space.action_sizes):
        mask = env.action_masks()
        assert mask.dtype == np.int8 and mask.tolist() == [1] * size + [0] * (20 - size)
        assert env.observation_space.contains(obs)
        obs, reward, terminated, truncated, info = env.step(size - 1)
        assert info["action_mask"] is not mask
        assert not truncated and terminated == (i == space.num_agents - 1)
        assert (reward == 0.0) != terminated
    assert env.action_masks().tolist() == [0] * 20
    assert info["action_mask"].tolist() == [0] * 20
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(0)


@pytest.mark.parametrize("name", list_spaces())
def test_gym_and_aec_views_agree(name):
    """Same seed, same actions: same design, reward, metrics (and evaluation seed)."""
    space = get_space(name)
    rng = np.random.default_rng(1)
    for seed in (0, 17):
        design = space.sample(rng)
        gym_env = CNNDesignGymEnv(space, FixtureEvaluator(space, noise=0.05))
        obs, _ = gym_env.reset(seed=seed)
        aec = cnn_design_env.env(space, FixtureEvaluator(space, noise=0.05))
        aec.reset(seed=seed)
        for agent, action in zip(aec.possible_agents, design, strict=True):
            aec_obs, *_ = aec.last()
            assert aec.agent_selection == agent
            assert np.array_equal(obs, aec_obs["observation"])
            aec.step(action)
            obs, reward, terminated, _, info = gym_env.step(action)
        aec_info = aec.infos[aec.possible_agents[0]]
        assert terminated and all(aec.terminations.values())
        assert info["design"] == aec_info["design"] == design.actions
        assert reward == aec.rewards[aec.possible_agents[-1]] == aec_info["reward"]
        assert info["metrics"] == aec_info["metrics"]
        assert info["eval_seed"] == aec_info["eval_seed"]
        assert info["hyperparameters"] == aec_info["hyperparameters"]
        assert np.array_equal(obs, aec.state())


def test_invalid_action_penalty_is_the_default():
    env = make()  # vgg_mini: pool1 (the third layer) has 2 actions out of 12
    env.reset(seed=0)
    env.step(0)
    env.step(0)
    obs, reward, terminated, truncated, info = env.step(5)
    assert (reward, terminated, truncated) == (-1.0, True, False)
    assert info["metrics"]["terminated"]
    assert info["metrics"]["reason"] == "invalid action 5 for agent 'pool1' (legal: [0, 2))"
    assert info["design"] == (0, 0) and info["hyperparameters"] is None
    assert obs.tolist() == [1, 1, 0, 0, 0, 0, 2]
    assert env.evaluator.calls == 0
    with pytest.raises(RuntimeError):
        env.step(0)


def test_invalid_action_raise_and_wrap():
    strict = make(invalid_action="raise")
    strict.reset()
    strict.step(0)
    strict.step(0)
    with pytest.raises(ValueError, match=r"agent 'pool1': action 5 is masked"):
        strict.step(5)
    wrap = make(invalid_action="wrap")
    obs, _ = wrap.reset()
    for action in (0, 0, 5):  # 5 % 2 == 1
        obs, *_ = wrap.step(action)
    assert obs.tolist() == [1, 1, 2, 0, 0, 0, 3]
    with pytest.raises(ValueError, match="unknown invalid_action 'clip'"):
        make(invalid_action="clip")


@pytest.mark.parametrize("mode", ["penalty", "raise", "wrap"])
def test_actions_outside_the_action_space_always_raise(mode):
    env = make(invalid_action=mode)
    env.reset()
    for bad in (12, -1):
        with pytest.raises(ValueError, match=f"agent 'conv1': action {bad} is out of range"):
            env.step(bad)
    with pytest.raises(ValueError, match="not an integer"):
        env.step(0.5)
    env.step(np.int64(3))  # NumPy integers are fine


def test_seeding_reproduces_the_evaluation():
    env = make()
    results = []
    for seed in (3, None, 3):
        env.reset(seed=seed)
        for _ in range(6):
            *_, info = env.step(0)
        results.append((info["eval_seed"], info["metrics"]))
    assert results[0] == results[2] != results[1]


def test_render_modes(capsys):
    env = make(render_mode="ansi")
    env.reset()
    env.step(5)
    assert env.render().splitlines()[3].split() == [">", "conv2", "conv", "-"]
    human = make(render_mode="human")
    human.reset()
    human.step(0)
    assert human.render() is None
    assert "conv1" in capsys.readouterr().out


def test_gymnasium_make():
    register_envs()
    space = get_space("vgg_mini")
    env = gymnasium.make(ENV_ID, space=space, evaluator=FixtureEvaluator(space))
    _, info = env.reset(seed=0)
    assert isinstance(env.unwrapped, CNNDesignGymEnv)
    total = 0.0
    terminated = False
    while not terminated:
        _, reward, terminated, _, info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
        total += reward
    metrics = FixtureEvaluator(space).evaluate(Design((0,) * 6), seed=0)
    assert total == info["reward"] == cnn_design_env.PaperReward()(metrics)
