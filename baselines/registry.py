"""The method registry: names to searchers, built only when asked for.

Each name maps to ``"module:factory"``; :func:`make_searcher` imports that one module and calls
``factory(space, seed=seed, **kwargs)``. Nothing is imported or built for the other names (Optuna
and the paper's agents stay unloaded until used).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Any

from baselines.base import Searcher
from cnn_design_env.space import SearchSpace

METHODS: dict[str, str] = {
    "random": "baselines.random_search:RandomSearch",
    "evolution": "baselines.evolution:RegularizedEvolution",
    "tpe": "baselines.optuna_search:TPESearcher",
    "gp": "baselines.optuna_search:GPSearcher",
    "nsga2": "baselines.optuna_search:NSGA2Searcher",
    "qlearning": "baselines.qlearning:QLearningSearcher",
    "marl": "baselines.team:shared_q_searcher",
}
"""Method name -> ``"module:factory"`` of its searcher (``factory(space, *, seed, **kwargs)``)."""


def list_methods() -> list[str]:
    """The registered method names, in registry order.

    Example:
        >>> list_methods()[:3]
        ['random', 'evolution', 'tpe']
    """
    return list(METHODS)


def check_methods(names: Iterable[str]) -> list[str]:
    """``names`` as a list after checking each is registered and none repeats.

    Raises:
        ValueError: On an unknown or repeated name, or no name at all, listing the known ones.
    """
    names = [n.strip() for n in names]
    if not names or not all(names):
        raise ValueError(f"no method given (empty name in {names!r}); known methods: "
                         f"{', '.join(METHODS)}")
    for name in names:
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}; known methods: {', '.join(METHODS)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"methods {repeated} are given more than once")
    return names


def make_searcher(name: str, space: SearchSpace, *, seed: int, **kwargs: Any) -> Searcher:
    """Build the searcher registered as ``name``.

    Args:
        name: A registered method name (see :func:`list_methods`).
        space: The search space.
        seed: The searcher's seed.
        **kwargs: The searcher's own options.

    Raises:
        ValueError: If ``name`` is not registered.
        ImportError: If the method's optional dependency is missing (Optuna, the agents).
    """
    check_methods([name])
    module, attr = METHODS[name].split(":")
    return getattr(importlib.import_module(module), attr)(space, seed=seed, **kwargs)


__all__ = ["METHODS", "check_methods", "list_methods", "make_searcher"]
