"""Start, resume and finish a search run in a run directory (the engine of ``cnn-design search``
and ``cnn-design resume``).

:func:`start` creates the directory, builds the searcher and runs the loop; :func:`resume`
reloads the config, the checkpoint and the journal, checks they belong to this run (its marker's
identity), and continues; with no usable checkpoint it rebuilds the searcher by replaying the
journal. Both end with :func:`finish`: the final choice (the top designs re-evaluated on extra
seeds, the best mean recommended, its test accuracy; :mod:`cnn_design_env.run.recommend`),
``summary.json``, ``best_design.txt`` and the plots. ``KeyboardInterrupt``
(Ctrl-C) leaves a consistent run behind (the checkpoint of the last tell, every completed
evaluation in the journal) and is re-raised after the summary of what was done is written.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cnn_design_env.evaluators.executors import (
    build_evaluator,
    connect_dask,
    evaluate_task,
    open_executor,
    resolve_space,
)
from cnn_design_env.reward import PaperReward
from cnn_design_env.run import checkpoint
from cnn_design_env.run.checkpoint import CheckpointError, LoopState, RunMismatchError
from cnn_design_env.run.config import FORMAT, RunConfig
from cnn_design_env.run.identity import differences, identity, run_hash
from cnn_design_env.run.journal import Journal, Record, read_journal
from cnn_design_env.run.layout import CONFIG, LOCK, MARKER, STUDY, RunDir
from cnn_design_env.run.loop import SearchLoop, fresh_state
from cnn_design_env.run.plots import write_plots
from cnn_design_env.run.progress import Progress
from cnn_design_env.run.recommend import EXTRA_SEEDS, TOP_K, recommend
from cnn_design_env.run.summary import design_table, recommendation_line, summarize
from cnn_design_env.search import plugins
from cnn_design_env.search.fidelity import full_fidelity
from cnn_design_env.search.searcher import bind_storage, evaluator_for, facts
from cnn_design_env.space import SearchSpace


@dataclass
class RunResult:
    """What a finished (or interrupted) session left in the run directory.

    Attributes:
        run: The run directory.
        status: ``"finished"``, ``"converged"`` or ``"interrupted"``.
        summary: The summary document (also in ``summary.json``).
        records: Every journaled evaluation, by index.
        files: Paths written at the end (summary, best design, plots).
        space: The run's search space.
    """

    run: RunDir
    status: str
    summary: dict[str, Any]
    records: list[Record]
    files: list[Path] = field(default_factory=list)
    space: SearchSpace | None = None


def make_searcher(config: RunConfig, space: SearchSpace) -> Any:
    """The searcher of ``config.method`` on ``space``: a registered method or a
    ``package.module:factory`` path (:func:`cnn_design_env.search.plugins.make_searcher`).

    Raises:
        ValueError: On an unknown method or bad method options.
    """
    try:
        return plugins.make_searcher(config.method, space, seed=config.seed,
                                     **config.method_options)
    except TypeError as error:  # an option the method does not take
        raise ValueError(f"method {config.method!r} rejected its options "
                         f"{dict(config.method_options)}: {error}") from error


def start(config: RunConfig, out: str | os.PathLike[str], *, overwrite: bool = False,
          progress: bool = True, stream: TextIO | None = None) -> RunResult:
    """Create the run directory ``out`` and run the search of ``config``.

    The run's lock is taken before anything is written in ``out``; the marker (the run's
    identity) and ``config.json`` are the first files written.

    Args:
        config: The run's settings.
        out: The run directory to create.
        overwrite: Replace a run already in ``out`` (only a folder created as a run).
        progress: Draw the progress bar.
        stream: Where the progress bar goes (default: standard error).

    Raises:
        ValueError: On an unknown space, method or data set, a directory already holding a run
            or not empty, an unreachable scheduler.
        PermissionError: If ``out`` cannot be written.
    """
    resolve_space(config.space)  # cheap checks first: names, the scheduler, then the directory
    plugins.check_methods([config.method])
    if config.scheduler is not None:
        client = connect_dask(config.scheduler, timeout=config.scheduler_timeout)
        threads = sum(client.nthreads().values())
        client.close()
        if config.workers == 0:  # as many in flight as the cluster has worker threads
            config = config.with_changes(workers=max(1, threads))
    run = RunDir(out)
    run.check_target(overwrite=overwrite)  # before anything is written
    existed = run.path.exists()
    try:
        run.path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise PermissionError(f"cannot write the run directory --out {str(run.path)!r}: "
                              f"{error.strerror or error}") from error
    document = identity(config)
    run_id = run_hash(document)
    with run.lock():
        try:
            run.create(config, overwrite=overwrite, marker={
                "created_by": "cnn-design-env", "format": FORMAT, "run": run_id,
                "identity": document})
            # building the evaluator loads the data (and the trainer); the searcher may import
            space = build_evaluator(config.evaluator).space
            searcher = _bound_searcher(config, space, run, run_id)
            _own_evaluator(config, searcher)  # a refused evaluator is said before any work
        except BaseException:
            _undo_create(run, existed)  # leave no half-made run that blocks a retry
            raise
        state = fresh_state(searcher, seed=config.seed, run_id=run_id)
        return _execute(run, config, state, {}, document, progress=progress, stream=stream)


def _undo_create(run: RunDir, existed: bool) -> None:
    for name in (MARKER, CONFIG, STUDY):
        (run.path / name).unlink(missing_ok=True)
    if not existed:
        (run.path / LOCK).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            run.path.rmdir()


def _bound_searcher(config: RunConfig, space: SearchSpace, run: RunDir, run_id: str) -> Any:
    """The run's searcher, its study (if any) kept in the run directory."""
    searcher = make_searcher(config, space)
    # named as optuna.load_study reads it: the run folder and its short identity
    bind_storage(searcher, run.path, f"{run.path.resolve().name}-{run_id[:8]}")
    return searcher


