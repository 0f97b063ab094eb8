"""Multi-fidelity search on the epoch curves of a table: ASHA, Hyperband and BOHB-style.

Each method is an Optuna study with a pruner, driven through the searchers' ask/tell
interface (:class:`baselines.base.Searcher`):

* ``"asha"``: random sampling + ``SuccessiveHalvingPruner`` (asynchronous successive halving);
* ``"hyperband"``: random sampling + ``HyperbandPruner`` (several successive-halving brackets);
* ``"bohb"``: multivariate TPE + ``HyperbandPruner``, Optuna's model-based Hyperband (BOHB).

**Fidelity.** A trial is trained along the rung ladder ``min_epochs * eta**k`` (capped at
``max_epochs``, which ends it): :meth:`MultiFidelitySearcher.ask` returns either a new design
(first rung) or a promoted trial's design (its next rung), and :meth:`~MultiFidelitySearcher.
request` tells the evaluator how far to train it. Every epoch's validation accuracy up to the
rung is reported to the trial (``trial.report(accuracy, epoch)``) and the pruner decides
(``trial.should_prune()``) whether the trial stops there; a trial that reaches ``max_epochs``
(or is terminated by the paper's rules) is told the reward.

**Cost.** :class:`FidelityEvaluator` answers a request from a
:class:`~cnn_design_env.evaluators.tabular.TabularEvaluator` at the epochs asked, on the recorded
seed of the trial's first rung, and charges only the epochs added since the trial's previous rung
(training resumes from where it stopped): a trial's total cost is the table's cost at the last
epoch it reached, so a run's simulated seconds are the sum over trials of their cost at the
fidelity they used. Evaluations outside a request (the runner's final re-evaluation on extra
seeds) answer at full fidelity.

Example:
    >>> from cnn_design_env.evaluators.tabular import TabularEvaluator
    >>> from cnn_design_env.reward import PaperReward
    >>> from baselines.runner import run
    >>> table = TabularEvaluator("table_chain", seed=0)
    >>> searcher = make_searcher("asha", table.space, seed=0, max_epochs=6)
    >>> history = run(searcher, FidelityEvaluator(table, searcher), PaperReward(),
    ...               budget_episodes=30, seed=0)
    >>> len(history) == 30 and searcher.epochs_used() <= 30 * 6
    True
"""

from __future__ import annotations

import dataclasses
import warnings
from collections import deque
from dataclasses import dataclass
from typing import Any

from baselines.base import Searcher
from baselines.optuna_search import import_optuna
from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace

METHODS = ("asha", "hyperband", "bohb")


@dataclass
class Request:
    """A pending evaluation: train ``design`` from epoch ``done`` to ``epochs``.

    Attributes:
        trial: The Optuna trial.
        design: The design.
        epochs: Epochs to reach.
        done: Epochs already trained (and paid) at earlier rungs.
        seed: The evaluation seed of the trial's first rung (later rungs continue that run).
    """

    trial: Any
    design: Design
    epochs: int
    done: int = 0
    seed: int | None = None


