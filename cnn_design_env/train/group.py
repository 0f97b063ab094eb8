"""K replicas in one compiled step: ``vmap`` over designs of one envelope or seeds of one design.

:func:`compile_group_steps` compiles the train and eval steps of one network for ``size``
replicas at once: every argument but the shared validation batch gets a leading replica axis
(parameters, batch-norm state, optimiser state with its injected learning rate, momentum and
weight decay, masks, training batches, dropout keys and step counters). With ``masked=True``
each replica applies ``params * masks`` (:mod:`.masked`), so the replicas are different designs
of one envelope; without, they are one design trained with different seeds or optimiser
settings. ``size=1`` is the masked form of a single design.

The batch loop stays in Python (a ``lax.scan`` over conv training steps ran 20-30x slower on a
CPU); :class:`~cnn_design_env.train.grouprun.GroupRun` drives it with early termination per
replica.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnn_design_env.train.layerwise import eval_stats
from cnn_design_env.train.loop import KEY_IMPL, LossFn, add_flat, flatten_params
from cnn_design_env.train.masked import masked_params
from cnn_design_env.train.model import Network, Params, State
from cnn_design_env.train.settings import TrainerSettings, compile_with


@dataclass(frozen=True)
class GroupSteps:
    """Compiled steps of ``size`` replicas of one network.

    Attributes:
        train: ``(params, state, opt_state, masks, x, y, keys, steps) -> (params, state,
            opt_state, losses)``, all with a leading replica axis (``x``: ``(K, B, ...)``,
            ``keys``: raw ``rbg`` key data ``(K, 4)``, ``steps``/``losses``: ``(K,)``); the
            first three arguments are donated.
        evaluate: ``(params, state, masks, x, y, mask) -> stats`` with ``(K, ...)`` stats of
            one shared batch.
        init_opt: ``flat_params -> opt_state`` of one replica (unbatched).
        size: Replicas ``K``.
        masked: Whether the replicas apply masks.
        compile_s: Seconds spent tracing, lowering and compiling.
    """

    train: Any
    evaluate: Any
    init_opt: Any
    size: int
    masked: bool
    compile_s: float

    def init_optimizer(self, tx: optax.GradientTransformation, params: Params) -> Any:
        """One replica's optimiser state for ``params`` with the settings of ``tx``."""
        state = self.init_opt(params)
        return state._replace(hyperparams=tx.init({}).hyperparams)


def compile_group_steps(network: Network, tx: optax.GradientTransformation, loss_fn: LossFn,
                        *, batch_size: int, size: int, masked: bool,
                        label_shape: Sequence[int] = (),
                        settings: TrainerSettings | None = None) -> GroupSteps:
    """Lower and compile the steps of ``size`` replicas of ``network`` (see the module doc).

    Raises:
        ValueError: If ``size`` < 1.
    """
    if size < 1:
        raise ValueError(f"a group needs at least one replica, got size={size!r}")
    start = time.perf_counter()
    params, state = network.abstract()
    opt_state = jax.eval_shape(lambda p: tx.init(flatten_params(p)), params)
    masks = params if masked else {}
    space = network.space
    dropout = network.has_dropout

    def batched(tree: Any) -> Any:
        return jax.tree.map(lambda s: jax.ShapeDtypeStruct((size, *s.shape), s.dtype), tree)

    def train_one(params: Params, state: State, opt_state: Any, masks: Params, x: jax.Array,
                  y: jax.Array, key_data: jax.Array, step: jax.Array) -> tuple:
        def objective(p: Params) -> tuple[jax.Array, State]:
            used = masked_params(p, masks) if masked else p
            key = (jax.random.fold_in(jax.random.wrap_key_data(key_data, impl=KEY_IMPL), step)
                   if dropout else None)
            logits, new_state = network.apply(used, state, x, train=True, key=key)
            return loss_fn(logits, y), new_state

        (loss, new_state), grads = jax.value_and_grad(objective, has_aux=True)(params)
        updates, opt_state = tx.update(flatten_params(grads), opt_state, flatten_params(params))
        return add_flat(params, updates), new_state, opt_state, loss

    def eval_one(params: Params, state: State, masks: Params, x: jax.Array, y: jax.Array,
                 mask: jax.Array) -> jax.Array:
        used = masked_params(params, masks) if masked else params
        logits, _ = network.apply(used, state, x, train=False)
        return eval_stats(space.task, logits, y, mask)

    key_data = jax.random.key_data(jax.random.key(0, impl=KEY_IMPL))
    x = jax.ShapeDtypeStruct((batch_size, *space.input_shape), jnp.float32)
    y = jax.ShapeDtypeStruct((batch_size, *label_shape), jnp.int32)
    args = batched((params, state, opt_state, masks, x, y,
                    jax.ShapeDtypeStruct(key_data.shape, key_data.dtype),
                    jax.ShapeDtypeStruct((), jnp.int32)))
    eval_args = (*batched((params, state, masks)), x, y,
                 jax.ShapeDtypeStruct((batch_size,), jnp.float32))
    train = jax.jit(jax.vmap(train_one), donate_argnums=(0, 1, 2))
    evaluate = jax.jit(jax.vmap(eval_one, in_axes=(0, 0, 0, None, None, None)))
    init_opt = jax.jit(lambda p: tx.init(flatten_params(p)))
    with ThreadPoolExecutor(max_workers=2) as pool:  # XLA compiles outside the GIL
        futures = [pool.submit(compile_with, settings, train.lower(*args)),
                   pool.submit(compile_with, settings, evaluate.lower(*eval_args)),
                   pool.submit(compile_with, settings, init_opt.lower(params))]
        programs = [f.result() for f in futures]
    return GroupSteps(*programs, size=size, masked=masked,
                      compile_s=time.perf_counter() - start)


def stack(trees: Sequence[Any]) -> Any:
    """NumPy trees stacked on a new leading axis (the replica axis)."""
    return jax.tree.map(lambda *leaves: np.stack([np.asarray(v) for v in leaves]), *trees)


def unstack(tree: Any, size: int) -> list[Any]:
    """Inverse of :func:`stack`, as NumPy trees."""
    host = jax.device_get(tree)
    return [jax.tree.map(lambda leaf, i=i: np.asarray(leaf[i]), host) for i in range(size)]
