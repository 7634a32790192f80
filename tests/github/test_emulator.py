"""The emulator's own behaviour: auth, GitHub's validation, merges, CI simulation, actions, git import,
GraphQL, rate limits and faults."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pressplay.testing.github_emulator import GitHubEmulator

R = "acme/api"


@pytest.fixture
def gh(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.create_repo(R, files={"README.md": "# api\n", "app.py": "v = 1\n"})
    github_emulator.push(R, "feature", {"app.py": "v = 2\n"}, message="Feature")
    return github_emulator


@pytest.fixture
def http(gh: GitHubEmulator) -> httpx.Client:
    client = httpx.Client(
        base_url=gh.url, headers={"Authorization": f"token {gh.installation_token('acme')}"}
    )
    yield client  # type: ignore[misc]
    client.close()


# -- auth -----------------------------------------------------------------------------------------------
def test_requests_without_valid_credentials_get_401(gh: GitHubEmulator) -> None:
    with httpx.Client(base_url=gh.url) as anon:
        assert anon.get(f"/repos/{R}").status_code == 401
        assert (
            anon.get(f"/repos/{R}", headers={"Authorization": "token ghs_nope"}).json()["message"]
            == "Bad credentials"
        )
        # app routes want the App's JWT, not a token
        token = gh.installation_token("acme")
        assert anon.get("/app", headers={"Authorization": f"token {token}"}).status_code == 401
        assert anon.get("/app", headers={"Authorization": "Bearer not.a.jwt"}).status_code == 401
        assert anon.get("/app", headers={"Authorization": f"Bearer {gh.make_jwt()}"}).status_code == 200


def test_jwt_must_be_signed_by_the_app_key_and_fresh(gh: GitHubEmulator) -> None:
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = int(gh.now().timestamp())
    forged = jwt.encode({"iat": now - 60, "exp": now + 500, "iss": str(gh.app_id)}, other, "RS256")
    with httpx.Client(base_url=gh.url) as anon:
        assert anon.get("/app", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
        expired = gh.make_jwt(ttl=-10)
        assert (
            "Expiration time"
            in anon.get("/app", headers={"Authorization": f"Bearer {expired}"}).json()["message"]
        )
        too_long = gh.make_jwt(ttl=3600)
        assert anon.get("/app", headers={"Authorization": f"Bearer {too_long}"}).status_code == 401


def test_installation_tokens_expire(gh: GitHubEmulator, http: httpx.Client) -> None:
    assert http.get(f"/repos/{R}").status_code == 200
    gh.advance(3601)
    assert http.get(f"/repos/{R}").status_code == 401


def test_token_only_sees_its_installations_repositories(gh: GitHubEmulator) -> None:
    gh.create_repo("other/secret")
    token = gh.installation_token("acme")
    with httpx.Client(base_url=gh.url, headers={"Authorization": f"token {token}"}) as http:
        assert http.get("/repos/other/secret").status_code == 404


# -- pulls ----------------------------------------------------------------------------------------------
def test_pull_request_validation_like_github(gh: GitHubEmulator, http: httpx.Client) -> None:
    ok = http.post(f"/repos/{R}/pulls", json={"head": "feature", "base": "main", "title": "F"})
    assert ok.status_code == 201
    pr = ok.json()
    assert pr["user"]["login"] == "pressplay-emulator[bot]" and pr["user"]["type"] == "Bot"
    assert pr["commits"] == 1 and pr["changed_files"] == 1
    dup = http.post(f"/repos/{R}/pulls", json={"head": "acme:feature", "base": "main", "title": "F"})
    assert dup.status_code == 422
    assert dup.json()["errors"][0]["message"] == "A pull request already exists for acme:feature."
    missing = http.post(f"/repos/{R}/pulls", json={"head": "nope", "base": "main", "title": "F"})
    assert missing.json()["errors"] == [{"resource": "PullRequest", "field": "head", "code": "invalid"}]
    gh.push(R, "same", {}, message="noop", parent=gh.repo_state(R).branches["main"])
    gh.repo_state(R).branches["same"] = gh.repo_state(R).branches["main"]
    empty = http.post(f"/repos/{R}/pulls", json={"head": "same", "base": "main", "title": "F"})
    assert empty.json()["errors"][0]["message"] == "No commits between main and same"
    listed = http.get(
        f"/repos/{R}/pulls", params={"head": "acme:feature", "base": "main", "state": "open"}
    ).json()
    assert [p["number"] for p in listed] == [pr["number"]]
    assert http.get(f"/repos/{R}/pulls", params={"head": "acme:other"}).json() == []


def test_head_sha_follows_pushes_and_merge_needs_the_current_sha(
    gh: GitHubEmulator, http: httpx.Client
) -> None:
    pr = http.post(f"/repos/{R}/pulls", json={"head": "feature", "base": "main", "title": "F"}).json()
    new = gh.push(R, "feature", {"b.txt": "b\n"}, message="more")
    assert http.get(f"/repos/{R}/pulls/{pr['number']}").json()["head"]["sha"] == new
    stale = http.put(f"/repos/{R}/pulls/{pr['number']}/merge", json={"sha": pr["head"]["sha"]})
    assert stale.status_code == 409
    merged = http.put(f"/repos/{R}/pulls/{pr['number']}/merge", json={"sha": new, "merge_method": "squash"})
    assert merged.status_code == 200 and merged.json()["merged"] is True
    main = gh.repo_state(R).branches["main"]
    assert merged.json()["sha"] == main
    content = http.get(f"/repos/{R}/contents/b.txt").json()
    assert content["encoding"] == "base64" and content["content"] == "Ygo=\n"
    after = http.get(f"/repos/{R}/pulls/{pr['number']}").json()
    assert after["merged"] and after["state"] == "closed" and after["merge_commit_sha"] == main
    assert http.put(f"/repos/{R}/pulls/{pr['number']}/merge", json={}).status_code == 405


def test_conflicts_make_a_pr_unmergeable(gh: GitHubEmulator, http: httpx.Client) -> None:
    pr = http.post(f"/repos/{R}/pulls", json={"head": "feature", "base": "main", "title": "F"}).json()
    gh.push(R, "main", {"app.py": "v = 3\n"}, message="conflicting")
    now = http.get(f"/repos/{R}/pulls/{pr['number']}").json()
    assert now["mergeable"] is False and now["mergeable_state"] == "dirty"
    assert http.put(f"/repos/{R}/pulls/{pr['number']}/merge", json={}).status_code == 405


def test_branch_protection_blocks_until_checks_and_reviews(gh: GitHubEmulator, http: httpx.Client) -> None:
    gh.protect_branch(R, "main", required_checks=["build"], required_approvals=1)
    pr = http.post(f"/repos/{R}/pulls", json={"head": "feature", "base": "main", "title": "F"}).json()
    assert pr["mergeable_state"] == "blocked"
    blocked = http.put(f"/repos/{R}/pulls/{pr['number']}/merge", json={})
    assert (
        blocked.status_code == 405
        and blocked.json()["message"] == 'Required status check "build" is expected.'
    )
    gh.add_check_run(R, "feature", "build", conclusion="success")
    assert "approving review" in http.put(f"/repos/{R}/pulls/{pr['number']}/merge", json={}).json()["message"]
    gh.add_review(R, pr["number"], user="alice", state="APPROVED")
    assert http.get(f"/repos/{R}/pulls/{pr['number']}").json()["mergeable_state"] == "clean"
    gh.add_check_run(R, "feature", "lint", conclusion="failure")
    assert http.get(f"/repos/{R}/pulls/{pr['number']}").json()["mergeable_state"] == "unstable"


def test_requested_reviewers(gh: GitHubEmulator, http: httpx.Client) -> None:
    number = gh.open_pull(R, "feature", title="by alice", user="alice")
    bad = http.post(f"/repos/{R}/pulls/{number}/requested_reviewers", json={"reviewers": ["alice"]})
    assert bad.status_code == 422 and "author" in bad.json()["errors"][0]["message"]
    http.post(f"/repos/{R}/pulls/{number}/requested_reviewers", json={"reviewers": ["bob", "carol"]})
    got = http.get(f"/repos/{R}/pulls/{number}/requested_reviewers").json()
    assert [u["login"] for u in got["users"]] == ["bob", "carol"]
    gh.add_review(R, number, user="bob", state="CHANGES_REQUESTED")
    assert [
        u["login"] for u in http.get(f"/repos/{R}/pulls/{number}/requested_reviewers").json()["users"]
    ] == ["carol"]
    reviews = http.get(f"/repos/{R}/pulls/{number}/reviews").json()
    assert [(r["user"]["login"], r["state"]) for r in reviews] == [("bob", "CHANGES_REQUESTED")]


# -- issues, comments, labels -----------------------------------------------------------------------------
def test_comments_paginate_with_link_headers(gh: GitHubEmulator, http: httpx.Client) -> None:
    number = gh.add_issue(R, "chatty")
    for i in range(5):
        gh.add_comment(R, number, f"c{i}", user="alice", author_association="COLLABORATOR")
    first = http.get(f"/repos/{R}/issues/{number}/comments", params={"per_page": 2})
    assert [c["body"] for c in first.json()] == ["c0", "c1"]
    assert first.json()[0]["author_association"] == "COLLABORATOR"
    links = first.headers["link"]
    assert 'rel="next"' in links and 'rel="last"' in links and "page=3" in links
    assert "link" not in http.get(f"/repos/{R}/issues/{number}/comments").headers


def test_only_our_comments_can_be_edited(gh: GitHubEmulator, http: httpx.Client) -> None:
    number = gh.add_issue(R, "x")
    mine = http.post(f"/repos/{R}/issues/{number}/comments", json={"body": "hello"}).json()
    assert mine["user"]["login"] == gh.bot.login
    assert (
        http.patch(f"/repos/{R}/issues/comments/{mine['id']}", json={"body": "edited"}).json()["body"]
        == "edited"
    )
    theirs = gh.add_comment(R, number, "human")
    assert http.patch(f"/repos/{R}/issues/comments/{theirs}", json={"body": "x"}).status_code == 403
    assert http.delete(f"/repos/{R}/issues/comments/{mine['id']}").status_code == 204
    assert http.get(f"/repos/{R}/issues/comments/{mine['id']}").status_code == 404
    too_long = http.post(f"/repos/{R}/issues/{number}/comments", json={"body": "x" * 65537})
    assert too_long.status_code == 422


def test_labels(gh: GitHubEmulator, http: httpx.Client) -> None:
    number = gh.add_issue(R, "x")
    added = http.post(f"/repos/{R}/issues/{number}/labels", json={"labels": ["pressplay", "task-1"]}).json()
    assert [label["name"] for label in added] == ["pressplay", "task-1"]
    assert (
        http.post(f"/repos/{R}/issues/{number}/labels", json=["Pressplay"]).json()[0]["name"] == "pressplay"
    )
    remaining = http.delete(f"/repos/{R}/issues/{number}/labels/task-1").json()
    assert [label["name"] for label in remaining] == ["pressplay"]
    assert (
        http.delete(f"/repos/{R}/issues/{number}/labels/task-1").json()["message"] == "Label does not exist"
    )
    assert http.post(f"/repos/{R}/labels", json={"name": "bad", "color": "red"}).status_code == 422
    dup = http.post(f"/repos/{R}/labels", json={"name": "PRESSPLAY", "color": "ffffff"})
    assert dup.json()["errors"][0]["code"] == "already_exists"
    filtered = http.get(f"/repos/{R}/issues", params={"labels": "pressplay"}).json()
    assert [i["number"] for i in filtered] == [number]


# -- statuses, checks, CI ---------------------------------------------------------------------------------
def test_combined_status_takes_the_latest_per_context(gh: GitHubEmulator, http: httpx.Client) -> None:
    sha = gh.repo_state(R).branches["feature"]
    assert http.get(f"/repos/{R}/commits/feature/status").json()["state"] == "pending"
    gh.add_status(R, sha, "ci", "failure")
    gh.add_status(R, sha, "ci", "success")
    created = http.post(
        f"/repos/{R}/statuses/{sha}", json={"state": "success", "context": "pressplay/acceptance"}
    )
    assert created.status_code == 201 and created.json()["creator"]["login"] == gh.bot.login
    combined = http.get(f"/repos/{R}/commits/{sha}/status").json()
    assert combined["state"] == "success" and combined["total_count"] == 2
    assert len(http.get(f"/repos/{R}/commits/{sha}/statuses").json()) == 3
    assert http.post(f"/repos/{R}/statuses/{'f' * 40}", json={"state": "success"}).status_code == 422


def test_simulated_ci_completes_after_polls(gh: GitHubEmulator, http: httpx.Client) -> None:
    gh.simulate_ci(R, {"build": "success", "lint": "failure"}, statuses={"legacy": "success"}, after_polls=2)
    sha = gh.push(R, "feature", {"c.txt": "c\n"}, message="push")

    def runs() -> dict[str, tuple[str, str | None]]:
        body = http.get(f"/repos/{R}/commits/{sha}/check-runs").json()
        return {r["name"]: (r["status"], r["conclusion"]) for r in body["check_runs"]}

    assert runs() == {"build": ("in_progress", None), "lint": ("in_progress", None)}
    assert http.get(f"/repos/{R}/commits/{sha}/status").json()["state"] == "pending"
    assert runs() == {"build": ("completed", "success"), "lint": ("completed", "failure")}
    assert http.get(f"/repos/{R}/commits/{sha}/status").json()["state"] == "success"
    suites = http.get(f"/repos/{R}/commits/{sha}/check-suites").json()["check_suites"]
    assert [(s["app"]["slug"], s["conclusion"]) for s in suites] == [("github-actions", "failure")]


def test_check_runs_by_our_app(gh: GitHubEmulator, http: httpx.Client) -> None:
    sha = gh.repo_state(R).branches["feature"]
    run = http.post(f"/repos/{R}/check-runs", json={"name": "pressplay", "head_sha": sha}).json()
    assert run["status"] == "queued" and run["app"]["slug"] == gh.app_slug
    bad = http.patch(f"/repos/{R}/check-runs/{run['id']}", json={"status": "completed"})
    assert bad.status_code == 422
    done = http.patch(
        f"/repos/{R}/check-runs/{run['id']}",
        json={"conclusion": "neutral", "output": {"title": "t", "summary": "s"}},
    ).json()
    assert done["status"] == "completed" and done["output"]["summary"] == "s"
    foreign = gh.add_check_run(R, sha, "build")
    assert http.patch(f"/repos/{R}/check-runs/{foreign}", json={"status": "in_progress"}).status_code == 403
    gh.add_check_run(R, sha, "build", conclusion="success")
    latest = http.get(f"/repos/{R}/commits/{sha}/check-runs", params={"check_name": "build"}).json()
    assert latest["total_count"] == 1 and latest["check_runs"][0]["conclusion"] == "success"
    everything = http.get(f"/repos/{R}/commits/{sha}/check-runs", params={"filter": "all"}).json()
    assert everything["total_count"] == 3


def test_scheduled_actions_at_a_time(gh: GitHubEmulator, http: httpx.Client) -> None:
    run_id = gh.add_check_run(R, "feature", "slow", status="in_progress")
    gh.schedule(lambda: gh.complete_check_run(R, run_id, "success"), at=gh.now() + timedelta(minutes=5))
    assert http.get(f"/repos/{R}/check-runs/{run_id}").json()["status"] == "in_progress"
    gh.advance(301)
    assert http.get(f"/repos/{R}/check-runs/{run_id}").json()["conclusion"] == "success"


# -- actions ----------------------------------------------------------------------------------------------
def test_workflow_dispatch_creates_a_run_that_completes(gh: GitHubEmulator, http: httpx.Client) -> None:
    gh.add_workflow(R, ".github/workflows/deploy.yml", "Deploy")
    gh.on_dispatch(R, "deploy.yml", conclusion="failure", after_polls=1)
    resp = http.post(
        f"/repos/{R}/actions/workflows/deploy.yml/dispatches",
        json={"ref": "main", "inputs": {"env": "prod"}, "return_run_details": True},
    )
    assert resp.status_code == 200
    run_id = resp.json()["workflow_run_id"]
    run = http.get(f"/repos/{R}/actions/runs/{run_id}").json()
    assert (run["event"], run["status"], run["head_branch"]) == ("workflow_dispatch", "in_progress", "main")
    run = http.get(f"/repos/{R}/actions/runs/{run_id}").json()
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    listed = http.get(
        f"/repos/{R}/actions/runs", params={"event": "workflow_dispatch", "branch": "main"}
    ).json()
    assert [r["id"] for r in listed["workflow_runs"]] == [run_id]
    assert (
        http.post(f"/repos/{R}/actions/workflows/deploy.yml/dispatches", json={"ref": "main"}).status_code
        == 204
    )
    assert (
        http.post(f"/repos/{R}/actions/workflows/nope.yml/dispatches", json={"ref": "main"}).status_code
        == 404
    )


def test_a_runs_display_title_is_its_workflows_run_name_rendered_like_actions(
    gh: GitHubEmulator, http: httpx.Client
) -> None:
    """Actions titles a run with the workflow file's ``run-name`` (``github`` and ``inputs`` contexts;
    a missing property renders empty) and falls back to the workflow's name without one."""
    path = ".github/workflows/deploy.yml"
    text = (
        "name: Deploy\n"
        'run-name: "${{ github.workflow }} ${{ inputs.pressplay_id }} to ${{ github.event.inputs.env }}'
        ' by ${{ github.actor }}${{ inputs.missing }} on ${{ github.ref_name }} dry=${{ inputs.dry }}"\n'
        "on: {workflow_dispatch: {inputs: {pressplay_id: {}, env: {}, dry: {type: boolean}}}}\n"
        "jobs: {}\n"
    )
    gh.push(R, "main", {path: text}, message="Add deploy")
    gh.add_workflow(R, path, "Deploy")
    resp = http.post(
        f"/repos/{R}/actions/workflows/deploy.yml/dispatches",
        json={
            "ref": "main",
            "inputs": {"pressplay_id": "pp-1a2b", "env": "prod", "dry": False},
            "return_run_details": True,
        },
    )
    assert resp.status_code == 200, resp.text
    run = http.get(f"/repos/{R}/actions/runs/{resp.json()['workflow_run_id']}").json()
    assert run["display_title"] == f"Deploy pp-1a2b to prod by {run['actor']['login']} on main dry=false"

    gh.push(R, "main", {path: text.replace("run-name", "# run-name")}, message="No run-name")
    resp = http.post(
        f"/repos/{R}/actions/workflows/deploy.yml/dispatches",
        json={"ref": "main", "inputs": {"pressplay_id": "pp-3c4d"}, "return_run_details": True},
    )
    run = http.get(f"/repos/{R}/actions/runs/{resp.json()['workflow_run_id']}").json()
    assert run["display_title"] == "Deploy"


