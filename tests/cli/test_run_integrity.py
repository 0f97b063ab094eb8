"""A run is safe under hostile files and careless input (issue 17, run side): no code from
files, a run bound to itself, nothing completed lost."""

from __future__ import annotations

import json
import pickle
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from clitools import command, journal, outcome
from test_resume_cli import _wait_for_lines

from cnn_design_env.evaluators.executors import EvaluatorSpec
from cnn_design_env.run import RunConfig, RunDir, session
from cnn_design_env.run.checkpoint import RunMismatchError
from cnn_design_env.run.journal import JournalError

METHODS = {  # small settings, so every method leaves its random start within a short run
    "random": {}, "evolution": {"population_size": 4, "sample_size": 2},
    "tpe": {"n_startup_trials": 4}, "nsga2": {"population_size": 4}, "qlearning": {},
    "marl": {"exploration_episodes": 6},
}


def config(method: str = "marl", episodes: int = 16, *, evaluator: str = "slow_fixture",
           seed: int = 4, **options) -> RunConfig:
    return RunConfig(space="vgg_mini", method=method, episodes=episodes, seed=seed,
                     evaluator=EvaluatorSpec(f"cli_plugins:{evaluator}", "vgg_mini", None,
                                             options),
                     method_options=METHODS[method])


def start(cfg: RunConfig, out: Path, **kwargs) -> session.RunResult:
    return session.start(cfg, out, progress=False, **kwargs)


def resume(out: Path, **kwargs) -> session.RunResult:
    return session.resume(out, progress=False, **kwargs)


def _optuna(method: str) -> None:
    if method in ("tpe", "nsga2"):
        pytest.importorskip("optuna")


