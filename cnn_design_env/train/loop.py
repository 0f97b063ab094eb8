"""Optimisers, losses, jitted functional steps and the Python batch loop.

* :func:`make_optimizer` builds Optax optimisers with ``optax.chain`` behind
  ``optax.inject_hyperparams``: learning rate, momentum and weight decay live in the optimiser
  state, so designs that differ only in those values share one compiled program.
* :func:`compile_steps` lowers and compiles ``train_step(params, state, opt_state, x, y, key,
  step) -> (params, state, opt_state, loss)`` (buffers donated) and ``eval_step`` ahead of time for
  one fixed batch shape, timing the compilation; :class:`StepCache` keeps compiled steps of the
  architectures seen by its owner (a persistent :class:`~.jaxcache.ProgramStore` of the
  :class:`~.settings.TrainerSettings` passed in covers the others).
  The optimiser runs on all parameters raveled into one vector (:func:`flatten_params`): one
  update kernel for the whole network instead of a few per parameter array, which cut XLA's
  kernels of a small CNN's step by a fifth, and its compile time with them.
  ``compile="layer"`` compiles per layer configuration instead (:mod:`.layerwise`).
* :func:`train_epoch` is a plain Python loop over fixed-size batches (the last partial batch is
  dropped): on a CPU a ``lax.scan`` over conv training steps was measured 20-30x slower. Every
  batch is timed (it blocks on the loss) for the batch-time rule and the reported median.
* :func:`evaluate_batches` pads the last batch and masks it, so one compiled program serves all.

Nothing here is CPU-specific: on a GPU the same code runs with data moved per batch.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from cnn_design_env.train import layerwise
from cnn_design_env.train.layerwise import eval_stats
from cnn_design_env.train.model import Network, Params, State
from cnn_design_env.train.settings import TrainerSettings, compile_with
from cnn_design_env.train.termination import TerminationMonitor, Verdict

LossFn = Callable[[jax.Array, jax.Array], jax.Array]
KEY_IMPL = "rbg"
"""PRNG of dropout keys: XLA's RngBitGenerator. A dropout mask from the default threefry PRNG
took 11 s to compile on a 2-core CPU against 0.7 s for ``rbg`` (same seed, same masks on one
backend; masks may differ between CPU and GPU)."""
OPTIMIZERS = ("sgd", "adam", "rmsprop")
COMPILE_MODES = ("network", "layer", "auto")
"""How :func:`compile_steps` compiles: per architecture, per layer configuration, or chosen."""
LAYER_MAX_FLOPS = 2e9
"""``compile="auto"`` compiles per layer on a CPU up to this many forward FLOPs per batch."""
LOSSES = ("cross_entropy", "dice")
DICE_SMOOTH = 1.0


# ------------------------------------------------------------------------ optimisers
def _sgd(learning_rate: float, momentum: float, weight_decay: float
         ) -> optax.GradientTransformation:
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.trace(decay=momentum),
                       optax.scale_by_learning_rate(learning_rate))


def _adam(learning_rate: float, weight_decay: float) -> optax.GradientTransformation:
    # Decoupled weight decay (AdamW); with weight_decay=0 this is Adam.
    return optax.chain(optax.scale_by_adam(), optax.add_decayed_weights(weight_decay),
                       optax.scale_by_learning_rate(learning_rate))


def _rmsprop(learning_rate: float, momentum: float, weight_decay: float
             ) -> optax.GradientTransformation:
    return optax.chain(optax.add_decayed_weights(weight_decay), optax.scale_by_rms(),
                       optax.trace(decay=momentum), optax.scale_by_learning_rate(learning_rate))


def make_optimizer(name: str, *, learning_rate: float, momentum: float = 0.9,
                   weight_decay: float = 0.0) -> optax.GradientTransformation:
    """An Optax optimiser with its numeric settings injected as state.

    Args:
        name: ``"sgd"`` (with momentum, the paper's VGG/GoogLeNet setting), ``"adam"`` (AdamW
            with decoupled decay; the U-Net setting) or ``"rmsprop"``.
        learning_rate: Step size.
        momentum: Momentum of SGD and RMSProp (0 for none).
        weight_decay: L2 decay (coupled for SGD/RMSProp, decoupled for Adam).

    Raises:
        ValueError: On an unknown name or a negative / non-finite value.

    Example:
        >>> tx = make_optimizer("sgd", learning_rate=0.1)
        >>> round(float(tx.init({"w": jnp.zeros(2)}).hyperparams["learning_rate"]), 6)
        0.1
    """
    for label, value in (("learning_rate", learning_rate), ("momentum", momentum),
                         ("weight_decay", weight_decay)):
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"optimizer {label} must be a finite number >= 0, got {value!r}")
    hp = {"learning_rate": float(learning_rate), "weight_decay": float(weight_decay)}
    if name == "sgd":
        return optax.inject_hyperparams(_sgd)(momentum=float(momentum), **hp)
    if name == "adam":
        return optax.inject_hyperparams(_adam)(**hp)
    if name == "rmsprop":
        return optax.inject_hyperparams(_rmsprop)(momentum=float(momentum), **hp)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")


# ---------------------------------------------------------------------------- losses
def cross_entropy(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy over every image (or pixel) against integer labels.

    The value of ``optax.softmax_cross_entropy_with_integer_labels``, written with a one-hot
    mask instead of a gather of the labels' logits: four fewer XLA kernels in a train step.
    """
    log_p = jax.nn.log_softmax(logits)
    onehot = labels[..., None] == jnp.arange(logits.shape[-1])
    return -jnp.mean(jnp.sum(jnp.where(onehot, log_p, 0.0), axis=-1))


