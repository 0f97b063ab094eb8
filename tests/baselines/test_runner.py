"""The runner: budgets, history, and failures that keep results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from fixtures import FixtureEvaluator

from baselines import make_searcher, run
from baselines.random_search import RandomSearch
from cnn_design_env.evaluators import Metrics
from cnn_design_env.reward import PaperReward
from cnn_design_env.space import Design, get_space

ROOT = Path(__file__).resolve().parents[2]


class _Breaks(RandomSearch):
    """Random search whose ``ask`` or ``tell`` raises at the given call."""

    name = "breaks"

    def __init__(self, space, *, seed, at=3, where="ask"):
        super().__init__(space, seed=seed)
        self.at, self.where, self.calls = at, where, 0

    def ask(self):
        if self.where == "ask":
            self.calls += 1
            if self.calls == self.at:
                raise RuntimeError("searcher blew up")
        if self.where == "outside" and len(self.told) == self.at - 1:
            return Design((99,) * self.space.num_agents)
        return super().ask()

    def tell(self, design, reward, metrics=None):
        self.told.append(design)
        if self.where == "tell" and len(self.told) == self.at:
            raise KeyError("tell failed")

    @property
    def told(self):
        return self.__dict__.setdefault("_told", [])


@pytest.fixture
def space():
    return get_space("vgg_mini")


def test_episode_budget_and_history(space):
    evaluator = FixtureEvaluator(space)
    history = run(RandomSearch(space, seed=0), evaluator, PaperReward(), budget_episodes=7,
                  seed=0)
    assert len(history) == 7 and history.stopped == "budget_episodes"
    assert evaluator.calls == 7 + 3 * 2          # and the final choice: top 3 on 2 more seeds
    assert history.recommendation is not None and len(history.recommendation.candidates) == 3
    costs = [e.metrics.cost_s for e in history]
    assert history.costs == pytest.approx(np.cumsum(costs))
    assert [e.index for e in history] == list(range(7))
    assert history.best_so_far.tolist() == np.maximum.accumulate(history.rewards).tolist()
    assert history.best.reward == history.rewards.max()
    walls = [e.wall_s for e in history]
    assert walls == sorted(walls) and history.wall_s >= walls[-1]
    for e in history:
        assert e.reward == PaperReward()(e.metrics)
    assert history.to_dict()["evaluations"][0]["design"] == list(history.evaluations[0].design)


def test_seconds_budget_counts_simulated_cost(space):
    history = run(RandomSearch(space, seed=0), FixtureEvaluator(space), PaperReward(),
                  budget_seconds=5.5, seed=0)
    assert history.stopped == "budget_seconds"
    assert history.costs[-2] < 5.5 <= history.costs[-1]  # the crossing evaluation is kept
    both = run(RandomSearch(space, seed=0), FixtureEvaluator(space), PaperReward(),
               budget_seconds=100.0, budget_episodes=3, seed=0)
    assert len(both) == 3 and both.stopped == "budget_episodes"


def test_same_seed_gives_the_same_evaluation_seeds(space):
    seeds = [[e.eval_seed for e in run(make_searcher(m, space, seed=2), FixtureEvaluator(space),
                                       PaperReward(), budget_episodes=5, seed=2)]
             for m in ("random", "evolution")]
    assert seeds[0] == seeds[1]


@pytest.mark.parametrize("budget", [0, -3, 2.5, True])
def test_bad_episode_budgets(space, budget):
    with pytest.raises(ValueError, match="budget_episodes must be a positive integer"):
        run(RandomSearch(space, seed=0), FixtureEvaluator(space), PaperReward(),
            budget_episodes=budget, seed=0)


def test_bad_or_missing_seconds_budget(space):
    with pytest.raises(ValueError, match="budget_seconds must be a positive number"):
        run(RandomSearch(space, seed=0), FixtureEvaluator(space), PaperReward(),
            budget_seconds=0.0, seed=0)
    with pytest.raises(ValueError, match="give a budget"):
        run(RandomSearch(space, seed=0), FixtureEvaluator(space), PaperReward(), seed=0)


def test_searcher_and_evaluator_must_share_the_space(space):
    with pytest.raises(ValueError, match="inception_mini"):
        run(RandomSearch(space, seed=0), FixtureEvaluator(get_space("inception_mini")),
            PaperReward(), budget_episodes=2, seed=0)


@pytest.mark.parametrize(("where", "kept", "phase", "kind"), [
    ("ask", 2, "ask", "RuntimeError: searcher blew up"),
    ("tell", 3, "tell", "KeyError: 'tell failed'"),
    ("outside", 2, "ask (design outside the space)", "ValueError: action 99"),
])
def test_a_failing_searcher_keeps_results_and_names_the_method(space, where, kept, phase, kind,
                                                                caplog):
    history = run(_Breaks(space, seed=0, where=where), FixtureEvaluator(space), PaperReward(),
                  budget_episodes=10, seed=0)
    assert history.stopped == "error" and len(history) == kept
    assert history.error.startswith(f"method 'breaks' failed in {phase}: {kind}")
    assert all(space.validate(e.design) == e.design for e in history)
    assert "breaks" in caplog.text


def test_a_failing_evaluation_is_a_penalty_not_an_error(space):
    class Raises:
        def __init__(self, space):
            self.space = space

        def evaluate(self, design, *, seed):
            raise MemoryError("out of memory")

    history = run(RandomSearch(space, seed=0), Raises(space), PaperReward(), budget_episodes=3,
                  seed=0)
    assert history.error is None and len(history) == 3
    assert history.rewards.tolist() == [-1.0] * 3
    assert history.evaluations[0].metrics.reason.startswith("exception: MemoryError")


def test_seconds_only_budget_with_a_free_evaluator_stops(space, monkeypatch):
    monkeypatch.setattr("cnn_design_env.run.loop.ZERO_COST_LIMIT", 5)

    class Free:
        def __init__(self, space):
            self.space = space

        def evaluate(self, design, *, seed):
            return Metrics(accuracy=0.5, epochs=1)

    history = run(RandomSearch(space, seed=0), Free(space), PaperReward(), budget_seconds=10,
                  seed=0)
    assert history.stopped == "no_cost" and len(history) == 5 and "cost" in history.error


def test_registry_is_lazy():
    code = ("import sys; from baselines import make_searcher; "
            "from cnn_design_env.space import get_space; "
            "make_searcher('random', get_space('vgg_mini'), seed=0); "
            "heavy = [m for m in ('optuna', 'agents', 'matplotlib', 'torch', 'jax') "
            "if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


class _NanEvaluator(FixtureEvaluator):
    """Every third design (by CRC) measures accuracy NaN, every fifth model size +inf."""

    def evaluate(self, design, *, seed):
        import dataclasses
        import zlib

        metrics = super().evaluate(design, seed=seed)
        crc = zlib.crc32(bytes(design.actions))
        if crc % 3 == 0:
            return dataclasses.replace(metrics, accuracy=float("nan"))
        if crc % 5 == 0:
            return dataclasses.replace(metrics, model_size_mb=float("inf"))
        return metrics


@pytest.mark.parametrize("method", ["random", "evolution", "tpe", "nsga2", "qlearning", "marl"])
def test_a_nan_evaluator_under_every_method_is_contained(method) -> None:
    if method in ("tpe", "nsga2"):
        pytest.importorskip("optuna")
    space = get_space("vgg_mini")
    options = {"marl": {"exploration_episodes": 6}}.get(method, {})
    history = run(make_searcher(method, space, seed=2, **options), _NanEvaluator(space),
                  PaperReward(), budget_episodes=30, seed=2)
    assert history.error is None and len(history) == 30  # no method stops on it
    bad = [e for e in history if e.metrics.reason.startswith("non-finite")]
    assert bad and all(e.metrics.terminated and e.reward == -1.0 for e in bad)
    assert np.isfinite(history.rewards).all()
    assert not history.best.metrics.reason.startswith("non-finite")  # never the best
