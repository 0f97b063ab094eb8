"""The comparison harness: summaries against hand-computed numbers, reports, failures."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from fixtures import FixtureEvaluator

from baselines import compare
from baselines.compare import (
    ReplayEvaluator,
    benchmark,
    mean_se,
    reward_objectives,
    summarize,
    write_report,
)
from baselines.random_search import RandomSearch
from cnn_design_env.evaluators import Metrics
from cnn_design_env.reward import PaperReward, WeightedReward
from cnn_design_env.search import plugins
from cnn_design_env.space import get_space

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def result():
    space = get_space("vgg_mini")
    return benchmark(["random", "evolution", "qlearning"], FixtureEvaluator(space), PaperReward(),
                     seeds=3, budget_episodes=12,
                     options={"evolution": {"population_size": 4, "sample_size": 2}})


def test_summary_matches_the_histories(result):
    rows = {row["method"]: row for row in summarize(result, fractions=(0.25, 1.0))}
    assert list(rows) == ["random", "evolution", "qlearning"]
    everything = np.concatenate([h.rewards for runs in result.histories.values() for h in runs])
    threshold = np.quantile(everything, 0.99, method="higher")
    assert result.top_threshold() == (threshold, "observed")
    for method, row in rows.items():
        runs = result.histories[method]
        assert row["runs"] == 3 and row["errors"] == 0 and row["evaluations"] == 12
        final = [h.rewards.max() for h in runs]
        quarter = [h.rewards[:3].max() for h in runs]
        assert row["best@1"] == pytest.approx(np.mean(final))
        assert row["best@1_se"] == pytest.approx(np.std(final, ddof=1) / math.sqrt(3))
        assert row["best@0.25"] == pytest.approx(np.mean(quarter))
        reached = [int(np.argmax(h.rewards >= threshold)) for h in runs
                   if (h.rewards >= threshold).any()]
        assert row["top_reached"] == len(reached)
        if reached:
            assert row["top_evals"] == pytest.approx(np.mean(reached) + 1)
        assert 0.0 <= row["hypervolume"] <= 1.0 and row["front_size"] >= 1
    assert sum(r["top_reached"] for r in rows.values()) >= 1  # the best reward is in the top 1 %


def test_same_seed_means_same_evaluation_seeds_across_methods(result):
    seeds = {m: [e.eval_seed for e in runs[0]] for m, runs in result.histories.items()}
    assert seeds["random"] == seeds["evolution"] == seeds["qlearning"]


def test_report_files(result, tmp_path):
    paths = write_report(result, tmp_path / "out", notes=["command: `made by a test`"])
    names = sorted(p.name for p in paths)
    assert names == ["best_vs_cost.png", "best_vs_episodes.png", "histories.csv", "pareto.csv",
                     "pareto.png", "summary.csv", "summary.md"]
    for path in paths:
        if path.suffix == ".png":
            data = path.read_bytes()
            assert data.startswith(PNG) and len(data) > 5000
    with (tmp_path / "out" / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["method"] for r in rows] == ["random", "evolution", "qlearning"]
    with (tmp_path / "out" / "histories.csv").open() as handle:
        assert sum(1 for _ in handle) == 1 + 3 * 3 * 12
    markdown = (tmp_path / "out" / "summary.md").read_text()
    assert "| method | runs | recommended @10% |" in markdown and "made by a test" in markdown
    assert "reference point (accuracy 0," in markdown
    assert markdown.count("\n| ") == 1 + 3  # header + one row per method


def test_a_failing_method_is_recorded_and_the_others_still_run(monkeypatch, tmp_path):
    class Breaks(RandomSearch):
        def ask(self):
            if self.rng.random() < 0.3:
                raise RuntimeError("boom")
            return super().ask()

    real = compare.make_searcher

    def make(name, space, *, seed, **kwargs):
        return Breaks(space, seed=seed) if name == "evolution" else real(name, space, seed=seed)

    monkeypatch.setattr(compare, "make_searcher", make)
    space = get_space("vgg_mini")
    result = benchmark(["random", "evolution"], FixtureEvaluator(space), PaperReward(),
                       seeds=[0, 1], budget_episodes=20)
    assert len(result.errors) == 2
    assert all(e.startswith("method 'evolution' failed in ask: RuntimeError: boom")
               for e in result.errors)
    rows = {r["method"]: r for r in summarize(result)}
    assert rows["random"]["errors"] == 0 and rows["random"]["evaluations"] == 20
    assert rows["evolution"]["errors"] == 2 and math.isnan(rows["evolution"]["best@1"])
    write_report(result, tmp_path, plots=False)
    assert "## Errors" in (tmp_path / "summary.md").read_text()


def test_a_method_that_cannot_be_built_is_recorded(monkeypatch):
    points = plugins.entry_points

    def with_broken(group):
        found = points(group)
        if group == plugins.METHODS_GROUP:
            found["broken"] = "baselines.random_search:DoesNotExist"
        return found

    monkeypatch.setattr(plugins, "entry_points", with_broken)
    space = get_space("vgg_mini")
    result = benchmark(["broken", "random"], FixtureEvaluator(space), PaperReward(), seeds=1,
                       budget_episodes=2)
    assert result.histories["broken"][0].error.startswith("method 'broken' could not be built")
    assert len(result.histories["random"][0]) == 2


def test_bad_benchmark_arguments():
    evaluator = FixtureEvaluator(get_space("vgg_mini"))
    with pytest.raises(ValueError, match="unknown method 'bogus'; known methods: random"):
        benchmark(["random", "bogus"], evaluator, PaperReward(), seeds=1, budget_episodes=2)
    with pytest.raises(ValueError, match="budget_episodes must be a positive integer"):
        benchmark(["random"], evaluator, PaperReward(), seeds=1, budget_episodes=0)
    with pytest.raises(ValueError, match="at least one seed"):
        benchmark(["random"], evaluator, PaperReward(), seeds=0, budget_episodes=2)
    with pytest.raises(ValueError, match="more than once"):
        benchmark(["random", "random"], evaluator, PaperReward(), seeds=1, budget_episodes=2)


def test_top_threshold_from_the_evaluators_table():
    class Tabular(FixtureEvaluator):
        def all_metrics(self):
            return [Metrics(accuracy=a, epochs=1) for a in np.linspace(0.0, 0.99, 100)]

    result = benchmark(["random"], Tabular(get_space("vgg_mini")),
                       WeightedReward({"accuracy": 1.0}), seeds=1, budget_episodes=3)
    assert result.top_threshold() == (pytest.approx(0.99), "table")
    assert not result.pareto  # one objective: no Pareto section


def test_seconds_budget_fractions():
    space = get_space("vgg_mini")
    result = benchmark(["random"], FixtureEvaluator(space), PaperReward(), seeds=2,
                       budget_seconds=6.0)
    history = result.histories["random"][0]
    started_before_half = history.costs - [e.metrics.cost_s for e in history] < 3.0
    assert compare.best_at(history, 0.5) == history.rewards[started_before_half].max()
    assert compare.best_at(history, 1.0) == history.rewards.max()


def test_replay_evaluator_keeps_the_recorded_cost():
    space = get_space("vgg_mini")
    inner = FixtureEvaluator(space)
    replay = ReplayEvaluator(inner)
    design = space.sample(np.random.default_rng(0))
    first = replay.evaluate(design, seed=0)
    again = replay.evaluate(design, seed=1)
    assert inner.calls == 1 and again.cached and again.cost_s == first.cost_s > 0


def test_reward_objectives_and_mean_se():
    assert reward_objectives(PaperReward()) == ("accuracy", "model_size_mb")
    assert reward_objectives(PaperReward(c_accuracy=1.0, c_size=0.0)) == ("accuracy",)
    assert reward_objectives(WeightedReward({"accuracy": 1, "flops": -1e-9})) == ("accuracy",
                                                                                   "flops")
    mean, se, n = mean_se([2.0, 4.0, 9.0])
    assert (mean, n) == (5.0, 3) and se == pytest.approx(np.std([2, 4, 9], ddof=1) / math.sqrt(3))
    assert math.isnan(mean_se([1.0])[1]) and mean_se([])[2] == 0
