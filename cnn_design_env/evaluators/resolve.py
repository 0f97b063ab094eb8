"""``resolve_evaluator``: turn the env's ``evaluator=`` argument into an evaluator object.

Strings name evaluators that can be built from the space alone:

* ``"tabular"``: :class:`~cnn_design_env.evaluators.tabular.TabularEvaluator` on the shipped
  table of the space (``table_chain``, ``table_inception``), seed 0.

Anything else is returned unchanged (an object with ``evaluate(design, *, seed)``), so the env's
own checks still apply to it.

Example:
    >>> from cnn_design_env.space.tables import table_chain
    >>> resolve_evaluator("tabular", table_chain()).space.name
    'table_chain'
"""

from __future__ import annotations

from typing import Any

from cnn_design_env.space import SearchSpace, get_space

EVALUATOR_NAMES = ("tabular",)
"""Evaluator names :func:`resolve_evaluator` understands."""


def resolve_evaluator(spec: Any, space: str | SearchSpace) -> Any:
    """The evaluator ``spec`` stands for, bound to ``space``.

    Args:
        spec: An evaluator name (see :data:`EVALUATOR_NAMES`) or an evaluator object.
        space: The env's space (a ``SearchSpace`` or a space name).

    Returns:
        A new evaluator for a name; ``spec`` itself otherwise.

    Raises:
        ValueError: On an unknown evaluator name.
        FileNotFoundError: For ``"tabular"`` on a space without a shipped table.
    """
    if not isinstance(spec, str):
        return spec
    if spec == "tabular":
        from cnn_design_env.evaluators.tabular import TabularEvaluator

        if isinstance(space, str):
            space = _table_or_preset(space)
        return TabularEvaluator(space)
    raise ValueError(f"unknown evaluator {spec!r}; expected one of {EVALUATOR_NAMES} or an "
                     "object with evaluate(design, *, seed) -> Metrics")


def _table_or_preset(name: str) -> SearchSpace:
    from cnn_design_env.space.tables import TABLE_SPACES

    return TABLE_SPACES[name]() if name in TABLE_SPACES else get_space(name)


__all__ = ["EVALUATOR_NAMES", "resolve_evaluator"]
