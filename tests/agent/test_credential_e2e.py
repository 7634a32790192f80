"""`pressplay git-credential` for real: git asks it, it mints an installation token at the (emulated) GitHub
App, and the token reaches the git server only in the HTTP Authorization header."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from pressplay.agent.credential import helper_command
from pressplay.agent.git import Git, GitError
from pressplay.testing.github_emulator import GitHubEmulator


class _GitFront(BaseHTTPRequestHandler):
    """Git smart-HTTP endpoints ask for Basic auth and record it; everything else goes to the emulator."""

    upstream = ""
    seen: list[str] = []

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _proxy(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in {"host", "content-length"}}
        resp = httpx.request(
            self.command, self.upstream + self.path, headers=headers, content=body, timeout=10
        )
        self.send_response(resp.status_code)
        for key, value in resp.headers.items():
            if key.lower() not in {"content-length", "transfer-encoding", "connection", "content-encoding"}:
                self.send_header(key, value)
        self.send_header("content-length", str(len(resp.content)))
        self.end_headers()
        self.wfile.write(resp.content)

    def _git(self) -> None:
        auth = self.headers.get("authorization")
        if auth is None:
            self.send_response(401)
            self.send_header("www-authenticate", 'Basic realm="GitHub"')
        else:
            self.seen.append(auth)
            self.send_response(403)  # enough: the credentials arrived; no repository is served here
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._git() if "/info/refs" in self.path else self._proxy()

    def do_POST(self) -> None:
        self._git() if self.path.endswith(("git-upload-pack", "git-receive-pack")) else self._proxy()


@pytest.fixture
def front() -> Iterator[tuple[GitHubEmulator, str, list[str]]]:
    with GitHubEmulator() as emulator:
        emulator.create_repo("acme/widgets")
        handler = type("Front", (_GitFront,), {"upstream": emulator.url, "seen": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield emulator, f"http://127.0.0.1:{server.server_port}", handler.seen
        finally:
            server.shutdown()
            server.server_close()


def _env(emulator: GitHubEmulator, api_url: str, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HOME": str(home),
        "PRESSPLAY_GITHUB_APP_ID": str(emulator.app_id),
        "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE": str(emulator.private_key_file),
        "PRESSPLAY_GITHUB_API_URL": api_url,
    }


def test_helper_process_mints_a_working_token_for_the_repository(front: Any, tmp_path: Path) -> None:
    emulator, url, _ = front
    host = url.removeprefix("http://")
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "pressplay.agent.credential", "--repo", "acme/widgets", "get"],
        input=f"protocol=http\nhost={host}\npath=acme/widgets.git\n\n",
        env=_env(emulator, url, tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    fields = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    assert fields["username"] == "x-access-token"
    assert fields["password"] in emulator.issued_tokens
    check = httpx.get(
        f"{emulator.url}/repos/acme/widgets", headers={"authorization": f"token {fields['password']}"}
    )
    assert check.status_code == 200


def test_git_gets_the_token_only_through_the_helper(front: Any, tmp_path: Path) -> None:
    emulator, url, seen = front
    home = tmp_path / "home"
    home.mkdir()
    # a user config that would store credentials on disk: pressplay's helper list must replace it
    (home / ".gitconfig").write_text("[credential]\n\thelper = store\n")
    repo = tmp_path / "repo"
    git = Git(repo, env=_env(emulator, url, home), helper=helper_command("acme/widgets", "write"))
    repo.mkdir()
    git.run("init", "-q")
    git.run("remote", "add", "origin", f"{url}/acme/widgets.git")
    with pytest.raises(GitError) as failure:
        git.run("ls-remote", "origin", remote=True)
    assert len(seen) >= 1
    user, _, token = base64.b64decode(seen[-1].split(" ", 1)[1]).decode().partition(":")
    assert user == "x-access-token"
    assert token in emulator.issued_tokens
    assert token not in str(failure.value)
    assert token not in (repo / ".git" / "config").read_text()
    assert not (home / ".git-credentials").exists()
