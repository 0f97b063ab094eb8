"""A persistent store of compiled XLA programs in a directory, passed in explicitly.

Every new architecture compiles a new XLA program; :class:`ProgramStore` keeps the compiled
executables on disk so that a program seen before (in this process or an earlier one) loads in
milliseconds instead of compiling again. It replaces switching on JAX's own persistent cache
(``jax.config``, process-wide): a store belongs to whoever holds it (normally a
:class:`~cnn_design_env.train.settings.TrainerSettings`), and nothing global changes.

A program is keyed on the SHA-256 of its lowered StableHLO text, the compiler options, the JAX
and jaxlib versions and the device kind; the file holds the bytes of
``jax.experimental.serialize_executable.serialize`` (no pickle: the argument and result tree
structures are those of the lowering, not read from the file).

Directory, first found wins: the ``path`` argument, the ``CNN_DESIGN_JAX_CACHE`` environment
variable, ``$XDG_CACHE_HOME/cnn_design_env/jax``, ``~/.cache/cnn_design_env/jax``.

The directory holds machine code: do not share it with users you do not trust.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax

from cnn_design_env.train.compiler import compile_lowered

ENV_VAR = "CNN_DESIGN_JAX_CACHE"
"""Environment variable overriding the cache directory."""
SUFFIX = ".xla"

logger = logging.getLogger(__name__)


def default_cache_dir() -> Path:
    """The cache directory used when no path is given (see the module docstring)."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cnn_design_env" / "jax"


class ProgramStore:
    """Compiled programs on disk, keyed on what determines them.

    Args:
        directory: Where the programs live (created if missing).

    Attributes:
        hits: Programs loaded from disk.
        misses: Programs compiled (and stored).

    Example:
        >>> import jax.numpy as jnp, tempfile
        >>> store = ProgramStore(tempfile.mkdtemp())
        >>> lowered = jax.jit(lambda x: x * 2).lower(jnp.ones(3))
        >>> _ = store.compile(lowered, {}); _ = store.compile(lowered, {})
        >>> store.misses, store.hits
        (1, 1)
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory).expanduser()
        self.directory.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0

    def key(self, lowered: jax.stages.Lowered, options: Mapping[str, Any]) -> str:
        """The file name (without suffix) of ``lowered`` compiled with ``options``."""
        device = jax.devices()[0]
        meta = json.dumps({"options": {k: str(v) for k, v in sorted(options.items())},
                           "jax": jax.__version__, "jaxlib": jax.lib.__version__,
                           "platform": device.platform, "kind": device.device_kind},
                          sort_keys=True)
        digest = hashlib.sha256(meta.encode())
        digest.update(lowered.as_text().encode())
        return digest.hexdigest()

    def compile(self, lowered: jax.stages.Lowered,
                options: Mapping[str, Any] | None = None) -> jax.stages.Compiled:
        """The compiled program of ``lowered``: loaded if stored, else compiled and stored."""
        from jax.experimental import serialize_executable as se

        options = dict(options) if options is not None else {}
        path = self.directory / (self.key(lowered, options) + SUFFIX)
        if path.exists():
            try:
                program = se.deserialize_and_load(path.read_bytes(), lowered.in_tree,
                                                  lowered.out_tree)
                self.hits += 1
                return program
            except Exception as error:  # a truncated or foreign file: compile again
                logger.warning("cannot load the stored program %s (%s); compiling", path, error)
        program = compile_lowered(lowered, options)
        self.misses += 1
        try:
            payload, _, _ = se.serialize(program)
            with tempfile.NamedTemporaryFile(dir=self.directory, delete=False,
                                             suffix=".tmp") as handle:
                handle.write(payload)
            os.replace(handle.name, path)
        except Exception as error:  # a backend that cannot serialise: keep the program only
            logger.debug("cannot store the program %s: %s", path, error)
        return program
