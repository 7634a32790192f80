"""``acceptance`` through the real sidecar against the GitHub and Kubernetes emulators."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from tests.steps.conftest import REPO

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.kube_emulator import KubeEmulator, app_status
from pressplay.testing.sidecar import Sidecar

SPEC_PATH = ".taskmaster/docs/task-7/acceptance.yaml"
APP_SPEC = {
    "project": "default",
    "destination": {"server": "https://kubernetes.default.svc", "namespace": "preview-7"},
    "source": {
        "repoURL": f"https://github.com/{REPO}.git",
        "targetRevision": "pressplay/task-7",
        "path": "deploy",
    },
}
OUT = ["passed", "verdict", "summary", "commentUrl", "sha"]
VERDICT_OK = {
    "version": 1,
    "summary": "verified on the preview",
    "items": [{"id": "health-endpoint", "passed": True, "evidence": 'curl /health → {"status":"ok"}'}],
}


def spec(web: str, **over: Any) -> dict[str, Any]:
    criteria = [
        {"kind": "checks", "required": ["build", "test"]},
        {"kind": "reviews", "minApprovals": 1},
        {"kind": "deploy", "application": "api-preview"},
        {
            "kind": "http",
            "id": "health",
            "url": f"{web}/health",
            "bodyPattern": '"status":\\s*"ok"',
            "timeout": "5s",
        },
        {"kind": "agent", "items": [{"id": "health-endpoint", "description": "GET /health says ok"}]},
    ]
    return {"version": 1, "description": "Task 7: the /health endpoint", "criteria": criteria, **over}


@pytest.fixture
def kube(kube_emulator: KubeEmulator) -> KubeEmulator:
    return kube_emulator


@pytest.fixture
def acc(gh: GitHubEmulator, kube: KubeEmulator, sidecar_factory: Callable[..., Sidecar]) -> Sidecar:
    return sidecar_factory(
        **gh.sidecar_settings(
            kube_api_url=kube.url,
            argocd_url="https://argocd.example.com",
            requeue_min_seconds=1,
            probe_allow_cidrs="127.0.0.0/8",  # the local test server (`web`) listens on 127.0.0.1
        )
    )


@pytest.fixture
def pr(gh: GitHubEmulator) -> tuple[int, str]:
    gh.create_repo(REPO, files={"README.md": "# api\n"})
    sha = gh.push(REPO, "pressplay/task-7", {"app.py": "health\n"}, message="Task 7")
    number = gh.open_pull(
        REPO, "pressplay/task-7", "main", "Task 7", user=gh.bot.login, author_association="NONE"
    )
    return number, sha


def green(gh: GitHubEmulator, kube: KubeEmulator, sha: str, number: int) -> None:
    for name in ("build", "test"):
        gh.add_check_run(REPO, sha, name, status="completed", conclusion="success")
    gh.add_review(REPO, number, user="ann", state="APPROVED")
    kube.add_application(
        "api-preview",
        spec=APP_SPEC,
        status=app_status(sha, operation_phase="Succeeded"),
    )


def gate(number: int, *criteria: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The step's arguments for an inline spec of ``criteria``."""
    return {"repo": REPO, "number": number, "spec": {"version": 1, "criteria": list(criteria)}, **extra}


def statuses(gh: GitHubEmulator, sha: str) -> list[tuple[str, str]]:
    return [
        (s.state, s.description or "")
        for s in gh.repo_state(REPO).statuses
        if s.sha == sha and s.context == "pressplay/acceptance"
    ]


def our_comments(gh: GitHubEmulator, number: int) -> list[dict[str, Any]]:
    return [c for c in gh.comments(REPO, number) if c["user"]["login"] == gh.bot.login]


