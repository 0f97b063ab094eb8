"""Evaluator factories for the CLI tests (``--evaluator cli_plugins:slow_fixture``).

The CLI subprocesses import this module from a temporary directory holding a copy of it and of
``tests/fixtures.py`` (putting ``tests/`` itself on ``PYTHONPATH`` would shadow the ``baselines``
package with the ``tests/baselines`` folder).
"""

from __future__ import annotations

import dataclasses
import os
import time
import zlib

from fixtures import FixtureEvaluator

from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace


class Slow:
    """Wraps an evaluator: each evaluation first sleeps ``delay`` seconds, times 1 to 4 with
    ``jitter`` (from a CRC of the design), so a run can be killed mid-way and results in flight
    complete out of order. Results are the wrapped evaluator's, untouched."""

    def __init__(self, inner, *, delay: float = 0.0, jitter: bool = False) -> None:
        self.inner = inner
        self.space = inner.space
        self.delay = float(delay)
        self.jitter = bool(jitter)

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        if self.delay:
            factor = 1 + zlib.crc32(bytes(design.actions)) % 4 if self.jitter else 1
            time.sleep(self.delay * factor)
        return self.inner.evaluate(design, seed=seed)


def slow_fixture(space: SearchSpace, *, delay: float = 0.0, jitter: bool = False,
                 noise: float = 0.01) -> Slow:
    """``FixtureEvaluator`` (with seeded noise, so evaluation seeds matter), slowed down."""
    return Slow(FixtureEvaluator(space, noise=noise), delay=delay, jitter=jitter)


def slow_tabular(space: SearchSpace, *, delay: float = 0.0, jitter: bool = False) -> Slow:
    """The shipped ``TabularEvaluator`` of ``space``, slowed down."""
    from cnn_design_env.evaluators.tabular import TabularEvaluator

    return Slow(TabularEvaluator(space), delay=delay, jitter=jitter)


class ListSearcher:
    """A searcher asking a fixed list of designs in order (for loop tests); learns nothing."""

    name = "list"

    def __init__(self, space: SearchSpace, designs: list[Design]) -> None:
        self.space = space
        self.designs = list(designs)

    def ask(self) -> Design:
        return self.designs.pop(0)

    def tell(self, design: Design, reward: float, metrics: Metrics | None = None) -> None:
        """Nothing to learn."""


class Faulty:
    """``FixtureEvaluator`` whose designs with ``crc32 % every == 0`` misbehave: ``fault`` is
    ``"nan"`` (accuracy NaN), ``"inf"`` (accuracy +inf, so an infinite reward), ``"raise"``
    (``RuntimeError``), ``"exit"`` (``SystemExit``), ``"sleep"`` (sleeps ``sleep`` seconds) or
    ``"interrupt"`` (``KeyboardInterrupt`` at the ``after``-th evaluation of any design, counted
    across processes, once: then the file ``flag`` exists); ``"none"``: no fault."""

    def __init__(self, space: SearchSpace, *, fault: str = "nan", every: int = 3,
                 sleep: float = 30.0, flag: str = "", after: int = 0) -> None:
        self.inner = FixtureEvaluator(space, noise=0.01)
        self.space = space
        self.fault, self.every, self.sleep, self.flag = fault, int(every), float(sleep), flag
        self.after = int(after)

    def bad(self, design: Design) -> bool:
        return zlib.crc32(bytes(design.actions)) % self.every == 0

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        metrics = self.inner.evaluate(design, seed=seed)
        if self.fault == "interrupt" and self.after:
            with open(f"{self.flag}.count", "ab") as count:  # O_APPEND: one byte per evaluation
                count.write(b".")
            if os.path.getsize(f"{self.flag}.count") >= self.after and not os.path.exists(
                    self.flag):
                open(self.flag, "w").close()
                raise KeyboardInterrupt
            return metrics
        if self.fault == "none" or not self.bad(design):
            return metrics
        if self.fault == "nan":
            return dataclasses.replace(metrics, accuracy=float("nan"))
        if self.fault == "inf":
            return dataclasses.replace(metrics, accuracy=float("inf"))
        if self.fault == "raise":
            raise RuntimeError("the evaluator broke")
        if self.fault == "exit":
            raise SystemExit(3)
        if self.fault == "interrupt":
            if os.path.exists(self.flag):
                return metrics
            open(self.flag, "w").close()
            raise KeyboardInterrupt
        if self.fault != "sleep":
            raise ValueError(f"unknown fault {self.fault!r}")
        time.sleep(self.sleep)
        return metrics


def faulty(space: SearchSpace, **options) -> Faulty:
    """A :class:`Faulty` evaluator."""
    return Faulty(space, **options)
