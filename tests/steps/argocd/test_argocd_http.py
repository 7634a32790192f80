"""The ``argocd`` step through the real HTTP sidecar, driven by the agent emulator, against the
Kubernetes emulator (real ``kubernetes`` client in between)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.steps.argocd.conftest import NEW, OLD

from pressplay.testing.kube_emulator import KubeEmulator, app_status, refreshed, rfc3339, sync_steps
from pressplay.testing.sidecar import Sidecar

OUTPUTS = ["revision", "syncStatus", "health", "operationPhase", "url", "summary"]
ARGOCD_URL = "https://cd.example.com"


@pytest.fixture
def sidecar(sidecar_factory: Callable[..., Sidecar], kube_emulator: KubeEmulator) -> Sidecar:
    return sidecar_factory(kube_api_url=kube_emulator.url, argocd_url=ARGOCD_URL)


def operation_patches(emulator: KubeEmulator) -> list[Any]:
    return [r for r in emulator.patches() if isinstance(r.body, dict) and "operation" in r.body]


def minutes_ago(minutes: float) -> datetime:
    return datetime.now(UTC) - timedelta(minutes=minutes)


def test_push_refresh_sync_progressing_healthy(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    kube_emulator.add_application("api", status=app_status(OLD, reconciled_at=minutes_ago(3)))
    kube_emulator.on_refresh(lambda app: [refreshed(NEW)])
    kube_emulator.on_sync(
        lambda app: sync_steps(
            app["operation"]["sync"]["revision"], health=("Progressing", "Progressing", "Healthy")
        )
    )
    result = sidecar.run_step(
        "argocd", {"app": "api", "revision": NEW, "sync": True, "timeout": "10m"}, outputs=OUTPUTS
    )
    assert result.phase == "Succeeded", result.message
    assert result.outputs == {
        "revision": NEW,
        "syncStatus": "Synced",
        "health": "Healthy",
        "operationPhase": "Succeeded",
        "url": f"{ARGOCD_URL}/applications/argocd/api",
        "summary": f"Application argocd/api Synced and Healthy at 2222222 ({ARGOCD_URL}/applications/argocd/api)",
    } | {k: result.outputs[k] for k in ("reconciledAt", "historyId") if k in result.outputs}
    assert all(r.phase == "Running" and r.requeue for r in result.replies[:-1])
    messages = [r.message for r in result.replies]
    assert any("refresh requested" in m for m in messages)
    assert any("sync started" in m for m in messages)
    assert any("health Progressing" in m for m in messages)
    [sync] = operation_patches(kube_emulator)
    assert sync.status == 200
    assert sync.body["operation"]["sync"]["revision"] == NEW
    refreshes = [r for r in kube_emulator.patches() if "argocd.argoproj.io/refresh" in json.dumps(r.body)]
    assert len(refreshes) == 1
    annotations = kube_emulator.get("api")["metadata"]["annotations"]
    assert not any(k.startswith("pressplay.dev/") for k in annotations)


def test_degraded_fails_through_http(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    resources = [
        {
            "kind": "Deployment",
            "namespace": "api",
            "name": "web",
            "health": {"status": "Degraded", "message": "CrashLoopBackOff"},
        }
    ]
    kube_emulator.add_application(
        "api", status=app_status(NEW, health="Degraded", health_since=minutes_ago(10), resources=resources)
    )
    result = sidecar.run_step("argocd", {"app": "api", "revision": NEW}, outputs=OUTPUTS)
    assert result.phase == "Failed"
    assert "Application argocd/api is Degraded at 2222222" in result.message
    assert "Deployment api/web: CrashLoopBackOff" in result.message
    assert result.outputs["health"] == "Degraded"


def test_failed_operation_fails_through_http(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    kube_emulator.add_application("api", status=app_status(OLD, sync="OutOfSync"))
    kube_emulator.script(
        "api",
        [
            app_status(NEW, sync="OutOfSync", operation_phase="Running"),
            app_status(
                NEW, sync="OutOfSync", operation_phase="Failed", operation_message="hook PreSync failed"
            ),
        ],
    )
    result = sidecar.run_step("argocd", {"app": "api", "revision": NEW}, outputs=OUTPUTS)
    assert result.phase == "Failed"
    assert "the sync to 2222222 ended Failed: hook PreSync failed" in result.message
    assert result.calls == 2


def test_operation_already_running_when_sync_is_asked(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    kube_emulator.add_application(
        "api",
        status=app_status(NEW, sync="OutOfSync", operation_phase="Running"),
        operation={"initiatedBy": {"username": "alice"}, "sync": {"revision": NEW}},
    )
    kube_emulator.script("api", sync_steps(NEW))  # still running, then finishes, then reconciles
    result = sidecar.run_step("argocd", {"app": "api", "revision": NEW, "sync": True}, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert "sync operation Running" in result.replies[0].message
    assert operation_patches(kube_emulator) == []


def test_stale_revision_keeps_waiting_until_the_deadline(
    kube_emulator: KubeEmulator, sidecar: Sidecar
) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    since = rfc3339(minutes_ago(59.99))
    result = sidecar.run_step(
        "argocd", {"app": "api", "revision": NEW, "since": since, "timeout": "1h"}, outputs=OUTPUTS
    )
    assert result.phase == "Failed"
    assert result.message.startswith(
        f"timed out after 1h0m0s waiting for argocd/api to be Synced and Healthy at 2222222 (started {since})"
    )
    assert "Argo CD compares main at 1111111, expected 2222222" in result.message
    assert result.outputs["revision"] == OLD


def test_deadline_survives_a_sidecar_restart(
    kube_emulator: KubeEmulator, sidecar_factory: Callable[..., Sidecar]
) -> None:
    kube_emulator.add_application("api", status=app_status(OLD))
    first = sidecar_factory(kube_api_url=kube_emulator.url)
    reply = first.call_step("argocd", {"app": "api", "revision": NEW, "timeout": "30m"})
    assert reply.phase == "Running"
    first.stop()
    [(key, value)] = [
        (k, v)
        for k, v in kube_emulator.get("api")["metadata"]["annotations"].items()
        if k.startswith("pressplay.dev/wait-")
    ]
    # Time passes while no sidecar runs: the wait started 31 minutes ago, as recorded on the Application.
    started = rfc3339(minutes_ago(31))
    kube_emulator.update(
        "api",
        lambda app: app["metadata"]["annotations"].__setitem__(
            key, json.dumps({**json.loads(value), "since": started})
        ),
    )
    second = sidecar_factory(kube_api_url=kube_emulator.url)
    reply = second.call_step("argocd", {"app": "api", "revision": NEW, "timeout": "30m"})
    assert reply.phase == "Failed"
    assert reply.message.startswith(
        f"timed out after 30m waiting for argocd/api to be Synced and Healthy at 2222222 (started {started})"
    )


def test_kubernetes_outage_is_retried(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    kube_emulator.add_application("api", status=app_status(NEW))
    kube_emulator.fail_next(503, count=2, retry_after=5)
    result = sidecar.run_step("argocd", {"app": "api", "revision": NEW}, outputs=OUTPUTS)
    assert result.phase == "Succeeded"
    assert [r.phase for r in result.replies] == ["Running", "Running", "Succeeded"]
    assert result.replies[0].requeue == "5s"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            {"app": "nope", "revision": NEW},
            "Application nope not found in namespace argocd: check `app`/`namespace`",
        ),
        (
            {"app": "api", "revision": "abc1234"},
            "argocd.revision: 'abc1234' looks like an abbreviated commit SHA: pass the full 40-character SHA",
        ),
        (
            {"app": "api", "revision": NEW, "syncNow": True},
            "argocd.syncNow: unknown argument; did you mean `sync`? known arguments are",
        ),
        ({"app": "api"}, "argocd.revision: required argument is missing"),
        ({"app": "api", "revision": [NEW, OLD]}, "has a single source: pass `revision` as one SHA"),
    ],
)
def test_bad_input_says_what_to_fix(
    kube_emulator: KubeEmulator, sidecar: Sidecar, args: dict[str, Any], expected: str
) -> None:
    kube_emulator.add_application("api", status=app_status(NEW))
    result = sidecar.run_step("argocd", args, outputs=OUTPUTS)
    assert result.phase == "Failed"
    assert expected in result.message
    assert result.calls == 1


def test_forbidden_get_names_the_rbac(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    kube_emulator.add_application("api", status=app_status(NEW))
    kube_emulator.deny("get")
    result = sidecar.run_step("argocd", {"app": "api", "revision": NEW})
    assert result.phase == "Failed"
    assert "may not get applications.argoproj.io in namespace argocd" in result.message
    assert "manifests/plugin" in result.message


# --- revisionMatch: ancestor (GitHub compare API, against the GitHub emulator) ---------------------------


@pytest.fixture
def moved_on(github_emulator: Any) -> tuple[str, str, str]:
    """acme/deploy: main gets E, then F on top of it; branch `side` (S) forked before E, so S lacks E."""
    github_emulator.create_repo("acme/deploy", files={"README.md": "# deploy\n"})
    side = github_emulator.push("acme/deploy", "side", {"side.txt": "x\n"}, message="side")
    expected = github_emulator.push("acme/deploy", "main", {"apps/api/v.txt": "1\n"}, message="E")
    later = github_emulator.push("acme/deploy", "main", {"apps/api/v.txt": "2\n"}, message="F")
    return expected, later, side


def test_ancestor_match_accepts_a_later_commit(
    kube_emulator: KubeEmulator,
    github_emulator: Any,
    sidecar_factory: Callable[..., Sidecar],
    moved_on: tuple[str, str, str],
) -> None:
    expected, later, _ = moved_on
    kube_emulator.add_application("api", status=app_status(later))
    sidecar = sidecar_factory(kube_api_url=kube_emulator.url, **github_emulator.sidecar_settings())
    exact = sidecar.call_step("argocd", {"app": "api", "revision": expected})
    assert exact.phase == "Running"
    assert f"expected {expected[:7]}" in exact.message
    result = sidecar.run_step(
        "argocd", {"app": "api", "revision": expected, "revisionMatch": "ancestor"}, outputs=OUTPUTS
    )
    assert result.phase == "Succeeded", result.message
    assert result.outputs["revision"] == later
    compares = [r for r in github_emulator.requests if "/compare/" in r.path]
    assert compares and compares[-1].path.endswith(f"/repos/acme/deploy/compare/{expected}...{later}")


def test_ancestor_match_rejects_a_commit_that_does_not_contain_it(
    kube_emulator: KubeEmulator,
    github_emulator: Any,
    sidecar_factory: Callable[..., Sidecar],
    moved_on: tuple[str, str, str],
) -> None:
    expected, _, side = moved_on
    kube_emulator.add_application("api", status=app_status(side))
    sidecar = sidecar_factory(kube_api_url=kube_emulator.url, **github_emulator.sidecar_settings())
    reply = sidecar.call_step(
        "argocd", {"app": "api", "revision": expected, "revisionMatch": "ancestor", "repo": "acme/deploy"}
    )
    assert reply.phase == "Running"


def test_ancestor_match_with_an_unknown_commit_says_so(
    kube_emulator: KubeEmulator,
    github_emulator: Any,
    sidecar_factory: Callable[..., Sidecar],
    moved_on: tuple[str, str, str],
) -> None:
    _, later, _ = moved_on
    kube_emulator.add_application("api", status=app_status(later))
    sidecar = sidecar_factory(kube_api_url=kube_emulator.url, **github_emulator.sidecar_settings())
    result = sidecar.run_step("argocd", {"app": "api", "revision": "f" * 40, "revisionMatch": "ancestor"})
    assert result.phase == "Failed"
    assert "GitHub cannot compare fffffff..." in result.message
    assert "in acme/deploy" in result.message


def test_ancestor_match_needs_a_github_repository(kube_emulator: KubeEmulator, sidecar: Sidecar) -> None:
    spec = {
        "project": "default",
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "api"},
        "source": {
            "repoURL": "https://gitlab.example.com/acme/deploy.git",
            "path": "api",
            "targetRevision": "main",
        },
    }
    kube_emulator.add_application("api", spec=spec, status=app_status(OLD))
    result = sidecar.run_step("argocd", {"app": "api", "revision": NEW, "revisionMatch": "ancestor"})
    assert result.phase == "Failed"
    assert "revisionMatch: ancestor needs the GitHub repository of source 1" in result.message
    assert "pass `repo: owner/name`" in result.message
