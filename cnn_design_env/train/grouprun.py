"""The Python batch loop of a group of replicas, with early termination per replica.

:class:`GroupRun` trains the :class:`Member` s of one :class:`~cnn_design_env.train.group.
GroupSteps` together and mirrors, per member, exactly what the one-design loop of
:class:`~cnn_design_env.evaluators.training.TrainingEvaluator` does: the same seed streams
(``np.random.SeedSequence(seed)``, two children per run: initialisation, then shuffling and
augmentation), the same epoch-loss restarts from a fresh initialisation, the same verdicts and
curves. A member that terminates (a rule fired, or its run finished) stops counting: its slot
keeps computing (the group's program has a fixed size) but nothing of it is read any more; a
member that restarts gets a fresh initialisation in its slot while the others go on.

Timings are per member: a group step's wall time divided by the group's size (what one design
cost), which also feeds the batch-time rule.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np
import optax

from cnn_design_env.train import loop
from cnn_design_env.train.group import GroupSteps, stack, unstack
from cnn_design_env.train.model import Params, State
from cnn_design_env.train.termination import TerminationMonitor, Verdict

Init = Callable[[np.random.Generator], tuple[Params, State]]
"""``rng -> (params, state)`` shaped for the group's program (embedded for a masked group)."""


@dataclass(eq=False)
class Member:
    """One design-seed of a group and what its training measured.

    Attributes:
        init: Draws the member's initial values (see :data:`Init`).
        tx: Its optimiser (its settings go into its slot of the optimiser state).
        seed: Its evaluation seed.
        monitor: Its termination rules (deadline included).
        masks: Its masks (masked groups), else ``None``.
    """

    init: Init
    tx: optax.GradientTransformation
    seed: int
    monitor: TerminationMonitor
    masks: Params | None = None
    loss_curve: list[float] = field(default_factory=list)
    accuracy_curve: list[float] = field(default_factory=list)
    total_epochs: int = 0
    train_s: list[float] = field(default_factory=list)
    infer_s: list[float] = field(default_factory=list)
    done: bool = False

    def __post_init__(self) -> None:
        self._seeds = np.random.SeedSequence(self.seed)
        self.attempt = -1
        self.rng: np.random.Generator | None = None
        self.epoch = 0

    def start_run(self) -> tuple[Params, State]:
        """Fresh initial values and shuffle stream for the next run (0, then restarts)."""
        self.attempt += 1
        init_seq, shuffle_seq = self._seeds.spawn(2)
        params, state = self.init(np.random.default_rng(init_seq))
        self.rng = np.random.default_rng(shuffle_seq)
        self.loss_curve, self.accuracy_curve, self.epoch = [], [], 0
        return params, state

    def key_data(self) -> np.ndarray:
        return np.asarray(jax.random.key_data(loop.dropout_key(self.seed, self.attempt)))

    @property
    def accuracy(self) -> float:
        return self.accuracy_curve[-1] if self.accuracy_curve else 0.0

    @property
    def train_ms(self) -> float:
        return 1e3 * float(np.median(self.train_s)) if self.train_s else 0.0

    @property
    def infer_ms(self) -> float:
        times = self.infer_s[1:] or self.infer_s
        return 1e3 * float(np.median(times)) if times else 0.0


