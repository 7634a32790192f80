"""The client layer against the emulator: App auth, caches, conditional requests, pagination, budget."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from pressplay.config import Settings
from pressplay.github import (
    GitHubClients,
    GitHubPermanentError,
    GitHubTemporaryError,
    clients_for,
    reset_clients,
    route_template,
)
from pressplay.steps.base import PermanentError
from pressplay.testing.github_emulator import GitHubEmulator
from tests.github.conftest import REPO


def _routes(emu: GitHubEmulator) -> list[tuple[str, str, str | None]]:
    return [(r.method, r.route, r.auth) for r in emu.requests]


def test_app_jwt_then_installation_token_then_token_calls(
    emu: GitHubEmulator, clients: GitHubClients
) -> None:
    repo = clients.repo(REPO)
    assert repo.get("").json["full_name"] == REPO
    assert repo.get("pulls").json == []
    repo.post("issues", {"title": "hello"})
    calls = _routes(emu)
    assert calls[0] == ("GET", "/repos/{owner}/{repo}/installation", "jwt")
    assert calls[1] == ("POST", "/app/installations/{installation_id}/access_tokens", "jwt")
    assert [c[2] for c in calls[2:]] == ["token", "token", "token"]
    # exactly one token exchange and one discovery for all the calls: both are cached
    assert len(emu.issued_tokens) == 1
    assert repo.installation_id == emu.installation_id("acme")
    repo.get("issues/1")
    assert len(emu.requests_to(r"/installation$")) == 1
    assert len(emu.issued_tokens) == 1


def test_installation_discovered_per_repository_and_cached(
    emu: GitHubEmulator, clients: GitHubClients
) -> None:
    emu.create_repo("acme/web")
    emu.create_repo("other-org/lib")
    for name in (REPO, "acme/web", "other-org/lib", REPO, "acme/web"):
        clients.repo(name).get("")
    assert len(emu.requests_to(r"/installation$")) == 3
    assert clients.repo("other-org/lib").installation_id == emu.installation_id("other-org")
    # one token per repository (each narrowed to it), reused on the second call
    assert len(emu.issued_tokens) == 3
    assert sorted(scope for scope, _ in emu.token_scopes) == [["api"], ["lib"], ["web"]]


def test_installation_id_from_settings_skips_discovery(emu: GitHubEmulator) -> None:
    reset_clients()
    clients = clients_for(emu.settings(github_installation_id=emu.installation_id("acme")))
    clients.repo(REPO).get("")
    assert not emu.requests_to(r"/installation$")
    assert emu.requests[0].route == "/app/installations/{installation_id}/access_tokens"


def test_installation_token_renewed_before_it_expires() -> None:
    # githubkit keeps a token until one minute before expires_at: a 62 s token is reused ~2 s
    with GitHubEmulator(token_ttl=timedelta(seconds=62)) as emu:
        emu.create_repo(REPO)
        clients = GitHubClients(emu.settings())
        repo = clients.repo(REPO)
        repo.get("")
        repo.get("branches/main")
        assert len(emu.issued_tokens) == 1
        time.sleep(2.2)
        repo.get("")
        assert len(emu.issued_tokens) == 2
        clients.close()


def test_each_clients_object_has_its_own_token_cache(emu: GitHubEmulator) -> None:
    first, second = GitHubClients(emu.settings()), GitHubClients(emu.settings())
    first.repo(REPO).get("")
    second.repo(REPO).get("")
    assert len(emu.issued_tokens) == 2
    first.close()
    second.close()


def test_bot_login_resolved_once(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    assert repo.bot_login() == "pressplay-emulator[bot]"
    assert clients.bot_login() == "pressplay-emulator[bot]"
    assert [r.path for r in emu.requests].count("/app") == 1


def test_clients_for_is_cached_per_settings(emu: GitHubEmulator) -> None:
    reset_clients()
    settings = emu.settings()
    assert clients_for(settings) is clients_for(emu.settings())
    assert clients_for(settings) is not clients_for(emu.settings(github_installation_id=1))
    reset_clients()


def test_unchanged_poll_is_conditional_and_free(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    emu.add_check_run(REPO, "pressplay/task-1", "build", status="in_progress")
    number = repo.post("pulls", {"head": "pressplay/task-1", "base": "main", "title": "Task 1"}).json[
        "number"
    ]
    for i in range(3):
        emu.add_comment(REPO, number, f"comment {i}")

    def poll() -> list[bool]:
        sha = repo.get(f"pulls/{number}").json["head"]["sha"]
        runs = repo.get_all(f"commits/{sha}/check-runs", key="check_runs")
        status = repo.get(f"commits/{sha}/status")
        comments = repo.get_all(f"issues/{number}/comments")
        return [runs.not_modified, status.not_modified, comments.not_modified]

    assert poll() == [False, False, False]
    used = emu.rate_limit_used()
    emu.reset_requests()
    assert poll() == [True, True, True]
    assert emu.rate_limit_used() == used, "an unchanged poll must cost no rate limit"
    assert emu.requests, "the poll asked GitHub"
    assert all(r.conditional and r.status == 304 and r.cost == 0 for r in emu.requests)

    # a change is seen at once, and costs one point
    emu.add_comment(REPO, number, "new")
    emu.reset_requests()
    comments = clients.repo(REPO).get_all(f"issues/{number}/comments")
    assert not comments.not_modified and len(comments) == 4
    assert [r.cost for r in emu.requests] == [1]


def test_not_modified_returns_cached_body_and_fresh_rate_headers(
    emu: GitHubEmulator, clients: GitHubClients
) -> None:
    repo = clients.repo(REPO)
    first = repo.get("branches/main")
    second = repo.get("branches/main")
    assert second.not_modified and second.status == 200
    assert second.json == first.json
    assert second.etag == first.etag
    assert int(second.headers["x-ratelimit-remaining"]) <= int(first.headers["x-ratelimit-remaining"])
    assert repo.get("branches/main", conditional=False).not_modified is False


def test_get_all_follows_link_pagination_with_100_per_page(
    emu: GitHubEmulator, clients: GitHubClients
) -> None:
    number = emu.add_issue(REPO, "busy issue")
    for i in range(230):
        emu.add_comment(REPO, number, f"c{i}")
    comments = clients.repo(REPO).get_all(f"issues/{number}/comments")
    assert [c["body"] for c in comments] == [f"c{i}" for i in range(230)]
    assert comments.pages == 3
    pages = emu.requests_to(rf"/issues/{number}/comments$")
    assert [r.query.get("per_page") for r in pages] == ["100", "100", "100"]
    assert [r.query.get("page") for r in pages] == [None, "2", "3"]
    assert not comments.truncated
    first_two = clients.repo(REPO).get_all(f"issues/{number}/comments", max_pages=2)
    assert len(first_two) == 200 and first_two.truncated


def test_get_all_of_wrapped_lists_and_filters(emu: GitHubEmulator, clients: GitHubClients) -> None:
    for name in ("build", "lint", "test"):
        emu.add_check_run(REPO, "main", name, conclusion="success")
    runs = clients.repo(REPO).get_all("commits/main/check-runs", {"check_name": "lint"})
    assert [r["name"] for r in runs] == ["lint"]
    assert runs.total_count == 1


def test_budget_tracks_the_installation_rate_limit(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    assert repo.budget() == 1.0  # nothing known yet
    repo.get("")
    assert 0.99 < repo.budget() <= 1.0
    emu.set_rate_limit_remaining("acme", 500)
    repo.get("", conditional=False)
    assert repo.budget() == pytest.approx(499 / 5000)


def test_graphql_enables_auto_merge(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    emu.protect_branch(REPO, "main", required_checks=["build"])
    pr = repo.post("pulls", {"head": "pressplay/task-1", "base": "main", "title": "Task 1"}).json
    data = repo.graphql(
        """mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: SQUASH}) {
             pullRequest { number autoMergeRequest { mergeMethod enabledBy { login } } } } }""",
        {"id": pr["node_id"]},
    )
    auto = data["enablePullRequestAutoMerge"]["pullRequest"]["autoMergeRequest"]
    assert auto == {"mergeMethod": "SQUASH", "enabledBy": {"login": "pressplay-emulator[bot]"}}
    assert repo.get(f"pulls/{pr['number']}").json["auto_merge"]["merge_method"] == "squash"
    # once the required check passes, GitHub merges it
    emu.add_check_run(REPO, pr["head"]["sha"], "build", conclusion="success")
    merged = repo.get(f"pulls/{pr['number']}").json
    assert merged["merged"] is True and merged["state"] == "closed"


def test_graphql_errors_become_permanent_errors(emu: GitHubEmulator, clients: GitHubClients) -> None:
    repo = clients.repo(REPO)
    pr = repo.post("pulls", {"head": "pressplay/task-1", "base": "main", "title": "Task 1"}).json
    with pytest.raises(GitHubPermanentError, match="clean status"):
        repo.graphql(
            "mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id}) { clientMutationId } }",
            {"id": pr["node_id"]},
        )
    with pytest.raises(GitHubPermanentError, match="Cannot query field"):
        repo.graphql('{ repository(owner: "acme", name: "api") { nope } }')


def test_concurrent_calls_from_threads(emu: GitHubEmulator, clients: GitHubClients) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            repo = clients.repo(REPO)
            for _ in range(5):
                assert repo.get("branches/main").json["name"] == "main"
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(emu.requests_to(r"/branches/main$")) == 40


def test_link_to_another_host_is_refused(emu: GitHubEmulator, clients: GitHubClients) -> None:
    with pytest.raises(PermanentError, match="refusing to send GitHub credentials"):
        clients.repo(REPO).get("https://evil.example.com/repos/acme/api")


def test_route_templates_keep_cardinality_bounded() -> None:
    sha = "a" * 40
    assert route_template("/repos/a/b/pulls/7") == "/repos/{owner}/{repo}/pulls/{number}"
    assert (
        route_template(f"/repos/a/b/commits/{sha}/check-runs")
        == "/repos/{owner}/{repo}/commits/{ref}/check-runs"
    )
    assert (
        route_template("/repos/a/b/commits/pressplay/task-1/status")
        == "/repos/{owner}/{repo}/commits/{ref}/status"
    )
    assert route_template("/repos/a/b/contents/src/deep/x.py") == "/repos/{owner}/{repo}/contents/{path}"
    assert (
        route_template("/repos/a/b/issues/3/labels/bug")
        == "/repos/{owner}/{repo}/issues/{number}/labels/{name}"
    )
    assert route_template("/repos/a/b/git/ref/heads/x/y") == "/repos/{owner}/{repo}/git/ref/{ref}"
    assert route_template("/repos/a/b/issues/comments/55") == "/repos/{owner}/{repo}/issues/comments/{id}"
    assert (
        route_template("/app/installations/12/access_tokens")
        == "/app/installations/{installation_id}/access_tokens"
    )


def test_settings_without_app_fail_with_the_setting_names(tmp_path: object) -> None:
    reset_clients()
    with pytest.raises(PermanentError) as info:
        clients_for(Settings())
    assert "PRESSPLAY_GITHUB_APP_ID" in str(info.value)
    assert "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE" in str(info.value)
    with pytest.raises(PermanentError, match="PRESSPLAY_GITHUB_PRIVATE_KEY_FILE"):
        clients_for(Settings(github_app_id="1"))
    with pytest.raises(PermanentError, match="cannot read PRESSPLAY_GITHUB_PRIVATE_KEY_FILE"):
        clients_for(Settings(github_app_id="1", github_private_key_file="/nonexistent/key.pem"))


def test_a_key_file_that_is_not_a_key_is_reported(tmp_path: pytest.TempPathFactory) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "key.pem"
    bad.write_text("-----BEGIN RSA PRIVATE KEY-----\nnot really\n-----END RSA PRIVATE KEY-----\n")
    with pytest.raises(PermanentError, match="does not hold an unencrypted PEM private key") as info:
        clients_for(Settings(github_app_id="1", github_private_key_file=bad))
    assert "not really" not in str(info.value)


def test_rotated_key_file_gets_new_clients(emu: GitHubEmulator) -> None:
    reset_clients()
    first = clients_for(emu.settings())
    assert emu.private_key_file is not None
    text = emu.private_key_file.read_bytes()
    time.sleep(0.01)
    emu.private_key_file.write_bytes(text + b"\n")
    assert clients_for(emu.settings()) is not first
    reset_clients()


def test_temporary_error_is_a_step_temporary_error() -> None:
    from pressplay.steps.base import TemporaryError

    err = GitHubTemporaryError("x", 12)
    assert isinstance(err, TemporaryError) and err.retry_after == timedelta(seconds=12)


def test_etag_cache_is_bounded_by_entries_and_bytes() -> None:
    from pressplay.github._client import _EtagCache

    cache = _EtagCache(size=3, max_bytes=1000)
    for i in range(5):
        cache.put(f"k{i}", (f'W/"{i}"', 200, {"i": i}, {}), 100)
    assert len(cache) == 3 and cache.get("k0") is None and cache.get("k4") is not None
    cache.get("k2")  # recently used survives
    cache.put("big", ('W/"b"', 200, {}, {}), 240)
    cache.put("big2", ('W/"c"', 200, {}, {}), 240)
    assert cache.get("k2") is not None and cache.get("k3") is None
    assert cache.nbytes <= 1000
    cache.put("huge", ('W/"h"', 200, {}, {}), 600)  # more than a quarter: not cached at all
    assert cache.get("huge") is None


def test_immutable_get_is_read_once(emu: GitHubEmulator, clients: GitHubClients) -> None:
    sha = emu.push(REPO, "feature", {"x.txt": "x\n"})
    repo = clients.repo(REPO)
    first = repo.get(f"commits/{sha}", immutable=True)
    assert not first.not_modified and first.json["sha"] == sha
    emu.reset_requests()
    again = repo.get(f"commits/{sha}", immutable=True)
    assert again.not_modified and again.json == first.json and again.etag == first.etag
    assert again.url.endswith(f"/repos/{REPO}/commits/{sha}")
    assert emu.requests == [], "an immutable resource already read is not asked for again"
    assert repo.get(f"commits/{sha}").not_modified  # without the flag: revalidated (a free 304)
    assert [r.status for r in emu.requests] == [304]


def test_response_headers_are_case_insensitive(emu: GitHubEmulator, clients: GitHubClients) -> None:
    resp = clients.repo(REPO).get("")
    assert resp.headers["ETag"] == resp.headers["etag"] == resp.etag
    again = clients.repo(REPO).get("")
    assert again.not_modified and again.headers["X-RateLimit-Remaining"]


def test_github_enterprise_server_layout() -> None:
    """GHES: REST under https://HOST/api/v3, GraphQL at https://HOST/api/graphql."""
    with GitHubEmulator(api_prefix="/api/v3") as emu:
        emu.create_repo(REPO)
        emu.push(REPO, "feature", {"x.txt": "x\n"})
        number = emu.add_issue(REPO, "paged")
        for i in range(120):
            emu.add_comment(REPO, number, f"c{i}")
        settings = emu.settings()
        assert settings.github_api_url.endswith("/api/v3")
        clients = GitHubClients(settings)
        repo = clients.repo(REPO)
        assert repo.get("").json["url"] == f"{emu.url}/repos/{REPO}"
        assert len(repo.get_all(f"issues/{number}/comments")) == 120
        pr = repo.post("pulls", {"head": "feature", "base": "main", "title": "x"}).json
        data = repo.graphql(
            "query($o: String!, $n: String!, $num: Int!) { repository(owner: $o, name: $n) "
            "{ pullRequest(number: $num) { number } } }",
            {"o": "acme", "n": "api", "num": pr["number"]},
        )
        assert data == {"repository": {"pullRequest": {"number": pr["number"]}}}
        assert repo.bot_login() == "pressplay-emulator[bot]"
        assert all(not r.path.startswith("/api/") for r in emu.requests)
        assert emu.requests_to(r"^/graphql$")
        clients.close()


