"""The run directory: where a search keeps everything, and how it is opened.

::

    runs/NAME/
      config.json          the run's settings (RunConfig): enough to resume it
      evaluations.jsonl    append-only journal: one line per completed evaluation
      checkpoint.pkl       searcher/team + generators + designs in flight, after every tell
      summary.json         written at the end (and by ``cnn-design show``)
      best_design.txt      the best design as a table, beside the space's original values
      plots/               reward_per_episode.png (paper Fig. 9), pareto.png (Fig. 3a),
                           best_vs_cost.png
      final_training.json  written by ``cnn-design train --design runs/NAME``
      .lock                held by the process running the search
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cnn_design_env.run.config import RunConfig

CONFIG = "config.json"
JOURNAL = "evaluations.jsonl"
CHECKPOINT = "checkpoint.pkl"
SUMMARY = "summary.json"
BEST = "best_design.txt"
PLOTS = "plots"
PLOT_FILES = ("reward_per_episode.png", "pareto.png", "best_vs_cost.png")
FINAL = "final_training.json"
LOCK = ".lock"


class RunDir:
    """Paths of one run directory and its config.

    Args:
        path: The directory.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    config_path = property(lambda self: self.path / CONFIG)
    journal_path = property(lambda self: self.path / JOURNAL)
    checkpoint_path = property(lambda self: self.path / CHECKPOINT)
    summary_path = property(lambda self: self.path / SUMMARY)
    best_path = property(lambda self: self.path / BEST)
    plots_path = property(lambda self: self.path / PLOTS)

    # -------------------------------------------------------------- create
    def create(self, config: RunConfig, *, overwrite: bool = False) -> RunDir:
        """Create the directory and write ``config.json``.

        Args:
            config: The run's settings.
            overwrite: Replace a run already there (only the run's own files are removed).

        Raises:
            ValueError: If it already holds a run (and not ``overwrite``), is a file, or the run
                there is in use.
            PermissionError: If it cannot be created or written (names the path).
        """
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"--out {str(self.path)!r} is a file, not a directory")
        if self.config_path.exists():
            if not overwrite:
                raise ValueError(f"{str(self.path)!r} already holds a run; continue it with "
                                 f"'cnn-design resume {self.path}', replace it with "
                                 "--overwrite, or choose another --out")
            self.remove()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self.write_json(self.config_path, config.to_dict())
        except OSError as error:
            raise PermissionError(f"cannot write the run directory --out {str(self.path)!r}: "
                                  f"{error.strerror or error}") from error
        return self

    def remove(self) -> None:
        """Delete the run's own files (nothing else in the directory).

        Raises:
            ValueError: If a process is running the search.
        """
        if self.in_use():
            raise ValueError(f"{str(self.path)!r} is in use by another cnn-design process")
        for name in (CONFIG, JOURNAL, CHECKPOINT, SUMMARY, BEST, FINAL, LOCK):
            (self.path / name).unlink(missing_ok=True)
        if self.plots_path.is_dir():
            for name in PLOT_FILES:
                (self.plots_path / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                self.plots_path.rmdir()

    # ---------------------------------------------------------------- open
    def load_config(self) -> RunConfig:
        """Read ``config.json``.

        Raises:
            FileNotFoundError: If the directory or its config is missing.
            ValueError: If the config cannot be read (names the file).
        """
        if not self.path.is_dir():
            raise FileNotFoundError(f"no run directory at {str(self.path)!r}")
        if not self.config_path.exists():
            raise FileNotFoundError(f"{str(self.path)!r} is not a run directory (no {CONFIG})")
        try:
            return RunConfig.from_dict(json.loads(self.config_path.read_text()))
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{self.config_path}: cannot read the run's settings "
                             f"({type(error).__name__}: {error})") from error

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run's lock, so two processes never write one run at once.

        Raises:
            ValueError: If another process holds it.
        """
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking
            yield
            return
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ValueError(f"{str(self.path)!r} is in use by another cnn-design process"
                                 ) from None
            yield
        finally:
            os.close(fd)

    def in_use(self) -> bool:
        """Whether a process holds the run's lock (a search is running in it now)."""
        try:
            import fcntl
        except ImportError:
            return False
        if not (self.path / LOCK).exists():
            return False
        fd = os.open(self.path / LOCK, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        finally:
            os.close(fd)

    @staticmethod
    def write_json(path: Path, data: Any) -> Path:
        """Write ``data`` as indented JSON, atomically."""
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n")
        os.replace(tmp, path)
        return path

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"


__all__ = ["BEST", "CHECKPOINT", "CONFIG", "FINAL", "JOURNAL", "LOCK", "PLOTS", "PLOT_FILES",
           "SUMMARY", "RunDir"]
