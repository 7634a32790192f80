"""The Kubernetes emulator, exercised through the official ``kubernetes`` client (as the step uses it)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from tests.kube.conftest import NEW, OLD

from pressplay.testing.kube_emulator import (
    KubeEmulator,
    app_status,
    merge_patch,
    refreshed,
    sync_steps,
)

G, V, P = "argoproj.io", "v1alpha1", "applications"


@pytest.fixture
def api(kube_emulator: KubeEmulator) -> Iterator[Any]:
    configuration = client.Configuration()
    configuration.host = kube_emulator.url
    with client.ApiClient(configuration) as api_client:
        yield client.CustomObjectsApi(api_client)


def get(api: Any, name: str = "api", namespace: str = "argocd") -> dict[str, Any]:
    result: dict[str, Any] = api.get_namespaced_custom_object(G, V, namespace, P, name)
    return result


def patch(api: Any, body: Any, name: str = "api", content_type: str | None = None) -> dict[str, Any]:
    kwargs = {"_content_type": content_type} if content_type else {}
    result: dict[str, Any] = api.patch_namespaced_custom_object(G, V, "argocd", P, name, body, **kwargs)
    return result


def status_of(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body)
    return body


def test_get_returns_the_stored_application(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    app = get(api)
    assert app["apiVersion"] == "argoproj.io/v1alpha1"
    assert app["kind"] == "Application"
    assert app["metadata"]["name"] == "api"
    assert app["metadata"]["resourceVersion"].isdigit()
    assert app["status"]["sync"] == {"status": "Synced", "revision": OLD}


def test_unknown_application_is_a_not_found_status(api: Any) -> None:
    with pytest.raises(ApiException) as info:
        get(api, "nope")
    assert info.value.status == 404
    body = status_of(info.value)
    assert body["kind"] == "Status"
    assert body["reason"] == "NotFound"
    assert body["message"] == 'applications.argoproj.io "nope" not found'
    assert body["details"] == {"name": "nope", "group": "argoproj.io", "kind": "applications"}


def test_list_applications(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("a", status=app_status(OLD))
    kube_emulator.add_application("b", status=app_status(OLD))
    kube_emulator.add_application("c", "elsewhere", status=app_status(OLD))
    listed = api.list_namespaced_custom_object(G, V, "argocd", P)
    assert listed["kind"] == "ApplicationList"
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a", "b"]


def test_merge_patch_sets_and_removes_keys_and_bumps_resource_version(
    kube_emulator: KubeEmulator, api: Any
) -> None:
    kube_emulator.add_application("api", annotations={"keep": "1", "drop": "2"})
    before = get(api)["metadata"]["resourceVersion"]
    after = patch(api, {"metadata": {"annotations": {"drop": None, "argocd.argoproj.io/refresh": "normal"}}})
    assert after["metadata"]["annotations"] == {"keep": "1", "argocd.argoproj.io/refresh": "normal"}
    assert int(after["metadata"]["resourceVersion"]) > int(before)
    assert kube_emulator.patches("api")[0].content_type.startswith("application/merge-patch+json")


def test_json_patch_is_applied(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api", annotations={"a": "1"})
    ops = [
        {"op": "add", "path": "/metadata/annotations/b", "value": "2"},
        {"op": "remove", "path": "/metadata/annotations/a"},
    ]
    after = patch(api, ops, content_type="application/json-patch+json")
    assert after["metadata"]["annotations"] == {"b": "2"}


def test_json_patch_test_op_failure_is_rejected(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api", annotations={"a": "1"})
    ops = [{"op": "test", "path": "/metadata/annotations/a", "value": "other"}]
    with pytest.raises(ApiException) as info:
        patch(api, ops, content_type="application/json-patch+json")
    assert info.value.status == 422
    assert kube_emulator.get("api")["metadata"]["annotations"] == {"a": "1"}


def test_stale_resource_version_conflicts(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api")
    rv = get(api)["metadata"]["resourceVersion"]
    patch(api, {"metadata": {"resourceVersion": rv, "annotations": {"first": "yes"}}})
    with pytest.raises(ApiException) as info:
        patch(api, {"metadata": {"resourceVersion": rv, "annotations": {"second": "yes"}}})
    assert info.value.status == 409
    body = status_of(info.value)
    assert body["reason"] == "Conflict"
    assert "the object has been modified" in body["message"]
    assert "second" not in kube_emulator.get("api")["metadata"]["annotations"]


def test_strategic_merge_patch_is_unsupported_for_custom_resources(
    kube_emulator: KubeEmulator, api: Any
) -> None:
    kube_emulator.add_application("api")
    with pytest.raises(ApiException) as info:
        patch(
            api, {"metadata": {"labels": {"a": "b"}}}, content_type="application/strategic-merge-patch+json"
        )
    assert info.value.status == 415
    assert status_of(info.value)["reason"] == "UnsupportedMediaType"


def test_immutable_identity_survives_a_patch(kube_emulator: KubeEmulator, api: Any) -> None:
    created = kube_emulator.add_application("api")
    after = patch(api, {"metadata": {"name": "other", "uid": "x"}})
    assert after["metadata"]["name"] == "api"
    assert after["metadata"]["uid"] == created["metadata"]["uid"]


def test_spec_change_bumps_generation(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api")
    after = patch(api, {"spec": {"source": {"targetRevision": "release"}}})
    assert after["metadata"]["generation"] == 2
    assert patch(api, {"metadata": {"labels": {"x": "y"}}})["metadata"]["generation"] == 2


def test_invalid_object_is_refused_against_the_crd(
    kube_emulator: KubeEmulator, api: Any, shared_dir: Any
) -> None:
    kube_emulator.add_application("api")
    with pytest.raises(ApiException) as info:
        patch(api, {"operation": {"sync": {"revision": 42}}})
    assert info.value.status == 422
    body = status_of(info.value)
    assert body["reason"] == "Invalid"
    assert "operation.sync.revision" in body["message"]
    with pytest.raises(ValueError, match="spec"):
        kube_emulator.add_application("bad", spec={"project": "default"})


def test_every_helper_builds_objects_valid_against_the_crd(
    kube_emulator: KubeEmulator, shared_dir: Any
) -> None:
    app = kube_emulator.add_application(
        "api",
        status=app_status(
            NEW,
            operation_phase="Failed",
            conditions=[
                {"type": "SyncError", "message": "boom", "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ],
            resources=[
                {"kind": "Deployment", "name": "web", "health": {"status": "Degraded", "message": "x"}}
            ],
        ),
        automated=True,
    )
    multi = kube_emulator.add_application(
        "multi",
        sources=[
            {"repoURL": "https://github.com/acme/a.git", "targetRevision": "main", "path": "k8s"},
            {"repoURL": "https://charts.example.com", "chart": "x", "targetRevision": "1.2.3"},
        ],
        status=app_status([NEW, "1.2.3"], operation_phase="Running"),
    )
    for step in [*sync_steps(NEW), refreshed(NEW)]:
        kube_emulator.update("api", step)  # type: ignore[arg-type]
    for obj in (app, multi, kube_emulator.get("api")):
        assert kube_emulator.validate(obj) == []


def test_script_advances_one_step_per_get(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    kube_emulator.script("api", [app_status(OLD, health="Progressing"), app_status(NEW)])
    assert get(api)["status"]["health"]["status"] == "Progressing"
    assert get(api)["status"]["sync"]["revision"] == NEW
    assert get(api)["status"]["sync"]["revision"] == NEW  # the last step stays


def test_script_advances_by_time(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    kube_emulator.script("api", [app_status(OLD, health="Progressing"), app_status(NEW)], every=0.3)
    assert get(api)["status"]["health"]["status"] == "Progressing"
    assert get(api)["status"]["health"]["status"] == "Progressing"
    time.sleep(0.35)
    assert get(api)["status"]["sync"]["revision"] == NEW


def test_on_sync_plays_the_controller(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, sync="OutOfSync", health="Missing"))
    seen: list[dict[str, Any]] = []

    def hook(app: dict[str, Any]) -> Any:
        seen.append(app)
        return sync_steps(app["operation"]["sync"]["revision"])

    kube_emulator.on_sync(hook)
    patch(api, {"operation": {"initiatedBy": {"username": "me"}, "sync": {"revision": NEW}}})
    assert seen and seen[0]["operation"]["sync"]["revision"] == NEW
    running = get(api)
    assert running["operation"]["sync"]["revision"] == NEW
    assert running["status"]["operationState"]["phase"] == "Running"
    finished = get(api)
    assert "operation" not in finished
    state = finished["status"]["operationState"]
    assert state["phase"] == "Succeeded"
    assert state["syncResult"]["revision"] == NEW
    assert finished["status"]["sync"] == {"status": "Synced", "revision": NEW}
    assert finished["status"]["reconciledAt"] < state["finishedAt"]  # not yet re-compared
    healthy = get(api)
    assert healthy["status"]["reconciledAt"] >= state["finishedAt"]
    assert healthy["status"]["health"]["status"] == "Healthy"
    assert healthy["status"]["history"][-1]["revision"] == NEW


def test_on_refresh_hook(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    kube_emulator.on_refresh(lambda app: [refreshed(NEW)])
    patch(api, {"metadata": {"annotations": {"argocd.argoproj.io/refresh": "normal"}}})
    app = get(api)
    assert "argocd.argoproj.io/refresh" not in app["metadata"]["annotations"]
    assert app["status"]["sync"] == {"status": "OutOfSync", "revision": NEW}


def test_deny_answers_forbidden_like_rbac(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api")
    kube_emulator.deny("patch")
    assert get(api)["metadata"]["name"] == "api"
    with pytest.raises(ApiException) as info:
        patch(api, {"metadata": {"labels": {"a": "b"}}})
    assert info.value.status == 403
    body = status_of(info.value)
    assert body["reason"] == "Forbidden"
    assert (
        'cannot patch resource "applications" in API group "argoproj.io" in the namespace "argocd"'
        in body["message"]
    )


def test_injected_faults(kube_emulator: KubeEmulator, api: Any) -> None:
    kube_emulator.add_application("api")
    kube_emulator.fail_next(500, count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as info:
            get(api)
        assert info.value.status == 500
        assert status_of(info.value)["reason"] == "InternalError"
    assert get(api)["metadata"]["name"] == "api"


def test_unknown_paths_are_not_found(kube_emulator: KubeEmulator) -> None:
    code, body, _ = kube_emulator.handle("GET", "/apis/apps/v1/namespaces/x/deployments/y", "", b"")
    assert code == 404
    assert body["message"] == "the server could not find the requested resource"


def test_merge_patch_is_rfc7386() -> None:
    # Examples from RFC 7386 appendix A.
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch({}, {"a": {"bb": {"ccc": None}}}) == {"a": {"bb": {}}}


def test_scripted_objects_are_checked_against_the_crd(
    kube_emulator: KubeEmulator, api: Any, shared_dir: Any
) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    kube_emulator.script("api", [{"sync": {"revision": NEW}}])  # no sync.status: required by the CRD
    get(api)
    assert len(kube_emulator.schema_errors) == 1
    assert (
        "argocd/api after script step 1: status.sync: 'status' is a required property"
        in kube_emulator.schema_errors[0]
    )
    kube_emulator.schema_errors.clear()  # the fixture fails the test on errors left here
