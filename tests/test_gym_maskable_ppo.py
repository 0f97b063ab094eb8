"""examples/gym_maskable_ppo.py runs to completion with a tiny budget (needs the gym extra)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gym_maskable_ppo.py"


@pytest.mark.skipif(importlib.util.find_spec("sb3_contrib") is None,
                    reason="sb3-contrib is not installed (optional extra 'gym': "
                           "pip install torch==2.13.0 sb3-contrib)")
def test_maskable_ppo_example_runs():
    result = subprocess.run([sys.executable, str(EXAMPLE), "--episodes", "20", "--seed", "1"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "trained on 20 episodes (120 steps)"
    assert lines[-1].startswith("greedy design (")
