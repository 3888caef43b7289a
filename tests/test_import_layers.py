"""The import-linter contract of pyproject.toml (dependencies flow one way) holds, and it can fail: a copy of
the package with an upward import, or with a module given no layer, breaks it. `make test` runs it too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``root`` (its own pyproject.toml; a fresh interpreter, so the
    package is found under ``root`` and not where this process imported it from)."""
    pytest.importorskip("importlinter.cli")
    env = {**os.environ, "PYTHONPATH": str(root)}
    script = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    return subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True)


def test_import_layers_hold():
    done = _lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


@pytest.fixture
def copy(tmp_path) -> Path:
    shutil.copytree(ROOT / "bioLM", tmp_path / "bioLM", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_an_upward_import_breaks_the_contract(copy):
    reader = copy / "bioLM" / "io" / "writer.py"
    reader.write_text(reader.read_text() + "\nfrom bioLM.cli import main  # noqa: E402  (io must not import cli)\n")
    done = _lint(copy)
    assert done.returncode != 0 and "bioLM.io is not allowed to import bioLM.cli" in done.stdout


def test_a_module_without_a_layer_breaks_the_contract(copy):
    (copy / "bioLM" / "stray.py").write_text('"""A new module nobody placed in the layers."""\n')
    done = _lint(copy)
    assert done.returncode != 0 and "bioLM.stray" in done.stdout + done.stderr
