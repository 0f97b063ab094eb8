"""The method registry: the names of ``[project.entry-points."cnn_design_env.methods"]``.

A thin front of :mod:`cnn_design_env.search.plugins` (where the registry lives, fed by package
entry points): :func:`make_searcher` imports the one module of the method asked for and calls
``factory(space, seed=seed, **options)``; nothing is imported for the other names (Optuna and
the paper's agents stay unloaded until used). A ``package.module:factory`` path works wherever a
name does.
"""

from __future__ import annotations

from cnn_design_env.search.plugins import (
    METHODS_GROUP,
    check_methods,
    entry_points,
    list_methods,
    make_searcher,
    method_factory,
    takes_option,
)


def methods() -> dict[str, str]:
    """Method name -> ``"module:factory"`` of every registered method.

    Example:
        >>> methods()["random"]
        'baselines.random_search:RandomSearch'
    """
    return entry_points(METHODS_GROUP)


__all__ = ["check_methods", "list_methods", "make_searcher", "method_factory", "methods",
           "takes_option"]
