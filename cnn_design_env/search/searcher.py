"""The ``Searcher`` interface: ask/tell over designs, with optional hooks the runner reads.

A searcher proposes a complete design with :meth:`Searcher.ask`; the runner
(:mod:`cnn_design_env.search.runner`) evaluates it with the same evaluator and reward as every
other method and reports back with :meth:`Searcher.tell`. Searchers never evaluate anything, so
every method is measured on the same work.

Beyond ask/tell, the runner asks a searcher only through the hooks below (Optuna's
``BaseSampler`` style: methods with safe defaults that a subclass overrides), never by its class
name or private fields. A searcher that does not subclass :class:`Searcher` may define any of
them; the module-level functions of the same names apply the defaults.

* :meth:`~Searcher.can_ask_ahead` ``(pending) -> bool``: may it be asked another design while
  ``pending`` asked ones are not told yet (default ``False``: sequential);
* :meth:`~Searcher.next_phase` ``() -> (phase, epsilon)``: the phase of the next design asked,
  journaled beside it (default ``("", nan)``);
* :meth:`~Searcher.convergence` ``() -> (converged, design, episode)`` (default not converged);
* :meth:`~Searcher.facts` ``() -> dict``: what it knows beyond the journal, for the summary;
* :meth:`~Searcher.state_dict` / :meth:`~Searcher.load_state_dict`: its state as plain data
  (JSON + NumPy arrays) for the checkpoint (default: none, a resume replays the journal);
* :meth:`~Searcher.bind_storage` ``(directory, study_name)``: keep a study in the run folder;
* :meth:`~Searcher.evaluator_for` ``(evaluator) -> evaluator | None``: an evaluator answering
  this searcher's asks at the fidelity it chooses (multi-fidelity methods: epochs of a table's
  curves); default ``None``. A searcher that returns one is evaluated through it, in the
  calling process, one evaluation at a time and never from the run's cache (its repeated asks
  are other fidelities of one training run); the final choice still uses the evaluator given.

Rules every searcher follows (the contract test in ``tests/baselines`` checks them): all
randomness comes from ``seed``; ``ask`` returns a design of ``self.space``; ``tell`` accepts any
design of the space, and the runner calls it once per evaluated design, in ask order.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.space import Design, SearchSpace

Convergence = tuple[bool, tuple[int, ...] | None, int | None]
"""``(converged, design, episode)``: whether, on which design and after which episode."""
NOT_CONVERGED: Convergence = (False, None, None)


class Searcher(ABC):
    """Base class of every search method: ``ask() -> Design``, ``tell(design, reward, metrics)``.

    Args:
        space: The search space to search.
        seed: Seed of every random choice the searcher makes.

    Attributes:
        name: The method's registry name (``"random"``, ``"evolution"``, ...).
        space: The search space.
        seed: The seed it was built with.
        rng: Its random generator, ``np.random.default_rng(seed)``.

    Raises:
        TypeError: If ``space`` is not a ``SearchSpace``.

    Example:
        >>> from cnn_design_env.space import get_space
        >>> class First(Searcher):
        ...     def ask(self):
        ...         return Design((0,) * self.space.num_agents)
        ...     def tell(self, design, reward, metrics=None):
        ...         pass
        >>> searcher = First(get_space("vgg_mini"), seed=0)
        >>> searcher.can_ask_ahead(1), searcher.next_phase()[0], searcher.convergence()
        (False, '', (False, None, None))
    """

    name: ClassVar[str] = "searcher"

    def __init__(self, space: SearchSpace, *, seed: int) -> None:
        if not isinstance(space, SearchSpace):
            raise TypeError(f"{type(self).__name__} needs a SearchSpace, got {space!r}")
        self.space = space
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)

    @abstractmethod
    def ask(self) -> Design:
        """The next design to evaluate."""

    @abstractmethod
    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Report the ``reward`` (and the ``metrics``, when known) of an evaluated ``design``."""

    # ------------------------------------------------------------ optional hooks
    def can_ask_ahead(self, pending: int) -> bool:
        """Whether another design may be asked while ``pending`` (>= 1) are not told yet.

        ``True`` only when that gives the decision it would make sequentially (random search,
        asynchronous evolution, a generation of NSGA-II). Default: ``False``.
        """
        return False

    def next_phase(self) -> tuple[str, float]:
        """``(phase, epsilon)`` of the next design asked (default ``("", nan)``)."""
        return "", math.nan

    def convergence(self) -> Convergence:
        """``(converged, design, episode)`` (default: never converges)."""
        return NOT_CONVERGED

    def facts(self) -> dict[str, Any]:
        """What the searcher knows beyond the journal, for the run's summary (default none)."""
        return {}

    def state_dict(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """``(arrays, meta)``: the state as NumPy arrays (no objects) and JSON.

        Raises:
            NotImplementedError: By default (a resume then replays the journal).
        """
        raise NotImplementedError(f"{type(self).__name__} has no state_dict")

    def load_state_dict(self, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict` into a searcher built with the same settings."""
        raise NotImplementedError(f"{type(self).__name__} has no load_state_dict")

    def bind_storage(self, directory: str | os.PathLike[str], study_name: str) -> None:
        """Keep the searcher's own storage (e.g. an Optuna study) in the run's ``directory``
        (default: nothing to keep)."""
        return

    def evaluator_for(self, evaluator: Any) -> Any | None:
        """An evaluator answering this searcher's asks at the fidelity it chooses, built on
        ``evaluator`` (default ``None``: evaluate with ``evaluator`` as it is).

        Raises:
            ValueError: If the searcher needs another kind of evaluator (naming it).
        """
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(space={self.space.name!r}, seed={self.seed})"


def _hook(searcher: Any, name: str) -> Any:
    method = getattr(searcher, name, None)
    return method if callable(method) else None


def can_ask_ahead(searcher: Any, pending: int) -> bool:
    """``searcher.can_ask_ahead(pending)``; always ``True`` with nothing pending, ``False`` for
    a searcher without the hook."""
    if pending <= 0:
        return True
    hook = _hook(searcher, "can_ask_ahead")
    return bool(hook(pending)) if hook is not None else False


def next_phase(searcher: Any) -> tuple[str, float]:
    """``searcher.next_phase()`` checked (``("", nan)`` without the hook)."""
    hook = _hook(searcher, "next_phase")
    if hook is None:
        return "", math.nan
    phase, epsilon = hook()
    try:
        epsilon = float(epsilon)
    except (TypeError, ValueError):
        epsilon = math.nan
    return (phase if isinstance(phase, str) else ""), epsilon


def convergence(searcher: Any) -> Convergence:
    """``searcher.convergence()`` (not converged without the hook)."""
    hook = _hook(searcher, "convergence")
    if hook is None:
        return NOT_CONVERGED
    done, design, episode = hook()
    return (bool(done), None if design is None else tuple(int(a) for a in design),
            None if episode is None else int(episode))


def facts(searcher: Any) -> dict[str, Any]:
    """``searcher.facts()`` (empty without the hook)."""
    hook = _hook(searcher, "facts")
    return dict(hook()) if hook is not None else {}


def bind_storage(searcher: Any, directory: str | os.PathLike[str], study_name: str) -> None:
    """``searcher.bind_storage(directory, study_name)`` when it has the hook."""
    hook = _hook(searcher, "bind_storage")
    if hook is not None:
        hook(directory, study_name)


def evaluator_for(searcher: Any, evaluator: Any) -> Any | None:
    """``searcher.evaluator_for(evaluator)`` (``None`` without the hook: no fidelity of its own).

    Raises:
        ValueError: If the searcher refuses ``evaluator`` (e.g. a multi-fidelity method given an
            evaluator without epoch curves).
    """
    hook = _hook(searcher, "evaluator_for")
    return hook(evaluator) if hook is not None else None


__all__ = ["NOT_CONVERGED", "Convergence", "Searcher", "bind_storage", "can_ask_ahead",
           "convergence", "evaluator_for", "facts", "next_phase"]
