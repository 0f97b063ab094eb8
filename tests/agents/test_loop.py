"""The team through the AEC env: training loop, presets, coverage, checkpoints and resume."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from fixtures import FixtureEvaluator

import cnn_design_env
from agents import (
    Constant,
    ExponentialDecay,
    IndependentQAgents,
    SharedQAgents,
    load_checkpoint,
    progress,
    save_checkpoint,
    train,
)
from agents.loop import journal_path
from cnn_design_env.run import checkpoint
from cnn_design_env.run.journal import read_journal
from cnn_design_env.space import Design, get_space, list_spaces


def make_env(space, **kwargs):
    return cnn_design_env.env(space, evaluator=FixtureEvaluator(space, **kwargs))


@pytest.mark.parametrize("name", list_spaces())
def test_team_runs_on_every_preset(name):
    space = get_space(name)
    env = make_env(space)
    team = SharedQAgents(space, seed=0, exploration_episodes=8)
    result = train(env, team, episodes=16, seed=0)
    assert [r.phase for r in result.history] == ["exploration"] * 8 + ["exploitation"] * 8
    for record in result.history:
        space.validate(record.design)
        assert record.metrics["accuracy"] > 0
    assert result.best.reward == max(r.reward for r in result.history)
    assert team.tables.visits.sum() == len(team.tables.edges) * len(
        {r.design for r in result.history})


def test_history_fields_and_callbacks():
    space = get_space("vgg_mini")
    seen = []
    team = SharedQAgents(space, seed=0, exploration_episodes=5)
    result = train(make_env(space), team, episodes=9, seed=0, callbacks=[seen.append])
    assert seen == result.history
    first, last = result.history[0], result.history[-1]
    assert (first.episode, first.phase, first.epsilon, first.alpha) == (0, "exploration", 1.0,
                                                                         0.95)
    assert last.phase == "exploitation" and last.alpha == pytest.approx(0.95 * 0.999 ** 3)
    assert last.epsilon == pytest.approx(0.99 ** 3)
    assert all(r.explored for r in result.history[:5])
    assert isinstance(result.best_design, Design) and len(result.rewards) == 9


class OnlyActLearn:
    """A team seen through ``act`` and ``learn`` alone: what a third-party algorithm offers."""

    __slots__ = ("act", "learn")

    def __init__(self, team):
        self.act, self.learn = team.act, team.learn


def test_the_loop_needs_nothing_but_act_and_learn():
    """The textbook AEC loop: a team behind ``act``/``learn`` only plays the same designs."""
    space = get_space("inception_mini")
    kwargs = {"exploration_episodes": 40, "epsilon": ExponentialDecay(1.0, 0.95)}
    plain, full = SharedQAgents(space, seed=2, **kwargs), SharedQAgents(space, seed=2, **kwargs)
    seen = train(make_env(space), OnlyActLearn(plain), episodes=80, seed=0).history
    assert [r.design for r in seen] == [
        r.design for r in train(make_env(space), full, episodes=80, seed=0).history]
    assert {r.phase for r in seen} == {""}                  # no phases seen through the proxy


def test_progress_prints_every_n_episodes(capsys):
    space = get_space("vgg_mini")
    train(make_env(space), SharedQAgents(space, seed=0), episodes=6, callbacks=[progress(3)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["3", "6"]


def test_exploration_leaves_no_unvisited_cell_on_vgg_mini():
    space = get_space("vgg_mini")
    team = SharedQAgents(space, seed=0)
    bound = team.exploration_episodes
    env = make_env(space)
    taken = None
    for episode in range(3 * bound):
        train(env, team, episodes=1, seed=episode)
        if team.tables.unvisited == 0:
            taken = episode + 1
            break
    sizes = space.action_sizes
    print(f"\nvgg_mini exploration: every one of {team.tables.cells} cells visited after "
          f"{taken} episodes; bound max |A_i|*|A_i+1| = {bound} "
          f"({' '.join(f'{sizes[i]}x{sizes[i + 1]}' for i in range(len(sizes) - 1))})")
    assert taken is not None and taken <= bound


def test_seeded_runs_through_the_env_are_identical():
    space = get_space("unet_mini")

    def run(seed):
        team = SharedQAgents(space, seed=seed, exploration_episodes=20)
        result = train(make_env(space, noise=0.05), team, episodes=40, seed=seed)
        return [(r.design, r.reward) for r in result.history], team.tables.q.copy()

    (h1, q1), (h2, q2) = run(5), run(5)
    assert h1 == h2
    np.testing.assert_array_equal(q1, q2)
    assert run(6)[0] != h1


@pytest.mark.parametrize("team_class", [SharedQAgents, IndependentQAgents])
def test_resumed_run_continues_identically(tmp_path, team_class):
    space = get_space("inception_mini")
    kwargs = {"exploration_episodes": 15, "epsilon": ExponentialDecay(1.0, 0.9),
              "coin": "agent"}
    full = train(make_env(space, noise=0.05), team_class(space, seed=1, **kwargs),
                 episodes=40, seed=7)
    path = tmp_path / "run.npz"
    first = train(make_env(space, noise=0.05), team_class(space, seed=1, **kwargs),
                  episodes=23, seed=7, checkpoint=path, checkpoint_every=5)
    assert len(first.history) == 23
    # A new process: a team built with other settings and a fresh env; everything is restored.
    team = team_class(space, seed=99)
    resumed = train(make_env(space, noise=0.05), team, episodes=40, seed=7, checkpoint=path,
                    resume=True)
    assert resumed.history == full.history
    assert team.exploration_episodes == 15 and team.coin == "agent"
    # the runner's files: its checkpoint (JSON + npz, no pickle) and the journal of every episode
    arrays, meta = checkpoint.read(path)
    assert meta["told"] == 40 and all(a.dtype != object for a in arrays.values())
    journaled = read_journal(journal_path(path)).ordered()
    assert [(r.design.actions, r.reward) for r in journaled] == [
        (r.design, r.reward) for r in full.history]


def test_checkpoint_round_trip_mid_episode(tmp_path, observe):
    space = get_space("vgg_mini")
    team = SharedQAgents(space, seed=4, exploration_episodes=3, epsilon=Constant(0.5))
    train(make_env(space), team, episodes=10, seed=0)
    a = team.act("conv1", observe(space, {}, "conv1"))            # an episode in progress
    path = team.save(str(tmp_path / "team.npz"))
    other = SharedQAgents(space, seed=0)
    other.load(path)
    arrays, meta = team.state_dict()
    arrays2, meta2 = other.state_dict()
    assert json.dumps(meta, sort_keys=True) == json.dumps(meta2, sort_keys=True)
    for key in arrays:
        np.testing.assert_array_equal(arrays[key], arrays2[key])
    partial = {"conv1": a}
    for name in space.agents[1:]:
        action = team.act(name, observe(space, partial, name))
        assert other.act(name, observe(space, partial, name)) == action
        partial[name] = action


def test_checkpoint_refuses_another_space(tmp_path):
    team = SharedQAgents(get_space("vgg_mini"), seed=0)
    path = team.save(str(tmp_path / "team.npz"))
    with pytest.raises(ValueError, match="does not fit space 'unet_mini'"):
        SharedQAgents(get_space("unet_mini"), seed=0).load(path)
    with pytest.raises(ValueError, match="cannot be loaded into a IndependentQAgents"):
        IndependentQAgents(get_space("vgg_mini"), seed=0).load(path)


def test_stop_on_convergence_and_failed_evaluations():
    space = get_space("vgg_mini")
    env = make_env(space, terminate=lambda d: d.actions[2] == 1)
    team = SharedQAgents(space, seed=0, exploration_episodes=150, convergence_window=5)
    result = train(env, team, episodes=1000, seed=0, stop_on_convergence=True)
    assert result.converged_design is not None and len(result.history) < 1000
    assert result.history[-1].design == result.converged_design.actions
    assert any(r.reward == -1.0 for r in result.history)            # terminated episodes: penalty
    assert all(not math.isnan(r.reward) for r in result.history)


def test_a_team_checkpoint_that_is_not_one_is_refused_naming_the_file(tmp_path) -> None:
    import pickle

    space = get_space("vgg_mini")
    marker = tmp_path / "pwned"
    good = Path(save_checkpoint(tmp_path / "team.npz", SharedQAgents(space, seed=0)))
    for name, data in [("truncated.npz", good.read_bytes()[:-40]),
                       ("pickle.npz", pickle.dumps(_Payload(marker))),
                       ("text.npz", b"not a checkpoint")]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match=rf"{name}.*not a readable team checkpoint"):
            load_checkpoint(path, SharedQAgents(space, seed=0))
    assert not marker.exists()


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


class _NaNEvaluator:
    """Every third design scores NaN accuracy; the rest are the fixture's."""

    def __init__(self, space):
        self.inner = FixtureEvaluator(space)
        self.calls = 0

    def evaluate(self, design, *, seed):
        self.calls += 1
        metrics = self.inner.evaluate(design, seed=seed)
        return dataclasses.replace(metrics, accuracy=math.nan) if self.calls % 3 == 0 else metrics