def dice_loss(logits: jax.Array, labels: jax.Array) -> jax.Array:
    """``1 -`` soft Dice of the softmax probabilities, averaged over the foreground classes.

    Sums run over the whole batch (and every pixel); classes ``1..K-1`` are foreground (all
    classes when ``K == 1``), matching the Dice metric of :func:`dice_score`.
    """
    k = logits.shape[-1]
    probs = jax.nn.softmax(logits, axis=-1)
    onehot = jax.nn.one_hot(labels, k, dtype=probs.dtype)
    axes = tuple(range(logits.ndim - 1))
    inter = jnp.sum(probs * onehot, axis=axes)
    total = jnp.sum(probs, axis=axes) + jnp.sum(onehot, axis=axes)
    dice = (2.0 * inter + DICE_SMOOTH) / (total + DICE_SMOOTH)
    return 1.0 - jnp.mean(dice[1:] if k > 1 else dice)


def make_loss(name: str) -> LossFn:
    """The loss called ``name`` (``"cross_entropy"`` or ``"dice"``).

    Raises:
        ValueError: On an unknown name.
    """
    if name == "cross_entropy":
        return cross_entropy
    if name == "dice":
        return dice_loss
    raise ValueError(f"unknown loss {name!r}; expected one of {LOSSES}")


def chance_loss(loss: str, labels: np.ndarray, num_classes: int) -> float:
    """The loss of a network predicting uniform probabilities for ``labels`` (NumPy, exact).

    Cross-entropy: ``ln K``. Dice: :func:`dice_loss` of probabilities ``1/K`` everywhere.

    Example:
        >>> round(chance_loss("cross_entropy", np.array([0, 1, 2]), 10), 4)
        2.3026
    """
    make_loss(loss)
    if loss == "cross_entropy":
        return math.log(num_classes)
    labels = np.asarray(labels)
    counts = np.bincount(labels.ravel(), minlength=num_classes)[:num_classes].astype(np.float64)
    inter = counts / num_classes
    total = labels.size / num_classes + counts
    dice = (2.0 * inter + DICE_SMOOTH) / (total + DICE_SMOOTH)
    return float(1.0 - np.mean(dice[1:] if num_classes > 1 else dice))


def dice_score(stats: np.ndarray) -> float:
    """Mean Dice ``2|P&G| / (|P| + |G|)`` over foreground classes from summed ``stats``.

    Args:
        stats: ``(3, K)`` sums of intersection, predicted and true pixels per class. A class
            absent from both predictions and labels scores 1.
    """
    inter, pred, true = np.asarray(stats, np.float64)
    total = pred + true
    dice = np.where(total > 0, 2.0 * inter / np.maximum(total, 1e-12), 1.0)
    return float(np.mean(dice[1:] if len(dice) > 1 else dice))


