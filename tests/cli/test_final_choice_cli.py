"""A short real-training search: its recommended design lies on the Pareto front of what it
evaluated (each design at its mean accuracy over all its evaluations), with mean ± s.d."""

from __future__ import annotations

import json

from cnn_design_env.run import RunDir, read_journal
from cnn_design_env.run.summary import design_means


def test_short_real_training_run_recommends_a_design_on_the_front(cli, tmp_path) -> None:
    out = tmp_path / "run"
    done = cli("search", "--space", "vgg_mini", "--data", "digits", "--episodes", "10",
               "--exploration", "6", "--quiet", "--out", out, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "recommended design" in done.stdout and "±" in done.stdout
    summary = json.loads((out / "summary.json").read_text())
    rec = summary["recommendation"]
    assert rec["k"] == 3 and rec["extra_seeds"] == 2 and rec["n"] >= 3
    assert 0.0 < rec["test_accuracy"] <= 1.0
    assert summary["evaluator"]["options"]["epochs"] >= 3       # the default trains 3 epochs
    records = read_journal(RunDir(out).journal_path).ordered()
    means = design_means(records, rec)
    accuracy, size = means[tuple(rec["design"])]
    assert accuracy == rec["mean_accuracy"]
    dominated = [d for d, (a, s) in means.items()
                 if a >= accuracy and s <= size and (a > accuracy or s < size)]
    assert not dominated and rec["on_pareto_front"]
    # the reward follows accuracy: N_epoch is 3 for every finished design of this run
    for r in records:
        if not r.metrics.terminated:
            assert abs(r.reward - (30 * r.metrics.accuracy - 0.1 * r.metrics.model_size_mb)) < 1e-9
