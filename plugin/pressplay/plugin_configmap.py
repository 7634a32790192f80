"""Build the ExecutorPlugin ConfigMap from ``plugin.yaml``, as ``argo executor-plugin build`` does.

Shape (executor plugin contract §6): name ``<metadata.name>-executor-plugin``; labels from plugin.yaml
plus ``workflows.argoproj.io/configmap-type: ExecutorPlugin``; annotations copied; data keys
``sidecar.automountServiceAccountToken`` ("true"/"false", always) and ``sidecar.container`` (the
container as YAML); keys sorted; a "generated, do not edit" first line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

HEADER = "# This is an auto-generated file. DO NOT EDIT (run: pressplay plugin-configmap)\n"
_TOP_KEYS = {"apiVersion", "kind", "metadata", "spec"}


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
            "sidecar.container": yaml.safe_dump(
                sidecar["container"], sort_keys=True, default_flow_style=False
            ),
        },
    }


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
