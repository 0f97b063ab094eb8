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
seeds) answer at full fidelity. Each answer's ``metrics.extra`` names its ``trial``, table
``row``, ``seed_column`` and ``fidelity_epochs``, and marks a rung below ``max_epochs`` as
partial (:data:`cnn_design_env.search.fidelity.PARTIAL`), so the final choice ranks full-fidelity
observations only.

**As a registered method** (``asha``, ``hyperband``, ``bohb`` in ``cnn-design search --method``
and ``cnn-design benchmark --methods``): the searcher's
:meth:`~MultiFidelitySearcher.evaluator_for` hook wraps the run's tabular evaluator in a
:class:`FidelityEvaluator` (the runner calls it), and ``max_epochs`` defaults to the table's
recorded epochs. Another evaluator (real training) is refused with a clear error: the trainer
cannot resume a design from an earlier rung.

Example:
    >>> from cnn_design_env.evaluators.tabular import TabularEvaluator
    >>> from cnn_design_env.reward import PaperReward
    >>> from baselines.runner import run
    >>> table = TabularEvaluator("table_chain", seed=0)
    >>> searcher = asha(table.space, seed=0)   # the registered factory; rungs from the table
    >>> history = run(searcher, table, PaperReward(), budget_episodes=30, seed=0)
    >>> searcher.rungs, len(history) == 30, searcher.epochs_used() < 30 * 6
    ((1, 3, 6), True, True)
    >>> sum(e.metrics.epochs for e in history) > searcher.epochs_used()  # continuations
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
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.search.fidelity import PARTIAL
from cnn_design_env.space import Design, SearchSpace

METHODS = ("asha", "hyperband", "bohb")
DEFAULT_MAX_EPOCHS = 12
"""``max_epochs`` of a searcher asked before any table bound it (the new tables' epochs)."""


@dataclass
class Request:
    """A pending evaluation: train ``design`` from epoch ``done`` to ``epochs``.

    Attributes:
        trial: The Optuna trial.
        design: The design.
        epochs: Epochs to reach.
        done: Epochs already trained (and paid) at earlier rungs.
        column: The table's seed column of the trial's first rung (later rungs continue that
            run); set when the first rung is answered.
    """

    trial: Any
    design: Design
    epochs: int
    done: int = 0
    column: int | None = None


