"""The ``Searcher`` interface (defined in :mod:`cnn_design_env.search.searcher`, re-exported here
for the baselines that subclass it).

A searcher proposes a complete design with ``ask``; the runner (:mod:`cnn_design_env.search`)
evaluates it with the same evaluator and reward as every other method and reports back with
``tell``. Optional abilities (asking ahead, phase, convergence, state) are hooks on the base
class with safe defaults.
"""

from __future__ import annotations

from cnn_design_env.search.searcher import Searcher

__all__ = ["Searcher"]
