"""The shipped tabular benchmarks and ``TabularEvaluator``: complete tables, exact lookups,
the simulated clock, fidelities, errors, the env one-liner, and re-training a few entries."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import cnn_design_env
from cnn_design_env.evaluators import Metrics
from cnn_design_env.evaluators.resolve import resolve_evaluator
from cnn_design_env.evaluators.tabular import PICK_SLOTS, TabularEvaluator
from cnn_design_env.space import Design, get_space
from cnn_design_env.space.tables import TABLE_SPACES
from cnn_design_env.tables import (
    READ_VERSIONS,
    design_of_row,
    list_tables,
    load_table,
    space_fingerprint,
)

TABLES = sorted(TABLE_SPACES)


@pytest.fixture(scope="module", params=TABLES)
def evaluator(request) -> TabularEvaluator:
    return TabularEvaluator(request.param, seed=0)


def test_every_table_space_has_a_shipped_table():
    assert list_tables() == TABLES


def test_table_is_complete(evaluator):
    """Every design of the space has a row, and every row every seed, with sane values."""
    table, space = evaluator.table, evaluator.space
    a = table.arrays
    assert table.fingerprint == space_fingerprint(space)
    assert table.action_sizes == space.action_sizes
    assert table.num_designs == space.size
    assert len(table.seeds) >= 2
    rows = {evaluator.row(Design(actions))
            for actions in itertools.product(*(range(n) for n in space.action_sizes))}
    assert rows == set(range(space.size))
    assert table.complete()
    terminated = a["reason"] > 0
    assert np.all((a["epochs"] >= 1) | terminated)
    assert np.all((a["accuracy"] >= 0) & (a["accuracy"] <= 1))
    finite = np.isfinite(a["accuracy_curve"]).sum(axis=2)
    assert np.all(finite[~terminated] == a["epochs"][~terminated])
    assert np.all(a["cost_s"] >= a["compile_s"]) and np.all(a["compile_s"] > 0)
    assert np.all((a["params"] > 0) & (a["flops"] > 0))


def test_metadata_records_provenance(evaluator):
    meta = evaluator.table.metadata
    assert int(evaluator.table.arrays["format_version"]) in READ_VERSIONS
    assert meta["command"].startswith("python scripts/make_table.py")
    assert meta["git_commit"] and meta["package_version"] == cnn_design_env.__version__
    assert {"platform", "cpu_count", "jax_backend"} <= set(meta["machine"])
    assert meta["date"] and meta["settings"]["epochs"] == evaluator.table.arrays[
        "accuracy_curve"].shape[2]
    assert evaluator.table.path.stat().st_size < 2_000_000


def test_lookup_returns_the_recorded_row(evaluator):
    a = evaluator.table.arrays
    design = design_of_row(37, evaluator.space.action_sizes)
    metrics = evaluator.evaluate(design, seed=11)
    column = evaluator.table.seeds.index(metrics.extra["recorded_seed"])
    assert evaluator.row(design) == metrics.extra["row"] == 37
    assert metrics.accuracy == a["accuracy"][37, column]
    assert metrics.cost_s == a["cost_s"][37, column]
    assert metrics.params == a["params"][37]
    assert metrics.terminated == bool(a["reason"][37, column])
    assert len(metrics.accuracy_curve) == metrics.epochs or metrics.terminated


def test_seed_picks_the_recorded_seed_deterministically(evaluator):
    space = evaluator.space
    design = space.sample(np.random.default_rng(3))
    again = TabularEvaluator(space, seed=0)
    first = [evaluator.evaluate(design, seed=s).extra["recorded_seed"] for s in range(64)]
    assert first == [again.evaluate(design, seed=s).extra["recorded_seed"] for s in range(64)]
    assert set(first) == set(evaluator.table.seeds)  # both recorded seeds answer
    assert first[:8] == [evaluator.evaluate(design, seed=s + PICK_SLOTS).extra["recorded_seed"]
                         for s in range(8)]
    other = TabularEvaluator(space, seed=1)
    assert first != [other.evaluate(design, seed=s).extra["recorded_seed"] for s in range(64)]


def test_random_pick_draws_from_the_evaluators_generator():
    a = TabularEvaluator("table_chain", seed=5, pick="random")
    b = TabularEvaluator("table_chain", seed=5, pick="random")
    design = Design((0,) * a.space.num_agents)
    picks = [a.evaluate(design, seed=0).extra["recorded_seed"] for _ in range(40)]
    assert picks == [b.evaluate(design, seed=0).extra["recorded_seed"] for _ in range(40)]
    assert len(set(picks)) == 2


def test_clock_charges_recorded_costs():
    evaluator = TabularEvaluator("table_inception", seed=0)
    rng = np.random.default_rng(0)
    total = sum(evaluator.evaluate(evaluator.space.sample(rng), seed=s).cost_s for s in range(25))
    assert evaluator.clock_s == pytest.approx(total) and total > 0
    assert evaluator.queries == 25
    evaluator.reset_clock()
    assert (evaluator.clock_s, evaluator.queries) == (0.0, 0)


def test_epochs_as_fidelity():
    full = TabularEvaluator("table_chain", seed=0)
    a = full.table.arrays
    row = int(np.flatnonzero((a["reason"] == 0).all(axis=1))[0])
    design = design_of_row(row, full.space.action_sizes)
    low = TabularEvaluator("table_chain", seed=0, epochs=2)
    m_full, m_low = full.evaluate(design, seed=0), low.evaluate(design, seed=0)
    assert m_low.epochs == 2 and m_low.accuracy_curve == m_full.accuracy_curve[:2]
    assert m_low.accuracy == m_full.accuracy_curve[1]
    assert m_low.compile_s <= m_low.cost_s < m_full.cost_s
    with pytest.raises(ValueError, match="epochs must be"):
        TabularEvaluator("table_chain", epochs=99)


@pytest.mark.parametrize("bad", [(0, 0), (0, 0, 0, 0, 0, 0, 9), (0, 0, 0, 0, 0, -1, 0),
                                 (0, 0, 0, 0, 0, 0.5, 0)])
def test_design_outside_the_table_is_a_clear_error(bad):
    evaluator = TabularEvaluator("table_chain")
    with pytest.raises(ValueError, match="table 'table_chain'"):
        evaluator.evaluate(bad, seed=0)
    assert evaluator.clock_s == 0.0


def test_other_space_or_unknown_table_is_rejected():
    with pytest.raises(ValueError, match="differs from the space table"):
        TabularEvaluator(get_space("vgg_mini"), table="table_chain")
    with pytest.raises(FileNotFoundError, match="shipped tables"):
        TabularEvaluator(get_space("vgg_mini"))
    with pytest.raises(ValueError, match="pick must be"):
        TabularEvaluator("table_chain", pick="best")
    with pytest.raises(ValueError, match="unknown evaluator"):
        resolve_evaluator("nope", TABLE_SPACES["table_chain"]())


def test_env_plays_the_table():
    space = TABLE_SPACES["table_inception"]()
    env = cnn_design_env.env(space, evaluator=resolve_evaluator("tabular", space))
    env.reset(seed=4)
    for _agent in env.agent_iter():
        obs, _, terminated, truncated, info = env.last()
        if terminated or truncated:
            env.step(None)
            continue
        env.step(int(np.flatnonzero(obs["action_mask"])[-1]))
    metrics = Metrics.from_dict(info["metrics"])
    assert info["design"] == tuple(n - 1 for n in space.action_sizes)
    assert metrics.extra["table"] == "table_inception"
    assert env.unwrapped.evaluator.clock_s == metrics.cost_s


def test_env_one_liner():
    """``evaluator="tabular"``: needs ``resolve_evaluator`` in ``episode.bind`` and the table
    spaces among the presets."""
    env = cnn_design_env.env(space="table_chain", evaluator="tabular")
    assert isinstance(env.unwrapped.evaluator, TabularEvaluator)
    assert env.unwrapped.space.name == "table_chain"


def _retrain_cases() -> list[tuple[str, int]]:
    """Two non-terminated designs per table: the best and a median one (by mean accuracy)."""
    cases = []
    for name in TABLES:
        a = load_table(name).arrays
        ok = np.flatnonzero((a["reason"] == 0).all(axis=1))
        order = ok[np.argsort(a["accuracy"][ok].mean(axis=1))]
        cases += [(name, int(order[-1])), (name, int(order[len(order) // 2]))]
    return cases[:3]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "row"), _retrain_cases())
def test_retraining_lands_within_the_seed_spread(name, row):
    """Re-train one entry (first recorded seed) with the trainer and the table's settings."""
    from cnn_design_env.evaluators.training import TrainingEvaluator

    tabular = TabularEvaluator(name)
    a, settings = tabular.table.arrays, tabular.table.metadata["settings"]
    trainer = TrainingEvaluator(tabular.space, settings["data"], epochs=settings["epochs"],
                                data_seed=settings["data_seed"], persistent_cache=False)
    design = design_of_row(row, tabular.space.action_sizes)
    fresh = trainer.evaluate(design, seed=tabular.table.seeds[0])
    recorded = a["accuracy"][row]
    tolerance = max(3 * abs(recorded[0] - recorded[1]), 0.05)
    assert abs(fresh.accuracy - recorded[0]) <= tolerance, (fresh.accuracy, recorded)
    assert not fresh.terminated and fresh.epochs == a["epochs"][row, 0]
    assert (fresh.params, fresh.flops) == (a["params"][row], a["flops"][row])
