"""``baselines.run``: the runner's Python API, :func:`cnn_design_env.search.runner.run`.

One searcher, one evaluator, one reward, one budget, and the history of it all, through the one
loop of the project (the same as ``cnn-design search`` and ``cnn-design benchmark``). Kept here
so ``from baselines import run, History`` goes on working.
"""

from __future__ import annotations

from cnn_design_env.run.loop import ZERO_COST_LIMIT
from cnn_design_env.search.runner import Evaluation, History, check_budget, run
from cnn_design_env.search.seeds import SEED_BOUND

__all__ = ["SEED_BOUND", "ZERO_COST_LIMIT", "Evaluation", "History", "check_budget", "run"]
