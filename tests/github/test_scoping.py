"""Issue 18: the sidecar acts only on the repositories of its allow-list, and each installation token
it mints is narrowed to one repository and to the permissions the calling step declares; the GitHub
emulator enforces both as GitHub does (404 outside the token's repositories, 403 without the permission)."""

from __future__ import annotations

import pytest

from pressplay.github import GitHubPermanentError, ScopedGitHub, clients_for, reset_clients
from pressplay.steps.registry import installed
from pressplay.testing.github_emulator import GitHubEmulator


@pytest.fixture
def emu(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.create_repo("acme/api", files={"README.md": "# api\n"})
    github_emulator.create_repo("acme/secrets", files={"README.md": "# secrets\n"})
    return github_emulator


def test_a_repository_outside_the_allow_list_is_refused_before_any_call(emu: GitHubEmulator) -> None:
    reset_clients()
    clients = clients_for(emu.settings(repositories="acme/api, other/*"))
    assert clients.repo("ACME/API").get("").status == 200
    before = len(emu.requests)
    with pytest.raises(GitHubPermanentError) as err:
        clients.repo("acme/secrets")
    assert (
        "repository acme/secrets is not one this sidecar may act on: add it to PRESSPLAY_REPOSITORIES"
        in str(err.value)
    )
    assert len(emu.requests) == before
    reset_clients()


def test_a_token_reaches_only_its_repository(emu: GitHubEmulator) -> None:
    reset_clients()
    clients = clients_for(emu.settings())
    api = clients.repo("acme/api")
    api.get("")
    assert emu.token_scopes[-1][0] == ["api"]
    # the same token sent to another repository of the installation is GitHub's 404
    token = emu.issued_tokens[-1]
    import httpx

    other = httpx.get(
        f"{emu.url}/repos/acme/secrets", headers={"Authorization": f"token {token}"}, timeout=10
    )
    assert other.status_code == 404
    reset_clients()


def test_a_step_token_carries_only_the_step_permissions(emu: GitHubEmulator) -> None:
    reset_clients()
    status = installed().get("status")
    assert status.permissions == {"statuses": "write"}
    scoped = ScopedGitHub(clients_for(emu.settings()), status.permissions)
    repo = scoped.repo("acme/api")
    with pytest.raises(GitHubPermanentError) as err:
        repo.post("issues", {"title": "not a status"})
    assert err.value.status == 403
    assert emu.permission_refusals == [("POST", "/repos/acme/api/issues")]
    assert emu.token_scopes[-1] == (["api"], {"statuses": "write", "metadata": "read"})
    reset_clients()


def test_every_installed_step_declares_its_permissions() -> None:
    for key, spec in installed().load_all().items():
        assert spec.permissions is not None, f"step {key} declares no GitHub permissions"
        assert all(level in {"read", "write"} for level in spec.permissions.values()), key
