"""A JAX-native, functional env over the shipped tables, with JaxMARL's ``MultiAgentEnv`` API.

``TableEnv(table)`` plays the PettingZoo env's design game on a table in pure ``jax.numpy``:
``reset(key)`` and ``step(key, state, actions)`` ``jit`` and ``vmap``, so thousands of design
episodes run in one compiled program (see :mod:`cnn_design_env.jax.env`).
:func:`jax_reward` turns the package's arithmetic rewards into ``jnp`` functions.

Not imported by ``import cnn_design_env``: import ``cnn_design_env.jax`` explicitly.

Example:
    >>> import jax
    >>> from cnn_design_env.jax import TableEnv
    >>> env = TableEnv("table_inception")
    >>> obs, state = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 8))
    >>> obs[env.agents[0]].shape, env.num_actions
    ((8, 32), 6)
"""

from __future__ import annotations

from cnn_design_env.jax.env import TableEnv, TableState
from cnn_design_env.jax.rewards import jax_reward, paper_reward, weighted_reward
from cnn_design_env.jax.spaces import Box, Discrete

__all__ = ["Box", "Discrete", "TableEnv", "TableState", "jax_reward", "paper_reward",
           "weighted_reward"]
