"""The install as docs/install.md tells an admin, against a real API server and Argo's controller."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.stack import NS, Options, Stack

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_apply_k_manifests_installs_everything_and_the_controller_takes_a_workflow(engine: Stack) -> None:
    templates = {t["metadata"]["name"] for t in engine.api.list("workflowtemplates", NS)}
    assert templates == {
        "press-play",
        "task",
        "agent-step",
        "pr-remediation",
        "ci-remediation",
        "issue-triage",
    }
    assert {s["metadata"]["name"] for s in engine.api.list("sensors", NS)} == {
        "pr-feedback",
        "ci-failure",
        "issue-triage",
        "pr-merged",
    }
    # The token Secrets the agent pod mounts were filled (our stand-in for the token controller).
    assert engine.secret_value("pressplay-workflow.service-account-token", "namespace") == NS
    # The real argo CLI lists the templates through the API server.
    listed = engine.argo("template", "list").stdout
    assert "press-play" in listed, listed


# Scenario e: the optional parts (docs/install.md, "Optional parts"), each on a cluster that has only
# what it needs. (argocd, events): whether Argo CD (its namespace and CRD) and Argo Events (its CRDs)
# are there; parts: the components of manifests/components installed on manifests/core.
@pytest.mark.parametrize(
    ("argocd", "events", "parts"),
    [(False, False, ()), (False, True, ("events",)), (True, False, ("argocd",))],
    ids=["core-alone", "core+events", "core+argocd"],
)
def test_the_core_installs_alone_and_with_each_component(
    engine_binaries: dict[str, Path], argocd: bool, events: bool, parts: tuple[str, ...]
) -> None:
    with Stack(Options(argocd=argocd, events=events, parts=parts)) as stack:
        templates = {t["metadata"]["name"] for t in stack.api.list("workflowtemplates", NS)}
        assert {"press-play", "task", "agent-step"} <= templates
        if events:
            assert len(stack.api.list("sensors", NS)) == 4
        roles = stack.cluster.kubectl("get", "roles", "-A", "-o", "name").stdout
        assert ("pressplay-argocd-applications" in roles) == argocd, roles
        # What the docs say `kubectl apply -k manifests/` does on this cluster: the whole install
        # stops at the first missing part (checked by the API server, not applied).
        full = stack.settings_overlay(None, name="full")
        dry = stack.cluster.kubectl("apply", "--dry-run=server", "-k", str(full), check=False)
        said = dry.stdout + dry.stderr
        if not argocd:
            assert dry.returncode != 0 and 'namespaces "argocd" not found' in said, said
        if not events:
            assert dry.returncode != 0 and 'no matches for kind "EventBus"' in said, said
