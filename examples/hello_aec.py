"""Hello, AEC: play the CNN-design env with your own policy in a plain PettingZoo loop.

Each tunable layer of ``vgg_mini`` is an agent. Agents act in turn (input to output); the
observation holds the design so far (``action + 1`` per decided layer, 0 if undecided) and the
acting agent's index, plus the mask of legal actions. When the last agent has acted the design
is evaluated once and every agent receives the same reward.

Designs are scored by the real ``TrainingEvaluator`` (each design trained on the bundled 8x8
``digits`` for ``--epochs`` epochs, a few seconds each) when ``cnn_design_env.evaluators.training``
is available; ``--toy`` (or its absence) uses a toy stand-in instead: a deterministic function of
the design's analytic FLOPs, no training, for trying the loop in a second.

Run: ``python examples/hello_aec.py [--episodes 5] [--epochs 2] [--toy] [--seed 0]``
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import cnn_design_env
from cnn_design_env import Design, Metrics, SearchSpace, analyze


class ToyEvaluator:
    """NOT training: "accuracy" peaks at about 1 MFLOP per image; size and FLOPs are real."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        info = analyze(self.space, design)
        accuracy = 0.95 - 0.15 * abs(math.log10(max(info.flops, 1)) - 6.0)
        return Metrics(accuracy=min(max(accuracy, 0.0), 1.0), model_size_mb=info.model_size_mb,
                       params=info.params, flops=info.flops, epochs=1)


def make_evaluator(space: SearchSpace, *, toy: bool, epochs: int):
    """The real trainer if available (and not ``toy``), else the toy stand-in."""
    if not toy:
        try:
            from cnn_design_env.evaluators.training import TrainingEvaluator
        except ImportError as error:
            print(f"TrainingEvaluator unavailable ({error}); using the toy evaluator")
        else:
            print(f"training each design on 'digits' for {epochs} epoch(s)")
            return TrainingEvaluator(space, "digits", epochs=epochs)
    print("toy evaluator: made-up accuracy, no training")
    return ToyEvaluator(space)


def policy(observation: dict[str, np.ndarray], rng: np.random.Generator) -> int:
    """Your policy goes here: this one picks a legal action uniformly at random."""
    legal = np.flatnonzero(observation["action_mask"])
    return int(rng.choice(legal))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Play vgg_mini with your own policy.")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2, help="training epochs per design")
    parser.add_argument("--toy", action="store_true", help="toy evaluator: no training")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    space = cnn_design_env.get_space("vgg_mini")
    evaluator = make_evaluator(space, toy=args.toy, epochs=args.epochs)
    env = cnn_design_env.env(space, evaluator=evaluator, render_mode="ansi")
    rng = np.random.default_rng(args.seed)
    best: tuple[float, dict, str] | None = None
    env.reset(seed=args.seed)
    for episode in range(args.episodes):
        if episode:
            env.reset()
        for agent in env.agent_iter():
            observation, reward, terminated, truncated, info = env.last()
            # A finished agent steps None; a live one asks the policy.
            action = None if terminated or truncated else policy(observation, rng)
            env.step(action)
            if terminated and agent == env.possible_agents[0]:
                print(f"episode {episode:3d}: reward {reward:7.3f}  design {info['design']}")
                if best is None or reward > best[0]:
                    best = (reward, info, env.render())  # ansi: the design as a table
    assert best is not None
    reward, info, table = best
    print(f"\nbest reward {reward:.3f}: accuracy {info['metrics']['accuracy']:.3f}, "
          f"{info['metrics']['params']:,} params, {info['metrics']['flops'] / 1e6:.2f} MFLOPs")
    print(table)
    env.close()


if __name__ == "__main__":
    main()
