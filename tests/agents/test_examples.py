"""examples/marl_vgg_mini.py runs to completion (real training, tiny budget) and resumes."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "marl_vgg_mini.py"


def run(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True,
                            text=True, timeout=600, check=False, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("cnn_design_env.evaluators.training") is None,
                    reason="cnn_design_env.evaluators.training is not available")
def test_marl_vgg_mini_trains_and_resumes(tmp_path):
    path = str(tmp_path / "run.npz")
    out = run("--episodes", "3", "--exploration", "2", "--epochs", "1", "--checkpoint", path)
    assert out.count("\nepisode ") == 3 and "best reward" in out
    assert "episode 3 exploitation" in out
    out = run("--episodes", "4", "--exploration", "2", "--epochs", "1", "--checkpoint", path,
              "--tuned")
    assert out.count("\nepisode ") == 1 and "episode 4 exploitation" in out
