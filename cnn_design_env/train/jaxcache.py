"""JAX's persistent compilation cache, on by default for the trainer.

Every new architecture compiles a new XLA program; the persistent cache stores compiled programs
on disk so that an architecture seen before (in this process or an earlier one) loads in
milliseconds instead of compiling again. :func:`enable_persistent_cache` points JAX at a user cache
directory and caches every program regardless of its compile time or size (thresholds 0).

Directory, first found wins: the ``path`` argument, the ``CNN_DESIGN_JAX_CACHE`` environment
variable, ``$XDG_CACHE_HOME/cnn_design_env/jax``, ``~/.cache/cnn_design_env/jax``.

The cache directory is trusted code: do not share it with users you do not trust (JAX's warning).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import jax

ENV_VAR = "CNN_DESIGN_JAX_CACHE"
"""Environment variable overriding the cache directory."""

logger = logging.getLogger(__name__)
_lock = threading.Lock()


def default_cache_dir() -> Path:
    """The cache directory used when no path is given (see the module docstring)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cnn_design_env" / "jax"


def enable_persistent_cache(path: str | Path | None = None) -> Path:
    """Turn on JAX's persistent compilation cache in ``path`` for every compiled program.

    Safe to call repeatedly; switching to another directory takes effect for later compilations.

    Args:
        path: Cache directory (created if missing); ``None`` uses :func:`default_cache_dir`.

    Returns:
        The directory in use.

    Raises:
        OSError: If the directory cannot be created.
    """
    directory = Path(path).expanduser() if path is not None else default_cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with _lock:
        current = jax.config.jax_compilation_cache_dir
        if current != str(directory):
            jax.config.update("jax_compilation_cache_dir", str(directory))
            if current:
                _reset_jax_cache()
            logger.debug("JAX persistent compilation cache at %s", directory)
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return directory


def _reset_jax_cache() -> None:
    """Make JAX re-open its cache at the new directory (it opens it once per process)."""
    try:
        from jax._src import compilation_cache
    except ImportError:  # pragma: no cover - private module moved
        logger.warning("cannot switch the JAX compilation cache directory in this JAX version")
        return
    compilation_cache.reset_cache()
