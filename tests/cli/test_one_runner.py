"""One runner: the same seed gives the same history from ``cnn-design search``, ``cnn-design
benchmark``, the Python API (``baselines.run``) and, for the paper's team, ``agents.train``
playing the AEC env (an adapter of the same runner); a method and a space from a module outside
the package run through ``search``, ``resume``, ``show`` and ``benchmark`` by ``module:factory``."""

from __future__ import annotations

import json

import pytest
from clitools import journal, outcome
from fixtures import FixtureEvaluator

import cnn_design_env
from agents import SharedQAgents, train
from baselines import make_searcher, run
from cnn_design_env.reward import PaperReward
from cnn_design_env.run.journal import read_journal
from cnn_design_env.space import get_space

EVALUATOR = ("--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture")
EPISODES, SEED = 12, 3


def _api(method: str, in_flight: int = 1) -> list[tuple]:
    space = get_space("vgg_mini")
    options = {"budget": EPISODES} if method == "qlearning" else {}
    history = run(make_searcher(method, space, seed=SEED, **options),
                  FixtureEvaluator(space, noise=0.01), PaperReward(), budget_episodes=EPISODES,
                  seed=SEED, in_flight=in_flight)  # K in flight, told in ask order
    return [(e.index, e.design.actions, e.eval_seed, e.reward) for e in history]


def _train(out) -> list[tuple]:
    """The paper's team through the AEC env (``agents.train``), its journal beside the
    checkpoint."""
    space = get_space("vgg_mini")
    env = cnn_design_env.env(space, evaluator=FixtureEvaluator(space, noise=0.01))
    result = train(env, SharedQAgents(space, seed=SEED), episodes=EPISODES, seed=SEED,
                   checkpoint=out / "train.npz")
    records = read_journal(out / "train.jsonl").ordered()
    assert [r.design.actions for r in records] == [h.design for h in result.history]
    return [(r.index, r.design.actions, r.eval_seed, r.reward) for r in records]


def _benchmark(out) -> dict[str, list[tuple]]:
    found = {}
    for path in (out / "runs").glob("*.json"):
        data = json.loads(path.read_text())
        if data["seed"] == SEED:
            found[data["method"]] = [(e["index"], tuple(e["design"]), e["eval_seed"],
                                      e["reward"]) for e in data["evaluations"]]
    return found


@pytest.mark.parametrize("workers", ["1", "2"])  # K = 2: another (equally valid) sequence
def test_one_seed_one_history_from_cli_benchmark_and_api(cli, tmp_path, workers) -> None:
    methods = ["random", "qlearning", "marl"]
    bench = tmp_path / "bench"
    done = cli("benchmark", *EVALUATOR, "--methods", ",".join(methods), "--seeds", str(SEED + 1),
               "--budget", str(EPISODES), "--workers", workers, "--out", bench, timeout=300)
    assert done.returncode == 0, done.stderr
    histories = _benchmark(bench)
    for method in methods:
        run_dir = tmp_path / method
        searched = cli("search", *EVALUATOR, "--method", method, "--episodes", str(EPISODES),
                       "--seed", str(SEED), "--no-cache", "--quiet", "--workers", workers,
                       "--out", run_dir)
        assert searched.returncode == 0, searched.stderr
        expected = _api(method, int(workers))
        assert len(expected) == EPISODES
        assert outcome(run_dir) == expected, method
        assert histories[method] == expected, method
    if workers == "1":  # K = 1: the team asks one design at a time, as the env plays them
        assert _train(tmp_path) == _api("marl")


def test_a_plugin_method_and_space_through_every_command(cli, tmp_path) -> None:
    plugin = ("--space", "cli_plugins:tiny_space", "--evaluator", "cli_plugins:slow_fixture",
              "--method", "cli_plugins:cyclic", "--option", "stride=3")
    out = tmp_path / "run"
    first = cli("search", *plugin, "--episodes", "5", "--quiet", "--out", out)
    assert first.returncode == 0, first.stderr
    assert [tuple(r["design"]) for r in journal(out)][:2] == [(0, 0, 0), (0, 1, 1)]
    more = cli("resume", out, "--episodes", "8", "--quiet")
    assert more.returncode == 0, more.stderr
    assert len(journal(out)) == 8 and len({tuple(r["design"]) for r in journal(out)}) == 8
    shown = cli("show", out)
    assert shown.returncode == 0 and "cli_plugins:cyclic on cli_plugins:tiny_space" in shown.stdout
    bench = tmp_path / "bench"
    done = cli("benchmark", "--space", "cli_plugins:tiny_space", "--evaluator",
               "cli_plugins:slow_fixture", "--methods", "random,cli_plugins:cyclic", "--seeds",
               "2", "--budget", "6", "--out", bench)
    assert done.returncode == 0, done.stderr
    assert "| cli_plugins:cyclic | 2 |" in done.stdout


def test_train_takes_a_plugin_space(cli, tmp_path) -> None:
    done = cli("train", "--space", "cli_plugins:tiny_space", "--data", "digits", "--design",
               "1,0,1", "--max-epochs", "1", "--patience", "1", "--no-compare", "--out",
               tmp_path / "final.json", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "training tiny design (1, 0, 1) on digits" in done.stdout
    assert json.loads((tmp_path / "final.json").read_text())["space"] == "tiny"
