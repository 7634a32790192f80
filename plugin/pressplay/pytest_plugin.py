"""The test kit's pytest fixtures, loaded by pytest itself in any project that installs
``pressplay[testing]`` (the ``pytest11`` entry point ``pressplay``).

- ``sidecar_factory(**settings)``: starts real sidecars on 127.0.0.1 (stopped after the test); they
  serve the installed steps plus ``extra_steps`` (override that fixture to add steps of your own).
- ``sidecar``: one sidecar with default settings.
- ``github_emulator``, ``kube_emulator``: started emulators of GitHub and of Argo CD's API (override
  ``application_crd`` to validate Applications against a CRD).

This module imports nothing heavy and no part of :mod:`pressplay.testing` until a fixture runs, so
installing pressplay without the extra never breaks pytest; a fixture then fails with the install hint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pressplay.steps.base import StepSpec
    from pressplay.testing.sidecar import Sidecar


@pytest.fixture
def extra_steps() -> list[StepSpec[Any]]:
    """Steps served by ``sidecar_factory`` besides the installed ones (none by default)."""
    return []


@pytest.fixture
def sidecar_factory(extra_steps: list[StepSpec[Any]]) -> Iterator[Callable[..., Sidecar]]:
    """``sidecar_factory(**settings_overrides) -> Sidecar`` (started); all are stopped after the test."""
    from pressplay.testing.sidecar import Sidecar

    started: list[Sidecar] = []

    def make(**overrides: Any) -> Sidecar:
        overrides.setdefault("steps", extra_steps)
        sidecar = Sidecar(**overrides).start()
        started.append(sidecar)
        return sidecar

    yield make
    for sidecar in started:
        sidecar.stop()


@pytest.fixture
def sidecar(sidecar_factory: Callable[..., Sidecar]) -> Sidecar:
    """A sidecar with default settings (no GitHub, no Kubernetes)."""
    return sidecar_factory()


@pytest.fixture(scope="session")
def application_crd() -> dict[str, Any] | None:
    """The Argo CD Application CRD the ``kube_emulator`` validates against (None: no validation)."""
    return None


@pytest.fixture
def kube_emulator(application_crd: dict[str, Any] | None) -> Iterator[Any]:
    """A started :class:`~pressplay.testing.kube_emulator.KubeEmulator` (Argo CD Applications); with an
    ``application_crd`` it validates every stored object against it."""
    from pressplay.testing.kube_emulator import KubeEmulator

    with KubeEmulator(crd=application_crd) as emulator:
        yield emulator
    if emulator.schema_errors:
        pytest.fail("objects not valid against the Application CRD:\n" + "\n".join(emulator.schema_errors))


@pytest.fixture
def github_emulator() -> Iterator[Any]:
    """A started :class:`~pressplay.testing.github_emulator.GitHubEmulator` (stopped after the test);
    ``github_emulator.sidecar_settings()`` points a sidecar at it, ``.settings()`` gives Settings."""
    from pressplay.github import reset_clients
    from pressplay.testing.github_emulator import GitHubEmulator

    with GitHubEmulator() as emulator:
        yield emulator
    reset_clients()
    if emulator.server_errors:  # an emulator bug, not the code under test: make it visible
        import warnings

        warnings.warn(f"the GitHub emulator crashed: {emulator.server_errors}", stacklevel=1)
