"""Baselines: black-box searchers over designs (ask/tell), the runner that measures them all on
the same work, and the comparison harness.

Example:
    >>> from cnn_design_env.space import get_space
    >>> from baselines import make_searcher
    >>> searcher = make_searcher("random", get_space("vgg_mini"), seed=0)
    >>> len(searcher.ask())
    6
"""

from __future__ import annotations

import importlib
from typing import Any

from baselines.base import Searcher
from baselines.registry import check_methods, list_methods, make_searcher, methods
from baselines.runner import Evaluation, History, run

_LAZY = {
    "RandomSearch": "baselines.random_search",
    "RegularizedEvolution": "baselines.evolution",
    "QLearningSearcher": "baselines.qlearning",
    "EpsilonSchedule": "baselines.qlearning",
    "OptunaSearcher": "baselines.optuna_search",
    "TPESearcher": "baselines.optuna_search",
    "GPSearcher": "baselines.optuna_search",
    "NSGA2Searcher": "baselines.optuna_search",
    "TeamSearcher": "baselines.team",
    "BenchmarkResult": "baselines.compare",
    "benchmark": "baselines.compare",
    "summarize": "baselines.compare",
    "write_report": "baselines.compare",
    "pareto_front": "baselines.pareto",
    "hypervolume": "baselines.pareto",
}


def __getattr__(name: str) -> Any:
    # Searchers and the harness load on first use: no Optuna, agents or plotting at import.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'baselines' has no attribute {name!r}")


__all__ = [
    "BenchmarkResult", "EpsilonSchedule", "Evaluation", "GPSearcher", "History",
    "NSGA2Searcher", "OptunaSearcher", "QLearningSearcher", "RandomSearch",
    "RegularizedEvolution", "Searcher", "TPESearcher", "TeamSearcher", "benchmark",
    "check_methods", "hypervolume", "list_methods", "make_searcher", "methods", "pareto_front",
    "run",
    "summarize", "write_report",
]