def test_private_key_from_the_environment_as_plugin_yaml_passes_it(emu: GitHubEmulator) -> None:
    """The agent pod has no volume for the sidecar, so plugin.yaml passes the PEM via env from the Secret."""
    overrides = emu.sidecar_settings()
    pem = Path(overrides.pop("github_private_key_file")).read_text()
    settings = Settings(**overrides, github_private_key=pem)
    reset_clients()
    try:
        repo = clients_for(settings).repo(REPO)
        assert repo.get("").json["full_name"] == REPO
    finally:
        reset_clients()
    with pytest.raises(GitHubPermanentError, match="PRESSPLAY_GITHUB_PRIVATE_KEY does not hold") as info:
        GitHubClients(Settings(**overrides, github_private_key="-----BEGIN nonsense-----"))
    assert "nonsense" not in str(info.value)


def test_installation_token_for_git_is_fresh_and_scoped(emu: GitHubEmulator, clients: GitHubClients) -> None:
    first = clients.installation_token(REPO, permissions={"contents": "write"})
    second = clients.installation_token(REPO, permissions={"contents": "write"})
    assert first.startswith("ghs_")
    assert first != second, "minted per request, never served from a cache"
    exchanges = [r for r in _routes(emu) if r[1] == "/app/installations/{installation_id}/access_tokens"]
    assert len(exchanges) == 2
    assert all(r[2] == "jwt" for r in exchanges)


def test_importing_the_client_layer_leaves_githubkit_and_httpx_for_the_first_app_call() -> None:
    """A sidecar that polls pays for githubkit/httpx (~10 MiB) only once it mints a token."""
    import subprocess
    import sys

    code = (
        "import sys, pressplay.github, pressplay.steps.checks;"
        "print(sorted(m for m in ('githubkit', 'httpx') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_the_same_settings_see_a_rotated_key_within_the_recheck_interval(
    emu: GitHubEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pressplay.github import _client

    reset_clients()
    settings = emu.settings()
    first = clients_for(settings)
    assert clients_for(settings) is first  # the hot path: no stat of the key file
    assert emu.private_key_file is not None
    text = emu.private_key_file.read_bytes()
    time.sleep(0.01)
    emu.private_key_file.write_bytes(text + b"\n")
    monkeypatch.setattr(_client, "KEY_RECHECK_S", 0.0)
    assert clients_for(settings) is not first
    reset_clients()
