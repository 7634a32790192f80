"""``checks``: selection and verdict on GitHub-shaped data, then the whole step through real HTTP
(agent emulator → sidecar → GitHub emulator)."""

from __future__ import annotations

import json
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pressplay.github import reset_clients
from pressplay.steps.checks import (
    Check,
    ChecksArgs,
    Rules,
    describe,
    evaluate,
    from_check_runs,
    from_statuses,
    from_workflow_runs,
    matches,
    newest_per_name,
    select,
)
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar, SidecarProcess
from pressplay.types import parse_duration

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def ts(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def stable_id(*parts: object) -> int:
    """A positive id derived from ``parts``, the same in every run (``hash()`` of a str is salted per process)."""
    return zlib.crc32(repr(parts).encode()) or 1


def run(
    name: str,
    status: str = "completed",
    conclusion: str | None = "success",
    *,
    at: float = 0,
    ident: int = 0,
    title: str | None = None,
) -> dict[str, Any]:
    """A check run as ``GET /commits/{ref}/check-runs`` lists it (the fields we read)."""
    ident = ident or stable_id(name, at)
    return {
        "id": ident,
        "name": name,
        "head_sha": "a" * 40,
        "status": status,
        "conclusion": conclusion if status == "completed" else None,
        "started_at": ts(at),
        "completed_at": ts(at + 60) if status == "completed" else None,
        "html_url": f"https://github.com/acme/api/runs/{ident}",
        "details_url": "https://ci.example.com",
        "output": {"title": title, "summary": None, "text": None, "annotations_count": 0},
        "check_suite": {"id": 1},
    }


def status(context: str, state: str, *, at: float = 0) -> dict[str, Any]:
    return {
        "id": stable_id(context, at),
        "state": state,
        "context": context,
        "description": f"{context} is {state}",
        "target_url": f"https://ci.example.com/{context}",
        "created_at": ts(at),
        "updated_at": ts(at),
    }


def verdict_of(checks: list[Check], grace_over: bool = False, **rules: Any) -> Any:
    return evaluate(checks, Rules(**rules), grace_over=grace_over)


# -- shapes -----------------------------------------------------------------------------------------


def test_real_webhook_check_runs_normalise(shared_dir: Path) -> None:
    fixtures = shared_dir / "fixtures" / "github-webhooks"
    failed = json.loads((fixtures / "check_run.completed-failure.json").read_text())["check_run"]
    passed = json.loads((fixtures / "check_run.completed-success.json").read_text())["check_run"]
    checks = from_check_runs([failed, passed])
    assert {c.conclusion for c in checks} == {"failure", "success"}
    bad = next(c for c in checks if c.conclusion == "failure")
    assert bad.name == failed["name"]
    assert bad.url == failed["html_url"]
    assert bad.completed


def test_real_webhook_workflow_run_normalises(shared_dir: Path) -> None:
    fixtures = shared_dir / "fixtures" / "github-webhooks"
    body = json.loads((fixtures / "workflow_run.completed-failure.json").read_text())["workflow_run"]
    (check,) = from_workflow_runs([body])
    assert check.kind == "workflow_run"
    assert check.name == (body["name"] or body["path"])  # this recording has an empty name
    assert check.conclusion == "failure"
    assert check.url == body["html_url"]


def test_statuses_map_states() -> None:
    checks = from_statuses([status("ci/a", "pending"), status("ci/b", "error"), status("ci/c", "success")])
    by_name = {c.name: c for c in checks}
    assert not by_name["ci/a"].completed and by_name["ci/a"].conclusion is None
    assert by_name["ci/b"].conclusion == "error"
    v = verdict_of(checks)
    assert v.state == "pending"
    assert [c.name for c in v.failing] == ["ci/b"]


def test_check_run_summary_uses_output_title() -> None:
    (check,) = from_check_runs([run("lint", "completed", "failure", title="3 errors in src/app.py")])
    assert check.summary == "3 errors in src/app.py"


# -- newest run per name ------------------------------------------------------------------------------


def test_stale_failed_run_is_superseded_by_newer_success() -> None:
    checks = from_check_runs(
        [
            run("build", conclusion="failure", at=0, ident=10),
            run("build", conclusion="success", at=300, ident=11),
        ]
    )
    (newest,) = newest_per_name(checks)
    assert newest.id == 11
    v = verdict_of(checks)
    assert v.state == "success"


def test_rerun_in_progress_supersedes_earlier_failure() -> None:
    checks = from_check_runs(
        [run("build", conclusion="failure", at=0, ident=10), run("build", "in_progress", at=300, ident=12)]
    )
    v = verdict_of(checks, fail_fast=True)
    assert v.state == "pending"
    assert not v.failing


def test_newer_failure_beats_older_success() -> None:
    checks = from_check_runs(
        [
            run("build", conclusion="success", at=0, ident=10),
            run("build", conclusion="failure", at=300, ident=9),
        ]
    )
    assert verdict_of(checks).state == "failure"


def test_same_name_of_different_kinds_are_separate() -> None:
    checks = from_check_runs([run("ci", conclusion="success")]) + from_statuses([status("ci", "failure")])
    v = verdict_of(checks)
    assert v.state == "failure"
    assert [(c.kind, c.name) for c in v.failing] == [("status", "ci")]


# -- selection ---------------------------------------------------------------------------------------


def test_required_patterns_select_and_ignore_wins() -> None:
    checks = from_check_runs(
        [
            run("test (3.11)"),
            run("test (3.12)", conclusion="failure"),
            run("lint", conclusion="failure"),
            run("docs"),
        ]
    )
    chosen, missing = select(checks, Rules(required=("test (*)", "docs"), ignore=("test (3.12)",)))
    assert [c.name for c in chosen] == ["docs", "test (3.11)"]
    assert missing == []


def test_own_contexts_are_always_ignored() -> None:
    checks = from_statuses([status("pressplay/acceptance", "pending"), status("ci", "success")])
    v = verdict_of(checks)
    assert v.state == "success"
    assert [c.name for c in v.selected] == ["ci"]


def test_exact_name_with_glob_characters_matches_itself() -> None:
    assert matches("build [linux]", "build [linux]")
    assert matches("build (ubuntu, 3.11)", "build (*)")
    assert not matches("Build", "build")


# -- skipped / neutral ---------------------------------------------------------------------------------


def test_skipped_and_neutral_pass_by_default_and_are_reported() -> None:
    checks = from_check_runs(
        [run("a"), run("deploy-preview", conclusion="skipped"), run("scan", conclusion="neutral")]
    )
    v = verdict_of(checks)
    assert v.state == "success"
    text = describe(v, "abc1234")
    assert "1 skipped: deploy-preview" in text
    assert "1 neutral" in text


def test_skipped_can_fail() -> None:
    checks = from_check_runs([run("a"), run("gate", conclusion="skipped"), run("scan", conclusion="neutral")])
    v = verdict_of(checks, pass_conclusions=frozenset({"success", "neutral"}))
    assert v.state == "failure"
    assert [c.name for c in v.failing] == ["gate"]


def test_neutral_can_fail_through_args() -> None:
    args = ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "neutral": "fail"})
    rules = Rules.of(args)
    assert rules.pass_conclusions == {"success", "skipped"}


