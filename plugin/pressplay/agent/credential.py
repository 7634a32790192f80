"""``pressplay git-credential``: a git credential helper backed by the GitHub App, for one repository.

git runs it (configured per command by :mod:`pressplay.agent.git`, never from a repository's config)
as ``pressplay git-credential --repo OWNER/NAME [--permission read|write] get`` with the request on
stdin (``protocol=https``, ``host=github.com``, ``path=owner/name.git``; pressplay always sets
``credential.useHttpPath``). It answers only a request for exactly the task repository's URL on the
GitHub of the settings (``remote_url_for(repo, PRESSPLAY_GITHUB_API_URL)``): same scheme, host and
path. Any other host or path (a ``pushurl`` an agent planted, another repository of the installation)
gets no credentials and a line on stderr. The token it hands to git (``username=x-access-token`` /
``password=<token>``) is minted for that one repository with ``contents: write`` (push) or
``contents: read`` (checkout) only, and only when the settings' allow-list (``PRESSPLAY_REPOSITORIES``)
has the repository. ``store`` and ``erase`` are no-ops: the token is never kept.

git starts it through :func:`helper_command`: this interpreter with ``-I`` (isolated mode: neither
the working directory nor ``PYTHON*`` variables reach ``sys.path``), so a ``pressplay/`` package
committed at the top of a repository cannot shadow pressplay inside the helper.

Settings come from ``PRESSPLAY_GITHUB_APP_ID``, ``PRESSPLAY_GITHUB_PRIVATE_KEY_FILE``,
``PRESSPLAY_GITHUB_API_URL`` (and ``PRESSPLAY_GITHUB_INSTALLATION_ID`` when fixed).
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from typing import Literal, TextIO
from urllib.parse import urlsplit

from pressplay.config import Settings
from pressplay.errors import TemporaryError
from pressplay.redact import redact

Permission = Literal["read", "write"]
TokenMinter = Callable[[Settings, str, Permission], str]
#: Tries of a token request that meets trouble that passes, and the longest wait between two.
TEMPORARY_ATTEMPTS = 5
MAX_WAIT = 20.0
GIT_USERNAME = "x-access-token"
_REPO_RE = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


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


def helper_command(repo: str, permission: Permission) -> str:
    """The helper as git runs it: a shell command (``!`` prefix) git appends ``get``/``store``/``erase`` to.

    This interpreter by absolute path, isolated (``-I``), so nothing in the working directory or the
    environment can put another ``pressplay`` package in front of ours.
    """
    if not _REPO_RE.match(repo):
        raise ValueError(f"{repo!r} is not owner/name")
    return (
        f"!{shlex.quote(sys.executable)} -I -m pressplay.agent.credential "
        f"--repo {shlex.quote(repo)} --permission {permission}"
    )


def mint_token(settings: Settings, repo: str, permission: Permission) -> str:
    """An installation token for ``repo`` alone, with ``contents: <permission>`` only."""
    from pressplay.github import clients_for

    return clients_for(settings).installation_token(repo, permissions={"contents": permission})


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


def _norm_path(path: str) -> str:
    return path.strip("/").removesuffix(".git").lower()


def request_matches(request: dict[str, str], allowed_url: str) -> str | None:
    """None when ``request`` asks for exactly ``allowed_url``; else why it does not."""
    allowed = urlsplit(allowed_url)
    if "url" in request and not request.get("host"):
        asked = urlsplit(request["url"])
        protocol, host, path = asked.scheme, asked.netloc.rpartition("@")[2], asked.path
    else:
        protocol, host, path = request.get("protocol", ""), request.get("host", ""), request.get("path", "")
    if protocol != allowed.scheme or host.lower() != allowed.netloc.lower():
        return f"{protocol or '?'}://{host or '?'} is not the task repository's host"
    if not path:
        return "git did not send the repository path; set credential.useHttpPath=true (pressplay does)"
    if _norm_path(path) != _norm_path(allowed.path):
        return f"/{path.strip('/')} is not the task repository"
    return None


def answer(
    action: str,
    request: dict[str, str],
    settings: Settings,
    *,
    repo: str,
    permission: Permission = "write",
    minter: TokenMinter = mint_token,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[str, str | None]:
    """(what to print on stdout, an error for stderr or None) for one helper call.

    Trouble that passes (GitHub 5xx, a rate limit: :class:`TemporaryError`) is waited out here, up to
    :data:`TEMPORARY_ATTEMPTS` tries with the wait GitHub asked for (at most :data:`MAX_WAIT` s each):
    git asks once and fails the clone or push without a password, and a failed push container is not
    retried by Argo (the node is Failed), so giving up at the first 502 left a task stopped."""
    if action != "get":
        return "", None
    if not settings.allows(repo):
        return "", (
            f"pressplay git-credential: no credentials: {repo} is not in the repositories pressplay "
            "may act on (PRESSPLAY_REPOSITORIES, from the settings)"
        )
    allowed = remote_url_for(repo, settings.github_api_url)
    refused = request_matches(request, allowed)
    if refused is not None:
        return "", f"pressplay git-credential: no credentials: {refused} ({allowed})"
    for attempt in range(1, TEMPORARY_ATTEMPTS + 1):
        try:
            token = minter(settings, repo, permission)
        except TemporaryError as exc:
            if attempt == TEMPORARY_ATTEMPTS:
                return (
                    "",
                    f"pressplay git-credential: no token for {repo} after {attempt} tries: {redact(str(exc))}",
                )
            wait = min(MAX_WAIT, max(1.0, exc.retry_after.total_seconds()))
            print(
                f"pressplay git-credential: {redact(str(exc))}; trying again in {wait:.0f}s", file=sys.stderr
            )
            sleep(wait)
        except Exception as exc:  # every failure becomes one clear line; never a trace
            return "", f"pressplay git-credential: no token for {repo}: {redact(str(exc))}"
        else:
            return f"username={GIT_USERNAME}\npassword={token}\n\n", None
    raise AssertionError("unreachable")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pressplay git-credential",
        description="git credential helper for one repository (git runs this; see `git help credentials`)",
    )
    parser.add_argument("--repo", required=True, help="the only repository to answer for, owner/name")
    parser.add_argument(
        "--permission", choices=("read", "write"), default="write", help="contents: read|write"
    )
    parser.add_argument("action", choices=("get", "store", "erase"))
    return parser


def main(argv: Sequence[str]) -> int:
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2  # --help exits 0, a usage error 2
    if not _REPO_RE.match(args.repo):
        print(f"pressplay git-credential: --repo {args.repo!r} is not owner/name", file=sys.stderr)
        return 2
    request = read_request(sys.stdin)
    if args.action != "get":
        return 0
    try:
        settings = Settings()
    except Exception as exc:
        print(f"pressplay git-credential: invalid settings: {redact(str(exc))}", file=sys.stderr)
        return 1
    out, error = answer(args.action, request, settings, repo=args.repo, permission=args.permission)
    if error:
        print(error, file=sys.stderr)
        return 1
    sys.stdout.write(out)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
