"""Learning-rate and exploration-rate schedules of the exploration-exploitation phase.

A schedule maps ``k``, the number of episodes already finished in the exploration-exploitation
phase, to a value. The paper's rule (section VI-B, Eq. 3) multiplies the value after every episode
by ``base ** n`` with ``n`` the episodes already run in the phase, so after ``k`` episodes

    ``value(k) = initial * base ** (1 + 2 + ... + k) = initial * base ** (k * (k + 1) / 2)``,

which compounds very fast (``alpha`` falls below 1 % of its start after about 100 episodes with
``base = 0.999``; ``epsilon`` below 1 % after about 30 with ``base = 0.99``). It is kept as written
(:class:`PaperDecay`); :class:`ExponentialDecay` is the plain ``initial * rate ** k`` alternative.
The closed forms make a schedule stateless, so a resumed run needs only ``k``.

Example:
    >>> round(PAPER_ALPHA.value(0), 6), round(PAPER_ALPHA.value(2), 6)
    (0.95, 0.947153)
    >>> ExponentialDecay(1.0, 0.5).value(3)
    0.125
    >>> schedule_from_dict(PAPER_EPSILON.to_dict()) == PAPER_EPSILON
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = ["PAPER_ALPHA", "PAPER_EPSILON", "Constant", "ExponentialDecay", "PaperDecay",
           "Schedule", "schedule_from_dict"]


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
    """The paper's compounding decay: ``initial * base ** (k * (k + 1) / 2)``.

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


PAPER_ALPHA = PaperDecay(0.95, 0.999)
"""The paper's learning rate: 0.95, constant during exploration, then Eq. 3 with base 0.999."""

PAPER_EPSILON = PaperDecay(1.0, 0.99)
"""The paper's exploration rate: 1 during exploration, then the same decay with base 0.99."""