class MultiFidelitySearcher(Searcher):
    """An Optuna study with a pruner, trained along a rung ladder of epochs.

    Args:
        space: The search space.
        seed: Seed of the sampler.
        method: One of :data:`METHODS`.
        max_epochs: The highest fidelity (the table's recorded epochs).
        min_epochs: The first rung.
        reduction_factor: ``eta``: rungs grow by this factor, and a rung keeps ``1 / eta``.

    Raises:
        ValueError: On an unknown method or epochs outside ``1 <= min_epochs <= max_epochs``.
    """

    name = "multifidelity"

    def __init__(self, space: SearchSpace, *, seed: int, method: str = "asha",
                 max_epochs: int = 12, min_epochs: int = 1, reduction_factor: int = 3) -> None:
        super().__init__(space, seed=seed)
        if method not in METHODS:
            raise ValueError(f"unknown multi-fidelity method {method!r}; expected one of "
                             f"{METHODS}")
        if not (isinstance(min_epochs, int) and isinstance(max_epochs, int)
                and 1 <= min_epochs <= max_epochs):
            raise ValueError(f"need integers 1 <= min_epochs <= max_epochs, got "
                             f"min_epochs={min_epochs!r}, max_epochs={max_epochs!r}")
        if not (isinstance(reduction_factor, int) and reduction_factor >= 2):
            raise ValueError(f"reduction_factor must be an integer >= 2, got "
                             f"{reduction_factor!r}")
        self.method, self.name = method, method
        self.max_epochs, self.min_epochs, self.eta = max_epochs, min_epochs, reduction_factor
        optuna = self._optuna = import_optuna()
        dist = optuna.distributions
        self.distributions = {agent: dist.CategoricalDistribution(tuple(range(n)))
                              for agent, n in zip(space.agents, space.action_sizes, strict=True)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self.study = optuna.create_study(direction="maximize", sampler=self._sampler(),
                                             pruner=self._pruner())
        self.rungs = self._rungs()
        self._promoted: deque[Request] = deque()
        self._pending: dict[Design, deque[Request]] = {}
        self._epochs_used = 0

    def _sampler(self) -> Any:
        samplers = self._optuna.samplers
        if self.method == "bohb":
            return samplers.TPESampler(seed=self.seed, multivariate=True, n_startup_trials=10)
        return samplers.RandomSampler(seed=self.seed)

    def _pruner(self) -> Any:
        pruners = self._optuna.pruners
        if self.method == "asha":
            return pruners.SuccessiveHalvingPruner(min_resource=self.min_epochs,
                                                   reduction_factor=self.eta)
        return pruners.HyperbandPruner(min_resource=self.min_epochs,
                                       max_resource=self.max_epochs,
                                       reduction_factor=self.eta)

    def _rungs(self) -> tuple[int, ...]:
        """``min_epochs * eta**k`` below ``max_epochs``, then ``max_epochs`` (every bracket's
        rungs are among them)."""
        rungs, epochs = [], self.min_epochs
        while epochs < self.max_epochs:
            rungs.append(epochs)
            epochs *= self.eta
        return (*rungs, self.max_epochs)

    def _next_rung(self, done: int) -> int:
        return next(r for r in self.rungs if r > done)

    # ------------------------------------------------------------------ ask / tell
    def ask(self) -> Design:
        """A promoted trial's design (its next rung) if any, else a new trial's (first rung)."""
        if self._promoted:
            request = self._promoted.popleft()
        else:
            trial = self.study.ask(self.distributions)
            design = Design(tuple(int(trial.params[a]) for a in self.space.agents))
            request = Request(trial, design, self.rungs[0])
        self._pending.setdefault(request.design, deque()).append(request)
        return request.design

    def request(self, design: Design) -> Request | None:
        """The oldest pending request for ``design`` (``None``: not asked, full fidelity)."""
        queue = self._pending.get(design)
        return queue[0] if queue else None

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Report the epochs reached, then prune, promote or finish the trial.

        A design told without having been asked is added as a finished trial (a warm start).
        """
        design = self.space.validate(design)
        queue = self._pending.get(design)
        if not queue:
            self.study.add_trial(self._optuna.trial.create_trial(
                params=dict(zip(self.space.agents, design.actions, strict=True)),
                distributions=self.distributions, value=float(reward)))
            return
        request = queue.popleft()
        curve = tuple(metrics.accuracy_curve) if metrics is not None else ()
        if metrics is not None and metrics.terminated:
            reached = metrics.epochs  # answered as recorded: the epochs the run trained
        else:
            reached = min(request.epochs, len(curve)) if curve else request.epochs
        self._epochs_used += max(reached - request.done, 0)
        for epoch in range(request.done + 1, min(reached, len(curve)) + 1):
            request.trial.report(float(curve[epoch - 1]), epoch)
        state = self._optuna.trial.TrialState
        ended = metrics is None or metrics.terminated or len(curve) < request.epochs
        if ended or request.epochs >= self.max_epochs:
            self.study.tell(request.trial, float(reward))
        elif request.trial.should_prune():
            self.study.tell(request.trial, state=state.PRUNED)
        else:
            self._promoted.append(Request(request.trial, design, self._next_rung(reached),
                                          reached, request.seed))

    def epochs_used(self) -> int:
        """Epochs trained over every trial so far (each epoch counted once)."""
        return self._epochs_used


class FidelityEvaluator:
    """A tabular evaluator answering a multi-fidelity searcher's requests (see the module).

    Args:
        table: The tabular evaluator (its recorded epochs are the highest fidelity).
        searcher: The searcher whose :meth:`~MultiFidelitySearcher.request` gives the epochs.

    Attributes:
        space: The table's space.
        clock_s: Simulated seconds charged (epochs added since a trial's previous rung).
        log: ``(trial number, row, seed column, epochs)`` of every request answered.
    """

    def __init__(self, table: Any, searcher: MultiFidelitySearcher) -> None:
        self.table, self.searcher, self.space = table, searcher, table.space
        self.clock_s = 0.0
        self.log: list[tuple[int, int, int, int]] = []

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        """The table's answer at the requested epochs, charged for the epochs added."""
        request = self.searcher.request(self.space.validate(design))
        if request is None:
            metrics = self.table.evaluate(design, seed=seed)
            self.clock_s += metrics.cost_s
            return metrics
        if request.seed is None:
            request.seed = int(seed)
        row = self.table.row(design)
        column = request.seed % len(self.table.table.seeds)
        metrics = self.table.query(row, column, epochs=request.epochs)
        self.log.append((int(request.trial.number), row, column, request.epochs))
        paid = (self.table.query(row, column, epochs=request.done).cost_s
                if 0 < request.done < metrics.epochs else 0.0)
        if paid:  # a continuation: the compilation and the first epochs were paid before
            metrics = dataclasses.replace(metrics, cost_s=max(metrics.cost_s - paid, 0.0),
                                          compile_s=0.0)
        self.clock_s += metrics.cost_s
        return metrics


def make_searcher(method: str, space: SearchSpace, *, seed: int, **kwargs: Any
                  ) -> MultiFidelitySearcher:
    """A :class:`MultiFidelitySearcher` for ``method`` (one of :data:`METHODS`)."""
    return MultiFidelitySearcher(space, seed=seed, method=method, **kwargs)


__all__ = ["METHODS", "FidelityEvaluator", "MultiFidelitySearcher", "Request", "make_searcher"]
