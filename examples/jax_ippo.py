"""Shared-parameter actor-critic PPO (IPPO with one network for every agent) on a table, in JAX.

The whole training run (rollouts of ``--envs`` vmapped envs, advantages, PPO epochs with Optax)
is one ``jit``-compiled ``lax.scan`` over updates, in the style of PureJaxRL / JaxMARL's IPPO:
the env is driven only through its JaxMARL interface (``reset``, ``step``, ``get_avail_actions``,
``agents``, ``observation_space``, ``action_space``). The policy is one MLP for every agent on
its observation (which says who acts, what has been decided, and which agent it is), with the
unavailable actions masked out of its logits.

After each update the *recommended design* is the policy's greedy design (each acting agent's
most probable action); its *true regret* is the best design's true reward minus its own, where a
design's true reward is the table reward at full fidelity averaged over the recorded seeds.

Run: ``python examples/jax_ippo.py [--table table_chain] [--updates 150] [--envs 64]
[--reward paper|accuracy]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnn_design_env.jax import TableEnv
from cnn_design_env.reward import PaperReward, WeightedReward

REWARDS = {"paper": PaperReward, "accuracy": lambda: WeightedReward({"accuracy": 100.0})}
"""``--reward`` choices: the paper's Eq. 2 (the default), or validation accuracy in percent."""


@dataclass(frozen=True)
class Config:
    """Training settings (static under ``jit``)."""

    num_envs: int = 64
    num_updates: int = 150
    hidden: int = 64
    learning_rate: float = 3e-3
    ppo_epochs: int = 4
    clip: float = 0.2
    entropy: float = 0.01
    value_coef: float = 0.5


def init_params(key: jax.Array, obs_size: int, num_actions: int, hidden: int) -> dict:
    """A two-layer trunk with a policy head and a value head."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    scale = 1.0 / np.sqrt(obs_size)
    return {"w1": jax.random.normal(k1, (obs_size, hidden)) * scale, "b1": jnp.zeros(hidden),
            "w2": jax.random.normal(k2, (hidden, hidden)) / np.sqrt(hidden),
            "b2": jnp.zeros(hidden),
            "pi": jax.random.normal(k3, (hidden, num_actions)) * 0.01,
            "v": jax.random.normal(k4, (hidden,)) * 0.01}


def forward(params: dict, obs: jax.Array, avail: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Masked log-probabilities and values of a batch of observations."""
    h = jnp.tanh(obs @ params["w1"] + params["b1"])
    h = jnp.tanh(h @ params["w2"] + params["b2"])
    logits = jnp.where(avail, h @ params["pi"], -1e9)
    return jax.nn.log_softmax(logits), h @ params["v"]


def stack(tree: dict, agents: list[str]) -> jax.Array:
    """Agent dict of ``(E, ...)`` arrays -> ``(E, N, ...)``."""
    return jnp.stack([tree[a] for a in agents], axis=1)


def greedy_regret(env: TableEnv, params: dict) -> tuple[jax.Array, jax.Array]:
    """The greedy design's table row and true regret (one env, ``N`` steps)."""
    agents = env.agents

    def step(carry: tuple, _: None) -> tuple:
        state, obs, row = carry
        avail = env.get_avail_actions(state)
        logp, _ = forward(params, jnp.stack([obs[a] for a in agents]),
                          jnp.stack([avail[a] for a in agents]))
        choice = jnp.argmax(logp, axis=-1)
        obs, state, _, dones, infos = env.step(jax.random.key(0), state,
                                               {a: choice[i] for i, a in enumerate(agents)})
        row = jnp.where(dones["__all__"], infos["design_row"][0], row)
        return (state, obs, row), None

    obs, state = env.reset(jax.random.key(0))
    (_, _, row), _ = jax.lax.scan(step, (state, obs, jnp.int32(-1)), None, env.num_agents)
    return row, env.true_rewards.max() - env.true_rewards[row]


