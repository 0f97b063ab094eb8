"""Optuna samplers as searchers, through Optuna's ask/tell interface.

The study reads as any Optuna study: one parameter per tuned hyperparameter of each agent, named
``layer.hyperparameter`` (``conv1.kernels``, ``conv2.kernel_size``, ``train.learning_rate``), by
default a ``CategoricalDistribution`` whose choices are the hyperparameter's values (``(8, 16)``),
so ``optuna.visualization`` and ``optuna-dashboard`` show the values themselves. An agent's
action is the combination of its hyperparameters' values (its action set is their Cartesian
product), so the suggested values map back to exactly one action. With ``distribution="int"``
each parameter is instead an ``IntDistribution(0, n-1)`` over the position of the value in its
choice set (the choices in their declared order, so a sampler can use their order). Each trial
carries the design's action indices as the user attribute ``"design"``.

* :class:`TPESearcher` (``"tpe"``): Tree-structured Parzen Estimator, maximising the reward.
* :class:`GPSearcher` (``"gp"``): Bayesian optimisation with a Gaussian process (Optuna's
  ``GPSampler``, which needs ``torch`` and ``scipy``); each ask refits the GP, about 0.5 s.
* :class:`NSGA2Searcher` (``"nsga2"``): NSGA-II over several objectives taken from the metrics
  (default: accuracy max, model size min, inference time min; see :mod:`baselines.pareto`).
  Terminated designs are told as failed trials, which NSGA-II ignores.

The study's objective is named (``study.metric_names``: ``["reward"]``, or the NSGA-II metrics).
For a single objective the evaluation's per-epoch validation accuracy (``accuracy_curve``, which
the tabular evaluator records and the trainer measures) is reported to the trial
(``trial.report(value, epoch)``, epochs from 1) before it is told, so
``optuna.visualization.plot_intermediate_values`` and Optuna's pruners can read the curves. (A
multi-objective trial takes no reports: Optuna refuses them.) There is no pruner option: an
evaluation runs to its end inside a worker and is told afterwards, so nothing could stop it at
an epoch through ``study.ask`` / ``study.tell``; stopping early needs the evaluator to ask the
pruner between epochs (a multi-fidelity method), not this searcher.

Optuna is an optional extra (``pip install -e '.[optuna]'`` in a checkout); it is imported when a
searcher is built, and a missing install raises an ``ImportError`` saying so. Building a searcher
sets Optuna's log level to WARNING (Optuna's logger is process-wide). Samplers are seeded with the
searcher's seed, so a seed gives the same designs for the same rewards.

A design told without having been asked (a warm start) is added as a finished trial.

State (``state_dict`` / ``load_state_dict``, for run checkpoints): the study lives in Optuna's own
journal storage (:meth:`OptunaSearcher.bind_storage`: ``optuna.storages.JournalStorage`` on the file
``optuna.journal`` of the run directory, the study named after the run: its folder name and the
first 8 digits of its hash; :func:`~baselines.optuna_params.load_run_study` opens it), so resuming
it is Optuna's documented ``load_study`` and nothing of Optuna is pickled. The checkpoint holds what
the storage does not: the samplers' random states (``RandomState`` arrays), the trials asked and not
yet told, the study's name and the size and SHA-256 of the storage file when it was written. On
resume the file is cut back to that size (operations written after the checkpoint, by asks and tells
the loop will redo, are dropped, as a database rolls back to its last commit), and a file that
differs from what the checkpoint saw is refused.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from abc import abstractmethod
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baselines.base import Searcher
from baselines.optuna_params import (
    STORAGE_FILE,
    action_of,
    load_run_study,
    parameters_of,
    positions_of,
)
from baselines.pareto import OBJECTIVES, Objective
from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace

DISTRIBUTIONS = ("categorical", "int")


def import_optuna() -> Any:
    """Import Optuna with its logging set to WARNING.

    Raises:
        ImportError: If Optuna is not installed, naming the extra that installs it.
    """
    try:
        import optuna
    except ImportError as error:
        from cnn_design_env.search.plugins import install_hint

        raise ImportError("the Optuna searchers ('tpe', 'gp', 'nsga2') need optuna: "
                          f"{install_hint('optuna')}") from error
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class OptunaSearcher(Searcher):
    """An Optuna sampler driven through ``study.ask`` / ``study.tell``.

    Subclasses choose the sampler (:meth:`make_sampler`) and the study's directions.

    Args:
        space: The search space.
        seed: Seed of the sampler.
        distribution: ``"categorical"`` (default) or ``"int"`` per agent.

    Raises:
        ImportError: If Optuna is missing.
        ValueError: If ``distribution`` is unknown.
    """

    name = "optuna"

    def __init__(self, space: SearchSpace, *, seed: int,
                 distribution: str = "categorical") -> None:
        super().__init__(space, seed=seed)
        if distribution not in DISTRIBUTIONS:
            raise ValueError(f"unknown distribution {distribution!r}; expected one of "
                             f"{DISTRIBUTIONS}")
        optuna = import_optuna()
        self._optuna = optuna
        self.distribution = distribution
        self.parameters = parameters_of(space)
        """Per agent, the ``(parameter name, hyperparameter, choices)`` of its tuned
        hyperparameters, in the order of its action set (the last varies fastest)."""
        dist = optuna.distributions
        self.distributions = {
            name: (dist.CategoricalDistribution(choices) if distribution == "categorical"
                   else dist.IntDistribution(0, len(choices) - 1))
            for agent in self.parameters for name, _, choices in agent}
        """The Optuna distribution of each parameter, by parameter name."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = self.make_sampler(optuna)
        self.study = optuna.create_study(sampler=sampler, directions=list(self.directions()))
        self._name_objectives()
        self._pending: dict[Design, deque[int]] = {}  # asked, not told: trial numbers
        self._trials: dict[int, Any] = {}  # trial number -> its optuna Trial (pending ones)
        self.storage_path: Path | None = None
        self._study_name = ""
        self._digest = hashlib.sha256()
        self._digested = 0

    # ------------------------------------------------------------- storage
    def bind_storage(self, directory: str | os.PathLike[str], study_name: str) -> None:
        """Keep the study in Optuna's journal storage, the file ``directory/optuna.journal``.

        Called once, before the first ask. A new file gets a new study; an existing one is
        opened by :meth:`load_state_dict` (after it is cut back to the checkpoint).
        """
        if len(self.study.trials):
            raise RuntimeError("bind_storage must be called before the first ask or tell")
        self.storage_path = Path(directory) / STORAGE_FILE
        self._study_name = study_name
        if not self.storage_path.exists():
            self._open_study()

    def _open_study(self) -> None:
        from optuna.storages import JournalStorage
        from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

        path = str(self.storage_path)
        storage = JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
        self.study = self._optuna.create_study(
            storage=storage, study_name=self._study_name, sampler=self.study.sampler,
            directions=list(self.directions()), load_if_exists=True)
        self._name_objectives()

    def _name_objectives(self) -> None:
        if self.study.metric_names is None:  # a new study (a loaded one has its names)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", self._optuna.exceptions.ExperimentalWarning)
                self.study.set_metric_names(list(self.metric_names()))

    @property
    def study_name(self) -> str:
        """The study's name in its storage (``""`` before :meth:`bind_storage`)."""
        return self._study_name

    def _storage_digest(self) -> tuple[int, str]:
        """Size and SHA-256 of the storage file, hashed incrementally."""
        size = self.storage_path.stat().st_size
        with self.storage_path.open("rb") as handle:
            handle.seek(self._digested)
            self._digest.update(handle.read(size - self._digested))
        self._digested = size
        return size, self._digest.hexdigest()

    def _restore_storage(self, size: int, digest: str) -> None:
        path = self.storage_path
        if not path.is_file() or path.is_symlink() or path.stat().st_size < size:
            raise ValueError(f"{path} is missing or shorter than the checkpoint saw ({size} "
                             "bytes)")
        with path.open("rb") as handle:
            prefix = handle.read(size)
        if hashlib.sha256(prefix).hexdigest() != digest:
            raise ValueError(f"{path} differs from the file the checkpoint saw (SHA-256)")
        if path.stat().st_size > size:
            os.truncate(path, size)  # drop the operations of asks and tells made after it
        Path(f"{path}.lock").unlink(missing_ok=True)  # left by a kill (the run is locked)
        self._digest, self._digested = hashlib.sha256(prefix), size
        self._open_study()

    # --------------------------------------------------------------- state
    def _random_states(self) -> Iterator[tuple[str, Any]]:
        """``(path, LazyRandomState)`` of the sampler and the samplers it holds (once each)."""
        from optuna.samplers._lazy_random_state import LazyRandomState

        seen: set[int] = set()

        def walk(obj: Any, prefix: str, depth: int) -> Iterator[tuple[str, Any]]:
            for name, value in sorted(vars(obj).items()):
                if isinstance(value, LazyRandomState) and id(value) not in seen:
                    seen.add(id(value))
                    yield prefix + name, value
                elif (depth < 2 and hasattr(value, "__dict__")
                      and type(value).__module__.startswith("optuna.samplers")):
                    yield from walk(value, f"{prefix}{name}.", depth + 1)  # nested samplers

        yield from walk(self.study.sampler, "", 0)

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: the samplers' random states, the pending trials and the storage
        file's size and digest (the trials themselves are in the storage).

        Raises:
            NotImplementedError: If the study is not in a storage file (:meth:`bind_storage`):
                a checkpoint then holds no state and a resume replays the journal.
        """
        if self.storage_path is None:
            raise NotImplementedError("an Optuna searcher's state needs its study in a storage "
                                      "file; call bind_storage(directory, study_name) first")
        arrays: dict[str, np.ndarray] = {}
        randoms = {}
        for name, lazy in self._random_states():
            kind, keys, pos, has_gauss, gauss = lazy.rng.get_state(legacy=True)
            arrays[f"random_state/{name}"] = np.asarray(keys, dtype=np.uint32)
            randoms[name] = [kind, int(pos), int(has_gauss), float(gauss)]
        size, digest = self._storage_digest()
        pending = [[list(d.actions), list(q)] for d, q in self._pending.items() if q]
        return arrays, {"random_states": randoms, "pending": pending, "study": self._study_name,
                        "storage": {"file": STORAGE_FILE, "bytes": size, "sha256": digest}}

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`: cut the storage back, ``load_study``, random states.

        Raises:
            ValueError: If the storage file is missing or not the one the checkpoint saw, or the
                random states do not fit this sampler.
        """
        if self.storage_path is None:
            raise RuntimeError("call bind_storage(directory, study_name) before load_state_dict")
        storage = meta["storage"]
        self._study_name = str(meta.get("study") or self._study_name)  # as created (if moved)
        self._restore_storage(int(storage["bytes"]), str(storage["sha256"]))
        states = dict(self._random_states())
        if set(states) != set(meta["random_states"]):
            raise ValueError(f"random states {sorted(meta['random_states'])} do not fit this "
                             f"sampler's {sorted(states)}")
        for name, (kind, pos, has_gauss, gauss) in meta["random_states"].items():
            keys = np.asarray(arrays[f"random_state/{name}"], dtype=np.uint32)
            states[name].rng.set_state((kind, keys, int(pos), int(has_gauss), float(gauss)))
        self._pending = {Design(tuple(int(a) for a in actions)): deque(int(n) for n in numbers)
                         for actions, numbers in meta["pending"]}
        self._trials = {}  # rebuilt from the storage when a pending trial is told

    # ------------------------------------------------------------- sampling
    @abstractmethod
    def make_sampler(self, optuna: Any) -> Any:
        """The Optuna sampler, seeded with ``self.seed``."""

    def directions(self) -> Sequence[str]:
        """The study's directions (single objective: maximise the reward)."""
        return ("maximize",)

    def metric_names(self) -> Sequence[str]:
        """The names of the study's objectives (``study.metric_names``)."""
        return ("reward",)

    # ---------------------------------------------------- parameters <-> design
    def params_of(self, design: Design) -> dict[str, Any]:
        """The Optuna parameters of ``design`` (values, or positions with ``"int"``).

        Example:
            >>> from cnn_design_env.space.tables import table_chain
            >>> searcher = TPESearcher(table_chain(), seed=0)
            >>> params = searcher.params_of(Design((1, 0, 1, 0, 1, 0, 4)))
            >>> params["conv1.kernels"], params["conv2.kernel_size"], params["train.learning_rate"]
            (16, 3, 0.1)
            >>> searcher.design_of(params)
            Design(actions=(1, 0, 1, 0, 1, 0, 4))
        """
        design = self.space.validate(design)
        params: dict[str, Any] = {}
        for agent, action in zip(self.parameters, design.actions, strict=True):
            for (name, _, choices), position in zip(agent, positions_of(agent, action),
                                                    strict=True):
                params[name] = choices[position] if self.distribution == "categorical" \
                    else position
        return params

    def design_of(self, params: Mapping[str, Any]) -> Design:
        """The design whose agents' hyperparameters are ``params`` (as :meth:`params_of`).

        Raises:
            ValueError: If a parameter is missing or not one of its choices.
        """
        actions = []
        for agent in self.parameters:
            positions = []
            for name, _, choices in agent:
                if name not in params:
                    raise ValueError(f"parameter {name!r} is missing from {dict(params)!r}")
                try:
                    positions.append(int(self.distributions[name].to_internal_repr(
                        params[name])))
                except ValueError as error:
                    raise ValueError(f"parameter {name!r} = {params[name]!r} is not one of its "
                                     f"choices {choices}") from error
            actions.append(action_of(agent, positions))
        return Design(tuple(actions))

    def _trial(self, number: int) -> Any:
        """The ``Trial`` of a pending trial number (kept from its ask, or from the storage)."""
        trial = self._trials.pop(number, None)
        if trial is None:  # asked before a resume: find it in the storage
            storage = self.study._storage  # Optuna has no public lookup by trial number
            trial_id = storage.get_trial_id_from_study_id_trial_number(self.study._study_id,
                                                                       number)
            trial = self._optuna.trial.Trial(self.study, trial_id)
        return trial

    def curve(self, metrics: Metrics | None) -> dict[int, float]:
        """What is reported to a trial: ``{epoch: validation accuracy}`` (epochs from 1, finite
        values only); empty for a multi-objective study (Optuna takes no reports there)."""
        if metrics is None or len(self.directions()) > 1:
            return {}
        return {epoch: float(value) for epoch, value in enumerate(metrics.accuracy_curve, 1)
                if np.isfinite(value)}

    def values(self, reward: float, metrics: Metrics | None) -> float | list[float] | None:
        """What Optuna is told for a result; ``None`` tells a failed trial."""
        return float(reward)

    def ask(self) -> Design:
        """The sampler's next design."""
        trial = self.study.ask(self.distributions)
        design = self.design_of(trial.params)
        trial.set_user_attr("design", list(design.actions))
        self._pending.setdefault(design, deque()).append(trial.number)
        self._trials[trial.number] = trial
        return design

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Finish the oldest pending trial of ``design`` (or add a finished one if not asked)."""
        design = self.space.validate(design)
        values = self.values(reward, metrics)
        state = self._optuna.trial.TrialState
        queue = self._pending.get(design)
        curve = self.curve(metrics)
        if queue:
            trial = self._trial(queue.popleft())
            for epoch, value in curve.items():
                trial.report(value, epoch)
            if values is None:
                self.study.tell(trial, state=state.FAIL)
            else:
                self.study.tell(trial, values)
            return
        multi = isinstance(values, list)
        self.study.add_trial(self._optuna.trial.create_trial(
            params=self.params_of(design), distributions=self.distributions,
            state=state.FAIL if values is None else state.COMPLETE,
            values=values if multi else None,
            value=None if values is None or multi else values,
            intermediate_values=curve, user_attrs={"design": list(design.actions)}))


class TPESearcher(OptunaSearcher):
    """Tree-structured Parzen Estimator (Optuna ``TPESampler``), maximising the reward.

    Args:
        space: The search space.
        seed: Seed of the sampler.
        distribution: ``"categorical"`` or ``"int"``.
        n_startup_trials: Random designs before TPE takes over.
        multivariate: Model the agents jointly (Optuna's multivariate TPE).
    """

    name = "tpe"

    def __init__(self, space: SearchSpace, *, seed: int, distribution: str = "categorical",
                 n_startup_trials: int = 10, multivariate: bool = True) -> None:
        self.n_startup_trials = int(n_startup_trials)
        self.multivariate = bool(multivariate)
        super().__init__(space, seed=seed, distribution=distribution)

    def make_sampler(self, optuna: Any) -> Any:
        """A seeded ``TPESampler``."""
        return optuna.samplers.TPESampler(seed=self.seed, n_startup_trials=self.n_startup_trials,
                                          multivariate=self.multivariate)


class GPSearcher(OptunaSearcher):
    """Bayesian optimisation with a Gaussian process (Optuna ``GPSampler``).

    Args:
        space: The search space.
        seed: Seed of the sampler.
        distribution: ``"categorical"`` or ``"int"``.
        n_startup_trials: Random designs before the GP takes over.

    Raises:
        ImportError: If Optuna, ``torch`` or ``scipy`` is missing.
    """

    name = "gp"

    def __init__(self, space: SearchSpace, *, seed: int, distribution: str = "categorical",
                 n_startup_trials: int = 10) -> None:
        self.n_startup_trials = int(n_startup_trials)
        for module in ("torch", "scipy"):  # Optuna would only fail at the first GP ask
            if importlib.util.find_spec(module) is None:
                raise ImportError(f"the 'gp' searcher (Optuna's GPSampler) needs {module}: "
                                  f"pip install {module}")
        super().__init__(space, seed=seed, distribution=distribution)

    def make_sampler(self, optuna: Any) -> Any:
        """A seeded ``GPSampler``."""
        return optuna.samplers.GPSampler(seed=self.seed, n_startup_trials=self.n_startup_trials)


class NSGA2Searcher(OptunaSearcher):
    """NSGA-II (Optuna ``NSGAIISampler``) over objectives read from the metrics.

    The reward is not used: each result is told as the objectives' values; a terminated design
    is a failed trial.

    Args:
        space: The search space.
        seed: Seed of the sampler.
        distribution: ``"categorical"`` or ``"int"``.
        objectives: Metrics to optimise with their directions (default: accuracy max, model size
            min, inference time min).
        population_size: NSGA-II's population (generation) size, >= 2.

    Raises:
        ValueError: If fewer than one objective or ``population_size < 2`` is given.
    """

    name = "nsga2"

    def __init__(self, space: SearchSpace, *, seed: int, distribution: str = "categorical",
                 objectives: Sequence[Objective] = OBJECTIVES,
                 population_size: int = 20) -> None:
        if not objectives:
            raise ValueError("NSGA-II needs at least one objective")
        if int(population_size) < 2:
            raise ValueError(f"population_size must be >= 2, got {population_size!r}")
        self.objectives = tuple(objectives)
        self.population_size = int(population_size)
        super().__init__(space, seed=seed, distribution=distribution)

    def make_sampler(self, optuna: Any) -> Any:
        """A seeded ``NSGAIISampler``."""
        return optuna.samplers.NSGAIISampler(seed=self.seed,
                                             population_size=self.population_size)

    def can_ask_ahead(self, pending: int) -> bool:
        """Always: a generation is a batch of children drawn from the same parents."""
        return True

    def directions(self) -> Sequence[str]:
        """One direction per objective."""
        return tuple(o.direction for o in self.objectives)

    def metric_names(self) -> Sequence[str]:
        """The objectives' metric names."""
        return tuple(o.metric for o in self.objectives)

    def values(self, reward: float, metrics: Metrics | None) -> list[float] | None:
        """The objectives' values; ``None`` (failed trial) for a terminated design.

        Raises:
            ValueError: If ``metrics`` is missing.
        """
        if metrics is None:
            raise ValueError("NSGA-II reads its objectives from the metrics: tell(design, reward, "
                             "metrics) needs metrics")
        if metrics.terminated:
            return None
        return [metrics.value(o.metric) for o in self.objectives]


__all__ = ["DISTRIBUTIONS", "STORAGE_FILE", "GPSearcher", "NSGA2Searcher", "OptunaSearcher",
           "TPESearcher", "import_optuna", "load_run_study"]
