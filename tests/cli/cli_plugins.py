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


# ------------------------------------------- a method and a space from outside the package
def tiny_space() -> SearchSpace:
    """A space of this module (``--space cli_plugins:tiny_space``): two convs, one dense."""
    from cnn_design_env.space import layers as L

    conv = {"kernels": (4, 8), "kernel_size": (1, 3)}
    layers = (L.input_layer(), L.conv("conv_a", "input", kernels=4, tune=conv),
              L.conv("conv_b", "conv_a", kernels=4, tune=conv), L.flatten("flat", "conv_b"),
              L.dense("fc", "flat", units=8, tune={"units": (8, 16)}), L.output("output", "fc"))
    return SearchSpace("tiny", layers, (8, 8, 1), 10, description="a plug-in test space")


class Cyclic:
    """A searcher that does not subclass ``Searcher``: designs in index order, seeded offset;
    it asks ahead freely (the ``can_ask_ahead`` hook) and has a ``state_dict``."""

    name = "cyclic"

    def __init__(self, space: SearchSpace, *, seed: int, stride: int = 1) -> None:
        self.space, self.seed, self.stride = space, seed, int(stride)
        self.next = seed % space.size

    def ask(self) -> Design:
        index, self.next = self.next, (self.next + self.stride) % self.space.size
        actions = []
        for size in reversed(self.space.action_sizes):
            index, action = divmod(index, size)
            actions.append(action)
        return Design(tuple(reversed(actions)))

    def tell(self, design: Design, reward: float, metrics=None) -> None:
        pass

    def can_ask_ahead(self, pending: int) -> bool:
        return True

    def state_dict(self):
        return {}, {"next": self.next}

    def load_state_dict(self, arrays, meta) -> None:
        self.next = int(meta["next"])


def cyclic(space: SearchSpace, *, seed: int, **options) -> Cyclic:
    """``--method cli_plugins:cyclic``: ``factory(space, seed=..., **options)``."""
    return Cyclic(space, seed=seed, **options)
