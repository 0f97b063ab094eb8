"""A :class:`~cnn_design_env.train.model.Network` as a Flax NNX module, for use outside the trainer.

The trainer itself stays functional (``jax.jit`` on pure steps over the parameter pytree), which
measured far cheaper to set up per candidate than building Flax modules eagerly. When a designed
network is wanted as an ordinary NNX model (to fine-tune it with ``nnx.Optimizer``, save it with
Orbax, or embed it in a larger model), :func:`to_nnx` wraps the same parameters: trainable values
become ``nnx.Param``, batch-norm running statistics ``nnx.BatchStat``, and ``nnx.split(module,
nnx.Param, ...)`` gives back the trainer's pytree layout.

Example:
    >>> import numpy as np
    >>> from cnn_design_env.space import get_space
    >>> space = get_space("vgg_mini")
    >>> module = to_nnx(build_network(space, None), rng=np.random.default_rng(0))
    >>> module(np.zeros((2, 8, 8, 1), np.float32)).shape
    (2, 10)
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np
from flax import nnx

from cnn_design_env.train.model import Network, Params, State, build_network


def _is_variable(value: Any) -> bool:
    return isinstance(value, nnx.Variable)


class NetworkModule(nnx.Module):
    """An NNX module running ``network.apply`` on NNX variables.

    Args:
        network: The functional network.
        params: Its trainable values.
        state: Its batch-norm state.
    """

    def __init__(self, network: Network, params: Params, state: State) -> None:
        self.network = network
        self.params = nnx.data(jax.tree.map(nnx.Param, params))
        self.batch_stats = nnx.data(jax.tree.map(nnx.BatchStat, state))

    def __call__(self, x: jax.Array, *, train: bool = False,
                 key: jax.Array | None = None) -> jax.Array:
        """Logits of ``x``; in training mode the batch-norm statistics are updated in place."""
        params = jax.tree.map(lambda v: v[...], self.params, is_leaf=_is_variable)
        state = jax.tree.map(lambda v: v[...], self.batch_stats, is_leaf=_is_variable)
        logits, new_state = self.network.apply(params, state, x, train=train, key=key)
        if train:
            jax.tree.map(lambda var, value: var.set_value(value), self.batch_stats, new_state,
                         is_leaf=_is_variable)
        return logits


def to_nnx(network: Network, params: Params | None = None, state: State | None = None, *,
           rng: np.random.Generator | None = None) -> NetworkModule:
    """Wrap ``network`` (with given values, or fresh ones drawn from ``rng``) as an NNX module.

    Raises:
        ValueError: If neither ``params`` nor ``rng`` is given.
    """
    if params is None:
        if rng is None:
            raise ValueError("to_nnx needs params (and state) or an rng to initialise them")
        params, state = network.init(rng)
    return NetworkModule(network, params, state if state is not None else {})


__all__ = ["NetworkModule", "build_network", "to_nnx"]
