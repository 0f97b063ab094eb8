"""How much the env costs on top of drawing designs and scoring them.

Prints, in one run, microseconds per complete episode and AEC steps per second for:

* a bare loop: ``space.sample(rng)`` + ``evaluator.evaluate`` + ``reward`` (no env at all);
* the raw AEC env and the wrapped one (``cnn_design_env.env``), with the same random designs;
* the same env loops with a fixed design (the env's own cost, no policy), also through
  PettingZoo's stock wrappers, and the Gymnasium view;

with a constant evaluator, so evaluation costs nothing, and the ratios to the bare loop. A step is
one agent's decision; each episode's closing ``step(None)`` calls (one per agent) are in the
time but not in the step count. Ends with the floor check: a complete episode through the
wrapped env in under 0.5 ms (on ``vgg16``).

Run: ``python benchmarks/env_overhead.py [--space vgg16] [--episodes 200] [--repeats 20]``
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import numpy as np
from _common import ConstantEvaluator, best_seconds
from pettingzoo.utils import wrappers

import cnn_design_env
from cnn_design_env.gym_env import CNNDesignGymEnv
from cnn_design_env.reward import PaperReward
from cnn_design_env.space import get_space

FLOOR_US = 500.0


def aec_episode(env, next_design: Callable[[], tuple[int, ...]]) -> Callable[[], None]:
    """One full AEC episode: reset, every agent acts from ``next_design()``, closing steps."""

    def run() -> None:
        design = next_design()
        env.reset()
        i = 0
        for _agent in env.agent_iter():
            _, _, terminated, truncated, _ = env.last()
            if terminated or truncated:
                env.step(None)
            else:
                env.step(design[i])
                i += 1

    return run


def gym_episode(env: CNNDesignGymEnv, next_design: Callable[[], tuple[int, ...]]
                ) -> Callable[[], None]:
    def run() -> None:
        env.reset()
        for action in next_design():
            env.step(action)

    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="vgg16")
    parser.add_argument("--episodes", type=int, default=200, help="episodes per timing run")
    parser.add_argument("--repeats", type=int, default=20, help="timing runs (best is kept)")
    args = parser.parse_args(argv)

    space = get_space(args.space)
    evaluator = ConstantEvaluator(space)
    reward = PaperReward()
    rng = np.random.default_rng(0)

    def random_design() -> tuple[int, ...]:
        return space.sample(rng).actions

    fixed = space.sample(np.random.default_rng(1)).actions

    def fixed_design() -> tuple[int, ...]:
        return fixed

    def bare() -> None:
        design = space.sample(rng)
        reward(evaluator.evaluate(design, seed=0))

    raw = cnn_design_env.raw_env(space, evaluator, reward)
    wrapped = cnn_design_env.env(space, evaluator, reward)  # OrderEnforcing(raw)
    stock = wrappers.OrderEnforcingWrapper(wrappers.AssertOutOfBoundsWrapper(
        cnn_design_env.raw_env(space, evaluator, reward)))
    gym_env = CNNDesignGymEnv(space, evaluator, reward)
    for env in (raw, wrapped, stock):
        env.reset(seed=0)
    gym_env.reset(seed=0)

    loops = [
        ("bare: space.sample + evaluate + reward", bare),
        ("raw AEC env, random designs", aec_episode(raw, random_design)),
        ("wrapped AEC env, random designs", aec_episode(wrapped, random_design)),
        ("raw AEC env, fixed design", aec_episode(raw, fixed_design)),
        ("wrapped AEC env, fixed design", aec_episode(wrapped, fixed_design)),
        ("  stock PettingZoo wrappers, fixed design", aec_episode(stock, fixed_design)),
        ("Gymnasium view, fixed design", gym_episode(gym_env, fixed_design)),
    ]
    n = space.num_agents
    print(f"{space.name}: {n} agents, constant evaluator, best of {args.repeats} x "
          f"{args.episodes} episodes")
    print(f"{'loop':<44}{'us/episode':>11}{'steps/s':>11}{'x bare':>8}")
    seconds = {}
    for name, fn in loops:
        seconds[name] = best_seconds(fn, number=args.episodes, repeats=args.repeats)
        us = seconds[name] * 1e6
        ratio = seconds[name] / seconds[loops[0][0]]
        print(f"{name:<44}{us:>11.1f}{n / seconds[name]:>11,.0f}{ratio:>8.2f}")
    wrapped_us = seconds["wrapped AEC env, fixed design"] * 1e6
    raw_us = seconds["raw AEC env, fixed design"] * 1e6
    stock_us = seconds["  stock PettingZoo wrappers, fixed design"] * 1e6
    print(f"wrapped / raw: {wrapped_us / raw_us:.2f}; stock-wrapped / raw: "
          f"{stock_us / raw_us:.2f}")
    ok = wrapped_us < FLOOR_US
    print(f"floor: a complete {space.name} episode through the wrapped env: {wrapped_us:.0f} us "
          f"({'<' if ok else '>='} {FLOOR_US:.0f} us) -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok or space.name != "vgg16" else 1


if __name__ == "__main__":
    sys.exit(main())