@pytest.mark.parametrize("conclusion", ["failure", "cancelled", "timed_out", "action_required", "stale"])
def test_other_conclusions_fail(conclusion: str) -> None:
    assert verdict_of(from_check_runs([run("x", conclusion=conclusion)])).state == "failure"


# -- waiting, grace, fail-fast -----------------------------------------------------------------------


def test_waits_for_all_before_failing_unless_fail_fast() -> None:
    checks = from_check_runs([run("a", conclusion="failure"), run("b", "in_progress")])
    assert verdict_of(checks).state == "pending"
    fast = verdict_of(checks, fail_fast=True)
    assert fast.state == "failure"
    assert [c.name for c in fast.failing] == ["a"]


def test_missing_required_waits_during_grace_then_fails() -> None:
    checks = from_check_runs([run("build")])
    during = verdict_of(checks, required=("build", "e2e"))
    assert during.state == "pending"
    assert during.missing == ["e2e"]
    assert "not reported yet: e2e" in describe(during, "abc1234")
    after = verdict_of(checks, grace_over=True, required=("build", "e2e"))
    assert after.state == "failure"
    assert [(c.name, c.conclusion) for c in after.failing] == [("e2e", "missing")]


def test_no_checks_at_all() -> None:
    assert verdict_of([]).state == "pending"
    none = verdict_of([], grace_over=True)
    assert none.state == "failure"
    assert "no checks appeared" in describe(none, "abc1234")
    assert verdict_of([], grace_over=True, allow_none=True).state == "success"