# ------------------------------------------------------------------------- compile
@dataclass(frozen=True)
class Steps:
    """Compiled steps for one architecture, optimiser structure, loss and batch shape.

    Attributes:
        train: ``(params, state, opt_state, x, y, key, step) -> (params, state, opt_state,
            loss)``; the first three arguments are donated.
        evaluate: ``(params, state, x, y, mask) -> stats`` summed over the batch: ``(1,)``
            correct predictions (classification) or ``(3, K)`` Dice sums (segmentation).
        init_opt: ``params -> opt_state``; use :meth:`init_optimizer`, which sets the
            optimiser's own settings. The whole-network steps keep one optimiser state for
            :func:`flatten_params` of the parameters; the layer-wise ones one per layer.
        compile_s: Seconds spent tracing, lowering and compiling all three.
    """

    train: Callable[..., Any]
    evaluate: Callable[..., Any]
    init_opt: Callable[..., Any]
    compile_s: float

    def init_optimizer(self, tx: optax.GradientTransformation, params: Params) -> Any:
        """``tx.init(params)`` by the compiled program (eager init compiles per new shape).

        The compiled program was traced with one optimiser's settings; the injected settings
        (learning rate, ...) of ``tx`` replace them.
        """
        opt_state = self.init_opt(params)
        if isinstance(opt_state, dict):  # layer-wise steps: one optimiser state per layer
            # (own settings arrays per layer: each layer's state is donated separately)
            return {name: s._replace(hyperparams=tx.init({}).hyperparams)
                    for name, s in opt_state.items()}
        return opt_state._replace(hyperparams=tx.init({}).hyperparams)


def dropout_key(seed: int, attempt: int = 0) -> jax.Array:
    """The dropout key of run ``attempt`` (0, then restarts) of an evaluation seeded ``seed``."""
    return jax.random.fold_in(jax.random.key(seed, impl=KEY_IMPL), attempt)


def resolve_compile(mode: str, network: Network, batch_size: int) -> str:
    """``"network"`` or ``"layer"`` for a compile ``mode`` (see :data:`COMPILE_MODES`).

    ``"auto"`` is ``"layer"`` on a CPU for networks of at most :data:`LAYER_MAX_FLOPS` forward
    FLOPs per batch (compilation dominates their evaluation) and ``"network"`` otherwise.

    Raises:
        ValueError: On an unknown mode.
    """
    if mode not in COMPILE_MODES:
        raise ValueError(f"unknown compile mode {mode!r}; expected one of {COMPILE_MODES}")
    if mode != "auto":
        return mode
    small = network.analysis.flops * batch_size <= LAYER_MAX_FLOPS
    return "layer" if small and jax.default_backend() == "cpu" else "network"


def flatten_params(params: Params) -> jax.Array:
    """Every leaf of ``params`` raveled into one vector (leaf order of ``jax.tree.leaves``)."""
    leaves = jax.tree.leaves(params)
    return jnp.concatenate([jnp.ravel(leaf) for leaf in leaves]) if leaves else jnp.zeros(0)


def add_flat(params: Params, flat: jax.Array) -> Params:
    """``params`` plus the vector ``flat`` laid out as :func:`flatten_params` lays them out."""
    leaves, treedef = jax.tree.flatten(params)
    sums, offset = [], 0
    for leaf in leaves:
        sums.append(leaf + flat[offset:offset + leaf.size].reshape(leaf.shape))
        offset += leaf.size
    return jax.tree.unflatten(treedef, sums)


