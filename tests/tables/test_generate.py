"""The chunked generator on a tiny space: resumable, assembled into a checked version-2 table."""

from __future__ import annotations

import numpy as np
import pytest

import cnn_design_env.tables.generate as gen
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.evaluators.training import TrainingEvaluator
from cnn_design_env.space import SearchSpace
from cnn_design_env.space import layers as L
from cnn_design_env.tables import FORMAT_VERSION, load_table, save_table


def tiny_space() -> SearchSpace:
    layers = (L.input_layer(),
              L.conv("conv", "input", kernels=4, tune={"kernels": (2, 4)}),
              L.pool("pool", "conv", tune={"pool_size": (2, 4)}),
              L.flatten("flatten", "pool"),
              L.dense("fc", "flatten", units=8, tune={"units": (4, 8)}),
              L.output("output", "fc"))
    return SearchSpace("tiny_table", layers, (8, 8, 1), 10,
                       training={"optimizer": "sgd", "learning_rate": 0.05, "batch_size": 32})


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    space = tiny_space()
    plan = gen.GenerationPlan(space, seeds=(0, 1), epochs=2, chunk_size=3)
    evaluator = TrainingEvaluator(space, "digits", epochs=2, subsample_per_class=8,
                                  persistent_cache=False)
    work = tmp_path_factory.mktemp("work")
    return plan, evaluator, work


def test_killed_generator_loses_only_the_chunk_in_flight(generated, monkeypatch):
    plan, evaluator, work = generated
    assert plan.num_chunks == 3  # 8 designs in chunks of 3
    calls = []
    real = gen.evaluate_batch

    def dying(ev, designs, seeds):
        calls.append(len(designs))
        if len(calls) > 1:
            raise KeyboardInterrupt  # killed while training the second chunk
        return real(ev, designs, seeds)

    monkeypatch.setattr(gen, "evaluate_batch", dying)
    with pytest.raises(KeyboardInterrupt):
        gen.generate(plan, work, evaluator=evaluator, progress=False)
    files = sorted(p.name for p in (work / "tiny_table").iterdir())
    assert files == ["chunk_00000.npz", "settings.json"]
    monkeypatch.setattr(gen, "evaluate_batch", real)
    written = gen.generate(plan, work, evaluator=evaluator, progress=False, command="test")
    assert [p.name for p in written] == ["chunk_00001.npz", "chunk_00002.npz"]
    status = gen.chunk_status(plan, work)
    assert status["missing"] == 0 and status["design_seeds_per_s"] > 0
    assert gen.generate(plan, work, evaluator=evaluator, progress=False) == []


def test_assembled_table_answers_every_fidelity(generated, tmp_path):
    plan, evaluator, work = generated
    if gen.chunk_status(plan, work)["missing"]:
        gen.generate(plan, work, evaluator=evaluator, progress=False)
    path = gen.assemble(plan, work, tmp_path / "tiny_table.npz")
    table = load_table(path)
    assert int(table.arrays["format_version"]) == FORMAT_VERSION and table.complete()
    meta = table.metadata
    for key in ("command", "git_commits", "trainer_hashes", "machines", "date",
                "generation_wall_s", "mean_loadavg"):
        assert key in meta
    tab = TabularEvaluator(plan.space, table=table)
    row, column = 5, 1
    direct = evaluator.evaluate(tab.space.validate((1, 0, 1)), seed=plan.seeds[column])
    assert tab.row((1, 0, 1)) == row
    levels = tab.fidelities(row, column)
    assert [m.epochs for m in levels] == [1, 2]
    assert levels[-1].accuracy == pytest.approx(direct.accuracy, abs=1e-6)
    assert levels[0].accuracy_curve == levels[1].accuracy_curve[:1]
    assert levels[0].cost_s < levels[1].cost_s
    with pytest.raises(IndexError, match="outside table"):
        tab.fidelities(8, 0)


def test_loader_rejects_bad_checksum_and_version_naming_the_file(generated, tmp_path):
    plan, _, work = generated
    chunk = load_table(gen.chunk_path(work, plan, 0))
    arrays = dict(chunk.arrays)
    path = save_table(tmp_path / "ok.npz", arrays, chunk.metadata)
    assert load_table(path).num_designs == 3
    with np.load(path) as data:
        raw = {k: data[k] for k in data.files}
    raw["accuracy"] = raw["accuracy"] + 0.01  # tampered after writing
    np.savez_compressed(tmp_path / "tampered.npz", **raw)
    with pytest.raises(ValueError, match=r"tampered\.npz: checksum mismatch"):
        load_table(tmp_path / "tampered.npz")
    raw["accuracy"] -= 0.01
    raw["format_version"] = np.int64(99)
    np.savez_compressed(tmp_path / "future.npz", **raw)
    with pytest.raises(ValueError, match=r"future\.npz has table format version 99"):
        load_table(tmp_path / "future.npz")


def test_plan_refuses_bad_settings(tmp_path):
    with pytest.raises(ValueError, match="chunk_size"):
        gen.GenerationPlan(tiny_space(), chunk_size=0)
    plan = gen.GenerationPlan(tiny_space(), seeds=(0,), epochs=1, chunk_size=4)
    gen._check_settings(plan, tmp_path)
    other = gen.GenerationPlan(tiny_space(), seeds=(0,), epochs=2, chunk_size=4)
    with pytest.raises(ValueError, match="other settings"):
        gen._check_settings(other, tmp_path)
