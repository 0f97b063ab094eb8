"""The progress bar of a search: episode, phase, epsilon, best reward, best accuracy, size."""

from __future__ import annotations

import math
import sys
from typing import Any, TextIO

from cnn_design_env.run.checkpoint import LoopState
from cnn_design_env.run.journal import Record
from cnn_design_env.search.searcher import next_phase


class Progress:
    """A tqdm bar over episodes, updated after every tell.

    The postfix shows the phase and epsilon of the next episode, the best reward with its
    accuracy and model size, and the highest accuracy seen.

    Args:
        total: Episodes of the run.
        initial: Episodes already done (on resume).
        records: Records already done (to seed the bests).
        description: The bar's label.
        enabled: ``False`` makes every call a no-op.
        stream: Where to draw (default ``sys.stderr``).
    """

    def __init__(self, total: int, *, initial: int = 0, records: list[Record] | None = None,
                 description: str = "search", enabled: bool = True,
                 stream: TextIO | None = None) -> None:
        self.best: Record | None = None
        self.best_accuracy = -math.inf
        for record in records or []:
            self._track(record)
        self._bar: Any = None
        if enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=initial, desc=description, unit="ep",
                             file=stream if stream is not None else sys.stderr,
                             dynamic_ncols=True, mininterval=0.5)
            self._bar.set_postfix_str(self.postfix(None), refresh=True)

    def _track(self, record: Record) -> None:
        if self.best is None or record.reward > self.best.reward:
            self.best = record
        if not record.metrics.terminated:
            self.best_accuracy = max(self.best_accuracy, record.metrics.accuracy)

    def postfix(self, searcher: Any) -> str:
        """``phase=... eps=... best R=... (acc ..., ... MB) best acc=...``."""
        parts = []
        if searcher is not None:
            phase, epsilon = next_phase(searcher)
            if phase:
                parts.append(phase)
            if not math.isnan(epsilon):
                parts.append(f"eps={epsilon:.3f}")
        if self.best is not None:
            m = self.best.metrics
            parts.append(f"best R={self.best.reward:.3f} (acc {m.accuracy:.3f}, "
                         f"{m.model_size_mb:.4g} MB)")
        if math.isfinite(self.best_accuracy):
            parts.append(f"best acc={self.best_accuracy:.3f}")
        return " ".join(parts)

    def __call__(self, record: Record, state: LoopState) -> None:
        """Advance by one told episode (a :class:`~cnn_design_env.run.loop.SearchLoop`
        ``on_tell`` callback)."""
        self._track(record)
        if self._bar is not None:
            self._bar.set_postfix_str(self.postfix(state.searcher), refresh=False)
            self._bar.update(1)

    def close(self) -> None:
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["Progress"]
