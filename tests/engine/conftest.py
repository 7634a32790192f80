"""Fixtures of the engine tests: the Go binaries (built once per machine, cached) and running stacks.

Where a tool is missing the tests skip naming it; with ``PRESSPLAY_ENGINE_REQUIRED=1`` (CI) the skip
becomes a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine import build
from tests.engine.stack import Options, Stack, preflight


def _missing(err: build.ToolMissing) -> None:
    message = f"engine tests need {err.tool}: {err}"
    if os.environ.get("PRESSPLAY_ENGINE_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def engine_binaries() -> dict[str, Path]:
    """Build (cold: see docs/engine.md for the time) or find the binaries."""
    try:
        preflight()
        return build.binaries()
    except build.ToolMissing as err:
        _missing(err)
        raise


@pytest.fixture
def engine(engine_binaries: dict[str, Path]) -> Iterator[Stack]:
    """A fresh stack with everything installed; stopped (all processes) after the test."""
    with Stack(Options()) as stack:
        yield stack