class GroupRun:
    """Train ``members`` with ``steps`` (fewer members than ``steps.size``: idle slots).

    Args:
        steps: The group's compiled steps.
        members: At most ``steps.size`` members.
        x, y: Training images and labels (NumPy).
        batch_size: Training batch size.
        val_batches: Padded validation batches (:func:`~cnn_design_env.train.loop.
            pad_batches`).
        task: ``"classification"`` or ``"segmentation"``.
        num_val: Validation examples (accuracy's denominator).
        augment: Optional ``(x, y, rng) -> (x, y)`` per member and batch.
    """

    def __init__(self, steps: GroupSteps, members: Sequence[Member], x: np.ndarray,
                 y: np.ndarray, *, batch_size: int, val_batches: Sequence[Any], task: str,
                 num_val: int, augment: loop.Augment | None = None) -> None:
        if not 1 <= len(members) <= steps.size:
            raise ValueError(f"a group of size {steps.size} takes 1..{steps.size} members, "
                             f"got {len(members)}")
        self.steps, self.members = steps, list(members)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.val_batches, self.task, self.num_val = val_batches, task, num_val
        self.augment = augment
        self.size = steps.size

    # ------------------------------------------------------------------- setup
    def _slot_values(self, member: Member) -> tuple[Params, State, Any]:
        params, state = member.start_run()
        return params, state, jax.device_get(self.steps.init_optimizer(member.tx, params))

    def run(self, epochs: int) -> None:
        """Train every member for up to ``epochs`` epochs per run, restarts included."""
        slots = [self._slot_values(m) for m in self.members]
        slots += [slots[0]] * (self.size - len(slots))  # idle slots compute a copy
        params = stack([s[0] for s in slots])
        state = stack([s[1] for s in slots])
        opt = stack([s[2] for s in slots])
        masks = (stack([m.masks for m in self.members]
                       + [self.members[0].masks] * (self.size - len(self.members)))
                 if self.steps.masked else {})
        masks = self._masks_device = jax.device_put(masks)
        keys = np.stack([m.key_data() for m in self.members]
                        + [self.members[0].key_data()] * (self.size - len(self.members)))
        counters = np.zeros(self.size, np.int32)
        carry = list(jax.device_put((params, state, opt)))
        for m in self.members:
            if m.monitor.check_time() is Verdict.TERMINATE:
                m.done = True
        while any(not m.done for m in self.members):
            restarts = self._epoch(carry, masks, keys, counters, epochs)
            if restarts:
                self._restart(carry, keys, counters, restarts)

    # ------------------------------------------------------------------- epochs
    def _epoch(self, carry: list, masks: Any, keys: np.ndarray, counters: np.ndarray,
               epochs: int) -> list[int]:
        active = [i for i, m in enumerate(self.members) if not m.done]
        iters = {i: loop.batch_indices(len(self.x), self.batch_size, self.members[i].rng)
                 for i in active}
        running = set(active)
        losses: dict[int, list[float]] = {i: [] for i in active}
        seconds: dict[int, list[float]] = {i: [] for i in active}
        dummy = np.arange(self.batch_size)
        for _ in range(len(self.x) // self.batch_size):
            xs, ys = [], []
            for slot in range(self.size):
                if slot in running:
                    idx = next(iters[slot])
                    xb, yb = self.x[idx], self.y[idx]
                    if self.augment is not None:
                        xb, yb = self.augment(xb, yb, self.members[slot].rng)
                else:
                    xb, yb = self.x[dummy], self.y[dummy]
                xs.append(xb)
                ys.append(yb)
            start = time.perf_counter()
            carry[0], carry[1], carry[2], out = self.steps.train(
                carry[0], carry[1], carry[2], masks, np.stack(xs), np.stack(ys), keys, counters)
            values = np.asarray(out)
            per_member = (time.perf_counter() - start) / self.size
            counters += 1
            for slot in sorted(running):
                value = float(values[slot])
                losses[slot].append(value)
                seconds[slot].append(per_member)
                if self.members[slot].monitor.on_batch(per_member, value) is Verdict.TERMINATE:
                    running.discard(slot)
            if not running:
                break
        return self._end_epoch(carry, active, running, losses, seconds, epochs)

    def _end_epoch(self, carry: list, active: list[int], running: set[int],
                   losses: dict, seconds: dict, epochs: int) -> list[int]:
        validate, restarts = [], []
        for slot in active:
            m = self.members[slot]
            m.train_s.extend(seconds[slot][1 if m.epoch == 0 else 0:])
            m.total_epochs += 1
            m.epoch += 1
            mean = float(np.mean(losses[slot])) if losses[slot] else math.nan
            verdict = m.monitor.on_epoch(mean) if slot in running else Verdict.TERMINATE
            m.loss_curve.append(mean)
            if verdict is Verdict.CONTINUE:
                validate.append(slot)
                m.done = m.epoch >= epochs
            elif verdict is Verdict.RESTART:
                restarts.append(slot)
            else:
                m.done = True
        if validate:
            self._validate(carry, validate)
        return restarts

    def _validate(self, carry: list, slots: list[int]) -> None:
        total = None
        masks = self._masks_device
        for xb, yb, mb in self.val_batches:
            start = time.perf_counter()
            stats = np.asarray(self.steps.evaluate(carry[0], carry[1], masks, xb, yb, mb))
            per_member = (time.perf_counter() - start) / self.size
            for slot in slots:
                self.members[slot].infer_s.append(per_member)
            total = stats if total is None else total + stats
        for slot in slots:
            self.members[slot].accuracy_curve.append(loop.score(total[slot], self.task,
                                                                self.num_val))

    def _restart(self, carry: list, keys: np.ndarray, counters: np.ndarray,
                 slots: list[int]) -> None:
        values = [unstack(tree, self.size) for tree in carry]
        for slot in slots:
            m = self.members[slot]
            values[0][slot], values[1][slot], values[2][slot] = self._slot_values(m)
            keys[slot] = m.key_data()
            counters[slot] = 0
        carry[:] = jax.device_put(tuple(stack(v) for v in values))
