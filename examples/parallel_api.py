"""The env for parallel-API consumers: ``turn_based_aec_to_parallel``, driving the JAX team.

``pettingzoo.utils.conversions.turn_based_aec_to_parallel`` keeps the turn-based game (every agent
still sees the design decided so far): each ``step(actions)`` applies only the action of the agent
whose turn it is, which is the last entry of every observation vector (and, after the first step,
``infos[agent]["active_agent"]``); the other agents' actions are ignored. The episode has one step
per agent, and the terminal step gives every agent the shared reward.

(``cnn_design_env.parallel_env(...)`` is the other parallel view, PettingZoo's
``aec_to_parallel``: all agents decide at once, blind to each other, one step per design.)

Here a :class:`agents.reinforce.ReinforceTeam` (JAX/Optax REINFORCE) plays through the parallel
API: it is asked only for the acting agent's action, the rest get a placeholder.

Run: ``python examples/parallel_api.py --episodes 300``. Uses a stand-in evaluator unless
``--train`` is given.
"""

from __future__ import annotations

import numpy as np
from pettingzoo.utils.conversions import turn_based_aec_to_parallel
from stand_in import make_evaluator, parser

import cnn_design_env
from agents.reinforce import ReinforceTeam
from cnn_design_env.space import Design


def play_episode(env, team: ReinforceTeam, seed: int) -> tuple[float, tuple[int, ...]]:
    """One design through the parallel API; the team learns from it. Returns (reward, design)."""
    observations, infos = env.reset(seed=seed)
    while env.agents:
        acting = env.possible_agents[int(observations[env.agents[0]]["observation"][-1])]
        actions = dict.fromkeys(env.agents, 0)  # ignored: only the acting agent's action counts
        actions[acting] = team.act(acting, observations[acting])
        observations, _, _, _, infos = env.step(actions)
    info = infos[env.possible_agents[0]]
    team.learn(Design(info["design"]), info["reward"])
    return info["reward"], info["design"]


def main() -> None:
    args = parser(__doc__.splitlines()[0], episodes=300).parse_args()
    evaluator = make_evaluator(args)
    env = turn_based_aec_to_parallel(cnn_design_env.env(args.space, evaluator=evaluator))
    team = ReinforceTeam(env.unwrapped.space, seed=args.seed)
    rewards = np.array([play_episode(env, team, args.seed + i)[0] for i in range(args.episodes)])
    k = max(1, len(rewards) // 4)
    print(f"space {args.space}: {len(env.possible_agents)} agents through the parallel API")
    print(f"REINFORCE team: first {k} episodes {rewards[:k].mean():.2f}, "
          f"last {k} {rewards[-k:].mean():.2f}; greedy design {team.greedy_design().actions}")


if __name__ == "__main__":
    main()
