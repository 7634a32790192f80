"""Static checks in the test command: ruff (lint + format), mypy --strict on plugin/, the import layers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} not installed (pip install -e '.[dev]')")
    return found


PATHS = [p for p in ("plugin", "tests", "bench") if (ROOT / p).exists()]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint() -> None:
    result = _run(_tool("ruff"), "check", *PATHS)
    assert result.returncode == 0, result.stdout[-5000:]


def test_ruff_format() -> None:
    result = _run(_tool("ruff"), "format", "--check", *PATHS)
    assert result.returncode == 0, result.stdout[-5000:]


def test_mypy_strict() -> None:
    result = _run(_tool("mypy"))
    assert result.returncode == 0, result.stdout[-5000:]


def test_layers_point_down() -> None:
    """The import contracts of pyproject.toml ([tool.importlinter], docs/architecture.md "Layers")."""
    result = _run(_tool("lint-imports"))
    assert result.returncode == 0, result.stdout[-5000:]
    assert "0 broken" in result.stdout
