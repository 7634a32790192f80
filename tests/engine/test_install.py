"""The install as docs/install.md tells an admin, against a real API server and Argo's controller."""

from __future__ import annotations

import pytest

from tests.engine.stack import NS, Stack

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
