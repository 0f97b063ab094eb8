"""The batch loop of one design: its runs (initial + restarts), curves and timings.

The one-design counterpart of :class:`~cnn_design_env.train.grouprun.GroupRun`: the seed
streams (``np.random.SeedSequence(seed)``, two children per run: initialisation, then shuffling
and augmentation), the epoch-loss restarts from a fresh initialisation and the validation after
every epoch that goes on are the same in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from cnn_design_env.train import loop
from cnn_design_env.train.data import Dataset
from cnn_design_env.train.termination import TerminationMonitor, Verdict


class SingleRun:
    """The runs (initial + restarts) of one design's evaluation; fills curves and timings.

    Args:
        init: ``rng -> (params, state)`` (NumPy), the network's or an embedded design's.
        steps: The compiled steps.
        tx: The optimiser (its settings go into the optimiser state).
        batch_size: Training batch size.
        monitor: The termination rules of this evaluation.
        seed: The evaluation seed.
        data: The data set (training and validation splits).
        val_batches: Padded validation batches (:func:`~cnn_design_env.train.loop.pad_batches`).
        augment: Optional ``(x, y, rng) -> (x, y)`` per batch.
        max_restarts: Restarts the loss rule may ask for.
    """

    def __init__(self, init: Any, steps: loop.Steps, tx: Any, batch_size: int,
                 monitor: TerminationMonitor, seed: int, *, data: Dataset,
                 val_batches: Sequence[Any], augment: loop.Augment | None = None,
                 max_restarts: int = 1) -> None:
        self.init, self.steps, self.tx = init, steps, tx
        self.batch_size, self.monitor, self.seed = batch_size, monitor, seed
        self.data, self.val_batches, self.augment = data, val_batches, augment
        self.max_restarts = max_restarts
        self.loss_curve: list[float] = []
        self.accuracy_curve: list[float] = []
        self.total_epochs = 0
        self._train_s: list[float] = []
        self._infer_s: list[float] = []

    @property
    def accuracy(self) -> float:
        return self.accuracy_curve[-1] if self.accuracy_curve else 0.0

    @property
    def train_ms(self) -> float:
        return 1e3 * float(np.median(self._train_s)) if self._train_s else 0.0

    @property
    def infer_ms(self) -> float:
        times = self._infer_s[1:] or self._infer_s
        return 1e3 * float(np.median(times)) if times else 0.0

    def train(self, epochs: int, partial: dict[str, Any]) -> None:
        """Train up to ``1 + max_restarts`` runs of ``epochs`` epochs until one finishes."""
        seeds = np.random.SeedSequence(self.seed)
        data = self.data
        for attempt in range(self.max_restarts + 1):
            init_seq, shuffle_seq = seeds.spawn(2)
            params, state = jax.device_put(self.init(np.random.default_rng(init_seq)))
            carry = loop.TrainCarry(params, state, self.steps.init_optimizer(self.tx, params))
            rng = np.random.default_rng(shuffle_seq)
            key = loop.dropout_key(self.seed, attempt)
            self.loss_curve, self.accuracy_curve = [], []
            verdict = Verdict.CONTINUE
            for epoch in range(epochs):
                result = loop.train_epoch(self.steps, carry, data.x_train, data.y_train,
                                          batch_size=self.batch_size, rng=rng, key=key,
                                          monitor=self.monitor, augment=self.augment)
                self._train_s.extend(result.batch_seconds[1 if epoch == 0 else 0:])
                self.total_epochs += 1
                verdict = result.verdict
                if verdict is not Verdict.TERMINATE:
                    verdict = self.monitor.on_epoch(result.loss)
                self.loss_curve.append(result.loss)
                partial.update(loss_curve=tuple(self.loss_curve), restarts=self.monitor.restarts,
                               epochs=len(self.loss_curve))
                if verdict is not Verdict.CONTINUE:
                    break
                self._validate(carry)
            if verdict is not Verdict.RESTART:
                return

    def _validate(self, carry: loop.TrainCarry) -> None:
        stats, seconds = loop.evaluate_batches(self.steps, carry.params, carry.state,
                                               self.val_batches)
        self._infer_s.extend(seconds)
        value = loop.score(stats, self.data.task, self.data.num_val)
        self.accuracy_curve.append(value)