def _own_evaluator(config: RunConfig, searcher: Any) -> Any | None:
    """The evaluator of a searcher that picks each ask's fidelity (its ``evaluator_for``
    hook: the multi-fidelity methods), or ``None`` (evaluate ``config.evaluator`` anywhere).

    Raises:
        ValueError: If the searcher refuses the evaluator, or more than one worker is asked
            (such a searcher is evaluated in this process, one evaluation at a time).
    """
    own = evaluator_for(searcher, build_evaluator(config.evaluator))
    if own is not None and (config.workers != 1 or config.scheduler):
        raise ValueError(f"method {config.method!r} chooses the fidelity of each evaluation and "
                         "is evaluated in this process, one at a time: run it with --workers 1 "
                         "and no --scheduler")
    return own


def check_run(run: RunDir) -> tuple[RunConfig, dict[str, Any], str]:
    """The config of ``run``, its identity and hash, checked against the run's marker.

    Raises:
        FileNotFoundError: If ``run`` is not a run directory.
        RunMismatchError: If ``config.json`` was edited (naming the settings that differ).
    """
    config = run.load_config()
    marker = run.load_marker()
    document = identity(config)
    if run_hash(document) != marker["run"]:
        diff = differences(document, marker.get("identity") or {})
        raise RunMismatchError(
            f"{run.config_path} does not match the run created in {str(run.path)!r} "
            f"({'; '.join(diff) or 'its identity differs'}; 'here' is config.json, 'there' the "
            "run as created); refusing to relabel the run. Restore the original settings, or "
            "start a new run with the new ones")
    return config, document, marker["run"]


def load_state(run: RunDir, searcher: Any | None = None
               ) -> tuple[RunConfig, LoopState | None, dict[int, Record], str]:
    """The config, checkpoint and journal of ``run``, checked against each other.

    Args:
        run: The run directory.
        searcher: A fresh searcher of the run to restore (default: built from the config).

    Returns:
        ``(config, state, records, notice)``: ``state`` is ``None`` and ``notice`` says why when
        the checkpoint is missing, corrupt or holds no state of the method (the state is then
        rebuilt by replaying the journal).

    Raises:
        FileNotFoundError: If ``run`` is not a run directory.
        RunMismatchError: A config, checkpoint or journal of another run, or edited.
        ValueError: A corrupted or edited journal line (naming the file and line), or a
            journal that lacks evaluations the checkpoint says were told.
    """
    config, document, run_id = check_run(run)
    contents = read_journal(run.journal_path, run_id=run_id)
    if not run.checkpoint_path.exists():
        return config, None, contents.records, f"{run.checkpoint_path.name} is missing"
    if searcher is None:
        space = build_evaluator(config.evaluator).space
        searcher = _bound_searcher(config, space, run, run_id)
    try:
        state = checkpoint.load(run.checkpoint_path, searcher, run_id=run_id, identity=document)
    except CheckpointError as error:
        return config, None, contents.records, str(error)
    missing = [i for i in range(state.told) if i not in contents.records]
    if missing:
        raise CheckpointError(f"{run.journal_path}: evaluations {missing[:5]} are missing although "
                              f"{run.checkpoint_path.name} says {state.told} were told; refusing "
                              "to resume")
    return config, state, contents.records, ""


