"""Criteria evaluation over plain GitHub / Argo CD data, and HTTP probes against a local server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pressplay.acceptance_spec import (
    AgentCriterion,
    ChecksCriterion,
    DeployCriterion,
    HttpCriterion,
    ReviewsCriterion,
    SpecError,
    parse_spec,
)
from pressplay.config import Settings
from pressplay.steps.acceptance import (
    CriterionResult,
    deploy_result,
    eval_agent,
    eval_reviews,
    overall_state,
    render_report,
)
from pressplay.steps.acceptance import (
    eval_checks as checks_criterion,
)
from pressplay.steps.acceptance import probe as probe_with
from pressplay.steps.base import StepContext, WorkflowMeta
from pressplay.steps.checks import from_check_runs, from_statuses
from pressplay.testing.kube_emulator import app_status

SHA = "c" * 40


def run(
    name: str,
    status: str = "completed",
    conclusion: str | None = "success",
    started: str = "2026-01-01T00:00:00Z",
    rid: int = 1,
) -> dict[str, object]:
    return {"id": rid, "name": name, "status": status, "conclusion": conclusion, "started_at": started,
            "html_url": f"https://github.com/acme/api/runs/{rid}"}  # fmt: skip


def status(context: str, state: str, at: str = "2026-01-01T00:00:00Z", sid: int = 1) -> dict[str, object]:
    return {"id": sid, "context": context, "state": state, "target_url": "https://ci.example.com/1",
            "created_at": at}  # fmt: skip


def checks(**kw: object) -> ChecksCriterion:
    return ChecksCriterion.model_validate({"kind": "checks", **kw})


def eval_checks(
    crit: ChecksCriterion,
    cid: str,
    runs: list[dict[str, object]],
    statuses: list[dict[str, object]],
    own: str,
    sha: str,
    protected: list[str] | None = None,
    *,
    deadline_passed: bool = False,
) -> CriterionResult:
    """The criterion over GitHub-shaped data, normalised the way the ``checks`` step reads it."""
    data = from_check_runs(runs) + from_statuses(statuses)
    return checks_criterion(
        crit, cid, data, sha=sha, own_context=own, protected=protected or (), deadline_passed=deadline_passed
    )


# -- checks ---------------------------------------------------------------------------------------


def test_checks_all_pass_with_newest_run_per_name_and_our_status_ignored() -> None:
    runs = [
        run("build", conclusion="failure", started="2026-01-01T00:00:00Z", rid=1),
        run("build", conclusion="success", started="2026-01-01T00:05:00Z", rid=2),  # a re-run wins
        run("lint", conclusion="skipped", rid=3),
    ]
    statuses = [status("ci/legacy", "success"), status("pressplay/acceptance", "pending")]
    result = eval_checks(checks(), "checks-1", runs, statuses, "pressplay/acceptance", SHA)
    assert result.state == "passed", result.evidence
    assert result.evidence == "3/3 passed: build ✅, ci/legacy ✅, lint ✅ skipped"


def test_checks_report_every_failure_and_pending_at_once() -> None:
    runs = [run("build", conclusion="failure", rid=5), run("test", status="in_progress", conclusion=None)]
    result = eval_checks(checks(required=["build", "test", "e2e"]), "c", runs, [], "x", SHA)
    assert result.state == "failed"
    assert "build ❌ failure" in result.evidence
    assert "test ⏳ in_progress" in result.evidence
    assert "e2e ⏳ not reported yet" in result.evidence
    assert result.url == "https://github.com/acme/api/runs/5"


def test_checks_pending_until_something_reports() -> None:
    nothing = eval_checks(checks(), "c", [], [], "x", SHA)
    assert (nothing.state, nothing.evidence) == ("pending", "no check has reported on ccccccc yet")
    only_ignored = eval_checks(checks(ignore=["noise"]), "c", [run("noise")], [], "x", SHA)
    assert only_ignored.state == "pending"
    pend = eval_checks(checks(required=["ci/legacy"]), "c", [], [status("ci/legacy", "pending")], "x", SHA)
    assert pend.state == "pending"
    err = eval_checks(checks(required=["ci/legacy"]), "c", [], [status("ci/legacy", "error")], "x", SHA)
    assert err.state == "failed"


def test_checks_at_the_deadline_missing_ones_are_unmet() -> None:
    late = eval_checks(
        checks(required=["build", "e2e"]), "c", [run("build")], [], "x", SHA, deadline_passed=True
    )
    assert late.state == "failed"
    assert late.evidence == "1/2 passed: build ✅, e2e ❌ never reported"
    none = eval_checks(checks(), "c", [], [], "x", SHA, deadline_passed=True)
    assert (none.state, none.evidence) == ("failed", "no check has reported on ccccccc before the deadline")
    running = eval_checks(
        checks(), "c", [run("build", "in_progress", None)], [], "x", SHA, deadline_passed=True
    )
    assert running.state == "pending"  # still running: the step counts it as unmet


def test_branch_protection_adds_its_required_checks() -> None:
    crit = checks(required=["build"], branchProtection=True)
    runs = [run("build", rid=1), run("unrelated", conclusion="failure", rid=2)]
    missing = eval_checks(crit, "c", runs, [], "x", SHA, protected=["build", "ci/legacy"])
    assert missing.state == "pending"
    assert "ci/legacy ⏳ not reported yet" in missing.evidence
    assert "unrelated" not in missing.evidence  # only required checks count when some are named
    done = eval_checks(
        crit, "c", runs, [status("ci/legacy", "success")], "x", SHA, protected=["build", "ci/legacy"]
    )
    assert done.state == "passed"
    # without the flag, protection is ignored
    assert (
        eval_checks(checks(required=["build"]), "c", runs, [], "x", SHA, protected=["ci/legacy"]).state
        == "passed"
    )


def test_branch_protection_requiring_our_own_status_does_not_wait_for_itself() -> None:
    crit = checks(branchProtection=True)
    protected = ["build", "pressplay/acceptance", "gate/acceptance"]
    result = eval_checks(crit, "c", [run("build")], [], "gate/acceptance", SHA, protected=protected)
    assert (result.state, result.evidence) == ("passed", "1/1 passed: build ✅")


def test_neutral_can_be_made_failing() -> None:
    crit = checks(passingConclusions=["success"])
    assert eval_checks(crit, "c", [run("scan", conclusion="neutral")], [], "x", SHA).state == "failed"
    # success always passes, whatever the list says
    assert (
        eval_checks(checks(passingConclusions=["neutral"]), "c", [run("b")], [], "x", SHA).state == "passed"
    )


def test_a_status_and_a_check_run_of_the_same_name_both_count() -> None:
    result = eval_checks(checks(), "c", [run("ci")], [status("ci", "failure")], "x", SHA)
    assert result.state == "failed"
    assert result.evidence == "1/2 passed: ci (check run) ✅, ci (status) ❌ failure"
    assert result.url == "https://ci.example.com/1"


def test_the_spec_cannot_require_pressplays_own_contexts() -> None:
    with pytest.raises(SpecError, match="pressplay/acceptance"):
        parse_spec(
            {"version": 1, "criteria": [{"kind": "checks", "required": ["build", "pressplay/acceptance"]}]}
        )


# -- reviews --------------------------------------------------------------------------------------


def review(user: str, state: str, at: str, assoc: str = "MEMBER") -> dict[str, object]:
    return {"user": {"login": user}, "state": state, "submitted_at": at, "author_association": assoc,
            "html_url": f"https://github.com/acme/api/pull/7#review-{user}"}  # fmt: skip


def test_reviews_latest_per_reviewer_decides() -> None:
    crit = ReviewsCriterion.model_validate({"kind": "reviews", "minApprovals": 2})
    reviews = [
        review("ann", "CHANGES_REQUESTED", "2026-01-01T00:00:00Z"),
        review("ann", "APPROVED", "2026-01-01T01:00:00Z"),
        review("bob", "COMMENTED", "2026-01-01T02:00:00Z"),
        review("eve", "APPROVED", "2026-01-01T00:00:00Z", assoc="NONE"),  # no write access: not counted
    ]
    pending = eval_reviews(crit, "r", reviews)
    assert pending.state == "pending"
    assert "1 of 2 approvals" in pending.evidence
    passed = eval_reviews(crit, "r", [*reviews, review("bob", "APPROVED", "2026-01-01T03:00:00Z")])
    assert passed.state == "passed"
    assert "`ann`, `bob`" in passed.evidence


def test_outstanding_change_request_fails_and_dismissal_clears_it() -> None:
    crit = ReviewsCriterion.model_validate({"kind": "reviews", "minApprovals": 1})
    reviews = [
        review("ann", "APPROVED", "2026-01-01T00:00:00Z"),
        review("bob", "CHANGES_REQUESTED", "2026-01-01T01:00:00Z"),
    ]
    failed = eval_reviews(crit, "r", reviews)
    assert failed.state == "failed"
    assert "changes requested by `bob`" in failed.evidence
    assert failed.url.endswith("review-bob")
    cleared = eval_reviews(crit, "r", [*reviews, review("bob", "DISMISSED", "2026-01-01T02:00:00Z")])
    assert cleared.state == "passed"


# -- deploy ---------------------------------------------------------------------------------------

NOW = datetime.now(UTC).replace(microsecond=0)
CTX = StepContext(settings=Settings(), workflow=WorkflowMeta("wf", "argo"))


def application(status: dict[str, Any], sources: list[str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"project": "default", "destination": {"namespace": "api"}}
    if sources:
        spec["sources"] = [{"repoURL": url, "targetRevision": "HEAD"} for url in sources]
    else:
        spec["source"] = {
            "repoURL": "https://github.com/acme/api.git",
            "targetRevision": "HEAD",
            "path": "deploy",
        }
    return {"metadata": {"name": "api", "namespace": "argocd"}, "spec": spec, "status": status}


def deploy(app: dict[str, Any], **crit: Any) -> CriterionResult:
    criterion = DeployCriterion.model_validate({"kind": "deploy", "application": "api", **crit})
    return deploy_result(
        criterion, "d", app, ctx=CTX, repo="acme/api", sha=SHA, anchor=NOW - timedelta(minutes=20), now=NOW
    )


@pytest.mark.parametrize(
    ("status", "state", "words"),
    [
        (app_status(SHA, operation_phase="Succeeded"), "passed", "Synced and Healthy at ccccccc"),
        (app_status(SHA), "passed", "Synced and Healthy"),
        (app_status("a" * 40), "pending", "expected ccccccc"),
        (
            app_status(SHA, health="Progressing", operation_phase="Running"),
            "pending",
            "sync operation Running",
        ),
        (app_status(SHA, sync="OutOfSync"), "pending", "OutOfSync"),
        (app_status(SHA, operation_phase="Failed", health="Degraded"), "failed", "ended Failed"),
        (
            app_status(SHA, health="Degraded", health_since=NOW - timedelta(minutes=15)),
            "failed",
            "is Degraded at ccccccc",
        ),
        (
            app_status(SHA, health="Degraded", health_since=NOW - timedelta(seconds=5)),
            "pending",
            "of grace left",
        ),
    ],
)
def test_deploy_means_what_the_argocd_step_means(status: dict[str, Any], state: str, words: str) -> None:
    result = deploy(application(status))
    assert result.state == state, result.evidence
    assert words in result.evidence


def test_deploy_any_revision_when_not_required() -> None:
    assert deploy(application(app_status("a" * 40)), requireRevision=False).state == "passed"


def test_deploy_multi_source_expects_the_head_on_this_repos_source() -> None:
    sources = ["https://github.com/acme/charts.git", "git@github.com:acme/api.git"]
    ok = deploy(application(app_status(["9" * 40, SHA]), sources))
    assert ok.state == "passed", ok.evidence
    wrong = deploy(application(app_status([SHA, "9" * 40]), sources))
    assert wrong.state == "pending"
    other = deploy(
        application(app_status(["9" * 40, SHA]), ["https://github.com/x/y", "https://github.com/x/z"])
    )
    assert other.state == "failed"
    assert "no source of argocd/api is acme/api" in other.evidence


# -- agent verdict --------------------------------------------------------------------------------


def test_agent_items_each_reported() -> None:
    crit = AgentCriterion.model_validate(
        {"kind": "agent", "items": [{"id": "health", "description": "GET /health"}, {"id": "docs"}]}
    )
    verdict = {"version": 1, "summary": "looks fine", "items": [
        {"id": "health", "passed": True, "evidence": "curl -s /health → {\"status\":\"ok\"}"}]}  # fmt: skip
    result = eval_agent(crit, "a", json.dumps(verdict))
    assert result.state == "failed"
    assert "1/2 items passed; unmet: docs" in result.evidence
    assert [(d.label, d.state) for d in result.details] == [
        ("health: GET /health", "passed"),
        ("docs", "failed"),
    ]
    assert result.details[1].evidence == "not reported by the agent"


def test_agent_without_items_needs_all_reported_to_pass() -> None:
    crit = AgentCriterion.model_validate({"kind": "agent"})
    good = {"version": 1, "items": [{"id": "a", "passed": True, "evidence": "ok"}]}
    assert eval_agent(crit, "a", good).state == "passed"
    assert eval_agent(crit, "a", {"version": 1, "items": []}).state == "failed"
    missing = eval_agent(crit, "a", None)
    assert missing.state == "failed"
    assert "pass the acceptance agent's `verdict` output" in missing.evidence
    broken = eval_agent(crit, "a", '{"version": 1, "items": [{"id": "a"}]}')
    assert broken.state == "failed"
    assert "items[0].passed: required field is missing" in broken.evidence


# -- HTTP probes ----------------------------------------------------------------------------------


def http(url: str, **kw: object) -> HttpCriterion:
    return HttpCriterion.model_validate({"kind": "http", "url": url, **kw})


#: The local test server listens on 127.0.0.1: probes reach it only when the range is allowed
#: (``PRESSPLAY_PROBE_ALLOW_CIDRS``), as an admin allows a preview environment's range.
LOCAL = Settings(probe_allow_cidrs="127.0.0.0/8").probe_allow_cidrs  # as PRESSPLAY_PROBE_ALLOW_CIDRS


def probe(crit: HttpCriterion, cid: str) -> CriterionResult:
    return probe_with(crit, cid, allow=LOCAL)


def test_probe_status_and_body(web: str) -> None:
    ok = probe(http(f"{web}/health", bodyPattern=r'"status":\s*"ok"'), "h")
    assert ok.state == "passed", ok.evidence
    assert "→ 200 in" in ok.evidence and "body matches" in ok.evidence
    sick = probe(http(f"{web}/sick", bodyPattern=r'"status":\s*"ok"'), "h")
    assert sick.state == "failed"
    assert "body does not match" in sick.evidence
    wrong = probe(http(f"{web}/missing"), "h")
    assert (wrong.state, "→ 404" in wrong.evidence, "expected 200" in wrong.evidence) == (
        "failed",
        True,
        True,
    )


def test_probe_unavailable_is_pending(web: str) -> None:
    assert probe(http(f"{web}/boot"), "h").state == "pending"
    port = web.rsplit(":", 1)[1]
    closed = probe(http(f"http://127.0.0.1:{int(port) + 1 if int(port) < 65535 else 1}/x", timeout="1s"), "h")
    assert closed.state == "pending"
    assert "not reachable" in closed.evidence or "timed out" in closed.evidence


def test_probe_redirects_only_when_asked_and_only_to_http(web: str) -> None:
    not_followed = probe(http(f"{web}/hop", expectStatus=[302]), "h")
    assert not_followed.state == "passed"
    followed = probe(http(f"{web}/hop", followRedirects=True), "h")
    assert followed.state == "passed" and "/health → 200" in followed.evidence
    evil = probe(http(f"{web}/evil", followRedirects=True), "h")
    assert evil.state == "failed"
    assert "redirect refused: only http:// and https://" in evil.evidence
    loop = probe(http(f"{web}/loop", followRedirects=True), "h")
    assert loop.state == "failed" and "more than 5 redirects" in loop.evidence


# -- report ---------------------------------------------------------------------------------------


def test_report_table_escapes_untrusted_text() -> None:
    spec = parse_spec({"version": 1, "criteria": [{"kind": "checks"}, {"kind": "agent"}]})
    results = [
        CriterionResult("checks-1", "checks", "All checks", "passed", "2/2 passed", "https://x.example/1"),
        CriterionResult("agent-1", "agent", "Verdict", "failed", "a | b\nc @team <script>"),
    ]
    assert overall_state(results) == "failed"
    body = render_report(results, spec, SHA, final=True)
    assert "### ❌ pressplay acceptance failed" in body
    assert "| All checks (`checks-1`) | ✅ passed | 2/2 passed ([details](https://x.example/1)) |" in body
    assert "a \\| b c @\u200bteam &lt;script>" in body
    pending = render_report(
        [CriterionResult("d", "deploy", "D", "pending", "Progressing")], spec, SHA, final=False
    )
    assert "⏳ pressplay acceptance in progress" in pending
