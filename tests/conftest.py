"""Fixtures of this repository's own tests. The test kit's fixtures (``sidecar``, ``github_emulator``,
``kube_emulator``, ...) come from pressplay's pytest plugin, which pytest loads by its entry point;
what reads this repository's ``../shared`` folder lives here, not in the shipped kit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<repo>/../shared`` (the design, references, schemas and fixtures); skip if absent."""
    if not SHARED.is_dir():
        pytest.skip(f"needs the project's shared folder at {SHARED} (absent in a user's clone)")
    return SHARED


@pytest.fixture(scope="session")
def application_crd() -> dict[str, Any] | None:
    """The Argo CD Application CRD from ``../shared/schemas/argo-cd`` (None when ../shared is absent)."""
    import yaml

    path = SHARED / "schemas" / "argo-cd" / "application-crd.yaml"
    if not path.is_file():
        return None
    loaded: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded
