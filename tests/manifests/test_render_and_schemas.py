"""The manifests render with the real ``kubectl kustomize`` and every object is valid: Argo Workflows
objects against the v4.1.2 CRD schema, Argo Events objects against the per-kind definition of the
v1.9.11 JSON Schema, core objects with kubernetes-validate. Unknown fields are errors here (the API
server would silently prune them, which is how a typo goes unnoticed)."""

from __future__ import annotations

import copy
import functools
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from pressplay.lint.core import Document
from pressplay.lint.load import parse_stream, render_kustomization

from .conftest import MANIFESTS

KUBERNETES_VERSION = "1.33.0"

EXPECTED = {
    ("ConfigMap", "pressplay-executor-plugin"),
    ("ConfigMap", "controller-agents"),
    ("ConfigMap", "pressplay-concurrency"),
    ("ConfigMap", "pressplay-settings"),
    ("NetworkPolicy", "pressplay-agent-egress"),
    ("ServiceAccount", "pressplay-workflow"),
    ("ServiceAccount", "pressplay-executor-plugin"),
    ("ServiceAccount", "pressplay-sensor"),
    ("Secret", "pressplay-workflow.service-account-token"),
    ("Secret", "pressplay-executor-plugin.service-account-token"),
    ("Role", "pressplay-workflow"),
    ("Role", "pressplay-executor-plugin-settings"),
    ("Role", "pressplay-argocd-applications"),
    ("Role", "pressplay-sensor"),
    ("RoleBinding", "pressplay-workflow"),
    ("RoleBinding", "pressplay-executor-plugin-settings"),
    ("RoleBinding", "pressplay-argocd-applications"),
    ("RoleBinding", "pressplay-sensor"),
    ("WorkflowTemplate", "press-play"),
    ("WorkflowTemplate", "task"),
    ("WorkflowTemplate", "agent-step"),
    ("WorkflowTemplate", "pr-remediation"),
    ("WorkflowTemplate", "ci-remediation"),
    ("WorkflowTemplate", "issue-triage"),
    ("EventBus", "default"),
    ("EventSource", "github"),
    ("Sensor", "pr-feedback"),
    ("Sensor", "ci-failure"),
    ("Sensor", "issue-triage"),
    ("Sensor", "pr-merged"),
}


