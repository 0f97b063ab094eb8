"""Shared helpers for the benchmark scripts (benchmarks/ is not part of the package)."""

from __future__ import annotations

import time
from collections.abc import Callable

from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace


class ConstantEvaluator:
    """Returns the same metrics for every design: measures everything but evaluation."""

    def __init__(self, space: SearchSpace, accuracy: float = 0.5) -> None:
        self.space = space
        self._metrics = Metrics(accuracy=accuracy, epochs=1, cost_s=0.0)

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        return self._metrics


def best_seconds(fn: Callable[[], None], *, number: int, repeats: int) -> float:
    """Best (lowest) wall time of ``number`` calls of ``fn`` over ``repeats`` runs, per call."""
    fn()  # warm up caches
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best
