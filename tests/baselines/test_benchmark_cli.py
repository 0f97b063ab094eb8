"""``cnn-design benchmark`` end to end (with the test evaluator) and its argument errors."""

from __future__ import annotations

import csv

import pytest

from cnn_design_env import cli

PNG = b"\x89PNG\r\n\x1a\n"


def _args(tmp_path, **overrides):
    values = {"--space": "vgg_mini", "--evaluator": "fixtures:FixtureEvaluator",
              "--methods": "random,evolution,tpe", "--seeds": "2", "--budget": "8",
              "--out": str(tmp_path / "out")}
    values.update(overrides)
    return ["benchmark", *[x for pair in values.items() for x in pair]]


def test_benchmark_end_to_end(tmp_path, capsys):
    assert cli.main(_args(tmp_path)) == 0
    out = tmp_path / "out"
    for name in ("best_vs_episodes.png", "best_vs_cost.png", "pareto.png"):
        data = (out / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
    with (out / "summary.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["method"] for r in rows] == ["random", "evolution", "tpe"]
    assert all(float(r["evaluations"]) == 8 and r["errors"] == "0" for r in rows)
    markdown = (out / "summary.md").read_text()
    assert "cnn-design benchmark --space vgg_mini --evaluator fixtures:FixtureEvaluator" in markdown
    printed = capsys.readouterr().out
    assert "| tpe | 2 |" in printed and "summary.csv" in printed
    assert printed.count(" evaluations, ") == 6  # one progress line per run


def test_benchmark_in_simulated_seconds(tmp_path):
    assert cli.main(_args(tmp_path, **{"--budget": "4", "--budget-unit": "seconds",
                                       "--methods": "random", "--pareto": "off"})) == 0
    with (tmp_path / "out" / "histories.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    for seed in ("0", "1"):
        costs = [float(r["cost_s"]) for r in rows if r["seed"] == seed]
        assert costs[-2] < 4.0 <= costs[-1]
    assert not (tmp_path / "out" / "pareto.png").exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"--methods": "random,annealing"}, "unknown method 'annealing'; known methods: random, "
                                        "evolution, tpe, gp, nsga2, qlearning, marl"),
    ({"--budget": "0"}, "--budget must be > 0"),
    ({"--budget": "-5"}, "--budget must be > 0"),
    ({"--budget": "2.5"}, "must be an integer"),
    ({"--seeds": "0"}, "--seeds must be >= 1"),
    ({"--evaluator": "oracle"}, "unknown evaluator 'oracle'; expected one of ['train', "
                                "'tabular']"),
    ({"--space": "alexnet"}, "unknown space 'alexnet'"),
    ({"--fractions": "0.5,2"}, "--fractions must lie in (0, 1]"),
    ({"--evaluator": "fixtures:Nope"}, "'fixtures:Nope': module 'fixtures' has no callable "
                                       "'Nope'"),
])
def test_argument_errors(tmp_path, capsys, overrides, message):
    assert cli.main(_args(tmp_path, **overrides)) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_benchmark_on_the_tabular_evaluator(tmp_path):
    out = tmp_path / "bench"
    argv = ["benchmark", "--space", "table_chain", "--evaluator", "tabular",
            "--methods", "random,marl", "--seeds", "2", "--budget", "20", "--out", str(out)]
    assert cli.main(argv) == 0
    table = (out / "summary.md").read_text()
    assert "random" in table and "marl" in table
    assert all((out / f).stat().st_size > 0 for f in ("summary.csv", "histories.csv"))


def test_missing_required_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["benchmark", "--space", "vgg_mini"])
    assert exit_info.value.code == 2
    assert "--methods" in capsys.readouterr().err