def make_train(env: TableEnv, config: Config):
    """A function ``train(key) -> (params, history)``, to ``jit``; one update = ``N`` steps of
    ``num_envs`` envs (each env finishes one design per update)."""
    agents, n = env.agents, env.num_agents
    obs_size = env.observation_space(agents[0]).shape[0]
    num_actions = env.action_space(agents[0]).n
    optimiser = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(config.learning_rate))

    def rollout(params: dict, state, obs, key: jax.Array):
        def step(carry: tuple, _: None) -> tuple:
            state, obs, key = carry
            key, k_act, k_env = jax.random.split(key, 3)
            obs_b = stack(obs, agents)
            avail = stack(jax.vmap(env.get_avail_actions)(state), agents)
            logp, value = forward(params, obs_b, avail)
            action = jax.random.categorical(k_act, logp)
            obs, state, rewards, dones, _ = jax.vmap(env.step)(
                jax.random.split(k_env, config.num_envs), state,
                {a: action[:, i] for i, a in enumerate(agents)})
            picked = jnp.take_along_axis(logp, action[..., None], -1)[..., 0]
            out = (obs_b, avail, action, picked, value, stack(rewards, agents),
                   stack(dones, agents))
            return (state, obs, key), out

        return jax.lax.scan(step, (state, obs, key), None, n)

    def loss_fn(params: dict, batch: tuple) -> jax.Array:
        obs, avail, action, old_logp, advantage, ret = batch
        logp, value = forward(params, obs, avail)
        new = jnp.take_along_axis(logp, action[..., None], -1)[..., 0]
        ratio = jnp.exp(new - old_logp)
        surrogate = jnp.minimum(ratio * advantage,
                                jnp.clip(ratio, 1 - config.clip, 1 + config.clip) * advantage)
        entropy = -jnp.sum(jnp.where(avail, jnp.exp(logp) * logp, 0.0), -1)
        return (-surrogate.mean() + config.value_coef * jnp.mean((value - ret) ** 2)
                - config.entropy * entropy.mean())

    def update(carry: tuple, _: None) -> tuple:
        params, opt_state, state, obs, key = carry
        key, k_roll = jax.random.split(key)
        (state, obs, _), traj = rollout(params, state, obs, k_roll)
        obs_b, avail, action, logp, value, reward, done = traj

        def discount(future: jax.Array, step: tuple) -> tuple:  # gamma = 1, cut at episode ends
            r, d = step
            g = r + future * (1.0 - d)
            return g, g

        _, ret = jax.lax.scan(discount, jnp.zeros_like(reward[0]), (reward, done), reverse=True)
        advantage = ret - value
        advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        batch = (obs_b, avail, action, logp, advantage, ret)

        def epoch(carry: tuple, _: None) -> tuple:
            params, opt_state = carry
            grads = jax.grad(loss_fn)(params, batch)
            updates, opt_state = optimiser.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        (params, opt_state), _ = jax.lax.scan(epoch, (params, opt_state), None,
                                              config.ppo_epochs)
        row, regret = greedy_regret(env, params)
        finished = reward[-1, :, 0]  # the last step of each env's episode carries its reward
        return (params, opt_state, state, obs, key), (regret, row, finished.mean())

    def train(key: jax.Array):
        k_init, k_reset, key = jax.random.split(key, 3)
        params = init_params(k_init, obs_size, num_actions, config.hidden)
        obs, state = jax.vmap(env.reset)(jax.random.split(k_reset, config.num_envs))
        initial = greedy_regret(env, params)[1]
        carry = (params, optimiser.init(params), state, obs, key)
        (params, *_), (regret, row, mean_reward) = jax.lax.scan(update, carry, None,
                                                                 config.num_updates)
        return params, {"initial_regret": initial, "regret": regret, "row": row,
                        "mean_reward": mean_reward}

    return train


def random_design_regret(env: TableEnv) -> float:
    """Expected true regret of a uniformly random design (the no-learning reference)."""
    true = np.asarray(env.true_rewards)
    return float(true.max() - true.mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="table_chain")
    parser.add_argument("--updates", type=int, default=150)
    parser.add_argument("--envs", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reward", choices=sorted(REWARDS), default="paper")
    parser.add_argument("--lr", type=float, default=Config.learning_rate)
    parser.add_argument("--every", type=int, default=10, help="print every this many updates")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line last")
    args = parser.parse_args(argv)

    env = TableEnv(args.table, reward=REWARDS[args.reward]())
    config = Config(num_envs=args.envs, num_updates=args.updates, learning_rate=args.lr)
    start = time.perf_counter()
    train = jax.jit(make_train(env, config))
    _, history = jax.block_until_ready(train(jax.random.key(args.seed)))
    seconds = time.perf_counter() - start
    history = jax.tree.map(np.asarray, history)
    reference = random_design_regret(env)
    print(f"{env.name} ({args.reward} reward): {env.num_agents} agents, {config.num_envs} envs "
          f"x {config.num_updates} updates ({config.num_envs * config.num_updates} designs) in "
          f"{seconds:.1f} s "
          f"(compile included)")
    print(f"true regret of a random design (expected): {reference:.3f}; of the initial greedy "
          f"design: {float(history['initial_regret']):.3f}")
    print(f"{'update':>7}{'designs':>9}{'mean reward':>13}{'greedy regret':>15}  design")
    for i in range(0, config.num_updates, args.every):
        row = int(history["row"][i])
        print(f"{i + 1:>7}{(i + 1) * config.num_envs:>9}{history['mean_reward'][i]:>13.3f}"
              f"{history['regret'][i]:>15.3f}  {env.design_of_row(row).actions}")
    final_row = int(history["row"][-1])
    print(f"final recommended design {env.design_of_row(final_row).actions}: true regret "
          f"{history['regret'][-1]:.3f}")
    if args.json:
        print(json.dumps({"seconds": seconds, "random_regret": reference,
                          "initial_regret": float(history["initial_regret"]),
                          "final_regret": float(history["regret"][-1]),
                          "regret": history["regret"].tolist()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
