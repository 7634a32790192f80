"""The ``argocd`` step called directly (a controllable clock), against the Kubernetes emulator."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import pytest
from tests.steps.argocd.conftest import NEW, NEWER, OLD, START, DirectRunner

from pressplay.kube import KubeClients
from pressplay.steps.base import Failed, Running, Succeeded
from pressplay.testing.kube_emulator import KubeEmulator, app_status, refreshed, sync_steps

REFRESH = "argocd.argoproj.io/refresh"


def anchors(emulator: KubeEmulator, name: str = "api") -> dict[str, str]:
    annotations = emulator.get(name)["metadata"].get("annotations", {})
    return {k: v for k, v in annotations.items() if k.startswith("pressplay.dev/wait-")}


def operation_patches(emulator: KubeEmulator) -> list[Any]:
    return [r for r in emulator.patches() if isinstance(r.body, dict) and "operation" in r.body]


def ago(seconds: float) -> Any:
    return START - timedelta(seconds=seconds)


# --- success ------------------------------------------------------------------------------------------


def test_already_synced_and_healthy_succeeds_at_once_without_writing(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    status = app_status(NEW, now=START, operation_phase="Succeeded", reconciled_at=START)
    status["history"] = [{"id": 4, "revision": NEW, "deployedAt": "2026-11-25T09:59:00Z"}]
    kube_emulator.add_application("api", status=status)
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Succeeded), outcome
    out = outcome.encoded_outputs()
    assert out["revision"] == NEW
    assert out["syncStatus"] == "Synced"
    assert out["health"] == "Healthy"
    assert out["operationPhase"] == "Succeeded"
    assert out["url"] == "https://cd.example.com/applications/argocd/api"
    assert out["historyId"] == "4"
    assert out["reconciledAt"] == "2026-11-25T10:00:00Z"
    assert out["summary"].startswith("Application argocd/api Synced and Healthy at 2222222")
    assert kube_emulator.patches() == []


def test_url_is_empty_without_an_argocd_url(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, now=START))
    run_direct.settings_overrides = {"argocd_url": None}
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Succeeded)
    assert outcome.encoded_outputs()["url"] == ""


def test_stale_revision_requests_one_refresh_then_follows_auto_sync(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    clock = run_direct.clock
    kube_emulator.add_application("api", status=app_status(OLD, reconciled_at=ago(90)), automated=True)
    first = run_direct(app="api", revision=NEW)
    assert isinstance(first, Running)
    assert "compares main at 1111111, expected 2222222; refresh requested" in first.message
    app = kube_emulator.get("api")
    assert app["metadata"]["annotations"][REFRESH] == "normal"
    [value] = anchors(kube_emulator).values()
    assert json.loads(value) == {"since": "2026-11-25T10:00:00Z", "workflow": "argo/wf-1", "revision": NEW}

    clock.tick(15)  # the annotation is still there: no second refresh, no second anchor
    again = run_direct(app="api", revision=NEW)
    assert isinstance(again, Running)
    assert "refresh requested" not in again.message
    assert len(kube_emulator.patches()) == 1

    # Argo CD refreshes, sees NEW on main, auto-sync applies it.
    kube_emulator.script("api", [refreshed(NEW, clock=clock), *sync_steps(NEW, clock=clock)])
    phases = []
    for _ in range(6):
        clock.tick(10)
        outcome = run_direct(app="api", revision=NEW)
        phases.append(type(outcome).__name__)
        if not isinstance(outcome, Running):
            break
    assert isinstance(outcome, Succeeded), phases
    assert phases == ["Running", "Running", "Running", "Succeeded"]
    assert not operation_patches(kube_emulator)  # auto-sync did it
    assert anchors(kube_emulator) == {}  # the finished wait removes its anchor


def test_progressing_then_healthy(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, now=START, health="Progressing"))
    kube_emulator.script(
        "api",
        [app_status(NEW, now=START, health="Progressing"), app_status(NEW, now=START, health="Healthy")],
    )
    first = run_direct(app="api", revision=NEW)
    assert isinstance(first, Running)
    assert "health Progressing" in first.message
    assert isinstance(run_direct(app="api", revision=NEW), Succeeded)


def test_synced_but_not_yet_recompared_after_the_operation_waits(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    status = app_status(NEW, operation_phase="Succeeded", finished_at=ago(5), reconciled_at=ago(20))
    kube_emulator.add_application("api", status=status)
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Running)
    assert "re-compare the app after the sync" in outcome.message


# --- sync ---------------------------------------------------------------------------------------------


def test_sync_true_starts_exactly_one_guarded_operation(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    clock = run_direct.clock
    kube_emulator.add_application(
        "api", status=app_status(NEW, sync="OutOfSync", health="Missing", now=START)
    )
    kube_emulator.on_sync(lambda app: sync_steps(app["operation"]["sync"]["revision"], clock=clock))
    rv = kube_emulator.get("api")["metadata"]["resourceVersion"]
    first = run_direct(app="api", revision=NEW, sync=True, prune=True)
    assert isinstance(first, Running)
    assert "sync started" in first.message
    [request] = operation_patches(kube_emulator)
    assert request.status == 200
    assert request.body["metadata"]["resourceVersion"] == rv
    operation = request.body["operation"]
    assert operation["sync"] == {"revision": NEW, "prune": True, "syncStrategy": {"hook": {}}}
    assert operation["initiatedBy"] == {"username": "pressplay"}
    assert {"name": "expected-revision", "value": NEW} in operation["info"]
    outcomes = []
    for _ in range(6):
        clock.tick(10)
        outcome = run_direct(app="api", revision=NEW, sync=True, prune=True)
        outcomes.append(outcome)
        if not isinstance(outcome, Running):
            break
    assert isinstance(outcomes[-1], Succeeded), outcomes
    assert len(operation_patches(kube_emulator)) == 1


def test_sync_is_never_started_while_an_operation_runs(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    status = app_status(OLD, sync="OutOfSync", operation_phase="Running", operation_revision=OLD, now=START)
    kube_emulator.add_application("api", status=status, operation={"sync": {"revision": OLD}})
    outcome = run_direct(app="api", revision=NEW, sync=True)
    assert isinstance(outcome, Running)
    assert "sync operation Running" in outcome.message
    assert operation_patches(kube_emulator) == []
    # Still running, now Argo CD compares against NEW: still no second operation.
    kube_emulator.update("api", lambda app: app["status"]["sync"].update(revision=NEW))
    assert isinstance(run_direct(app="api", revision=NEW, sync=True), Running)
    assert operation_patches(kube_emulator) == []


def test_two_concurrent_calls_start_one_operation(
    kube_emulator: KubeEmulator, run_direct: DirectRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, sync="OutOfSync", now=START))
    barrier = threading.Barrier(2, timeout=10)
    original = KubeClients.get_application

    def get_then_wait(self: KubeClients, namespace: str, name: str) -> dict[str, Any]:
        app = original(self, namespace, name)
        barrier.wait()  # both calls have read the same resourceVersion before either patches
        return app

    monkeypatch.setattr(KubeClients, "get_application", get_then_wait)
    results: list[Any] = []

    def call() -> None:
        results.append(run_direct(app="api", revision=NEW, sync=True, since="2026-11-25T09:59:00Z"))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(r.status for r in operation_patches(kube_emulator)) == [200, 409]
    messages = sorted(r.message for r in results)
    assert all(isinstance(r, Running) for r in results)
    assert any("changed while patching" in m for m in messages)
    assert any("sync started" in m for m in messages)


def test_sync_is_left_to_automated_sync(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, sync="OutOfSync", now=START), automated=True)
    outcome = run_direct(app="api", revision=NEW, sync=True)
    assert isinstance(outcome, Running)
    assert "automated sync will apply it" in outcome.message
    assert operation_patches(kube_emulator) == []


def test_sync_never_rolls_back_a_branch_that_moved_on(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", status=app_status(NEWER, sync="OutOfSync", now=START))
    outcome = run_direct(app="api", revision=NEW, sync=True)
    assert isinstance(outcome, Running)
    assert "compares main at 3333333, expected 2222222" in outcome.message
    assert operation_patches(kube_emulator) == []


def test_no_second_sync_after_one_ran_for_this_revision(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    status = app_status(
        NEW,
        sync="OutOfSync",
        operation_phase="Succeeded",
        started_at=START + timedelta(seconds=5),
        now=START + timedelta(seconds=20),
    )
    kube_emulator.add_application("api", status=status)
    run_direct.clock.tick(30)
    outcome = run_direct(app="api", revision=NEW, sync=True, since="2026-11-25T10:00:00Z")
    assert isinstance(outcome, Running)
    assert "a sync for this revision already ran" in outcome.message
    assert operation_patches(kube_emulator) == []


def test_out_of_sync_without_sync_says_how_to_fix(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, sync="OutOfSync", now=START))
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Running)
    assert "automated sync is off: pass `sync: true`" in outcome.message


# --- failures -----------------------------------------------------------------------------------------


def failed_sync_to_new(started_at: Any) -> dict[str, Any]:
    return app_status(
        NEW,
        sync="OutOfSync",
        operation_phase="Failed",
        operation_message='one or more objects failed to apply: Deployment.apps "web" is invalid',
        started_at=started_at,
        finished_at=started_at + timedelta(seconds=20),
        reconciled_at=started_at + timedelta(seconds=30),
    )


@pytest.mark.parametrize("sync", [False, True])
def test_failed_operation_during_the_wait_fails(
    kube_emulator: KubeEmulator, run_direct: DirectRunner, sync: bool
) -> None:
    kube_emulator.add_application("api", status=failed_sync_to_new(START + timedelta(seconds=5)))
    run_direct.clock.tick(60)
    outcome = run_direct(app="api", revision=NEW, sync=sync, since="2026-11-25T10:00:00Z")
    assert isinstance(outcome, Failed)
    assert "the sync to 2222222 ended Failed" in outcome.message
    assert 'Deployment.apps "web" is invalid' in outcome.message
    assert outcome.encoded_outputs()["operationPhase"] == "Failed"
    assert operation_patches(kube_emulator) == []


def test_failed_operation_from_before_the_wait_fails_without_sync(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", status=failed_sync_to_new(ago(600)))
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Failed)
    assert "ended Failed" in outcome.message


def test_failed_operation_from_before_the_wait_is_retried_with_sync(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", status=failed_sync_to_new(ago(600)))
    outcome = run_direct(app="api", revision=NEW, sync=True)
    assert isinstance(outcome, Running)
    assert "sync started" in outcome.message
    [request] = operation_patches(kube_emulator)
    assert request.body["operation"]["sync"]["revision"] == NEW


def test_failed_operation_for_an_older_revision_does_not_fail_the_wait(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    status = app_status(OLD, sync="OutOfSync", operation_phase="Error", operation_revision=OLD, now=START)
    kube_emulator.add_application("api", status=status)
    assert isinstance(run_direct(app="api", revision=NEW), Running)


def test_degraded_gets_a_grace_period_then_fails(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    resources = [
        {
            "kind": "Deployment",
            "namespace": "api",
            "name": "web",
            "health": {"status": "Degraded", "message": 'Deployment "web" exceeded its progress deadline'},
        },
        {"kind": "Service", "namespace": "api", "name": "web", "health": {"status": "Healthy"}},
    ]
    status = app_status(NEW, health="Degraded", health_since=ago(60), resources=resources, now=START)
    kube_emulator.add_application("api", status=status)
    waiting = run_direct(app="api", revision=NEW, degradedGrace="3m")
    assert isinstance(waiting, Running)
    assert "Degraded at 2222222, 2m of grace left" in waiting.message
    assert waiting.requeue <= timedelta(seconds=121)
    run_direct.clock.tick(130)
    failed = run_direct(app="api", revision=NEW, degradedGrace="3m")
    assert isinstance(failed, Failed)
    assert "is Degraded at 2222222 for 3m10s" in failed.message
    assert 'Deployment api/web: Deployment "web" exceeded its progress deadline' in failed.message
    assert "Service" not in failed.message
    assert anchors(kube_emulator) == {}


def test_degraded_right_after_a_sync_counts_from_the_sync(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    status = app_status(
        NEW,
        health="Degraded",
        health_since=ago(3600),
        operation_phase="Succeeded",
        finished_at=ago(10),
        now=START,
    )
    kube_emulator.add_application("api", status=status)
    assert isinstance(run_direct(app="api", revision=NEW), Running)


def test_missing_too_long_fails(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application(
        "api", status=app_status(NEW, health="Missing", health_since=ago(600), now=START)
    )
    outcome = run_direct(app="api", revision=NEW, missingGrace="5m")
    assert isinstance(outcome, Failed)
    assert "Missing" in outcome.message


def test_missing_and_out_of_sync_without_anyone_syncing_fails_with_the_fix(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    status = app_status(NEW, sync="OutOfSync", health="Missing", health_since=ago(900), now=START)
    kube_emulator.add_application("api", status=status)
    outcome = run_direct(app="api", revision=NEW, since="2026-11-25T09:50:00Z", missingGrace="5m")
    assert isinstance(outcome, Failed)
    assert "resources Missing for 10m" in outcome.message
    assert "pass `sync: true`" in outcome.message


@pytest.mark.parametrize("kind", ["ComparisonError", "SyncError", "InvalidSpecError"])
def test_current_error_conditions_fail(
    kube_emulator: KubeEmulator, run_direct: DirectRunner, kind: str
) -> None:
    condition = {
        "type": kind,
        "message": "rpc error: repository not accessible",
        "lastTransitionTime": "2026-11-25T10:00:05Z",
    }
    kube_emulator.add_application(
        "api", status=app_status(OLD, conditions=[condition], reconciled_at=ago(300))
    )
    run_direct.clock.tick(10)
    outcome = run_direct(app="api", revision=NEW, since="2026-11-25T10:00:00Z")
    assert isinstance(outcome, Failed)
    assert f"{kind}: rpc error: repository not accessible" in outcome.message


def test_sync_error_while_the_operation_retries_keeps_waiting(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    condition = {
        "type": "SyncError",
        "message": f"Failed sync attempt to {NEW}: retrying",
        "lastTransitionTime": "2026-11-25T10:00:05Z",
    }
    status = app_status(NEW, sync="OutOfSync", operation_phase="Running", conditions=[condition], now=START)
    kube_emulator.add_application("api", status=status)
    run_direct.clock.tick(10)
    outcome = run_direct(app="api", revision=NEW, since="2026-11-25T10:00:00Z")
    assert isinstance(outcome, Running)
    assert "sync operation Running" in outcome.message


def test_stale_sync_error_of_an_older_revision_does_not_fail(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    condition = {
        "type": "SyncError",
        "message": f"Failed sync attempt to {OLD}: boom",
        "lastTransitionTime": "2026-11-24T10:00:00Z",
    }
    kube_emulator.add_application("api", status=app_status(OLD, conditions=[condition], now=START))
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Running)


def test_warning_conditions_are_ignored(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    condition = {
        "type": "OrphanedResourceWarning",
        "message": "x",
        "lastTransitionTime": "2026-11-25T10:00:00Z",
    }
    kube_emulator.add_application("api", status=app_status(NEW, conditions=[condition], now=START))
    assert isinstance(run_direct(app="api", revision=NEW), Succeeded)


def test_suspended_only_when_allowed(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, health="Suspended", now=START))
    waiting = run_direct(app="api", revision=NEW)
    assert isinstance(waiting, Running)
    assert "pass `allowSuspended: true`" in waiting.message
    done = run_direct(app="api", revision=NEW, allowSuspended=True)
    assert isinstance(done, Succeeded)
    assert done.encoded_outputs()["health"] == "Suspended"


# --- the deadline -------------------------------------------------------------------------------------


def test_deadline_from_since(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application("api", status=app_status(OLD, now=START))
    outcome = run_direct(app="api", revision=NEW, since="2026-11-25T08:00:00Z", timeout="1h")
    assert isinstance(outcome, Failed)
    assert outcome.message.startswith(
        "timed out after 1h0m0s waiting for argocd/api to be Synced and Healthy at 2222222 "
        "(started 2026-11-25T08:00:00Z); last state: sync Synced at 1111111, health Healthy"
    )
    assert "last state: sync Synced at 1111111, health Healthy" in outcome.message
    assert "raise `timeout`" in outcome.message
    assert outcome.encoded_outputs()["revision"] == OLD


def test_deadline_is_anchored_on_the_application_and_survives_a_restart(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", status=app_status(OLD, reconciled_at=START, now=START))
    assert isinstance(run_direct(app="api", revision=NEW, timeout="10m"), Running)
    recorded = anchors(kube_emulator)
    assert len(recorded) == 1

    # A "restarted sidecar": fresh clients, no memory of the first call; only the clock moved on.
    from pressplay.kube import reset_clients

    reset_clients()
    restarted = DirectRunner(kube_emulator)
    restarted.clock.tick(300)
    assert isinstance(restarted(app="api", revision=NEW, timeout="10m"), Running)
    assert anchors(kube_emulator) == recorded  # the same anchor, not a new one
    restarted.clock.tick(301)
    outcome = restarted(app="api", revision=NEW, timeout="10m")
    assert isinstance(outcome, Failed)
    assert outcome.message.startswith("timed out after 10m waiting for argocd/api")
    assert "(started 2026-11-25T10:00:00Z)" in outcome.message
    assert anchors(kube_emulator) == {}  # the wait is over; a retry starts a new one


def test_each_workflow_has_its_own_anchor_and_stale_ones_are_dropped(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    stale = json.dumps({"since": "2026-11-01T00:00:00Z", "workflow": "argo/old", "revision": OLD})
    kube_emulator.add_application(
        "api",
        status=app_status(OLD, reconciled_at=START, now=START),
        annotations={"pressplay.dev/wait-0123456789abcdef": stale},
    )
    run_direct(app="api", revision=NEW)
    other = DirectRunner(kube_emulator)
    other.workflow = type(run_direct.workflow)("wf-2", "argo", "uid-2")
    other(app="api", revision=NEW)
    found = anchors(kube_emulator)
    assert "pressplay.dev/wait-0123456789abcdef" not in found
    assert sorted(json.loads(v)["workflow"] for v in found.values()) == ["argo/wf-1", "argo/wf-2"]


# --- multi-source -------------------------------------------------------------------------------------

SOURCES = [
    {"repoURL": "https://github.com/acme/app.git", "path": "k8s", "targetRevision": "main"},
    {"repoURL": "https://github.com/acme/values.git", "targetRevision": "main", "ref": "values"},
]


def test_multi_source_matches_one_revision_per_source(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", sources=SOURCES, status=app_status([NEW, OLD], now=START))
    outcome = run_direct(app="api", revision=[NEW, OLD])
    assert isinstance(outcome, Succeeded)
    assert json.loads(outcome.encoded_outputs()["revision"]) == [NEW, OLD]
    assert isinstance(run_direct(app="api", revision=[NEW, "*"]), Succeeded)
    waiting = run_direct(app="api", revision=[NEW, NEWER])
    assert isinstance(waiting, Running)
    assert "expected 2222222, 3333333" in waiting.message


def test_multi_source_sync_sets_revisions(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application(
        "api", sources=SOURCES, status=app_status([NEW, OLD], sync="OutOfSync", now=START)
    )
    assert isinstance(run_direct(app="api", revision=[NEW, "*"], sync=True), Running)
    [request] = operation_patches(kube_emulator)
    assert request.status == 200
    assert request.body["operation"]["sync"]["revisions"] == [NEW, OLD]


def test_multi_source_needs_one_revision_per_source(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", sources=SOURCES, status=app_status([NEW, OLD], now=START))
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Failed)
    assert (
        "has 2 sources (https://github.com/acme/app.git, https://github.com/acme/values.git)"
        in outcome.message
    )
    assert "pass `revision` as a list of 2 revisions" in outcome.message


def test_single_source_rejects_several_revisions(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, now=START))
    outcome = run_direct(app="api", revision=[NEW, OLD])
    assert isinstance(outcome, Failed)
    assert "has a single source" in outcome.message


# --- bad input and Kubernetes trouble ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            {"app": "api", "revision": "2222222"},
            "looks like an abbreviated commit SHA: pass the full 40-character SHA",
        ),
        ({"app": "api", "revision": " "}, "revision is empty"),
        ({"app": "My App", "revision": NEW}, "is not an Application name"),
        ({"app": "api", "revision": NEW, "namespace": "Argo_CD"}, "is not a namespace name"),
        ({"app": "api", "revision": NEW, "prune": True}, "`prune` only applies with `sync: true`"),
        ({"app": "api", "revision": NEW, "revisionMatch": "newer"}, "revisionMatch"),
        ({"app": "api", "revision": NEW, "timeout": "soon"}, "is not a duration"),
        ({"app": "api", "revision": NEW, "waitFor": "healthy"}, "waitFor"),
        ({"revision": NEW}, "app"),
    ],
)
def test_bad_arguments_are_rejected(args: dict[str, Any], expected: str) -> None:
    from pydantic import ValidationError

    from pressplay.steps.argocd import ArgoCDArgs

    with pytest.raises(ValidationError) as info:
        ArgoCDArgs.model_validate(args)
    assert expected in str(info.value)


def test_unknown_application_fails_with_the_fix(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    outcome = run_direct(app="nope", revision=NEW, namespace="apps")
    assert isinstance(outcome, Failed)
    assert outcome.message.startswith("Application nope not found in namespace apps: check `app`/`namespace`")


def test_default_namespace_comes_from_settings(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application("api", "gitops", status=app_status(NEW, now=START))
    run_direct.settings_overrides = {"argocd_namespace": "gitops"}
    assert isinstance(run_direct(app="api", revision=NEW), Succeeded)


def test_anchor_write_forbidden_names_the_rbac_and_since(
    kube_emulator: KubeEmulator, run_direct: DirectRunner
) -> None:
    kube_emulator.add_application("api", status=app_status(OLD, now=START))
    kube_emulator.deny("patch")
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Failed)
    assert "may not patch applications.argoproj.io in namespace argocd" in outcome.message
    assert (
        "; the step patches the Application to record when the wait started (or pass `since`)"
        in outcome.message
    )


def test_kubernetes_outage_is_a_requeue(kube_emulator: KubeEmulator, run_direct: DirectRunner) -> None:
    kube_emulator.add_application("api", status=app_status(NEW, now=START))
    kube_emulator.fail_next(503, retry_after=5)
    outcome = run_direct(app="api", revision=NEW)
    assert isinstance(outcome, Running)
    assert outcome.requeue == timedelta(seconds=5)
    assert isinstance(run_direct(app="api", revision=NEW), Succeeded)
