"""Whatever a client sends, the emulator answers like GitHub (4xx with a message), never crashes."""

from __future__ import annotations

import json
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressplay.testing.github_emulator import GitHubEmulator

R = "acme/api"
FIELDS = [
    "title",
    "body",
    "head",
    "base",
    "state",
    "state_reason",
    "labels",
    "assignees",
    "reviewers",
    "team_reviewers",
    "name",
    "color",
    "description",
    "sha",
    "ref",
    "force",
    "merge_method",
    "commit_title",
    "conclusion",
    "status",
    "output",
    "head_sha",
    "inputs",
    "return_run_details",
    "context",
    "target_url",
    "draft",
    "details_url",
    "external_id",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**12),
    st.text(max_size=20),
    st.sampled_from(["main", "feature", "completed", "success", "open", "closed", "squash", "refs/heads/x"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
bodies = st.one_of(st.dictionaries(st.sampled_from(FIELDS), values, max_size=6), values)
PATHS = [
    ("POST", "/pulls"),
    ("PATCH", "/pulls/1"),
    ("PUT", "/pulls/1/merge"),
    ("POST", "/pulls/1/requested_reviewers"),
    ("DELETE", "/pulls/1/requested_reviewers"),
    ("POST", "/issues"),
    ("PATCH", "/issues/1"),
    ("POST", "/issues/1/comments"),
    ("POST", "/issues/1/labels"),
    ("PUT", "/issues/1/labels"),
    ("POST", "/labels"),
    ("POST", "/git/refs"),
    ("PATCH", "/git/refs/heads/feature"),
    ("POST", "/check-runs"),
    ("POST", "/statuses/{sha}"),
    ("POST", "/actions/workflows/deploy.yml/dispatches"),
    ("GET", "/pulls?state={v}&head={v}"),
    ("GET", "/commits/{v}/check-runs"),
    ("GET", "/contents/{v}"),
    ("GET", "/compare/{v}...main"),
    ("GET", "/issues/{v}/comments?per_page={v}&page={v}"),
]


def test_random_requests_never_crash_the_emulator() -> None:
    with GitHubEmulator(secondary_limit_per_minute=10**6) as gh:
        gh.create_repo(R)
        gh.push(R, "feature", {"x": "1"})
        gh.add_workflow(R, ".github/workflows/deploy.yml")
        sha = gh.repo_state(R).branches["feature"]
        gh.open_pull(R, "feature")
        token = gh.installation_token("acme")
        with httpx.Client(
            base_url=f"{gh.url}/repos/{R}", headers={"Authorization": f"token {token}"}
        ) as http:

            @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
            @given(route=st.sampled_from(PATHS), body=bodies, word=st.text(min_size=1, max_size=12))
            def check(route: tuple[str, str], body: Any, word: str) -> None:
                method, path = route
                path = path.replace("{sha}", sha).replace(
                    "{v}", httpx.URL("", params={"q": word}).query.decode()[2:]
                )
                content = None if method == "GET" else json.dumps(body)
                resp = http.request(
                    method, path, content=content, headers={"Content-Type": "application/json"}
                )
                assert resp.status_code < 500, (method, path, body, resp.text)
                if resp.status_code >= 400:
                    assert isinstance(resp.json().get("message"), str)

            check()
        assert gh.server_errors == []
