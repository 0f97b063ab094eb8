"""Single-agent design with a maskable policy: sb3-contrib's MaskablePPO on the Gymnasium view.

One agent designs ``vgg_mini`` layer by layer (the MetaQNN setting): ``Discrete(max |A_i|)``
actions, the legal ones given by ``env.action_masks()``, which MaskablePPO reads at every step,
and the design's reward at the end. The evaluator is a toy stand-in for training (a deterministic
function of the design's analytic FLOPs and size), so a few hundred episodes take seconds.

Needs the ``gym`` extra: ``pip install torch==2.13.0 sb3-contrib`` (torch first).

Run: ``python examples/gym_maskable_ppo.py [--episodes 300] [--seed 0]``
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from cnn_design_env import Design, Metrics, SearchSpace, analyze, get_space
from cnn_design_env.gym_env import CNNDesignGymEnv


class ToyEvaluator:
    """Not training: "accuracy" peaks at about 1 MFLOP per image; size and FLOPs are real."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    def evaluate(self, design: Design, *, seed: int) -> Metrics:
        info = analyze(self.space, design)
        accuracy = 0.95 - 0.15 * abs(math.log10(max(info.flops, 1)) - 6.0)
        return Metrics(accuracy=min(max(accuracy, 0.0), 1.0), model_size_mb=info.model_size_mb,
                       params=info.params, flops=info.flops, epochs=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="MaskablePPO designs vgg_mini layer by layer.")
    parser.add_argument("--episodes", type=int, default=300, help="training episodes (designs)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.monitor import Monitor

    torch.set_num_threads(1)
    space = get_space("vgg_mini")
    env = Monitor(CNNDesignGymEnv(space, ToyEvaluator(space)))
    episodes_per_rollout = 10
    model = MaskablePPO("MlpPolicy", env, n_steps=episodes_per_rollout * space.num_agents,
                        batch_size=space.num_agents * 5, n_epochs=5, gamma=1.0,
                        learning_rate=1e-3, seed=args.seed, verbose=0)
    model.learn(total_timesteps=args.episodes * space.num_agents)

    rewards = np.asarray(env.get_episode_rewards())
    tenth = max(1, len(rewards) // 10)
    print(f"trained on {len(rewards)} episodes ({len(rewards) * space.num_agents} steps)")
    print(f"mean reward, first {tenth} episodes: {rewards[:tenth].mean():.3f}; "
          f"last {tenth}: {rewards[-tenth:].mean():.3f}; best {rewards.max():.3f}")

    obs, info = env.reset(seed=args.seed)
    terminated = False
    while not terminated:
        action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(),
                                  deterministic=True)
        obs, reward, terminated, _, info = env.step(int(action))
    print(f"greedy design {info['design']}: reward {reward:.3f}, accuracy "
          f"{info['metrics']['accuracy']:.3f}, {info['metrics']['flops'] / 1e6:.2f} MFLOPs")
    env.close()


if __name__ == "__main__":
    main()
