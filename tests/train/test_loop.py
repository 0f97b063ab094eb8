"""Optimisers, losses, compiled steps, the batch loop and augmentation."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from cnn_design_env.space import get_space
from cnn_design_env.train import loop
from cnn_design_env.train.augment import Augmentation
from cnn_design_env.train.model import build_network
from cnn_design_env.train.termination import TerminationConfig, TerminationMonitor, Verdict


def test_optimizers_are_chains_with_injected_settings() -> None:
    params = {"w": jnp.ones(3)}
    grads = {"w": jnp.full(3, 2.0)}
    for name in loop.OPTIMIZERS:
        tx = loop.make_optimizer(name, learning_rate=0.1, weight_decay=0.01)
        state = tx.init(params)
        assert float(state.hyperparams["learning_rate"]) == pytest.approx(0.1)
        updates, _ = tx.update(grads, state, params)
        assert float(updates["w"][0]) < 0  # a descent step
    sgd = loop.make_optimizer("sgd", learning_rate=0.5, momentum=0.0)
    updates, _ = sgd.update(grads, sgd.init(params), params)
    np.testing.assert_allclose(updates["w"], -1.0)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        loop.make_optimizer("lbfgs", learning_rate=0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        loop.make_optimizer("sgd", learning_rate=math.nan)


def test_losses_and_dice_score() -> None:
    labels = np.array([[[0, 1], [1, 1]], [[2, 0], [0, 0]]], np.int32)
    perfect = 50.0 * jax.nn.one_hot(labels, 3) - 25.0
    uniform = jnp.zeros((*labels.shape, 3))
    for name in loop.LOSSES:
        loss = jax.jit(loop.make_loss(name))
        assert float(loss(perfect, labels)) == pytest.approx(0.0, abs=1e-6)
        # the chance loss (NumPy) is the loss of uniform predictions
        assert loop.chance_loss(name, labels, 3) == pytest.approx(float(loss(uniform, labels)),
                                                                  rel=1e-6)
    assert loop.chance_loss("cross_entropy", np.array([0, 3]), 4) == pytest.approx(math.log(4))
    # Dice of the foreground class: intersection 2, predicted 3, true 2 -> 4 / 5
    stats = np.array([[5, 2], [5, 3], [6, 2]])
    assert loop.dice_score(stats) == pytest.approx(0.8)
    assert loop.dice_score(np.array([[3, 0], [3, 0], [3, 0]])) == 1.0  # absent class
    with pytest.raises(ValueError, match="unknown loss 'hinge'"):
        loop.make_loss("hinge")


def test_batches_drop_the_last_partial_one_and_eval_pads_with_a_mask() -> None:
    idx = list(loop.batch_indices(10, 4, np.random.default_rng(0)))
    assert [len(b) for b in idx] == [4, 4]
    assert len(set(np.concatenate(idx))) == 8
    x = np.ones((5, 2, 2, 1), np.float32)
    batches = loop.pad_batches(x, np.arange(5, dtype=np.int32), 4)
    assert [b[0].shape for b in batches] == [(4, 2, 2, 1)] * 2
    np.testing.assert_array_equal(batches[1][2], [1, 0, 0, 0])


def tiny_digits(n: int = 128) -> tuple[np.ndarray, np.ndarray]:
    from cnn_design_env.train.data import load_digits

    data = load_digits(seed=0)
    return data.x_train[:n], data.y_train[:n]


def test_compiled_step_trains_and_one_program_serves_any_learning_rate() -> None:
    space = get_space("vgg_mini")
    design = space.sample(np.random.default_rng(1))
    net = build_network(space, design)
    x, y = tiny_digits()
    steps = loop.compile_steps(net, loop.make_optimizer("sgd", learning_rate=0.1),
                               loop.cross_entropy, batch_size=32)
    assert steps.compile_s > 0
    finals = {}
    for lr in (0.0, 0.1):
        tx = loop.make_optimizer("sgd", learning_rate=lr)  # same structure: same program
        params, state = jax.device_put(net.init(np.random.default_rng(0)))
        carry = loop.TrainCarry(params, state, steps.init_optimizer(tx, params))
        monitor = TerminationMonitor(TerminationConfig(), loss_threshold=None)
        losses = []
        for _ in range(6):
            result = loop.train_epoch(steps, carry, x, y, batch_size=32,
                                      rng=np.random.default_rng(0), key=loop.dropout_key(0),
                                      monitor=monitor)
            assert result.verdict is Verdict.CONTINUE and len(result.batch_seconds) == 4
            losses.append(result.loss)
        finals[lr] = losses
        assert carry.step == 24
    assert finals[0.0][0] == pytest.approx(finals[0.0][-1])  # lr 0: nothing moves
    assert finals[0.1][-1] < 0.7 * finals[0.1][0]
    batches = loop.pad_batches(x[:40], y[:40], 32)
    stats, seconds = loop.evaluate_batches(steps, carry.params, carry.state, batches)
    assert len(seconds) == 2 and 0 <= stats[0] <= 40
    assert loop.score(stats, "classification", 40) == stats[0] / 40


def test_step_cache_is_an_lru() -> None:
    cache = loop.StepCache(maxsize=2)
    made = []

    def build(tag):
        def make():
            made.append(tag)
            return loop.Steps(None, None, None, 0.0)
        return make

    for key in ("a", "b", "a", "c", "b"):
        cache.get(key, build(key))
    assert made == ["a", "b", "c", "b"] and cache.hits == 1


def test_augmentation_is_seeded_and_moves_masks_with_images() -> None:
    rng = np.random.default_rng(0)
    masks = (rng.random((6, 9, 9)) < 0.3).astype(np.int32)
    images = masks[..., None].astype(np.float32) + 1.0  # 2 on the mask, 1 elsewhere
    aug = Augmentation(shift=2, flip=True, rotate=15)
    a = aug(images, masks, np.random.default_rng(5))
    b = aug(images, masks, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    out, out_masks = a
    assert out.shape == images.shape and out_masks.shape == masks.shape
    # every pixel still pairs image value and mask: 2 <-> 1, 1 <-> 0, and 0 (outside) <-> 0
    np.testing.assert_array_equal(out[..., 0] == 2.0, out_masks == 1)
    assert not np.array_equal(out, images)
    labels = np.arange(6)
    assert aug(images, labels, rng)[1] is labels
    flip = Augmentation(flip=True)(images, masks, np.random.default_rng(1))[0]
    flipped = [np.array_equal(f, i[:, ::-1]) for f, i in zip(flip, images, strict=True)]
    same = [np.array_equal(f, i) for f, i in zip(flip, images, strict=True)]
    assert all(f or s for f, s in zip(flipped, same, strict=True)) and any(flipped)
    with pytest.raises(ValueError, match="shift"):
        Augmentation(shift=-1)
