"""Fixtures of the engine tests: the Go binaries (built once per machine, cached) and running stacks.

The build runs once, after collection and before the first test, when an engine test is selected:
so a cold build (about 40 minutes on 2 cores, see docs/engine.md) is not counted in any test's
timeout. Where a tool is missing the tests skip naming it; with ``PRESSPLAY_ENGINE_REQUIRED=1`` (CI)
the skip becomes a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine import build
from tests.engine.stack import Options, Stack, preflight

HERE = Path(__file__).resolve().parent
_built: dict[str, Path] | None = None
_problem: BaseException | None = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    global _built, _problem
    if _built is not None or _problem is not None:
        return
    if not any(HERE in Path(str(item.path)).resolve().parents for item in items):
        return
    try:
        preflight()
        _built = build.binaries()
    except BaseException as err:  # reported by the fixture, in the tests that need it
        _problem = err


def _missing(err: build.ToolMissing) -> None:
    message = f"engine tests need {err.tool}: {err}"
    if os.environ.get("PRESSPLAY_ENGINE_REQUIRED") == "1":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def engine_binaries() -> dict[str, Path]:
    """The binaries built before the tests (or built now, when collection did not see this folder)."""
    global _built, _problem
    if _built is None and _problem is None:
        try:
            preflight()
            _built = build.binaries()
        except BaseException as err:
            _problem = err
    if isinstance(_problem, build.ToolMissing):
        _missing(_problem)
    if _problem is not None:
        raise RuntimeError(f"the engine build failed: {_problem}") from _problem
    assert _built is not None
    return _built


@pytest.fixture
def engine(engine_binaries: dict[str, Path]) -> Iterator[Stack]:
    """A fresh stack with everything installed; stopped (all processes) after the test."""
    with Stack(Options()) as stack:
        yield stack
