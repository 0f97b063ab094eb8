"""``TabularEvaluator``: answer from a table of designs the trainer really trained (microseconds).

Like NAS-Bench-201, every design of a small space was trained with
:class:`~cnn_design_env.evaluators.training.TrainingEvaluator` once per seed (two seeds), and the
:class:`Metrics` it recorded are looked up instead of training again: a design's row is the
mixed-radix number of its action indices (O(1)), see :mod:`cnn_design_env.tables`.

**Which recorded seed answers.** With ``pick="seed"`` (the default) the evaluator draws, from its
own generator ``np.random.default_rng(seed)`` at construction, a column (recorded seed) for each
of :data:`PICK_SLOTS` slots; ``evaluate(design, seed=s)`` answers from the column of slot
``s % PICK_SLOTS``. The answer is a pure function of ``(evaluator seed, s, design)``, so an env
reset with the same seed replays the same rewards (its evaluation seed comes from the env's
``np_random``), while different evaluation seeds see the seed-to-seed noise of real training.
With ``pick="random"`` each call draws the column from the evaluator's generator instead
(``s`` is ignored: reproducible only for the same sequence of calls).

**Simulated clock.** Each answer charges its recorded ``cost_s`` to :attr:`clock_s`: the wall
seconds of a *cold* evaluation on the generating machine (training + the architecture's compile
time, see the table's ``measured_cost_s`` for the raw timings), so searches can be budgeted in
simulated seconds.

**Epochs as a fidelity.** ``epochs=e`` (below the recorded number) answers as if training had
stopped after epoch ``e``: accuracy and curves up to ``e``, cost ``compile + training x (epochs
trained up to e, runs before a restart included) / epochs trained``. Terminated evaluations
are returned as recorded at every fidelity.

Example:
    >>> evaluator = TabularEvaluator("table_chain", seed=0)
    >>> metrics = evaluator.evaluate(evaluator.space.sample(np.random.default_rng(0)), seed=3)
    >>> 0 <= metrics.accuracy <= 1, evaluator.clock_s == metrics.cost_s
    (True, True)
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType

import numpy as np

from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.space import Design, SearchSpace
from cnn_design_env.space.bench import BENCH_SPACES
from cnn_design_env.space.tables import TABLE_SPACES
from cnn_design_env.tables import Table, load_table, space_fingerprint

PICK_SLOTS = 1 << 16
"""Slots of the ``pick="seed"`` column table (evaluation seeds are taken modulo this)."""
PICKS = ("seed", "random")


class TabularEvaluator:
    """Looks designs up in a table recorded by the trainer; charges recorded costs to a clock.

    Args:
        space_or_table: A table space (its table is the shipped one of the same name), a table
            name (``"table_chain"``, ``"table_inception"``) or a path to a table ``.npz``.
        seed: Seed of the evaluator's own generator (which recorded seed answers).
        pick: ``"seed"`` (deterministic in the ``seed`` passed to :meth:`evaluate`) or
            ``"random"`` (drawn per call); see the module docstring.
        epochs: Fidelity: answer as if trained for this many epochs (``None``: all recorded).
        table: A table name, path or :class:`~cnn_design_env.tables.Table` to use instead of the
            one named after the space.

    Attributes:
        space: The table's search space.
        table: The loaded table.
        clock_s: Simulated seconds charged so far (sum of the recorded costs answered).
        queries: Number of :meth:`evaluate` calls answered.

    Raises:
        FileNotFoundError: If there is no such table.
        ValueError: If the space differs from the one the table was generated for, or an argument
            is out of range.
    """

    def __init__(self, space_or_table: SearchSpace | str | Path, *, seed: int = 0,
                 pick: str = "seed", epochs: int | None = None,
                 table: str | Path | Table | None = None) -> None:
        if pick not in PICKS:
            raise ValueError(f"pick must be one of {PICKS}, got {pick!r}")
        if isinstance(space_or_table, SearchSpace):
            space = space_or_table
            source = space.name if table is None else table
        else:
            space, source = None, space_or_table if table is None else table
        self.table = source if isinstance(source, Table) else load_table(source)
        self.space = space if space is not None else _space_of(self.table)
        if space_fingerprint(self.space) != self.table.fingerprint:
            raise ValueError(
                f"space {self.space.name!r} differs from the space table {self.table.name!r} was "
                f"generated for (fingerprint {space_fingerprint(self.space)} != "
                f"{self.table.fingerprint}); use get_space({self.table.name!r})")
        recorded = self.table.arrays["accuracy_curve"].shape[2]
        if epochs is not None and not (isinstance(epochs, int) and 1 <= epochs <= recorded):
            raise ValueError(f"epochs must be an integer in [1, {recorded}] or None, "
                             f"got {epochs!r}")
        self.seed, self.pick, self.epochs = seed, pick, epochs
        self.rng = np.random.default_rng(seed)
        num_seeds = len(self.table.seeds)
        self._pick_slots = self.rng.integers(num_seeds, size=PICK_SLOTS).tolist()
        self._num_seeds = num_seeds
        self._sizes = self.space.action_sizes
        self._radix = [int(r) for r in self.table.radix]
        self._by_seed = pick == "seed"
        self._rows: dict[tuple[int, ...], int] = {}
        self._metrics: list[Metrics | None] = [None] * (self.table.num_designs * num_seeds)
        self.clock_s = 0.0
        self.queries = 0

    # ------------------------------------------------------------------ public
    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        """The recorded :class:`Metrics` of ``design`` (one recorded seed, see ``pick``).

        Args:
            design: A design of :attr:`space` (or a sequence of action indices).
            seed: Evaluation seed; selects the recorded seed with ``pick="seed"``.

        Raises:
            ValueError: If ``design`` is not a design of the table's space.
        """
        actions = design.actions if type(design) is Design else tuple(design)
        row = self._rows.get(actions)
        if row is None:  # first time: validate and remember (at most one entry per design)
            row = self._rows[actions] = self.row(actions)
        if self._by_seed:
            column = self._pick_slots[int(seed) % PICK_SLOTS]
        else:
            column = int(self.rng.integers(self._num_seeds))
        index = row * self._num_seeds + column
        metrics = self._metrics[index]
        if metrics is None:
            metrics = self._metrics[index] = self.query(row, column)
        self.clock_s += metrics.cost_s
        self.queries += 1
        return metrics

    def row(self, design: Design | tuple[int, ...]) -> int:
        """The table row of ``design``.

        Raises:
            ValueError: If ``design`` has the wrong length or an action out of range.
        """
        actions = design.actions if isinstance(design, Design) else tuple(design)
        if len(actions) != len(self._sizes):
            raise ValueError(f"design {tuple(actions)} has {len(actions)} actions but table "
                             f"{self.table.name!r} has {len(self._sizes)} agents "
                             f"{self.space.agents}")
        row = 0
        for action, size, radix in zip(actions, self._sizes, self._radix, strict=True):
            if not (isinstance(action, int | np.integer) and 0 <= action < size):
                raise ValueError(self._outside(actions))
            row += int(action) * radix
        return row

    def query(self, row: int, column: int, *, epochs: int | None = None) -> Metrics:
        """The Metrics recorded in ``row`` for seed column ``column`` (no clock charge).

        Args:
            row: Table row (see :meth:`row`).
            column: Index into ``table.seeds``.
            epochs: Fidelity (default: the evaluator's ``epochs``).
        """
        a = self.table.arrays
        epochs = self.epochs if epochs is None else epochs
        acc_curve = a["accuracy_curve"][row, column]
        loss_curve = a["loss_curve"][row, column]
        acc_curve = tuple(acc_curve[np.isfinite(acc_curve)].tolist())
        loss_curve = tuple(loss_curve[np.isfinite(loss_curve)].tolist())
        reason = str(a["reasons"][a["reason"][row, column]])
        threshold = int(a["epochs_to_threshold"][row, column])
        fields = dict(
            accuracy=float(a["accuracy"][row, column]),
            model_size_mb=float(a["model_size_mb"][row]), params=int(a["params"][row]),
            flops=int(a["flops"][row]), train_ms_per_batch=float(a["train_ms"][row, column]),
            infer_ms_per_batch=float(a["infer_ms"][row, column]),
            epochs=int(a["epochs"][row, column]),
            epochs_to_threshold=None if threshold < 0 else threshold,
            loss_curve=loss_curve, accuracy_curve=acc_curve,
            cost_s=float(a["cost_s"][row, column]), compile_s=float(a["compile_s"][row, column]),
            terminated=bool(reason), reason=reason,
            restarts=int(a["restarts"][row, column]))
        if epochs is not None and not reason and epochs < fields["epochs"]:
            total = max(int(a["total_epochs"][row, column]), 1)
            trained = total - fields["epochs"] + epochs  # runs before a restart count in full
            training = fields["cost_s"] - fields["compile_s"]
            fields.update(accuracy=acc_curve[epochs - 1], epochs=epochs,
                          accuracy_curve=acc_curve[:epochs], loss_curve=loss_curve[:epochs],
                          cost_s=fields["compile_s"] + training * trained / total)
            if threshold > epochs:
                fields["epochs_to_threshold"] = None
        fields["extra"] = MappingProxyType({
            "table": self.table.name, "row": row, "recorded_seed": self.table.seeds[column],
            "measured_cost_s": float(a["measured_cost_s"][row, column]),
            "total_epochs": int(a["total_epochs"][row, column])})
        return Metrics(**fields)

    def fidelities(self, row: int, column: int) -> list[Metrics]:
        """The entry ``(row, column)`` at every fidelity: ``[query(row, column, epochs=e)
        for e = 1 .. recorded epochs]`` (no clock charge).

        A terminated entry answers as recorded at every fidelity (see the module docstring),
        so its list repeats one answer.

        Raises:
            IndexError: If ``row`` or ``column`` is outside the table.
        """
        if not (0 <= row < self.table.num_designs and 0 <= column < self._num_seeds):
            raise IndexError(f"entry ({row}, {column}) is outside table {self.table.name!r} "
                             f"({self.table.num_designs} rows, {self._num_seeds} seeds)")
        recorded = int(self.table.arrays["accuracy_curve"].shape[2])
        return [self.query(row, column, epochs=e) for e in range(1, recorded + 1)]

    def all_metrics(self) -> Iterator[Metrics]:
        """Every recorded entry (each design x seed), e.g. for top-1 % reward thresholds."""
        for row in range(self.table.num_designs):
            for column in range(self._num_seeds):
                yield self.query(row, column)

    def reset_clock(self) -> None:
        """Set :attr:`clock_s` and :attr:`queries` back to 0."""
        self.clock_s, self.queries = 0.0, 0

    def _outside(self, actions: tuple) -> str:
        bad = [f"{agent}={action!r} (expected 0..{size - 1})" for agent, action, size
               in zip(self.space.agents, actions, self._sizes, strict=True)
               if not (isinstance(action, int | np.integer) and 0 <= action < size)]
        return (f"design {tuple(actions)} is outside table {self.table.name!r}: "
                f"{', '.join(bad)}")

    def __repr__(self) -> str:
        return (f"TabularEvaluator({self.table.name!r}, designs={self.table.num_designs}, "
                f"seeds={self.table.seeds}, pick={self.pick!r}, clock_s={self.clock_s:.1f})")


def _space_of(table: Table) -> SearchSpace:
    """The table space named in ``table``'s metadata."""
    known = {**TABLE_SPACES, **BENCH_SPACES}
    if table.name not in known:
        raise ValueError(f"table {table.name!r} is not of a known table space "
                         f"({sorted(known)}); pass its SearchSpace instead")
    return known[table.name]()


__all__ = ["PICK_SLOTS", "TabularEvaluator"]
