"""Early termination and automatic epochs per episode (paper sections V-E and VI-A), pure logic.

No JAX here: the rules read scripted batch times and losses, so they are unit-tested on their own.

* **Batch time**: a batch slower than ``t_th`` for ``N_th,t`` consecutive batches stops training
  at once (reason ``"batch_time"``, no restart).
* **Epoch loss**: an epoch training loss above ``l_th`` for ``N_th,l`` consecutive epochs stops
  training; the first time the design restarts from a fresh initialisation, the second time it is
  terminated (reason ``"loss"``).
* **NaN/Inf** (ours): a non-finite batch or epoch loss terminates at once (reason ``"nan"``).
* **Time limit** (ours): past the monitor's wall-clock ``deadline`` (an evaluation's start plus
  ``time_limit_s``, or the end of a batch of evaluations' budget) the next batch terminates
  (reason ``"time limit"``, no restart).
* **Epochs per episode**: :class:`EpochSchedule` starts at 10 epochs; after each evaluation, if the
  loss threshold was first met at an earlier epoch, that epoch becomes the number of epochs for
  later evaluations, never below 3.

The paper gives no values for ``t_th``, ``N_th,t``, ``l_th`` or ``N_th,l``; the defaults of
:class:`TerminationConfig` are ours, chosen not to stop reasonable designs of the small presets.

Example:
    >>> monitor = TerminationMonitor(TerminationConfig(loss_patience=1), loss_threshold=0.5)
    >>> monitor.on_epoch(0.9), monitor.restarts
    (<Verdict.RESTART: 'restart'>, 1)
    >>> monitor.on_epoch(0.4), monitor.epochs_to_threshold
    (<Verdict.CONTINUE: 'continue'>, 1)
"""

from __future__ import annotations

import enum
import math
import threading
import time
from dataclasses import dataclass


class Verdict(enum.Enum):
    """What training does after a batch or an epoch."""

    CONTINUE = "continue"
    RESTART = "restart"
    TERMINATE = "terminate"


@dataclass(frozen=True)
class TerminationConfig:
    """Thresholds of the early-termination rules.

    Attributes:
        batch_time_s: ``t_th``, seconds per training batch; ``None`` disables the rule. Default
            10 s: far above any batch of the small presets on a CPU, so only pathological designs
            stop.
        batch_time_patience: ``N_th,t``, consecutive slow batches that stop training (default 5).
        loss_threshold: ``l_th``. With ``loss_threshold_relative`` (the default) it is a fraction
            of the *chance loss*: the training loss of a network predicting uniform probabilities
            (``ln K`` for cross-entropy with ``K`` classes), so one value fits every data set and
            loss. Default 0.5. ``None`` disables the rule (and ``epochs_to_threshold``).
        loss_threshold_relative: Read ``loss_threshold`` as a fraction of the chance loss (default)
            or as an absolute loss value.
        loss_patience: ``N_th,l``, consecutive epochs above ``l_th`` that stop training
            (default 3: a design must reach ``l_th`` within its first 3 epochs).
        max_restarts: Restarts from a fresh initialisation before the loss rule terminates
            (the paper's 1).
        warmup_batches: Batches at the start of each run ignored by the batch-time rule (the
            first one may include compilation or allocation).
        time_limit_s: Wall-clock seconds one evaluation may take (compilation included), checked
            after every batch; ``None`` (default): no limit.

    Raises:
        ValueError: On a non-positive threshold or patience, or negative restarts.
    """

    batch_time_s: float | None = 10.0
    batch_time_patience: int = 5
    loss_threshold: float | None = 0.5
    loss_threshold_relative: bool = True
    loss_patience: int = 3
    max_restarts: int = 1
    warmup_batches: int = 1
    time_limit_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("batch_time_s", "loss_threshold", "time_limit_s"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, int | float) and value > 0):
                raise ValueError(f"TerminationConfig.{name} must be a positive number or None, "
                                 f"got {value!r}")
        for name in ("batch_time_patience", "loss_patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"TerminationConfig.{name} must be an integer >= 1, "
                                 f"got {value!r}")
        for name in ("max_restarts", "warmup_batches"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"TerminationConfig.{name} must be an integer >= 0, "
                                 f"got {value!r}")

    def resolve_loss_threshold(self, chance_loss: float) -> float | None:
        """The absolute ``l_th`` for a data set whose chance loss is ``chance_loss``.

        Example:
            >>> round(TerminationConfig().resolve_loss_threshold(math.log(10)), 4)
            1.1513
        """
        if self.loss_threshold is None:
            return None
        if self.loss_threshold_relative:
            return float(self.loss_threshold) * float(chance_loss)
        return float(self.loss_threshold)