def test_a_nan_evaluation_through_the_env_is_a_terminated_episode_not_a_crash():
    space = get_space("vgg_mini")
    env = cnn_design_env.env(space, evaluator=_NaNEvaluator(space))
    team = SharedQAgents(space, seed=0, exploration_episodes=6)
    result = train(env, team, episodes=12, seed=0)              # main stopped: "must be finite"
    assert len(result.history) == 12
    nan_records = result.history[2::3]
    assert all(r.reward == -1.0 and r.metrics["terminated"] for r in nan_records)
    assert all("accuracy" in r.metrics["reason"] for r in nan_records)
    assert result.best.reward > -1.0 and math.isfinite(result.best.reward)


TRAIN_SCRIPT = """
import sys, time
sys.path[:0] = [{tests!r}, {cli!r}]
import cnn_design_env
from agents import ExponentialDecay, SharedQAgents, train
from cli_plugins import slow_fixture
from cnn_design_env.space import get_space
space = get_space("inception_mini")
env = cnn_design_env.env(space, evaluator=slow_fixture(space, delay={delay}, noise=0.05))
team = SharedQAgents(space, seed=1, exploration_episodes=15, epsilon=ExponentialDecay(1.0, 0.9))
train(env, team, episodes=40, seed=7, checkpoint={path!r}, checkpoint_every={every},
      resume={resume})
"""