class MultiFidelitySearcher(Searcher):
    """An Optuna study with a pruner, trained along a rung ladder of epochs.

    Args:
        space: The search space.
        seed: Seed of the sampler.
        method: One of :data:`METHODS`.
        max_epochs: The highest fidelity; ``None``: the recorded epochs of the table the runner
            binds (:meth:`evaluator_for`), or :data:`DEFAULT_MAX_EPOCHS` if asked before that.
        min_epochs: The first rung.
        reduction_factor: ``eta``: rungs grow by this factor, and a rung keeps ``1 / eta``.

    Raises:
        ValueError: On an unknown method or epochs outside ``1 <= min_epochs <= max_epochs``.
    """

    name = "multifidelity"

    def __init__(self, space: SearchSpace, *, seed: int, method: str = "asha",
                 max_epochs: int | None = None, min_epochs: int = 1,
                 reduction_factor: int = 3) -> None:
        super().__init__(space, seed=seed)
        if method not in METHODS:
            raise ValueError(f"unknown multi-fidelity method {method!r}; expected one of "
                             f"{METHODS}")
        if not (_is_int(min_epochs) and min_epochs >= 1):
            raise ValueError(f"min_epochs must be an integer >= 1, got {min_epochs!r}")
        if not (isinstance(reduction_factor, int) and reduction_factor >= 2):
            raise ValueError(f"reduction_factor must be an integer >= 2, got "
                             f"{reduction_factor!r}")
        self.method, self.name = method, method
        self.min_epochs, self.eta = min_epochs, reduction_factor
        self.max_epochs: int | None = None
        optuna = self._optuna = import_optuna()
        dist = optuna.distributions
        self.distributions = {agent: dist.CategoricalDistribution(tuple(range(n)))
                              for agent, n in zip(space.agents, space.action_sizes, strict=True)}
        self.study: Any = None
        self.rungs: tuple[int, ...] = ()
        self._promoted: deque[Request] = deque()
        self._pending: dict[Design, deque[Request]] = {}
        self._epochs_used = 0
        if max_epochs is not None:
            self._setup(max_epochs)

    def _setup(self, max_epochs: int) -> None:
        """Fix the highest fidelity: the rung ladder and the study (its pruner needs it)."""
        if not (_is_int(max_epochs) and self.min_epochs <= max_epochs):
            raise ValueError(f"need integers 1 <= min_epochs <= max_epochs, got "
                             f"min_epochs={self.min_epochs!r}, max_epochs={max_epochs!r}")
        self.max_epochs = int(max_epochs)
        optuna = self._optuna
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # named: HyperbandPruner puts a trial in a bracket by a hash of the study's name
            # (an unnamed study gets a random one), so the name keeps runs seeded
            self.study = optuna.create_study(
                direction="maximize", sampler=self._sampler(), pruner=self._pruner(),
                study_name=f"{self.method}-seed{self.seed}")
        self.rungs = self._rungs()

    def _ready(self) -> None:
        if self.study is None:
            self._setup(DEFAULT_MAX_EPOCHS)

    def evaluator_for(self, evaluator: Any) -> FidelityEvaluator:
        """The run's tabular ``evaluator`` wrapped to answer each ask at its rung's epochs.

        Sets ``max_epochs`` to the table's recorded epochs when it was not given. A
        :class:`FidelityEvaluator` already bound to this searcher is returned as it is.

        Raises:
            ValueError: If ``evaluator`` is not a tabular evaluator, or ``max_epochs`` exceeds
                the table's recorded epochs (or differs from the epochs it already uses).
        """
        if isinstance(evaluator, FidelityEvaluator) and evaluator.searcher is self:
            return evaluator  # already bound (built by hand)
        if not isinstance(evaluator, TabularEvaluator):
            raise ValueError(
                f"method {self.method!r} trains along epoch rungs and resumes a design where its "
                f"last rung stopped, which needs a table's per-epoch curves: give a "
                f"TabularEvaluator (--evaluator tabular on a table space such as table_chain), "
                f"not {type(evaluator).__name__}")
        recorded = int(evaluator.table.arrays["accuracy_curve"].shape[2])
        if self.study is None:
            self._setup(recorded)
        elif self.max_epochs is not None and self.max_epochs > recorded:
            raise ValueError(f"max_epochs={self.max_epochs} but table "
                             f"{evaluator.table.name!r} records {recorded} epochs")
        return FidelityEvaluator(evaluator, self)

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
        self._ready()
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
        self._ready()
        design = self.space.validate(design)
        queue = self._pending.get(design)
        if not queue:
            self.study.add_trial(self._optuna.trial.create_trial(
                params=dict(zip(self.space.agents, design.actions, strict=True)),
                distributions=self.distributions, value=float(reward)))
            return
        request = queue.popleft()
        if request.column is None and metrics is not None:  # answered from a journal (replay)
            column = metrics.extra.get("seed_column")
            request.column = None if column is None else int(column)
        curve = tuple(metrics.accuracy_curve) if metrics is not None else ()
        if metrics is not None and metrics.terminated:
            reached = metrics.epochs  # answered as recorded: the epochs the run trained
        else:
            reached = min(request.epochs, len(curve)) if curve else request.epochs
        self._epochs_used += max(reached - request.done, 0)
        for epoch in range(request.done + 1, min(reached, len(curve)) + 1):
            request.trial.report(float(curve[epoch - 1]), epoch)
        state = self._optuna.trial.TrialState
        ended = (metrics is None or metrics.terminated or len(curve) < request.epochs
                 or metrics.extra.get(PARTIAL) is False)  # the recorded run ends here
        if ended or request.epochs >= self.max_epochs:
            self.study.tell(request.trial, float(reward))
        elif request.trial.should_prune():
            self.study.tell(request.trial, state=state.PRUNED)
        else:
            self._promoted.append(Request(request.trial, design, self._next_rung(reached),
                                          reached, request.column))

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
        if request.column is None:
            request.column = int(seed) % len(self.table.table.seeds)
        row, column = self.table.row(design), request.column
        metrics = self.table.query(row, column, epochs=request.epochs)
        number = int(request.trial.number)
        self.log.append((number, row, column, request.epochs))
        recorded = self.table.query(row, column).epochs  # where the recorded run ended
        changes: dict[str, Any] = {"extra": {
            **metrics.extra, "trial": number, "seed_column": column,
            "fidelity_epochs": request.epochs,
            PARTIAL: not metrics.terminated and metrics.epochs < recorded}}
        if request.done > 0:  # a continuation: the compilation and earlier epochs were paid
            paid = (self.table.query(row, column, epochs=request.done).cost_s
                    if request.done < metrics.epochs else metrics.cost_s)
            changes.update(cost_s=max(metrics.cost_s - paid, 0.0), compile_s=0.0)
        metrics = dataclasses.replace(metrics, **changes)
        self.clock_s += metrics.cost_s
        return metrics


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def make_searcher(method: str, space: SearchSpace, *, seed: int, **kwargs: Any
                  ) -> MultiFidelitySearcher:
    """A :class:`MultiFidelitySearcher` for ``method`` (one of :data:`METHODS`)."""
    return MultiFidelitySearcher(space, seed=seed, method=method, **kwargs)


def asha(space: SearchSpace, *, seed: int, **options: Any) -> MultiFidelitySearcher:
    """The registered ``asha`` method: random sampling + ``SuccessiveHalvingPruner``."""
    return make_searcher("asha", space, seed=seed, **options)


def hyperband(space: SearchSpace, *, seed: int, **options: Any) -> MultiFidelitySearcher:
    """The registered ``hyperband`` method: random sampling + ``HyperbandPruner``."""
    return make_searcher("hyperband", space, seed=seed, **options)


def bohb(space: SearchSpace, *, seed: int, **options: Any) -> MultiFidelitySearcher:
    """The registered ``bohb`` method: multivariate TPE + ``HyperbandPruner``."""
    return make_searcher("bohb", space, seed=seed, **options)


__all__ = ["DEFAULT_MAX_EPOCHS", "METHODS", "FidelityEvaluator", "MultiFidelitySearcher",
           "Request", "asha", "bohb", "hyperband", "make_searcher"]
