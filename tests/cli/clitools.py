"""Helpers of the CLI tests (importable: ``tests/cli`` is put on ``sys.path`` by its conftest)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def table_available(name: str = "table_chain") -> bool:
    """Whether the tabular evaluator and the table of ``name`` are shipped."""
    try:
        from cnn_design_env.evaluators.tabular import TabularEvaluator

        TabularEvaluator(name)
    except Exception:
        return False
    return True


def command(*args: str) -> list[str]:
    """``python -m cnn_design_env.cli ARGS`` (the installed entry point's code)."""
    return [sys.executable, "-m", "cnn_design_env.cli", *map(str, args)]


def journal(run_dir: Path) -> list[dict]:
    """The journal lines of a run, sorted by index."""
    lines = [json.loads(line) for line in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    return sorted(lines, key=lambda r: r["index"])


def outcome(run_dir: Path) -> list[tuple]:
    """What must match between two runs: (index, design, seed, reward) of every evaluation."""
    return [(r["index"], tuple(r["design"]), r["eval_seed"], r["reward"])
            for r in journal(run_dir)]