def _strict(schema: Any) -> Any:
    """An OpenAPI v3 (CRD) or JSON Schema made checkable by jsonschema, with closed objects."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items() if not k.startswith("x-kubernetes-")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in schema
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    out.pop("format", None)
    return out


@functools.cache
def _crd_validator(path: str) -> jsonschema.protocols.Validator:
    crd = yaml.load(
        Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )
    version = next(v for v in crd["spec"]["versions"] if v.get("served"))
    schema = _strict(version["schema"]["openAPIV3Schema"])
    return jsonschema.Draft7Validator(schema)


@functools.cache
def _events_validator(path: str, kind: str) -> jsonschema.protocols.Validator:
    full = json.loads(Path(path).read_text(encoding="utf-8"))
    definitions = _strict(full["definitions"])
    schema = {"$ref": f"#/definitions/io.argoproj.events.v1alpha1.{kind}", "definitions": definitions}
    return jsonschema.Draft7Validator(schema)


def _errors(validator: jsonschema.protocols.Validator, body: Mapping[str, Any]) -> list[str]:
    return [
        f"{'.'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message[:300]}"
        for error in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    ]


def test_renders_every_object(documents: list[Document]) -> None:
    found = {(doc.kind, doc.name) for doc in documents}
    assert found == EXPECTED


def test_objects_land_in_the_pressplay_namespace_except_the_argocd_role(documents: list[Document]) -> None:
    for doc in documents:
        namespace = doc.body["metadata"].get("namespace")
        if doc.name == "pressplay-argocd-applications":
            assert namespace == "argocd"
        else:
            assert namespace == "pressplay", doc.label
        assert doc.body["metadata"]["labels"]["app.kubernetes.io/part-of"] == "pressplay", doc.label


def test_argocd_role_binds_the_plugin_account_of_the_workflow_namespace(
    objects: Mapping[tuple[str, str], Mapping[str, Any]],
) -> None:
    binding = objects[("RoleBinding", "pressplay-argocd-applications")]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "pressplay-executor-plugin", "namespace": "pressplay"}
    ]
    role = objects[("Role", "pressplay-argocd-applications")]
    assert role["rules"] == [
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["applications"],
            # settings/settings.yaml's argocdApplications; "-" (no Application) until an admin sets it
            "resourceNames": ["-"],
            "verbs": ["get", "patch"],
        }
    ]


@pytest.mark.parametrize("kind", ["WorkflowTemplate"])
def test_argo_workflows_objects_match_the_crd_schema(
    documents: list[Document], shared_dir: Path, kind: str
) -> None:
    crd = shared_dir / "schemas" / "argo-workflows" / "argoproj.io_workflowtemplates.yaml"
    validator = _crd_validator(str(crd))
    checked = 0
    for doc in documents:
        if doc.kind == kind:
            assert _errors(validator, doc.body) == [], doc.label
            checked += 1
    assert checked == 6


def test_sensor_workflows_match_the_workflow_crd_schema(documents: list[Document], shared_dir: Path) -> None:
    validator = _crd_validator(str(shared_dir / "schemas" / "argo-workflows" / "argoproj.io_workflows.yaml"))
    for doc in documents:
        if doc.kind != "Sensor":
            continue
        for trigger in doc.body["spec"]["triggers"]:
            workflow = trigger["template"]["argoWorkflow"]["source"]["resource"]
            assert _errors(validator, workflow) == [], f"{doc.label} {trigger['template']['name']}"


def test_the_crd_check_catches_a_typo(shared_dir: Path, objects: Mapping[tuple[str, str], Any]) -> None:
    validator = _crd_validator(
        str(shared_dir / "schemas" / "argo-workflows" / "argoproj.io_workflowtemplates.yaml")
    )
    body = copy.deepcopy(objects[("WorkflowTemplate", "agent-step")])
    body["spec"]["templates"][0]["synchronisation"] = body["spec"]["templates"][0].pop("synchronization")
    assert any("synchronisation" in e for e in _errors(validator, body))


@pytest.mark.parametrize("kind", ["EventSource", "Sensor", "EventBus"])
def test_argo_events_objects_match_their_definition(
    documents: list[Document], shared_dir: Path, kind: str
) -> None:
    validator = _events_validator(str(shared_dir / "schemas" / "argo-events" / "schema.json"), kind)
    checked = [doc for doc in documents if doc.kind == kind]
    assert checked
    for doc in checked:
        assert _errors(validator, doc.body) == [], doc.label


def test_the_events_check_catches_a_typo(shared_dir: Path, objects: Mapping[tuple[str, str], Any]) -> None:
    validator = _events_validator(str(shared_dir / "schemas" / "argo-events" / "schema.json"), "Sensor")
    body = copy.deepcopy(objects[("Sensor", "pr-merged")])
    body["spec"]["dependencies"][0]["filters"]["data"][0]["paht"] = "body.action"
    assert any("paht" in e for e in _errors(validator, body))


def test_core_objects_validate_with_kubernetes_validate(documents: list[Document]) -> None:
    core = [d for d in documents if not d.body["apiVersion"].startswith("argoproj.io/")]
    assert len(core) == 18
    for doc in core:
        kubernetes_validate.validate(dict(doc.body), KUBERNETES_VERSION, strict=True)


def test_external_secrets_component_renders_into_the_namespace(kubectl: str, tmp_path: Path) -> None:
    shutil.copytree(MANIFESTS, tmp_path / "manifests")
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [manifests]\ncomponents: [manifests/components/external-secrets]\n", encoding="utf-8"
    )
    docs = parse_stream(render_kustomization(tmp_path, kubectl), "overlay")
    secrets = {d.name: d.body for d in docs if d.kind == "ExternalSecret"}
    assert set(secrets) == {"pressplay-github-app", "pressplay-github-webhook"}
    for body in secrets.values():
        assert body["metadata"]["namespace"] == "pressplay"
    targets = {
        b["spec"]["target"]["name"]: {d["secretKey"] for d in b["spec"]["data"]} for b in secrets.values()
    }
    # The keys the sidecar, the agent-step pods and the EventSource read.
    assert targets == {
        "pressplay-github-app": {"app-id", "private-key.pem"},
        "pressplay-github-webhook": {"webhook-secret"},
    }
    assert len(docs) == len(EXPECTED) + 2
