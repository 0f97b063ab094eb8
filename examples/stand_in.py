"""Shared plumbing of the plug-in examples: a STAND-IN evaluator and the common command line.

``StandInEvaluator`` is NOT a measurement of anything. It makes up an accuracy from a design's
analytic size and FLOPs so the examples run in seconds on a laptop; it is not part of the
``cnn_design_env`` package and must not be used to compare methods. Pass ``--train`` to any example
to score designs with the real :class:`~cnn_design_env.evaluators.training.TrainingEvaluator`
(trains each design on the bundled ``digits`` data for ``--train-epochs`` epochs).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from cnn_design_env import Metrics, SearchSpace, analyze, get_space
from cnn_design_env.space import Design


class StandInEvaluator:
    """Made-up accuracy from size and FLOPs, relative to the space's original network.

    ``accuracy = 0.75 + 0.15 * tanh(log2(params / params_0)) - 0.04 * max(0, log2(flops /
    flops_0))``, plus seeded Gaussian noise: more capacity helps with diminishing returns, more
    compute than the original costs a little. One epoch, no training, ``cost_s`` of 0.

    Args:
        space: The space it scores.
        noise: Standard deviation of the noise on accuracy (drawn from the evaluation seed).
    """

    def __init__(self, space: SearchSpace, *, noise: float = 0.01) -> None:
        self.space = space
        self.noise = noise
        original = analyze(space)
        self._params0, self._flops0 = max(1, original.params), max(1, original.flops)

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        analysis = analyze(self.space, design)
        capacity = math.log2(max(1, analysis.params) / self._params0)
        compute = math.log2(max(1, analysis.flops) / self._flops0)
        accuracy = 0.75 + 0.15 * math.tanh(capacity) - 0.04 * max(0.0, compute)
        accuracy += self.noise * float(np.random.default_rng(seed).normal())
        return Metrics(accuracy=float(np.clip(accuracy, 0.0, 1.0)),
                       model_size_mb=analysis.model_size_mb, params=analysis.params,
                       flops=analysis.flops, epochs=1)


def parser(description: str, *, episodes: int) -> argparse.ArgumentParser:
    """The examples' common options: ``--space``, ``--episodes``, ``--seed``, ``--train``."""
    out = argparse.ArgumentParser(description=description)
    out.add_argument("--space", default="vgg_mini", help="preset search space (default vgg_mini)")
    out.add_argument("--episodes", type=int, default=episodes, help="episodes (designs) to run")
    out.add_argument("--seed", type=int, default=0)
    out.add_argument("--train", action="store_true",
                     help="score designs by really training them (slow) instead of the stand-in")
    out.add_argument("--train-epochs", type=int, default=1, help="epochs per design with --train")
    return out


def make_evaluator(args: argparse.Namespace):
    """The evaluator the command line asks for: the stand-in, or the real trainer (``--train``)."""
    space = get_space(args.space)
    if not args.train:
        return StandInEvaluator(space)
    from cnn_design_env.evaluators.training import TrainingEvaluator

    return TrainingEvaluator(space, "digits", epochs=args.train_epochs, adapt_space=True)
