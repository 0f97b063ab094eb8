"""The AEC env's behaviour: spaces, rewards, infos, seeding, rendering and errors."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import ConstantEvaluator, FixtureEvaluator
from gymnasium.spaces import Box, Discrete, MultiDiscrete
from gymnasium.utils import seeding
from pettingzoo.utils.wrappers import BaseWrapper

import cnn_design_env
from cnn_design_env.cnn_design import CNNDesignEnv
from cnn_design_env.episode import SEED_BOUND, observation_nvec
from cnn_design_env.observations import agent_ids
from cnn_design_env.order_enforcing import OrderEnforcing
from cnn_design_env.reward import PaperReward, WeightedReward
from cnn_design_env.space import Design, get_space


def make(name="vgg_mini", evaluator=None, wrapped=True, **kwargs):
    space = get_space(name)
    evaluator = evaluator or FixtureEvaluator(space)
    factory = cnn_design_env.env if wrapped else cnn_design_env.raw_env
    return factory(space, evaluator, **kwargs)


def play(env, actions, seed=None):
    """Step ``actions`` in order; return (per-agent reward seen before acting, final last())."""
    env.reset(seed=seed)
    seen = {}
    for agent, action in zip(env.possible_agents, actions, strict=True):
        assert env.agent_selection == agent
        _, reward, terminated, _, _ = env.last()
        assert not terminated
        seen[agent] = reward
        env.step(action)
    return seen


def test_agents_spaces_and_caching():
    env = make("vgg16")
    space = env.unwrapped.space
    env.reset()
    assert env.possible_agents == env.agents == list(agent_ids(space))
    assert list(env.unwrapped.layer_names.values()) == list(space.agents)
    nvec = observation_nvec(space)
    for agent, size in zip(env.possible_agents, space.action_sizes, strict=True):
        assert env.action_space(agent) == Discrete(size)
        obs_space = env.observation_space(agent)
        assert obs_space is env.observation_space(agent)
        assert env.action_space(agent) is env.action_space(agent)
        assert obs_space["observation"] == MultiDiscrete(nvec)
        assert obs_space["action_mask"] == Box(0, 1, (size,), np.int8)
    assert env.unwrapped.state_space == MultiDiscrete(nvec)
    assert env.unwrapped.metadata["name"] == "cnn_design_v0"


def test_pad_actions_gives_identical_spaces_with_masks():
    env = make("vgg16", pad_actions=True)
    env.reset()
    assert all(env.action_space(a) == Discrete(20) for a in env.agents)
    obs, *_, info = env.last()
    assert obs["action_mask"].tolist() == [1] * 20
    pool = "pool_0"
    assert env.observe(pool)["action_mask"].tolist() == [1, 1] + [0] * 18
    assert env.infos[pool]["action_mask"].tolist() == [1, 1] + [0] * 18
    assert info["action_mask"] is obs["action_mask"]


def test_rewards_zero_until_complete_then_shared():
    env = make("vgg_mini")
    design = (3, 1, 0, 7, 1, 2)
    seen = play(env, design, seed=5)
    assert set(seen.values()) == {0}
    evaluator = env.unwrapped.evaluator
    info = env.infos["conv_0"]
    metrics = evaluator.evaluate(Design(design), seed=info["eval_seed"])
    expected = PaperReward()(metrics)
    assert expected > 0
    assert all(env.terminations.values()) and not any(env.truncations.values())
    assert env.rewards == dict.fromkeys(env.possible_agents, expected)
    finals = {}
    for agent in env.agent_iter():
        obs, reward, terminated, truncated, info = env.last()
        assert terminated and not truncated
        finals[agent] = reward
        assert info["design"] == design
        assert info["reward"] == expected
        assert info["metrics"] == metrics.to_dict()
        assert info["hyperparameters"] == env.unwrapped.space.hyperparameters(Design(design))
        assert info["action_mask"] is obs["action_mask"]
        assert obs["observation"].tolist() == [a + 1 for a in design] + [6]
        env.step(None)
    assert finals == dict.fromkeys(env.possible_agents, expected)
    assert env.agents == []
    assert evaluator.calls == 2  # the env's evaluation and ours above


def test_observation_and_state_follow_the_design():
    env = make("vgg_mini")
    env.reset()
    env.step(4)
    env.step(2)
    obs = env.observe("pool_0")
    assert obs["observation"].tolist() == [5, 3, 0, 0, 0, 0, 2]
    assert env.state().tolist() == [5, 3, 0, 0, 0, 0, 2]
    assert env.unwrapped.state_space.contains(env.state())
    obs["observation"][:] = 0  # observations are copies
    assert env.state().tolist() == [5, 3, 0, 0, 0, 0, 2]
    env.reset()
    assert env.state().tolist() == [0] * 7
    assert set(env.infos) == set(env.agents) and set(env.infos["conv_0"]) == {"action_mask"}


def test_reset_seed_makes_the_evaluation_seed_reproducible():
    evaluator = FixtureEvaluator(get_space("vgg_mini"), noise=0.05)
    env = make("vgg_mini", evaluator)
    play(env, [0] * 6, seed=11)
    first = env.infos["dense_0"]
    assert first["eval_seed"] == int(seeding.np_random(11)[0].integers(SEED_BOUND))
    assert env.unwrapped.np_random_seed == 11
    play(env, [0] * 6)  # the next episode draws the next seed
    second = env.infos["dense_0"]
    play(env, [0] * 6, seed=11)
    again = env.infos["dense_0"]
    assert again["eval_seed"] == first["eval_seed"] != second["eval_seed"]
    assert again["metrics"] == first["metrics"] != second["metrics"]


def test_custom_reward_and_custom_space():
    space = get_space("vgg_mini", input_shape=(16, 16, 1))
    reward = WeightedReward({"accuracy": 1.0, "model_size_mb": -1.0})
    env = cnn_design_env.env(space, FixtureEvaluator(space), reward)
    play(env, [1] * 6)
    metrics = FixtureEvaluator(space).evaluate(Design((1,) * 6), seed=0)
    assert env.unwrapped.space is space and env.unwrapped.reward_fn is reward
    assert env.rewards["conv_0"] == pytest.approx(metrics.accuracy - metrics.model_size_mb)


def test_evaluator_that_raises_gives_terminated_metrics_and_penalty():
    space = get_space("vgg_mini")

    class Broken:
        def __init__(self):
            self.space = space

        def evaluate(self, design, *, seed):
            raise FloatingPointError("loss is nan")

    env = cnn_design_env.env(space, Broken())
    play(env, [0] * 6)
    assert env.rewards == dict.fromkeys(env.possible_agents, -1.0)
    metrics = env.infos["conv_1"]["metrics"]
    assert metrics["terminated"] and metrics["reason"] == (
        "exception: FloatingPointError: loss is nan")


def test_terminated_evaluation_gives_the_penalty():
    space = get_space("vgg_mini")
    env = cnn_design_env.env(space, FixtureEvaluator(space, terminate=lambda d: d[0] == 2))
    play(env, [2, 0, 0, 0, 0, 0])
    assert set(env.rewards.values()) == {-1.0}
    assert env.infos["dense_0"]["metrics"]["reason"] == "loss"


def test_render_ansi_and_human(capsys):
    env = make("vgg_mini", render_mode="ansi")
    env.reset()
    env.step(5)
    table = env.render()
    lines = table.splitlines()
    assert lines[2].split() == ["conv1", "conv", "kernels=16", "kernel_size=3", "stride=2"]
    assert lines[3].split() == [">", "conv2", "conv", "-"]
    assert lines[-1] == "design of 'vgg_mini': 1/6"
    human = make("vgg_mini", render_mode="human")
    human.reset()
    assert human.render() is None
    assert "conv2" in capsys.readouterr().out
    quiet = make("vgg_mini")
    quiet.reset()
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert quiet.render() is None
    with pytest.raises(ValueError, match="unknown render_mode 'rgb'"):
        make("vgg_mini", render_mode="rgb")


def test_the_versioned_module_and_the_package_give_the_same_env():
    from cnn_design_env import cnn_design_v0

    space = get_space("vgg_mini")
    assert cnn_design_env.env is cnn_design_v0.env
    assert cnn_design_env.parallel_env is cnn_design_v0.parallel_env
    assert cnn_design_env.raw_env is cnn_design_v0.raw_env is CNNDesignEnv
    wrapped = cnn_design_env.env(space, evaluator=ConstantEvaluator(space))
    assert type(wrapped) is OrderEnforcing and isinstance(wrapped, BaseWrapper)
    assert type(wrapped.env) is CNNDesignEnv  # one wrapper, then the raw env
    assert callable(cnn_design_env.env) and not isinstance(cnn_design_env.env, type(cnn_design_v0))


# ---------------------------------------------------------------------------- errors
def test_unknown_space_name_lists_the_presets():
    with pytest.raises(ValueError, match=r"unknown space 'vgg19'; expected one of \['vgg16'"):
        cnn_design_env.env("vgg19", evaluator=ConstantEvaluator(get_space("vgg16")))


def test_evaluator_is_required_and_must_match_the_space():
    with pytest.raises(TypeError, match="evaluator is required"):
        cnn_design_env.env("vgg_mini")
    with pytest.raises(TypeError, match="no evaluate"):
        cnn_design_env.env("vgg_mini", evaluator=object())
    with pytest.raises(ValueError, match="unknown evaluator 'trainer'; expected one of"):
        cnn_design_env.env("vgg_mini", evaluator="trainer")
    with pytest.raises(ValueError, match="bound to space 'vgg16'"):
        cnn_design_env.env("vgg_mini", evaluator=ConstantEvaluator(get_space("vgg16")))


@pytest.mark.parametrize("wrapped", [False, True])
def test_action_out_of_range(wrapped):
    env = make("vgg_mini", wrapped=wrapped)
    env.reset()
    env.step(0)
    # wrapped or not, a ValueError naming the agent, the action and the legal range (the stock
    # AssertOutOfBoundsWrapper raised a bare AssertionError)
    with pytest.raises(ValueError, match=r"agent 'conv_1' \(layer 'conv2'\): "
                                         r"action 12 is out of range; "
                                         r"expected an integer in \[0, 12\)"):
        env.step(12)
    with pytest.raises(ValueError, match=r"agent 'conv_1' \(layer 'conv2'\): "
                                         r"action -1 is out of range"):
        env.step(-1)
    with pytest.raises(ValueError, match=r"agent 'conv_1' \(layer 'conv2'\): "
                                         r"action '3' is not an integer"):
        env.step("3")
    assert env.agent_selection == "conv_1"  # nothing was recorded


@pytest.mark.parametrize("wrapped", [False, True])
def test_masked_action_names_agent_and_value(wrapped):
    env = make("vgg_mini", wrapped=wrapped, pad_actions=True)
    env.reset()
    env.step(0)
    env.step(0)
    with pytest.raises(ValueError, match=r"agent 'pool_0' \(layer 'pool1'\): "
                                         r"action 7 is masked \(padding\)"):
        env.step(7)
    with pytest.raises(ValueError, match=r"agent 'pool_0' \(layer 'pool1'\): action 7 is masked"):
        env.step(np.int64(7))


def test_step_before_reset():
    with pytest.raises(RuntimeError, match="before reset"):
        make(wrapped=False).step(0)
    with pytest.raises(AssertionError, match="reset"):
        make().step(0)
    with pytest.raises(AttributeError, match="agents cannot be accessed before reset"):
        _ = make().agents


def test_none_for_a_live_agent_and_actions_for_dead_agents():
    env = make(wrapped=False)
    env.reset()
    with pytest.raises(ValueError, match=r"agent 'conv_0' \(layer 'conv1'\): action None"):
        env.step(None)
    play(env, [0] * 6)
    with pytest.raises(ValueError, match="only valid action is None"):
        env.step(0)


def test_order_enforcing_still_checks_the_loop():
    env = make()
    env.reset()
    with pytest.raises(AssertionError, match="need to call step"):
        for _ in env.agent_iter():
            pass


def test_step_after_the_episode_warns(caplog):
    env = make()
    play(env, [0] * 6)
    for _ in env.agent_iter():
        env.step(None)
    env.step(None)
    assert "step() called after all agents are terminated" in caplog.text


def test_pettingzoo_registry_with_and_without_arguments():
    import pettingzoo

    from cnn_design_env.registration import ENV_ID, ENV_NAME

    space = get_space("vgg_mini")
    aec = pettingzoo.make("aec", ENV_ID, space=space, evaluator=FixtureEvaluator(space))
    assert isinstance(aec.unwrapped, CNNDesignEnv)
    par = pettingzoo.make("parallel", ENV_ID, space=space, evaluator=FixtureEvaluator(space))
    observations, _ = par.reset(seed=0)
    assert set(observations) == set(agent_ids(space))
    default = pettingzoo.make("aec", ENV_ID)  # no arguments: table_chain, tabular rewards
    assert default.unwrapped.space.name == "table_chain"
    assert f"cnn_design_env/{ENV_NAME}" == ENV_ID and default.metadata["name"] == ENV_NAME
    assert pettingzoo.make("aec", "cnn_design_env/cnn_design-v0").unwrapped.space.name == (
        "table_chain")  # PettingZoo's normal form of the same id
