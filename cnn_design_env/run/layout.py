"""The run directory: where a search keeps everything, and how it is opened.

::

    runs/NAME/
      .cnn-design-run      marker written at creation: this folder is a run, and its identity
      config.json          the run's settings (RunConfig): enough to resume it
      evaluations.jsonl    append-only journal: one line per completed evaluation (chained)
      checkpoint.npz       searcher/team + generators + designs in flight, after every tell
      optuna.journal       the study of an Optuna method (Optuna's journal storage)
      summary.json         written at the end (and by ``cnn-design show``)
      best_design.txt      the best design as a table, beside the space's original values
      plots/               reward_per_episode.png (paper Fig. 9), pareto.png (Fig. 3a),
                           best_vs_cost.png
      final_training.json  written by ``cnn-design train --design runs/NAME``
      .lock                held by the process running the search

Safety: the lock is taken before anything is written (:meth:`RunDir.open`, :meth:`RunDir.lock`);
``overwrite`` acts only on a folder that holds the marker, never on the home directory, the
current directory or a filesystem root, and a non-empty folder that is not a run is never
written into; a run whose files are symbolic links is refused, removing files never follows a
link, and files are written through a fresh temporary file renamed into place.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from cnn_design_env.run.config import RunConfig

MARKER = ".cnn-design-run"
CONFIG = "config.json"
JOURNAL = "evaluations.jsonl"
CHECKPOINT = "checkpoint.npz"
STUDY = "optuna.journal"
SUMMARY = "summary.json"
BEST = "best_design.txt"
PLOTS = "plots"
PLOT_FILES = ("reward_per_episode.png", "pareto.png", "best_vs_cost.png")
FINAL = "final_training.json"
LOCK = ".lock"
RUN_FILES = (MARKER, CONFIG, JOURNAL, CHECKPOINT, STUDY, f"{STUDY}.lock", SUMMARY, BEST, FINAL,
             LOCK)
"""The files a run consists of (beside ``plots/``); nothing else is ever removed."""
LEGACY_FILES = frozenset({CONFIG, JOURNAL, "checkpoint.pkl", SUMMARY, BEST, PLOTS, FINAL, LOCK})
"""What a run of format 1 (before the marker) may hold."""


class RunDir:
    """Paths of one run directory and its config.

    Args:
        path: The directory.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not str(path).strip():
            raise ValueError("the run directory must be a path, got an empty string (--out '')")
        self.path = Path(path)

    config_path = property(lambda self: self.path / CONFIG)
    journal_path = property(lambda self: self.path / JOURNAL)
    checkpoint_path = property(lambda self: self.path / CHECKPOINT)
    summary_path = property(lambda self: self.path / SUMMARY)
    best_path = property(lambda self: self.path / BEST)
    plots_path = property(lambda self: self.path / PLOTS)

    marker_path = property(lambda self: self.path / MARKER)

    # -------------------------------------------------------------- create
    def check_target(self, *, overwrite: bool = False) -> bool:
        """Check that a new run may be made here; returns whether a run is to be replaced.

        Raises:
            ValueError: If the path is empty, a file, a non-empty folder that is not a run, a
                run (without ``overwrite``), or (with ``overwrite``) the home directory, the
                current directory or a filesystem root.
        """
        path = self.path
        if path.exists() and not path.is_dir():
            raise ValueError(f"--out {str(path)!r} is a file, not a directory")
        if not path.exists():
            return False
        if overwrite:
            resolved = path.resolve()
            for name, forbidden in (("the home directory", Path.home()),
                                    ("the current directory", Path.cwd()),
                                    ("a filesystem root", Path(resolved.anchor))):
                if resolved == forbidden.resolve():
                    raise ValueError(f"--overwrite refuses {str(path)!r}: it is {name}")
        if self.is_run():
            if not overwrite:
                raise ValueError(f"{str(path)!r} already holds a run; continue it with "
                                 f"'cnn-design resume {path}', replace it with --overwrite, or "
                                 "choose another --out")
            return True
        entries = sorted(e.name for e in path.iterdir() if e.name != LOCK)
        if entries:
            raise ValueError(f"--out {str(path)!r} is a folder that is not empty and not a "
                             f"cnn-design run (it holds {entries[:5]}); nothing there is "
                             "replaced or written: choose a new or empty folder")
        return False

    def is_run(self) -> bool:
        """Whether this folder was created as a run (its marker, or a run of format 1 holding
        nothing but run files)."""
        if self.marker_path.is_file() and not self.marker_path.is_symlink():
            return True
        return self.is_legacy_run()

    def is_legacy_run(self) -> bool:
        """A run of format 1: ``config.json`` of that format and nothing but run files."""
        try:
            names = {e.name for e in self.path.iterdir()}
            document = json.loads(self.config_path.read_text())
        except (OSError, ValueError):
            return False
        return (isinstance(document, dict) and document.get("format") == 1
                and not self.config_path.is_symlink() and names <= LEGACY_FILES)

    def create(self, config: RunConfig, *, marker: dict[str, Any],
               overwrite: bool = False) -> RunDir:
        """Make the run: under the lock (:meth:`lock`), remove a run being replaced, write the
        marker and ``config.json``.

        Args:
            config: The run's settings.
            marker: The marker document (the run's identity).
            overwrite: Replace a run already there (only the run's own files are removed).

        Raises:
            ValueError: See :meth:`check_target`.
            PermissionError: If it cannot be written (names the path).
        """
        try:
            if self.check_target(overwrite=overwrite):
                self.remove()
            self.check_links()
            self.write_json(self.marker_path, marker)
            self.write_json(self.config_path, config.to_dict())
        except OSError as error:
            raise PermissionError(f"cannot write the run directory --out {str(self.path)!r}: "
                                  f"{error.strerror or error}") from error
        return self

    def remove(self) -> None:
        """Delete the run's own files (nothing else in the directory; links are removed, never
        followed). Call it holding :meth:`lock`, which keeps any other process out."""
        for name in (*RUN_FILES, "checkpoint.pkl"):
            if name != LOCK:  # held by this process
                (self.path / name).unlink(missing_ok=True)
        plots = self.plots_path
        if plots.is_symlink():
            plots.unlink()
        elif plots.is_dir():
            for name in PLOT_FILES:
                (plots / name).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                plots.rmdir()
        self.clean_temporary()

    def check_links(self) -> None:
        """Refuse a run whose files (or ``plots/``) are symbolic links.

        Raises:
            ValueError: Naming the link.
        """
        for name in (*RUN_FILES, PLOTS, *(f"{PLOTS}/{n}" for n in PLOT_FILES)):
            if (self.path / name).is_symlink():
                raise ValueError(f"{self.path / name} is a symbolic link; a run's files are "
                                 "never written through links: remove it")

    def clean_temporary(self) -> list[Path]:
        """Remove temporary files left by a write cut short (``.checkpoint.npz.*.tmp``...)."""
        removed = []
        for name in RUN_FILES:
            for stale in self.path.glob(f".{name}.*tmp"):
                if stale.is_file() or stale.is_symlink():
                    stale.unlink()
                    removed.append(stale)
        return removed

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
            document = json.loads(self.config_path.read_text())
            if isinstance(document, dict) and document.get("format") == 1:
                raise ValueError("this run was made by an earlier cnn-design (format 1, whose "
                                 "checkpoints were pickles, which this version never loads); "
                                 "its journal stays readable, start a new run to continue")
            return RunConfig.from_dict(document)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{self.config_path}: cannot read the run's settings "
                             f"({type(error).__name__}: {error})") from error

    def load_marker(self) -> dict[str, Any]:
        """Read the marker (the run's identity as created).

        Raises:
            ValueError: If there is none or it cannot be read.
        """
        if not self.marker_path.is_file() or self.marker_path.is_symlink():
            raise ValueError(f"{str(self.path)!r} has no {MARKER} marker: it was not created "
                             "as a run by this version of cnn-design")
        try:
            document = json.loads(self.marker_path.read_text())
            if not isinstance(document, dict) or not isinstance(document.get("run"), str):
                raise ValueError("no run hash")
        except ValueError as error:
            raise ValueError(f"{self.marker_path}: cannot read the run's marker ({error})"
                             ) from error
        return document

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
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0),
                     0o644)
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
        if not (self.path / LOCK).is_file() or (self.path / LOCK).is_symlink():
            return False
        fd = os.open(self.path / LOCK, os.O_RDWR | getattr(os, "O_NOFOLLOW", 0))
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
        """Write ``data`` as indented JSON, atomically, never through a symbolic link."""
        return write_text(path, json.dumps(data, indent=2, default=str) + "\n")

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    return atomic_write(path, lambda handle: handle.write(text.encode()))


def atomic_write(path: str | os.PathLike[str], write: Callable[[BinaryIO], Any]) -> Path:
    """Call ``write(handle)`` on a new temporary file beside ``path`` (created with ``O_EXCL``,
    so never through a link) and rename it over ``path`` (which replaces a link, never follows
    it): ``path`` is always either the old file or the whole new one."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


__all__ = ["BEST", "CHECKPOINT", "CONFIG", "FINAL", "JOURNAL", "LOCK", "MARKER", "PLOTS",
           "PLOT_FILES", "RUN_FILES", "STUDY", "SUMMARY", "RunDir", "atomic_write", "write_text"]
