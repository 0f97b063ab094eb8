"""Throughput of the JAX env under ``vmap``, next to the PettingZoo env and the Gymnasium view.

Prints, in one run, agent-steps per second on one table (``table_chain`` by default, 7 agents):

* the JAX env (:class:`cnn_design_env.jax.TableEnv`) with 1, 64 and 4,096 environments under
  ``vmap``: ``--steps`` steps of every env inside one ``jit``-compiled ``lax.scan``, a uniformly
  random *legal* action for every agent from ``get_avail_actions`` (one uniform draw per env),
  and every observation, reward and info leaf summed into a checksum so that XLA computes them
  all (nothing is dead code); at 4,096 envs also with only rewards and dones read (XLA then
  drops observations and infos, as in a benchmark that discards them);
* the wrapped PettingZoo AEC env (``cnn_design_env.env``) and the Gymnasium view with the
  :class:`~cnn_design_env.evaluators.tabular.TabularEvaluator` of the same table, random designs
  (``space.sample``).

An *agent-step* is one agent's decision: one step of one JAX env (turn-based: only the acting
agent decides), one ``env.step(action)`` of the AEC env (the closing ``step(None)`` calls are
timed but not counted) or one Gymnasium step; a design is ``N`` agent-steps. Times are medians
of ``--repeats`` runs after a warm-up (compilation excluded). Ends with the floor check:
at least 10^6 agent-steps/s with 4,096 envs (goal 10^7).

Run: ``python benchmarks/jax_env.py [--table table_chain] [--steps 350] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import cnn_design_env
from cnn_design_env.evaluators.tabular import TabularEvaluator
from cnn_design_env.gym_env import CNNDesignGymEnv
from cnn_design_env.jax import TableEnv

FLOOR = 1e6
GOAL = 1e7
ENV_COUNTS = (1, 64, 4096)


def random_legal(key: jax.Array, avail: jax.Array) -> jax.Array:
    """A uniformly random available action for every agent of every env.

    ``avail`` is ``(envs, agents, actions)`` bool; one uniform draw per env serves all its agents
    (only the acting agent has more than one available action).
    """
    count = avail.sum(-1)
    u = jax.random.uniform(key, count.shape[:1])
    pick = jnp.floor(u[:, None] * count).astype(jnp.int32)
    # the running count of available actions, as static slices (XLA's CPU cumsum is slow)
    running = jnp.stack([avail[..., :k + 1].sum(-1) for k in range(avail.shape[-1])], axis=-1)
    return jnp.argmax(running > pick[..., None], axis=-1)


def jax_runner(env: TableEnv, num_envs: int, steps: int, *, everything: bool = True
               ) -> Callable[[jax.Array], jax.Array]:
    """A jitted ``run(key) -> checksum`` of ``steps`` steps of ``num_envs`` vmapped envs.

    ``everything``: the checksum reads every output (else only rewards and dones, so XLA drops
    the observations and infos as dead code).
    """
    agents = env.agents

    def run(key: jax.Array) -> jax.Array:
        key, k_reset = jax.random.split(key)
        _, state = jax.vmap(env.reset)(jax.random.split(k_reset, num_envs))

        def body(carry: tuple, key: jax.Array) -> tuple:
            state, total = carry
            k_act, k_env = jax.random.split(key)
            avail = jax.vmap(env.get_avail_actions)(state)
            chosen = random_legal(k_act, jnp.stack([avail[a] for a in agents], axis=1))
            actions = {a: chosen[:, i] for i, a in enumerate(agents)}
            out = jax.vmap(env.step)(jax.random.split(k_env, num_envs), state, actions)
            obs, state, rewards, dones, infos = out
            leaves = jax.tree.leaves((obs, rewards, dones, infos) if everything else
                                     (rewards, dones))
            total = total + sum(jnp.sum(leaf.astype(jnp.float32)) for leaf in leaves)
            return (state, total), None

        (_, total), _ = jax.lax.scan(body, (state, jnp.float32(0)),
                                     jax.random.split(key, steps))
        return total

    return jax.jit(run)


def median_seconds(fn: Callable[[], object], repeats: int) -> float:
    """Median wall seconds of ``fn()`` over ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def pettingzoo_rate(table: str, episodes: int, repeats: int) -> float:
    """Agent-steps/s of the wrapped AEC env with the tabular evaluator, random designs."""
    aec = cnn_design_env.env(table, evaluator=TabularEvaluator(table))
    space = aec.unwrapped.space
    rng = np.random.default_rng(0)
    aec.reset(seed=0)

    def run() -> None:
        for _ in range(episodes):
            design = space.sample(rng).actions
            aec.reset()
            i = 0
            for _agent in aec.agent_iter():
                _, _, terminated, truncated, _ = aec.last()
                if terminated or truncated:
                    aec.step(None)
                else:
                    aec.step(design[i])
                    i += 1

    return episodes * space.num_agents / median_seconds(run, repeats)