def resume(path: str | os.PathLike[str], *, episodes: int | None = None,
           workers: int | None = None, scheduler: str | None = None,
           scheduler_timeout: float | None = None, progress: bool = True,
           stream: TextIO | None = None) -> RunResult:
    """Continue the run in ``path`` from its last completed evaluation.

    With the checkpoint missing or corrupt, the method's state is rebuilt by replaying the
    journal's evaluations into a fresh searcher (said on ``stream``); nothing completed is lost.

    Args:
        path: The run directory.
        episodes: A new total (to extend a finished run); default: the run's own.
        workers: Another number of local workers (the run is then a different, equally valid
            sequence of asks; with the same ``K`` it ends exactly where an uninterrupted one does).
        scheduler: A Dask scheduler to continue on.
        scheduler_timeout: Seconds to wait for it.
        progress: Draw the progress bar.
        stream: Where printed output goes (default: standard error).

    Raises:
        FileNotFoundError, ValueError: See :func:`load_state`.
    """
    run = RunDir(path)
    if not run.path.is_dir():
        raise FileNotFoundError(f"no run directory at {str(run.path)!r}")
    if not run.is_run():
        raise FileNotFoundError(f"{str(run.path)!r} is not a run directory (it has no "
                                f"{MARKER} marker: it was not created by 'cnn-design search')")
    with run.lock():
        run.check_links()
        run.clean_temporary()
        config, document, run_id = check_run(run)
        space = build_evaluator(config.evaluator).space
        searcher = _bound_searcher(config, space, run, run_id)
        config, state, records, notice = load_state(run, searcher)
        replay = state is None
        if replay:
            (run.path / STUDY).unlink(missing_ok=True)  # derived from the journal: rebuilt
            (run.path / f"{STUDY}.lock").unlink(missing_ok=True)
            searcher = _bound_searcher(config, space, run, run_id)
            state = fresh_state(searcher, seed=config.seed, run_id=run_id)
            print(f"cnn-design: {notice}; rebuilding the search state by replaying the "
                  f"{len(records)} journaled evaluations into a fresh {config.method} "
                  "searcher (nothing is evaluated again)", file=stream or sys.stderr)
        changes: dict[str, Any] = {}
        if episodes is not None:
            changes["episodes"] = episodes
        if scheduler is not None:
            changes.update(scheduler=scheduler, workers=workers or config.workers)
        elif workers is not None:
            changes.update(workers=workers, scheduler=None)
        if scheduler_timeout is not None:
            changes["scheduler_timeout"] = scheduler_timeout
        if changes:
            config = config.with_changes(**changes)
            RunDir.write_json(run.config_path, config.to_dict())
        state.sessions += 1
        return _execute(run, config, state, records, document, progress=progress,
                        stream=stream, replay=replay)


def _execute(run: RunDir, config: RunConfig, state: LoopState, completed: dict[int, Record],
             document: dict[str, Any], *, progress: bool, stream: TextIO | None,
             replay: bool = False) -> RunResult:
    """Run the loop (the caller holds the run's lock), then :func:`finish`."""
    space = state.searcher.space
    done = sorted((r for r in completed.values() if r.index < state.told), key=lambda r: r.index)
    label = f"{config.method} {config.space}"
    status = "interrupted"
    loop: SearchLoop | None = None
    # a multi-fidelity searcher: its own evaluator, never the cache (a repeat is the next rung)
    own = _own_evaluator(config, state.searcher)
    try:
        with open_executor(workers=config.workers, scheduler=config.scheduler,
                           timeout=config.scheduler_timeout) as executor, \
                Journal(run.journal_path, run_id=state.run_id) as journal, \
                Progress(config.episodes, initial=state.told, records=done,
                         description=label, enabled=progress, stream=stream) as bar:
            loop = SearchLoop(
                state, spec=config.evaluator if own is None else own, executor=executor,
                reward=PaperReward(**config.reward), episodes=config.episodes,
                in_flight=config.in_flight, journal=journal,
                checkpoint_path=run.checkpoint_path, completed=completed,
                cache=config.cache and own is None, wall_offset=state.wall_s,
                worker=_worker_label(config), stop_on_convergence=config.stop_on_convergence,
                on_tell=[bar], time_limit_s=config.eval_timeout_s, replay=replay,
                identity=document, method=config.method)
            status = "converged" if loop.run() == "converged" else "finished"
    except Exception as error:
        status = f"stopped by an error: {type(error).__name__}: {error}"
        raise
    finally:
        wall = loop.wall_s if loop is not None else state.wall_s
        result = finish(run, config, space, searcher=state.searcher, status=status,
                        wall_s=wall)
    return result


def _worker_label(config: RunConfig) -> str:
    if config.scheduler:
        return "dask"
    return "inline" if config.workers == 1 else "process"


def team_facts(searcher: Any) -> dict[str, Any]:
    """What a searcher knows beyond the journal (its ``facts()`` hook): e.g. a team's
    convergence and greedy design."""
    return facts(searcher)


