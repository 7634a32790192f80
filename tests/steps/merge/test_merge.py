"""``merge``: the mergeability rules and argument checks, on GitHub-shaped data (no server)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from pressplay.github import reset_clients
from pressplay.steps.merge import _AUTO_MERGE_OFF, _METHOD_REFUSED, MergeArgs, blocker
from pressplay.testing.agent import Result
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar


def pr(**fields: Any) -> dict[str, Any]:
    base = {"number": 7, "draft": False, "mergeable": True, "mergeable_state": "clean"}
    return {**base, **fields}


@pytest.mark.parametrize("state", ["clean", "unstable", "has_hooks"])
def test_mergeable_states_let_it_merge(state: str) -> None:
    assert blocker(pr(mergeable_state=state), []) is None


@pytest.mark.parametrize(
    ("fields", "words", "short"),
    [
        ({"mergeable": None, "mergeable_state": "unknown"}, "still computing", True),
        ({"mergeable": None}, "still computing", True),
        ({"mergeable": False, "mergeable_state": "dirty"}, "merge conflicts", False),
        ({"mergeable_state": "behind"}, "behind its base", False),
        ({"mergeable_state": "blocked"}, "branch protection", False),
        ({"draft": True, "mergeable_state": "draft"}, "draft", False),
    ],
)
def test_blockers_say_why(fields: dict[str, Any], words: str, short: bool) -> None:
    found = blocker(pr(**fields), [])
    assert found is not None
    assert words in found.reason
    assert found.short is short


def test_changes_requested_wins_over_a_clean_state() -> None:
    found = blocker(pr(), ["alice", "bob"])
    assert found is not None
    assert "@alice, @bob" in found.reason
    assert "a person must act" in found.reason


@pytest.mark.parametrize(
    ("said", "method_refused", "auto_merge_off"),
    [
        ("Merge method squash merging is not allowed on this repository", True, False),
        ("Squash merges are not allowed on this repository.", True, False),
        ("Merge commits are not allowed on this repository.", True, False),
        ("Pull request Auto merge is not allowed for this repository", False, True),
        ("Pull request is in clean status", False, False),
    ],
)
def test_github_refusals_are_told_apart(said: str, method_refused: bool, auto_merge_off: bool) -> None:
    assert bool(_METHOD_REFUSED.search(said)) is method_refused
    assert bool(_AUTO_MERGE_OFF.search(said)) is auto_merge_off


def test_args_reject_bad_values_naming_the_field() -> None:
    with pytest.raises(ValidationError) as err:
        MergeArgs.model_validate({"repo": "acme/api", "number": 7, "method": "octopus"})
    assert "method" in str(err.value)
    with pytest.raises(ValidationError) as err:
        MergeArgs.model_validate({"repo": "acme/api", "number": 7, "sha": "main"})
    assert "full commit SHA" in str(err.value)
    with pytest.raises(ValidationError) as err:
        MergeArgs.model_validate({"repo": "acme/api", "number": 7, "timeout": "soon"})
    assert "timeout" in str(err.value)


def test_args_defaults() -> None:
    args = MergeArgs.model_validate({"repo": "acme/api", "number": "7", "timeout": "30m"})
    assert (args.method.value, args.mode.value, args.timeout.total_seconds()) == ("squash", "auto", 1800)


# -- through real HTTP: agent emulator → sidecar → GitHub emulator ------------------------------------

REPO = "acme/api"
HEAD = "pressplay/task-7"
OUTPUTS = ["sha", "url", "state", "mergedAt", "mergedBy"]


@pytest.fixture
def gh(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.create_repo(REPO)
    github_emulator.push(REPO, HEAD, {"health.py": "def health():\n    return 'ok'\n"}, message="Task 7")
    github_emulator.open_pull(REPO, HEAD, "main", "Task 7", user=github_emulator.bot.login)  # #1
    return github_emulator


def call(sidecar: Sidecar, **args: object) -> Result:
    base: dict[str, object] = {"repo": REPO, "number": 1, "timeout": "1h"}
    return sidecar.run_step("merge", {**base, **args}, outputs=OUTPUTS)


def once(sidecar: Sidecar, **args: object) -> Any:
    base: dict[str, object] = {"repo": REPO, "number": 1, "timeout": "1h"}
    return sidecar.call_step("merge", {**base, **args}, outputs=OUTPUTS)


def merge_puts(gh: GitHubEmulator) -> list[int]:
    return [r.status for r in gh.requests_to(r"/pulls/1/merge$", "PUT")]


def long_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=2)).isoformat()


@pytest.mark.parametrize("mode", ["direct", "auto"])
def test_a_mergeable_pr_is_merged_exactly_once(gh: GitHubEmulator, sidecar: Sidecar, mode: str) -> None:
    results = [call(sidecar, mode=mode) for _ in range(3)]
    assert [r.phase for r in results] == ["Succeeded"] * 3, [r.message for r in results]
    pr = gh.pull(REPO, 1)
    assert pr["merged"] is True
    assert {r.outputs["sha"] for r in results} == {pr["merge_commit_sha"]}
    assert gh.repo_state(REPO).branches["main"] == pr["merge_commit_sha"]
    assert merge_puts(gh) == [200]
    out = results[0].outputs
    assert (out["state"], out["mergedBy"]) == ("merged", gh.bot.login)
    assert out["mergedAt"]
    assert out["url"].endswith(f"/{REPO}/pull/1")
    assert f"{REPO}#1 merged as {pr['merge_commit_sha'][:7]}" in out["summary"]
    # squash: one parent
    assert len(gh.repo_state(REPO).commits[pr["merge_commit_sha"]].parents) == 1


def test_auto_enables_auto_merge_and_github_merges_once_protection_allows(
    gh: GitHubEmulator, sidecar: Sidecar
) -> None:
    gh.protect_branch(REPO, "main", required_approvals=1)
    first = once(sidecar, mode="auto", method="merge")
    assert first.phase == "Running", first.message
    assert "auto-merge (merge) enabled" in first.message
    assert "branch protection is not satisfied" in first.message
    auto = gh.pull(REPO, 1)["auto_merge"]
    assert auto["merge_method"] == "merge"
    assert auto["enabled_by"]["login"] == gh.bot.login
    again = once(sidecar, mode="auto", method="merge")
    assert again.phase == "Running"
    assert "auto-merge is on" in again.message
    gh.schedule(
        lambda: gh.add_review(REPO, 1, user="alice", state="APPROVED"), after_polls=2, path=r"/pulls/1$"
    )
    result = call(sidecar, mode="auto", method="merge")
    assert result.phase == "Succeeded", result.message
    assert merge_puts(gh) == []  # GitHub merged it, not pressplay
    pr = gh.pull(REPO, 1)
    assert result.outputs["sha"] == pr["merge_commit_sha"]
    assert len(gh.repo_state(REPO).commits[pr["merge_commit_sha"]].parents) == 2


def test_direct_never_overrides_protection(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.protect_branch(REPO, "main", required_checks=["build"])
    gh.add_status(REPO, HEAD, "build", "pending")
    for _ in range(3):
        reply = once(sidecar, mode="direct")
        assert reply.phase == "Running"
        assert "branch protection is not satisfied" in reply.message
    assert merge_puts(gh) == []
    gh.schedule(lambda: gh.add_status(REPO, HEAD, "build", "success"), after_polls=1, path=r"/pulls/1$")
    result = call(sidecar, mode="direct")
    assert result.phase == "Succeeded", result.message
    assert merge_puts(gh) == [200]


def test_changes_requested_waits_for_a_person_then_times_out(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.add_review(REPO, 1, user="alice", state="CHANGES_REQUESTED")
    waiting = once(sidecar, mode="direct")
    assert waiting.phase == "Running"
    assert "changes requested by @alice" in waiting.message
    assert "a person must act" in waiting.message
    assert merge_puts(gh) == []
    timed_out = call(sidecar, mode="direct", since=long_ago())
    assert timed_out.phase == "Failed"
    assert "timed out after 1h" in timed_out.message
    assert "changes requested by @alice" in timed_out.message
    gh.add_review(REPO, 1, user="alice", state="APPROVED")
    assert call(sidecar, mode="direct").phase == "Succeeded"


def test_auto_merge_we_enabled_is_withdrawn_when_changes_are_requested(
    gh: GitHubEmulator, sidecar: Sidecar
) -> None:
    gh.protect_branch(REPO, "main", required_checks=["build"])
    assert once(sidecar, mode="auto").phase == "Running"
    assert gh.pull(REPO, 1)["auto_merge"] is not None
    gh.add_review(REPO, 1, user="alice", state="CHANGES_REQUESTED")
    reply = once(sidecar, mode="auto")
    assert reply.phase == "Running"
    assert "changes requested by @alice" in reply.message
    assert gh.pull(REPO, 1)["auto_merge"] is None


def test_wait_mode_never_merges_and_succeeds_when_a_person_does(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    reply = once(sidecar, mode="wait")
    assert reply.phase == "Running"
    assert "waiting for a person to merge" in reply.message
    gh.schedule(lambda: gh.merge(REPO, 1, user="octocat"), after_polls=2, path=r"/pulls/1$")
    result = call(sidecar, mode="wait")
    assert result.phase == "Succeeded", result.message
    assert result.outputs["mergedBy"] == "octocat"
    assert merge_puts(gh) == []


def test_github_still_computing_is_a_short_requeue(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.set_mergeable(REPO, 1, None, "unknown")
    reply = once(sidecar, mode="direct")
    assert reply.phase == "Running"
    assert "still computing" in reply.message
    assert reply.requeue == "10s"
    gh.schedule(lambda: gh.set_mergeable(REPO, 1, None, None), after_polls=1, path=r"/pulls/1$")
    assert call(sidecar, mode="direct").phase == "Succeeded"


def test_a_head_that_moves_during_the_merge_is_checked_again(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    # A push lands between our read of the PR and our merge: GitHub answers 409 and nothing merges.
    gh.schedule(lambda: gh.push(REPO, HEAD, {"late.py": "x = 2\n"}), after_polls=1, path=r"/pulls/1/reviews$")
    result = call(sidecar, mode="direct")
    assert result.phase == "Succeeded", result.message
    assert merge_puts(gh) == [409, 200]
    assert "late.py" in gh.repo_state(REPO).commits[result.outputs["sha"]].tree


def test_a_verified_sha_is_the_only_one_merged(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    verified = gh.repo_state(REPO).branches[HEAD]
    gh.push(REPO, HEAD, {"unverified.py": "x = 3\n"})
    result = call(sidecar, mode="direct", sha=verified)
    assert result.phase == "Failed"
    assert f"moved from the verified {verified[:7]}" in result.message
    assert merge_puts(gh) == []


def test_closed_without_merging_fails(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    with gh.lock:
        gh.repo_state(REPO).issues[1].state = "closed"
    result = call(sidecar)
    assert result.phase == "Failed"
    assert "closed without merging" in result.message


@pytest.mark.parametrize(
    ("path", "method", "kind"),
    [
        (r"/pulls/1$", "GET", "status"),
        (r"/pulls/1/reviews$", "GET", "secondary"),
        (r"/pulls/1/merge$", "PUT", "status"),
        (r"/graphql$", "POST", "status"),
        (r"/pulls/1/merge$", "PUT", "reset"),
    ],
)
def test_transient_faults_run_then_succeed_with_one_merge(
    gh: GitHubEmulator, sidecar: Sidecar, path: str, method: str, kind: str
) -> None:
    gh.inject_fault(path, method=method, kind=kind, status=502, retry_after=1)
    result = call(sidecar, mode="direct")
    assert result.phase == "Succeeded", result.message
    if path != r"/graphql$":  # direct mode on a clean PR needs no GraphQL
        assert result.replies[0].phase == "Running"
    assert [s for s in merge_puts(gh) if s == 200] == [200]
    assert gh.pull(REPO, 1)["merged"] is True


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"repo": "acme/nope"}, "acme/nope"),
        ({"number": 42}, "pull request #42 not found in acme/api"),
        ({"method": "octopus"}, "merge.method"),
        ({"mode": "admin"}, "merge.mode"),
        ({"timeout": "forever"}, "merge.timeout"),
        ({"sha": "abc"}, "merge.sha"),
        ({"force": True}, "merge.force: unknown argument"),
    ],
)
def test_bad_input_fails_naming_the_problem(
    gh: GitHubEmulator, sidecar: Sidecar, args: dict[str, object], words: str
) -> None:
    result = call(sidecar, **args)
    assert result.phase == "Failed"
    assert words in result.message


def test_the_deadline_comes_from_github_not_from_memory(
    gh: GitHubEmulator, sidecar_factory: Callable[..., Sidecar]
) -> None:
    # No `since`: the wait started at the later of the PR's creation and its head commit's date.
    state = gh.repo_state(REPO)
    with gh.lock:
        state.commits[state.branches[HEAD]].date = datetime.now(UTC) - timedelta(minutes=30)
        state.issues[1].created_at = datetime.now(UTC) - timedelta(minutes=40)
    first = sidecar_factory(**gh.sidecar_settings())
    assert (
        first.call_step("merge", {"repo": REPO, "number": 1, "mode": "wait", "timeout": "1h"}).phase
        == "Running"
    )
    first.stop()
    reset_clients()  # a restarted sidecar: no caches, same answer from GitHub's timestamps
    with gh.lock:
        state.commits[state.branches[HEAD]].date = datetime.now(UTC) - timedelta(minutes=90)
        state.issues[1].created_at = datetime.now(UTC) - timedelta(minutes=100)
    second = sidecar_factory(**gh.sidecar_settings())
    reply = second.call_step("merge", {"repo": REPO, "number": 1, "mode": "wait", "timeout": "1h"})
    assert reply.phase == "Failed"
    assert "timed out after 1h" in reply.message


def test_an_unchanged_wait_costs_no_rate_limit(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    assert once(sidecar, mode="wait").phase == "Running"
    gh.reset_requests()
    assert once(sidecar, mode="wait").phase == "Running"
    assert gh.requests, "the poll read GitHub"
    assert {r.status for r in gh.requests} == {304}
    assert sum(r.cost for r in gh.requests) == 0


def test_an_expired_wait_does_not_leave_auto_merge_behind(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.protect_branch(REPO, "main", required_approvals=1)
    result = call(sidecar, mode="auto", since=long_ago())
    assert result.phase == "Failed"
    assert "timed out after 1h" in result.message
    assert "branch protection is not satisfied" in result.message
    assert gh.pull(REPO, 1)["auto_merge"] is None
