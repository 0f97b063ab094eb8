"""One CLI (issue 18.6): shared options and defaults, the refusal to overwrite, ``benchmark
--workers`` and resume, the reshape notice, help everywhere, quiet broken pipes, evaluations
numbered from 1."""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from pathlib import Path

import pytest
from clitools import command, journal

from cnn_design_env import cli as cli_module

ROOT = Path(__file__).resolve().parents[2]

FIXTURE = ("--space", "vgg_mini", "--evaluator", "cli_plugins:slow_fixture")
SHARED = ("--space", "--evaluator", "--data", "--epochs", "--subsample", "--evaluator-option",
          "--eval-timeout", "--workers", "--scheduler", "--scheduler-timeout", "--out",
          "--overwrite", "--c-size")


def _subparsers():
    parser = cli_module.build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return parser, action


def _options(subparser) -> dict[str, object]:
    return {flag: action.default for action in subparser._actions for flag in
            action.option_strings}


def test_search_and_benchmark_share_option_names_and_defaults() -> None:
    _, commands = _subparsers()
    search, benchmark = (_options(commands.choices[name]) for name in ("search", "benchmark"))
    for flag in SHARED:
        assert flag in search and flag in benchmark, flag
        if flag != "--c-size":  # search keeps the run's own reward unless given
            assert search[flag] == benchmark[flag], flag
    assert "--subsample-per-class" not in benchmark


def test_every_subcommand_has_help_and_a_description(capsys) -> None:
    _, commands = _subparsers()
    listed = {a.dest: a.help for a in commands._choices_actions}
    assert set(commands.choices) >= {"spaces", "benchmark", "search", "resume", "show", "train"}
    for name, subparser in commands.choices.items():
        assert listed.get(name), f"{name} has no help line"
        assert subparser.description, f"{name} has no description"
        with pytest.raises(SystemExit):
            cli_module.main([name, "--help"])
        assert subparser.description.split()[0] in capsys.readouterr().out


def test_a_broken_pipe_ends_quietly(cli_env) -> None:
    pipeline = f"{' '.join(command('spaces', '--agents'))} | head -n 2"
    done = subprocess.run(["bash", "-c", pipeline], env=cli_env, capture_output=True, text=True,
                          timeout=120)
    assert len(done.stdout.splitlines()) == 2
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def _scores(out) -> list[dict]:
    """``summary.csv`` without the timing columns."""
    with (out / "summary.csv").open() as handle:
        return [{k: v for k, v in row.items() if k not in ("wall_s", "search_ms_per_eval")}
                for row in csv.DictReader(handle)]


def test_benchmark_refuses_to_overwrite_then_resumes(cli, tmp_path) -> None:
    out = tmp_path / "bench"
    args = ("benchmark", *FIXTURE, "--methods", "random,evolution", "--seeds", "2", "--budget",
            "6", "--out", out)
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["evolution-seed0.json", "evolution-seed1.json", "random-seed0.json",
                    "random-seed1.json"]
    refused = cli(*args)
    assert refused.returncode == 2 and "--overwrite" in refused.stderr and "--resume" in \
        refused.stderr
    kept = (out / "runs" / "random-seed1.json").read_text()
    (out / "runs" / "evolution-seed1.json").unlink()  # as if killed before its end
    resumed = cli(*args, "--resume", "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming: 3 finished runs kept" in resumed.stderr
    assert resumed.stdout.count(" evaluations, ") == 1  # only the missing run was made
    assert (out / "runs" / "random-seed1.json").read_text() == kept
    assert (out / "runs" / "evolution-seed1.json").exists()
    first_rows = _scores(out)
    other = cli(*args[:-4], "--budget", "7", "--out", out, "--resume")
    assert other.returncode == 2 and "budget: 6.0 there, 7.0 here" in other.stderr
    replaced = cli(*args, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr
    assert _scores(out) == first_rows  # same seeds, same results
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "notes.txt").write_text("mine")
    assert cli(*args[:-1], stranger, "--overwrite").returncode == 2
    assert (stranger / "notes.txt").read_text() == "mine"


def test_reshaping_a_preset_to_the_data_is_said(capsys) -> None:
    from cnn_design_env.commands import search

    args = cli_module.build_parser().parse_args(
        ["search", "--space", "vgg16", "--data", "digits", "--method", "random", "--out", "x"])
    search._notice_reshape(search.build_config(args))
    notice = capsys.readouterr().err
    assert "space vgg16 was reshaped to the data set 'digits'" in notice
    assert "input 32x32x3 -> 8x8x1" in notice and "classes 100 -> 10" in notice
    assert re.search(r"original network has [\d,]+ parameters \([\d,]+ in the space", notice)


def test_evaluations_are_numbered_from_one(cli, tmp_path) -> None:
    out = tmp_path / "run"
    done = cli("search", *FIXTURE, "--method", "random", "--episodes", "4", "--quiet", "--out",
               out)
    assert done.returncode == 0, done.stderr
    best = max(journal(out), key=lambda r: r["reward"])
    assert f"best single evaluation (evaluation {best['index'] + 1})" in done.stdout
    text = (out / "best_design.txt").read_text()
    assert f"best single evaluation: evaluation {best['index'] + 1} " in text


def test_install_hint_of_a_missing_extra_names_the_checkout_command() -> None:
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from cnn_design_env.evaluators.executors import connect_dask\n"
            "try:\n    connect_dask('tcp://127.0.0.1:1', timeout=1)\n"
            "except ImportError as e:\n    print(e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert "pip install -e '.[dask]'" in done.stdout, done.stderr
    assert "cnn-design-env[" not in done.stdout
