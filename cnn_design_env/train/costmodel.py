"""Exact or masked: the choice per design, from estimated seconds (pure logic, no JAX).

A design trained in its own (exact) program pays a compilation unless that program is cached;
trained masked (:mod:`.masked`) it runs its envelope's program, which serves every design of
the same shape signature, but pays for the envelope's FLOPs on every step. :class:`CostModel`
estimates both and picks the cheaper:

* ``exact  = [compile_s unless cached] + steps * (overhead + 3 * flops * batch * s_per_flop)``
* ``masked = [masked_compile_s unless cached] + steps * (overhead * dispatches + 3 *
  envelope_flops * batch * s_per_flop)`` (``dispatches``: programs per step, two per layer
  for layer-wise masked steps)

``masked_compile_s`` is what a masked evaluation not known to be cached compiled on average
(zeros included: its programs are shared by every design of the signature, or of the layer
configuration), starting at a quarter of a compilation: an investment later designs reuse.
The compile times and the seconds per
FLOP are learnt from the evaluations made (averages and a least-squares line): long trainings and
envelopes far wider than the design favour the exact program, short trainings of small
designs (a CPU search) the masked one.

Example:
    >>> model = CostModel(compile_s=1.0, seconds_per_flop=1e-10, step_overhead_s=1e-3)
    >>> model.choose(flops=1e5, envelope_flops=4e5, batch=32, steps=100,
    ...              exact_cached=False, masked_cached=True)[0]
    'masked'
    >>> model.choose(flops=1e5, envelope_flops=4e7, batch=32, steps=10_000,
    ...              exact_cached=False, masked_cached=True)[0]
    'exact'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

WINDOW = 64
"""Training steps the cost model fits its step-time line to."""


@dataclass
class CostModel:
    """Estimated seconds of the exact and the masked form of a design.

    Attributes:
        compile_s: Seconds of one compilation of an exact program (learnt).
        masked_compile_s: Seconds a masked evaluation compiles, on average (learnt).
        program_compile_s: Seconds per layer program (layer-wise masked form, learnt).
        amortize: Designs expected to share a new layer program.
        seconds_per_flop: Training seconds per FLOP (learnt).
        step_overhead_s: Fixed seconds per compiled program a step dispatches.
        alpha: Weight of a new observation in the compile-time averages.
    """

    compile_s: float = 1.0
    masked_compile_s: float = 0.25
    program_compile_s: float = 0.03
    amortize: float = 4.0
    seconds_per_flop: float = 5e-11
    step_overhead_s: float = 2e-4
    alpha: float = 0.3
    _seen: list[tuple[float, float, float]] = field(default_factory=list, repr=False)

    def train_s(self, flops: float, batch: int, steps: int, dispatches: int = 1) -> float:
        """Estimated training seconds of ``steps`` steps of ``batch`` images, each step
        ``dispatches`` compiled programs (layer-wise steps: two per layer)."""
        return steps * (self.step_overhead_s * dispatches
                        + 3.0 * flops * batch * self.seconds_per_flop)

    def choose(self, *, flops: float, envelope_flops: float, batch: int, steps: int,
               exact_cached: bool, masked_cached: bool, masked_dispatches: int = 1,
               masked_programs: int | None = None) -> tuple[str, float, float]:
        """``("exact" | "masked", exact seconds, masked seconds)``.

        ``masked_programs``: how many (layer) programs the masked form would compile, when
        known; it is then charged ``masked_programs * program_compile_s / amortize`` (the
        programs serve every later design with those layers: an investment) instead of the
        average ``masked_compile_s``.
        """
        exact = (0.0 if exact_cached else self.compile_s) + self.train_s(flops, batch, steps)
        compile_s = (self.masked_compile_s if masked_programs is None
                     else masked_programs * self.program_compile_s / self.amortize)
        masked = ((0.0 if masked_cached else compile_s)
                  + self.train_s(envelope_flops, batch, steps, masked_dispatches))
        return ("masked" if masked < exact else "exact"), exact, masked

    def observe_compile(self, seconds: float, *, masked: bool = False,
                        programs: int | None = None) -> None:
        """Learn from an evaluation that compiled ``seconds`` (exact: only real compiles;
        ``programs``: how many layer programs that was)."""
        if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not masked):
            return
        if programs:
            self.program_compile_s += self.alpha * (seconds / programs - self.program_compile_s)
        if masked:
            self.masked_compile_s += self.alpha * (seconds - self.masked_compile_s)
        else:
            self.compile_s += self.alpha * (seconds - self.compile_s)

    def observe_step(self, seconds: float, flops: float, batch: int,
                     dispatches: int = 1) -> None:
        """Learn from a training step of ``batch`` images of ``flops`` that took ``seconds``
        and dispatched ``dispatches`` programs.

        The last :data:`WINDOW` steps fit ``seconds = overhead * dispatches + s_per_flop * 3 *
        flops * batch`` by least squares (both coefficients kept positive); with too few or
        too similar observations the defaults stay.
        """
        work = 3.0 * flops * batch
        if work <= 0 or not math.isfinite(seconds) or seconds <= 0:
            return
        self._seen.append((float(dispatches), work, float(seconds)))
        del self._seen[:-WINDOW]
        if len(self._seen) < 4:
            return
        data = np.asarray(self._seen)
        scale = np.maximum(data[:, 2], 1e-9)  # relative errors: small steps count as much
        design = data[:, :2] / scale[:, None]
        if np.linalg.matrix_rank(design) < 2:
            return
        (overhead, per_flop), *_ = np.linalg.lstsq(design, np.ones(len(data)), rcond=None)
        if overhead > 0 and per_flop > 0:
            self.step_overhead_s, self.seconds_per_flop = float(overhead), float(per_flop)
