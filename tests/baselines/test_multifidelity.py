"""ASHA, Hyperband and BOHB-style search on a table's epoch curves: budgets and cost accounting."""

from __future__ import annotations

import pytest

from baselines.multifidelity import METHODS, FidelityEvaluator, make_searcher
from baselines.runner import run
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.reward import PaperReward


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
