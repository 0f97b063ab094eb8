"""cnn-design-env: the design of a CNN as a multi-agent reinforcement-learning problem.

Each tunable layer of an existing CNN is an agent of a PettingZoo AEC environment; agents act in
turn from input to output and share one terminal reward computed from training the design.

``cnn_design_env.env(...)``, ``parallel_env(...)`` and ``raw_env(...)`` are those of the versioned
env module :mod:`cnn_design_env.cnn_design_v0` (PettingZoo's convention), loaded on first use:
importing the package (or its pure parts, the search space and the reward) imports neither
PettingZoo, Gymnasium nor JAX. See :mod:`cnn_design_env.registration` for the registries.

Example:
    >>> import cnn_design_env
    >>> space = cnn_design_env.get_space("vgg_mini")
    >>> space.agents[:3]
    ('conv1', 'conv2', 'pool1')
"""

from __future__ import annotations

from typing import Any

from cnn_design_env.evaluators import CachedEvaluator, Evaluator, Metrics
from cnn_design_env.registration import register_loaded
from cnn_design_env.reward import Constraint, PaperReward, Reward, WeightedReward
from cnn_design_env.space import Design, Layer, SearchSpace, analyze, get_space, list_spaces

__version__ = "0.1.0"

register_loaded()  # only in the registries of Gymnasium / PettingZoo if already imported

_LAZY = {"env": "cnn_design_env.cnn_design_v0", "raw_env": "cnn_design_env.cnn_design_v0",
         "parallel_env": "cnn_design_env.cnn_design_v0",
         "CNNDesignEnv": "cnn_design_env.cnn_design_v0",
         "CNNDesignGymEnv": "cnn_design_env.gym_env",
         "TrainingEvaluator": "cnn_design_env.evaluators.training",
         "load_model": "cnn_design_env.model_io", "save_model": "cnn_design_env.model_io"}


def __getattr__(name: str) -> Any:
    # The env imports PettingZoo; load it on first use so the pure core stays light.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'cnn_design_env' has no attribute {name!r}")


__all__ = [
    "CNNDesignEnv", "CNNDesignGymEnv", "CachedEvaluator", "Constraint", "Design", "Evaluator",
    "Layer", "Metrics", "PaperReward", "Reward", "SearchSpace", "TrainingEvaluator",
    "WeightedReward", "analyze", "env", "get_space", "list_spaces", "load_model", "parallel_env",
    "raw_env", "save_model",
]
