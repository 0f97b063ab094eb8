"""A search on a Dask ``LocalCluster`` (``cnn-design search --scheduler ADDRESS``)."""

from __future__ import annotations

import pytest
from clitools import journal, outcome

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    # Workers are threads of this test process (which imports the test plugins); the scheduler
    # listens on TCP so that the CLI subprocess can reach it.
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  protocol="tcp", dashboard_address=None) as local:
        yield local


def test_search_runs_on_a_dask_local_cluster(cli, tmp_path, cluster) -> None:
    import numpy as np

    from baselines import make_searcher
    from cnn_design_env.evaluators.executors import EvaluatorSpec, InlineExecutor
    from cnn_design_env.reward import PaperReward
    from cnn_design_env.run import Journal, LoopState, SearchLoop, read_journal
    from cnn_design_env.space import get_space

    out = tmp_path / "dask"
    done = cli("search", "--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture",
               "--evaluator-option", "delay=0.02", "--evaluator-option", "jitter=true",
               "--method", "evolution", "--option", "population_size=4", "--option",
               "sample_size=2", "--episodes", "14",
               "--seed", "2", "--quiet", "--scheduler", cluster.scheduler_address, "--out", out)
    assert done.returncode == 0, done.stderr
    assert f"dask {cluster.scheduler_address}" in done.stdout
    records = journal(out)
    assert len(records) == 14
    assert {r["worker"] for r in records} <= {"dask", "cache"} and records[0]["worker"] == "dask"
    # Two in flight (the cluster's two threads), told in ask order: the same run as two in
    # flight in-process.
    state = LoopState(searcher=make_searcher("evolution", get_space("vgg_mini"), seed=2,
                                             population_size=4, sample_size=2),
                      seeds=np.random.default_rng(2))
    local = tmp_path / "local"
    local.mkdir()
    spec = EvaluatorSpec("cli_plugins:slow_fixture", "vgg_mini", None, {})
    with Journal(local / "evaluations.jsonl") as log:
        SearchLoop(state, spec=spec, executor=InlineExecutor(), reward=PaperReward(),
                   episodes=14, in_flight=2, journal=log,
                   checkpoint_path=local / "checkpoint.npz").run()
    expected = [(r.index, r.design.actions, r.eval_seed, r.reward)
                for r in read_journal(local / "evaluations.jsonl").ordered()]
    assert outcome(out) == expected


def test_the_time_limit_holds_on_dask(tmp_path, cluster) -> None:
    import time

    from cnn_design_env.evaluators.executors import EvaluatorSpec
    from cnn_design_env.run import RunConfig, session

    spec = EvaluatorSpec("cli_plugins:faulty", "vgg_mini", None,
                         {"fault": "sleep", "sleep": 8.0, "every": 2})
    config = RunConfig(space="vgg_mini", method="random", episodes=6, evaluator=spec, seed=1,
                       scheduler=cluster.scheduler_address, workers=2, eval_timeout_s=0.5)
    began = time.monotonic()
    result = session.start(config, tmp_path / "run", progress=False)
    assert time.monotonic() - began < 8  # never waited for a sleeping evaluation
    reasons = [r["metrics"]["reason"] for r in journal(tmp_path / "run")]
    assert result.status == "finished" and len(reasons) == 6
    assert any(r.startswith("time limit") for r in reasons), reasons
