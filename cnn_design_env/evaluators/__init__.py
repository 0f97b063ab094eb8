"""Evaluators: turn a finished design into :class:`Metrics`."""

from cnn_design_env.evaluators.base import (
    NUMERIC_FIELDS,
    Evaluator,
    Metrics,
    safe_evaluate,
)
from cnn_design_env.evaluators.cache import CachedEvaluator
from cnn_design_env.evaluators.tabular import TabularEvaluator


def __getattr__(name: str):
    if name == "TrainingEvaluator":  # imports JAX: load on first use
        from cnn_design_env.evaluators.training import TrainingEvaluator

        return TrainingEvaluator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["NUMERIC_FIELDS", "CachedEvaluator", "Evaluator", "Metrics", "TabularEvaluator",
           "TrainingEvaluator",
           "safe_evaluate"]
