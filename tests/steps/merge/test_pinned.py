"""``merge`` with ``sha``: only the head that passed acceptance is merged (issue 18).

The task flow passes the acceptance step's ``sha`` output (tests/manifests/test_merge_pinned.py); these
tests push between acceptance and merge, as a person, CI or a remediation agent (with the App's write
access) could, and check that the new head is never merged.
"""

from __future__ import annotations

from typing import Any

import pytest

from pressplay.testing.agent import Result
from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar

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


@pytest.mark.parametrize("mode", ["direct", "auto"])
def test_a_push_between_acceptance_and_merge_is_not_merged(
    gh: GitHubEmulator, sidecar: Sidecar, mode: str
) -> None:
    """Attack: the flow's merge had no `sha`, so a commit pushed after acceptance passed was merged
    unaccepted. With the accepted SHA, merge fails naming the moved head, and nothing merges."""
    accepted = gh.repo_state(REPO).branches[HEAD]
    pushed = gh.push(REPO, HEAD, {"backdoor.py": "import os\n"}, message="after acceptance")
    result = call(sidecar, mode=mode, sha=accepted)
    assert result.phase == "Failed"
    assert f"moved from the verified {accepted[:7]} to {pushed[:7]}" in result.message
    assert "run checks and acceptance again for the new head" in result.message
    assert gh.pull(REPO, 1)["merged"] is False
    assert merge_puts(gh) == []


def test_auto_with_a_pinned_sha_never_leaves_github_a_later_push_to_merge(
    gh: GitHubEmulator, sidecar: Sidecar
) -> None:
    """Attack: `auto` turned GitHub's auto-merge on for the accepted head while a review was missing;
    a remediation agent (the App has write access, so GitHub keeps auto-merge on) pushed, the review
    came, and GitHub merged the unaccepted head before pressplay looked again (this failed before:
    the PR was merged with `backdoor.py`). With `sha`, auto-merge is never on: pressplay merges
    itself with the SHA in the call."""
    gh.protect_branch(REPO, "main", required_approvals=1)
    accepted = gh.repo_state(REPO).branches[HEAD]
    waiting = once(sidecar, mode="auto", sha=accepted)
    assert waiting.phase == "Running", waiting.message
    auto_merge_on = gh.pull(REPO, 1)["auto_merge"] is not None
    gh.push(REPO, HEAD, {"backdoor.py": "import os\n"}, message="pushed by an agent after acceptance")
    gh.add_review(REPO, 1, user="alice", state="APPROVED")
    result = call(sidecar, mode="auto", sha=accepted)
    assert gh.pull(REPO, 1)["merged"] is False
    assert "backdoor.py" not in gh.repo_state(REPO).commits[gh.repo_state(REPO).branches["main"]].tree
    assert result.phase == "Failed"
    assert f"moved from the verified {accepted[:7]}" in result.message
    assert not auto_merge_on
    assert f"merging the verified {accepted[:7]} once it is allowed" in waiting.message


def test_auto_with_a_pinned_sha_merges_that_sha_once_allowed(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.protect_branch(REPO, "main", required_approvals=1)
    accepted = gh.repo_state(REPO).branches[HEAD]
    assert once(sidecar, mode="auto", sha=accepted).phase == "Running"
    gh.add_review(REPO, 1, user="alice", state="APPROVED")
    result = call(sidecar, mode="auto", sha=accepted)
    assert result.phase == "Succeeded", result.message
    assert merge_puts(gh) == [200]
    assert "health.py" in gh.repo_state(REPO).commits[result.outputs["sha"]].tree


def test_an_auto_merge_left_on_is_turned_off_when_a_sha_is_pinned(
    gh: GitHubEmulator, sidecar: Sidecar
) -> None:
    """An earlier run (without `sha`) left GitHub's auto-merge on: with `sha` it is turned off, since
    GitHub would merge whatever head is there when protection allows."""
    gh.protect_branch(REPO, "main", required_approvals=1)
    assert once(sidecar, mode="auto").phase == "Running"
    assert gh.pull(REPO, 1)["auto_merge"] is not None
    accepted = gh.repo_state(REPO).branches[HEAD]
    assert once(sidecar, mode="auto", sha=accepted).phase == "Running"
    assert gh.pull(REPO, 1)["auto_merge"] is None
