"""Early termination and epochs per episode on scripted batch times and losses (no JAX)."""

from __future__ import annotations

import math

import pytest

from cnn_design_env.train.termination import (
    EpochSchedule,
    TerminationConfig,
    TerminationMonitor,
    Verdict,
)

C, R, T = Verdict.CONTINUE, Verdict.RESTART, Verdict.TERMINATE


def batches(monitor: TerminationMonitor, seconds: list[float], loss: float = 1.0) -> list:
    return [monitor.on_batch(s, loss) for s in seconds]


def test_batch_time_needs_consecutive_slow_batches_after_warmup() -> None:
    config = TerminationConfig(batch_time_s=0.1, batch_time_patience=3, warmup_batches=1)
    monitor = TerminationMonitor(config, loss_threshold=None)
    # the first (warm-up) batch is ignored however slow; a fast batch resets the counter
    assert batches(monitor, [9.0, 0.5, 0.5, 0.01, 0.5, 0.5]) == [C] * 6
    assert monitor.on_batch(0.5, 1.0) is T
    assert monitor.reason == "batch_time"
    assert monitor.restarts == 0


def test_batch_time_rule_can_be_disabled() -> None:
    monitor = TerminationMonitor(TerminationConfig(batch_time_s=None), loss_threshold=None)
    assert batches(monitor, [1e6] * 20) == [C] * 20


def test_non_finite_losses_terminate_at_once() -> None:
    for loss in (math.nan, math.inf, -math.inf):
        monitor = TerminationMonitor(TerminationConfig(), loss_threshold=1.0)
        assert monitor.on_batch(0.0, loss) is T and monitor.reason == "nan"
    monitor = TerminationMonitor(TerminationConfig(), loss_threshold=None)
    assert monitor.on_epoch(math.nan) is T and monitor.reason == "nan"


def test_loss_rule_restarts_once_then_terminates() -> None:
    config = TerminationConfig(loss_threshold=0.5, loss_threshold_relative=False,
                               loss_patience=2)
    monitor = TerminationMonitor(config, loss_threshold=config.resolve_loss_threshold(9.0))
    assert monitor.loss_threshold == 0.5
    # run 1: 0.9 0.4 (met at epoch 2, counter reset) 0.8 0.7 -> two consecutive highs -> restart
    assert [monitor.on_epoch(v) for v in (0.9, 0.4, 0.8, 0.7)] == [C, C, C, R]
    assert monitor.restarts == 1 and monitor.reason == ""
    # the restart starts a fresh run: epoch count and threshold epoch are reset
    assert monitor.epoch == 0 and monitor.epochs_to_threshold is None
    assert [monitor.on_epoch(v) for v in (0.6, 0.3, 0.2)] == [C, C, C]
    assert monitor.epochs_to_threshold == 2
    assert [monitor.on_epoch(v) for v in (0.9, 0.9)] == [C, T]
    assert monitor.reason == "loss" and monitor.restarts == 1


def test_loss_rule_without_restarts_terminates_first_time() -> None:
    config = TerminationConfig(loss_patience=1, max_restarts=0)
    monitor = TerminationMonitor(config, loss_threshold=0.1)
    assert monitor.on_epoch(0.2) is T and monitor.reason == "loss" and monitor.restarts == 0


def test_relative_threshold_is_a_fraction_of_the_chance_loss() -> None:
    assert TerminationConfig().resolve_loss_threshold(math.log(10)) == pytest.approx(
        0.5 * math.log(10))
    assert TerminationConfig(loss_threshold=None).resolve_loss_threshold(2.3) is None
    absolute = TerminationConfig(loss_threshold=0.7, loss_threshold_relative=False)
    assert absolute.resolve_loss_threshold(100.0) == 0.7


def run_episode(schedule: EpochSchedule, curve: list[float], threshold: float) -> int | None:
    """Train 'epochs' epochs of a scripted loss curve; return the epoch that met the threshold."""
    monitor = TerminationMonitor(TerminationConfig(loss_patience=99), loss_threshold=threshold)
    for loss in curve[:schedule.epochs]:
        monitor.on_epoch(loss)
    return monitor.epochs_to_threshold


def test_epochs_per_episode_follow_the_paper_on_scripted_curves() -> None:
    schedule = EpochSchedule()  # paper: at most 10 epochs, never below 3
    assert schedule.epochs == 10
    curves = [
        [2.0, 1.8, 1.6, 1.5, 1.4, 1.3, 1.2, 1.1, 1.05, 1.0],  # never meets 0.9: stays at 10
        [2.0, 1.5, 1.2, 1.0, 0.95, 0.85, 0.8, 0.7, 0.6, 0.5],  # first meets 0.9 at epoch 6
        [2.0, 1.0, 0.95, 0.92, 0.91, 0.9, 0.7],  # meets at epoch 6 again: no change
        [1.5, 1.2, 1.0, 0.8, 0.5, 0.4],  # meets at epoch 4 < 6: 4 epochs from now on
        [2.0, 1.9, 1.8, 1.7, 1.6, 0.5],  # not met within the 4 epochs trained: no change
        [0.5, 0.4, 0.3],  # meets at epoch 1: clipped to the floor of 3
        [0.5, 0.4, 0.3],  # already at the floor
    ]
    seen = []
    for curve in curves:
        seen.append(schedule.update(run_episode(schedule, curve, threshold=0.9)))
    assert seen == [10, 6, 6, 4, 4, 3, 3]


def test_epoch_schedule_and_config_validate_arguments() -> None:
    with pytest.raises(ValueError, match="min_epochs"):
        EpochSchedule(max_epochs=2, min_epochs=3)
    with pytest.raises(ValueError, match="batch_time_s"):
        TerminationConfig(batch_time_s=0)
    with pytest.raises(ValueError, match="loss_patience"):
        TerminationConfig(loss_patience=0)
    with pytest.raises(ValueError, match="max_restarts"):
        TerminationConfig(max_restarts=-1)
