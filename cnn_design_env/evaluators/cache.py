"""``CachedEvaluator``: a design already seen is not evaluated again."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator

from cnn_design_env.evaluators.base import Evaluator, Metrics, safe_evaluate
from cnn_design_env.space import Design


class CachedEvaluator:
    """Wraps any evaluator with a cache keyed on the design (and the seed if ``per_seed``).

    A hit returns the stored metrics with ``cached=True`` and ``cost_s=0`` (nothing was trained);
    the cost recorded the first time stays in :meth:`items`. Thread-safe, so it can sit in front of
    evaluations running on an executor.

    Args:
        evaluator: The evaluator to wrap.
        per_seed: Key on ``(design, seed)`` instead of the design alone.

    Example:
        >>> cached = CachedEvaluator(my_evaluator)  # doctest: +SKIP
        >>> cached.evaluate(design, seed=0); cached.evaluate(design, seed=1)  # doctest: +SKIP
        >>> cached.hits, cached.misses  # doctest: +SKIP
        (1, 1)
    """

    def __init__(self, evaluator: Evaluator, *, per_seed: bool = False) -> None:
        self.evaluator = evaluator
        self.space = evaluator.space
        self.per_seed = per_seed
        self.hits = 0
        self.misses = 0
        self._store: dict[object, Metrics] = {}
        self._lock = threading.Lock()

    def _key(self, design: Design, seed: int) -> object:
        return (design, int(seed)) if self.per_seed else design

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        """Return the cached metrics of ``design``, evaluating it on a miss."""
        key = self._key(design, seed)
        with self._lock:
            found = self._store.get(key)
            if found is not None:
                self.hits += 1
                return dataclasses.replace(found, cached=True, cost_s=0.0)
        metrics = safe_evaluate(self.evaluator, design, seed=seed)
        with self._lock:
            self.misses += 1
            self._store.setdefault(key, metrics)
        return metrics

    def __contains__(self, design: Design) -> bool:
        return any((k[0] if self.per_seed else k) == design for k in self._store)

    def __len__(self) -> int:
        return len(self._store)

    def items(self) -> Iterator[tuple[object, Metrics]]:
        """(key, metrics) pairs in insertion order; keys are designs or (design, seed)."""
        with self._lock:
            return iter(list(self._store.items()))

    def preload(self, key: object, metrics: Metrics) -> None:
        """Insert a known result (for resuming a run from its saved cache)."""
        with self._lock:
            self._store[key] = metrics
