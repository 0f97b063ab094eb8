"""examples/hello_aec.py runs to completion with tiny budgets."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "hello_aec.py"


def run(*args: str) -> str:
    result = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_hello_aec_with_the_toy_evaluator():
    out = run("--toy", "--episodes", "3")
    assert out.startswith("toy evaluator")
    assert out.count("episode ") == 3
    assert "best reward" in out and "design of 'vgg_mini': complete" in out


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("cnn_design_env.evaluators.training") is None,
                    reason="cnn_design_env.evaluators.training is not available")
def test_hello_aec_trains_real_designs():
    out = run("--episodes", "2", "--epochs", "1")
    assert out.startswith("training each design on 'digits' for 1 epoch(s)")
    assert out.count("episode ") == 2
    assert "design of 'vgg_mini': complete" in out
