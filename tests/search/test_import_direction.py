"""Dependencies point one way: ``cnn_design_env`` imports neither ``agents`` nor ``baselines``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "cnn_design_env"
USERS = {"agents", "baselines"}


def imported_roots(path: Path) -> list[tuple[int, str]]:
    """``(line, top-level module)`` of every import statement in ``path`` (lazy ones too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "import_module" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def test_the_env_package_imports_none_of_its_users() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 50  # the whole package is read
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{line} imports {root}"
                 for path in files for line, root in imported_roots(path) if root in USERS]
    assert offenders == []


def test_the_reader_sees_lazy_imports(tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from baselines.compare import x\n"
                      "import importlib\nimportlib.import_module('agents.loop')\n")
    assert sorted(imported_roots(sample)) == [(2, "baselines"), (3, "importlib"), (4, "agents")]
