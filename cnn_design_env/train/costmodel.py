"""Exact or masked: the choice per design, a pure function of static costs (no JAX, no clock).

A design trained in its own (exact) program pays a compilation unless that program was asked
for before; trained masked (:mod:`.masked`) it runs its envelope's program, which serves every
design of the same shape signature (layer-wise: every design with those layer configurations),
but pays for the envelope's FLOPs on every step. :class:`CostModel` estimates both from
constants calibrated once on a reference machine and picks the cheaper:

* a new whole-network program costs ``compile_s``, a new layer program ``program_compile_s``;
  a program later designs can reuse (a layer program, a masked envelope's program) is an
  investment, charged only this design's share of it: ``1 / (1 + horizon * p)`` with ``p =
  (d + 1) / (n + 2)`` the estimated chance that a later request wants it, ``d`` of the ``n``
  earlier requests having wanted it (:meth:`ProgramLedger.new`), and ``horizon`` the later
  requests expected;
* a training step costs ``dispatches * overhead + 3 * flops * batch * seconds_per_flop``, with
  ``overhead`` ``step_overhead_s`` per whole-network program and ``dispatch_s`` per layer
  program (layer-wise steps dispatch two per layer).

Which programs are new, and how often each was wanted, is counted by :class:`ProgramLedger`: the
programs the owner's requests chose and could have used so far, in request order. Nothing
measured enters: not wall-clock timings, not which programs a cache or the persistent store
happens to hold, so the same designs in the same order get the same forms on a loaded or a quiet
machine, with a cold or a warm store. The constants are in seconds of a 2-core CPU (``vgg_mini``
on ``digits``, load ~1): only their ratios matter, and those change little with load. They are a
field of :class:`~cnn_design_env.train.settings.TrainerSettings` (``costs``), so a machine that
calibrates its own passes them in explicitly.

Example:
    >>> model = CostModel(compile_s=1.0, seconds_per_flop=1e-10, step_overhead_s=1e-3)
    >>> model.choose(flops=1e5, envelope_flops=4e5, batch=32, steps=100,
    ...              exact_new=1.0, masked_new=0.0).form
    'masked'
    >>> model.choose(flops=1e5, envelope_flops=4e7, batch=32, steps=10_000,
    ...              exact_new=1.0, masked_new=0.0).form
    'exact'
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

MODES = ("network", "layer")
"""How a form's programs compile: one per network, or one per layer configuration."""


@dataclass(frozen=True)
class FormChoice:
    """The cost model's answer for one design.

    Attributes:
        form: ``"exact"`` or ``"masked"``.
        exact_s: Estimated seconds of the exact form.
        masked_s: Estimated seconds of the masked form.
    """

    form: str
    exact_s: float
    masked_s: float

    @property
    def reason(self) -> str:
        """The line recorded as ``Metrics.extra["form_reason"]``."""
        return f"cost model: exact {self.exact_s:.2f} s, masked {self.masked_s:.2f} s (estimated)"


