"""The demo's git host: smart HTTP for the bare remote, authenticated the way GitHub does it.

``git http-backend`` (git's own CGI program) serves the repository at ``/<owner>/<name>.git``. Reads
are anonymous (a public repository); a push must authenticate as ``x-access-token:<token>`` with an
installation token the GitHub emulator accepts, which is what ``pressplay git-credential`` hands to
git. Every other path is passed through to the GitHub emulator's REST API, so this one address is
both the git host and the API of the demo's "GitHub", as on GitHub Enterprise Server, and the
credential helper recognises it.

Git requests for any other repository on this host (``/<owner>/<other>.git/...``) are challenged for
credentials like a private repository on GitHub and then refused; the server keeps a record of every
request (:attr:`GitHttpServer.requests`: method, path, whether credentials came along), so a test can
show that a push went only where it should and that no credentials were offered anywhere else.
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from pressplay.testing.serving import BackgroundServer

_GIT_SUFFIXES = ("/info/refs", "/git-upload-pack", "/git-receive-pack")
_HOP_HEADERS = frozenset({"connection", "content-length", "content-encoding", "transfer-encoding", "host"})


def available() -> bool:
    """Whether this machine's git has ``http-backend``."""
    if shutil.which("git") is None:
        return False
    proc = subprocess.run(["git", "--exec-path"], capture_output=True, text=True, check=False)
    return proc.returncode == 0 and (Path(proc.stdout.strip()) / "git-http-backend").exists()


class GitHttpServer:
    """Serve ``bare`` as ``/<repo>.git`` on 127.0.0.1 and proxy everything else to ``api_upstream``."""

    def __init__(self, bare: Path, repo: str, api_upstream: str) -> None:
        self.bare = bare
        self.repo = repo
        self.api_upstream = api_upstream.rstrip("/")
        self.pushes_authenticated = 0
        self.pushes_refused = 0
        #: (method, path without query, credentials sent) of every request, in order.
        self.requests: list[tuple[str, str, bool]] = []
        self._valid_tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server: BackgroundServer | None = None
        self.url = ""

    def start(self) -> GitHttpServer:
        owner = self

        class Handler(_Handler):
            server_owner = owner

        self._server = BackgroundServer(ThreadingHTTPServer(("127.0.0.1", 0), Handler), "demo-git-http")
        self.url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def remote_url(self) -> str:
        return f"{self.url}/{self.repo}.git"

    def token_ok(self, token: str) -> bool:
        """Ask the GitHub emulator whether ``token`` may read the repository (cached when it may)."""
        with self._lock:
            if token in self._valid_tokens:
                return True
        resp = httpx.get(
            f"{self.api_upstream}/repos/{self.repo}", headers={"authorization": f"token {token}"}, timeout=10
        )
        if resp.status_code != 200:
            return False
        with self._lock:
            self._valid_tokens.add(token)
        return True


class _Handler(BaseHTTPRequestHandler):
    server_owner: GitHttpServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """No access log (the demo's output is its progress lines)."""

    # -- plumbing ------------------------------------------------------------------------------
    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            if key.lower() not in _HOP_HEADERS:
                self.send_header(key, value)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        owner = self.server_owner
        parts = urlsplit(self.path)
        with owner._lock:
            owner.requests.append((self.command, parts.path, bool(self.headers.get("authorization"))))
        prefix = f"/{owner.repo}.git/"
        if parts.path.startswith(prefix) and parts.path.endswith(_GIT_SUFFIXES):
            self._git(parts.path[len(prefix) - 1 :], parts.query)
        elif ".git/" in parts.path and parts.path.endswith(_GIT_SUFFIXES):
            self._body()
            if self.headers.get("authorization"):
                self._reply(404, {"content-type": "text/plain"}, b"Repository not found.\n")
            else:
                self._reply(401, {"www-authenticate": 'Basic realm="GitHub"'}, b"")
        else:
            self._proxy()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _route  # noqa: N815

    # -- git -----------------------------------------------------------------------------------
    def _git(self, rest: str, query: str) -> None:
        owner = self.server_owner
        body = self._body()
        push = rest.endswith("git-receive-pack") or "service=git-receive-pack" in query
        user = ""
        if push:
            token = self._token()
            if token is None or not owner.token_ok(token):
                if token is not None:
                    owner.pushes_refused += 1
                self._reply(401, {"www-authenticate": 'Basic realm="GitHub"'}, b"")
                return
            owner.pushes_authenticated += 1
            user = "x-access-token"
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "GIT_PROJECT_ROOT": str(owner.bare.parent),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{owner.bare.name}{rest}",
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "HTTP_CONTENT_ENCODING": self.headers.get("content-encoding", ""),
            "GIT_PROTOCOL": self.headers.get("git-protocol", ""),
            "REMOTE_ADDR": "127.0.0.1",
            "REMOTE_USER": user,
        }
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        if not _:
            head, _, payload = proc.stdout.partition(b"\n\n")
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split(" ", 1)[0])
            elif key:
                headers[key.strip()] = value.strip()
        if proc.returncode != 0 and not head:
            status, payload = 500, proc.stderr
        self._reply(status, headers, payload)

    def _token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return password if user == "x-access-token" and password else None

    # -- the API -------------------------------------------------------------------------------
    def _proxy(self) -> None:
        owner = self.server_owner
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        try:
            resp = httpx.request(
                self.command,
                owner.api_upstream + self.path,
                headers=headers,
                content=body or None,
                timeout=30,
            )
        except httpx.HTTPError:
            self._reply(
                502, {"content-type": "application/json"}, b'{"message": "the GitHub emulator is down"}'
            )
            return
        self._reply(resp.status_code, dict(resp.headers), resp.content)
