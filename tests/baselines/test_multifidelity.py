"""ASHA, Hyperband and BOHB-style search on a table's epoch curves: budgets and cost accounting."""

from __future__ import annotations

import csv
import json

import pytest
from fixtures import FixtureEvaluator

from baselines import registry
from baselines.multifidelity import METHODS, FidelityEvaluator, make_searcher
from baselines.runner import run
from cnn_design_env import cli
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.reward import PaperReward
from cnn_design_env.search.fidelity import PARTIAL, is_partial
from cnn_design_env.space import get_space


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", ["table_chain", "table_inception"])
def test_finishes_within_budget_and_charges_the_epochs_used(method, name):
    table = TabularEvaluator(name, seed=0)
    epochs = table.table.arrays["accuracy_curve"].shape[2]
    searcher = make_searcher(method, table.space, seed=1, max_epochs=epochs)
    evaluator = FidelityEvaluator(table, searcher)
    budget = 4.0 * float(table.table.arrays["cost_s"].mean()) * 20  # ~80 full trainings' worth
    history = run(searcher, evaluator, PaperReward(), budget_seconds=budget, seed=0, top_k=None)
    assert history.stopped == "budget_seconds"
    # the evaluation that crosses the budget is kept, so at most one evaluation above it
    assert history.cost_s - history.evaluations[-1].metrics.cost_s < budget
    # every trial's cost is the table's cost at the last epoch it reached, on one seed column
    trials: dict[int, tuple[int, int, int]] = {}
    for number, row, column, reached in evaluator.log:
        if number in trials:
            assert trials[number][:2] == (row, column) and trials[number][2] < reached
        trials[number] = (row, column, reached)
    assert len(evaluator.log) == len(history.evaluations)
    expected = sum(table.query(row, column, epochs=reached).cost_s
                   for row, column, reached in trials.values())
    assert history.cost_s == pytest.approx(expected, rel=1e-9)
    assert evaluator.clock_s == pytest.approx(history.cost_s)
    # low fidelities were used, and some trials were trained to the end
    used = [e.metrics.epochs for e in history.evaluations]
    assert min(used) == 1 and max(used) == epochs
    assert searcher.epochs_used() < len(trials) * epochs


def test_rungs_and_bad_arguments():
    table = TabularEvaluator("table_chain", seed=0)
    assert make_searcher("hyperband", table.space, seed=0, max_epochs=12).rungs == (1, 3, 9, 12)
    with pytest.raises(ValueError, match="unknown multi-fidelity method 'sha'"):
        make_searcher("sha", table.space, seed=0)
    with pytest.raises(ValueError, match="min_epochs <= max_epochs"):
        make_searcher("asha", table.space, seed=0, min_epochs=4, max_epochs=3)


# ------------------------------------------------------------- as registered methods
def _trials(history):
    """Per trial: (row, seed column, epochs of its last rung), from the answers' extras."""
    trials: dict[int, tuple[int, int, int]] = {}
    for e in history:
        extra = e.metrics.extra
        key = (int(extra["row"]), int(extra["seed_column"]))
        number = int(extra["trial"])
        if number in trials:  # later rungs continue the same recorded run, further
            assert trials[number][:2] == key and trials[number][2] < e.metrics.epochs
        trials[number] = (*key, e.metrics.epochs)
    return trials


@pytest.mark.parametrize("method", METHODS)
def test_registered_method_runs_on_a_table_and_pays_the_epochs_it_used(method):
    table = TabularEvaluator("table_chain", seed=0)
    searcher = registry.make_searcher(method, table.space, seed=2)
    budget = 40.0 * float(table.table.arrays["cost_s"].mean())  # ~40 full trainings' worth
    history = run(searcher, table, PaperReward(), budget_seconds=budget, seed=0)
    assert history.error is None and history.stopped == "budget_seconds"
    assert history.method == method and searcher.rungs == (1, 3, 6)  # the table's 6 epochs
    assert history.cost_s - history.evaluations[-1].metrics.cost_s < budget
    trials = _trials(history)
    assert len(trials) < len(history)  # some trials were promoted to a higher rung
    expected = sum(table.query(row, column, epochs=epochs).cost_s
                   for row, column, epochs in trials.values())
    assert history.cost_s == pytest.approx(expected, rel=1e-9)
    assert searcher.epochs_used() == sum(epochs for _, _, epochs in trials.values())
    assert searcher.epochs_used() < 6 * len(trials)  # most trials stopped at a low rung
    # the final choice ranks full-fidelity observations only
    full = {e.design.actions for e in history if not is_partial(e.metrics)}
    assert {c.design for c in history.recommendation.candidates} <= full


def test_a_non_tabular_evaluator_is_refused_naming_it():
    space = get_space("vgg_mini")
    searcher = registry.make_searcher("asha", space, seed=0)
    with pytest.raises(ValueError, match=r"needs a table.s per-epoch curves.*not FixtureEvaluator"):
        run(searcher, FixtureEvaluator(space), PaperReward(), budget_episodes=3, seed=0)
    table = TabularEvaluator("table_chain", seed=0)
    too_far = registry.make_searcher("hyperband", table.space, seed=0, max_epochs=9)
    with pytest.raises(ValueError, match="max_epochs=9 but table 'table_chain' records 6"):
        run(too_far, table, PaperReward(), budget_episodes=3, seed=0)


def test_search_cli_runs_asha_uncached_and_benchmark_runs_all_three(tmp_path, capsys):
    out = tmp_path / "asha"
    argv = ["search", "--space", "table_chain", "--evaluator", "tabular", "--method", "asha",
            "--episodes", "30", "--out", str(out), "--quiet"]
    assert cli.main(argv) == 0
    lines = [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()]
    assert len(lines) == 30 and not any(line["metrics"]["cached"] for line in lines)
    assert any(line["metrics"]["extra"][PARTIAL] for line in lines)
    assert len({tuple(line["design"]) for line in lines}) < 30  # promoted designs: next rungs
    assert cli.main([*argv[:-3], "--out", str(tmp_path / "two"), "--workers", "2"]) == 2
    assert "run it with --workers 1" in capsys.readouterr().err
    bench = tmp_path / "bench"
    assert cli.main(["benchmark", "--space", "table_chain", "--evaluator", "tabular",
                     "--methods", "asha,hyperband,bohb", "--seeds", "2", "--budget", "60",
                     "--budget-unit", "seconds", "--out", str(bench)]) == 0
    with (bench / "histories.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    for method in METHODS:
        for seed in ("0", "1"):
            costs = [float(r["cost_s"]) for r in rows if (r["method"], r["seed"]) == (method, seed)]
            assert costs[-2] < 60.0 <= costs[-1]