@dataclass(frozen=True)
class CostModel:
    """Static estimated seconds of the exact and the masked form of a design.

    Attributes:
        compile_s: Seconds to compile one whole-network program.
        program_compile_s: Seconds to compile one layer program (layer-wise forms).
        horizon: Later requests expected to share a reusable new program (0: none).
        seconds_per_flop: Training seconds per FLOP.
        step_overhead_s: Fixed seconds of a step of one whole-network program.
        dispatch_s: Fixed seconds per layer program a layer-wise step dispatches.

    Raises:
        ValueError: If a value is not a finite number > 0.
    """

    compile_s: float = 0.5
    program_compile_s: float = 0.1
    horizon: float = 16.0
    seconds_per_flop: float = 1.5e-11
    step_overhead_s: float = 5e-4
    dispatch_s: float = 7.5e-5

    def __post_init__(self) -> None:
        for name in ("compile_s", "program_compile_s", "seconds_per_flop",
                     "step_overhead_s", "dispatch_s"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, int | float)
                    or not math.isfinite(value) or value <= 0):
                raise ValueError(f"CostModel.{name} must be a finite number > 0, got {value!r}")
        if not isinstance(self.horizon, int | float) or not 0 <= self.horizon < math.inf:
            raise ValueError(f"CostModel.horizon must be a finite number >= 0, "
                             f"got {self.horizon!r}")

    def train_s(self, flops: float, batch: int, steps: int, *, mode: str = "network",
                dispatches: int = 1) -> float:
        """Estimated seconds of ``steps`` training steps of ``batch`` images of ``flops``
        forward FLOPs each, each step ``dispatches`` programs compiled as ``mode``."""
        overhead = self.step_overhead_s if _mode(mode) == "network" else self.dispatch_s
        return steps * (overhead * dispatches + 3.0 * flops * batch * self.seconds_per_flop)

    def compile_cost(self, new: float, *, mode: str = "network") -> float:
        """Estimated seconds charged for ``new`` programs (a :meth:`ProgramLedger.new`
        count) compiled as ``mode``."""
        return new * (self.program_compile_s if _mode(mode) == "layer" else self.compile_s)

    def choose(self, *, flops: float, envelope_flops: float, batch: int, steps: int,
               exact_new: float, masked_new: float, exact_mode: str = "network",
               masked_mode: str = "network", exact_dispatches: int = 1,
               masked_dispatches: int = 1) -> FormChoice:
        """The cheaper form of a design of ``flops`` inside an envelope of ``envelope_flops``.

        Args:
            flops: The design's forward FLOPs per image.
            envelope_flops: Its envelope's forward FLOPs per image.
            batch: Images per step.
            steps: Training steps of the evaluation.
            exact_new: Programs the exact form would compile, each weighted by its share
                (:meth:`ProgramLedger.new`).
            masked_new: The same for the masked form.
            exact_mode: How the exact form compiles (see :data:`MODES`).
            masked_mode: How the masked form compiles.
            exact_dispatches: Programs one exact step dispatches.
            masked_dispatches: Programs one masked step dispatches.

        Returns:
            The :class:`FormChoice` (ties go to the exact form).
        """
        exact = (self.compile_cost(exact_new, mode=exact_mode)
                 + self.train_s(flops, batch, steps, mode=exact_mode,
                                dispatches=exact_dispatches))
        masked = (self.compile_cost(masked_new, mode=masked_mode)
                  + self.train_s(envelope_flops, batch, steps, mode=masked_mode,
                                 dispatches=masked_dispatches))
        return FormChoice("masked" if masked < exact else "exact", exact, masked)


class ProgramLedger:
    """The programs requests chose and wanted so far, in request order (not what is compiled).

    Example:
        >>> ledger = ProgramLedger()
        >>> ledger.new([("a",), ("b",)])
        2.0
        >>> ledger.record(chosen=[("a",)], wanted=[("a",), ("b",)])
        >>> ledger.new([("a",), ("b",)])  # a: asked for; b: wanted by the one request
        1.0
        >>> round(ledger.new([("b",)], horizon=3.0), 3)  # 3 more requests, 2/3 want b
        0.333
    """

    def __init__(self) -> None:
        self._asked: set[Hashable] = set()
        self._wanted: Counter[Hashable] = Counter()
        self._requests = 0

    def __len__(self) -> int:
        return len(self._asked)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._asked

    def new(self, keys: Iterable[Hashable], *, horizon: float = 0.0) -> float:
        """The programs of ``keys`` not asked for before, each counted as the share of it
        this request pays: ``1 / (1 + horizon * (d + 1) / (n + 2))``, with ``d`` of the ``n``
        earlier requests having wanted it (``(d + 1) / (n + 2)``: the chance a later request
        wants it too; ``horizon``: later requests expected; ``0``: every program in full).
        Duplicates count once."""
        if horizon < 0 or not math.isfinite(horizon):
            raise ValueError(f"horizon must be a finite number >= 0, got {horizon!r}")
        n = self._requests
        return float(sum(1.0 / (1.0 + horizon * (self._wanted[key] + 1) / (n + 2))
                         for key in set(keys) if key not in self._asked))

    def record(self, *, chosen: Iterable[Hashable], wanted: Iterable[Hashable] = ()) -> None:
        """Record one request: the programs it ``chosen`` (now asked for) and every program
        it could have used (``wanted``, whichever form it chose; ``chosen`` included)."""
        chosen = set(chosen)
        self._asked.update(chosen)
        self._wanted.update(set(wanted) | chosen)
        self._requests += 1


def _mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"unknown compile mode {mode!r}; expected one of {MODES}")
    return mode
