"""Partial-fidelity evaluations: which observations a final choice may rank.

A multi-fidelity method (see :meth:`~cnn_design_env.search.Searcher.evaluator_for`) evaluates
most designs at low fidelity (a few epochs of a table's curves) and marks each such answer with
``metrics.extra[PARTIAL] = True``. A low-fidelity reward is not comparable with a full one (fewer
epochs, lower accuracy), so the final choice ranks designs by their full-fidelity observations
only; a run that has none yet ranks what it has.

Example:
    >>> from cnn_design_env.evaluators import Metrics
    >>> seen = [("a", Metrics(extra={PARTIAL: True})), ("b", Metrics())]
    >>> [name for name, _ in full_fidelity(seen, lambda item: item[1])]
    ['b']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from cnn_design_env.evaluators.base import Metrics

PARTIAL = "partial_fidelity"
"""The ``Metrics.extra`` key marking an answer below the highest fidelity."""

T = TypeVar("T")


def is_partial(metrics: Metrics) -> bool:
    """Whether ``metrics`` answers below the highest fidelity."""
    return bool(metrics.extra.get(PARTIAL, False))


def full_fidelity(items: Sequence[T], metrics_of: Callable[[T], Metrics]) -> list[T]:
    """The items whose metrics are at full fidelity, in order; all of them if none is.

    Args:
        items: Observations (e.g. ``(design, reward, metrics)`` or history evaluations).
        metrics_of: The metrics of an item.
    """
    full = [item for item in items if not is_partial(metrics_of(item))]
    return full if full else list(items)


__all__ = ["PARTIAL", "full_fidelity", "is_partial"]
