"""Images in one place each, and a kustomize ``images:`` overlay changes both everywhere.

The agent image is one literal in the ``agent-step`` WorkflowTemplate, on its ``checkout`` container
(``main`` and ``push`` take it through a YAML anchor; no Workflow parameter carries it); the sidecar image comes from ``plugin.yaml`` into the plugin ConfigMap, both
as ``sidecar.container`` (the YAML string Argo's ``FromConfigMap`` parses strictly into a Container,
``workflow/util/plugin/configmap.go``) and as ``sidecar.image`` (which ``images:`` reaches, and which
``manifests/transformers/sidecar-image`` copies into the string). Rendered with the real
``kubectl kustomize``, including the overlay shown in docs/install.md."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from pressplay.lint.core import Document
from pressplay.lint.load import parse_stream, render_kustomization
from pressplay.plugin_configmap import IMAGE_KEY, load_plugin

from .conftest import MANIFESTS, REPO

SIDECAR = "ghcr.io/pressplay-dev/pressplay"
AGENT = "ghcr.io/pressplay-dev/pressplay-agent"
PLUGIN_CM = ("ConfigMap", "pressplay-executor-plugin")
TRANSFORMER = "transformers/sidecar-image"
KUBERNETES_VERSION = "1.33.0"

Objects = Mapping[tuple[str, str], Mapping[str, Any]]


def shipped_image(name: str) -> str:
    if name == SIDECAR:
        image: str = load_plugin(REPO / "plugin.yaml")["spec"]["sidecar"]["container"]["image"]
        return image
    body = yaml.safe_load((MANIFESTS / "workflows" / "agent-step.yaml").read_text(encoding="utf-8"))
    (tmpl,) = [t for t in body["spec"]["templates"] if t["name"] == "agent-step"]
    containers = {c["name"]: c for c in tmpl["containerSet"]["containers"]}
    (default,) = [p["value"] for p in tmpl["inputs"]["parameters"] if p["name"] == "image"]
    # The key holders run pressplay's own image (the anchor); the agent's container the settings' image.
    assert containers["checkout"]["image"] == containers["push"]["image"] == default
    assert containers["main"]["image"] == "{{inputs.parameters.image}}"
    return str(default)


def image_fields(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """(path, value) of every ``image`` field, at any depth."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key == "image" and isinstance(value, str):
                yield where, value
            else:
                yield from image_fields(value, where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from image_fields(item, f"{path}[{i}]")


def every_image(documents: list[Document]) -> dict[str, str]:
    """Every image the objects name, the plugin's container string parsed as Argo parses it."""
    found: dict[str, str] = {}
    for doc in documents:
        where = f"{doc.kind}/{doc.name}"
        found.update({where + p: v for p, v in image_fields(doc.body)})
        if (doc.kind, doc.name) == PLUGIN_CM:
            data = doc.body["data"]
            found[where + ".data.sidecar.image"] = data[IMAGE_KEY]
            found[where + ".data.sidecar.container.image"] = yaml.safe_load(data["sidecar.container"])[
                "image"
            ]
    return found


def reference(entry: Mapping[str, str]) -> str:
    """The image an ``images:`` entry makes of its ``name``."""
    name = entry.get("newName", entry["name"])
    if "digest" in entry:
        return f"{name}@{entry['digest']}"
    return f"{name}:{entry['newTag']}" if "newTag" in entry else name


def without_images(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: "<image>" if k == "image" else without_images(v) for k, v in node.items()}
    if isinstance(node, list):
        return [without_images(item) for item in node]
    return node


def comparable(documents: list[Document]) -> dict[tuple[str, str], Any]:
    """The objects with every image blanked, the plugin's container string parsed."""
    out = {}
    for doc in documents:
        body = without_images(doc.body)
        if (doc.kind, doc.name) == PLUGIN_CM:
            body["data"]["sidecar.container"] = without_images(
                yaml.safe_load(doc.body["data"]["sidecar.container"])
            )
            body["data"][IMAGE_KEY] = "<image>"
        if (doc.kind, doc.name) == ("ConfigMap", "pressplay-settings"):
            body["data"]["agentImage"] = "<image>"
        if (doc.kind, doc.name) == ("WorkflowTemplate", "agent-step"):
            for p in body["spec"]["templates"][0]["inputs"]["parameters"]:
                if p["name"] == "image":
                    p["value"] = "<image>"
        out[(doc.kind, doc.name)] = body
    return out


def install_md_overlay() -> str:
    text = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
    match = re.search(
        r"<!-- tests/manifests/test_images\.py renders this overlay -->\n```yaml\n(.*?)```", text, re.S
    )
    assert match, "docs/install.md lost the Images overlay (or its marker comment)"
    return match.group(1)


def render_overlay(tmp_path: Path, kubectl: str, kustomization: str) -> tuple[str, list[Document]]:
    """``my-overlay/`` next to a copy of ``manifests/``, as in docs/install.md."""
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    (tmp_path / "my-overlay").mkdir()
    (tmp_path / "my-overlay" / "kustomization.yaml").write_text(kustomization, encoding="utf-8")
    text = render_kustomization(tmp_path / "my-overlay", kubectl)
    return text, parse_stream(text, "my-overlay", lines=False)


# ------------------------------------------------------------------ the shipped manifests


def test_each_image_is_written_once_in_the_sources() -> None:
    sources = [REPO / "plugin.yaml", *sorted(p for p in MANIFESTS.rglob("*") if p.is_file())]
    counts = {SIDECAR: 0, AGENT: 0}
    for path in sources:
        if path.name == "pressplay-executor-plugin-configmap.yaml":
            continue  # generated from plugin.yaml (tests/test_packaging.py fails when it is stale)
        text = path.read_text(encoding="utf-8")
        counts[SIDECAR] += len(re.findall(re.escape(SIDECAR) + r"[:@]", text))
        counts[AGENT] += len(re.findall(re.escape(AGENT) + r"[:@]", text))
    assert counts == {SIDECAR: 1, AGENT: 1}


AGENT_STEP = "WorkflowTemplate/agent-step.spec.templates[0]"
SETTINGS_CM = ("ConfigMap", "pressplay-settings")


def agent_images(documents: list[Document]) -> dict[str, str]:
    """Where the agent image is: agent-step's containers and `image` input, the settings' agentImage."""
    found = {w: v for w, v in every_image(documents).items() if "WorkflowTemplate/" in w}
    for doc in documents:
        if (doc.kind, doc.name) == ("WorkflowTemplate", "agent-step"):
            for p in doc.body["spec"]["templates"][0]["inputs"]["parameters"]:
                if p["name"] == "image":
                    found[f"{AGENT_STEP}.inputs.parameters.image"] = p["value"]
        if (doc.kind, doc.name) == SETTINGS_CM:
            found["ConfigMap/pressplay-settings.data.agentImage"] = doc.body["data"]["agentImage"]
    return found


def expected_agent_images(image: str) -> dict[str, str]:
    return {
        f"{AGENT_STEP}.containerSet.containers[0].image": image,
        f"{AGENT_STEP}.containerSet.containers[1].image": "{{inputs.parameters.image}}",
        f"{AGENT_STEP}.containerSet.containers[2].image": image,
        f"{AGENT_STEP}.inputs.parameters.image": image,
        # comment-pod (the stop report when the plugin errs) is a key holder too
        "WorkflowTemplate/agent-step.spec.templates[1].container.image": image,
        "ConfigMap/pressplay-settings.data.agentImage": image,
    }


def test_the_agent_image_is_one_literal_and_only_the_settings_choose_another(
    documents: list[Document],
) -> None:
    """The key holders (checkout, push, comment-pod) always run the shipped image; the agent's container runs the
    image the settings step answers (the admin's pressplay-settings ConfigMap, issue 14), never one a run
    or an event chose: no flow has an `image` Workflow argument, and every `image` argument a template
    passes is the settings step's output or its own input of that name (issue 18)."""
    assert agent_images(documents) == expected_agent_images(shipped_image(AGENT))
    allowed = {
        "{{steps.settings.outputs.parameters.image}}",
        "{{tasks.settings.outputs.parameters.image}}",
        "{{inputs.parameters.image}}",
    }
    passed = 0
    for doc in documents:
        if doc.kind != "WorkflowTemplate":
            continue
        arguments = [p["name"] for p in doc.body["spec"].get("arguments", {}).get("parameters", [])]
        assert "image" not in arguments, doc.name
        for tmpl in doc.body["spec"]["templates"]:
            calls = [t for group in tmpl.get("steps") or [] for t in group] + (tmpl.get("dag") or {}).get(
                "tasks", []
            )
            for call in calls:
                for p in (call.get("arguments") or {}).get("parameters", []):
                    if p["name"] == "image":
                        assert p["value"] in allowed, (doc.name, tmpl["name"], call["name"], p["value"])
                        passed += 1
    assert passed >= 10


def test_plugin_configmap_holds_the_sidecar_image_where_from_configmap_and_the_transformer_look(
    objects: Objects,
) -> None:
    """Argo's FromConfigMap parses ``sidecar.container`` strictly into a Container (checked here as a
    Pod's container, strict, with kubernetes-validate); the transformer splits the string at ``"``
    and replaces part 1, so the image must be the first quoted text."""
    data = objects[PLUGIN_CM]["data"]
    image = shipped_image(SIDECAR)
    assert data[IMAGE_KEY] == image
    container_yaml = data["sidecar.container"]
    assert container_yaml.startswith(f'image: "{image}"\n')
    assert container_yaml.split('"')[1] == image
    container = yaml.safe_load(container_yaml)
    assert container == load_plugin(REPO / "plugin.yaml")["spec"]["sidecar"]["container"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [container]}}
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)


