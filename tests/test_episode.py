"""The pure episode core: encoding, masks, validation, terminal reward and info."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import FixtureEvaluator

from cnn_design_env.episode import (
    SEED_BOUND,
    DesignEpisode,
    abandon,
    bind,
    finish,
    observation_nvec,
)
from cnn_design_env.evaluators import Metrics
from cnn_design_env.reward import PaperReward, WeightedReward
from cnn_design_env.space import Design, SearchSpace, get_space, list_spaces

PRESETS = list_spaces()


def play(episode: DesignEpisode, actions) -> None:
    for action in actions:
        episode.step(action)


def test_observation_nvec_and_encoding():
    space = get_space("vgg_mini")  # |A| = 12, 12, 2, 12, 2, 3
    assert observation_nvec(space).tolist() == [13, 13, 3, 13, 3, 4, 7]
    episode = DesignEpisode(space)
    assert (episode.position, episode.agent, episode.done) == (0, "conv1", False)
    assert episode.observation().tolist() == [0] * 7
    play(episode, [11, 0])
    assert episode.observation().tolist() == [12, 1, 0, 0, 0, 0, 2]
    assert (episode.position, episode.agent) == (2, "pool1")
    play(episode, [1, 5, 0, 2])
    assert episode.done and episode.agent is None and episode.position == 6
    assert episode.observation().tolist() == [12, 1, 2, 6, 1, 3, 6]
    assert episode.design() == Design((11, 0, 1, 5, 0, 2))
    assert episode.actions == (11, 0, 1, 5, 0, 2)
    episode.reset()
    assert episode.observation().tolist() == [0] * 7 and episode.actions == ()


@pytest.mark.parametrize("name", PRESETS)
def test_observations_stay_in_nvec_and_predecessors_readable(name):
    space = get_space(name)
    nvec = observation_nvec(space)
    episode = DesignEpisode(space)
    design = space.sample(np.random.default_rng(3))
    for i, action in enumerate(design):
        obs = episode.observation()
        assert obs.dtype == np.int64 and obs.shape == (space.num_agents + 1,)
        assert np.all((obs >= 0) & (obs < nvec))
        assert obs[-1] == i
        assert [int(v) - 1 for v in obs[:i]] == list(design.actions[:i])
        episode.step(action)
    assert np.all(episode.observation() < nvec)


def test_observation_is_a_fresh_array():
    episode = DesignEpisode(get_space("vgg_mini"))
    first = episode.observation()
    first[:] = 99
    assert episode.observation().tolist() == [0] * 7


def test_masks_exact_and_padded():
    space = get_space("vgg_mini")
    exact = DesignEpisode(space)
    assert exact.num_actions is None
    assert [exact.action_mask(i).tolist() for i in (2, 5)] == [[1, 1], [1, 1, 1]]
    padded = DesignEpisode(space, pad_actions=True)
    assert padded.num_actions == 12
    mask = padded.action_mask(5)
    assert mask.dtype == np.int8 and mask.tolist() == [1, 1, 1] + [0] * 9
    assert padded.action_mask().tolist() == [1] * 12  # the acting agent, conv1
    with pytest.raises(ValueError):
        mask[0] = 0  # read-only: shared between calls


def test_step_errors_name_agent_and_action():
    space = get_space("vgg_mini")
    episode = DesignEpisode(space)
    episode.step(0)
    with pytest.raises(ValueError, match=r"agent 'conv2': action 12 is out of range.*\[0, 12\)"):
        episode.step(12)
    with pytest.raises(ValueError, match=r"agent 'conv2': action -1 is out of range"):
        episode.step(-1)
    with pytest.raises(ValueError, match=r"agent 'conv2': action 1.5 is not an integer"):
        episode.step(1.5)
    assert episode.position == 1  # nothing recorded
    padded = DesignEpisode(space, pad_actions=True)
    play(padded, [0, 0])
    with pytest.raises(ValueError, match=r"agent 'pool1': action 5 is masked \(padding\)"):
        padded.step(5)
    with pytest.raises(ValueError, match=r"agent 'pool1': action 12 is out of range.*\[0, 12\)"):
        padded.step(12)
    padded.step(np.int64(1))  # NumPy integers are fine
    with pytest.raises(ValueError, match=r"not complete.*'conv3'"):
        padded.design()
    play(padded, [0, 0, 0])
    with pytest.raises(ValueError, match="already complete"):
        padded.step(0)
    with pytest.raises(ValueError, match="no agent is acting"):
        padded.action_mask()


@pytest.mark.parametrize("name", PRESETS)
def test_cached_hyperparameters_equal_the_space(name):
    space = get_space(name)
    episode = DesignEpisode(space)
    rng = np.random.default_rng(0)
    for _ in range(3):
        episode.reset()
        design = space.sample(rng)
        play(episode, design)
        values = episode.hyperparameters()
        assert values == space.hyperparameters(design)
        values[space.agents[0]]["mutated"] = True  # copies: the cache is not touched
        assert episode.hyperparameters() == space.hyperparameters(design)


def test_bind_resolves_and_validates():
    space = get_space("vgg_mini")
    evaluator = FixtureEvaluator(space)
    got_space, got_eval, reward = bind("vgg_mini", evaluator, None)
    assert got_space is space and got_eval is evaluator and reward == PaperReward()
    assert bind(space, evaluator, WeightedReward())[2] == WeightedReward()
    with pytest.raises(ValueError, match=r"unknown space 'vgg17'.*'vgg16'"):
        bind("vgg17", evaluator, None)
    with pytest.raises(TypeError, match="evaluator is required"):
        bind("vgg_mini", None, None)
    with pytest.raises(TypeError, match="no evaluate"):
        bind("vgg_mini", object(), None)
    with pytest.raises(ValueError, match=r"bound to space 'vgg16'.*given space 'vgg_mini'"):
        bind("vgg_mini", FixtureEvaluator(get_space("vgg16")), None)
    with pytest.raises(TypeError, match="preset name or a SearchSpace"):
        bind(3, evaluator, None)
    with pytest.raises(TypeError, match="reward must be callable"):
        bind(space, evaluator, 1.0)


def test_bind_uses_the_evaluators_copy_of_a_preset():
    space = get_space("vgg_mini", input_shape=(16, 16, 1))
    assert bind("vgg_mini", FixtureEvaluator(space), None)[0] is space


def test_bind_accepts_every_preset_name():
    for name in list_spaces():
        assert isinstance(bind(name, FixtureEvaluator(get_space(name)), None)[0], SearchSpace)


def test_finish_evaluates_once_with_a_seed_from_rng():
    space = get_space("vgg_mini")
    evaluator = FixtureEvaluator(space, noise=0.05)
    episode = DesignEpisode(space)
    play(episode, [1, 2, 0, 3, 1, 2])
    reward, info = finish(episode, evaluator=evaluator, reward_fn=PaperReward(),
                          rng=np.random.default_rng(7))
    seed = int(np.random.default_rng(7).integers(SEED_BOUND))
    metrics = FixtureEvaluator(space, noise=0.05).evaluate(episode.design(), seed=seed)
    assert evaluator.calls == 1
    assert info["eval_seed"] == seed
    assert info["design"] == (1, 2, 0, 3, 1, 2)
    assert info["metrics"] == metrics.to_dict()
    assert reward == info["reward"] == PaperReward()(metrics)
    assert info["hyperparameters"] == space.hyperparameters(episode.design())


def test_finish_turns_a_raising_evaluator_into_the_penalty():
    space = get_space("vgg_mini")

    class Broken:
        def evaluate(self, design, *, seed):
            raise RuntimeError("out of memory")

    episode = DesignEpisode(space)
    play(episode, [0] * 6)
    reward, info = finish(episode, evaluator=Broken(), reward_fn=PaperReward(),
                          rng=np.random.default_rng(0))
    assert reward == -1.0
    assert info["metrics"]["terminated"] is True
    assert info["metrics"]["reason"] == "exception: RuntimeError: out of memory"


def test_finish_requires_a_complete_design():
    space = get_space("vgg_mini")
    episode = DesignEpisode(space)
    episode.step(0)
    with pytest.raises(ValueError, match="not complete"):
        finish(episode, evaluator=FixtureEvaluator(space), reward_fn=PaperReward(),
               rng=np.random.default_rng(0))


def test_abandon_gives_the_terminated_reward():
    episode = DesignEpisode(get_space("vgg_mini"))
    play(episode, [3, 4])
    reward, info = abandon(episode, "invalid action", reward_fn=PaperReward(penalty=-5.0))
    assert reward == info["reward"] == -5.0
    assert info["design"] == (3, 4) and info["hyperparameters"] is None
    assert info["eval_seed"] is None
    assert Metrics.from_dict(info["metrics"]) == Metrics.failed("invalid action")
