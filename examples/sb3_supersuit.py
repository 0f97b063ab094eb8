"""Stable-Baselines3 PPO with one policy shared by every agent, through SuperSuit, unchanged.

No adapter code: the env's own options make it what SB3 + SuperSuit expect.

* ``parallel_env(...)``: SuperSuit vectorises parallel envs; every agent decides at once (one step
  is one design) and its observation says who it is;
* ``pad_actions=True``: every agent has the same ``Discrete`` space (SuperSuit checks it);
* ``observation="flat"``: one ``float32`` ``Box`` (SB3's ``MlpPolicy`` takes it as it is);
* ``invalid_action="wrap"``: SB3 ignores masks, so a padded action is folded into the agent's
  legal range instead of raising.

``pettingzoo_env_to_vec_env_v1`` turns the agents into the rows of one vector env, so one PPO
policy (conditioned on the agent's one-hot in the observation) acts for all of them. On
``table_chain`` with the tabular evaluator (microsecond rewards), it prints the mean reward of the
first and last training steps and the regret of the greedy design (the table optimum's true
quality minus the greedy design's) before and after training.

Run: ``python examples/sb3_supersuit.py --steps 3000`` (``pip install -e ".[sb3]"``).
"""

from __future__ import annotations

import argparse

import numpy as np
import supersuit as ss
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import set_random_seed

from baselines.scoring import table_quality
from cnn_design_env import cnn_design_v0
from cnn_design_env.reward import PaperReward


class Rewards(BaseCallback):
    """Collects the reward of every agent-step (every agent's reward is its design's reward)."""

    def __init__(self) -> None:
        super().__init__()
        self.rewards: list[float] = []

    def _on_step(self) -> bool:
        self.rewards.extend(float(r) for r in self.locals["rewards"])
        return True


def greedy_regret(model: PPO, env, quality: np.ndarray, row_of) -> tuple[float, tuple[int, ...]]:
    """Regret of the design every agent's most probable action makes."""
    observations, _ = env.reset(seed=0)
    actions = {agent: int(model.predict(obs, deterministic=True)[0])
               for agent, obs in observations.items()}
    _, _, _, _, infos = env.step(actions)
    design = infos[env.possible_agents[0]]["design"]
    return float(quality.max() - quality[row_of(design)]), design


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000, help="PPO timesteps (agent-steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--space", default="table_chain")
    args = parser.parse_args()

    options = {"space": args.space, "evaluator": "tabular", "pad_actions": True,
               "observation": "flat", "invalid_action": "wrap"}
    env = cnn_design_v0.parallel_env(**options)
    env.reset(seed=args.seed)  # seeds the evaluation seeds; SuperSuit's resets continue the stream
    vec = ss.pettingzoo_env_to_vec_env_v1(env)
    vec = ss.concat_vec_envs_v1(vec, 1, num_cpus=0, base_class="stable_baselines3")
    # SuperSuit 3.11's vector env has no seed(), which PPO(seed=...) calls: seed SB3 globally
    set_random_seed(args.seed)
    model = PPO("MlpPolicy", vec, n_steps=64, batch_size=64, n_epochs=4, learning_rate=3e-3,
                gamma=0.0, ent_coef=0.01, verbose=0)

    probe = cnn_design_v0.parallel_env(**options)
    quality, row_of = table_quality(probe.unwrapped.evaluator, PaperReward())
    before, _ = greedy_regret(model, probe, quality, row_of)
    rewards = Rewards()
    model.learn(total_timesteps=args.steps, callback=rewards)
    after, design = greedy_regret(model, probe, quality, row_of)

    seen = np.array(rewards.rewards)
    k = max(1, len(seen) // 5)
    print(f"SB3 PPO, one shared policy for {len(env.possible_agents)} agents on {args.space}: "
          f"{len(seen)} agent-steps")
    print(f"mean reward: first {k} {seen[:k].mean():.3f}, last {k} {seen[-k:].mean():.3f}")
    print(f"greedy design regret: before {before:.3f}, after {after:.3f} (design {design})")


if __name__ == "__main__":
    main()
