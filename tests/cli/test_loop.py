"""The search loop in-process: equal to the AEC env, independent of timing, cache, journal and
checkpoint files."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import cnn_design_env
from agents import SharedQAgents, train
from baselines import make_searcher
from cnn_design_env.evaluators import Metrics
from cnn_design_env.evaluators.executors import EvaluatorSpec, InlineExecutor
from cnn_design_env.reward import PaperReward
from cnn_design_env.run import checkpoint
from cnn_design_env.run.checkpoint import CheckpointError, LoopState
from cnn_design_env.run.journal import Journal, JournalError, read_journal
from cnn_design_env.run.loop import SearchLoop
from cnn_design_env.search.searcher import can_ask_ahead
from cnn_design_env.space import Design, get_space

SPACE = get_space("vgg_mini")


def spec(**options) -> EvaluatorSpec:
    return EvaluatorSpec("cli_plugins:slow_fixture", "vgg_mini", None,
                         {"noise": 0.02, **options})


def run_loop(tmp: Path, searcher, *, episodes: int, seed: int, executor=None, in_flight: int = 1,
             cache: bool = True, evaluator: EvaluatorSpec | None = None) -> list:
    tmp.mkdir(parents=True, exist_ok=True)
    state = LoopState(searcher=searcher, seeds=np.random.default_rng(seed))
    with Journal(tmp / "evaluations.jsonl") as journal:
        SearchLoop(state, spec=evaluator or spec(), executor=executor or InlineExecutor(),
                   reward=PaperReward(), episodes=episodes, in_flight=in_flight,
                   journal=journal, checkpoint_path=tmp / "checkpoint.npz", cache=cache).run()
    return read_journal(tmp / "evaluations.jsonl").ordered()


def test_marl_through_the_loop_equals_the_team_playing_the_aec_env(tmp_path) -> None:
    from cli_plugins import slow_fixture

    seed, episodes = 5, 40
    env = cnn_design_env.env(SPACE, evaluator=slow_fixture(SPACE, noise=0.02))
    team = SharedQAgents(SPACE, seed=seed, exploration_episodes=10)
    history = train(env, team, episodes=episodes, seed=seed).history
    searcher = make_searcher("marl", SPACE, seed=seed, exploration_episodes=10)
    records = run_loop(tmp_path, searcher, episodes=episodes, seed=seed, cache=False)
    assert [r.design.actions for r in records] == [h.design for h in history]
    assert [r.reward for r in records] == [h.reward for h in history]  # noisy: seeds match too
    assert [r.phase for r in records] == [h.phase for h in history]
    assert np.array_equal(searcher.team.tables.q, team.tables.q)


@pytest.mark.parametrize("method, options", [
    ("evolution", {"population_size": 4, "sample_size": 2}),
    ("marl", {"exploration_episodes": 12}),
])
def test_designs_in_flight_do_not_depend_on_timing(tmp_path, method, options) -> None:
    slow = spec(delay=0.01, jitter=True)  # completions arrive out of order on the thread pool
    runs = []
    for name, executor in (("inline", InlineExecutor()), ("threads", ThreadPoolExecutor(3))):
        with executor:
            searcher = make_searcher(method, SPACE, seed=1, **options)
            records = run_loop(tmp_path / name, searcher, episodes=20, seed=1, in_flight=3,
                               executor=executor, evaluator=slow)
        runs.append([(r.index, r.design, r.eval_seed, r.reward) for r in records])
    assert runs[0] == runs[1] and len(runs[0]) == 20
    lines = [json.loads(x)["index"] for x in (tmp_path / "threads" / "evaluations.jsonl")
             .read_text().splitlines()]
    assert sorted(lines) == list(range(20))


def test_repeated_designs_come_from_the_cache_and_cost_nothing(tmp_path) -> None:
    from cli_plugins import ListSearcher

    designs = [Design((0, 1, 0, 1, 0, 1)), Design((1, 1, 1, 1, 1, 1))] * 3
    records = run_loop(tmp_path, ListSearcher(SPACE, designs), episodes=6, seed=0)
    assert [r.metrics.cached for r in records] == [False, False, True, True, True, True]
    assert all(r.metrics.cost_s == 0 for r in records[2:])
    assert records[2].reward == records[0].reward and records[3].reward == records[1].reward


def test_can_ask_ahead_rules() -> None:
    assert can_ask_ahead(make_searcher("random", SPACE, seed=0), 5)
    assert can_ask_ahead(make_searcher("evolution", SPACE, seed=0), 5)
    assert not can_ask_ahead(make_searcher("qlearning", SPACE, seed=0), 1)
    assert can_ask_ahead(make_searcher("qlearning", SPACE, seed=0), 0)
    marl = make_searcher("marl", SPACE, seed=0, exploration_episodes=3)
    assert [can_ask_ahead(marl, p) for p in (1, 2, 3)] == [True, True, False]
    for _ in range(3):
        marl.tell(marl.ask(), 1.0)
    assert not can_ask_ahead(marl, 1)  # exploitation is sequential


def test_journal_partial_tail_duplicates_and_corruption(tmp_path) -> None:
    records = run_loop(tmp_path, make_searcher("random", SPACE, seed=0), episodes=4, seed=0)
    path = tmp_path / "evaluations.jsonl"
    with Journal(path) as journal:  # an evaluation redone after a resume: a second line
        journal.append(records[1])
    with path.open("a") as handle:
        handle.write('{"index": 9, "des')
    contents = read_journal(path)
    assert sorted(contents.records) == [0, 1, 2, 3] and contents.partial_tail > 0
    assert contents.records[1] == records[1]  # the later duplicate line wins (identical here)
    with Journal(path):  # opening for append cuts the partial line off
        pass
    assert path.read_text().endswith("}\n")
    lines = path.read_text().splitlines(keepends=True)
    lines[1] = "not json\n"
    path.write_text("".join(lines))
    with pytest.raises(JournalError, match=r"evaluations.jsonl: line 2 is not a valid"):
        read_journal(path)


@pytest.mark.parametrize("method", ["marl", "evolution", "qlearning", "tpe", "nsga2", "random"])
def test_checkpoint_restores_a_searcher_that_continues_identically(tmp_path, method) -> None:
    if method in ("tpe", "nsga2"):
        pytest.importorskip("optuna")

    def build(directory):
        searcher = make_searcher(method, SPACE, seed=3)
        if hasattr(searcher, "bind_storage"):
            searcher.bind_storage(directory, "study")
        return searcher

    (tmp_path / "a").mkdir()
    searcher = build(tmp_path / "a")
    rng = np.random.default_rng(0)

    def result():
        value = float(rng.random())
        return value, Metrics(accuracy=value, model_size_mb=1.0)

    for _ in range(12):
        searcher.tell(searcher.ask(), *result())
    path = tmp_path / "a" / "checkpoint.npz"
    checkpoint.save(path, LoopState(searcher=searcher, seeds=np.random.default_rng(1), told=12))
    with np.load(path, allow_pickle=False) as data:  # plain data only
        assert all(data[name].dtype != object for name in data.files)
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # the run folder, as a resume finds it
    restored = checkpoint.load(tmp_path / "b" / "checkpoint.npz", build(tmp_path / "b"))
    for _ in range(8):
        design, (reward, metrics) = searcher.ask(), result()
        assert restored.searcher.ask() == design
        searcher.tell(design, reward, metrics)
        restored.searcher.tell(design, reward, metrics)


def test_checkpoint_detects_corruption(tmp_path) -> None:
    path = tmp_path / "checkpoint.npz"
    checkpoint.save(path, LoopState(searcher=make_searcher("random", SPACE, seed=0),
                                    seeds=np.random.default_rng(0)))
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    with pytest.raises(CheckpointError, match=r"checkpoint\.npz: checkpoint is corrupted"):
        checkpoint.load(path, make_searcher("random", SPACE, seed=0))
    path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a cnn-design checkpoint"):
        checkpoint.load(path, make_searcher("random", SPACE, seed=0))


def test_the_gp_searcher_checkpoints_too(tmp_path) -> None:
    pytest.importorskip("optuna")
    pytest.importorskip("torch")
    pytest.importorskip("scipy")

    def build(directory):
        searcher = make_searcher("gp", SPACE, seed=3, n_startup_trials=4)
        searcher.bind_storage(directory, "study")
        return searcher

    (tmp_path / "a").mkdir()
    searcher, rng = build(tmp_path / "a"), np.random.default_rng(0)
    for _ in range(6):
        searcher.tell(searcher.ask(), float(rng.random()))
    checkpoint.save(tmp_path / "a" / "checkpoint.npz",
                    LoopState(searcher=searcher, seeds=np.random.default_rng(1), told=6))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    restored = checkpoint.load(tmp_path / "b" / "checkpoint.npz", build(tmp_path / "b")).searcher
    for _ in range(2):
        design, reward = searcher.ask(), float(rng.random())
        assert restored.ask() == design
        searcher.tell(design, reward)
        restored.tell(design, reward)


def test_a_damaged_checkpoint_is_refused_or_intact(tmp_path) -> None:
    """Every single-byte flip gives a CheckpointError (the resume then replays the journal) or,
    where the zip format leaves a byte unchecked, the same state."""
    searcher = make_searcher("marl", SPACE, seed=3, exploration_episodes=4)
    for _ in range(6):
        searcher.tell(searcher.ask(), 1.0)
    path = tmp_path / "checkpoint.npz"
    checkpoint.save(path, LoopState(searcher=searcher, seeds=np.random.default_rng(1), told=6))
    data = path.read_bytes()
    reference = checkpoint.document(checkpoint.load(path, make_searcher("marl", SPACE, seed=3)))
    for offset in np.random.default_rng(0).choice(len(data), size=60, replace=False):
        damaged = bytearray(data)
        damaged[offset] ^= 0x5A
        path.write_bytes(bytes(damaged))
        try:
            state = checkpoint.load(path, make_searcher("marl", SPACE, seed=3))
        except CheckpointError:
            continue
        arrays, meta = checkpoint.document(state)
        assert meta == reference[1] and arrays.keys() == reference[0].keys()
        assert all(np.array_equal(arrays[k], reference[0][k]) for k in arrays)


def test_a_damaged_journal_is_a_journal_error_naming_the_line(tmp_path) -> None:
    run_loop(tmp_path, make_searcher("random", SPACE, seed=0), episodes=5, seed=0)
    path = tmp_path / "evaluations.jsonl"
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    for _ in range(80):
        damaged = bytearray(data)
        for offset in rng.choice(len(data) - 1, size=int(rng.integers(1, 4)), replace=False):
            damaged[offset] = int(rng.integers(256))
        path.write_bytes(bytes(damaged))
        try:
            contents = read_journal(path)
        except JournalError as error:
            assert str(path) in str(error) and "line" in str(error)
            continue
        assert contents.lines <= 5  # a damaged last line may read as a write cut short