# ------------------------------------------------------------ one checkpoint format, no pickle
@pytest.mark.parametrize("method", list(METHODS))
def test_resume_after_kill_9_equals_an_uninterrupted_run(cli_env, tmp_path, method) -> None:
    _optuna(method)
    args = ("--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture",
            "--evaluator-option", "delay=0.04", "--method", method, "--episodes", "24",
            "--seed", "3", "--quiet",
            *(x for k, v in METHODS[method].items()
              for x in (("--exploration", str(v)) if k == "exploration_episodes"
                        else ("--option", f"{k}={v}"))))
    whole = subprocess.run(command("search", *args, "--out", tmp_path / "whole"), env=cli_env,
                           capture_output=True, text=True, timeout=180)
    assert whole.returncode == 0, whole.stderr
    out = tmp_path / "killed"
    process = subprocess.Popen(command("search", *args, "--out", out), env=cli_env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_lines(out / "evaluations.jsonl", 10, process)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert len(journal(out)) < 24
    done = subprocess.run(command("resume", out, "--quiet"), env=cli_env, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert outcome(out) == outcome(tmp_path / "whole")


@pytest.mark.parametrize("method", ["tpe", "nsga2"])
def test_optuna_writes_after_the_checkpoint_are_rolled_back(tmp_path, method) -> None:
    """A kill between Optuna's write of an ask or tell and the checkpoint leaves the study ahead
    of the checkpoint; the resume cuts it back and goes on as if never interrupted."""
    _optuna(method)
    from cnn_design_env.run.checkpoint import read

    start(config(method, 20), tmp_path / "whole")
    out = tmp_path / "run"
    start(config(method, 10), out)
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    _, meta = read(out / "checkpoint.npz")
    path = str(out / "optuna.journal")
    storage = JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    ahead = optuna.load_study(study_name=meta["searcher"]["study"], storage=storage)
    searcher = session.make_searcher(config(method, 10), session.resolve_space("vgg_mini"))
    ahead.tell(ahead.ask(searcher.distributions), [0.5] if method == "tpe" else [0.5, 1.0, 1.0])
    assert (out / "optuna.journal").stat().st_size > meta["searcher"]["storage"]["bytes"]
    resume(out, episodes=20)
    assert outcome(out) == outcome(tmp_path / "whole")


def _is_pickle(data: bytes) -> bool:
    return data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05")


@pytest.mark.parametrize("method", ["marl", "tpe", "evolution"])
def test_the_run_folder_holds_no_pickle(tmp_path, method) -> None:
    _optuna(method)
    out = tmp_path / "run"
    start(config(method, 8), out)
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"checkpoint.npz", "evaluations.jsonl", "config.json",
                                       ".cnn-design-run"}
    assert not any(_is_pickle(p.read_bytes()) for p in files)
    with np.load(out / "checkpoint.npz", allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)


class _Payload:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


def test_a_pickle_dropped_into_the_run_is_never_loaded(tmp_path) -> None:
    start(config("marl", 16), tmp_path / "whole")
    out = tmp_path / "run"
    start(config("marl", 8), out)
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    (out / "checkpoint.pkl").write_bytes(b"cnn-design-checkpoint v1\n" + payload)
    (out / "checkpoint.npz").write_bytes(payload)  # the real checkpoint replaced by a pickle
    resume(out, episodes=16)
    assert not marker.exists()
    assert outcome(out) == outcome(tmp_path / "whole")  # rebuilt from the journal


# ------------------------------------------------------------------ a run bound to itself
def test_a_foreign_checkpoint_is_refused_naming_the_difference(tmp_path) -> None:
    start(config("marl", 8), tmp_path / "a")
    start(config("random", 8), tmp_path / "b")
    foreign = (tmp_path / "b" / "checkpoint.npz").read_bytes()
    (tmp_path / "a" / "checkpoint.npz").write_bytes(foreign)
    with pytest.raises(RunMismatchError, match=r"belongs to another run.*method: 'random'"):
        resume(tmp_path / "a", episodes=12)
    assert len(journal(tmp_path / "a")) == 8  # nothing superseded


@pytest.mark.parametrize("key, value", [("method", "random"), ("seed", 99),
                                        ("space", "table_chain")])
def test_an_edited_config_is_refused(tmp_path, key, value) -> None:
    out = tmp_path / "run"
    start(config("marl", 6), out)
    path = out / "config.json"
    document = json.loads(path.read_text())
    document[key] = value
    path.write_text(json.dumps(document))
    with pytest.raises(RunMismatchError, match=rf"{key}: .* refusing to relabel the run"):
        resume(out, episodes=8)


def test_a_hand_edited_journal_reward_is_detected_with_its_line(cli, tmp_path) -> None:
    out = tmp_path / "run"
    start(config("random", 6), out)
    path = out / "evaluations.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    record = json.loads(lines[3])
    lines[3] = lines[3].replace(f'"reward": {json.dumps(record["reward"])}', '"reward": 9999')
    assert '"reward": 9999' in lines[3]
    path.write_text("".join(lines))
    with pytest.raises(JournalError, match=r"evaluations.jsonl: line 4 was edited"):
        resume(out, episodes=8)
    shown = cli("show", out)
    assert shown.returncode == 2 and "line 4 was edited" in shown.stderr
    assert "9999" not in shown.stdout


def test_a_journal_line_from_another_run_is_refused(tmp_path) -> None:
    start(config("random", 4), tmp_path / "a")
    start(config("random", 4, seed=5), tmp_path / "b")
    other = (tmp_path / "b" / "evaluations.jsonl").read_text().splitlines(keepends=True)
    with (tmp_path / "a" / "evaluations.jsonl").open("a") as handle:
        handle.write(other[0])
    with pytest.raises(JournalError, match="line 5 belongs to run"):
        resume(tmp_path / "a", episodes=6)


def test_the_lock_is_taken_before_anything_is_written(tmp_path) -> None:
    out = tmp_path / "run"
    start(config("random", 4), out)
    before = (out / "config.json").read_bytes()
    with RunDir(out).lock(), pytest.raises(ValueError, match="in use by another"):
        resume(out, workers=2, episodes=9)
    assert (out / "config.json").read_bytes() == before


def test_overwrite_acts_only_on_a_run(tmp_path, monkeypatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.json").write_text("{}")
    (home / "summary.json").write_text("mine")
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(ValueError, match="it is the home directory"):
        start(config("random", 2), home, overwrite=True)
    here = tmp_path / "here"
    here.mkdir()
    (here / "config.json").write_text("{}")
    monkeypatch.chdir(here)
    with pytest.raises(ValueError, match="it is the current directory"):
        start(config("random", 2), ".", overwrite=True)
    with pytest.raises(ValueError, match="it is a filesystem root"):
        start(config("random", 2), "/", overwrite=True)
    other = tmp_path / "notes"
    other.mkdir()
    (other / "config.json").write_text("{}")
    (other / "summary.json").write_text("mine")
    for overwrite in (False, True):
        with pytest.raises(ValueError, match="not empty and not a cnn-design run"):
            start(config("random", 2), other, overwrite=overwrite)
    assert (other / "summary.json").read_text() == "mine" and len(list(other.iterdir())) == 2
    assert (home / "summary.json").read_text() == "mine" and len(list(home.iterdir())) == 2


def test_overwrite_never_follows_a_symlinked_plots_folder(tmp_path) -> None:
    out = tmp_path / "run"
    start(config("random", 3), out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "pareto.png").write_text("precious")
    for png in (out / "plots").iterdir():
        png.unlink()
    (out / "plots").rmdir()
    (out / "plots").symlink_to(elsewhere)
    start(config("random", 3), out, overwrite=True)
    assert (elsewhere / "pareto.png").read_text() == "precious"
    assert not (out / "plots").is_symlink()


def test_a_run_whose_files_are_links_is_refused(tmp_path) -> None:
    out = tmp_path / "run"
    start(config("random", 3), out)
    target = tmp_path / "victim.txt"
    target.write_text("precious")
    (out / "summary.json").unlink()
    (out / "summary.json").symlink_to(target)
    with pytest.raises(ValueError, match=r"summary\.json is a symbolic link"):
        resume(out, episodes=4)
    assert target.read_text() == "precious"


def test_an_empty_out_is_an_error(cli, tmp_path) -> None:
    done = cli("search", "--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture",
               "--episodes", "2", "--out", "")
    assert done.returncode == 2 and "empty path" in done.stderr
    with pytest.raises(ValueError, match="empty string"):
        RunDir("")


# ------------------------------------------------------------ nothing completed is ever lost
@pytest.mark.parametrize("method", list(METHODS))
def test_a_missing_checkpoint_is_rebuilt_from_the_journal(tmp_path, method, capsys) -> None:
    _optuna(method)
    start(config(method, 18), tmp_path / "whole")
    out = tmp_path / "run"
    start(config(method, 9), out)
    (out / "checkpoint.npz").unlink()
    result = resume(out, episodes=18)
    said = capsys.readouterr().err
    assert "checkpoint.npz is missing" in said and "replaying the 9 journaled" in said
    assert "--overwrite" not in said
    assert outcome(out) == outcome(tmp_path / "whole")
    assert all(r["worker"] != "journal" for r in journal(out))
    assert result.status == "finished"


def test_resume_without_checkpoint_never_advises_deleting_evaluations(cli, tmp_path) -> None:
    out = tmp_path / "run"
    start(config("marl", 6), out)
    (out / "checkpoint.npz").unlink()
    done = cli("resume", out, "--quiet", "--episodes", "8")
    assert done.returncode == 0, done.stderr
    assert "--overwrite" not in done.stderr and "replaying the 6 journaled" in done.stderr


def test_stale_temporary_files_are_cleaned_on_resume(tmp_path) -> None:
    out = tmp_path / "run"
    start(config("random", 3), out)
    stale = [out / ".checkpoint.npz.x1y2z3.tmp", out / ".config.json.tmp"]
    for path in stale:
        path.write_bytes(b"half")
    resume(out, episodes=4)
    assert not any(p.exists() for p in stale)


def test_a_replay_that_disagrees_stops_and_loses_nothing(tmp_path) -> None:
    from cnn_design_env.run.loop import ReplayError

    start(config("evolution", 14), tmp_path / "whole")
    out = tmp_path / "run"
    start(config("evolution", 10), out)
    (out / "checkpoint.npz").unlink()
    lines = (out / "evaluations.jsonl").read_bytes()
    with pytest.raises(ReplayError, match=r"diverged at evaluation \d+.*--workers"):
        resume(out, workers=2, episodes=14)  # two in flight: another sequence of asks
    assert (out / "evaluations.jsonl").read_bytes() == lines
    assert not (out / "checkpoint.npz").exists()  # no checkpoint of a replay cut short
    resume(out, workers=1, episodes=14)
    assert outcome(out) == outcome(tmp_path / "whole")


def test_a_run_of_the_previous_format_can_be_replaced_not_resumed(tmp_path) -> None:
    """``make run`` (``--overwrite``) over a run made before the marker existed."""
    out = tmp_path / "old"
    (out / "plots").mkdir(parents=True)
    (out / "config.json").write_text(json.dumps({"format": 1, "space": "vgg_mini"}))
    for name in ("evaluations.jsonl", "checkpoint.pkl", "summary.json", "plots/pareto.png"):
        (out / name).write_text("old")
    with pytest.raises(ValueError, match="format 1, whose checkpoints were pickles"):
        resume(out)
    assert not (out / "checkpoint.npz").exists() and (out / "checkpoint.pkl").exists()
    start(config("random", 3), out, overwrite=True)
    assert not (out / "checkpoint.pkl").exists() and len(journal(out)) == 3
