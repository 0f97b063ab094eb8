"""Faults inside one evaluation, contained: non-finite results and time limits.

A search must survive whatever one evaluation does. :func:`scored` turns a NaN or infinite metric
or reward into a terminated evaluation (the reward's penalty) with the reason logged, so it is
never the best design and no method is told a non-finite number. :func:`with_time_limit` stops
an evaluation that runs past its wall-clock limit: in a process's main thread through
``SIGALRM`` (the evaluation is interrupted, even inside ``time.sleep``), elsewhere (a Dask
worker's thread) by waiting for it in a helper thread and giving up at the limit (the abandoned
thread finishes in the background; its result is discarded).

Example:
    >>> from cnn_design_env.evaluators import Metrics
    >>> from cnn_design_env.reward import PaperReward
    >>> metrics, reward = scored(Metrics(accuracy=float("nan")), PaperReward())
    >>> metrics.terminated, metrics.reason, reward
    (True, 'non-finite result: accuracy=nan', -1.0)
"""

from __future__ import annotations

import dataclasses
import logging
import math
import signal
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from cnn_design_env.evaluators.base import NUMERIC_FIELDS, Metrics

logger = logging.getLogger(__name__)
T = TypeVar("T")
FALLBACK_PENALTY = -1.0
"""The reward of a contained fault when the reward itself gives no finite penalty."""


class EvaluationTimeout(BaseException):
    """Raised inside an evaluation that ran past its time limit.

    A ``BaseException`` (as ``KeyboardInterrupt``), so an evaluator's ``except Exception`` does
    not swallow it.
    """


_NUMERIC = tuple(sorted(NUMERIC_FIELDS))


def nonfinite_fields(metrics: Metrics) -> list[str]:
    """``"name=value"`` of every numeric field or curve entry of ``metrics`` that is NaN or
    infinite."""
    bad = []
    for name in _NUMERIC:
        value = getattr(metrics, name)
        if value is not None and not math.isfinite(float(value)):
            bad.append(f"{name}={float(value)}")
    for name in ("loss_curve", "accuracy_curve"):
        if any(not math.isfinite(v) for v in getattr(metrics, name)):
            bad.append(f"{name} has a non-finite value")
    return bad


def _failed(metrics: Metrics, reason: str) -> Metrics:
    """``metrics`` terminated with ``reason``; non-finite numbers set to 0 (curves kept)."""
    clean = {}
    for name in NUMERIC_FIELDS:
        value = getattr(metrics, name)
        if value is not None and not math.isfinite(float(value)):
            clean[name] = None if name == "epochs_to_threshold" else type(value)(0)
    return dataclasses.replace(metrics, terminated=True, reason=reason, **clean)


def scored(metrics: Metrics, reward: Callable[[Metrics], float]) -> tuple[Metrics, float]:
    """``(metrics, reward(metrics))`` with a non-finite metric or reward contained.

    A non-finite metric of a design that was not terminated, or a non-finite reward, gives a
    terminated ``Metrics`` whose reason names the values, and the reward's penalty for it (the
    reward of that terminated ``Metrics``; :data:`FALLBACK_PENALTY` if that is not finite
    either). Logged at WARNING level.

    Raises:
        Exception: Whatever ``reward`` raises (a broken reward is not a fault of one design).
    """
    if not metrics.terminated:
        bad = nonfinite_fields(metrics)
        if bad:
            metrics = _failed(metrics, "non-finite result: " + ", ".join(bad))
            logger.warning("evaluation gave %s", metrics.reason)
    value = float(reward(metrics))
    if math.isfinite(value):
        return metrics, value
    if not metrics.terminated:
        metrics = _failed(metrics, f"non-finite reward: {value}")
        logger.warning("evaluation gave %s", metrics.reason)
        value = float(reward(metrics))
    return metrics, (value if math.isfinite(value) else FALLBACK_PENALTY)


def with_time_limit(fn: Callable[[], T], seconds: float | None) -> T:
    """``fn()``, raising :class:`EvaluationTimeout` once it has run ``seconds`` (``None``: no
    limit).

    Raises:
        EvaluationTimeout: At the limit.
        ValueError: If ``seconds`` is not a positive finite number.
    """
    if seconds is None:
        return fn()
    if not (isinstance(seconds, int | float) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"a time limit must be a positive number of seconds, got {seconds!r}")
    if (threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer")
            and signal.getitimer(signal.ITIMER_REAL)[0] == 0):  # no timer of someone else's
        return _alarm(fn, float(seconds))
    return _watched(fn, float(seconds))


def _alarm(fn: Callable[[], T], seconds: float) -> T:
    def expire(signum: int, frame: Any) -> None:
        raise EvaluationTimeout(f"time limit: the evaluation ran past {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _watched(fn: Callable[[], T], seconds: float) -> T:
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = fn()
        except BaseException as error:  # handed to the caller
            outcome["error"] = error

    thread = threading.Thread(target=target, name="cnn-design-evaluation", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise EvaluationTimeout(f"time limit: the evaluation ran past {seconds:g} s (left "
                                "running in a background thread)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


__all__ = ["FALLBACK_PENALTY", "EvaluationTimeout", "nonfinite_fields", "scored",
           "with_time_limit"]
