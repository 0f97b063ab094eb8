"""Helpers of the CLI tests: run ``cnn-design`` as a subprocess with the test plugins."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # test modules import clitools and cli_plugins
    sys.path.insert(0, str(HERE))

from clitools import command  # noqa: E402


@pytest.fixture(scope="session")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with ``fixtures.py`` and ``cli_plugins.py`` for ``PYTHONPATH``."""
    directory = tmp_path_factory.mktemp("plugins")
    shutil.copy(HERE.parent / "fixtures.py", directory / "fixtures.py")
    shutil.copy(HERE / "cli_plugins.py", directory / "cli_plugins.py")
    return directory


@pytest.fixture(scope="session")
def cli_env(plugin_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a ``cnn-design`` subprocess (its own JAX compilation cache, so the
    tests neither use nor fill the user's)."""
    # the repository root after the plugins: the subprocess imports this checkout's package
    path = os.pathsep.join([str(plugin_dir), str(HERE.parent.parent)])
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1",
            "CNN_DESIGN_JAX_CACHE": str(tmp_path_factory.mktemp("jax_cache"))}


@pytest.fixture
def cli(cli_env: dict[str, str]):
    """Run ``cnn-design ARGS``; returns the completed process (text output)."""

    def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(command(*args), env=cli_env, capture_output=True, text=True,
                              timeout=timeout)

    return run
