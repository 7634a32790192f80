"""docs/install.md "Another namespace": the overlay as written, rendered with the real ``kubectl kustomize``.

Every object the base puts in ``pressplay`` lands in the chosen namespace, every RoleBinding's subject
follows, and the Argo CD Role and RoleBinding stay in ``argocd``: with ``manifests/``, and with
``manifests/core`` plus components (the overlay's patches run after the components are accumulated,
``accumulateTarget`` then ``runTransformers`` in kustomize's api/internal/target/kusttarget.go). A
patch's ``target`` picks objects by their original or current namespace (``resWrangler.Select`` in
api/resmap/reswrangler.go), which is why the Argo CD objects are not moved. The two shortcuts the
page warns against are rendered too, to keep the warning true."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pressplay.lint.load import parse_stream

from .conftest import REPO, render_overlay

NEW = "agents"
ARGOCD_OBJECTS = {("Role", "pressplay-argocd-applications"), ("RoleBinding", "pressplay-argocd-applications")}

Objects = dict[tuple[str, str], Mapping[str, Any]]


def install_md_overlay() -> str:
    text = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
    match = re.search(
        r"<!-- tests/manifests/test_namespace\.py renders this overlay -->\n```yaml\n(.*?)```", text, re.S
    )
    assert match, "docs/install.md lost the 'Another namespace' overlay (or its marker comment)"
    return match.group(1)


def as_objects(text: str) -> Objects:
    return {(doc.kind, doc.name): doc.body for doc in parse_stream(text, "overlay", lines=False)}


def without_namespaces(body: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in body.items()}
    out["metadata"] = {k: v for k, v in body["metadata"].items() if k != "namespace"}
    if "subjects" in body:
        out["subjects"] = [{k: v for k, v in s.items() if k != "namespace"} for s in body["subjects"]]
    return out


def on(resources: str, components: tuple[str, ...]) -> str:
    """The docs' overlay built on ``resources`` with ``components`` (as "Optional parts" shows)."""
    text = install_md_overlay().replace("resources: [../manifests]", f"resources: [{resources}]", 1)
    assert f"resources: [{resources}]" in text
    if components:
        text += "components:\n" + "".join(f"  - ../manifests/components/{c}\n" for c in components)
    return text


def assert_moved(objects: Objects, base: Objects) -> None:
    assert objects.keys() == base.keys()
    for key, body in objects.items():
        where = "argocd" if key in ARGOCD_OBJECTS else NEW
        assert body["metadata"]["namespace"] == where, key
        if key[0] == "RoleBinding":
            assert body["subjects"], key
            assert [s.get("namespace") for s in body["subjects"]] == [NEW] * len(body["subjects"]), key
        # Nothing else changes.
        assert without_namespaces(body) == without_namespaces(base[key]), key


@pytest.mark.parametrize(
    ("resources", "components"),
    [
        ("../manifests", ("external-secrets",)),
        ("../manifests/core", ("events",)),
        ("../manifests/core", ("argocd",)),
    ],
    ids=["manifests+external-secrets", "core+events", "core+argocd"],
)
def test_install_md_namespace_overlay_moves_everything_but_the_argocd_role(
    kubectl: str, tmp_path: Path, resources: str, components: tuple[str, ...]
) -> None:
    recipe = as_objects(render_overlay(tmp_path / "recipe", kubectl, on(resources, components), {}))
    plain = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    plain += f"resources: [{resources}]\n"
    if components:
        plain += "components:\n" + "".join(f"  - ../manifests/components/{c}\n" for c in components)
    base = as_objects(render_overlay(tmp_path / "base", kubectl, plain, {}))
    assert {b["metadata"]["namespace"] for k, b in base.items() if k not in ARGOCD_OBJECTS} == {"pressplay"}
    assert_moved(recipe, base)
    assert (("argocd" in components) or resources == "../manifests") == bool(ARGOCD_OBJECTS & recipe.keys())


def test_the_recipe_goes_with_the_settings_overlay(kubectl: str, tmp_path: Path) -> None:
    """The two patches next to the settings patch and transformer of "Settings"."""
    text = (REPO / "docs" / "install.md").read_text(encoding="utf-8")
    blocks = dict(
        re.findall(
            r"<!-- tests/manifests/test_security.py renders this (\S+) -->\n```yaml\n(.*?)```", text, re.S
        )
    )
    patches = install_md_overlay().split("patches:\n", 1)[1]
    kustomization = blocks["kustomization.yaml"].replace("patches:\n", "patches:\n" + patches, 1)
    objects = as_objects(
        render_overlay(tmp_path, kubectl, kustomization, {"settings.yaml": blocks["settings.yaml"]})
    )
    role = objects[("Role", "pressplay-argocd-applications")]
    assert role["metadata"]["namespace"] == "argocd"
    assert role["rules"][0]["resourceNames"] == ["widgets-preview", "gadgets-preview"]
    assert objects[("ConfigMap", "pressplay-settings")]["metadata"]["namespace"] == NEW
    binding = objects[("RoleBinding", "pressplay-argocd-applications")]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "pressplay-executor-plugin", "namespace": NEW}
    ]


# ------------------------------------------------------------------ what the page warns against

SHORTCUTS = {
    # The old recipe: the base set `pressplay` everywhere already, so unsetOnly finds nothing unset.
    "unsetOnly": """\
transformers:
  - |-
    apiVersion: builtin
    kind: NamespaceTransformer
    metadata: {name: my-namespace, namespace: agents}
    unsetOnly: true
    setRoleBindingSubjects: allServiceAccounts
""",
    # `namespace:` moves every namespaced object, and sets only subjects named "default"
    # (setSubjectsNamedDefault, api/filters/namespace/namespace.go).
    "namespace": "namespace: agents\n",
}


@pytest.mark.parametrize("shortcut", sorted(SHORTCUTS))
def test_the_shortcuts_the_page_warns_against_do_what_it_says(
    kubectl: str, tmp_path: Path, shortcut: str
) -> None:
    kustomization = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [../manifests]\n"
    )
    objects = as_objects(render_overlay(tmp_path, kubectl, kustomization + SHORTCUTS[shortcut], {}))
    role = objects[("Role", "pressplay-argocd-applications")]
    subjects = {
        s["namespace"] for (kind, _), b in objects.items() if kind == "RoleBinding" for s in b["subjects"]
    }
    assert subjects == {"pressplay"}
    if shortcut == "unsetOnly":
        assert {b["metadata"]["namespace"] for k, b in objects.items() if k not in ARGOCD_OBJECTS} == {
            "pressplay"
        }
        assert role["metadata"]["namespace"] == "argocd"
    else:
        assert {b["metadata"]["namespace"] for b in objects.values()} == {NEW}
