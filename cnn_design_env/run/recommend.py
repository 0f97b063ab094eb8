"""The final choice of a search: the best *mean* of its top designs re-evaluated on extra seeds.

A search sees each design through one noisy evaluation, so the single highest reward it saw is
mostly luck (winner's curse). At the end of a search (CLI and Python API) the ``k`` designs with
the highest mean observed reward (default 3; repeats served from a cache are not counted twice)
are evaluated again on ``extra_seeds`` new evaluation seeds (default 2), and the recommended design
is the one with the best mean reward over all its evaluations (the search's own and the new ones).

With a tabular evaluator (anything with ``table``, ``row(design)`` and ``query(row, column)``)
the re-evaluation is the table itself: a candidate's rewards are those of every recorded seed of
its row (the search's observation is one of them), so its mean is the design's true quality on
the table. The new evaluation seeds are drawn from ``np.random.default_rng([seed, SEED_SALT])``.

Pure NumPy: no JAX, no evaluator type is imported here.

Example:
    >>> from cnn_design_env import Metrics
    >>> observed = [((a,), r, Metrics(accuracy=r)) for a, r in enumerate((9.0, 8.0, 1.0))]
    >>> draws = {(0,): [5.0, 5.0], (1,): [8.0, 8.0]}
    >>> def evaluate(design, seed):     # a made-up evaluator: the reward is the accuracy
    ...     return Metrics(accuracy=draws[tuple(design)].pop())
    >>> choice = recommend(observed, evaluate, lambda m: m.accuracy, k=2, extra_seeds=2, seed=0)
    >>> choice.design, [round(c.mean_reward, 3) for c in choice.candidates]
    ((1,), [6.333, 8.0])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from cnn_design_env.evaluators.base import Metrics
from cnn_design_env.evaluators.faults import scored
from cnn_design_env.search.seeds import SEED_BOUND
from cnn_design_env.space import Design

TOP_K = 3
"""Designs re-evaluated at the end of a search."""
EXTRA_SEEDS = 2
"""New evaluation seeds per re-evaluated design."""
SEED_SALT = 0x5EED_F1A1
"""Mixed into the run seed to draw the re-evaluation seeds (never the search's own seeds)."""


def _sd(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


@dataclass(frozen=True)
class Candidate:
    """One of the top designs and every evaluation of it that the final choice uses.

    Attributes:
        design: Action indices.
        rank: Its rank by mean observed reward during the search (0 = first).
        search_rewards: Its rewards during the search (cached repeats left out).
        final_rewards: Its rewards on the extra seeds (or every recorded seed of a table).
        final_accuracies: Accuracy of those evaluations.
        model_size_mb: Its model size.
        seeds: The evaluation seeds (or recorded table seeds) of ``final_rewards``.
        uses_search: Whether the mean includes ``search_rewards`` (not with a table, whose
            recorded seeds already include the search's observation).
    """

    design: tuple[int, ...]
    rank: int
    search_rewards: tuple[float, ...]
    final_rewards: tuple[float, ...]
    final_accuracies: tuple[float, ...]
    search_accuracies: tuple[float, ...]
    model_size_mb: float
    seeds: tuple[int, ...]
    uses_search: bool = True

    @property
    def rewards(self) -> tuple[float, ...]:
        """Every reward the mean is taken over."""
        return (self.search_rewards if self.uses_search else ()) + self.final_rewards

    @property
    def accuracies(self) -> tuple[float, ...]:
        """Every accuracy the mean is taken over."""
        return (self.search_accuracies if self.uses_search else ()) + self.final_accuracies

    @property
    def mean_reward(self) -> float:
        """Mean of :attr:`rewards`."""
        return float(np.mean(self.rewards))

    @property
    def sd_reward(self) -> float:
        """Sample standard deviation of :attr:`rewards` (NaN for one value)."""
        return _sd(self.rewards)

    @property
    def mean_accuracy(self) -> float:
        """Mean of :attr:`accuracies`."""
        return float(np.mean(self.accuracies))

    @property
    def sd_accuracy(self) -> float:
        """Sample standard deviation of :attr:`accuracies`."""
        return _sd(self.accuracies)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (with the means and standard deviations)."""
        def clean(x: float) -> float | None:
            return None if not math.isfinite(x) else x

        return {"design": list(self.design), "rank": self.rank,
                "search_rewards": list(self.search_rewards),
                "final_rewards": list(self.final_rewards),
                "search_accuracies": list(self.search_accuracies),
                "final_accuracies": list(self.final_accuracies),
                "model_size_mb": self.model_size_mb, "seeds": list(self.seeds),
                "uses_search": self.uses_search, "n": len(self.rewards),
                "mean_reward": clean(self.mean_reward), "sd_reward": clean(self.sd_reward),
                "mean_accuracy": clean(self.mean_accuracy),
                "sd_accuracy": clean(self.sd_accuracy)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Candidate:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(int(a) for a in data["design"]), int(data["rank"]),
                   tuple(map(float, data["search_rewards"])),
                   tuple(map(float, data["final_rewards"])),
                   tuple(map(float, data["final_accuracies"])),
                   tuple(map(float, data["search_accuracies"])),
                   float(data["model_size_mb"]), tuple(int(s) for s in data["seeds"]),
                   bool(data.get("uses_search", True)))


@dataclass(frozen=True)
class Recommendation:
    """The final choice: the candidates and the one with the best mean reward.

    Attributes:
        candidates: The top ``k`` designs, in search rank order.
        k: Designs re-evaluated.
        extra_seeds: New seeds per design (0 with a table: its recorded seeds).
        source: ``"reevaluated"`` or ``"table"``.
        test_accuracy: Test-split accuracy of the recommended design, when measured.
    """

    candidates: tuple[Candidate, ...]
    k: int
    extra_seeds: int
    source: str
    test_accuracy: float | None = None

    @property
    def best(self) -> Candidate:
        """The recommended candidate: the best mean reward (ties: the better search rank)."""
        return max(self.candidates, key=lambda c: (c.mean_reward, -c.rank))

    @property
    def design(self) -> tuple[int, ...]:
        """The recommended design."""
        return self.best.design

    def with_test_accuracy(self, value: float | None) -> Recommendation:
        """A copy with :attr:`test_accuracy` set."""
        return Recommendation(self.candidates, self.k, self.extra_seeds, self.source, value)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict; ``design``, ``mean_reward``, ... are the recommended one's."""
        best = self.best.to_dict()
        return {"design": best["design"], "mean_reward": best["mean_reward"],
                "sd_reward": best["sd_reward"], "mean_accuracy": best["mean_accuracy"],
                "sd_accuracy": best["sd_accuracy"], "n": best["n"],
                "model_size_mb": best["model_size_mb"], "test_accuracy": self.test_accuracy,
                "k": self.k, "extra_seeds": self.extra_seeds, "source": self.source,
                "candidates": [c.to_dict() for c in self.candidates]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Recommendation:
        """Inverse of :meth:`to_dict`."""
        return cls(tuple(Candidate.from_dict(c) for c in data["candidates"]), int(data["k"]),
                   int(data["extra_seeds"]), str(data["source"]), data.get("test_accuracy"))


Observed = tuple[Sequence[int], float, Metrics]
"""One search evaluation: ``(design, reward, metrics)``."""


def top_designs(observed: Iterable[Observed], k: int
                ) -> list[tuple[tuple[int, ...], list[float], list[Metrics]]]:
    """The ``k`` designs with the highest mean observed reward, with their evaluations.

    Args:
        observed: ``(design, reward, metrics)`` per evaluation, in order; repeats served from
            a cache (``metrics.cached``) are left out of the means.
        k: How many.

    Returns:
        ``[(design, rewards, metrics)]``, best first (ties: the design seen first).

    Example:
        >>> m = Metrics()
        >>> [d for d, _, _ in top_designs([((0,), 1.0, m), ((1,), 3.0, m), ((0,), 5.0, m)], 1)]
        [(0,)]
    """
    seen: dict[tuple[int, ...], tuple[list[float], list[Metrics]]] = {}
    for design, reward, metrics in observed:
        key = tuple(int(a) for a in design)
        rewards, found = seen.setdefault(key, ([], []))
        if not metrics.cached or not rewards:
            rewards.append(float(reward))
            found.append(metrics)
    order = sorted(enumerate(seen.items()), key=lambda item: (-np.mean(item[1][1][0]), item[0]))
    return [(design, rewards, found) for _, (design, (rewards, found)) in order[:k]]


def is_table(evaluator: Any) -> bool:
    """Whether ``evaluator`` answers from a table of recorded seeds (``row`` and ``query``)."""
    return all(callable(getattr(evaluator, n, None)) for n in ("row", "query")) \
        and hasattr(evaluator, "table")


def table_metrics(evaluator: Any, design: Sequence[int]) -> list[Metrics]:
    """Every recorded seed's metrics of ``design`` in a tabular evaluator."""
    row = evaluator.row(tuple(int(a) for a in design))
    return [evaluator.query(row, column) for column in range(len(evaluator.table.seeds))]


def recommend(observed: Sequence[Observed], evaluate: Callable[[Design, int], Metrics] | None,
              reward: Callable[[Metrics], float], *, k: int = TOP_K,
              extra_seeds: int = EXTRA_SEEDS, seed: int = 0, evaluator: Any = None
              ) -> Recommendation | None:
    """Re-evaluate the top ``k`` designs and pick the best mean (see the module docstring).

    Args:
        observed: ``(design, reward, metrics)`` per search evaluation, in order.
        evaluate: ``evaluate(design, seed) -> Metrics`` for the extra seeds (unused with a
            table evaluator).
        reward: The search's reward.
        k: Designs re-evaluated (>= 1).
        extra_seeds: New seeds per design (>= 0).
        seed: The run's seed (the extra seeds derive from it).
        evaluator: The evaluator; a tabular one answers from its recorded seeds.

    Returns:
        The :class:`Recommendation`, or ``None`` without any evaluation.

    Raises:
        ValueError: If ``k < 1`` or ``extra_seeds < 0``.
    """
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k (designs re-evaluated) must be an integer >= 1, got {k!r}")
    if isinstance(extra_seeds, bool) or int(extra_seeds) != extra_seeds or extra_seeds < 0:
        raise ValueError(f"extra_seeds must be an integer >= 0, got {extra_seeds!r}")
    top = top_designs(observed, int(k))
    if not top:
        return None
    table = evaluator is not None and is_table(evaluator)
    seeds = np.random.default_rng([int(seed) & 0xFFFFFFFF, SEED_SALT]).integers(
        SEED_BOUND, size=(len(top), int(extra_seeds))).tolist()
    candidates = []
    for rank, (design, rewards, seen) in enumerate(top):
        if table:
            found = table_metrics(evaluator, design)
            used = tuple(int(s) for s in evaluator.table.seeds)
        else:
            if evaluate is None and extra_seeds:
                raise ValueError("recommend needs evaluate(design, seed) for the extra seeds")
            used = tuple(int(s) for s in seeds[rank])
            found = [evaluate(Design(design), s) for s in used]
        found, extra = zip(*(scored(m, reward) for m in found), strict=True) if found else ((), ())
        candidates.append(Candidate(
            design, rank, tuple(rewards), tuple(float(r) for r in extra),
            tuple(float(m.accuracy) for m in found), tuple(float(m.accuracy) for m in seen),
            float(seen[0].model_size_mb), used, uses_search=not table))
    return Recommendation(tuple(candidates), int(k), 0 if table else int(extra_seeds),
                          "table" if table else "reevaluated")


__all__ = ["EXTRA_SEEDS", "SEED_SALT", "TOP_K", "Candidate", "Recommendation", "is_table",
           "recommend", "table_metrics", "top_designs"]
