"""Fixtures of the chart tests: the real ``helm`` CLI, built from ``helm.sh/helm/v4`` (tests/engine/build.py).

The build is cached like the engine's binaries; a cold one takes minutes on 2 cores, so it is kept
out of the other tests' way as the engine build is (tests/engine/conftest.py): when a test that needs
helm is selected and helm is not cached yet, the build starts on a thread right after collection,
those tests move to the end of the run (before the engine tests), and the first of them waits for the
build before its timeout starts. Without Go they skip naming it; with ``PRESSPLAY_ENGINE_REQUIRED=1``
(CI) that is a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine import build

HERE = Path(__file__).resolve().parent
ENGINE = HERE.parent / "engine"
ROOT = HERE.parents[1]
CHART = ROOT / "charts" / "pressplay"
MANIFESTS = ROOT / "manifests"


class _HelmBuild:
    def __init__(self) -> None:
        self.binary: Path | None = None
        self.problem: BaseException | None = None
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="helm-build", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.binary = build.helm_binary()
        except BaseException as err:  # reported by the fixture, in the tests that need it
            self.problem = err

    def wait(self) -> None:
        if self._thread.is_alive():
            print(
                f"\n[helm] waiting for the helm build (started {time.monotonic() - self.started:.0f} s ago)",
                file=sys.stderr,
                flush=True,
            )
            self._thread.join()


_build: _HelmBuild | None = None


def _needs_helm(item: pytest.Item) -> bool:
    return "helm" in getattr(item, "fixturenames", ())


def _in(item: pytest.Item, folder: Path) -> bool:
    return folder in Path(str(item.path)).resolve().parents


@pytest.hookimpl(trylast=True)  # after -k / -m deselection: no build for tests that will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    global _build
    helm = [i for i in items if _in(i, HERE) and _needs_helm(i)]
    if not helm:
        return
    if (build.cache_dir() / "bin" / f"helm-{build.module_key('helm')}" / "helm").exists():
        return
    # helm's tests after everything else, the engine's after them (tests/engine/conftest.py moves
    # its own to the very end, whichever hook runs first).
    engine = [i for i in items if _in(i, ENGINE)]
    rest = [i for i in items if i not in helm and i not in engine]
    items[:] = rest + helm + engine
    if _build is None:
        _build = _HelmBuild()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    if _build is not None and _in(item, HERE) and _needs_helm(item):
        _build.wait()
    yield


@pytest.fixture(scope="session")
def helm() -> Path:
    """The ``helm`` binary (skips naming Go where it is missing; fails so in CI)."""
    global _build
    if _build is None:
        _build = _HelmBuild()
    _build.wait()
    if isinstance(_build.problem, build.ToolMissing):
        message = f"the chart tests need helm, built from helm.sh/helm/v4 with {_build.problem}"
        if os.environ.get("PRESSPLAY_ENGINE_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    if _build.problem is not None:
        raise RuntimeError(f"building helm failed: {_build.problem}") from _build.problem
    assert _build.binary is not None
    return _build.binary


def run_helm(binary: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``helm ARGS`` with a private home (no repository config, cache or plugins of the machine's)."""
    home = build.cache_dir() / "helm-home"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(home),
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
        "KUBECONFIG": str(home / "no-kubeconfig"),  # a cluster only where a test passes --kubeconfig
    }
    done = subprocess.run(
        [str(binary), *args], capture_output=True, text=True, env=env, check=False, timeout=120
    )
    if check and done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed ({done.returncode}):\n{done.stderr}{done.stdout}")
    return done
