"""Where a table came from: commit, trainer-source hash, machine, load (for table metadata)."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
"""The repository (or installed package's parent) folder."""
TRAINER_SOURCES = ("cnn_design_env/evaluators/training.py", "cnn_design_env/train",
                   "cnn_design_env/space", "cnn_design_env/evaluators/base.py")
"""Files whose contents decide what the trainer records (hashed by :func:`trainer_hash`)."""


def git_commit(root: Path = ROOT) -> str:
    """The HEAD commit of ``root``, with ``+dirty`` when tracked files differ; ``"unknown"``
    outside a git checkout."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, check=True
                               ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def trainer_hash(root: Path = ROOT) -> str:
    """SHA-256 (16 hex digits) over the trainer and space sources, untracked edits included."""
    digest = hashlib.sha256()
    for entry in TRAINER_SOURCES:
        path = root / entry
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path] if path.exists() else []
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def machine() -> dict[str, Any]:
    """Platform, CPU count, Python, JAX backend and devices, package version."""
    import jax

    import cnn_design_env

    return {"platform": platform.platform(), "processor": platform.processor(),
            "node": platform.node(), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "jax": jax.__version__,
            "jax_backend": jax.default_backend(),
            "jax_devices": [str(d) for d in jax.devices()],
            "package_version": cnn_design_env.__version__}


def load_average() -> float:
    """The 1-minute load average (other jobs on the machine slow the timings down)."""
    return float(os.getloadavg()[0])


__all__ = ["TRAINER_SOURCES", "git_commit", "load_average", "machine", "trainer_hash"]