def compile_steps(network: Network, tx: optax.GradientTransformation, loss_fn: LossFn, *,
                  batch_size: int, label_shape: Sequence[int] = (), compile: str = "network",
                  tx_key: Hashable | None = None, settings: TrainerSettings | None = None,
                  layer_cache: layerwise.LayerCache | None = None) -> Steps:
    """Lower and compile the train and eval steps of ``network`` for batches of ``batch_size``.

    Args:
        network: The network.
        tx: Its optimiser (only the structure of its state matters).
        loss_fn: ``loss(logits, labels) -> scalar``.
        batch_size: Fixed batch size of every call.
        label_shape: Shape of one label (``()`` for classes, ``(H, W)`` for masks).
        compile: ``"network"`` (one program per architecture), ``"layer"`` (programs per layer
            configuration, shared through ``layer_cache``: :mod:`.layerwise`) or ``"auto"``
            (:func:`resolve_compile`).
        tx_key: With ``"layer"``: a hashable naming the optimiser's structure, so that steps of
            different optimiser objects of one structure share programs (the evaluator passes
            the optimiser's name); default ``tx`` itself.
        settings: Compiler options and persistent program store (default: the trainer's
            options, no store).
        layer_cache: With ``"layer"``: the cache of per-layer programs to use (default: a
            fresh one, so nothing is shared beyond this call).

    Raises:
        ValueError: On an unknown compile mode.
    """
    if resolve_compile(compile, network, batch_size) == "layer":
        return Steps(*layerwise.layer_steps(network, tx, loss_fn, batch_size=batch_size,
                                            label_shape=label_shape, tx_key=tx_key,
                                            cache=layer_cache, settings=settings))
    start = time.perf_counter()
    params, state = network.abstract()
    opt_state = jax.eval_shape(lambda p: tx.init(flatten_params(p)), params)
    space = network.space
    x = jax.ShapeDtypeStruct((batch_size, *space.input_shape), jnp.float32)
    y = jax.ShapeDtypeStruct((batch_size, *label_shape), jnp.int32)
    mask = jax.ShapeDtypeStruct((batch_size,), jnp.float32)
    step = jax.ShapeDtypeStruct((), jnp.int32)

    def train_step(params: Params, state: State, opt_state: Any, x: jax.Array, y: jax.Array,
                   key: jax.Array, step: jax.Array) -> tuple[Params, State, Any, jax.Array]:
        def objective(p: Params) -> tuple[jax.Array, State]:
            step_key = jax.random.fold_in(key, step) if network.has_dropout else None
            logits, new_state = network.apply(p, state, x, train=True, key=step_key)
            return loss_fn(logits, y), new_state

        (loss, new_state), grads = jax.value_and_grad(objective, has_aux=True)(params)
        updates, opt_state = tx.update(flatten_params(grads), opt_state, flatten_params(params))
        return add_flat(params, updates), new_state, opt_state, loss

    def eval_step(params: Params, state: State, x: jax.Array, y: jax.Array,
                  mask: jax.Array) -> jax.Array:
        logits, _ = network.apply(params, state, x, train=False)
        return eval_stats(space.task, logits, y, mask)

    # XLA compiles outside the GIL: each program compiles on a worker thread as soon as it is
    # lowered, so the eval and init programs are traced while the train step compiles.
    with ThreadPoolExecutor(max_workers=2) as pool:
        train = pool.submit(compile_with, settings, jax.jit(
            train_step, donate_argnums=(0, 1, 2)).lower(params, state, opt_state, x, y,
                                                         dropout_key(0), step))
        evaluate = pool.submit(compile_with, settings,
                               jax.jit(eval_step).lower(params, state, x, y, mask))
        init_opt = pool.submit(compile_with, settings, jax.jit(
            lambda p: tx.init(flatten_params(p))).lower(params))
        programs = train.result(), evaluate.result(), init_opt.result()
    return Steps(*programs, time.perf_counter() - start)


class StepCache:
    """An LRU of compiled :class:`Steps` keyed on what determines the program.

    Args:
        maxsize: Entries kept (compiled executables hold memory).
    """

    def __init__(self, maxsize: int = 32) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Any, Steps] = OrderedDict()
        self.hits = 0

    def __contains__(self, key: Any) -> bool:
        return key in self._entries

    def get(self, key: Any, build: Callable[[], Any]) -> tuple[Any, bool]:
        """The steps for ``key``, built with ``build()`` on a miss; also whether it was a hit."""
        if key in self._entries:
            self._entries.move_to_end(key)
            self.hits += 1
            return self._entries[key], True
        steps = build()
        self._entries[key] = steps
        while len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)
        return steps, False


