"""The env under Tianshou's PettingZoo wrapper: padded action spaces, random and DQN teams.

Tianshou's ``PettingZooEnv`` asserts that every agent has the same observation and action space, so
the env is built with ``pad_actions=True``: every agent gets ``Discrete(max |A_i|)`` and the padding
is masked out in ``obs["action_mask"]``, which Tianshou turns into ``batch.obs.mask`` (its random
policy and ``DiscreteQLearningPolicy`` both honour it, so no padded action is ever taken).

Two teams are measured with Tianshou's ``Collector``, one algorithm per agent dispatched by
``MultiAgentOffPolicyAlgorithm``:

* a random team (``MARLRandomDiscreteMaskedOffPolicyAlgorithm`` for every agent);
* a DQN team: one small Q-network per agent on the one-hot observation, trained with
  ``n_step_return_horizon = N`` and ``gamma = 1``, so that every agent's target is exactly the
  shared terminal reward of its episode (the design is complete within ``N`` steps); then run
  greedily.

Run: ``python examples/tianshou_padded.py --episodes 200`` (needs ``pip install tianshou``; see
the README's "Plug in your algorithm"). Uses a stand-in evaluator unless ``--train`` is given.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import numpy as np
import torch
from stand_in import make_evaluator, parser
from tianshou.algorithm import DQN, MARLRandomDiscreteMaskedOffPolicyAlgorithm
from tianshou.algorithm import MultiAgentOffPolicyAlgorithm as MultiAgent
from tianshou.algorithm.modelfree.dqn import DiscreteQLearningPolicy
from tianshou.algorithm.optim import AdamOptimizerFactory
from tianshou.data import Collector, VectorReplayBuffer
from tianshou.env import DummyVectorEnv
from tianshou.env.pettingzoo_env import PettingZooEnv
from tianshou.utils.torch_utils import policy_within_training_step, torch_train_mode

import cnn_design_env
from cnn_design_env.episode import observation_nvec


class OneHotQNet(torch.nn.Module):
    """Q-values from the one-hot encoding of the observation vector (Tianshou model signature)."""

    def __init__(self, nvec: np.ndarray, num_actions: int, hidden: int = 64) -> None:
        super().__init__()
        self.register_buffer("offsets", torch.as_tensor(np.cumsum(nvec) - nvec))
        self.embed = torch.nn.EmbeddingBag(int(nvec.sum()), hidden, mode="sum")
        self.head = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(hidden, num_actions))

    def forward(self, obs, state=None, info=None):
        obs = torch.as_tensor(np.asarray(obs), dtype=torch.long)
        return self.head(self.embed(obs + self.offsets)), state


def make_env(args) -> PettingZooEnv:
    """One padded env wrapped for Tianshou."""
    return PettingZooEnv(cnn_design_env.env(args.space, evaluator=make_evaluator(args),
                                            pad_actions=True))


@contextmanager
def training_step(team: MultiAgent) -> Iterator[None]:
    """Set Tianshou's "within a training step" flag (exploration, updates) on every policy."""
    with ExitStack() as stack:
        for policy in (team.policy, *team.policy.policies.values()):
            stack.enter_context(policy_within_training_step(policy))
        yield


def run_episodes(algorithm: MultiAgent, envs: DummyVectorEnv, episodes: int, *,
                 buffer: VectorReplayBuffer | None = None, explore: bool = False,
                 updates: int = 0) -> np.ndarray:
    """Collect ``episodes`` episodes; with ``updates``, train after each one. Returns rewards."""
    collector = Collector(algorithm, envs, buffer, exploration_noise=explore)
    collector.reset()
    rewards = []
    for _ in range(episodes):
        stats = collector.collect(n_episode=1)
        rewards.append(float(stats.returns[0, 0]))  # the team reward: the same for every agent
        with torch_train_mode(algorithm):
            for _ in range(updates):
                algorithm.update(buffer=buffer, sample_size=32)
    return np.array(rewards)


def main() -> None:
    args = parser(__doc__.splitlines()[0], episodes=200).parse_args()
    logging.getLogger("tianshou.data.stats").setLevel(logging.ERROR)  # per-agent returns warning
    # Tianshou's random and epsilon-greedy policies draw from NumPy's global generator and torch's:
    # seed both for a reproducible run (our own code never uses them).
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # tiny networks: threads only add overhead
    env = make_env(args)
    envs = DummyVectorEnv([lambda: env])
    envs.seed(args.seed)
    space = env.env.unwrapped.space
    nvec, num_actions = observation_nvec(space), int(env.action_space.n)
    print(f"space {space.name}: {space.num_agents} agents, actions padded to {num_actions}")

    random_team = MultiAgent(algorithms=[
        MARLRandomDiscreteMaskedOffPolicyAlgorithm(action_space=env.action_space)
        for _ in env.agents], env=env)
    random_rewards = run_episodes(random_team, envs, max(1, args.episodes // 4))
    print(f"random team: mean reward {random_rewards.mean():.2f} "
          f"over {len(random_rewards)} episodes")

    def dqn() -> DQN:
        policy = DiscreteQLearningPolicy(model=OneHotQNet(nvec, num_actions),
                                         action_space=env.action_space, eps_training=0.2,
                                         eps_inference=0.0)
        return DQN(policy=policy, optim=AdamOptimizerFactory(lr=1e-2), gamma=1.0,
                   n_step_return_horizon=space.num_agents)

    team = MultiAgent(algorithms=[dqn() for _ in env.agents], env=env)
    buffer = VectorReplayBuffer(10_000, len(envs))
    with training_step(team):
        train_rewards = run_episodes(team, envs, args.episodes, buffer=buffer, explore=True,
                                     updates=2)
    k = max(1, len(train_rewards) // 4)
    print(f"DQN team training: first {k} episodes {train_rewards[:k].mean():.2f}, "
          f"last {k} {train_rewards[-k:].mean():.2f}")
    greedy = run_episodes(team, envs, 5)
    print(f"DQN team greedy: mean reward {greedy.mean():.2f}")


if __name__ == "__main__":
    main()