@pytest.mark.parametrize("every", [0, 1, 7])
def test_a_training_run_killed_with_sigkill_resumes_to_the_uninterrupted_run(tmp_path, every):
    """``kill -9`` in the middle of ``agents.train``: the runner's journal keeps every finished
    episode, the checkpoint the last saved state; a resume ends where an uninterrupted run does."""
    import signal
    import subprocess
    import sys
    import time

    tests = Path(__file__).resolve().parents[1]
    path = tmp_path / "train.npz"
    script = TRAIN_SCRIPT.format(tests=str(tests), cli=str(tests / "cli"), delay=0.02,
                                 path=str(path), every=every, resume=False)
    process = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
    journal = journal_path(path)
    deadline = time.monotonic() + 120
    while not (journal.exists() and journal.read_bytes().count(b"\n") >= 20):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the training run never reached 20 episodes"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert 20 <= len(read_journal(journal).records) < 40

    space = get_space("inception_mini")
    team = SharedQAgents(space, seed=99)                       # restored from the checkpoint
    seen = []
    resumed = train(make_env(space, noise=0.05), team, episodes=40, seed=7, checkpoint=path,
                    resume=True, callbacks=[seen.append])
    whole_team = SharedQAgents(space, seed=1, exploration_episodes=15,
                               epsilon=ExponentialDecay(1.0, 0.9))
    whole = train(make_env(space, noise=0.05), whole_team, episodes=40, seed=7,
                  checkpoint=tmp_path / "whole.npz")
    assert resumed.history == whole.history
    assert seen == resumed.history[len(resumed.history) - len(seen):] and seen
    np.testing.assert_array_equal(team.tables.q, whole_team.tables.q)

    def journaled(name):
        return [(r.index, r.design, r.eval_seed, r.reward)
                for r in read_journal(tmp_path / name).ordered()]

    assert journaled("train.jsonl") == journaled("whole.jsonl")    # evaluation seeds too
