"""The CNN-design env, version 0: PettingZoo's module convention (``env``, ``parallel_env``,
``raw_env``), as ``pettingzoo.classic.rps_v2`` is to ``pettingzoo.classic.rps.rps``.

Importing this module registers the env in Gymnasium's and PettingZoo's registries under
``"cnn_design_env/cnn_design_v0"`` (see :mod:`cnn_design_env.registration`); with no arguments
the registries build the ``table_chain`` space with its tabular evaluator.

Example:
    >>> from cnn_design_env import cnn_design_v0
    >>> aec = cnn_design_v0.env(space="table_chain", evaluator="tabular")
    >>> aec.metadata["name"], aec.possible_agents[-2:]
    ('cnn_design_v0', ['dense_0', 'train_0'])
    >>> import pettingzoo
    >>> pettingzoo.make("parallel", "cnn_design_env/cnn_design_v0").reset(seed=0)[0].keys() \\
    ...     == set(aec.possible_agents)
    True
"""

from cnn_design_env.cnn_design import CNNDesignEnv, env, parallel_env, raw_env
from cnn_design_env.registration import register_envs

register_envs()

__all__ = ["CNNDesignEnv", "env", "parallel_env", "raw_env"]
