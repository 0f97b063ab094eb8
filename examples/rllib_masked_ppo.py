"""RLlib PPO with one policy shared by every agent, the action masks honoured, unchanged.

No adapter code on the env side: RLlib's own ``ParallelPettingZooEnv`` wraps the env's parallel
view as it is, and the env's options make it what RLlib's masking module expects.

* ``parallel_env(...)``: every agent decides at once (one step is one design) and its observation
  says who it is (the observer one-hot), so one shared policy can tell the agents apart;
* ``pad_actions=True``: every agent has the same ``Discrete`` action and observation space, so one
  RLModule serves them all;
* ``observation="flat_dict"``: ``Dict(observation=Box(float32), action_mask=Box(int8))``, the
  layout of RLlib's ``ActionMaskingTorchRLModule`` (a PPO module that adds ``log(mask)`` to the
  logits in every forward pass). That module reads the features under ``"observations"``, the
  PettingZoo convention (and ours) is ``"observation"``: the subclass below names the key and
  nothing else.
* ``invalid_action="raise"`` (the default): a masked action would stop the run with a
  ``ValueError``, so a finished run shows that RLlib never sent one.

On ``table_chain`` with the tabular evaluator (microsecond rewards), :func:`main` trains for a
few hundred episodes and returns the mean reward of the first and last training iterations and
the regret of the greedy design (the table optimum's true quality minus the greedy design's)
before and after training, beside a uniformly random design's mean regret.

Run: ``python examples/rllib_masked_ppo.py --episodes 300`` (``make example-rllib`` builds its own
venv: the pinned CPU torch, then ``pip install -e ".[rllib]"``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import ray
import torch
from ray.rllib.algorithms.ppo import PPOConfig
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
from ray.rllib.examples.rl_modules.classes.action_masking_rlm import (
    ActionMaskingTorchRLModule,
)
from ray.tune.registry import register_env

from baselines.scoring import table_quality
from cnn_design_env import cnn_design_v0
from cnn_design_env.reward import PaperReward

POLICY = "shared"
"""The one policy every agent maps to."""
ENV = "cnn_design_v0"
"""The name the env is registered under in RLlib (its creator takes the env's own options)."""

register_env(ENV, lambda options: ParallelPettingZooEnv(cnn_design_v0.parallel_env(**options)))


class MaskedPPOModule(ActionMaskingTorchRLModule):
    """RLlib's masking PPO module, reading the features from PettingZoo's ``"observation"`` key."""

    def __init__(self, *, observation_space: gym.Space | None = None, **kwargs) -> None:
        # The parent reads observation_space["observations"]; give it the same Dict under that key.
        if (isinstance(observation_space, gym.spaces.Dict)
                and "observation" in observation_space.spaces):
            observation_space = gym.spaces.Dict({
                "observations": observation_space["observation"],
                "action_mask": observation_space["action_mask"]})
        super().__init__(observation_space=observation_space, **kwargs)

    def _preprocess_batch(self, batch, **kwargs):
        obs = batch[Columns.OBS]
        if "observation" in obs:
            obs["observations"] = obs.pop("observation")
        return super()._preprocess_batch(batch, **kwargs)


@dataclass(frozen=True)
class Learned:
    """What a run learned: rewards while training, greedy-design regret before and after.

    ``random_regret`` is the mean regret of a uniformly random design of the table (what a uniform
    policy gets on average); regrets are in the reward's units (the paper's Eq. 2).
    """

    episodes: int
    first_reward: float
    last_reward: float
    regret_before: float
    regret_after: float
    design: tuple[int, ...]
    random_regret: float


def env_options(space: str) -> dict:
    """The env's own documented options this example uses, nothing else."""
    return {"space": space, "evaluator": "tabular", "pad_actions": True,
            "observation": "flat_dict"}


def greedy_regret(module, space: str, quality: np.ndarray, row_of) -> tuple[float, tuple]:
    """Regret of the design the shared policy's most probable (legal) actions make."""
    probe = cnn_design_v0.parallel_env(**env_options(space))
    observations, _ = probe.reset(seed=0)
    agents = list(observations)
    batch = {Columns.OBS: {
        "observation": torch.as_tensor(np.stack([observations[a]["observation"] for a in agents])),
        "action_mask": torch.as_tensor(np.stack([observations[a]["action_mask"] for a in agents]))}}
    with torch.no_grad():
        logits = module.forward_inference(batch)[Columns.ACTION_DIST_INPUTS]
    actions = dict(zip(agents, logits.argmax(-1).tolist(), strict=True))
    _, _, _, _, infos = probe.step(actions)
    design = tuple(infos[agents[0]]["design"])
    return float(quality.max() - quality[row_of(design)]), design


def main(argv: list[str] | None = None) -> Learned:
    """Train the shared PPO policy; print and return what it learned."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=300, help="training episodes (designs)")
    parser.add_argument("--per-iteration", type=int, default=20, help="episodes per PPO update")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--space", default="table_chain")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # tiny networks: threads only add overhead
    probe = cnn_design_v0.parallel_env(**env_options(args.space))
    agents = probe.possible_agents
    quality, row_of = table_quality(probe.unwrapped.evaluator, PaperReward())

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        config = (
            PPOConfig()
            # RLlib's env pre-check steps with actions sampled from the whole padded space,
            # ignoring the mask, which invalid_action="raise" refuses: skip that check only.
            .environment(ENV, env_config=env_options(args.space), disable_env_checking=True)
            .env_runners(num_env_runners=0, rollout_fragment_length="auto")
            .learners(num_learners=0)
            .multi_agent(policies={POLICY}, policy_mapping_fn=lambda agent, *a, **k: POLICY)
            .rl_module(rl_module_spec=MultiRLModuleSpec(rl_module_specs={
                POLICY: RLModuleSpec(module_class=MaskedPPOModule,
                                     model_config={"fcnet_hiddens": [64],
                                                   "head_fcnet_hiddens": []})}))
            # one env step is one whole design (all agents at once): batches count episodes
            .training(train_batch_size_per_learner=args.per_iteration,
                      minibatch_size=args.per_iteration, num_epochs=4,
                      lr=3e-3, gamma=0.0, lambda_=1.0, entropy_coeff=0.01)
            .debugging(seed=args.seed, log_level="ERROR")
        )
        algo = config.build_algo()
        module = algo.get_module(POLICY)
        before, _ = greedy_regret(module, args.space, quality, row_of)
        rewards, episodes = [], 0
        while episodes < args.episodes:
            result = algo.train()
            runners = result["env_runners"]
            episodes = int(runners["num_episodes_lifetime"])
            # every agent gets the design's reward: an episode's return is N times it
            rewards.append(float(runners["episode_return_mean"]) / len(agents))
        after, design = greedy_regret(module, args.space, quality, row_of)
        algo.stop()
    finally:
        ray.shutdown()

    learned = Learned(episodes, rewards[0], rewards[-1], before, after, design,
                      float(quality.max() - quality.mean()))
    print(f"RLlib PPO, one shared masked policy for {len(agents)} agents on {args.space}: "
          f"{episodes} episodes in {len(rewards)} iterations")
    print(f"mean reward: first iteration {learned.first_reward:.3f}, "
          f"last {learned.last_reward:.3f}")
    print(f"greedy design regret: before {before:.3f}, after {after:.3f} (design {design}); "
          f"a random design's {learned.random_regret:.3f}")
    return learned


if __name__ == "__main__":
    main()
