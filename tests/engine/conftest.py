"""Fixtures of the engine tests: the Go binaries (built once per machine, cached) and running stacks.

A cold build takes about 40 minutes on 2 cores (docs/engine.md), so it is not left in any test's way:
when an engine test is selected, the build starts in a background thread right after collection (``go``
under ``nice``, so the other tests keep the CPU they need), the engine tests are moved to the end of the
run, and the first of them waits for the build *before* its timeout starts (a ``tryfirst`` hook wrapper
around ``pytest_runtest_protocol``, outside pytest-timeout's own). Where a tool is missing the tests skip
naming it; with ``PRESSPLAY_ENGINE_REQUIRED=1`` (CI) the skip becomes a failure.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine import build
from tests.engine.stack import OUTSIDE_TMP, Options, Stack, preflight

HERE = Path(__file__).resolve().parent


class _Build:
    """The one build of this test session, run on a thread."""

    def __init__(self) -> None:
        self.binaries: dict[str, Path] | None = None
        self.problem: BaseException | None = None
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="engine-build", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            preflight()
            self.binaries = build.binaries()
        except BaseException as err:  # reported by the fixture, in the tests that need it
            self.problem = err

    def wait(self) -> None:
        if self._thread.is_alive():
            print(
                f"\n[engine] waiting for the Go build (started {time.monotonic() - self.started:.0f} s ago)",
                file=sys.stderr,
                flush=True,
            )
            self._thread.join()


_build: _Build | None = None


def _is_engine(item: pytest.Item) -> bool:
    """An engine test, or one marked ``engine_build`` (it reads the built binaries) when CI requires
    them: those run after the rest and wait for the build too, instead of finding nothing built yet."""
    if HERE in Path(str(item.path)).resolve().parents:
        return True
    required = os.environ.get("PRESSPLAY_ENGINE_REQUIRED") == "1"
    return required and item.get_closest_marker("engine_build") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    global _build
    engine = [item for item in items if _is_engine(item)]
    if not engine:
        return
    items[:] = [item for item in items if not _is_engine(item)] + engine
    if _build is None:
        _build = _Build()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if _build is not None and _is_engine(item):
        _build.wait()
    yield


def _missing(err: build.ToolMissing) -> None:
    message = f"engine tests need {err.tool}: {err}"
    # CI (PRESSPLAY_ENGINE_REQUIRED=1) fails on a missing tool: Go, kubectl, git, unshare, ../shared.
    # Root is the machine's account, not something .ci/run can install: without it the tests skip,
    # naming it, everywhere (docs/engine.md, "Requirements").
    # The same for a checkout under /tmp (stack.OUTSIDE_TMP).
    if os.environ.get("PRESSPLAY_ENGINE_REQUIRED") == "1" and err.tool not in ("root", OUTSIDE_TMP):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def engine_binaries() -> dict[str, Path]:
    """The binaries built for this session (or built now, when collection did not see this folder)."""
    global _build
    if _build is None:
        _build = _Build()
    _build.wait()
    if isinstance(_build.problem, build.ToolMissing):
        _missing(_build.problem)
    if _build.problem is not None:
        raise RuntimeError(f"the engine tests cannot run: {_build.problem}") from _build.problem
    assert _build.binaries is not None
    return _build.binaries


@pytest.fixture
def engine(engine_binaries: dict[str, Path]) -> Iterator[Stack]:
    """A fresh stack with everything installed; stopped (all processes) after the test."""
    with Stack(Options()) as stack:
        yield stack
