"""The Optuna parameters of a search space, and the Optuna study of a run folder.

Each tuned hyperparameter of each agent is one Optuna parameter named ``layer.hyperparameter``
(``conv1.kernels``). An agent's action set is the Cartesian product of its choice sets (the last
varies fastest, :class:`~cnn_design_env.space.layers.ActionSet`), so an action is a mixed-radix
number whose digits are the positions of its values in their choice sets: :func:`positions_of`
and :func:`action_of` convert between the two without enumerating the action set.

Example:
    >>> from cnn_design_env.space import get_space
    >>> parameters = parameters_of(get_space("vgg_mini"))
    >>> parameters[0]
    (('conv1.kernels', 'kernels', (8, 16, 32)), ('conv1.kernel_size', 'kernel_size', (3, 5)), \
('conv1.stride', 'stride', (1, 2)))
    >>> positions_of(parameters[0], 11), action_of(parameters[0], (2, 1, 1))
    ((2, 1, 1), 11)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cnn_design_env.space import SearchSpace

STORAGE_FILE = "optuna.journal"
"""The file of the Optuna journal storage in a run directory."""

Parameter = tuple[str, str, tuple[Any, ...]]
"""``(parameter name, hyperparameter, choices)``."""


def parameters_of(space: SearchSpace) -> tuple[tuple[Parameter, ...], ...]:
    """Per agent of ``space``, the :data:`Parameter` of each tuned hyperparameter, in the order
    of the agent's action set; the name is ``layer.hyperparameter``."""
    out = []
    for agent in space.agents:
        layer = space.by_name[agent]
        out.append(tuple((f"{layer.name}.{key}", key, tuple(choices))
                         for key, choices in layer.choices.items()))
    return tuple(out)


def positions_of(agent: Sequence[Parameter], action: int) -> tuple[int, ...]:
    """The position of each of ``action``'s values in its choice set."""
    positions = []
    for _, _, choices in reversed(agent):  # the last choice set varies fastest
        action, position = divmod(action, len(choices))
        positions.append(position)
    return tuple(reversed(positions))


def action_of(agent: Sequence[Parameter], positions: Sequence[int]) -> int:
    """The action whose values are at ``positions`` of their choice sets."""
    action = 0
    for (_, _, choices), position in zip(agent, positions, strict=True):
        action = action * len(choices) + int(position)
    return action


def run_storage(run_dir: str | os.PathLike[str]) -> Any:
    """The Optuna ``JournalStorage`` of a run directory (its file ``optuna.journal``).

    Raises:
        FileNotFoundError: If the run has no Optuna study (not an Optuna method's run).
        ImportError: If Optuna is missing.
    """
    from baselines.optuna_search import import_optuna

    path = Path(run_dir) / STORAGE_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{str(run_dir)!r} holds no Optuna study ({STORAGE_FILE} is "
                                "missing: only the 'tpe', 'gp' and 'nsga2' methods keep one)")
    import_optuna()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))


def load_run_study(run_dir: str | os.PathLike[str]) -> Any:
    """The Optuna study of a run directory, by ``optuna.load_study`` (the storage holds one).

    Raises:
        FileNotFoundError: If the run has no Optuna study.
        ImportError: If Optuna is missing.
    """
    import optuna

    return optuna.load_study(study_name=None, storage=run_storage(run_dir))


__all__ = ["STORAGE_FILE", "Parameter", "action_of", "load_run_study", "parameters_of",
           "positions_of", "run_storage"]
