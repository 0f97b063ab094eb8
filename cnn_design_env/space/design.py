"""``Design``: one action per agent, the unit every search method proposes and every evaluator
scores."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Design:
    """A complete design: the action index chosen by each agent, in agent order.

    Designs are hashable and ordered, so they key caches and tables. Which layer an index belongs
    to, and what values it stands for, is the :class:`~cnn_design_env.space.SearchSpace`'s business
    (``space.hyperparameters(design)``).

    Actions must be integers (Python or NumPy); ``bool``, floats (even ``2.0``) and strings are
    refused, so a mistaken action is never truncated or parsed into another design.

    Raises:
        ValueError: If an action is not an integer.

    Example:
        >>> Design((0, 3, 1)).actions
        (0, 3, 1)
        >>> Design((0, 1.9))
        Traceback (most recent call last):
        ...
        ValueError: action 1 of the design is 1.9 (float); expected an integer action index
    """

    actions: tuple[int, ...]

    def __post_init__(self) -> None:
        actions = self.actions
        if isinstance(actions, (str, bytes)):
            raise ValueError(f"a design is a sequence of integer action indices, got {actions!r}")
        actions = tuple(actions)
        if not all(type(a) is int for a in actions):  # fast path: already Python ints
            actions = tuple(action_index(a, f"action {i} of the design")
                            for i, a in enumerate(actions))
        object.__setattr__(self, "actions", actions)

    def __len__(self) -> int:
        return len(self.actions)

    def __iter__(self):
        return iter(self.actions)

    def __getitem__(self, index: int) -> int:
        return self.actions[index]


def action_index(action: Any, what: str = "action") -> int:
    """``action`` as a Python ``int`` if it is an integer (``bool`` refused), else ValueError.

    Example:
        >>> action_index(True)
        Traceback (most recent call last):
        ...
        ValueError: action is True (bool); expected an integer action index
    """
    if isinstance(action, numbers.Integral) and not isinstance(action, bool):
        return int(action)
    if hasattr(action, "__index__") and not isinstance(action, bool) and getattr(
            action, "dtype", None) is not None and action.dtype.kind in "iu" and action.ndim == 0:
        return int(action)  # a 0-d NumPy integer array
    raise ValueError(f"{what} is {action!r} ({type(action).__name__}); expected an integer "
                     "action index")
