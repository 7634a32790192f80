"""Fixtures for every step's tests (one folder per step key below): a GitHub emulator, a real sidecar
pointed at it, REST helpers and a Taskmaster task list."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import Sidecar
from pressplay.types import parse_timestamp

REPO = "acme/api"
TASKS_PATH = ".taskmaster/tasks/tasks.json"


@pytest.fixture
def gh() -> Iterator[GitHubEmulator]:
    """A started GitHub emulator (real clock: the App's JWTs must be current)."""
    with GitHubEmulator() as emulator:
        yield emulator


@pytest.fixture
def sidecar(gh: GitHubEmulator, sidecar_factory: Callable[..., Sidecar]) -> Sidecar:
    """A real sidecar (Flask over HTTP) pointed at this folder's ``gh`` emulator."""
    return sidecar_factory(**gh.sidecar_settings())


@pytest.fixture
def side(gh: GitHubEmulator, sidecar_factory: Callable[..., Sidecar]) -> Sidecar:
    """A real sidecar pointed at the GitHub emulator that requeues waits after 1 s (a fast test loop)."""
    return sidecar_factory(**gh.sidecar_settings(requeue_min_seconds=1))


class Rest:
    """Calls to the emulator's REST API as the App installation (the way a person's tools would)."""

    def __init__(self, gh: GitHubEmulator, repo: str = REPO) -> None:
        self.gh = gh
        self.repo = repo

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        token = self.gh.installation_token(self.repo.split("/")[0])
        resp = httpx.request(
            method,
            f"{self.gh.url}/repos/{self.repo}/{path}",
            json=body,
            headers={"Authorization": f"token {token}", "Accept": "application/vnd.github+json"},
            timeout=10,
        )
        resp.raise_for_status()
        return resp.json() if resp.content else None

    def label(self, number: int, *names: str) -> None:
        self._call("POST", f"issues/{number}/labels", {"labels": list(names)})

    def close(self, number: int) -> None:
        self._call("PATCH", f"pulls/{number}", {"state": "closed"})


@pytest.fixture
def rest(gh: GitHubEmulator) -> Rest:
    return Rest(gh)


def task(tid: int | str, deps: list[int | str] | None = None, status: str = "pending") -> dict[str, Any]:
    return {
        "id": tid,
        "title": f"Task {tid}: do thing {tid}",
        "description": "...",
        "details": "...",
        "testStrategy": "...",
        "priority": "high",
        "dependencies": deps or [],
        "status": status,
        "subtasks": [],
    }


def tasks_file(*tasks: dict[str, Any], tag: str | None = "master") -> str:
    body: dict[str, Any] = {"tasks": list(tasks), "metadata": {"created": "2026-11-01T00:00:00Z"}}
    return json.dumps({tag: body} if tag else body, indent=2)


def task_pr(
    gh: GitHubEmulator, rest: Rest, tid: int | str, *, merged: bool = False, closed: bool = False
) -> int:
    """A pressplay PR for task ``tid`` on branch pressplay/task-<id>, labelled pressplay + task-<id>."""
    branch = f"pressplay/task-{tid}"
    gh.push(REPO, branch, {f"src/task_{tid}.py": f"print({tid!r})\n"}, message=f"Task {tid}")
    number = gh.open_pull(REPO, branch, "main", f"Task {tid}", user=gh.bot.login, author_association="NONE")
    rest.label(number, "pressplay", f"task-{tid}")
    if merged:
        gh.merge(REPO, number)
    elif closed:
        rest.close(number)
    return number


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        code, headers, body = self.routes.get(self.path, (404, {}, b"nope"))
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    base = f"http://127.0.0.1:{server.server_port}"
    _Handler.routes = {
        "/health": (200, {}, b'{"status": "ok"}'),
        "/sick": (200, {}, b'{"status": "down"}'),
        "/boot": (503, {}, b"starting"),
        "/hop": (302, {"Location": "/health"}, b""),
        "/evil": (302, {"Location": "file:///etc/passwd"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class ReviewComments:
    """Review comments on a PR's diff, served by the emulator's ``GET /pulls/{n}/comments`` route."""

    def __init__(self, gh: GitHubEmulator) -> None:
        self.gh = gh

    def add(self, number: int, body: str, *, user: str, association: str = "MEMBER", at: str) -> int:
        return self.gh.add_review_comment(
            REPO, number, body, user=user, author_association=association, at=parse_timestamp(at)
        )


@pytest.fixture
def review_comments(gh: GitHubEmulator) -> ReviewComments:
    return ReviewComments(gh)
