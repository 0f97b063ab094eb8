"""Exact or masked: the choice per design, from estimated seconds (pure logic, no JAX).

A design trained in its own (exact) program pays a compilation unless that program is cached;
trained masked (:mod:`.masked`) it runs its envelope's program, which serves every design of
the same shape signature, but pays for the envelope's FLOPs on every step. :class:`CostModel`
estimates both and picks the cheaper:

* ``exact  = [compile_s unless cached] + steps * (overhead + 3 * flops * batch * s_per_flop)``
* ``masked = [compile_s / amortize unless cached] + steps * (overhead + 3 * envelope_flops *
  batch * s_per_flop)``

A masked program not compiled yet is charged a share ``1 / amortize`` of a compilation: it is
an investment that later designs of its signature reuse. The compile time and the seconds per
FLOP are learnt from the evaluations made (exponential averages): long trainings and
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
from dataclasses import dataclass


@dataclass
class CostModel:
    """Estimated seconds of the exact and the masked form of a design.

    Attributes:
        compile_s: Seconds of one compilation (learnt).
        seconds_per_flop: Training seconds per FLOP (learnt).
        step_overhead_s: Fixed seconds per step (dispatch, host work).
        amortize: Designs expected to share a new masked program.
        alpha: Weight of a new observation in the averages.
    """

    compile_s: float = 1.0
    seconds_per_flop: float = 5e-11
    step_overhead_s: float = 5e-4
    amortize: float = 4.0
    alpha: float = 0.3

    def train_s(self, flops: float, batch: int, steps: int) -> float:
        """Estimated training seconds of ``steps`` steps of ``batch`` images."""
        return steps * (self.step_overhead_s + 3.0 * flops * batch * self.seconds_per_flop)

    def choose(self, *, flops: float, envelope_flops: float, batch: int, steps: int,
               exact_cached: bool, masked_cached: bool) -> tuple[str, float, float]:
        """``("exact" | "masked", exact seconds, masked seconds)``."""
        exact = (0.0 if exact_cached else self.compile_s) + self.train_s(flops, batch, steps)
        masked = ((0.0 if masked_cached else self.compile_s / self.amortize)
                  + self.train_s(envelope_flops, batch, steps))
        return ("masked" if masked < exact else "exact"), exact, masked

    def observe_compile(self, seconds: float) -> None:
        """Learn from one compilation that took ``seconds``."""
        if seconds > 0 and math.isfinite(seconds):
            self.compile_s += self.alpha * (seconds - self.compile_s)

    def observe_step(self, seconds: float, flops: float, batch: int) -> None:
        """Learn from a training step of ``batch`` images of ``flops`` that took ``seconds``."""
        work = 3.0 * flops * batch
        if work <= 0 or not math.isfinite(seconds) or seconds <= self.step_overhead_s:
            return
        observed = (seconds - self.step_overhead_s) / work
        self.seconds_per_flop = math.exp(math.log(self.seconds_per_flop) + self.alpha * (
            math.log(observed) - math.log(self.seconds_per_flop)))