# -- arguments ---------------------------------------------------------------------------------------


def test_args_need_exactly_one_target() -> None:
    with pytest.raises(ValidationError, match="exactly one of `ref`"):
        ChecksArgs.model_validate({"repo": "acme/api"})
    with pytest.raises(ValidationError, match="exactly one of `ref`"):
        ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "number": 3})


def test_args_reject_own_contexts_and_typos() -> None:
    with pytest.raises(ValidationError, match="never waited on"):
        ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "required": ["pressplay/acceptance"]})
    with pytest.raises(ValidationError, match="requird"):
        ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "requird": ["build"]})
    with pytest.raises(ValidationError, match=r"onFailure|on_failure"):
        ChecksArgs.model_validate({"repo": "acme/api", "ref": "main", "onFailure": "ignore"})


def test_args_camel_case_and_durations() -> None:
    args = ChecksArgs.model_validate(
        {
            "repo": "acme/api",
            "number": 7,
            "timeout": "45m",
            "grace": "90s",
            "failFast": True,
            "onFailure": "continue",
        }
    )
    assert args.timeout == timedelta(minutes=45)
    assert args.grace == timedelta(seconds=90)
    assert args.fail_fast
    assert args.on_failure.value == "continue"


# == through real HTTP: agent emulator → sidecar → GitHub emulator ====================================

REPO = "acme/api"
OUTPUTS = ["state", "failing", "checks", "sha", "url", "summary"]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gh(clock: Clock) -> Iterator[GitHubEmulator]:
    with GitHubEmulator(clock=clock) as emulator:
        emulator.create_repo(REPO, files={"README.md": "# api\n"})
        yield emulator
    reset_clients()


def push(gh: GitHubEmulator, branch: str = "feature", text: str = "x") -> str:
    return gh.push(REPO, branch, {"app.py": f"print({text!r})\n"}, message=f"change {text}")


def phases(result: Any) -> list[str | None]:
    return [reply.phase for reply in result.replies]


