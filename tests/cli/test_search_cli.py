"""``cnn-design search``, ``show``, ``spaces`` end to end (subprocesses, tiny budgets)."""

from __future__ import annotations

import json

from clitools import journal, outcome, table_available

PNG = b"\x89PNG\r\n\x1a\n"
FIXTURE = ("--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture")


def test_search_marl_writes_journal_summary_best_design_and_plots(cli, tmp_path) -> None:
    out = tmp_path / "run"
    done = cli("search", *FIXTURE, "--episodes", "30", "--exploration", "10", "--out", out)
    assert done.returncode == 0, done.stderr
    records = journal(out)
    assert [r["index"] for r in records] == list(range(30))
    assert {r["phase"] for r in records[:10]} == {"exploration"}
    assert {r["phase"] for r in records[10:]} == {"exploitation"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["evaluations"] == 30
    best = max(records, key=lambda r: r["reward"])
    assert summary["best"]["reward"] == best["reward"]
    assert summary["best"]["design"] == best["design"]
    assert summary["cache_hits"] == sum(r["metrics"]["cached"] for r in records)
    assert summary["team"]["exploration_episodes"] == 10
    assert summary["pareto_front"], "a front of at least one design"
    for name in ("reward_per_episode.png", "pareto.png", "best_vs_cost.png"):
        data = (out / "plots" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000, name
        assert str(out / "plots" / name) in done.stdout  # printed where the plots are
    assert "conv1" in (out / "best_design.txt").read_text()
    assert str(out / "summary.json") in done.stdout
    assert "marl vgg_mini" in done.stderr  # the progress bar
    assert "best R=" in done.stderr and "eps=" in done.stderr and "MB" in done.stderr


def test_show_prints_the_summary_and_json(cli, tmp_path) -> None:
    out = tmp_path / "run"
    # the shipped tabular benchmark when there is one, else the test evaluator
    space = ("--space", "table_chain", "--evaluator", "tabular") if table_available() else FIXTURE
    done = cli("search", *space, "--method", "random", "--episodes", "8", "--quiet", "--out", out)
    assert done.returncode == 0, done.stderr
    shown = cli("show", out)
    assert shown.returncode == 0, shown.stderr
    assert f"random on {space[1]}" in shown.stdout and "evaluations: 8/8" in shown.stdout
    assert "recommended design" in shown.stdout and "Pareto front" in shown.stdout
    assert "±" in shown.stdout and "best single evaluation" in shown.stdout
    as_json = json.loads(cli("show", out, "--json").stdout)
    assert as_json["evaluations"] == 8 and as_json["method"] == "random"
    rec = as_json["recommendation"]
    assert rec["k"] == 3 and len(rec["candidates"]) == 3 and rec["n"] >= 2
    replaced = cli("search", *space, "--method", "random", "--episodes", "3", "--quiet",
                   "--overwrite", "--out", out)
    assert replaced.returncode == 0, replaced.stderr
    assert len(journal(out)) == 3  # the old run's journal is gone


def test_spaces_lists_presets_with_agents(cli) -> None:
    listed = cli("spaces", "--agents")
    assert listed.returncode == 0, listed.stderr
    assert "vgg_mini" in listed.stdout and "conv1" in listed.stdout and "|A|=" in listed.stdout


def test_two_local_workers_give_the_same_run_as_one(cli, tmp_path) -> None:
    # Evolution asks ahead (K = 2 in flight, two processes) with jittered evaluation times:
    # results complete out of order but are told in ask order. Its random first generation is
    # the sequential run's; later tournaments see one result fewer (an equally valid run; that
    # K-in-flight runs do not depend on timing is tested in test_loop.py).
    args = (*FIXTURE, "--evaluator-option", "delay=0.05", "--evaluator-option", "jitter=true",
            "--method", "evolution", "--option", "population_size=4", "--option",
            "sample_size=2", "--episodes", "10", "--quiet")
    one = cli("search", *args, "--out", tmp_path / "one")
    two = cli("search", *args, "--workers", "2", "--out", tmp_path / "two")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    sequential, parallel = outcome(tmp_path / "one"), outcome(tmp_path / "two")
    assert parallel[:4] == sequential[:4]  # the random first generation
    workers = {r["worker"] for r in journal(tmp_path / "two")}
    assert len(parallel) == 10 and "process" in workers and workers <= {"process", "cache"}


def test_real_trainer_search_end_to_end(cli, tmp_path) -> None:
    out = tmp_path / "run"
    done = cli("search", "--space", "vgg_mini", "--data", "digits", "--method", "random",
               "--episodes", "2", "--epochs", "1", "--subsample", "10", "--quiet", "--out", out,
               timeout=300)
    assert done.returncode == 0, done.stderr
    records = journal(out)
    assert len(records) == 2
    for record in records:
        metrics = record["metrics"]
        assert metrics["epochs"] == 1 and 0.0 <= metrics["accuracy"] <= 1.0
        assert metrics["cost_s"] > 0 and metrics["params"] > 0
