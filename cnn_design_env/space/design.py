"""``Design``: one action per agent, the unit every search method proposes and every evaluator
scores."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Design:
    """A complete design: the action index chosen by each agent, in agent order.

    Designs are hashable and ordered, so they key caches and tables. Which layer an index belongs
    to, and what values it stands for, is the :class:`~cnn_design_env.space.SearchSpace`'s business
    (``space.hyperparameters(design)``).

    Example:
        >>> Design((0, 3, 1)).actions
        (0, 3, 1)
    """

    actions: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "actions", tuple(int(a) for a in self.actions))

    def __len__(self) -> int:
        return len(self.actions)

    def __iter__(self):
        return iter(self.actions)

    def __getitem__(self, index: int) -> int:
        return self.actions[index]