# -- git import -------------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("git") is None, reason="needs the git CLI")
def test_sync_from_a_local_bare_repository(gh: GitHubEmulator, tmp_path: Path) -> None:
    bare, work = tmp_path / "remote.git", tmp_path / "work"
    env = {
        "GIT_AUTHOR_NAME": "Dev",
        "GIT_AUTHOR_EMAIL": "dev@example.com",
        "GIT_COMMITTER_NAME": "Dev",
        "GIT_COMMITTER_EMAIL": "dev@example.com",
        "HOME": str(tmp_path),
        "PATH": "/usr/bin:/bin",
    }

    def git(*args: str, cwd: Path = tmp_path) -> str:
        return subprocess.run(
            ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
        ).stdout

    git("init", "--bare", "-b", "main", str(bare))
    git("clone", str(bare), str(work))
    (work / "README.md").write_text("# synced\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "first", cwd=work)
    git("push", "origin", "main", cwd=work)
    git("checkout", "-b", "pressplay/task-7", cwd=work)
    (work / "src").mkdir()
    (work / "src" / "x.py").write_bytes(b"print('x')\n")
    git("add", ".", cwd=work)
    git("commit", "-m", "task 7\n\nPressplay-Step: author", cwd=work)
    git("push", "origin", "pressplay/task-7", cwd=work)

    gh.create_repo("acme/synced")
    pushes: list[tuple[str, str]] = []
    gh.on_push(lambda repo, branch, sha, before: pushes.append((branch, sha)))
    heads = gh.sync_from_git("acme/synced", bare)
    head = git("rev-parse", "HEAD", cwd=work).strip()
    assert heads["pressplay/task-7"] == head
    assert ("pressplay/task-7", head) in pushes
    state = gh.repo_state("acme/synced")
    assert state.commits[head].tree["src/x.py"] == b"print('x')\n"
    assert state.commits[head].message == "task 7\n\nPressplay-Step: author"
    assert gh.sync_from_git("acme/synced", bare) == heads  # idempotent
    assert len(pushes) == 2


# -- GraphQL ------------------------------------------------------------------------------------------------
def test_graphql_reads_and_auto_merge(gh: GitHubEmulator, http: httpx.Client) -> None:
    gh.protect_branch(R, "main", required_checks=["build"], required_approvals=1)
    pr = http.post(f"/repos/{R}/pulls", json={"head": "feature", "base": "main", "title": "F"}).json()
    query = """query($o: String!, $n: String!, $num: Int!) { repository(owner: $o, name: $n) {
      pullRequest(number: $num) { id number state mergeStateStatus reviewDecision autoMergeRequest { mergeMethod } } } }"""
    variables = {"o": "acme", "n": "api", "num": pr["number"]}
    data = http.post("/graphql", json={"query": query, "variables": variables}).json()["data"]
    assert data["repository"]["pullRequest"] == {
        "id": pr["node_id"],
        "number": pr["number"],
        "state": "OPEN",
        "mergeStateStatus": "BLOCKED",
        "reviewDecision": "REVIEW_REQUIRED",
        "autoMergeRequest": None,
    }
    mutation = "mutation($id: ID!) { enablePullRequestAutoMerge(input: {pullRequestId: $id, mergeMethod: MERGE}) { pullRequest { autoMergeRequest { mergeMethod } } } }"
    enabled = http.post("/graphql", json={"query": mutation, "variables": {"id": pr["node_id"]}}).json()
    assert enabled["data"]["enablePullRequestAutoMerge"]["pullRequest"]["autoMergeRequest"] == {
        "mergeMethod": "MERGE"
    }
    missing = http.post("/graphql", json={"query": mutation, "variables": {"id": "PR_nope"}}).json()
    assert missing["errors"][0]["type"] == "NOT_FOUND"
    gh.add_check_run(R, "feature", "build", conclusion="success")
    gh.add_review(R, pr["number"], user="alice")
    merged = http.post("/graphql", json={"query": query, "variables": variables}).json()["data"]
    assert merged["repository"]["pullRequest"]["state"] == "MERGED"


# -- rate limits and faults ---------------------------------------------------------------------------------
def test_primary_rate_limit_exhaustion(gh: GitHubEmulator, http: httpx.Client) -> None:
    gh.set_rate_limit_remaining("acme", 1)
    assert http.get(f"/repos/{R}").status_code == 200
    over = http.get(f"/repos/{R}")
    assert over.status_code == 403 and over.headers["x-ratelimit-remaining"] == "0"
    assert "API rate limit exceeded" in over.json()["message"]
    assert http.get("/rate_limit").json()["resources"]["core"]["remaining"] == 0
    gh.advance(3600)
    assert http.get(f"/repos/{R}").status_code in (200, 401)  # the window reset (token may have expired)


def test_secondary_rate_limit_on_bursts_of_writes() -> None:
    with GitHubEmulator(secondary_limit_per_minute=3) as gh:
        gh.create_repo(R)
        number = gh.add_issue(R, "x")
        with httpx.Client(
            base_url=gh.url, headers={"Authorization": f"token {gh.installation_token('acme')}"}
        ) as h:
            codes = [
                h.post(f"/repos/{R}/issues/{number}/comments", json={"body": "b"}).status_code
                for _ in range(4)
            ]
            assert codes == [201, 201, 201, 403]
            limited = h.post(f"/repos/{R}/issues/{number}/comments", json={"body": "b"})
            assert (
                "secondary rate limit" in limited.json()["message"]
                and int(limited.headers["retry-after"]) > 0
            )
            gh.advance(61)
            assert h.post(f"/repos/{R}/issues/{number}/comments", json={"body": "b"}).status_code == 201


def test_faults_by_route_and_at_random(gh: GitHubEmulator, http: httpx.Client) -> None:
    gh.inject_fault(r"/pulls$", status=503, times=2)
    assert [http.get(f"/repos/{R}/pulls").status_code for _ in range(3)] == [503, 503, 200]
    gh.inject_fault(r"/issues$", kind="too_many", retry_after=7)
    limited = http.get(f"/repos/{R}/issues")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    gh.inject_fault(r"/branches", kind="reset")
    with pytest.raises(httpx.TransportError):
        http.get(f"/repos/{R}/branches/main")

    def sample(seed: int) -> list[int]:
        gh.random_failures(0.5, seed=seed)
        codes = [http.get(f"/repos/{R}").status_code for _ in range(20)]
        gh.clear_faults()
        return codes

    first, again = sample(7), sample(7)
    assert first == again and 500 in {c // 100 * 100 for c in first} and 200 in first


def test_graphql_draft_mutations(gh: GitHubEmulator, http: httpx.Client) -> None:
    pr = http.post(
        f"/repos/{R}/pulls", json={"head": "feature", "base": "main", "title": "F", "draft": True}
    ).json()
    assert pr["draft"] is True and pr["mergeable_state"] == "draft"
    ready = "mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } } }"
    out = http.post("/graphql", json={"query": ready, "variables": {"id": pr["node_id"]}}).json()
    assert out["data"]["markPullRequestReadyForReview"]["pullRequest"] == {"isDraft": False}
    assert http.get(f"/repos/{R}/pulls/{pr['number']}").json()["draft"] is False
    back = "mutation($id: ID!) { convertPullRequestToDraft(input: {pullRequestId: $id}) { pullRequest { isDraft } } }"
    out = http.post("/graphql", json={"query": back, "variables": {"id": pr["node_id"]}}).json()
    assert out["data"]["convertPullRequestToDraft"]["pullRequest"] == {"isDraft": True}


def test_review_comments_and_route_overrides(gh: GitHubEmulator, http: httpx.Client) -> None:
    from pressplay.testing.github_emulator._server import Reply

    number = gh.open_pull(R, "feature")
    early = gh.add_review_comment(
        R, number, "nit", user="ann", path="app.py", at=gh.now() - timedelta(hours=1)
    )
    late = gh.add_review_comment(R, number, "rename this", user="bob", path="app.py", line=1)
    got = http.get(f"/repos/{R}/pulls/{number}/comments").json()
    assert [(c["id"], c["user"]["login"], c["path"]) for c in got] == [
        (early, "ann", "app.py"),
        (late, "bob", "app.py"),
    ]
    since = (gh.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [
        c["id"] for c in http.get(f"/repos/{R}/pulls/{number}/comments", params={"since": since}).json()
    ] == [late]
    # a test may replace any route; its handler wins over the emulator's own
    gh._front.router.add(
        "GET", "/repos/{owner}/{repo}/pulls/{number}/comments", lambda request, **_: Reply([])
    )
    assert http.get(f"/repos/{R}/pulls/{number}/comments").json() == []


def test_snapshot_and_restore_round_trip(gh: GitHubEmulator, http: httpx.Client) -> None:
    import json

    gh.protect_branch(R, "main", required_checks=["build"])
    pr = http.post(f"/repos/{R}/pulls", json={"head": "feature", "base": "main", "title": "F"}).json()
    http.post(f"/repos/{R}/issues/{pr['number']}/labels", json={"labels": ["pressplay"]})
    gh.add_comment(R, pr["number"], "hi", user="alice")
    gh.add_check_run(R, "feature", "build", conclusion="success")
    gh.add_workflow(R, ".github/workflows/deploy.yml")
    gh.run_workflow(R, "deploy.yml")
    gh.add_review_comment(R, pr["number"], "nit")
    data = json.loads(json.dumps(gh.snapshot()))
    assert not any(t in json.dumps(data) for t in gh.issued_tokens)
    paths = [
        f"/repos/{R}/pulls/{pr['number']}",
        f"/repos/{R}/issues/{pr['number']}/comments",
        f"/repos/{R}/commits/feature/check-runs",
        f"/repos/{R}/actions/runs",
        f"/repos/{R}/pulls/{pr['number']}/comments",
        f"/repos/{R}/contents/app.py?ref=feature",
    ]
    before = [http.get(p).json() for p in paths]
    with GitHubEmulator() as other:
        other.restore(data)
        with httpx.Client(
            base_url=other.url, headers={"Authorization": f"token {other.installation_token('acme')}"}
        ) as h2:
            after = [h2.get(p).json() for p in paths]
            assert json.loads(json.dumps(before).replace(gh.url, other.url)) == after
            new_pr = h2.post(f"/repos/{R}/issues", json={"title": "next"}).json()
            assert new_pr["number"] == pr["number"] + 1
