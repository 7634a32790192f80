"""The pytest example in docs/github.md runs as written."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pressplay.testing.github_emulator import GitHubEmulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "github.md"


def test_the_documented_pytest_example_passes(
    github_emulator: GitHubEmulator, sidecar_factory: Callable[..., Any]
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    example = next(b for b in blocks if "def test_pr_is_opened_once" in b)
    namespace: dict[str, Any] = {}
    exec(compile(example, str(DOC), "exec"), namespace)
    namespace["test_pr_is_opened_once"](github_emulator, sidecar_factory)
