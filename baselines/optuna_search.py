"""Optuna samplers as searchers, through Optuna's ask/tell interface.

Each agent is one Optuna parameter named after the agent: by default a
``CategoricalDistribution`` over its action indices (an action is a combination of choices, so
its index carries no order), or with ``distribution="int"`` an ``IntDistribution(0, |A|-1)``.

* :class:`TPESearcher` (``"tpe"``): Tree-structured Parzen Estimator, maximising the reward.
* :class:`GPSearcher` (``"gp"``): Bayesian optimisation with a Gaussian process (Optuna's
  ``GPSampler``, which needs ``torch`` and ``scipy``); each ask refits the GP, about 0.5 s.
* :class:`NSGA2Searcher` (``"nsga2"``): NSGA-II over several objectives taken from the metrics
  (default: accuracy max, model size min, inference time min; see :mod:`baselines.pareto`).
  Terminated designs are told as failed trials, which NSGA-II ignores.

Optuna is an optional extra (``pip install 'cnn-design-env[optuna]'``); it is imported when a
searcher is built, and a missing install raises an ``ImportError`` saying so. Building a searcher
sets Optuna's log level to WARNING (Optuna's logger is process-wide). Samplers are seeded with the
searcher's seed, so a seed gives the same designs for the same rewards.

A design told without having been asked (a warm start) is added as a finished trial.
"""

from __future__ import annotations

import importlib.util
import warnings
from abc import abstractmethod
from collections import deque
from collections.abc import Sequence
from typing import Any

from baselines.base import Searcher
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
        raise ImportError("the Optuna searchers ('tpe', 'gp', 'nsga2') need optuna: "
                          "pip install 'cnn-design-env[optuna]'") from error
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
        dist = optuna.distributions
        self.distributions = {
            agent: (dist.CategoricalDistribution(tuple(range(n))) if distribution == "categorical"
                    else dist.IntDistribution(0, n - 1))
            for agent, n in zip(space.agents, space.action_sizes, strict=True)
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = self.make_sampler(optuna)
        self.study = optuna.create_study(sampler=sampler, directions=list(self.directions()))
        self._pending: dict[Design, deque[Any]] = {}

    @abstractmethod
    def make_sampler(self, optuna: Any) -> Any:
        """The Optuna sampler, seeded with ``self.seed``."""

    def directions(self) -> Sequence[str]:
        """The study's directions (single objective: maximise the reward)."""
        return ("maximize",)

    def values(self, reward: float, metrics: Metrics | None) -> float | list[float] | None:
        """What Optuna is told for a result; ``None`` tells a failed trial."""
        return float(reward)

    def ask(self) -> Design:
        """The sampler's next design."""
        trial = self.study.ask(self.distributions)
        design = Design(tuple(int(trial.params[a]) for a in self.space.agents))
        self._pending.setdefault(design, deque()).append(trial)
        return design

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Finish the oldest pending trial of ``design`` (or add a finished one if not asked)."""
        design = self.space.validate(design)
        values = self.values(reward, metrics)
        state = self._optuna.trial.TrialState
        queue = self._pending.get(design)
        if queue:
            trial = queue.popleft()
            if values is None:
                self.study.tell(trial, state=state.FAIL)
            else:
                self.study.tell(trial, values)
            return
        params = dict(zip(self.space.agents, design.actions, strict=True))
        multi = isinstance(values, list)
        self.study.add_trial(self._optuna.trial.create_trial(
            params=params, distributions=self.distributions,
            state=state.FAIL if values is None else state.COMPLETE,
            values=values if multi else None,
            value=None if values is None or multi else values))


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

    def directions(self) -> Sequence[str]:
        """One direction per objective."""
        return tuple(o.direction for o in self.objectives)

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


__all__ = ["DISTRIBUTIONS", "GPSearcher", "NSGA2Searcher", "OptunaSearcher", "TPESearcher",
           "import_optuna"]
