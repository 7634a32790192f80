"""GitHub errors → TemporaryError (requeue) or PermanentError (with GitHub's message and a hint)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pressplay.github import (
    GitHubClients,
    GitHubPermanentError,
    GitHubTemporaryError,
    clients_for,
    reset_clients,
)
from pressplay.github import _client as client_module
from pressplay.steps.base import PermanentError, TemporaryError
from pressplay.testing.github_emulator import GitHubEmulator
from tests.github.conftest import REPO


@pytest.mark.parametrize(
    ("kind", "status", "retry"),
    [
        ("status", 500, 15),
        ("status", 502, 15),
        ("status", 503, 15),
        ("status", 504, 15),
        ("secondary", 403, 42),
        ("too_many", 429, 42),
    ],
)
def test_transient_answers_are_temporary(
    emu: GitHubEmulator, clients: GitHubClients, kind: str, status: int, retry: int
) -> None:
    repo = clients.repo(REPO)
    repo.get("")
    emu.inject_fault(r"/pulls$", kind=kind, status=status, retry_after=42)
    with pytest.raises(TemporaryError) as info:
        repo.get("pulls")
    err = info.value
    assert isinstance(err, GitHubTemporaryError) and err.status == status
    assert err.retry_after == timedelta(seconds=retry)
    assert "/repos/{owner}/{repo}/pulls" in str(err)
    assert repo.get("pulls").status == 200  # the fault was one-off


def test_primary_rate_limit_waits_until_reset(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    repo.get("")
    emu.set_rate_limit_remaining("acme", 0)
    with pytest.raises(GitHubTemporaryError, match="rate limit") as info:
        repo.get("pulls")
    assert info.value.status == 403
    assert 3000 < info.value.retry_after.total_seconds() <= 3601
    assert repo.budget() == 0.0


def test_connection_reset_is_temporary(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    repo.get("")
    emu.inject_fault(r"/pulls$", kind="reset")
    with pytest.raises(GitHubTemporaryError, match=r"could not reach GitHub|failed before GitHub answered"):
        repo.get("pulls")


def test_unreachable_github_is_temporary(emu: GitHubEmulator) -> None:
    reset_clients()
    clients = clients_for(emu.settings(github_api_url="http://127.0.0.1:9"))
    with pytest.raises(GitHubTemporaryError, match="could not reach GitHub"):
        clients.repo(REPO).get("")
    reset_clients()


def test_timeout_is_temporary(emu: GitHubEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "REQUEST_TIMEOUT", 0.3)
    clients = GitHubClients(emu.settings())
    repo = clients.repo(REPO)
    repo.get("")
    emu.inject_fault(r"/pulls$", kind="delay", delay=1.0)
    with pytest.raises(GitHubTemporaryError, match="timed out"):
        repo.get("pulls")
    clients.close()


def test_token_exchange_failures(emu: GitHubEmulator) -> None:
    settings = emu.settings(github_installation_id=emu.installation_id("acme"))
    emu.inject_fault(r"/access_tokens$", kind="status", status=502)
    clients = GitHubClients(settings)
    with pytest.raises(GitHubTemporaryError, match="access_tokens"):
        clients.repo(REPO).get("")
    assert clients.repo(REPO).get("").status == 200  # the next call mints a token
    clients.close()


def test_wrong_app_id_is_permanent_with_a_hint(emu: GitHubEmulator) -> None:
    # discovery (JWT route)
    clients = GitHubClients(emu.settings(github_app_id="999"))
    with pytest.raises(GitHubPermanentError) as info:
        clients.repo(REPO).get("")
    assert info.value.status == 401
    assert "PRESSPLAY_GITHUB_APP_ID" in str(info.value)
    # token exchange inside githubkit's auth flow (arrives wrapped in RequestError)
    clients = GitHubClients(
        emu.settings(github_app_id="999", github_installation_id=emu.installation_id("acme"))
    )
    with pytest.raises(GitHubPermanentError) as info:
        clients.repo(REPO).get("")
    assert info.value.status == 401
    assert "/app/installations/{installation_id}/access_tokens" in str(info.value)
    assert "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE" in str(info.value)


def test_app_not_installed(emu: GitHubEmulator, clients: GitHubClients) -> None:
    emu.create_repo("stranger/repo", installed=False)
    with pytest.raises(GitHubPermanentError) as info:
        clients.repo("stranger/repo").get("")
    assert info.value.status == 404
    assert "not installed on stranger/repo" in str(info.value)
    assert "PRESSPLAY_GITHUB_INSTALLATION_ID" in str(info.value)


def test_not_found_says_what_to_check(emu: GitHubEmulator, clients: GitHubClients) -> None:
    with pytest.raises(GitHubPermanentError) as info:
        clients.repo(REPO).get("pulls/77")
    msg = str(info.value)
    assert info.value.status == 404
    assert "GitHub GET /repos/{owner}/{repo}/pulls/{number} failed with 404: Not Found" in msg
    assert "App is installed on acme/api with contents/pull_requests permissions" in msg


def test_allow_returns_expected_statuses(emu: GitHubEmulator, clients: GitHubClients) -> None:
    resp = clients.repo(REPO).get("branches/nope", allow=(404,))
    assert resp.status == 404 and resp.json["message"] == "Branch not found"


def test_validation_failed_keeps_githubs_errors(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    repo.post("pulls", {"head": "pressplay/task-1", "base": "main", "title": "Task 1"})
    with pytest.raises(GitHubPermanentError) as info:
        repo.post("pulls", {"head": "pressplay/task-1", "base": "main", "title": "Task 1"})
    err = info.value
    assert err.status == 422 and err.github_message == "Validation Failed"
    assert err.mentions("A pull request already exists for acme:pressplay/task-1.")
    assert "A pull request already exists" in str(err)
    emu.push(REPO, "empty", {}, message="nothing", parent=emu.repo_state(REPO).branches["main"])
    emu.repo_state(REPO).branches["empty"] = emu.repo_state(REPO).branches["main"]
    with pytest.raises(GitHubPermanentError, match="No commits between main and empty"):
        repo.post("pulls", {"head": "empty", "base": "main", "title": "nothing"})


def test_forbidden_names_the_missing_permission(emu: GitHubEmulator, clients: GitHubClients) -> None:
    number = emu.add_issue(REPO, "x")
    comment = emu.add_comment(REPO, number, "a human's comment", user="alice")
    with pytest.raises(GitHubPermanentError) as info:
        clients.repo(REPO).patch(f"issues/comments/{comment}", {"body": "edited"})
    assert info.value.status == 403
    assert "issues=write" in str(info.value)
    assert not isinstance(info.value, TemporaryError)


def test_merge_conflicts_and_sha_mismatch(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    pr = repo.post("pulls", {"head": "pressplay/task-1", "base": "main", "title": "Task 1"}).json
    with pytest.raises(GitHubPermanentError) as info:
        repo.put(f"pulls/{pr['number']}/merge", {"sha": "0" * 40})
    assert info.value.status == 409 and "Head branch was modified" in str(info.value)
    emu.set_mergeable(REPO, pr["number"], False, "dirty")
    with pytest.raises(GitHubPermanentError) as info:
        repo.put(f"pulls/{pr['number']}/merge", {"sha": pr["head"]["sha"]})
    assert info.value.status == 405 and "not mergeable" in str(info.value)


def test_permanent_errors_are_step_permanent_errors() -> None:
    assert issubclass(GitHubPermanentError, PermanentError)
    assert issubclass(GitHubTemporaryError, TemporaryError)


def test_rejected_installation_token_is_dropped_and_renewed(
    emu: GitHubEmulator, clients: GitHubClients
) -> None:
    repo = clients.repo(REPO)
    repo.get("")
    emu._tokens.clear()  # GitHub revoked every token (e.g. the App was re-installed)
    with pytest.raises(GitHubTemporaryError, match="rejected the installation token") as info:
        repo.get("pulls")
    assert info.value.status == 401
    assert repo.get("pulls").status == 200
    assert len(emu.issued_tokens) == 2
