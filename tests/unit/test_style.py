"""The workflow stays lint-clean and snakefmt-formatted (catalog conventions)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from helpers import REPO

BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    result = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in result.stdout + result.stderr


def test_snakefmt_formatted():
    result = subprocess.run([str(BIN / "snakefmt"), "--check", "."], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_no_test_module_imports_another():
    """Shared test code lives in tests/helpers.py (or conftest.py), so that each test module
    can be read, run and moved on its own."""
    import ast

    tests = REPO / "tests"
    modules = {p.stem for p in tests.rglob("test_*.py")}
    offenders = []
    for path in sorted(tests.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.name} imports {n}" for n in names if n.split(".")[0] in modules]
    assert not offenders