# ------------------------------------------------------------------------ batch loop
@dataclass
class TrainCarry:
    """What changes from batch to batch."""

    params: Params
    state: State
    opt_state: Any
    step: int = 0


@dataclass(frozen=True)
class EpochResult:
    """One epoch of training.

    Attributes:
        loss: Mean training loss of the epoch's batches (NaN if none ran).
        batch_seconds: Wall time of each batch (dispatch to loss on the host).
        verdict: ``TERMINATE`` if a batch rule fired, else ``CONTINUE``.
    """

    loss: float
    batch_seconds: tuple[float, ...]
    verdict: Verdict


Augment = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple[np.ndarray, np.ndarray]]


def batch_indices(n: int, batch_size: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Shuffled index arrays of ``batch_size`` (the last partial batch is dropped)."""
    order = rng.permutation(n)
    for start in range(0, n - batch_size + 1, batch_size):
        yield order[start:start + batch_size]


def train_epoch(steps: Steps, carry: TrainCarry, x: np.ndarray, y: np.ndarray, *,
                batch_size: int, rng: np.random.Generator, key: jax.Array,
                monitor: TerminationMonitor, augment: Augment | None = None) -> EpochResult:
    """One epoch of ``steps.train`` over shuffled batches, feeding ``monitor`` every batch.

    ``carry`` is updated in place (its arrays are donated to each step).
    """
    losses: list[float] = []
    seconds: list[float] = []
    verdict = Verdict.CONTINUE
    for idx in batch_indices(len(x), batch_size, rng):
        xb, yb = x[idx], y[idx]
        if augment is not None:
            xb, yb = augment(xb, yb, rng)
        # NumPy batches go straight to the executable: measured ~2x faster per small CPU step
        # than an explicit jax.device_put first.
        start = time.perf_counter()
        carry.params, carry.state, carry.opt_state, loss = steps.train(
            carry.params, carry.state, carry.opt_state, xb, yb, key, np.int32(carry.step))
        value = float(loss)
        seconds.append(time.perf_counter() - start)
        losses.append(value)
        carry.step += 1
        verdict = monitor.on_batch(seconds[-1], value)
        if verdict is Verdict.TERMINATE:
            break
    mean = float(np.mean(losses)) if losses else math.nan
    return EpochResult(mean, tuple(seconds), verdict)


def pad_batches(x: np.ndarray, y: np.ndarray, batch_size: int
                ) -> list[tuple[jax.Array, jax.Array, jax.Array]]:
    """``(x, y, mask)`` device batches of ``batch_size``; the last is zero-padded, mask 0."""
    batches = []
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        valid = len(xb)
        mask = np.zeros((batch_size,), np.float32)
        mask[:valid] = 1.0
        if valid < batch_size:
            xb = np.concatenate([xb, np.zeros((batch_size - valid, *xb.shape[1:]), xb.dtype)])
            yb = np.concatenate([yb, np.zeros((batch_size - valid, *yb.shape[1:]), yb.dtype)])
        batches.append((jax.device_put(xb), jax.device_put(yb), jax.device_put(mask)))
    return batches


def evaluate_batches(steps: Steps, params: Params, state: State,
                     batches: Sequence[tuple[jax.Array, jax.Array, jax.Array]]
                     ) -> tuple[np.ndarray, list[float]]:
    """Summed ``steps.evaluate`` stats over ``batches`` and the seconds of each batch."""
    total = None
    seconds = []
    for xb, yb, mb in batches:
        start = time.perf_counter()
        stats = np.asarray(steps.evaluate(params, state, xb, yb, mb))
        seconds.append(time.perf_counter() - start)
        total = stats if total is None else total + stats
    return total, seconds


def score(stats: np.ndarray, task: str, count: int) -> float:
    """Top-1 accuracy (classification, ``count`` examples) or Dice (segmentation)."""
    if task == "classification":
        return float(stats[0]) / max(1, count)
    return dice_score(stats)


def settings_key(settings: Mapping[str, Any]) -> tuple:
    """The part of the training settings that changes the compiled program."""
    return (settings.get("optimizer"), settings.get("loss"), int(settings["batch_size"]))
