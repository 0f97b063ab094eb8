"""``cnn-design resume`` after kill -9 and Ctrl-C, and the bad inputs of search and resume."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from clitools import command, journal, outcome, table_available

from cnn_design_env.run import checkpoint

if table_available():  # the tabular benchmark, slowed so the run can be killed mid-way
    SEARCH = ("--space", "table_chain", "--evaluator", "cli_plugins:slow_tabular")
else:
    SEARCH = ("--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture")
ARGS = (*SEARCH, "--evaluator-option", "delay=0.03", "--episodes", "50", "--exploration", "15",
        "--seed", "7", "--quiet")


def _start(cli_env, out: Path) -> subprocess.Popen:
    return subprocess.Popen(command("search", *ARGS, "--out", out), env=cli_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen,
                    timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {count} lines")


def _q_tables(run: Path) -> np.ndarray:
    arrays, _ = checkpoint.read(run / "checkpoint.npz")
    return arrays["searcher/q"].copy()


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, cli_env) -> Path:
    out = tmp_path_factory.mktemp("whole") / "run"
    done = subprocess.run(command("search", *ARGS, "--out", out), env=cli_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def test_resume_after_kill_9_ends_where_an_uninterrupted_run_does(cli, cli_env, tmp_path,
                                                                   uninterrupted) -> None:
    out = tmp_path / "run"
    process = _start(cli_env, out)
    _wait_for_lines(out / "evaluations.jsonl", 22, process)  # in the exploitation phase
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed_at = len(journal(out))
    assert 22 <= killed_at < 50
    shown = cli("show", out)
    assert shown.returncode == 0 and f"evaluations: {killed_at}/50" in shown.stdout
    resumed = cli("resume", out, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert outcome(out) == outcome(uninterrupted)  # same designs, seeds and rewards
    assert np.array_equal(_q_tables(out), _q_tables(uninterrupted))
    assert "finished" in resumed.stdout and str(out / "summary.json") in resumed.stdout


def test_ctrl_c_keeps_every_completed_evaluation_and_resume_finishes(cli, cli_env, tmp_path,
                                                                     uninterrupted) -> None:
    out = tmp_path / "run"
    process = _start(cli_env, out)
    _wait_for_lines(out / "evaluations.jsonl", 5, process)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert f"cnn-design resume {out}" in stderr
    assert (out / "summary.json").exists()  # the partial summary is written
    resumed = cli("resume", out, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert outcome(out) == outcome(uninterrupted)


def test_resume_can_extend_a_finished_run(cli, tmp_path, uninterrupted) -> None:
    out = tmp_path / "run"
    short = [a if a != "50" else "10" for a in ARGS]  # the same run, 10 episodes
    assert cli("search", *short, "--out", out).returncode == 0
    extended = cli("resume", out, "--episodes", "20", "--quiet")
    assert extended.returncode == 0, extended.stderr
    assert outcome(out) == outcome(uninterrupted)[:20]


@pytest.mark.parametrize("args, message", [
    (("--space", "no_such_space"), "unknown space 'no_such_space'"),
    (("--space", "vgg_mini", "--method", "no_such_method"), "unknown method 'no_such_method'"),
    (("--space", "vgg_mini", "--data", "no_such_data", "--evaluator", "train"),
     "unknown dataset 'no_such_data'"),
])
def test_search_rejects_unknown_names(cli, tmp_path, args, message) -> None:
    done = cli("search", *args, "--episodes", "2", "--out", tmp_path / "run")
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert not (tmp_path / "run").exists()  # nothing half-made is left behind


def test_search_rejects_an_unwritable_out(cli, tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = cli("search", *SEARCH, "--episodes", "2", "--out", blocker / "run")
    assert done.returncode == 2 and "cannot write the run directory" in done.stderr, done.stderr
    again = cli("search", *SEARCH, "--episodes", "2", "--out", "/proc/cnn-design-run")
    assert again.returncode == 2 and "/proc/cnn-design-run" in again.stderr, again.stderr


def test_search_refuses_an_existing_run(cli, uninterrupted) -> None:
    before = (uninterrupted / "evaluations.jsonl").read_bytes()
    again = cli("search", *SEARCH, "--episodes", "2", "--out", uninterrupted)
    assert again.returncode == 2 and "already holds a run" in again.stderr
    assert (uninterrupted / "evaluations.jsonl").read_bytes() == before


@pytest.fixture
def interrupted(cli_env, tmp_path) -> Path:
    out = tmp_path / "run"
    process = _start(cli_env, out)
    _wait_for_lines(out / "evaluations.jsonl", 6, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return out


def test_resume_rebuilds_from_the_journal_when_the_checkpoint_is_corrupted(
        cli, interrupted, uninterrupted) -> None:
    path = interrupted / "checkpoint.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    lines = (interrupted / "evaluations.jsonl").read_bytes()
    done = cli("resume", interrupted, "--quiet")
    assert done.returncode == 0, done.stderr
    assert str(path) in done.stderr and "replaying the" in done.stderr
    assert (interrupted / "evaluations.jsonl").read_bytes().startswith(lines)  # nothing lost
    assert outcome(interrupted) == outcome(uninterrupted)
    assert np.array_equal(_q_tables(interrupted), _q_tables(uninterrupted))


def test_resume_refuses_a_corrupted_journal_line(cli, interrupted) -> None:
    path = interrupted / "evaluations.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = '{"index": 2, "design": [1, 2\n'
    path.write_text("".join(lines))
    done = cli("resume", interrupted)
    assert done.returncode == 2, done.stderr
    assert f"{path}: line 3" in done.stderr


def test_resume_drops_a_half_written_last_line(cli, interrupted, uninterrupted) -> None:
    path = interrupted / "evaluations.jsonl"
    with path.open("a") as handle:
        handle.write('{"index": 999, "design": [0')  # a write cut short by the kill
    done = cli("resume", interrupted, "--quiet")
    assert done.returncode == 0, done.stderr
    assert outcome(interrupted) == outcome(uninterrupted)


def test_resume_of_a_missing_run_is_a_clear_error(cli, tmp_path) -> None:
    done = cli("resume", tmp_path / "nothing")
    assert done.returncode == 2 and "no run directory" in done.stderr


def test_unreachable_scheduler_fails_within_seconds(cli, tmp_path) -> None:
    start = time.monotonic()
    done = cli("search", *SEARCH, "--episodes", "2", "--scheduler", "tcp://127.0.0.1:9",
               "--scheduler-timeout", "2", "--out", tmp_path / "run")
    assert done.returncode == 2
    assert "cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in done.stderr
    assert time.monotonic() - start < 15
    assert not (tmp_path / "run").exists()
