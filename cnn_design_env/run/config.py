"""``RunConfig``: everything a search run needs to be rebuilt, saved as ``config.json``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from cnn_design_env.evaluators.executors import EvaluatorSpec

FORMAT = 2
"""Version of the run-directory format (config, journal, checkpoint): 2 since the checkpoint is
JSON + ``.npz`` (1 pickled it)."""


@dataclass(frozen=True)
class RunConfig:
    """The settings of one search run (frozen; ``config.json`` of the run directory).

    Attributes:
        space: Space name.
        method: Search method (``"marl"`` or a baseline of :func:`baselines.list_methods`).
        episodes: Evaluations to make in total.
        evaluator: How evaluations are made (picklable recipe).
        seed: Seed of the searcher and of the evaluation seeds.
        workers: Local worker processes (1: in-process); with a ``scheduler``, the evaluations
            kept in flight on the cluster (0: as many as it has worker threads, resolved when
            the run starts).
        scheduler: Dask scheduler address, or ``None``.
        scheduler_timeout: Seconds to wait for the scheduler.
        method_options: Keyword options of the searcher (e.g. ``exploration_episodes``).
        reward: Keyword options of :class:`~cnn_design_env.reward.PaperReward`.
        cache: Evaluate each distinct design once (repeats reuse the first result).
        stop_on_convergence: Stop once the paper's agents have converged.
        data: Data set name or path (kept for display; the evaluator carries its own).
        eval_timeout_s: Wall-clock seconds one evaluation may take; past it the evaluation is
            terminated (reason ``"time limit: ..."``, the reward's penalty). ``None``: no limit.
    """

    space: str
    method: str
    episodes: int
    evaluator: EvaluatorSpec
    seed: int = 0
    workers: int = 1
    scheduler: str | None = None
    scheduler_timeout: float = 10.0
    method_options: Mapping[str, Any] = field(default_factory=dict)
    reward: Mapping[str, Any] = field(default_factory=dict)
    cache: bool = True
    stop_on_convergence: bool = False
    data: str | None = None
    eval_timeout_s: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.episodes, bool) or int(self.episodes) != self.episodes \
                or self.episodes < 1:
            raise ValueError(f"episodes must be a positive integer, got {self.episodes!r}")
        lowest = 0 if self.scheduler else 1
        if isinstance(self.workers, bool) or int(self.workers) != self.workers \
                or self.workers < lowest:
            raise ValueError(f"workers must be an integer >= {lowest}, got {self.workers!r}")
        if not (self.scheduler_timeout > 0 and math.isfinite(self.scheduler_timeout)):
            raise ValueError(f"scheduler_timeout must be a positive number of seconds, got "
                             f"{self.scheduler_timeout!r}")
        timeout = self.eval_timeout_s
        if timeout is not None and (isinstance(timeout, bool)
                                    or not isinstance(timeout, int | float)
                                    or not math.isfinite(timeout) or timeout <= 0):
            raise ValueError(f"eval_timeout_s must be a positive number of seconds or None, got "
                             f"{timeout!r}")
        object.__setattr__(self, "method_options", dict(self.method_options))
        object.__setattr__(self, "reward", dict(self.reward))

    @property
    def in_flight(self) -> int:
        """Evaluations kept in flight by batch-capable methods (``workers``)."""
        return max(1, int(self.workers))

    def with_changes(self, **changes: Any) -> RunConfig:
        """A copy with ``changes`` applied (validated again)."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict (inverse: :meth:`from_dict`)."""
        data = asdict(self)
        data["evaluator"] = self.evaluator.to_dict()
        return {"format": FORMAT, **data}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: On another format version or unknown keys.
        """
        data = dict(data)
        version = data.pop("format", None)
        if version != FORMAT:
            raise ValueError(f"run format {version!r} is not supported (expected {FORMAT})")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown run settings {unknown}")
        data["evaluator"] = EvaluatorSpec.from_dict(data["evaluator"])
        return cls(**data)


__all__ = ["FORMAT", "RunConfig"]
