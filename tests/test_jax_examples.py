"""The JAX learner example (as a subprocess) and the env under JaxMARL's own wrappers."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cnn_design_env.jax import TableEnv

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "jax_ippo.py"
REGRET_MARGIN = 0.25
"""The trained greedy design's true regret must be at most this fraction of the expected true
regret of a uniformly random design."""
TIME_LIMIT_S = 120.0
"""Wall seconds allowed for the run, interpreter start and compilation included (about 15 s on
the 2 shared CPU cores of the development machine)."""


def test_short_ippo_run_reduces_regret_within_time() -> None:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, str(EXAMPLE), "--table", "table_inception",
                          "--reward", "accuracy", "--updates", "60", "--envs", "64", "--json"],
                         capture_output=True, text=True, check=True, timeout=TIME_LIMIT_S * 2)
    seconds = time.perf_counter() - start
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    assert "true regret" in out.stdout
    assert summary["final_regret"] <= REGRET_MARGIN * summary["random_regret"], out.stdout
    assert seconds < TIME_LIMIT_S, f"took {seconds:.0f} s"


def test_under_jaxmarl_log_wrapper() -> None:
    pytest.importorskip("jaxmarl")
    from jaxmarl.environments.multi_agent_env import MultiAgentEnv
    from jaxmarl.wrappers.baselines import LogWrapper

    env = TableEnv("table_chain")
    for name in ("reset", "step", "step_env", "get_obs", "get_avail_actions",
                 "observation_space", "action_space"):
        ours = list(inspect.signature(getattr(TableEnv, name)).parameters)
        theirs = list(inspect.signature(getattr(MultiAgentEnv, name)).parameters)
        assert ours == theirs, name
    wrapped = LogWrapper(env)
    num = 8
    _, state = jax.vmap(wrapped.reset)(jax.random.split(jax.random.key(0), num))

    @jax.jit
    def step(key, state):
        avail = jax.vmap(env.get_avail_actions)(state.env_state)
        actions = {a: jnp.argmax(avail[a], axis=-1) for a in env.agents}
        return jax.vmap(wrapped.step)(jax.random.split(key, num), state, actions)

    for i in range(env.num_agents):
        _obs, state, _rewards, _dones, infos = step(jax.random.key(i), state)
    design_row = int(infos["design_row"][0, 0])
    expected = float(env.true_rewards[design_row])  # a fixed design: mean over seeds
    returns = np.asarray(infos["returned_episode_returns"])
    assert returns.shape == (num, env.num_agents) and bool(infos["returned_episode"].all())
    assert abs(returns.mean() - expected) < np.ptp([env.reward(env.metrics(design_row, c))
                                                   for c in range(env.num_seeds)]) + 1e-4
    flat = jax.tree.map(lambda x: x.reshape((num * env.num_agents,)), infos)  # as IPPO does
    assert flat["metrics"]["accuracy"].shape == (num * env.num_agents,)
