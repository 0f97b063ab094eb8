"""cnn-design-env: the design of a CNN as a multi-agent reinforcement-learning problem.

Each tunable layer of an existing CNN is an agent of a PettingZoo AEC environment; agents act in
turn from input to output and share one terminal reward computed from training the design.

Example:
    >>> import cnn_design_env
    >>> space = cnn_design_env.get_space("vgg_mini")
    >>> space.agents[:3]
    ('conv1', 'conv2', 'pool1')
"""

from __future__ import annotations

from typing import Any

from cnn_design_env.evaluators import CachedEvaluator, Evaluator, Metrics
from cnn_design_env.registration import register_envs
from cnn_design_env.reward import Constraint, PaperReward, Reward, WeightedReward
from cnn_design_env.space import Design, Layer, SearchSpace, analyze, get_space, list_spaces

__version__ = "0.1.0"

register_envs()  # gymnasium.make("cnn_design_env/CNNDesign-v0"), pettingzoo registry: cheap

_LAZY = {"env": "cnn_design_env.env", "raw_env": "cnn_design_env.env",
         "CNNDesignEnv": "cnn_design_env.env", "CNNDesignGymEnv": "cnn_design_env.gym_env",
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
    "Layer", "Metrics", "PaperReward", "Reward", "SearchSpace", "WeightedReward", "analyze", "env",
    "get_space", "list_spaces", "load_model", "raw_env", "save_model", "TrainingEvaluator",
]
