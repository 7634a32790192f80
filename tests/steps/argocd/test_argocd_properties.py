"""Invariants of the ``argocd`` decision over generated Application states (no I/O: exact matching)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pressplay.config import Settings
from pressplay.steps.argocd import AppState, ArgoCDArgs, Matcher, evaluate
from pressplay.steps.base import StepContext, WorkflowMeta
from pressplay.testing.kube_emulator import app_status

E, OTHER = "e" * 40, "0" * 40
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
ANCHOR = NOW - timedelta(minutes=2)

times = st.one_of(
    st.none(), st.integers(min_value=-900, max_value=60).map(lambda s: NOW + timedelta(seconds=s))
)


@st.composite
def applications(draw: Any) -> dict[str, Any]:
    phase = draw(st.sampled_from([None, "Running", "Terminating", "Succeeded", "Failed", "Error"]))
    started = draw(times) or NOW - timedelta(minutes=1)
    status = app_status(
        draw(st.sampled_from([E, OTHER])),
        sync=draw(st.sampled_from(["Synced", "OutOfSync", "Unknown"])),
        health=draw(
            st.sampled_from(["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"])
        ),
        health_since=draw(times),
        reconciled_at=draw(times) or NOW,
        operation_phase=phase,
        operation_revision=draw(st.sampled_from([E, OTHER])),
        started_at=started,
        finished_at=started + timedelta(seconds=draw(st.integers(0, 120))),
        conditions=draw(
            st.lists(
                st.fixed_dictionaries(
                    {
                        "type": st.sampled_from(["ComparisonError", "SyncError", "OrphanedResourceWarning"]),
                        "message": st.sampled_from(["boom", f"Failed sync attempt to {E}: boom"]),
                        "lastTransitionTime": st.sampled_from(
                            ["2026-11-25T11:00:00Z", "2026-11-25T11:59:00Z"]
                        ),
                    }
                ),
                max_size=2,
            )
        ),
        now=NOW,
    )
    if phase in ("Running", "Terminating") and "finishedAt" in status["operationState"]:
        del status["operationState"]["finishedAt"]
    app: dict[str, Any] = {
        "metadata": {"name": "api", "namespace": "argocd", "resourceVersion": "7", "annotations": {}},
        "spec": {
            "project": "default",
            "source": {"repoURL": "https://github.com/acme/deploy.git", "targetRevision": "main"},
        },
        "status": status,
    }
    if draw(st.booleans()):
        app["spec"]["syncPolicy"] = {"automated": {}}
    if draw(st.booleans()):
        app["operation"] = {"sync": {"revision": E}}
    return app


@settings(max_examples=300, deadline=None)
@given(app=applications(), sync=st.booleans(), allow_suspended=st.booleans())
def test_decisions_are_consistent(app: dict[str, Any], sync: bool, allow_suspended: bool) -> None:
    args = ArgoCDArgs.model_validate(
        {"app": "api", "revision": E, "sync": sync, "allowSuspended": allow_suspended}
    )
    state = AppState.parse(app)
    ctx = StepContext(settings=Settings(), workflow=WorkflowMeta("wf", "argo", "uid"))
    verdict = evaluate(args, state, [E], ANCHOR, NOW, Matcher(args, ctx, state))
    assert verdict.message
    if verdict.kind == "done":
        assert state.revisions == [E]
        assert state.sync_status == "Synced"
        assert state.health == "Healthy" or (state.health == "Suspended" and allow_suspended)
        assert state.in_progress() is None
    if verdict.sync_to is not None:
        assert sync and not state.automated
        assert verdict.sync_to == [E]  # only ever the revision Argo CD compares against, and it is E
        assert state.operation is None and state.op_phase not in ("Running", "Terminating")
    if state.op_phase in ("Running", "Terminating") or state.operation is not None:
        assert verdict.kind == "wait" or (verdict.kind == "failed" and "Error" in verdict.message)
