"""Every answer of a :class:`~cnn_design_env.evaluators.tabular.TabularEvaluator` as dense arrays.

:func:`tabulate` asks the evaluator's own :meth:`query` for every (fidelity, design, recorded
seed) of its table, so the arrays hold exactly the ``Metrics`` the PettingZoo env would see,
fidelity arithmetic included, and :func:`tabulate_reward` scores each of those ``Metrics`` with
the reward (host side, any ``Metrics -> float``). The JAX env gathers from these arrays.

Pure NumPy.

Example:
    >>> from cnn_design_env.evaluators.tabular import TabularEvaluator
    >>> arrays = tabulate(TabularEvaluator("table_chain"))
    >>> arrays.fields["accuracy"].shape, arrays.reasons
    ((6, 320, 2), ('', 'loss'))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnn_design_env.evaluators.base import NUMERIC_FIELDS, Metrics
from cnn_design_env.evaluators.tabular import TabularEvaluator

INT_FIELDS = frozenset(f.name for f in dataclasses.fields(Metrics)
                       if f.name in NUMERIC_FIELDS and f.type in ("int", "int | None"))
"""Integer ``Metrics`` fields (``epochs_to_threshold`` stores ``None`` as ``-1``)."""


@dataclass(frozen=True, eq=False)
class TableArrays:
    """Dense ``(E, D, S)`` arrays of a table's answers: fidelity ``e + 1``, row, seed column.

    Attributes:
        fields: Numeric ``Metrics`` field -> array (float64, or int64 for :data:`INT_FIELDS`;
            ``epochs_to_threshold`` is ``-1`` for ``None``).
        terminated: Whether each answer is a terminated evaluation.
        reason: Index into :attr:`reasons` (0 = not terminated).
        reasons: Termination reason strings, ``reasons[0] == ""``.
        metrics: The ``Metrics`` themselves, ``metrics[e][row][column]``.
    """

    fields: dict[str, np.ndarray]
    terminated: np.ndarray
    reason: np.ndarray
    reasons: tuple[str, ...]
    metrics: tuple[tuple[tuple[Metrics, ...], ...], ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(E, D, S)``: fidelities, designs, recorded seeds."""
        return self.terminated.shape

    def tree(self) -> dict[str, np.ndarray]:
        """The arrays as the metrics pytree of :mod:`cnn_design_env.jax.rewards`."""
        return {**self.fields, "terminated": self.terminated}


def tabulate(evaluator: TabularEvaluator) -> TableArrays:
    """Query every (fidelity, row, column) of ``evaluator``'s table (no clock charge).

    Raises:
        ValueError: If a recorded ``reason`` is not one of the table's reason strings.
    """
    table = evaluator.table
    epochs = table.arrays["accuracy_curve"].shape[2]
    rows, columns = table.num_designs, len(table.seeds)
    reasons = tuple(str(r) for r in table.arrays["reasons"])
    metrics = tuple(tuple(tuple(evaluator.query(row, column, epochs=e) for column in range(columns))
                          for row in range(rows)) for e in range(1, epochs + 1))
    flat = [m for per_e in metrics for per_row in per_e for m in per_row]
    shape = (epochs, rows, columns)
    fields = {}
    for name in sorted(NUMERIC_FIELDS):
        if name in INT_FIELDS:
            values = [-1 if getattr(m, name) is None else getattr(m, name) for m in flat]
            fields[name] = np.asarray(values, dtype=np.int64).reshape(shape)
        else:
            fields[name] = np.asarray([getattr(m, name) for m in flat],
                                      dtype=np.float64).reshape(shape)
    unknown = sorted({m.reason for m in flat} - set(reasons))
    if unknown:
        raise ValueError(f"table {table.name!r} answers reasons {unknown} outside its "
                         f"reasons {reasons}")
    reason = np.asarray([reasons.index(m.reason) for m in flat], dtype=np.int64).reshape(shape)
    terminated = np.asarray([m.terminated for m in flat], dtype=bool).reshape(shape)
    return TableArrays(fields, terminated, reason, reasons, metrics)


def tabulate_reward(arrays: TableArrays, reward: Callable[[Metrics], float]) -> np.ndarray:
    """``reward(metrics)`` of every answer, float64 ``(E, D, S)`` (host side, any reward)."""
    return np.asarray([[[float(reward(m)) for m in per_row] for per_row in per_e]
                       for per_e in arrays.metrics], dtype=np.float64)


__all__ = ["INT_FIELDS", "TableArrays", "tabulate", "tabulate_reward"]
