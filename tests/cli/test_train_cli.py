"""``cnn-design train``: one design to convergence beside the original network (real training)."""

from __future__ import annotations

import json


def test_train_the_best_design_of_a_run_and_compare_with_the_original(cli, tmp_path) -> None:
    run = tmp_path / "run"
    assert cli("search", "--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture",
               "--method", "random", "--episodes", "3", "--quiet", "--out", run).returncode == 0
    best = max((json.loads(line) for line in (run / "evaluations.jsonl").read_text()
                .splitlines()), key=lambda r: r["reward"])
    done = cli("train", "--design", run, "--data", "digits", "--max-epochs", "2",
               "--patience", "1", timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"design {tuple(best['design'])}" in done.stdout
    assert "original" in done.stdout and "design vs original" in done.stdout
    document = json.loads((run / "final_training.json").read_text())
    mine, original = document["results"]
    assert mine["design"] == best["design"] and original["label"] == "original"
    for result in (mine, original):
        assert 1 <= result["epochs"] <= 2 and len(result["accuracy_curve"]) == result["epochs"]
        assert 0.0 < result["accuracy"] <= 1.0
        assert result["accuracy"] == max(result["accuracy_curve"])


def test_train_rejects_a_design_of_the_wrong_length(cli) -> None:
    done = cli("train", "--space", "vgg_mini", "--data", "digits", "--design", "1,2")
    assert done.returncode == 2 and "design has 2 actions" in done.stderr, done.stderr