def test_http_success_after_running(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.simulate_ci(
        REPO, {"build": "success", "test (3.12)": "success"}, statuses={"ci/lint": "success"}, after_polls=3
    )
    sha = push(gh)
    result = sidecar.run_step(
        "checks",
        {"repo": REPO, "ref": "feature", "required": ["build", "test (*)", "ci/lint"]},
        outputs=OUTPUTS,
    )
    assert result.phase == "Succeeded", result.message
    assert phases(result)[0] == "Running"
    assert result.outputs["state"] == "success"
    assert result.outputs["sha"] == sha
    assert json.loads(result.outputs["failing"]) == []
    names = {(c["kind"], c["name"]) for c in json.loads(result.outputs["checks"])}
    assert names == {("check_run", "build"), ("check_run", "test (3.12)"), ("status", "ci/lint")}
    assert result.outputs["summary"] == f"all 3 checks passed on {sha[:7]}"


def test_http_pull_request_head_and_own_context_ignored(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    sha = push(gh)
    number = gh.open_pull(REPO, head="feature", base="main", title="Task 1")
    gh.add_check_run(REPO, sha, "build", conclusion="success")
    gh.add_status(REPO, sha, "pressplay/acceptance", "pending")  # ours: never waited on
    result = sidecar.run_step("checks", {"repo": REPO, "number": number}, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert result.outputs["sha"] == sha
    assert result.outputs["url"].endswith(f"/pull/{number}/checks")
    assert [c["name"] for c in json.loads(result.outputs["checks"])] == ["build"]


def test_http_failure_fails_node_with_links_and_outputs(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", conclusion="success")
    bad = gh.add_check_run(
        REPO, sha, "lint", conclusion="failure", output={"title": "2 errors", "summary": "E501"}
    )
    result = sidecar.run_step("checks", {"repo": REPO, "ref": sha}, outputs=OUTPUTS)
    assert result.phase == "Failed"
    assert "1 of 2 checks failed" in result.message
    assert f"lint: https://github.com/{REPO}/runs/{bad}" in result.message
    (failing,) = json.loads(result.outputs["failing"])
    assert failing == {
        "name": "lint",
        "kind": "check_run",
        "conclusion": "failure",
        "url": f"https://github.com/{REPO}/runs/{bad}",
        "summary": "2 errors: E501",
    }


def test_http_on_failure_continue_routes(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    sha = push(gh)
    gh.add_status(REPO, sha, "ci/e2e", "error", description="browser crashed")
    result = sidecar.run_step(
        "checks", {"repo": REPO, "ref": "feature", "onFailure": "continue"}, outputs=OUTPUTS
    )
    assert result.phase == "Succeeded", result.message
    assert result.outputs["state"] == "failure"
    assert json.loads(result.outputs["failing"])[0]["summary"] == "browser crashed"


def test_http_stale_failed_run_superseded_by_newer_success(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", conclusion="failure")
    gh.advance(120)
    newer = gh.add_check_run(REPO, sha, "build", conclusion="success")
    result = sidecar.run_step("checks", {"repo": REPO, "ref": sha, "required": ["build"]}, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    (check,) = json.loads(result.outputs["checks"])
    assert check["url"].endswith(f"/runs/{newer}")


def test_http_rerun_in_progress_keeps_waiting_then_passes(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", conclusion="failure")
    gh.advance(60)
    rerun = gh.add_check_run(REPO, sha, "build", status="in_progress")
    gh.schedule(lambda: gh.complete_check_run(REPO, rerun, "success"), after_polls=4, path="check-runs")
    result = sidecar.run_step("checks", {"repo": REPO, "ref": sha, "failFast": True}, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert phases(result)[0] == "Running"


def test_http_skipped_and_neutral(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", conclusion="success")
    gh.add_check_run(REPO, sha, "deploy-preview", conclusion="skipped")
    gh.add_check_run(REPO, sha, "scan", conclusion="neutral")
    passed = sidecar.run_step("checks", {"repo": REPO, "ref": sha}, outputs=OUTPUTS)
    assert passed.phase == "Succeeded", passed.message
    assert "1 skipped: deploy-preview" in passed.outputs["summary"]
    assert "1 neutral" in passed.outputs["summary"]
    strict = sidecar.run_step(
        "checks",
        {"repo": REPO, "ref": sha, "skipped": "fail", "neutral": "fail", "onFailure": "continue"},
        outputs=OUTPUTS,
    )
    assert strict.outputs["state"] == "failure"
    assert sorted(c["name"] for c in json.loads(strict.outputs["failing"])) == ["deploy-preview", "scan"]


def test_http_workflow_runs_optional(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    push(gh)
    gh.add_workflow(REPO, ".github/workflows/ci.yml", name="CI")
    gh.run_workflow(REPO, "ci.yml", branch="feature", conclusion="startup_failure")
    result = sidecar.run_step(
        "checks",
        {"repo": REPO, "ref": "feature", "workflowRuns": True, "onFailure": "continue"},
        outputs=OUTPUTS,
    )
    assert result.outputs["state"] == "failure"
    kinds = {(c["kind"], c["conclusion"]) for c in json.loads(result.outputs["failing"])}
    assert ("workflow_run", "startup_failure") in kinds


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"repo": "acme/missing", "ref": "main"}, "not installed on acme/missing"),
        ({"repo": REPO, "ref": "no-such-branch"}, "ref 'no-such-branch' not found in acme/api"),
        ({"repo": REPO, "number": 999}, "pull request #999 not found in acme/api"),
        ({"repo": REPO}, "exactly one of `ref`"),
        ({"repo": "not a repo", "ref": "main"}, "repo"),
        ({"repo": REPO, "ref": "main", "timeout": "soon"}, "timeout"),
        ({"repo": REPO, "ref": "main", "required": ["pressplay/acceptance"]}, "required"),
        ({"repo": REPO, "ref": "main", "skiped": "fail"}, "skiped"),
    ],
)
def test_http_bad_input_fails_naming_the_problem(sidecar: Sidecar, args: dict[str, Any], needle: str) -> None:
    result = sidecar.run_step("checks", args)
    assert result.phase == "Failed"
    assert needle in result.message
    assert len(result.replies) == 1


@pytest.mark.reliability
@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 500},
        {"kind": "status", "status": 502},
        {"kind": "status", "status": 503},
        {"kind": "secondary", "retry_after": 5},
        {"kind": "too_many", "retry_after": 5},
        {"kind": "reset"},
    ],
    ids=lambda f: f"{f['kind']}-{f.get('status', '')}",
)
@pytest.mark.parametrize("route", ["check-runs", r"/statuses$", r"/commits/feature$"])
def test_http_transient_faults_run_then_succeed(
    gh: GitHubEmulator, sidecar: Sidecar, fault: dict[str, Any], route: str
) -> None:
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", conclusion="success")
    gh.inject_fault(route, times=2, **fault)
    result = sidecar.run_step("checks", {"repo": REPO, "ref": "feature"}, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert phases(result)[:2] == ["Running", "Running"]
    assert result.outputs["state"] == "success"


@pytest.mark.parametrize("target", ["number", "branch", "sha"])
def test_http_unchanged_poll_is_conditional_and_free(
    gh: GitHubEmulator, sidecar: Sidecar, target: str
) -> None:
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", status="in_progress")
    gh.add_status(REPO, sha, "ci/lint", "pending")
    number = gh.open_pull(REPO, head="feature", base="main", title="t")
    args: dict[str, Any] = {"repo": REPO, "workflowRuns": True}
    args.update(
        {"number": number} if target == "number" else {"ref": "feature" if target == "branch" else sha}
    )
    first = sidecar.call_step("checks", args)
    assert first.phase == "Running"
    used = gh.rate_limit_used()
    gh.reset_requests()
    second = sidecar.call_step("checks", args)
    assert second.phase == "Running"
    polls = [
        r
        for r in gh.requests
        if r.path.startswith(f"/repos/{REPO}/") and not r.path.endswith("/installation")
    ]
    assert polls, "the poll made no GitHub request"
    assert all(r.method == "GET" and r.conditional and r.status == 304 for r in polls), [
        (r.path, r.status, r.conditional) for r in polls
    ]
    assert gh.rate_limit_used() == used  # 0 rate-limit points for an unchanged poll
    # an unchanged poll backs off: the requeue grows
    assert parse_duration(second.requeue or "0") >= parse_duration(first.requeue or "0")


def test_http_poll_by_full_sha_reads_the_commit_once(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    """A commit named by its full SHA cannot change: later polls ask only for its checks and statuses,
    while a branch is resolved again on every poll (it may have moved)."""
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", status="in_progress")
    for ref, commit_reads in ((sha, 0), ("feature", 1)):
        args = {"repo": REPO, "ref": ref, "required": ["build"]}
        assert sidecar.call_step("checks", args).phase == "Running"
        gh.reset_requests()
        assert sidecar.call_step("checks", args).phase == "Running"
        paths = [r.path for r in gh.requests if r.path.startswith(f"/repos/{REPO}/")]
        assert paths.count(f"/repos/{REPO}/commits/{ref}") == commit_reads, paths
        assert f"/repos/{REPO}/commits/{sha}/check-runs" in paths
        assert f"/repos/{REPO}/commits/{sha}/statuses" in paths


def test_http_low_budget_slows_the_poll(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", status="in_progress")
    normal = sidecar.call_step("checks", {"repo": REPO, "ref": sha})
    gh.set_rate_limit_remaining("acme", 100)
    gh.add_check_run(REPO, sha, "lint", status="in_progress")  # a change, so only the budget slows it
    low = sidecar.call_step("checks", {"repo": REPO, "ref": sha})
    assert low.phase == normal.phase == "Running"
    assert parse_duration(low.requeue or "0") > parse_duration(normal.requeue or "0")


# -- grace and deadline: anchored on GitHub's timestamps, so they survive a restart -------------------


class Clock:
    """The GitHub emulator's clock: real time, or ``behind`` seconds in the past while a test creates
    things that should look old (auth always happens at real time)."""

    def __init__(self) -> None:
        self.behind = 0.0

    def __call__(self) -> datetime:
        return datetime.now(UTC) - timedelta(seconds=self.behind)

    @contextmanager
    def ago(self, seconds: float) -> Iterator[None]:
        self.behind = seconds
        try:
            yield
        finally:
            self.behind = 0.0


def test_http_missing_required_check_waits_in_grace(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    sha = push(gh)
    gh.add_check_run(REPO, sha, "build", conclusion="success")
    reply = sidecar.call_step("checks", {"repo": REPO, "ref": sha, "required": ["build", "e2e"]})
    assert reply.phase == "Running"
    assert "not reported yet: e2e" in reply.message


def test_http_missing_required_check_fails_after_grace(
    gh: GitHubEmulator, sidecar: Sidecar, clock: Clock
) -> None:
    with clock.ago(600):  # the push and the suite are 10 minutes old; grace is 5 minutes
        sha = push(gh)
        gh.add_check_run(REPO, sha, "build", conclusion="success")
    result = sidecar.run_step(
        "checks", {"repo": REPO, "ref": sha, "required": ["build", "e2e"]}, outputs=OUTPUTS
    )
    assert result.phase == "Failed"
    assert "e2e (missing)" in result.message
    assert json.loads(result.outputs["failing"]) == [
        {
            "name": "e2e",
            "kind": "missing",
            "conclusion": "missing",
            "url": "",
            "summary": "required check did not appear",
        }
    ]


def test_http_no_checks_at_all_after_grace(gh: GitHubEmulator, sidecar: Sidecar, clock: Clock) -> None:
    with clock.ago(600):
        sha = push(gh)  # no CI at all: the anchor is the commit's committer date
    failed = sidecar.run_step("checks", {"repo": REPO, "ref": sha})
    assert failed.phase == "Failed"
    assert "no checks appeared within the grace period" in failed.message
    allowed = sidecar.run_step("checks", {"repo": REPO, "ref": sha, "allowNone": True}, outputs=OUTPUTS)
    assert allowed.phase == "Succeeded", allowed.message
    assert allowed.outputs["state"] == "success"


@pytest.mark.slow
@pytest.mark.reliability
def test_http_timeout_survives_a_sidecar_restart(
    gh: GitHubEmulator, sidecar_factory: Callable[..., Sidecar], clock: Clock, tmp_path: Path
) -> None:
    with clock.ago(56):  # the check suite was created 56 s ago; the timeout is 60 s
        sha = push(gh)
        gh.add_check_run(REPO, sha, "build", status="in_progress")
    (suite,) = gh.repo_state(REPO).check_suites.values()
    deadline = suite.created_at + timedelta(seconds=60)
    args = {"repo": REPO, "ref": sha, "timeout": "60s", "onFailure": "continue"}

    first = sidecar_factory(**gh.sidecar_settings())
    reply = first.call_step("checks", args)
    assert reply.phase == "Running"
    assert parse_duration(reply.requeue or "0") <= timedelta(seconds=6)  # never sleeps past the deadline
    first.stop()
    reset_clients()  # nothing of the first sidecar's memory survives

    settings = gh.sidecar_settings()
    env = {f"PRESSPLAY_{k.upper()}": str(v) for k, v in settings.items()}
    with SidecarProcess(env=env, log_path=tmp_path / "sidecar.log") as second:  # a new process
        while datetime.now(UTC) < deadline:
            time.sleep(0.5)
        result = second.run_step("checks", args, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    assert result.outputs["state"] == "timed_out"
    assert result.outputs["summary"].startswith("timed out after 1m")
    (failing,) = json.loads(result.outputs["failing"])
    assert (failing["name"], failing["conclusion"]) == ("build", "timed_out")

    with SidecarProcess(env=env, log_path=tmp_path / "sidecar2.log") as third:
        failed = third.run_step("checks", {**args, "onFailure": "fail"})
    assert failed.phase == "Failed"
    assert (
        f"waiting for the checks on {sha[:7]} (started {suite.created_at.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})"
        in (failed.message)
    )
    assert "last: 1 of 1 checks running: build (in_progress)" in failed.message
    assert "raise `timeout`" in failed.message
