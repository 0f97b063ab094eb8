"""Contract tests over every registered searcher, and each searcher's own rules."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys

import numpy as np
import pytest
from fixtures import FixtureEvaluator

from baselines import Searcher, list_methods, make_searcher, run
from baselines.evolution import RegularizedEvolution
from baselines.multifidelity import METHODS as MULTI_FIDELITY
from baselines.qlearning import EpsilonSchedule, QLearningSearcher
from baselines.registry import methods
from baselines.team import TeamSearcher
from cnn_design_env.evaluators import Metrics
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.reward import PaperReward
from cnn_design_env.space import Design, get_space

# Small settings so each method leaves its random start within a dozen evaluations.
OPTIONS = {
    "evolution": {"population_size": 4, "sample_size": 2},
    "tpe": {"n_startup_trials": 4},
    "gp": {"n_startup_trials": 3},
    "nsga2": {"population_size": 4},
    "qlearning": {"epsilon": EpsilonSchedule(((1.0, 3), (0.5, 3), (0.1, 1))), "replay_batch": 8},
}
BUDGET = {"gp": 4}  # each GP ask refits a Gaussian process


def _agents_missing() -> str | None:
    if importlib.util.find_spec("agents") is None:
        return "package agents is not importable"
    try:
        from agents import SharedQAgents  # noqa: F401
    except ImportError as error:
        return f"agents.SharedQAgents is not importable yet: {error}"
    return None


def _params():
    for name in list_methods():
        marks = []
        if name == "marl" and _agents_missing():
            marks.append(pytest.mark.skip(reason=_agents_missing()))
        yield pytest.param(name, marks=marks, id=name)


METHODS = list(_params())
CLASSES = [t for t in methods().values() if t.split(":")[1][0].isupper()]  # not factories


# Multi-fidelity methods need a table's epoch curves: they run on the table of the same shape.
TABLE_OF = {"vgg_mini": "table_chain", "inception_mini": "table_inception"}


def _run(name: str, space_name: str = "vgg_mini", seed: int = 0, budget: int | None = None):
    if name in MULTI_FIDELITY:
        evaluator = TabularEvaluator(TABLE_OF[space_name], seed=0)
        space = evaluator.space
    else:
        space = get_space(space_name)
        evaluator = FixtureEvaluator(space)
    searcher = make_searcher(name, space, seed=seed, **OPTIONS.get(name, {}))
    history = run(searcher, evaluator, PaperReward(),
                  budget_episodes=budget or BUDGET.get(name, 10), seed=seed)
    return space, searcher, history


@pytest.mark.parametrize("name", METHODS)
def test_contract_ask_tell_budget_and_space(name):
    space, searcher, history = _run(name, "inception_mini")
    assert history.error is None and history.stopped == "budget_episodes"
    assert len(history) == BUDGET.get(name, 10)
    assert history.method == name == searcher.name
    for evaluation in history:
        assert isinstance(evaluation.design, Design)
        assert space.validate(evaluation.design) == evaluation.design
    assert np.all(np.diff(history.costs) > 0)  # every evaluation is charged (a rung: its epochs)


@pytest.mark.parametrize("name", METHODS)
def test_contract_seeded_reproducibility(name):
    designs = [[e.design for e in _run(name, seed=seed)[2]] for seed in (3, 3, 4)]
    assert designs[0] == designs[1]
    assert designs[0] != designs[2]


@pytest.mark.parametrize("name", METHODS)
def test_contract_tell_accepts_a_design_it_did_not_ask(name):
    space = get_space("vgg_mini")
    searcher = make_searcher(name, space, seed=0, **OPTIONS.get(name, {}))
    design = Design((1,) * space.num_agents)
    searcher.tell(design, 5.0, FixtureEvaluator(space).evaluate(design, seed=0))
    assert space.validate(searcher.ask()) is not None


@pytest.mark.parametrize("target", CLASSES)
def test_subclasses_keep_the_base_signatures(target):
    module, name = target.split(":")
    cls = getattr(importlib.import_module(module), name)
    for method in ("ask", "tell"):
        assert inspect.signature(getattr(cls, method)) == inspect.signature(
            getattr(Searcher, method))
    params = list(inspect.signature(cls.__init__).parameters.values())[1:3]
    kinds = inspect.Parameter
    assert [(p.name, p.kind) for p in params] == [("space", kinds.POSITIONAL_OR_KEYWORD),
                                                  ("seed", kinds.KEYWORD_ONLY)]


def test_unknown_method_lists_known_ones():
    with pytest.raises(ValueError, match=r"unknown method 'sa'; known methods: random, evolution"):
        make_searcher("sa", get_space("vgg_mini"), seed=0)


# ------------------------------------------------------------------------------- evolution
def test_evolution_mutates_one_action_of_the_tournament_winner():
    space = get_space("vgg_mini")
    searcher = RegularizedEvolution(space, seed=1, population_size=3, sample_size=3)
    members = [Design((0, 0, 0, 0, 0, 0)), Design((5, 5, 1, 5, 1, 2)), Design((2, 2, 0, 2, 0, 1))]
    for design, reward in zip(members, (1.0, 9.0, 4.0), strict=True):
        searcher.ask()  # the random start
        searcher.tell(design, reward)
    assert searcher.tournament() == members[1]  # sample_size == population: the best wins
    for _ in range(20):
        child = searcher.mutate(members[1])
        assert sum(a != b for a, b in zip(child, members[1], strict=True)) == 1
        space.validate(child)
    child = searcher.ask()
    assert sum(a != b for a, b in zip(child, members[1], strict=True)) == 1


def test_evolution_ages_out_the_oldest_member():
    searcher = RegularizedEvolution(get_space("vgg_mini"), seed=0, population_size=2,
                                    sample_size=1)
    best = Design((3, 3, 1, 3, 1, 1))
    searcher.tell(best, 100.0)
    searcher.tell(Design((0,) * 6), 0.0)
    searcher.tell(Design((1,) * 6), 0.0)
    assert best not in [d for d, _ in searcher.population]  # however good, it died of age
    with pytest.raises(ValueError, match="sample_size must be in"):
        RegularizedEvolution(get_space("vgg_mini"), seed=0, population_size=2, sample_size=3)


# ------------------------------------------------------------------------------- Q-learning
def test_qlearning_backward_update_by_hand():
    space = get_space("vgg_mini")
    q = QLearningSearcher(space, seed=0, alpha=0.5, gamma=1.0, replay_batch=1)
    design = Design((2, 3, 1, 4, 0, 2))
    q.tell(design, 8.0)  # one memory: the replayed experience is this one
    # backwards: last cell 0.5 * 8 = 4, each earlier cell 0.5 * (max of the next row).
    expected = [4.0 * 0.5 ** (5 - i) for i in range(6)]
    states = (0, 2, 3, 1, 4, 0)
    got = [q.tables[i][states[i], design[i]] for i in range(6)]
    assert got == pytest.approx(expected)
    assert q.greedy() == design


def test_qlearning_epsilon_schedule_and_greedy_exploitation():
    assert EpsilonSchedule.metaqnn(270).steps[0] == (1.0, 150)
    schedule = EpsilonSchedule(((1.0, 2), (0.0, 1)))
    space = get_space("vgg_mini")
    q = QLearningSearcher(space, seed=0, epsilon=schedule, replay_batch=4)
    good = Design((1, 1, 1, 1, 1, 1))
    q.tell(good, 10.0)
    q.tell(Design((0,) * 6), -1.0)
    assert q.epsilon(q.episodes) == 0.0
    assert [q.ask() for _ in range(3)] == [good] * 3  # greedy now: the only rewarded path
    with pytest.raises(ValueError, match="alpha"):
        QLearningSearcher(space, seed=0, alpha=0.0)


def test_qlearning_finds_better_designs_than_its_random_start():
    space = get_space("vgg_mini")
    evaluator = FixtureEvaluator(space)
    schedule = EpsilonSchedule(((1.0, 30), (0.5, 30), (0.1, 1)))
    history = run(QLearningSearcher(space, seed=0, epsilon=schedule, alpha=0.3), evaluator,
                  PaperReward(), budget_episodes=150, seed=0)
    rewards = history.rewards
    assert rewards[-30:].mean() > rewards[:30].mean() + 3.0


# ---------------------------------------------------------------------------------- Optuna
def test_optuna_is_an_optional_dependency_with_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "optuna", None)
    # in a checkout, the hint is the checkout's command (the package is not on PyPI)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[optuna\]'"):
        make_searcher("tpe", get_space("vgg_mini"), seed=0)


def test_nsga2_tells_objectives_and_fails_terminated_designs():
    space = get_space("vgg_mini")
    searcher = make_searcher("nsga2", space, seed=0)
    design = searcher.ask()
    metrics = FixtureEvaluator(space).evaluate(design, seed=0)
    searcher.tell(design, 1.0, metrics)
    failed = searcher.ask()
    searcher.tell(failed, -1.0, Metrics.failed("loss"))
    first, second = searcher.study.trials
    assert first.values == [metrics.accuracy, metrics.model_size_mb, metrics.infer_ms_per_batch]
    assert second.state.name == "FAIL"
    with pytest.raises(ValueError, match="needs metrics"):
        searcher.tell(searcher.ask(), 1.0)


def test_tpe_beats_random_on_the_fixture():
    space = get_space("vgg_mini")
    evaluator = FixtureEvaluator(space)
    best = {}
    for name in ("random", "tpe"):
        best[name] = np.mean([run(make_searcher(name, space, seed=s), evaluator, PaperReward(),
                                  budget_episodes=60, seed=s).rewards[-20:].mean()
                              for s in range(2)])
    assert best["tpe"] > best["random"] + 2.0


# ------------------------------------------------------------------------------------ team
class _Greedy:
    """Picks the most rewarded action seen per agent (a tiny learning team)."""

    def __init__(self, space, *, seed):
        self.space = space
        self.rng = np.random.default_rng(seed)
        self.totals = [np.zeros(n) for n in space.action_sizes]
        self.observations = []
        self.learned = []

    def act(self, agent, observation):
        self.observations.append((agent, observation["observation"].copy(),
                                  observation["action_mask"].copy()))
        index = self.space.agent_index[agent]
        if self.rng.random() < 0.5:
            return int(self.rng.integers(self.space.action_sizes[index]))
        return int(np.argmax(self.totals[index]))

    def learn(self, design, reward, metrics=None):
        self.learned.append((design, reward, metrics))
        for i, action in enumerate(design):
            self.totals[i][action] += reward


def test_team_searcher_drives_any_team_with_env_observations():
    space = get_space("vgg_mini")
    searcher = TeamSearcher(space, seed=5, team=_Greedy, name="greedy")
    history = run(searcher, FixtureEvaluator(space), PaperReward(), budget_episodes=4, seed=0)
    team = searcher.team
    assert history.method == "greedy" and len(team.learned) == 4
    assert [d for d, _, _ in team.learned] == [e.design for e in history]
    assert [r for _, r, _ in team.learned] == list(history.rewards)
    agent, obs, mask = team.observations[2]  # third agent of the first episode
    first = history.evaluations[0].design
    assert agent == space.agents[2]
    assert obs.tolist() == [first[0] + 1, first[1] + 1, 0, 0, 0, 0, 2]
    assert mask.tolist() == [1] * space.action_sizes[2]


def test_team_searcher_rejects_an_object_that_is_not_a_team():
    with pytest.raises(TypeError, match="act"):
        TeamSearcher(get_space("vgg_mini"), seed=0, team=42)
