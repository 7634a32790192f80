"""Recorded GitHub exchanges (``@octokit/fixtures``) replayed through pressplay's client layer by
``@octokit/fixtures-server``: the App's installation discovery and token exchange are prepended to the
recorded calls, and the recorded calls then insist on ``Authorization: token <the minted token>`` and
the exact request bodies pressplay sends."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pressplay.config import Settings
from pressplay.github import GitHubClients, GitHubPermanentError
from tests.github._octokit import fixtures_server_dir

pytestmark = pytest.mark.slow

RECORDED_TOKEN = "0000000000000000000000000000000000000001"  # the token every octokit recording used
INSTALLATION_ID = 12345
SERVE_MJS = """\
import express from "express";
import fixturesServer from "@octokit/fixtures-server";
import DEFAULTS from "@octokit/fixtures-server/lib/defaults.js";
import globToFixtures from "@octokit/fixtures-server/lib/glob-to-fixtures.js";
const port = Number(process.env.PORT);
const fixtures = { ...DEFAULTS.fixtures, ...globToFixtures(process.env.FIXTURES) };
const app = express();
app.get("/ping", (req, res) => res.json({ ok: true }));
app.use(fixturesServer({ port, fixturesUrl: `http://127.0.0.1:${port}`, logLevel: "warn", ttl: 60000, fixtures }));
app.listen(port, "127.0.0.1");
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _recorded(server_dir: Path, scenario: str) -> list[dict[str, Any]]:
    base = (
        server_dir
        / "node_modules"
        / "@octokit"
        / "fixtures-server"
        / "node_modules"
        / "@octokit"
        / "fixtures"
    )
    if not base.is_dir():
        base = server_dir / "node_modules" / "@octokit" / "fixtures"
    steps: list[dict[str, Any]] = json.loads(
        (base / "scenarios" / "api.github.com" / scenario / "normalized-fixture.json").read_text()
    )
    return steps


def _app_steps(owner: str, repo: str, *, discover: bool) -> list[dict[str, Any]]:
    """The App flow GitHub would see first: installation discovery (JWT), then the token exchange (JWT).
    ``authorization`` is left out of the expectation: a JWT differs on every run."""
    scope = "https://api.github.com:443"
    steps: list[dict[str, Any]] = []
    if discover:
        steps.append(
            {
                "scope": scope,
                "method": "get",
                "path": f"/repos/{owner}/{repo}/installation",
                "body": "",
                "status": 200,
                "reqheaders": {"accept": "application/vnd.github+json"},
                "headers": {"content-type": "application/json; charset=utf-8"},
                "response": {
                    "id": INSTALLATION_ID,
                    "app_id": 1,
                    "app_slug": "pressplay-test",
                    "target_type": "Organization",
                    "repository_selection": "selected",
                    "account": {"login": owner, "id": 1000, "type": "Organization"},
                },
            }
        )
    steps.append(
        {
            "scope": scope,
            "method": "post",
            "path": f"/app/installations/{INSTALLATION_ID}/access_tokens",
            # pressplay narrows every installation token to the one repository it is for
            "body": {"repositories": [repo]},
            "status": 201,
            "reqheaders": {"accept": "application/vnd.github+json"},
            "headers": {"content-type": "application/json; charset=utf-8"},
            "response": {
                "token": RECORDED_TOKEN,
                "expires_at": "2099-01-01T00:00:00Z",
                "permissions": {"issues": "write", "statuses": "write", "metadata": "read"},
                "repository_selection": "selected",
            },
        }
    )
    return steps


def _adapt(step: dict[str, Any]) -> dict[str, Any]:
    """A recorded step as pressplay sends it: githubkit's ``Accept`` and httpx's ``Content-Type``
    (the recordings used octokit's). Path, query, body, content-length and the token stay exact."""
    step = json.loads(json.dumps(step))
    headers = step["reqheaders"]
    headers["accept"] = "application/vnd.github+json"
    if "content-type" in headers:
        headers["content-type"] = "application/json"
    return step


