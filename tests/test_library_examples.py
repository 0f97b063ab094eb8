"""The MARL-library examples learn on ``table_chain`` with the tabular evaluator.

Each library has pins that conflict with the others (and with the ``examples`` extra), so each
runs in its own venv: ``make example-rllib`` (and ``example-agilerl``, ``example-benchmarl``)
creates ``.venv-<lib>`` from scratch with the pinned CPU torch and
``pip install -e ".[dev,<lib>]"``, then runs only its test here; ``.ci/run`` runs them all. In
any other venv the tests skip.

Each example's ``main(argv)`` returns what it learned; the tests assert that the run completed a
few hundred episodes and learned something measurable, not only that it ran.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str) -> ModuleType:
    """Import ``examples/<name>.py`` as a module (the examples folder is not a package)."""
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_rllib_shared_masked_ppo_learns() -> None:
    pytest.importorskip("ray.rllib", reason="RLlib not installed (make example-rllib)")
    learned = load_example("rllib_masked_ppo").main(["--episodes", "300", "--seed", "0"])
    assert learned.episodes >= 300
    # invalid_action="raise": finishing at all means RLlib never sent a masked action
    assert learned.last_reward > learned.first_reward + 1.0, learned
    # the untrained policy is close to uniform: its designs' mean regret is a random design's
    assert learned.regret_after < learned.random_regret / 2, learned
