"""PettingZoo's own API, seed, render and parallel tests on every preset, padded or not.

With the flat observation they pass with every warning an error: observations are one ``Box``
identical for all agents, agents are named ``kind_N``, nothing is all zeros. The Dict
observations draw only the advice that a Dict is not a NumPy array / a Box (by design), and the
``"dict"`` one its all-zero start (nothing decided yet) and, unpadded, its per-agent mask length.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest
from fixtures import FixtureEvaluator
from pettingzoo.test import api_test, parallel_api_test, render_test, seed_test
from pettingzoo.utils.conversions import turn_based_aec_to_parallel

import cnn_design_env
from cnn_design_env.space import get_space, list_spaces

CASES = [(name, pad) for name in list_spaces() for pad in (False, True)]
DICT_ADVICE = ("Observation is not a NumPy array",
               ".*probably should be gymnasium.spaces.box.*")


def make(name: str, pad: bool, render_mode: str | None = None, observation: str = "flat",
         invalid_action: str = "raise"):
    return cnn_design_env.env(name, evaluator=FixtureEvaluator(get_space(name)),
                              pad_actions=pad, render_mode=render_mode, observation=observation,
                              invalid_action=invalid_action)


def par(name: str, pad: bool, observation: str = "flat"):
    # parallel_api_test samples from the whole action space, masks unread: fold masked actions in
    return cnn_design_env.parallel_env(name, evaluator=FixtureEvaluator(get_space(name)),
                                       pad_actions=pad, observation=observation,
                                       invalid_action="wrap")


@pytest.fixture
def strict():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


@pytest.mark.parametrize(("name", "pad"), CASES)
def test_api_test_without_warnings(strict, name, pad):
    api_test(make(name, pad), num_cycles=1000)


@pytest.mark.parametrize(("name", "pad"), CASES)
def test_seed_test_without_warnings(strict, name, pad):
    seed_test(functools.partial(make, name, pad), num_cycles=1000)


@pytest.mark.parametrize(("name", "pad"), CASES)
def test_render_test_without_warnings(strict, name, pad):
    # render_test samples from the whole action space unless the observation holds a mask: a
    # padded flat env then takes the masked actions as its options say (here: fold them in)
    render_test(functools.partial(make, name, pad, invalid_action="wrap"))


@pytest.mark.parametrize(("name", "pad"), CASES)
def test_parallel_api_test_without_warnings(strict, name, pad):
    parallel_api_test(par(name, pad), num_cycles=1000)
    parallel_api_test(turn_based_aec_to_parallel(make(name, pad, invalid_action="wrap")),
                      num_cycles=1000)


@pytest.mark.parametrize("observation", ["dict", "flat_dict"])
@pytest.mark.parametrize(("name", "pad"), CASES)
def test_dict_observations_draw_only_the_dict_advice(name, pad, observation):
    advice = DICT_ADVICE + (() if pad else ("Agents have different observation",))
    if observation == "dict":
        advice += (".*all zeros.*",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for message in advice:
            warnings.filterwarnings("ignore", message=message)
        api_test(make(name, pad, observation=observation), num_cycles=200)
        parallel_api_test(par(name, pad, observation), num_cycles=200)


def test_api_test_on_the_raw_env(strict):
    space = get_space("vgg_mini")
    api_test(cnn_design_env.raw_env(space, FixtureEvaluator(space), observation="flat"),
             num_cycles=1000)


def test_rgb_array_is_a_picture_of_the_design():
    env = make("vgg_mini", True, render_mode="rgb_array")
    env.reset(seed=0)
    empty = env.render()
    env.step(11)
    env.step(11)
    picture = env.render()
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.shape[2] == 3
    assert picture.shape == empty.shape and not np.array_equal(picture, empty)
