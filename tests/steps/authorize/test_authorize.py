"""``authorize``: only a person with write access (or a configured team) starts a flow; a quiet no
otherwise. Through the real sidecar against the GitHub emulator, whose answers follow GitHub's
``repository-collaborator-permission`` shape (checked in tests/github/test_emulator_openapi.py)."""

from __future__ import annotations

import pytest

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar

REPO = "acme/api"
OUTPUTS = ["allowed", "permission", "reason"]


@pytest.fixture
def gh(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.create_repo(REPO, private=True)
    return github_emulator


def ask(sidecar: Sidecar, user: str, **extra: object) -> dict[str, str]:
    result = sidecar.run_step("authorize", {"repo": REPO, "user": user, **extra}, outputs=OUTPUTS)
    assert result.phase == "Succeeded", result.message
    return result.outputs


@pytest.mark.parametrize(("role", "allowed"), [("admin", "true"), ("maintain", "true"), ("write", "true"),
                                               ("triage", "false"), ("read", "false")])  # fmt: skip
def test_write_or_more_is_allowed(gh: GitHubEmulator, sidecar: Sidecar, role: str, allowed: str) -> None:
    gh.set_permission(REPO, "alice", role)
    out = ask(sidecar, "alice")
    assert out["allowed"] == allowed and out["permission"] == role


def test_a_read_only_collaborator_gets_a_quiet_no_naming_what_is_needed(
    gh: GitHubEmulator, sidecar: Sidecar
) -> None:
    """The attack of issue 18: MEMBER/COLLABORATOR association, read-only role → nothing starts."""
    gh.set_permission(REPO, "mallory", "read")
    out = ask(sidecar, "mallory")
    assert out["allowed"] == "false"
    assert (
        out["reason"]
        == "mallory has read access to acme/api; pressplay acts only for write: nothing is started"
    )
    assert not [r for r in gh.requests if r.method != "GET" and "access_tokens" not in r.path]


def test_someone_with_no_access_and_an_unknown_login(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.add_issue(REPO, "hello", user="stranger")  # a GitHub user without any role on the private repo
    assert ask(sidecar, "stranger")["permission"] == "none"
    unknown = ask(sidecar, "nobody-at-all")
    assert unknown["allowed"] == "false" and "not a GitHub user" in unknown["reason"]


def test_bots_are_never_allowed(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    out = ask(sidecar, "pressplay-test[bot]")
    assert (out["allowed"], out["permission"]) == ("false", "bot")
    assert not gh.requests_to(r"/collaborators/")


def test_a_team_member_is_allowed_and_minimum_can_be_raised(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.set_permission(REPO, "carol", "triage")
    gh.add_team_member("acme", "platform", "carol")
    assert ask(sidecar, "carol")["allowed"] == "false"
    assert ask(sidecar, "carol", teams=["acme/platform"])["allowed"] == "true"
    gh.set_permission(REPO, "dave", "write")
    assert ask(sidecar, "dave", minimum="admin")["allowed"] == "false"


def test_the_token_is_narrowed_to_the_repository_and_metadata(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    gh.set_permission(REPO, "alice", "write")
    ask(sidecar, "alice")
    assert gh.token_scopes[-1] == (["api"], {"metadata": "read"})


def test_bad_arguments_name_the_field(gh: GitHubEmulator, sidecar: Sidecar) -> None:
    bad = sidecar.run_step("authorize", {"repo": REPO, "user": "a b", "teams": ["platform"]})
    assert bad.phase == "Failed"
    assert "authorize.user: must be a GitHub login" in bad.message
    assert "authorize.teams: 'platform' is not a team" in bad.message
