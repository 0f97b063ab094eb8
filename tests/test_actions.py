"""Issue 17: actions are never coerced. ``bool``, floats and strings are refused by the AEC env
(raw and wrapped), its parallel view, the Gym view, ``Design`` and ``space.validate``; the wrapped
env raises ``ValueError`` naming the agent, the action and the legal range (it raised a bare
``AssertionError``), and the raw env stepped after the end says so (it raised ``KeyError``)."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import FixtureEvaluator
from pettingzoo.test import api_test, parallel_api_test, seed_test

import cnn_design_env
from cnn_design_env.cnn_design_v0 import parallel_env
from cnn_design_env.gym_env import CNNDesignGymEnv
from cnn_design_env.space import Design, get_space

BAD = [True, False, np.True_, 1.0, 2.5, np.float64(1.0), "1", b"1", 1 + 0j, [1], np.array([1])]


def aec(wrapped: bool = True, **kwargs):
    space = get_space("vgg_mini")
    factory = cnn_design_env.env if wrapped else cnn_design_env.raw_env
    return factory(space, FixtureEvaluator(space), **kwargs)


@pytest.mark.parametrize("wrapped", [True, False])
@pytest.mark.parametrize("action", BAD, ids=repr)
def test_aec_env_refuses_non_integer_actions(wrapped, action):
    env = aec(wrapped)
    env.reset(seed=0)
    env.step(0)
    with pytest.raises(ValueError, match=r"agent 'conv_1' \(layer 'conv2'\): "
                                         r"action .* is not an integer \(.*\); "
                                         r"expected an integer in \[0, 12\)"):
        env.step(action)
    assert env.agent_selection == "conv_1" and env.unwrapped._episode.actions == (0,)


@pytest.mark.parametrize("action", [-1, 12, 10**30, None])
def test_wrapped_env_raises_value_error_not_assertion_error(action):
    env = aec(wrapped=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"agent 'conv_0' \(layer 'conv1'\): "
                                         r"action .*(out of range; expected an "
                                         r"integer in \[0, 12\)|only valid for a terminated)"):
        env.step(action)


def test_numpy_integers_are_accepted():
    env = aec()
    env.reset(seed=0)
    for action in (np.int64(1), np.uint8(1), np.int32(0), np.array(1), 0, 1):
        env.step(action)
    assert env.unwrapped._episode.design().actions == (1, 1, 0, 1, 0, 1)


def test_raw_env_stepped_after_the_end_says_so():
    env = aec(wrapped=False)
    env.reset(seed=0)
    for action in [0] * 6:
        env.step(action)
    for _ in range(6):
        env.step(None)  # the dead steps
    assert env.agents == []
    with pytest.raises(RuntimeError, match=r"step\(0\) called after the episode ended .* call "
                                           r"env.reset\(\)"):
        env.step(0)
    env.reset()  # and the env is usable again
    env.step(0)


@pytest.mark.parametrize("action", BAD, ids=repr)
def test_parallel_view_refuses_non_integer_actions(action):
    space = get_space("vgg_mini")
    env = parallel_env(space=space, evaluator=FixtureEvaluator(space))
    env.reset(seed=0)
    actions = dict.fromkeys(env.agents, 0)
    actions["pool_0"] = action
    with pytest.raises(ValueError, match=r"agent 'pool_0' \(layer 'pool1'\): "
                                         r"action .* is not an integer"):
        env.step(actions)


@pytest.mark.parametrize("action", BAD, ids=repr)
def test_gym_view_refuses_non_integer_actions(action):
    space = get_space("vgg_mini")
    env = CNNDesignGymEnv(space, FixtureEvaluator(space))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"agent 'conv1': action .* is not an integer"):
        env.step(action)
    assert env._episode.actions == ()


@pytest.mark.parametrize("action", BAD, ids=repr)
def test_design_and_validate_refuse_non_integer_actions(action):
    space = get_space("vgg_mini")
    design = [0] * space.num_agents
    design[1] = action
    with pytest.raises(ValueError, match=r"action 1 of the design is .*; expected an integer"):
        Design(tuple(design))
    with pytest.raises(ValueError, match=r"action 1 of the design is"):
        space.validate(design)
    with pytest.raises(ValueError, match=r"action 1 of the design is"):
        space.decode(design)
    with pytest.raises(ValueError, match="expected an integer"):
        space.hyperparameters(design)


def test_design_keeps_numpy_integers_as_python_ints():
    design = Design(np.array([3, 0, 1], dtype=np.int64))
    assert design.actions == (3, 0, 1) and all(type(a) is int for a in design.actions)
    with pytest.raises(ValueError, match="sequence of integer action indices"):
        Design("301")


@pytest.mark.parametrize("pad_actions", [False, True])
def test_pettingzoo_api_and_seed_tests_still_pass(pad_actions):
    api_test(aec(pad_actions=pad_actions), num_cycles=20)
    seed_test(lambda: aec(pad_actions=pad_actions), num_cycles=20)
    space = get_space("vgg_mini")
    parallel_api_test(parallel_env(space=space, evaluator=FixtureEvaluator(space)), num_cycles=20)
