"""Evaluators: turn a finished design into :class:`Metrics`."""

from cnn_design_env.evaluators.base import (
    NUMERIC_FIELDS,
    Evaluator,
    Metrics,
    safe_evaluate,
)
from cnn_design_env.evaluators.cache import CachedEvaluator

__all__ = ["NUMERIC_FIELDS", "CachedEvaluator", "Evaluator", "Metrics", "safe_evaluate"]
