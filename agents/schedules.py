"""Learning-rate and exploration-rate schedules of the exploration-exploitation phase.

A schedule maps ``k``, the number of episodes already finished in the exploration-exploitation
phase, to a value. The paper (section VI-B, Eq. 3) writes ``alpha_new = alpha_old * 0.999 **
n_episode`` and decays epsilon "similar to Eq. 3" with base 0.99. Its results fix the reading:

* section VIII-G: switching the decay from ``0.99 ** n`` to ``0.98 ** n`` "cuts the phase to
  half": true of a plain exponential ``0.99 ** k`` (``ln 0.98 / ln 0.99 = 2.01``), while the
  compounding reading (``alpha_old`` multiplied again every episode) shortens it by ``x0.71``;
* section VIII-A / Fig. 9b: actions are "mostly random in the first 50 episodes" and the optimum
  is found "around episode 260": ``0.99 ** 50 = 0.605`` and ``0.99 ** 260 = 0.073``, where the
  compounding reading gives ``epsilon = 2.7e-6`` at episode 50.

So the defaults are the plain exponential :class:`ExponentialDecay` (:data:`PAPER_EPSILON`:
``epsilon_k = 0.99 ** k``; :data:`PAPER_ALPHA`: ``alpha_k = 0.95 * 0.999 ** k``). The literal
compounding reading, ``value(k) = initial * base ** (1 + 2 + ... + k)``, stays as
:class:`PaperDecay` (:data:`COMPOUNDING_EPSILON`, :data:`COMPOUNDING_ALPHA`). The closed forms
make a schedule stateless, so a resumed run needs only ``k``.

Example:
    >>> round(PAPER_EPSILON.value(50), 3), round(PAPER_EPSILON.value(260), 3)
    (0.605, 0.073)
    >>> round(PAPER_ALPHA.value(0), 6), round(PAPER_ALPHA.value(2), 6)
    (0.95, 0.948101)
    >>> f"{COMPOUNDING_EPSILON.value(50):.1e}"
    '2.7e-06'
    >>> schedule_from_dict(PAPER_EPSILON.to_dict()) == PAPER_EPSILON
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["COMPOUNDING_ALPHA", "COMPOUNDING_EPSILON", "PAPER_ALPHA", "PAPER_EPSILON", "Constant",
           "ExponentialDecay", "PaperDecay", "Schedule", "schedule_from_dict"]


@runtime_checkable
class Schedule(Protocol):
    """A value as a function of the episodes finished in the exploration-exploitation phase."""

    def value(self, k: int) -> float:
        """The value for an episode after ``k`` finished episodes of the phase (``k >= 0``)."""
        ...

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly description, inverse of :func:`schedule_from_dict`."""
        ...


def _check_unit(name: str, value: float, *, open_low: bool = False) -> None:
    if not (0.0 < value <= 1.0 if open_low else 0.0 <= value <= 1.0):
        bound = "(0, 1]" if open_low else "[0, 1]"
        raise ValueError(f"{name} must be in {bound}, got {value!r}")


@dataclass(frozen=True)
class PaperDecay:
    """Eq. 3 read literally, compounding: ``initial * base ** (k * (k + 1) / 2)``.

    Not the default: it contradicts the paper's own results (module docstring). With ``base =
    0.99`` epsilon is 2.7e-6 after 50 episodes, so the team goes greedy after about 30
    episodes and then re-evaluates one frozen design for the rest of the budget; halving the
    rate (0.98) shortens the phase by x0.71, not the "half" of section VIII-G.

    Args:
        initial: Value of the first episode of the phase (and, for the learning rate, the constant
            value of the exploration phase).
        base: Factor raised to the number of episodes already run, in ``(0, 1]``.

    Raises:
        ValueError: If ``initial`` is outside ``[0, 1]`` or ``base`` outside ``(0, 1]``.
    """

    initial: float
    base: float

    def __post_init__(self) -> None:
        _check_unit("initial", self.initial)
        _check_unit("base", self.base, open_low=True)

    def value(self, k: int) -> float:
        """``initial * base ** (k * (k + 1) / 2)``."""
        return float(self.initial * self.base ** (k * (k + 1) / 2))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "paper", "initial": ..., "base": ...}``."""
        return {"kind": "paper", **asdict(self)}


@dataclass(frozen=True)
class ExponentialDecay:
    """Plain exponential decay: ``max(minimum, initial * rate ** k)``.

    Args:
        initial: Value of the first episode of the phase.
        rate: Factor per episode, in ``(0, 1]``.
        minimum: Floor of the value.

    Raises:
        ValueError: If a value is outside ``[0, 1]`` (``rate`` outside ``(0, 1]``).
    """

    initial: float
    rate: float
    minimum: float = 0.0

    def __post_init__(self) -> None:
        _check_unit("initial", self.initial)
        _check_unit("rate", self.rate, open_low=True)
        _check_unit("minimum", self.minimum)

    def value(self, k: int) -> float:
        """``max(minimum, initial * rate ** k)``."""
        return float(max(self.minimum, self.initial * self.rate ** k))

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "exponential", "initial": ..., "rate": ..., "minimum": ...}``."""
        return {"kind": "exponential", **asdict(self)}


@dataclass(frozen=True)
class Constant:
    """The same value for every episode.

    Args:
        level: The value, in ``[0, 1]``.
    """

    level: float

    def __post_init__(self) -> None:
        _check_unit("level", self.level)

    def value(self, k: int) -> float:
        """``level``."""
        return float(self.level)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "constant", "level": ...}``."""
        return {"kind": "constant", **asdict(self)}


_KINDS: dict[str, type] = {"paper": PaperDecay, "exponential": ExponentialDecay,
                           "constant": Constant}


def schedule_from_dict(data: Mapping[str, Any]) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.to_dict`.

    Raises:
        ValueError: If ``data["kind"]`` is not a known schedule kind.
    """
    fields = dict(data)
    kind = fields.pop("kind", None)
    if kind not in _KINDS:
        raise ValueError(f"unknown schedule kind {kind!r}; expected one of {sorted(_KINDS)}")
    return _KINDS[kind](**fields)


PAPER_ALPHA = ExponentialDecay(0.95, 0.999)
"""The paper's learning rate: 0.95, constant during exploration, then ``0.95 * 0.999 ** k``."""

PAPER_EPSILON = ExponentialDecay(1.0, 0.99)
"""The paper's exploration rate: 1 during exploration, then ``0.99 ** k``."""

COMPOUNDING_ALPHA = PaperDecay(0.95, 0.999)
"""Eq. 3 read as compounding (not the default, see :class:`PaperDecay`)."""

COMPOUNDING_EPSILON = PaperDecay(1.0, 0.99)
"""The compounding reading for epsilon (not the default, see :class:`PaperDecay`)."""