@pytest.mark.parametrize("form", ["json", "b64"])
def test_all_criteria_pass(
    gh: GitHubEmulator, kube: KubeEmulator, acc: Sidecar, pr: tuple[int, str], web: str, form: str
) -> None:
    """The verdict as JSON text, or as task.yaml hands it on: {b64: <agent step's verdict-b64>}."""
    number, sha = pr
    green(gh, kube, sha, number)
    text = json.dumps(VERDICT_OK)
    verdict_arg: object = text if form == "json" else {"b64": base64.b64encode(text.encode()).decode()}
    args = {"repo": REPO, "number": number, "spec": spec(web), "verdict": verdict_arg}

    result = acc.run_step("acceptance", args, outputs=OUT)

    assert result.phase == "Succeeded", result.message
    assert result.outputs["passed"] == "true"
    assert result.outputs["sha"] == sha
    verdict = json.loads(result.outputs["verdict"])
    assert verdict["passed"] is True
    assert [(c["id"], c["result"]) for c in verdict["criteria"]] == [
        ("checks-1", "passed"),
        ("reviews-1", "passed"),
        ("deploy-1", "passed"),
        ("health", "passed"),
        ("agent-1", "passed"),
    ]
    assert "all 5 criteria met" in result.outputs["summary"]
    comments = our_comments(gh, number)
    assert len(comments) == 1
    body = comments[0]["body"]
    assert "### ✅ pressplay acceptance passed" in body
    assert "| Criterion | Result | Evidence |" in body
    assert "| Deployed: api-preview (`deploy-1`) | ✅ passed |" in body
    assert "https://argocd.example.com/applications/argocd/api-preview" in body
    assert "| ↳ health-endpoint: GET /health says ok | ✅ passed |" in body
    assert body.rstrip().endswith("<!-- pressplay:acceptance -->")
    assert result.outputs["commentUrl"] == comments[0]["html_url"]
    assert statuses(gh, sha)[-1] == ("success", "5/5 criteria passed")
    # the gate reports; it never merges
    assert not gh.requests_to(r"/merge$", "PUT")

    # idempotent: called again, it writes nothing new
    before = len(statuses(gh, sha))
    again = acc.run_step("acceptance", args, outputs=OUT)
    assert again.phase == "Succeeded"
    assert len(our_comments(gh, number)) == 1
    assert len(statuses(gh, sha)) == before


def test_every_unmet_criterion_is_reported_at_once(
    gh: GitHubEmulator, kube: KubeEmulator, acc: Sidecar, pr: tuple[int, str], web: str
) -> None:
    number, sha = pr
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="failure")
    gh.add_check_run(REPO, sha, "test", status="completed", conclusion="success")
    gh.add_review(REPO, number, user="ann", state="APPROVED")
    gh.add_review(REPO, number, user="bob", state="CHANGES_REQUESTED", body="no tests")
    kube.add_application(
        "api-preview",
        spec=APP_SPEC,
        status=app_status(sha, operation_phase="Failed", health="Degraded"),
    )
    bad = spec(web)
    bad["criteria"][3]["url"] = f"{web}/sick"
    verdict = {"version": 1, "items": [{"id": "other", "passed": True, "evidence": "x"}]}

    result = acc.run_step(
        "acceptance", {"repo": REPO, "number": number, "spec": bad, "verdict": verdict}, outputs=OUT
    )

    assert result.phase == "Failed"
    assert "5 of 5 criteria unmet (checks-1, reviews-1, deploy-1, health, agent-1)" in result.message
    for words in (
        "build ❌ failure",
        "changes requested by `bob`",
        "ended Failed",
        "body does not match",
        "unmet: health-endpoint",
    ):
        assert words in result.message, words
    assert result.outputs["passed"] == "false"
    body = our_comments(gh, number)[0]["body"]
    assert body.count("❌ failed") == 6  # five criteria and the missing agent item
    assert statuses(gh, sha)[-1] == ("failure", "0/5 criteria passed")


def test_waits_while_pending_then_passes(
    gh: GitHubEmulator, kube: KubeEmulator, acc: Sidecar, pr: tuple[int, str], web: str
) -> None:
    number, sha = pr
    green(gh, kube, sha, number)
    running = gh.add_check_run(REPO, sha, "e2e", status="in_progress")
    gh.schedule(lambda: gh.complete_check_run(REPO, running, "success"), after_polls=3, path=r"/check-runs$")
    crit = {"version": 1, "criteria": [{"kind": "checks"}, {"kind": "reviews"}]}

    result = acc.run_step("acceptance", {"repo": REPO, "number": number, "spec": crit}, outputs=OUT)

    assert result.phase == "Succeeded", result.message
    phases = [r.phase for r in result.replies]
    assert phases[0] == "Running" and phases[-1] == "Succeeded"
    assert "waiting for checks-1: 2/3 passed" in result.replies[0].message
    assert [s for s, _ in statuses(gh, sha)] == ["pending", "success"]
    assert len(our_comments(gh, number)) == 1


