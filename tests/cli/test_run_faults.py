"""Faults inside an evaluation stay there (issue 17 and issue 14): NaN and infinite results,
exceptions and ``SystemExit``, hanging evaluators, Ctrl-C, a killed driver's workers."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from clitools import command, journal, outcome
from test_resume_cli import _wait_for_lines
from test_run_integrity import METHODS, _optuna, config, resume, start

from cnn_design_env.evaluators.executors import EvaluatorSpec


@pytest.mark.parametrize("method", list(METHODS))
def test_a_nan_evaluator_under_every_method(tmp_path, method) -> None:
    _optuna(method)
    whole = start(config(method, 16, evaluator="faulty"), tmp_path / "whole")
    records = journal(tmp_path / "whole")
    bad = [r for r in records if r["metrics"]["reason"].startswith("non-finite")]
    assert bad and all(r["reward"] == -1.0 and r["metrics"]["terminated"] for r in bad)
    assert all(np.isfinite(r["reward"]) for r in records)
    assert whole.summary["best"]["index"] not in {r["index"] for r in bad}
    out = tmp_path / "run"
    start(config(method, 8, evaluator="faulty"), out)
    resume(out, episodes=16)
    assert outcome(out) == outcome(tmp_path / "whole")


@pytest.mark.parametrize("fault, reason", [("inf", "non-finite result: accuracy=inf"),
                                           ("exit", "exception: SystemExit: 3"),
                                           ("raise", "RuntimeError: the evaluator broke")])
def test_faults_in_an_evaluation_become_terminated_evaluations(tmp_path, fault, reason) -> None:
    result = start(config("marl", 12, evaluator="faulty", fault=fault, every=2), tmp_path / "run")
    assert result.status == "finished"
    reasons = [r["metrics"]["reason"] for r in journal(tmp_path / "run")]
    assert any(reason in r for r in reasons), reasons


@pytest.mark.parametrize("workers", [1, 2])
def test_a_hanging_evaluator_is_stopped_by_the_time_limit(tmp_path, workers) -> None:
    import time

    cfg = config("random", 6, evaluator="faulty", fault="sleep", sleep=60.0, every=2)
    cfg = cfg.with_changes(eval_timeout_s=1.0, workers=workers)
    began = time.monotonic()
    result = start(cfg, tmp_path / "run")
    assert time.monotonic() - began < 45
    reasons = [r["metrics"]["reason"] for r in journal(tmp_path / "run")]
    assert result.status == "finished" and len(reasons) == 6
    assert any(r.startswith("time limit") for r in reasons), reasons


def test_workers_end_with_a_killed_parent(cli_env, tmp_path) -> None:
    import time

    out = tmp_path / "run"
    process = subprocess.Popen(
        command("search", "--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture",
                "--evaluator-option", "delay=0.2", "--method", "random", "--episodes", "200",
                "--workers", "2", "--quiet", "--out", out),
        env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_lines(out / "evaluations.jsonl", 4, process, timeout=120)
    children = _children(process.pid)
    assert len(children) >= 2
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.1)
    assert not [pid for pid in children if _alive(pid)]


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    if state == "Z":  # a zombie has ended; only its parent's wait is missing
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_keyboard_interrupt_stops_cleanly_with_the_checkpoint_written(tmp_path) -> None:
    from cnn_design_env.run.checkpoint import read

    flag = str(tmp_path / "interrupted-once")
    start(config("marl", 14, evaluator="faulty", fault="none"), tmp_path / "whole")
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        start(config("marl", 14, evaluator="faulty", fault="interrupt", flag=flag), out)
    _, meta = read(out / "checkpoint.npz")
    assert 0 < meta["told"] == len(journal(out)) < 14  # every told evaluation is saved
    assert (out / "summary.json").exists()
    resume(out)
    assert outcome(out) == outcome(tmp_path / "whole")


def test_the_time_limit_outside_the_main_thread(tmp_path) -> None:
    """As in a Dask worker's thread: the evaluation is waited for and given up at the limit."""
    import threading
    import time

    from cnn_design_env.evaluators.executors import evaluate_task

    spec = EvaluatorSpec("cli_plugins:faulty", "vgg_mini", None,
                         {"fault": "sleep", "sleep": 30.0, "every": 1})
    answers = []
    thread = threading.Thread(target=lambda: answers.append(
        evaluate_task(spec, (0, 0, 0, 0, 0, 0), 1, 0.5)))
    began = time.monotonic()
    thread.start()
    thread.join(20)
    assert time.monotonic() - began < 10
    assert answers[0].terminated and answers[0].reason.startswith("time limit")


@pytest.mark.parametrize("method", ["nsga2", "evolution"])
def test_resume_with_designs_in_flight_equals_an_uninterrupted_run(tmp_path, method) -> None:
    """Two in flight on local processes; Ctrl-C (raised in a worker) leaves a checkpoint whose
    designs in flight (Optuna trials still running) are evaluated again on resume."""
    _optuna(method)
    from cnn_design_env.run.checkpoint import read

    flag = str(tmp_path / "interrupted-once")
    whole = config(method, 16, evaluator="faulty", fault="none").with_changes(workers=2)
    start(whole, tmp_path / "whole")
    out = tmp_path / "run"
    interrupted = config(method, 16, evaluator="faulty", fault="interrupt", flag=flag,
                         after=7)
    with pytest.raises(KeyboardInterrupt):
        start(interrupted.with_changes(workers=2), out)
    _, meta = read(out / "checkpoint.npz")
    assert meta["pending"] and meta["told"] < 16  # designs were in flight
    resume(out)
    assert outcome(out) == outcome(tmp_path / "whole")