class TerminationMonitor:
    """The counters of Fig. 7 for one evaluation (all its runs).

    Args:
        config: The thresholds.
        loss_threshold: The absolute ``l_th`` (see
            :meth:`TerminationConfig.resolve_loss_threshold`); ``None`` disables the loss rule.
        deadline: ``time.perf_counter()`` value after which the time-limit rule terminates
            (``None``: none); may be tightened later through :attr:`deadline`.

    Attributes:
        restarts: Restarts so far.
        reason: Why training was terminated (``""`` while it runs).
        epoch: Epochs finished in the current run.
        epochs_to_threshold: First epoch (1-based) of the current run whose loss met ``l_th``.
    """

    def __init__(self, config: TerminationConfig, *, loss_threshold: float | None,
                 deadline: float | None = None) -> None:
        self.config = config
        self.loss_threshold = loss_threshold
        self.deadline = deadline
        self.restarts = 0
        self.reason = ""
        self.start_run()

    def start_run(self) -> None:
        """Reset the per-run counters (at the start and after a restart)."""
        self.epoch = 0
        self.batch = 0
        self.epochs_to_threshold: int | None = None
        self._slow_batches = 0
        self._high_epochs = 0

    def _terminate(self, reason: str) -> Verdict:
        self.reason = reason
        return Verdict.TERMINATE

    def check_time(self) -> Verdict:
        """``TERMINATE`` (reason ``"time limit"``) if the deadline has passed."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            return self._terminate("time limit")
        return Verdict.CONTINUE

    def on_batch(self, seconds: float, loss: float) -> Verdict:
        """Account for one training batch that took ``seconds`` and had loss ``loss``."""
        self.batch += 1
        if not math.isfinite(loss):
            return self._terminate("nan")
        if self.check_time() is Verdict.TERMINATE:
            return Verdict.TERMINATE
        limit = self.config.batch_time_s
        if limit is None or self.batch <= self.config.warmup_batches:
            return Verdict.CONTINUE
        self._slow_batches = self._slow_batches + 1 if seconds > limit else 0
        if self._slow_batches >= self.config.batch_time_patience:
            return self._terminate("batch_time")
        return Verdict.CONTINUE

    def on_epoch(self, loss: float) -> Verdict:
        """Account for one finished epoch with mean training loss ``loss``.

        Returns:
            ``RESTART`` when the loss rule fires with restarts left (the counters are already reset
            for the new run; the caller re-initialises the network), ``TERMINATE`` when it fires
            with no restart left or the loss is not finite, else ``CONTINUE``.
        """
        self.epoch += 1
        if not math.isfinite(loss):
            return self._terminate("nan")
        if self.loss_threshold is None:
            return Verdict.CONTINUE
        if loss <= self.loss_threshold:
            self._high_epochs = 0
            if self.epochs_to_threshold is None:
                self.epochs_to_threshold = self.epoch
            return Verdict.CONTINUE
        self._high_epochs += 1
        if self._high_epochs < self.config.loss_patience:
            return Verdict.CONTINUE
        if self.restarts >= self.config.max_restarts:
            return self._terminate("loss")
        self.restarts += 1
        self.start_run()
        return Verdict.RESTART


class EpochSchedule:
    """Automatic epochs per episode (section VI-A): shrink to the first epoch meeting ``l_th``.

    Thread-safe, so one schedule can serve evaluations running on an executor (the result then
    depends on the order in which they finish).

    Args:
        max_epochs: Starting number of epochs (the paper's 10).
        min_epochs: Floor (the paper's 3).

    Raises:
        ValueError: If ``min_epochs`` is not in ``[1, max_epochs]``.

    Example:
        >>> schedule = EpochSchedule()
        >>> [schedule.update(e) for e in (None, 7, 8, 2)]
        [10, 7, 7, 3]
    """

    def __init__(self, max_epochs: int = 10, min_epochs: int = 3) -> None:
        if not (isinstance(max_epochs, int) and isinstance(min_epochs, int)
                and 1 <= min_epochs <= max_epochs):
            raise ValueError(f"EpochSchedule needs integers 1 <= min_epochs <= max_epochs, got "
                             f"min_epochs={min_epochs!r}, max_epochs={max_epochs!r}")
        self.max_epochs = max_epochs
        self.min_epochs = min_epochs
        self.epochs = max_epochs
        self._lock = threading.Lock()

    def update(self, epochs_to_threshold: int | None) -> int:
        """Shrink to ``epochs_to_threshold`` if smaller (never below ``min_epochs``).

        Args:
            epochs_to_threshold: The first epoch at which the last evaluation met the loss
                threshold, or ``None`` if it never did (no change).

        Returns:
            The number of epochs for the next evaluation.
        """
        with self._lock:
            if epochs_to_threshold is not None and epochs_to_threshold < self.epochs:
                self.epochs = max(self.min_epochs, int(epochs_to_threshold))
            return self.epochs
