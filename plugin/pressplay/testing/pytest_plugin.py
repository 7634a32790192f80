"""pytest fixtures for testing pressplay steps and templates (load with
``pytest_plugins = ["pressplay.testing.pytest_plugin"]``).

- ``shared_dir``: the project's ``../shared`` folder; skips the test when it is absent.
- ``sidecar_factory``: starts real sidecars on 127.0.0.1 with settings overrides; stops them after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pressplay.testing.sidecar import Sidecar

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<repo>/../shared`` (the design, references, schemas and fixtures); skip if absent."""
    path = (REPO_ROOT / ".." / "shared").resolve()
    if not path.is_dir():
        pytest.skip(f"needs the project's shared folder at {path} (absent in a user's clone)")
    return path


@pytest.fixture
def sidecar_factory() -> Iterator[Callable[..., Sidecar]]:
    """``sidecar_factory(**settings_overrides) -> Sidecar`` (started); all are stopped after the test."""
    started: list[Sidecar] = []

    def make(**overrides: Any) -> Sidecar:
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
    """The Argo CD Application CRD from ``../shared/schemas/argo-cd`` (None when ../shared is absent)."""
    import yaml

    path = REPO_ROOT / ".." / "shared" / "schemas" / "argo-cd" / "application-crd.yaml"
    if not path.is_file():
        return None
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loaded: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 - safe loader
    return loaded


@pytest.fixture
def kube_emulator(application_crd: dict[str, Any] | None) -> Iterator[Any]:
    """A started :class:`~pressplay.testing.kube_emulator.KubeEmulator` (Argo CD Applications); it
    validates every stored object against the Application CRD when ``../shared`` is present."""
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
