"""The env under TorchRL's ``PettingZooWrapper``: exact per-agent spaces, masks, REINFORCE in torch.

TorchRL keeps every agent's own action space (no padding needed): with
``group_map=MarlGroupMapType.ONE_GROUP_PER_AGENT`` each agent is a group of one with its own
``Discrete(|A_i|)`` action, its ``"action_mask"``, and a ``"mask"`` that marks the single agent
acting at each step of the AEC game (``use_mask=True`` is compulsory for AEC envs). TorchRL turns
the ``MultiDiscrete`` observation into a concatenated one-hot vector, so a linear layer per agent
is a policy over the partial design.

The team: one linear softmax policy per agent (``ProbabilisticActor`` with ``MaskedCategorical``),
trained with REINFORCE on the shared terminal reward, a batch-mean baseline, and only the steps at
which the agent acted (``"mask"``) in its loss.

Run: ``python examples/torchrl_masked.py --episodes 300`` (needs ``pip install torchrl``; see the
README's "Plug in your algorithm"). Uses a stand-in evaluator unless ``--train`` is given.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from stand_in import make_evaluator, parser
from tensordict import TensorDict
from tensordict.nn import TensorDictModule, TensorDictSequential
from torchrl.envs.libs.pettingzoo import PettingZooWrapper
from torchrl.envs.utils import ExplorationType, MarlGroupMapType, set_exploration_type
from torchrl.modules import MaskedCategorical, ProbabilisticActor

import cnn_design_env

BATCH = 10
"""Episodes per policy-gradient step."""


def make_env(args) -> PettingZooWrapper:
    """The AEC env with exact per-agent spaces, wrapped for TorchRL (one group per agent)."""
    warnings.filterwarnings("ignore", message="PettingZoo in TorchRL is tested")
    aec = cnn_design_env.env(args.space, evaluator=make_evaluator(args))
    return PettingZooWrapper(env=aec, use_mask=True, categorical_actions=True, seed=args.seed,
                             group_map=MarlGroupMapType.ONE_GROUP_PER_AGENT)


def make_team(env: PettingZooWrapper) -> tuple[dict[str, torch.nn.Module], TensorDictSequential]:
    """One zero-initialised (uniform) linear policy per agent, and the actor that samples them."""
    nets, actors = {}, []
    for group in env.group_map:
        obs_dim = env.observation_spec[group, "observation", "observation"].shape[-1]
        net = torch.nn.Linear(obs_dim, env.full_action_spec[group, "action"].space.n)
        torch.nn.init.zeros_(net.weight)
        torch.nn.init.zeros_(net.bias)
        nets[group] = net
        module = TensorDictModule(_OneHotFloat(net),
                                  in_keys=[(group, "observation", "observation")],
                                  out_keys=[(group, "logits")])
        actors.append(ProbabilisticActor(
            module, in_keys={"logits": (group, "logits"), "mask": (group, "action_mask")},
            out_keys=[(group, "action")], distribution_class=MaskedCategorical))
    return nets, TensorDictSequential(*actors)


class _OneHotFloat(torch.nn.Module):
    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, one_hot: torch.Tensor) -> torch.Tensor:
        return self.net(one_hot.float())


def reinforce_loss(rollout: TensorDict, nets: dict[str, torch.nn.Module], num_agents: int
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """REINFORCE loss of ``rollout`` (whole episodes of ``num_agents`` steps) and the rewards."""
    first = next(iter(nets))
    # The terminal reward is the same for every agent and 0 before: an episode's sum is R.
    rewards = rollout["next", first, "reward"].reshape(-1, num_agents).sum(1)
    advantage = (rewards - rewards.mean()).repeat_interleave(num_agents)
    loss = torch.zeros(())
    for group, net in nets.items():
        td = rollout[group]
        logits = net(td["observation", "observation"].float())
        dist = MaskedCategorical(logits=logits, mask=td["action_mask"])
        log_prob = dist.log_prob(td["action"]).reshape(-1)
        acting = td["mask"].reshape(-1).float()  # 1 where this agent took the step
        loss = loss - (advantage * log_prob * acting).sum() / len(rewards)
    return loss, rewards


def main() -> None:
    args = parser(__doc__.splitlines()[0], episodes=300).parse_args()
    torch.manual_seed(args.seed)  # MaskedCategorical samples from torch's generator
    torch.set_num_threads(1)  # tiny networks: threads only add overhead
    env = make_env(args)
    num_agents = len(env.group_map)
    print(f"space {args.space}: groups {list(env.group_map)}, actions "
          f"{[env.full_action_spec[g, 'action'].space.n for g in env.group_map]}")
    nets, policy = make_team(env)
    optimizer = torch.optim.Adam([p for net in nets.values() for p in net.parameters()], lr=0.05)
    history = []
    for _ in range(max(1, args.episodes // BATCH)):
        with set_exploration_type(ExplorationType.RANDOM):  # sample, don't take the mode
            rollout = env.rollout(num_agents * BATCH, policy, break_when_any_done=False)
        loss, rewards = reinforce_loss(rollout, nets, num_agents)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        history.extend(rewards.tolist())
    history = np.array(history)
    k = max(1, len(history) // 4)
    print(f"REINFORCE team: first {k} episodes {history[:k].mean():.2f}, "
          f"last {k} {history[-k:].mean():.2f}")


if __name__ == "__main__":
    main()