def test_the_sidecar_image_transformer_selects_the_plugin_configmap() -> None:
    (config,) = yaml.safe_load_all(
        (MANIFESTS / TRANSFORMER / "sidecar-image.yaml").read_text(encoding="utf-8")
    )
    (replacement,) = config["replacements"]
    assert replacement["source"] == {
        "kind": "ConfigMap",
        "name": PLUGIN_CM[1],
        "fieldPath": "data.sidecar\\.image",
    }
    (target,) = replacement["targets"]
    assert target["select"] == {"kind": "ConfigMap", "name": PLUGIN_CM[1]}
    assert target["fieldPaths"] == ["data.sidecar\\.container"]
    assert target["options"] == {"delimiter": '"', "index": 1}


# ------------------------------------------------------------------ overlays


OVERLAY_DIGEST = f"""\
resources: [../manifests]
images:
  - name: {SIDECAR}
    newTag: 0.2.0-rc.1
  - name: {AGENT}
    newName: mirror.example.com/agents/pressplay-agent
    digest: sha256:{"ab" * 32}
transformers: [../manifests/{TRANSFORMER}]
"""


@pytest.mark.parametrize("source", ["docs/install.md", "digest-overlay"])
def test_overlay_images_change_both_images_everywhere_and_nothing_else(
    source: str, tmp_path: Path, kubectl: str, documents: list[Document]
) -> None:
    kustomization = install_md_overlay() if source == "docs/install.md" else OVERLAY_DIGEST
    entries = {e["name"]: e for e in yaml.safe_load(kustomization)["images"]}
    assert set(entries) == {SIDECAR, AGENT}
    want = {SIDECAR: reference(entries[SIDECAR]), AGENT: reference(entries[AGENT])}
    old = {SIDECAR: shipped_image(SIDECAR), AGENT: shipped_image(AGENT)}
    assert want[SIDECAR] != old[SIDECAR] and want[AGENT] != old[AGENT]

    text, overlay = render_overlay(tmp_path, kubectl, kustomization)

    images = every_image(overlay)
    assert {w: v for w, v in images.items() if "WorkflowTemplate/" not in w} == {
        "ConfigMap/pressplay-executor-plugin.data.sidecar.image": want[SIDECAR],
        "ConfigMap/pressplay-executor-plugin.data.sidecar.container.image": want[SIDECAR],
    }
    assert agent_images(overlay) == expected_agent_images(want[AGENT])
    # The old references appear nowhere in the output, and no object changed but for its images.
    for name, image in old.items():
        assert image not in text
        if name not in want[name]:
            assert name not in text
    assert comparable(overlay) == comparable(documents)
    container_yaml = next(d for d in overlay if (d.kind, d.name) == PLUGIN_CM).body["data"][
        "sidecar.container"
    ]
    assert container_yaml.startswith(f'image: "{want[SIDECAR]}"\n')


