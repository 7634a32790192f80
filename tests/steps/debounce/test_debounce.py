"""``debounce`` through the real sidecar: only the newest trigger of a burst proceeds."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.steps.conftest import REPO, ReviewComments

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.github_emulator._model import CheckApp
from pressplay.testing.sidecar import Sidecar

OUT = ["proceed", "reason", "newer", "headSha"]


@pytest.fixture
def pr(gh: GitHubEmulator, review_comments: ReviewComments) -> int:
    gh.create_repo(REPO, files={"README.md": "# api\n"})
    gh.push(REPO, "pressplay/task-1", {"app.py": "1\n"}, message="Task 1")
    return gh.open_pull(
        REPO, "pressplay/task-1", "main", "Task 1", user=gh.bot.login, author_association="NONE"
    )


def ago(seconds: int) -> datetime:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0)


def backdate_comment(gh: GitHubEmulator, cid: int, seconds: int) -> datetime:
    comment = gh.repo_state(REPO).comments[cid]
    comment.created_at = comment.updated_at = ago(seconds)
    return comment.created_at


def run(side: Sidecar, number: int, **args: object) -> dict[str, str]:
    result = side.run_step("debounce", {"repo": REPO, "number": number, "quiet": "10s", **args}, outputs=OUT)
    assert result.phase == "Succeeded", result.message
    return result.outputs


def test_only_the_newest_trusted_comment_proceeds(gh: GitHubEmulator, side: Sidecar, pr: int) -> None:
    first = gh.add_comment(REPO, pr, "please rename foo", user="ann", author_association="MEMBER")
    second = gh.add_comment(REPO, pr, "and add a test", user="bob", author_association="COLLABORATOR")
    t1 = backdate_comment(gh, first, 60)
    t2 = backdate_comment(gh, second, 30)
    # noise that never triggers: our own App, a bot, someone without write access
    backdate_comment(gh, gh.add_comment(REPO, pr, "report", user=gh.bot.login, author_association="NONE"), 20)
    backdate_comment(gh, gh.add_comment(REPO, pr, "+1", user="drive-by", author_association="NONE"), 15)

    older = run(side, pr, kind="comment", eventTime=t1.isoformat(), eventId=first)
    assert older["proceed"] == "false"
    assert json.loads(older["newer"])["id"] == second
    assert "the newest (comment" in older["reason"] and "by bob" in older["reason"]

    newest = run(side, pr, kind="comment", eventTime=t2.isoformat(), eventId=second)
    assert newest["proceed"] == "true", newest["reason"]
    assert json.loads(newest["newer"]) == {}

    # a review asking for changes after it supersedes it; an approval or a plain comment review would not
    gh.add_review(REPO, pr, user="carol", state="APPROVED")
    gh.add_review(REPO, pr, user="carol", state="COMMENTED", body="looks ok")
    assert run(side, pr, kind="comment", eventTime=t2.isoformat(), eventId=second)["proceed"] == "true"
    gh.add_review(REPO, pr, user="carol", state="CHANGES_REQUESTED", body="no")
    assert run(side, pr, kind="comment", eventTime=t2.isoformat(), eventId=second)["proceed"] == "false"


def test_review_comments_compete_with_comments(
    gh: GitHubEmulator, side: Sidecar, pr: int, review_comments: ReviewComments
) -> None:
    first = gh.add_comment(REPO, pr, "see inline notes", user="ann")
    t1 = backdate_comment(gh, first, 60)
    same = ago(30).strftime("%Y-%m-%dT%H:%M:%SZ")
    a = review_comments.add(pr, "rename this", user="ann", at=same)
    b = review_comments.add(pr, "and this", user="ann", at=same)
    review_comments.add(
        pr, "nit", user="drive-by", association="CONTRIBUTOR", at=ago(5).strftime("%Y-%m-%dT%H:%M:%SZ")
    )

    older = run(side, pr, kind="comment", eventTime=t1.isoformat(), eventId=first)
    assert older["proceed"] == "false"
    assert json.loads(older["newer"])["kind"] == "reviewComment"
    # the review's comments arrive in the same second: the one with the largest id goes on
    assert run(side, pr, kind="comment", eventTime=same, eventId=a)["proceed"] == "false"
    assert run(side, pr, kind="comment", eventTime=same, eventId=b)["proceed"] == "true"


def test_ties_in_the_same_second_are_broken_by_id(gh: GitHubEmulator, side: Sidecar, pr: int) -> None:
    a = gh.add_comment(REPO, pr, "a", user="ann")
    b = gh.add_comment(REPO, pr, "b", user="ann")
    same = backdate_comment(gh, a, 40)
    backdate_comment(gh, b, 40)
    assert run(side, pr, kind="comment", eventTime=same.isoformat(), eventId=a)["proceed"] == "false"
    assert run(side, pr, kind="comment", eventTime=same.isoformat(), eventId=b)["proceed"] == "true"


def _fail(
    gh: GitHubEmulator, sha: str, name: str, seconds: int, app: str = "github-actions"
) -> tuple[int, datetime]:
    rid = gh.add_check_run(REPO, sha, name, status="completed", conclusion="failure", app=app)
    run_ = gh.repo_state(REPO).check_runs[rid]
    if app not in ("github-actions", gh.app_slug):  # another CI system's App
        run_.app = CheckApp(id=77, slug=app, name=app.title(), owner=gh.users[gh.bot.login])
    run_.completed_at = ago(seconds)
    run_.started_at = ago(seconds + 30)
    return rid, run_.completed_at


def test_check_runs_last_failure_of_a_burst_proceeds(gh: GitHubEmulator, side: Sidecar, pr: int) -> None:
    head = gh.pull(REPO, pr)["head"]["sha"]
    build, t_build = _fail(gh, head, "build", 60, app="buildkite")
    test, t_test = _fail(gh, head, "test", 40, app="buildkite")
    _fail(gh, head, "pressplay-report", 20, app=gh.app_slug)  # our own App's check never triggers

    first = run(side, pr, kind="checkRun", eventTime=t_build.isoformat(), eventId=build, sha=head)
    assert first["proceed"] == "false"
    assert json.loads(first["newer"])["id"] == test
    last = run(side, pr, kind="checkRun", eventTime=t_test.isoformat(), eventId=test, sha=head)
    assert last["proceed"] == "true", last["reason"]
    assert last["headSha"] == head


def test_ci_kind_counts_workflow_runs_not_their_jobs(gh: GitHubEmulator, side: Sidecar, pr: int) -> None:
    head = gh.pull(REPO, pr)["head"]["sha"]
    external, t_external = _fail(gh, head, "e2e", 90, app="buildkite")
    gh.add_workflow(REPO, ".github/workflows/ci.yml", "CI")
    run_id = gh.run_workflow(REPO, "ci.yml", head_sha=head, branch="pressplay/task-1", conclusion="failure")
    wf_run = gh.repo_state(REPO).runs[run_id]
    wf_run.updated_at = ago(30)
    _fail(gh, head, "lint", 20)  # an Actions job finishing later: represented by its (earlier) run

    older = run(side, pr, kind="ci", eventTime=t_external.isoformat(), eventId=external, sha=head)
    assert older["proceed"] == "false"
    assert json.loads(older["newer"])["kind"] == "workflowRun"
    newest = run(side, pr, kind="ci", eventTime=wf_run.updated_at.isoformat(), eventId=run_id, sha=head)
    assert newest["proceed"] == "true", newest["reason"]
    # with checkRun only, the Actions job counts
    assert run(side, pr, kind="checkRun", eventTime=t_external.isoformat(), sha=head)["proceed"] == "false"


def test_ci_superseded_by_a_newer_head(gh: GitHubEmulator, side: Sidecar, pr: int) -> None:
    old = gh.pull(REPO, pr)["head"]["sha"]
    rid, when = _fail(gh, old, "build", 60)
    new = gh.push(REPO, "pressplay/task-1", {"app.py": "2\n"}, message="fix")
    moved = run(side, pr, kind="ci", eventTime=when.isoformat(), eventId=rid, sha=old)
    assert moved["proceed"] == "false"
    assert f"moved from {old[:7]} to {new[:7]}" in moved["reason"]
    # without the SHA, a newer failing run on the new head still supersedes it
    _fail(gh, new, "build", 10, app="buildkite")
    assert run(side, pr, kind="ci", eventTime=when.isoformat(), eventId=rid)["proceed"] == "false"


def test_waits_for_the_quiet_period_without_holding_the_call(side: Sidecar, pr: int) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    reply = side.call_step(
        "debounce",
        {"repo": REPO, "number": pr, "kind": "comment", "eventTime": now.isoformat(), "quiet": "30s"},
    )
    assert reply.phase == "Running"
    assert "settle until" in reply.message
    assert reply.requeue in {"30s", "31s", "29s"}


def test_closed_pull_request_never_proceeds(gh: GitHubEmulator, side: Sidecar, pr: int) -> None:
    gh.merge(REPO, pr)
    out = run(side, pr, kind="comment", eventTime=ago(60).isoformat())
    assert out["proceed"] == "false"
    assert out["reason"] == f"{REPO}#{pr} is merged"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"kind": "push"}, "debounce.kind: Input should be 'comment', 'checkRun', 'workflowRun' or 'ci'"),
        ({"eventTime": "yesterday"}, "debounce.eventTime"),
        ({"eventTime": "2026-11-25T10:00:00"}, "debounce.eventTime: Input should have timezone info"),
        ({"quiet": "2h"}, "quiet may be at most 1h"),
        ({"sha": "abc"}, "debounce.sha: must be a full commit SHA"),
        ({"number": 0}, "debounce.number"),
    ],
)
def test_bad_arguments(side: Sidecar, args: dict[str, object], words: str) -> None:
    base = {"repo": REPO, "number": 1, "kind": "comment", "eventTime": "2026-11-25T10:00:00Z"}
    result = side.run_step("debounce", {**base, **args})
    assert result.phase == "Failed"
    assert words in result.message
