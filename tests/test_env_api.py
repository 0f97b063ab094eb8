"""PettingZoo's own API, seed, render and parallel tests on every preset, padded or not."""

from __future__ import annotations

import functools
import warnings

import pytest
from fixtures import FixtureEvaluator
from pettingzoo.test import api_test, parallel_api_test, render_test, seed_test
from pettingzoo.utils.conversions import turn_based_aec_to_parallel

import cnn_design_env
from cnn_design_env.space import get_space, list_spaces

CASES = [(name, pad) for name in list_spaces() for pad in (False, True)]


def make(name: str, pad: bool, render_mode: str | None = None):
    return cnn_design_env.env(name, evaluator=FixtureEvaluator(get_space(name)),
                              pad_actions=pad, render_mode=render_mode)


@pytest.fixture(autouse=True)
def _quiet_pettingzoo_advice():
    # api_test's advice that does not apply by design: agents are named after layers, the first
    # observation is all zeros (nothing decided yet), observations are Dicts with an action mask
    # whose length is the agent's own action-space size unless pad_actions=True.
    with warnings.catch_warnings():
        for advice in (".*recommend agents to be named.*", ".*all zeros.*",
                       ".*probably should be gymnasium.spaces.box.*",
                       "Observation is not a NumPy array",
                       "Agents have different observation space sizes"):
            warnings.filterwarnings("ignore", message=advice)
        yield


@pytest.mark.parametrize(("name", "pad"), CASES)
def test_api_test(name, pad):
    api_test(make(name, pad), num_cycles=1000)


@pytest.mark.parametrize(("name", "pad"), CASES)
def test_seed_test(name, pad):
    seed_test(functools.partial(make, name, pad), num_cycles=1000)


@pytest.mark.parametrize(("name", "pad"), CASES)
def test_render_test(name, pad):
    render_test(functools.partial(make, name, pad))


@pytest.mark.parametrize(("name", "pad"), CASES)
def test_turn_based_parallel_api_test(name, pad):
    parallel_api_test(turn_based_aec_to_parallel(make(name, pad)), num_cycles=1000)


@pytest.mark.parametrize("name", ["vgg_mini", "inception_mini", "unet_mini"])
def test_parallel_env_api_test(name):
    from cnn_design_env.cnn_design_v0 import parallel_env

    space = get_space(name)
    parallel_api_test(parallel_env(space=space, evaluator=FixtureEvaluator(space)),
                      num_cycles=1000)


def test_api_test_on_the_raw_env():
    space = get_space("vgg_mini")
    api_test(cnn_design_env.raw_env(space, FixtureEvaluator(space)), num_cycles=1000)