@pytest.fixture(scope="module")
def fixtures_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    server_dir = fixtures_server_dir()
    scenarios = tmp_path_factory.mktemp("scenarios")
    for name, owner, repo, discover in (
        ("create-status", "octokit-fixture-org", "create-status", True),
        ("errors", "octokit-fixture-org", "errors", False),
        ("paginate-issues", "octokit-fixture-org", "paginate-issues", True),
    ):
        steps = _app_steps(owner, repo, discover=discover) + [_adapt(s) for s in _recorded(server_dir, name)]
        (scenarios / f"pressplay-{name}.json").write_text(json.dumps(steps))
    script = server_dir / "serve.mjs"
    script.write_text(SERVE_MJS)
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "FIXTURES": str(scenarios / "*.json")}
    proc = subprocess.Popen(
        ["node", str(script)], cwd=server_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                _out, err = proc.communicate(timeout=5)
                pytest.fail(f"octokit fixtures-server did not start: {err.decode(errors='replace')[-2000:]}")
            time.sleep(0.1)
        yield url, server_dir
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()


def _clients(server: str, scenario: str, tmp_path: Path, **settings: Any) -> GitHubClients:
    """Load a fresh copy of ``scenario``; its URL is the base URL of a pressplay client for it."""
    resp = httpx.post(f"{server}/fixtures", json={"scenario": f"pressplay-{scenario}"}, timeout=10)
    assert resp.status_code == 201, resp.text
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / f"{scenario}.pem"
    pem.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return GitHubClients(
        Settings(
            github_app_id="1", github_private_key_file=pem, github_api_url=resp.json()["url"], **settings
        )
    )


def test_create_status_scenario(fixtures_server: tuple[str, Path], tmp_path: Path) -> None:
    server, _ = fixtures_server
    clients = _clients(server, "create-status", tmp_path)
    repo = clients.repo("octokit-fixture-org/create-status")
    sha = "0000000000000000000000000000000000000001"
    first = repo.post(
        f"statuses/{sha}",
        {
            "state": "failure",
            "target_url": "https://example.com",
            "description": "create-status failure test",
            "context": "example/1",
        },
    )
    assert first.status == 201 and first.json["state"] == "failure"
    second = repo.post(
        f"statuses/{sha}",
        {
            "state": "success",
            "target_url": "https://example.com",
            "description": "create-status success test",
            "context": "example/2",
        },
    )
    assert second.json["context"] == "example/2"
    statuses = repo.get_all(f"commits/{sha}/statuses", {"per_page": None})
    assert {s["context"] for s in statuses} == {"example/1", "example/2"}
    combined = repo.get(f"commits/{sha}/status").json
    assert combined["state"] == "failure" and combined["total_count"] == 2
    assert repo.installation_id == INSTALLATION_ID
    clients.close()


def test_errors_scenario_maps_to_a_permanent_error(fixtures_server: tuple[str, Path], tmp_path: Path) -> None:
    server, _ = fixtures_server
    clients = _clients(server, "errors", tmp_path, github_installation_id=INSTALLATION_ID)
    repo = clients.repo("octokit-fixture-org/errors")
    with pytest.raises(GitHubPermanentError) as info:
        repo.post("labels", {"name": "foo", "color": "invalid"})
    err = info.value
    assert err.status == 422
    assert err.github_message == "Validation Failed"
    assert err.errors == [{"resource": "Label", "code": "invalid", "field": "color"}]
    assert "Label color invalid" in str(err)
    clients.close()


def test_paginate_issues_scenario_follows_link_headers(
    fixtures_server: tuple[str, Path], tmp_path: Path
) -> None:
    server, _ = fixtures_server
    clients = _clients(server, "paginate-issues", tmp_path)
    repo = clients.repo("octokit-fixture-org/paginate-issues")
    issues = repo.get_all("issues", {"per_page": 3})
    assert len(issues) == 13 and issues.pages == 5
    assert [i["number"] for i in issues] == sorted((i["number"] for i in issues), reverse=True)
    clients.close()