def gym_rate(table: str, episodes: int, repeats: int) -> float:
    """Agent-steps/s of the Gymnasium view with the tabular evaluator, random designs."""
    env = CNNDesignGymEnv(table, TabularEvaluator(table))
    space = env.space
    rng = np.random.default_rng(0)
    env.reset(seed=0)

    def run() -> None:
        for _ in range(episodes):
            env.reset()
            for action in space.sample(rng).actions:
                env.step(action)

    return episodes * space.num_agents / median_seconds(run, repeats)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="table_chain")
    parser.add_argument("--steps", type=int, default=350, help="steps per env per JAX run")
    parser.add_argument("--episodes", type=int, default=300, help="episodes per host run")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    env = TableEnv(args.table)
    n = env.num_agents
    print(f"{args.table}: {n} agents, {env.num_designs} designs; JAX {jax.__version__} on "
          f"{jax.devices()[0].platform} ({jax.device_count()} device); median of "
          f"{args.repeats} runs")
    print(f"{'env':<44}{'agent-steps/s':>15}{'designs/s':>13}")
    rates = {}
    for num_envs in ENV_COUNTS:
        steps = args.steps if num_envs > 1 else args.steps * 10
        runner = jax_runner(env, num_envs, steps)
        seconds = median_seconds(lambda r=runner: r(jax.random.key(0)).block_until_ready(),
                                 args.repeats)
        rates[num_envs] = num_envs * steps / seconds
        label = f"JAX TableEnv, vmap over {num_envs:,} env{'s' if num_envs > 1 else ''}"
        print(f"{label:<44}{rates[num_envs]:>15,.0f}{rates[num_envs] / n:>13,.0f}")
    lean = jax_runner(env, ENV_COUNTS[-1], args.steps, everything=False)
    lean_rate = ENV_COUNTS[-1] * args.steps / median_seconds(
        lambda: lean(jax.random.key(0)).block_until_ready(), args.repeats)
    print(f"{'  the same, observations and infos unused':<44}{lean_rate:>15,.0f}"
          f"{lean_rate / n:>13,.0f}")
    host = {"PettingZoo AEC env (wrapped), tabular": pettingzoo_rate(args.table, args.episodes,
                                                                      args.repeats),
            "Gymnasium view, tabular": gym_rate(args.table, args.episodes, args.repeats)}
    for label, rate in host.items():
        print(f"{label:<44}{rate:>15,.0f}{rate / n:>13,.0f}")
    best = rates[ENV_COUNTS[-1]]
    aec = host["PettingZoo AEC env (wrapped), tabular"]
    print(f"JAX at {ENV_COUNTS[-1]:,} envs / PettingZoo: {best / aec:,.0f}x; "
          f"/ Gymnasium: {best / host['Gymnasium view, tabular']:,.0f}x")
    ok = best >= FLOOR
    print(f"floor: {best:,.0f} agent-steps/s at {ENV_COUNTS[-1]:,} envs "
          f"({'>=' if ok else '<'} {FLOOR:,.0f}; goal {GOAL:,.0f}: "
          f"{'met' if best >= GOAL else 'not met'}) -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
