"""A run's identity: the settings that make its evaluations what they are, and their hash.

The identity is the run's :class:`~cnn_design_env.run.config.RunConfig` without what may change
from one session to the next (the total of evaluations, the workers, the scheduler), plus a
signature of the search space (agents, action sizes, edges, input shape, classes, task). Its
SHA-256 (:func:`run_hash`) is written in the run's marker, in its checkpoint and in every journal
line, so a checkpoint, a journal line or a ``config.json`` that belongs to another run, or was
edited, is refused with what differs named (:func:`differences`).

Example:
    >>> from cnn_design_env.evaluators.executors import EvaluatorSpec
    >>> from cnn_design_env.run.config import RunConfig
    >>> a = RunConfig(space="vgg_mini", method="random", episodes=3,
    ...               evaluator=EvaluatorSpec("tabular", "vgg_mini"))
    >>> run_hash(identity(a)) == run_hash(identity(a.with_changes(episodes=9, workers=2)))
    True
    >>> differences(identity(a), identity(a.with_changes(method="evolution")))
    ["method: 'random' here, 'evolution' there"]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

SESSION_SETTINGS = ("format", "episodes", "workers", "scheduler", "scheduler_timeout", "data")
"""Settings that may change between sessions of one run (not part of its identity)."""


def space_signature(name: str) -> dict[str, Any]:
    """The structure of the space ``name`` that its designs depend on.

    Raises:
        ValueError: On an unknown space.
    """
    from cnn_design_env.evaluators.executors import resolve_space

    space = resolve_space(name)
    return {"agents": list(space.agents), "action_sizes": [int(n) for n in space.action_sizes],
            "edges": [list(e) for e in getattr(space, "agent_edges", ())],
            "input_shape": list(getattr(space, "input_shape", ())),
            "num_classes": int(getattr(space, "num_classes", 0)),
            "task": str(getattr(space, "task", ""))}


def identity(config: Any) -> dict[str, Any]:
    """The identity document of a :class:`~cnn_design_env.run.config.RunConfig`."""
    data = {k: v for k, v in config.to_dict().items() if k not in SESSION_SETTINGS}
    data["space_signature"] = space_signature(config.space)
    return json.loads(json.dumps(data, sort_keys=True, default=str))


def run_hash(document: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of an identity document."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def differences(here: Mapping[str, Any], there: Mapping[str, Any]) -> list[str]:
    """The settings whose values differ, as ``"key: X here, Y there"`` lines."""
    keys = sorted(set(here) | set(there))
    return [f"{k}: {here.get(k)!r} here, {there.get(k)!r} there" for k in keys
            if here.get(k) != there.get(k)]


__all__ = ["SESSION_SETTINGS", "differences", "identity", "run_hash", "space_signature"]