def test_pending_at_the_deadline_is_unmet(gh: GitHubEmulator, acc: Sidecar, pr: tuple[int, str]) -> None:
    number, sha = pr
    gh.add_check_run(REPO, sha, "build", status="in_progress")
    since = (datetime.now(UTC) - timedelta(hours=2)).isoformat()
    args = gate(number, {"kind": "checks"}, since=since)
    result = acc.run_step("acceptance", args, outputs=OUT)
    assert result.phase == "Failed"
    assert "- checks-1 (All checks): pending: 0/1 passed: build ⏳ in_progress" in result.message
    assert "timed out after 30m waiting for checks-1 (started " in result.message
    assert "raise `timeout` if this needs longer" in result.message
    assert "Still pending at the deadline counts as unmet" in our_comments(gh, number)[0]["body"]
    assert statuses(gh, sha)[-1] == ("failure", "0/1 criteria passed")
    assert len(result.replies) == 1  # the deadline had passed: no requeue

    settled = acc.run_step("acceptance", {**args, "failOnUnmet": False}, outputs=OUT)
    assert settled.phase == "Succeeded", settled.message
    assert settled.outputs["passed"] == "false"
    assert "1 of 1 criteria unmet (checks-1)" in settled.outputs["summary"]


def test_a_required_check_that_never_reports_is_unmet_at_the_deadline(
    gh: GitHubEmulator, acc: Sidecar, pr: tuple[int, str]
) -> None:
    number, sha = pr
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="success")
    args = gate(number, {"kind": "checks", "required": ["build", "e2e"]}, timeout="10m")
    waiting = acc.call_step("acceptance", args)
    assert waiting.phase == "Running"
    assert "1/2 passed: build ✅, e2e ⏳ not reported yet" in waiting.message
    late = acc.run_step("acceptance", {**args, "since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()})
    assert late.phase == "Failed"
    assert "- checks-1 (Required checks): failed: 1/2 passed: build ✅, e2e ❌ never reported" in late.message


def test_the_deadline_survives_a_sidecar_restart(
    gh: GitHubEmulator, sidecar_factory: Callable[..., Sidecar], pr: tuple[int, str]
) -> None:
    number, sha = pr
    gh.add_check_run(REPO, sha, "build", status="in_progress")
    args = {
        "repo": REPO,
        "number": number,
        "spec": "version: 1\ncriteria: [{kind: checks}]",
        "timeout": "30m",
    }
    first = sidecar_factory(**gh.sidecar_settings())
    assert first.call_step("acceptance", args).phase == "Running"
    first.stop()
    # the wait began 40 minutes ago according to GitHub (the first pending status)
    for entry in gh.repo_state(REPO).statuses:
        entry.created_at = entry.updated_at = datetime.now(UTC) - timedelta(minutes=40)
    second = sidecar_factory(**gh.sidecar_settings())
    assert second.call_step("acceptance", args).phase == "Failed"


def test_spec_file_is_read_from_the_base_branch(
    gh: GitHubEmulator, acc: Sidecar, pr: tuple[int, str], web: str
) -> None:
    number, _ = pr
    strict = {"version": 1, "criteria": [{"kind": "checks", "required": ["build"]}]}
    gh.push(REPO, "main", {SPEC_PATH: yaml.safe_dump(strict)}, message="acceptance spec")
    # the PR tries to weaken its own gate
    loose = {"version": 1, "criteria": [{"kind": "http", "url": f"{web}/health"}]}
    head = gh.push(REPO, "pressplay/task-7", {SPEC_PATH: yaml.safe_dump(loose)}, message="weaken")
    gh.add_check_run(REPO, head, "build", status="completed", conclusion="failure")

    result = acc.run_step("acceptance", {"repo": REPO, "number": number, "specPath": SPEC_PATH}, outputs=OUT)
    assert result.phase == "Failed"
    assert "build ❌ failure" in result.message

    at_head = acc.run_step(
        "acceptance", {"repo": REPO, "number": number, "specPath": SPEC_PATH, "specRef": head}, outputs=OUT
    )
    assert at_head.phase == "Succeeded", at_head.message


def test_required_checks_from_branch_protection(
    gh: GitHubEmulator, acc: Sidecar, pr: tuple[int, str]
) -> None:
    number, sha = pr
    gh.protect_branch(REPO, "main", required_checks=["build", "security-scan"])
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="success")
    gh.add_check_run(REPO, sha, "flaky-optional", status="completed", conclusion="failure")
    gh.add_check_run(REPO, sha, "security-scan", status="completed", conclusion="failure")
    crit = {"version": 1, "criteria": [{"kind": "checks", "branchProtection": True}]}
    result = acc.run_step("acceptance", {"repo": REPO, "number": number, "spec": crit}, outputs=OUT)
    assert result.phase == "Failed"
    assert "1/2 passed: build ✅, security-scan ❌ failure" in result.message
    assert "flaky-optional" not in result.message


def test_fail_on_unmet_false_reports_without_failing(
    gh: GitHubEmulator, acc: Sidecar, pr: tuple[int, str]
) -> None:
    number, sha = pr
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="failure")
    args = gate(number, {"kind": "checks"}, failOnUnmet=False)
    result = acc.run_step("acceptance", args, outputs=OUT)
    assert result.phase == "Succeeded"
    assert result.outputs["passed"] == "false"


