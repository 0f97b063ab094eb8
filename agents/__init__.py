"""Teams of per-layer agents that play the CNN-design env.

* :class:`SharedQAgents`: the paper's multi-agent Q-learning, one Q-table per edge of the agent
  graph shared by the two agents it joins (Algorithms 1-3, two phases, convergence).
* :class:`IndependentQAgents`: the ablation with one independent Q-vector per agent.
* :func:`train`: the textbook AEC loop on the project's one runner (history, callbacks, the
  runner's journal and checkpoint, resume).

The tabular teams and the loop import NumPy only (no JAX, no PettingZoo).

Example:
    >>> import cnn_design_env
    >>> from cnn_design_env import Metrics
    >>> class Constant:
    ...     def evaluate(self, design, *, seed):
    ...         return Metrics(accuracy=0.5, epochs=1)
    >>> env = cnn_design_env.env("vgg_mini", evaluator=Constant())
    >>> team = SharedQAgents(env.unwrapped.space, seed=0)
    >>> result = train(env, team, episodes=5, seed=0)
    >>> len(result.history), result.history[0].phase
    (5, 'exploration')
"""

from __future__ import annotations

from typing import Any

from agents.base import EpisodeInfo, TabularTeam
from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.independent import IndependentQAgents
from agents.loop import EpisodeRecord, TrainResult, play_episode, progress, train
from agents.qtables import AgentTables, QTables
from agents.schedules import (
    COMPOUNDING_ALPHA,
    COMPOUNDING_EPSILON,
    PAPER_ALPHA,
    PAPER_EPSILON,
    Constant,
    ExponentialDecay,
    PaperDecay,
    Schedule,
)
from agents.shared_q import SharedQAgents

_LAZY = {"ReinforceTeam": "agents.reinforce"}


def __getattr__(name: str) -> Any:
    # The REINFORCE team imports JAX; load it on first use so the tabular teams stay light.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agents' has no attribute {name!r}")


__all__ = [
    "COMPOUNDING_ALPHA", "COMPOUNDING_EPSILON", "PAPER_ALPHA", "PAPER_EPSILON", "AgentTables",
    "Constant", "EpisodeInfo", "EpisodeRecord",
    "ExponentialDecay", "IndependentQAgents", "PaperDecay", "QTables", "Schedule",
    "SharedQAgents", "TabularTeam", "TrainResult", "load_checkpoint", "play_episode", "progress",
    "save_checkpoint", "train",
]
