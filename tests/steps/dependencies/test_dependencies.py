"""``dependencies`` through the real sidecar against the GitHub emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from tests.steps.conftest import REPO, TASKS_PATH, Rest, task, task_pr, tasks_file

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar


@pytest.fixture
def repo(gh: GitHubEmulator) -> str:
    gh.create_repo(
        REPO, files={TASKS_PATH: tasks_file(task(1), task(2), task(3, status="done"), task(4, [1, 2, 3]))}
    )
    return REPO


def test_no_dependencies_succeeds_at_once(repo: str, side: Sidecar) -> None:
    for empty in ([], "", "[]"):
        result = side.run_step(
            "dependencies", {"repo": repo, "task": 4, "dependsOn": empty}, outputs=["count"]
        )
        assert result.phase == "Succeeded", result.message
        assert result.outputs["count"] == "0"
        assert len(result.replies) == 1


def test_waits_until_every_dependency_is_merged(
    gh: GitHubEmulator, repo: str, side: Sidecar, rest: Rest
) -> None:
    first = task_pr(gh, rest, 1, merged=True)
    second = task_pr(gh, rest, 2)
    args = {"repo": repo, "task": "4", "dependsOn": '["1", "2", "3"]', "node": "wf.deps(4)"}

    waiting = side.call_step("dependencies", args)
    assert waiting.phase == "Running"
    assert waiting.message == f"task 4 waits for 1 of 3 dependencies: task 2 (PR #{second} open)"
    assert waiting.requeue

    # merge the second PR after a few more polls of its issue list; the agent's requeue loop sees it
    gh.schedule(lambda: gh.merge(REPO, second), after_polls=2, path=r"/issues$")
    result = side.run_step("dependencies", args, outputs=["merged", "count"])
    assert result.phase == "Succeeded", result.message
    assert len(result.replies) >= 2
    merged = json.loads(result.outputs["merged"])
    assert [(m["task"], m["pr"], m["how"]) for m in merged] == [
        ("1", first, "merged"),
        ("2", second, "merged"),
        ("3", None, "done in tasks file"),
    ]
    assert "all 3 dependencies of task 4 are done" in result.message


def test_unchanged_polls_are_conditional_and_free(
    gh: GitHubEmulator, repo: str, side: Sidecar, rest: Rest
) -> None:
    task_pr(gh, rest, 1)
    args = {"repo": repo, "task": 4, "dependsOn": [1]}
    assert side.call_step("dependencies", args).phase == "Running"
    gh.reset_requests()
    again = side.call_step("dependencies", args)
    assert again.phase == "Running"
    reads = [r for r in gh.requests if r.path.startswith(f"/repos/{REPO}/")]
    assert reads
    assert {r.status for r in reads} == {304}, [(r.path, r.status) for r in reads]


def test_closed_unmerged_dependency_fails(gh: GitHubEmulator, repo: str, side: Sidecar, rest: Rest) -> None:
    number = task_pr(gh, rest, 1, closed=True)
    task_pr(gh, rest, 2, merged=True)
    result = side.run_step("dependencies", {"repo": repo, "task": 4, "dependsOn": "1,2"})
    assert result.phase == "Failed"
    assert (
        f"task 1 (PR #{number} https://github.com/{REPO}/pull/{number}) was closed without merging"
        in result.message
    )
    assert "Reopen and merge it" in result.message


def test_unknown_dependency_fails(repo: str, side: Sidecar) -> None:
    result = side.run_step("dependencies", {"repo": repo, "task": 4, "dependsOn": [1, 42]})
    assert result.phase == "Failed"
    assert (
        "task 4 depends on 42, which .taskmaster/tasks/tasks.json (tag master) does not have"
        in result.message
    )


def test_cancelled_dependency_fails_fast(gh: GitHubEmulator, side: Sidecar, rest: Rest) -> None:
    gh.create_repo(
        REPO,
        files={
            TASKS_PATH: tasks_file(task(1, status="cancelled"), task(2, status="deferred"), task(3, [1, 2]))
        },
    )
    result = side.run_step("dependencies", {"repo": REPO, "task": 3, "dependsOn": [1, 2]})
    assert result.phase == "Failed"
    assert (
        "task 3 depends on 1 (cancelled), 2 (deferred) in .taskmaster/tasks/tasks.json (tag master)"
        in result.message
    )
    task_pr(gh, rest, 1, merged=True)  # merged before it was cancelled: it counts as done
    task_pr(gh, rest, 2, merged=True)
    assert side.run_step("dependencies", {"repo": REPO, "task": 3, "dependsOn": [1, 2]}).phase == "Succeeded"


def test_without_a_tasks_file_only_merged_prs_count(gh: GitHubEmulator, side: Sidecar, rest: Rest) -> None:
    gh.create_repo(REPO, files={"README.md": "x"})
    task_pr(gh, rest, 9, merged=True)
    result = side.run_step("dependencies", {"repo": REPO, "task": 10, "dependsOn": [9], "tasksPath": ""})
    assert result.phase == "Succeeded", result.message
    missing = side.run_step("dependencies", {"repo": REPO, "task": 10, "dependsOn": [9]})
    assert missing.phase == "Failed"
    assert ".taskmaster/tasks/tasks.json does not exist" in missing.message


def test_deadline_from_since(gh: GitHubEmulator, repo: str, side: Sidecar) -> None:
    result = side.run_step(
        "dependencies",
        {"repo": repo, "task": 4, "dependsOn": [2], "since": "2026-01-01T00:00:00Z", "timeout": "1h"},
    )
    assert result.phase == "Failed"
    assert "timed out after 1h0m0s waiting for task 4's dependencies: task 2 (no PR yet)" in result.message


def test_without_since_the_deadline_follows_the_last_progress(
    gh: GitHubEmulator, repo: str, side: Sidecar, rest: Rest
) -> None:
    number = task_pr(gh, rest, 2)
    state = gh.repo_state(REPO)
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    for commit in state.commits.values():
        commit.date = long_ago
    state.issues[number].updated_at = long_ago
    args = {"repo": repo, "task": 4, "dependsOn": [2], "timeout": "2h"}
    stalled = side.run_step("dependencies", args)
    assert stalled.phase == "Failed"
    assert "timed out after 2h0m0s waiting for task 4's dependencies: task 2 (PR" in stalled.message
    # the dependency's PR moves: the wait is alive again
    state.issues[number].updated_at = datetime.now(UTC) - timedelta(minutes=5)
    assert side.call_step("dependencies", args).phase == "Running"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ({"dependsOn": "[1,"}, "dependsOn looks like a JSON list but is not valid JSON"),
        ({"dependsOn": [True]}, "must be a number or a string"),
        ({"task": "4 5"}, "cannot be used in a branch or label name"),
        ({"dependsOn": [4]}, "task 4 lists itself in dependsOn"),
        ({"timeout": "soon"}, "dependencies.timeout"),
    ],
)
def test_bad_arguments(repo: str, side: Sidecar, args: dict[str, object], words: str) -> None:
    result = side.run_step("dependencies", {"repo": repo, "task": 4, "dependsOn": [1], **args})
    assert result.phase == "Failed"
    assert words in result.message