def test_without_kubernetes_the_deploy_criterion_explains(
    gh: GitHubEmulator,
    sidecar_factory: Callable[..., Sidecar],
    pr: tuple[int, str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "none"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    number, _ = pr
    side = sidecar_factory(**gh.sidecar_settings())
    args = {
        "repo": REPO,
        "number": number,
        "spec": {"version": 1, "criteria": [{"kind": "deploy", "application": "api"}]},
    }
    result = side.run_step("acceptance", args)
    assert result.phase == "Failed"
    assert "deploy-1 (Deployed: api): failed: cannot read Argo CD Applications" in result.message


@pytest.mark.parametrize(
    ("files", "args", "words"),
    [
        (
            {},
            {"specPath": SPEC_PATH},
            f"{SPEC_PATH} does not exist in {REPO} at main: add the task's acceptance spec",
        ),
        (
            {SPEC_PATH: "version: 1\ncriteria:\n  - kind: http\n    url: ftp://x\n"},
            {"specPath": SPEC_PATH},
            f"{SPEC_PATH} (at main) is invalid:\n- criteria[0] (kind http).url: only http:// and https://",
        ),
        ({SPEC_PATH: "version: 1\ncriteria: [\n"}, {"specPath": SPEC_PATH}, "is not valid YAML/JSON at line"),
        ({}, {"spec": "criteria: []"}, "inline acceptance spec (`spec`) has no `version`: add `version: 1`"),
        ({}, {}, "give the acceptance spec: `spec` (inline) or `specPath`"),
        ({}, {"spec": "version: 1", "specPath": SPEC_PATH}, "give either `spec` or `specPath`, not both"),
        (
            {},
            {"spec": {"version": 1, "criteria": [{"kind": "checks"}]}, "commentKey": "a b"},
            "acceptance.commentKey",
        ),
        (
            {},
            {"spec": {"version": 1, "criteria": [{"kind": "checks"}]}, "timeout": "forever"},
            "acceptance.timeout",
        ),
    ],
)
def test_bad_specs_and_arguments(
    gh: GitHubEmulator,
    acc: Sidecar,
    pr: tuple[int, str],
    files: dict[str, str],
    args: dict[str, Any],
    words: str,
) -> None:
    number, _ = pr
    if files:
        gh.push(REPO, "main", files, message="spec")
    result = acc.run_step("acceptance", {"repo": REPO, "number": number, **args})
    assert result.phase == "Failed"
    assert words in result.message


def test_an_invalid_spec_is_explained_on_the_pull_request(
    gh: GitHubEmulator, acc: Sidecar, pr: tuple[int, str]
) -> None:
    number, sha = pr
    gh.push(
        REPO,
        "main",
        {SPEC_PATH: "version: 1\ncriteria:\n  - {kind: reviews, minAproval: 2}\n"},
        message="spec",
    )
    result = acc.run_step("acceptance", {"repo": REPO, "number": number, "specPath": SPEC_PATH}, outputs=OUT)
    assert result.phase == "Failed"
    assert result.outputs["passed"] == "false"
    body = our_comments(gh, number)[0]["body"]
    assert "the acceptance spec is invalid" in body
    assert "criteria[0] (kind reviews).minAproval: unknown field" in body
    assert statuses(gh, sha)[-1] == ("error", "the acceptance spec is invalid")
    # fixed spec: the same sticky comment turns into the report
    gh.push(
        REPO,
        "main",
        {SPEC_PATH: "version: 1\ncriteria:\n  - {kind: reviews, minApprovals: 0}\n"},
        message="fix",
    )
    fixed = acc.run_step("acceptance", {"repo": REPO, "number": number, "specPath": SPEC_PATH}, outputs=OUT)
    assert fixed.phase == "Succeeded", fixed.message
    comments = our_comments(gh, number)
    assert len(comments) == 1
    assert "### ✅ pressplay acceptance passed" in comments[0]["body"]
