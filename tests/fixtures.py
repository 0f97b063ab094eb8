"""Deterministic evaluators for tests (the package ships no fake evaluator)."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np

from cnn_design_env.evaluators import Metrics
from cnn_design_env.space import Design, SearchSpace, analyze


class FixtureEvaluator:
    """Scores a design by a fixed, learnable function of its actions; no training.

    Each agent has a preferred action (from a CRC of its name); accuracy falls linearly with the
    normalised distance of the chosen action from it, so the best design is unique and agents can
    learn it. Sizes, params and FLOPs are the real analytic ones. ``cost_s`` is a deterministic
    function of FLOPs, so seeded runs give identical infos.

    Args:
        space: The space it scores.
        terminate: Optional predicate on the design; ``True`` gives a terminated ``Metrics``.
        noise: Standard deviation of Gaussian noise on accuracy, drawn from ``seed``.
    """

    def __init__(self, space: SearchSpace, *, terminate: Callable[[Design], bool] | None = None,
                 noise: float = 0.0) -> None:
        self.space = space
        self.terminate = terminate
        self.noise = noise
        self.calls = 0
        self.best = Design(tuple(
            zlib.crc32(name.encode()) % n
            for name, n in zip(space.agents, space.action_sizes, strict=True)
        ))

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        self.calls += 1
        design = self.space.validate(design)
        if self.terminate is not None and self.terminate(design):
            return Metrics.failed("loss", epochs=3)
        sizes = self.space.action_sizes
        distance = np.mean([abs(a - b) / max(1, n - 1) for a, b, n in
                            zip(design.actions, self.best.actions, sizes, strict=True)])
        accuracy = 0.95 - 0.8 * float(distance)
        if self.noise:
            accuracy += float(np.random.default_rng(seed).normal(0.0, self.noise))
        analysis = analyze(self.space, design)
        return Metrics(
            accuracy=float(np.clip(accuracy, 0.0, 1.0)),
            model_size_mb=analysis.model_size_mb, params=analysis.params, flops=analysis.flops,
            train_ms_per_batch=1e-6 * analysis.flops, infer_ms_per_batch=3e-7 * analysis.flops,
            epochs=3, epochs_to_threshold=3, loss_curve=(1.0, 0.7, 0.5),
            accuracy_curve=(accuracy / 2, accuracy * 0.8, accuracy),
            cost_s=1.0 + 1e-7 * analysis.flops,
        )


class ConstantEvaluator:
    """Returns the same metrics for every design (measures everything but evaluation)."""

    def __init__(self, space: SearchSpace, accuracy: float = 0.5) -> None:
        self.space = space
        self._metrics = Metrics(accuracy=accuracy, epochs=1, cost_s=1.0)

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        return self._metrics


def meddled_run(team, episodes: int, seed: int, *, reward_shift: float = 0.0
                ) -> list[tuple[int, ...]]:
    """A team played agent by agent without an env, by an outside party that overrides 5 % of
    the actions and asks 3 % of the agents twice; reward ``U[0, 1) + reward_shift``."""
    space, rng = team.space, np.random.default_rng(seed)
    designs = []
    for _ in range(episodes):
        obs = np.zeros(space.num_agents + 1, dtype=np.int64)
        for i, agent in enumerate(space.agents):
            obs[-1] = i
            action = team.act(agent, obs)
            if rng.random() < 0.03:
                action = team.act(agent, obs)
            if rng.random() < 0.05:
                action = int(rng.integers(space.action_sizes[i]))
            obs[i] = action + 1
        design = tuple(int(v) - 1 for v in obs[:-1])
        team.learn(design, float(rng.random()) + reward_shift)
        designs.append(design)
    return designs
