"""``pressplay git-credential``: a git credential helper backed by the GitHub App.

git runs it (configured per command by :mod:`pressplay.agent.git`) with ``get``, ``store`` or
``erase`` and the request on stdin (``protocol=https``, ``host=github.com``, ``path=owner/name.git``).
For ``get`` on the GitHub host it mints an installation token for that one repository, narrowed to
``contents: write``, and hands it to git on stdout as ``username=x-access-token`` /
``password=<token>``. ``store`` and ``erase`` are no-ops: the token is never kept, on disk or
anywhere else. A host other than GitHub's gets no answer, so git falls through to its other means.

Settings come from ``PRESSPLAY_GITHUB_APP_ID``, ``PRESSPLAY_GITHUB_PRIVATE_KEY_FILE``,
``PRESSPLAY_GITHUB_API_URL`` (and ``PRESSPLAY_GITHUB_INSTALLATION_ID`` when fixed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TextIO
from urllib.parse import urlsplit

from pressplay.config import Settings
from pressplay.redact import redact

TokenMinter = Callable[[Settings, str], str]
GIT_USERNAME = "x-access-token"


def git_host(api_url: str) -> str:
    """The git host for a REST API URL: ``api.github.com`` → ``github.com``; GHES keeps its host."""
    parts = urlsplit(api_url)
    host = parts.netloc
    if host == "api.github.com":
        return "github.com"
    return host


def remote_url_for(repo: str, api_url: str) -> str:
    """The HTTPS clone URL of ``repo`` on the GitHub that ``api_url`` belongs to (no credentials)."""
    parts = urlsplit(api_url)
    scheme = parts.scheme or "https"
    path = parts.path.rstrip("/")
    if path.endswith("/api/v3"):
        path = path[: -len("/api/v3")]
    if parts.netloc == "api.github.com":
        path = ""
    return f"{scheme}://{git_host(api_url)}{path}/{repo}.git"


def mint_token(settings: Settings, repo: str) -> str:
    """An installation token for ``repo`` alone, with ``contents: write`` only."""
    from pressplay.github import clients_for

    return clients_for(settings).installation_token(repo, permissions={"contents": "write"})


def read_request(stream: TextIO) -> dict[str, str]:
    """The credential request: ``key=value`` lines up to a blank line or EOF."""
    request: dict[str, str] = {}
    for line in stream:
        line = line.rstrip("\n")
        if not line:
            break
        key, sep, value = line.partition("=")
        if sep:
            request[key] = value
    return request


def repo_of(request: dict[str, str]) -> str | None:
    path = request.get("path", "").strip("/")
    if not path and "url" in request:
        path = urlsplit(request["url"]).path.strip("/")
    path = path.removesuffix(".git")
    parts = path.split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else None


def answer(
    action: str,
    request: dict[str, str],
    settings: Settings,
    minter: TokenMinter = mint_token,
) -> tuple[str, str | None]:
    """(what to print on stdout, an error for stderr or None) for one helper call."""
    if action != "get":
        return "", None
    host = git_host(settings.github_api_url)
    if request.get("host", "") != host or request.get("protocol") not in {"https", "http"}:
        return "", None
    repo = repo_of(request)
    if repo is None:
        return "", (
            "pressplay git-credential: git did not send the repository path; "
            "set credential.useHttpPath=true (pressplay agent does)"
        )
    try:
        token = minter(settings, repo)
    except Exception as exc:  # every failure becomes one clear line; never a trace
        return "", f"pressplay git-credential: no token for {repo}: {redact(str(exc))}"
    return f"username={GIT_USERNAME}\npassword={token}\n\n", None


def main(argv: Sequence[str]) -> int:
    args = list(argv)
    if len(args) != 1 or args[0] not in {"get", "store", "erase"}:
        print(
            "usage: pressplay git-credential get|store|erase  (git runs this; see `git help credentials`)",
            file=sys.stderr,
        )
        return 2
    request = read_request(sys.stdin)
    try:
        settings = Settings()
    except Exception as exc:
        print(f"pressplay git-credential: invalid settings: {redact(str(exc))}", file=sys.stderr)
        return 1
    out, error = answer(args[0], request, settings)
    if error:
        print(error, file=sys.stderr)
        return 1
    sys.stdout.write(out)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
