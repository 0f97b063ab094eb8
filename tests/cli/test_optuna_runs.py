"""An Optuna method's run folder reads as any Optuna study (``optuna.load_study``), and
``cnn-design export`` writes a run's evaluations as a flat table."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import shutil
from pathlib import Path

import pytest
from clitools import table_available

from cnn_design_env.evaluators.executors import EvaluatorSpec, resolve_space
from cnn_design_env.run import RunConfig, read_journal, session

pytestmark = pytest.mark.skipif(not table_available(), reason="the tabular benchmark is missing")
SPACE = "table_chain"
HYPERPARAMETERS = ["conv1.kernels", "conv2.kernel_size", "pool1.pool_size", "conv3.kernels",
                   "pool2.pool_size", "fc1.units", "train.learning_rate"]


def config(method: str = "tpe", episodes: int = 12, **options) -> RunConfig:
    options = options or ({"n_startup_trials": 4} if method == "tpe" else {"population_size": 4})
    return RunConfig(space=SPACE, method=method, episodes=episodes, seed=5,
                     evaluator=EvaluatorSpec("tabular", SPACE, None, {}), method_options=options)


def open_study(run: Path, study_name: str | None):
    """The study of a run folder, through Optuna's own API only."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(run / "optuna.journal")))
    return optuna.get_all_study_names(storage), optuna.load_study(study_name=study_name,
                                                                  storage=storage)


@pytest.fixture(scope="module")
def tpe_run(tmp_path_factory) -> Path:
    pytest.importorskip("optuna")
    out = tmp_path_factory.mktemp("runs") / "tpe_chain"
    session.start(config(), out, progress=False)
    return out


def test_optuna_load_study_finds_the_hyperparameter_values_of_every_evaluation(tpe_run) -> None:
    marker = json.loads((tpe_run / ".cnn-design-run").read_text())
    name = f"tpe_chain-{marker['run'][:8]}"
    names, study = open_study(tpe_run, name)
    assert names == [name]
    assert study.metric_names == ["reward"]
    space = resolve_space(SPACE)
    records = read_journal(tpe_run / "evaluations.jsonl").ordered()
    trials = study.get_trials()
    assert len(trials) == len(records) == 12
    for record, trial in zip(records, trials, strict=True):
        assert list(trial.params) == HYPERPARAMETERS
        values = space.hyperparameters(record.design)
        assert trial.params == {f"{a}.{k}": values[a][k]
                                for a in space.agents for k in space.by_name[a].choices}
        assert trial.params["train.learning_rate"] in (0.005, 0.01, 0.02, 0.05, 0.1)
        assert trial.value == pytest.approx(record.reward)
        assert trial.user_attrs["design"] == list(record.design.actions)
        curve = record.metrics.accuracy_curve
        assert trial.intermediate_values == dict(enumerate(curve, start=1)) and curve


def test_optuna_plots_read_the_hyperparameters(tpe_run) -> None:
    import matplotlib
    import optuna

    matplotlib.use("Agg")
    _, study = open_study(tpe_run, None)  # the storage holds one study
    with pytest.warns(optuna.exceptions.ExperimentalWarning):
        axes = optuna.visualization.matplotlib.plot_slice(study, params=["conv1.kernels",
                                                                         "fc1.units"])
    assert [ax.get_xlabel() for ax in axes] == ["conv1.kernels", "fc1.units"]
    axes[0].figure.canvas.draw()
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["8", "16"]  # not 0 and 1
    matplotlib.pyplot.close("all")


def test_a_moved_run_resumes_into_the_study_it_was_created_with(tmp_path) -> None:
    pytest.importorskip("optuna")
    first = tmp_path / "first"
    session.start(config("nsga2", 6), first, progress=False)
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    session.resume(moved, episodes=10, progress=False)
    names, study = open_study(moved, None)
    assert len(names) == 1 and names[0].startswith("first-")
    assert study.metric_names == ["accuracy", "model_size_mb", "infer_ms_per_batch"]
    assert len(study.get_trials()) == 10 and list(study.trials[-1].params) == HYPERPARAMETERS


# ------------------------------------------------------------------------------ export
def test_export_csv_has_a_row_per_evaluation_and_a_column_per_value(cli, tpe_run,
                                                                    tmp_path) -> None:
    out = tmp_path / "table.csv"
    done = cli("export", tpe_run, "--format", "csv", "--out", out)
    assert done.returncode == 0, done.stderr
    assert "12 evaluations x" in done.stderr
    rows = list(csv.DictReader(out.open()))
    header = list(rows[0])
    assert header[:4] == ["episode", "seed", "reward", "cost_s"]
    assert header[4:11] == HYPERPARAMETERS
    assert {"accuracy", "model_size_mb", "params", "flops", "epochs", "terminated",
            "design"} <= set(header)
    space = resolve_space(SPACE)
    records = read_journal(tpe_run / "evaluations.jsonl").ordered()
    assert [int(r["episode"]) for r in rows] == list(range(1, 13))
    for row, record in zip(rows, records, strict=True):
        values = space.hyperparameters(record.design)
        assert float(row["conv1.kernels"]) == values["conv1"]["kernels"]
        assert float(row["train.learning_rate"]) == values["train"]["learning_rate"]
        assert float(row["reward"]) == pytest.approx(record.reward)
        assert float(row["cost_s"]) == pytest.approx(record.metrics.cost_s)
        assert int(row["seed"]) == record.eval_seed
        assert float(row["accuracy"]) == pytest.approx(record.metrics.accuracy)
        assert json.loads(row["design"]) == list(record.design.actions)

    again = cli("export", tpe_run, "--out", out)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert cli("export", tpe_run, "--out", out, "--overwrite").returncode == 0
    piped = cli("export", tpe_run, "--out", "-")
    assert piped.returncode == 0 and list(csv.DictReader(io.StringIO(piped.stdout))) == rows


def test_export_defaults_to_a_file_beside_the_run_and_refuses_a_non_run(cli, tmp_path) -> None:
    pytest.importorskip("optuna")
    run = tmp_path / "short"
    session.start(config(episodes=3), run, progress=False)
    done = cli("export", run)
    assert done.returncode == 0, done.stderr
    assert len(list(csv.DictReader((tmp_path / "short.csv").open()))) == 3
    (tmp_path / "empty").mkdir()
    refused = cli("export", tmp_path / "empty")
    assert refused.returncode == 2 and "not a run directory" in refused.stderr


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is not None,
                    reason="pyarrow is installed: parquet is written")
def test_export_parquet_without_pyarrow_names_the_missing_package(cli, tpe_run,
                                                                  tmp_path) -> None:
    out = tmp_path / "table.parquet"
    done = cli("export", tpe_run, "--format", "parquet", "--out", out)
    assert done.returncode == 2
    assert "needs pyarrow: pip install pyarrow" in done.stderr
    assert not out.exists()


@pytest.mark.skipif(importlib.util.find_spec("pyarrow") is None, reason="pyarrow is missing")
def test_export_parquet_round_trips(cli, tpe_run, tmp_path) -> None:
    import pandas

    out = tmp_path / "table.parquet"
    assert cli("export", tpe_run, "--format", "parquet", "--out", out).returncode == 0
    table = pandas.read_parquet(out)
    assert len(table) == 12 and list(table.columns[4:11]) == HYPERPARAMETERS
