"""Build the ExecutorPlugin ConfigMap from ``plugin.yaml``, as ``argo executor-plugin build`` does.

Shape (executor plugin contract §6): name ``<metadata.name>-executor-plugin``; labels from plugin.yaml
plus ``workflows.argoproj.io/configmap-type: ExecutorPlugin``; annotations copied; data keys
``sidecar.automountServiceAccountToken`` ("true"/"false", always) and ``sidecar.container`` (the
container as YAML); keys sorted; a "generated, do not edit" first line.

Two additions, so that a kustomize ``images:`` entry in an overlay can change the sidecar image
(docs/install.md, "Images"): the image also as its own key ``sidecar.image``, which ``images:``
reaches (``manifests/core/kustomizeconfig/images.yaml``) and Argo ignores (its ``FromConfigMap``, in
``workflow/util/plugin/configmap.go``, reads the two keys above and nothing else); and in
``sidecar.container`` the image comes first, double-quoted (``image: "<ref>"``), so that
``manifests/transformers/sidecar-image`` can copy ``sidecar.image`` into the string by splitting it
at ``"`` and replacing part 1. Argo parses the string as YAML (``yaml.UnmarshalStrict`` into a
``Container``): key order and quoting make no difference to it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

HEADER = "# This is an auto-generated file. DO NOT EDIT (run: pressplay plugin-configmap)\n"
_TOP_KEYS = {"apiVersion", "kind", "metadata", "spec"}
#: The ConfigMap key ``images:`` reaches; ``manifests/transformers/sidecar-image`` reads it.
IMAGE_KEY = "sidecar.image"
#: An image reference as a container's ``image`` takes it: nothing that needs quoting in YAML, and
#: above all no ``"``, which marks where the image is in ``sidecar.container``.
_IMAGE_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/:@+-]*")


def load_plugin(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a YAML mapping")
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        raise ValueError(
            f"{path}: unknown top-level field(s) {sorted(unknown)}; allowed: {sorted(_TOP_KEYS)}"
        )
    if doc.get("kind") != "ExecutorPlugin":
        raise ValueError(f"{path}: kind must be ExecutorPlugin, got {doc.get('kind')!r}")
    sidecar = (doc.get("spec") or {}).get("sidecar") or {}
    container = sidecar.get("container")
    if not isinstance(container, dict):
        raise ValueError(f"{path}: spec.sidecar.container is required")
    for key in ("name", "ports", "resources", "securityContext"):
        if not container.get(key):
            raise ValueError(f"{path}: spec.sidecar.container.{key} is required by Argo")
    image = container.get("image")
    if not isinstance(image, str) or not _IMAGE_REF.fullmatch(image):
        raise ValueError(
            f"{path}: spec.sidecar.container.image must be an image reference such as "
            f"ghcr.io/owner/name:1.2.3 (got {image!r})"
        )
    resources = container["resources"]
    for key in ("requests", "limits"):
        if not resources.get(key):
            raise ValueError(f"{path}: spec.sidecar.container.resources.{key} is required by Argo")
    return doc


def build_configmap(plugin: dict[str, Any]) -> dict[str, Any]:
    meta = plugin.get("metadata") or {}
    sidecar = plugin["spec"]["sidecar"]
    out_meta: dict[str, Any] = {"name": f"{meta['name']}-executor-plugin"}
    if meta.get("namespace"):
        out_meta["namespace"] = meta["namespace"]
    if meta.get("annotations"):
        out_meta["annotations"] = dict(meta["annotations"])
    out_meta["labels"] = {
        **(meta.get("labels") or {}),
        "workflows.argoproj.io/configmap-type": "ExecutorPlugin",
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": out_meta,
        "data": {
            "sidecar.automountServiceAccountToken": "true"
            if sidecar.get("automountServiceAccountToken")
            else "false",
            "sidecar.container": container_yaml(sidecar["container"]),
            IMAGE_KEY: sidecar["container"]["image"],
        },
    }


def container_yaml(container: dict[str, Any]) -> str:
    """The container as YAML: ``image: "<ref>"`` first, then the other keys sorted.

    The image's double quotes are the first ``"`` in the text (``load_plugin`` allows none inside a
    reference), which is what ``manifests/transformers/sidecar-image`` relies on."""
    rest = {key: value for key, value in container.items() if key != "image"}
    body = yaml.safe_dump(rest, sort_keys=True, default_flow_style=False)
    return f'image: "{container["image"]}"\n{body}'


class _LiteralDumper(yaml.SafeDumper):
    pass


def _str_repr(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_LiteralDumper.add_representer(str, _str_repr)


def render(plugin_yaml: Path) -> str:
    configmap = build_configmap(load_plugin(plugin_yaml))
    return HEADER + yaml.dump(
        configmap, Dumper=_LiteralDumper, sort_keys=True, default_flow_style=False, width=1000
    )


def configmap_path(out_dir: Path, plugin_yaml: Path) -> Path:
    name = load_plugin(plugin_yaml)["metadata"]["name"]
    return Path(out_dir) / f"{name}-executor-plugin-configmap.yaml"


def write_configmap(plugin_yaml: Path, out_dir: Path) -> Path:
    text = render(plugin_yaml)
    path = configmap_path(out_dir, plugin_yaml)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