def test_without_the_transformer_the_sidecar_string_keeps_the_old_image(tmp_path: Path, kubectl: str) -> None:
    """Why overlays list the transformer: ``images:`` cannot reach inside ``sidecar.container``. (If a
    kustomize release ever does, this fails and the transformer can go.)"""
    kustomization = OVERLAY_DIGEST.replace(f"transformers: [../manifests/{TRANSFORMER}]\n", "")
    _, overlay = render_overlay(tmp_path, kubectl, kustomization)
    data = next(d for d in overlay if (d.kind, d.name) == PLUGIN_CM).body["data"]
    assert data[IMAGE_KEY] == f"{SIDECAR}:0.2.0-rc.1"
    assert yaml.safe_load(data["sidecar.container"])["image"] == shipped_image(SIDECAR)


@pytest.mark.parametrize("image", [None, "", 'ghcr.io/x/y:1"', "ghcr.io/x/y:{{inputs.parameters.image}}"])
def test_plugin_configmap_refuses_an_image_the_transformer_could_not_find(
    tmp_path: Path, image: str | None
) -> None:
    plugin = load_plugin(REPO / "plugin.yaml")
    container = plugin["spec"]["sidecar"]["container"]
    if image is None:
        del container["image"]
    else:
        container["image"] = image
    (tmp_path / "plugin.yaml").write_text(yaml.safe_dump(plugin), encoding="utf-8")
    with pytest.raises(ValueError, match=r"spec\.sidecar\.container\.image must be an image reference"):
        load_plugin(tmp_path / "plugin.yaml")