def final_choice(config: RunConfig, records: Sequence[Record], *, k: int = TOP_K,
                 extra_seeds: int = EXTRA_SEEDS, test: bool = True) -> dict[str, Any] | None:
    """The run's recommendation (:func:`~cnn_design_env.run.recommend.recommend`) as a dict.

    The top ``k`` designs by mean reward are evaluated again, in this process, on
    ``extra_seeds`` new seeds (with a tabular evaluator: every recorded seed); the best mean is
    recommended. With ``test`` and an evaluator whose data set has a test split, the recommended
    design is trained once more as in the search (same epochs and settings, the run's seed) and
    the parameters of its best validation epoch are scored on the test split.
    """
    evaluator = build_evaluator(config.evaluator)
    reward = PaperReward(**config.reward)
    observed = [(r.design.actions, r.reward, r.metrics)
                for r in full_fidelity(records, lambda r: r.metrics)]
    choice = recommend(
        observed,
        lambda design, seed: evaluate_task(config.evaluator, design.actions, seed,
                                           time_limit_s=config.eval_timeout_s),
        reward, k=k, extra_seeds=extra_seeds, seed=config.seed, evaluator=evaluator)
    if choice is None:
        return None
    data = getattr(evaluator, "data", None)
    if test and data is not None and getattr(data, "num_test", 0):
        from cnn_design_env.run.final import train_to_convergence

        epochs = int(getattr(evaluator, "epochs", 3))
        trained = train_to_convergence(evaluator.space, data, choice.design, seed=config.seed,
                                       patience=epochs, max_epochs=epochs)
        choice = choice.with_test_accuracy(trained.test_accuracy)
    return choice.to_dict()


def finish(run: RunDir, config: RunConfig, space: SearchSpace, *, searcher: Any = None,
           team: Mapping[str, Any] | None = None, status: str, wall_s: float | None = None,
           plots: bool = True, recommendation: Mapping[str, Any] | None = None) -> RunResult:
    """Make the final choice, write ``summary.json``, ``best_design.txt`` and the plots.

    Args:
        run: The run directory.
        config: Its settings.
        space: Its space.
        searcher: The searcher, for the facts only it knows (:func:`team_facts`).
        team: Those facts when there is no searcher (e.g. from an earlier summary).
        status: The run's status; the final choice (:func:`final_choice`) is made only for a
            ``"finished"`` or ``"converged"`` run.
        wall_s: Wall seconds of the run.
        plots: Also write the plots.
        recommendation: A final choice already made (e.g. from an earlier summary): not redone.
    """
    records = read_journal(run.journal_path).ordered()
    facts = team_facts(searcher) if searcher is not None else team
    if recommendation is None and records and status in ("finished", "converged"):
        recommendation = final_choice(config, records)
    summary = summarize(config, space, records, status=status, team=facts, wall_s=wall_s,
                        recommendation=recommendation)
    files = [RunDir.write_json(run.summary_path, summary)]
    if summary["best"] is not None:
        run.best_path.write_text(best_text(config, space, summary))
        files.append(run.best_path)
    if plots and records:
        files += write_plots(records, run.plots_path, title=f"{config.method} on {config.space}",
                             recommendation=recommendation, reward=PaperReward(**config.reward))
    return RunResult(run, status, summary, records, files, space)


def best_text(config: RunConfig, space: SearchSpace, summary: Mapping[str, Any]) -> str:
    """``best_design.txt``: the recommended design (else the best single evaluation)."""
    best = summary["best"]
    rec = summary.get("recommendation")
    single = (f"best single evaluation: evaluation {best['index'] + 1} (reward "
              f"{best['reward']:.4f}, accuracy "
              f"{best['accuracy']:.4f}, {best['model_size_mb']:.4f} MB), design "
              f"{tuple(best['design'])}")
    if not rec:
        return (f"best design of {config.method} on {config.space} ({single}; no final choice "
                f"yet)\n\n{design_table(space, best['design'])}\n")
    return (f"recommended design of {config.method} on {config.space}: "
            f"{recommendation_line(rec)}\n"
            f"design (action indices): {tuple(rec['design'])}\n{single}\n\n"
            f"{design_table(space, rec['design'])}\n")


def where(result: RunResult) -> str:
    """The closing lines: where the results and plots are."""
    run = result.run
    plots = [p for p in result.files if p.suffix == ".png"]
    lines = [f"results: {run.summary_path}", f"best design: {run.best_path}",
             f"every evaluation: {run.journal_path}"]
    if plots:
        lines.append("plots: " + ", ".join(str(p) for p in plots))
    return "\n".join(lines)


__all__ = ["RunResult", "best_text", "check_run", "final_choice", "finish", "load_state",
           "make_searcher", "resume",
           "start", "team_facts", "where"]
