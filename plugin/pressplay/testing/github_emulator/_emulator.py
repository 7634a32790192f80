"""The :class:`GitHubEmulator`: state, App auth, the test-facing scenario API, and the server lifecycle."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pressplay.testing.github_emulator._api import CONCLUSIONS, STATUS_STATES
from pressplay.testing.github_emulator._model import (
    CheckApp,
    CheckRun,
    CheckSuite,
    Comment,
    Commit,
    Issue,
    Label,
    Protection,
    PullData,
    RepoState,
    Review,
    ReviewComment,
    Shapes,
    StatusEntry,
    User,
    Workflow,
    WorkflowRun,
    fake_sha,
)
from pressplay.testing.github_emulator._server import (
    ApiError,
    Fault,
    HttpFront,
    RandomFaults,
    RateWindow,
    RecordedRequest,
)
from pressplay.testing.serving import self_signed_certificate

#: The permissions the emulated App's installations have (what pressplay documents as needed).
APP_PERMISSIONS = {
    "actions": "write",
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "write",
}
APP_EVENTS = ["check_run", "check_suite", "issue_comment", "issues", "pull_request", "push", "workflow_run"]
PASSING = {"success", "neutral", "skipped"}


#: Repository roles, most powerful first; `permission` in GitHub's answer maps triage to read and
#: maintain to write (the legacy field), `role_name` keeps the role.
ROLES = ("admin", "maintain", "write", "triage", "read")


@dataclass
class _Token:
    installation: int
    expires_at: datetime
    #: lower-cased repository names the token is limited to (None: every repository of the installation)
    repositories: frozenset[str] | None = None
    #: the token's permissions (GitHub narrows a token to what its mint asked for)
    permissions: dict[str, str] = field(default_factory=lambda: dict(APP_PERMISSIONS))


#: The permission a repository route needs, by the first part of its path under /repos/{owner}/{repo}
#: (GitHub's "Permissions required for GitHub Apps"); GET needs read, other methods write.
_ROUTE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "": ("metadata",),
    "collaborators": ("metadata",),
    "installation": ("metadata",),
    "pulls": ("pull_requests",),
    "issues": ("issues", "pull_requests"),
    "labels": ("issues", "pull_requests"),
    "statuses": ("statuses",),
    "check-runs": ("checks",),
    "check-suites": ("checks",),
    "actions": ("actions",),
    "contents": ("contents",),
    "git": ("contents",),
    "branches": ("contents",),
    "commits": ("contents",),
    "compare": ("contents",),
    "merges": ("contents",),
}


def required_permissions(method: str, rest: str) -> tuple[tuple[str, ...], str]:
    """(permissions any of which suffices, level) for ``method`` on ``/repos/{o}/{r}/<rest>``."""
    parts = [p for p in rest.split("/") if p]
    head = parts[0] if parts else ""
    level = "read" if method in {"GET", "HEAD"} else "write"
    if head == "commits" and len(parts) >= 3 and parts[2] in {"status", "statuses"}:
        return ("statuses",), level
    if head == "commits" and len(parts) >= 3 and parts[2] in {"check-runs", "check-suites"}:
        return ("checks",), level
    if head == "pulls" and len(parts) >= 3 and parts[2] == "merge" and level == "write":
        return ("contents",), level
    return _ROUTE_PERMISSIONS.get(head, ("metadata",)), level


@dataclass
class _Scheduled:
    action: Callable[[], None]
    polls: int | None
    at: datetime | None
    path: re.Pattern[str] | None


PushHook = Callable[[str, str, str, str | None], None]


def _check_conclusion(conclusion: str, where: str) -> None:
    """Only the conclusions GitHub gives a check run (a typo such as ``passed`` would never settle CI)."""
    if conclusion not in CONCLUSIONS:
        raise ValueError(
            f"{where}: {conclusion!r} is not a check run conclusion GitHub has; use one of "
            f"{', '.join(sorted(CONCLUSIONS))}"
        )


def _check_status_state(state: str, where: str) -> None:
    if state not in STATUS_STATES:
        raise ValueError(
            f"{where}: {state!r} is not a commit status state GitHub has; use one of "
            f"{', '.join(sorted(STATUS_STATES))}"
        )


_EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


def _display_title(
    commit: Any,
    path: str,
    workflow_name: str,
    event: str,
    branch: str,
    actor: str,
    inputs: Mapping[str, Any] | None,
) -> str:
    """A run's ``display_title`` as Actions sets it: the workflow file's ``run-name`` at the run's
    commit, its ``${{ }}`` expressions rendered from the ``github`` and ``inputs`` contexts (the only
    two ``run-name`` may use; a missing property renders empty), else the workflow's name."""
    text = commit.tree.get(path) if commit is not None else None
    try:
        doc = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        doc = None
    run_name = doc.get("run-name") if isinstance(doc, dict) else None
    if not isinstance(run_name, str):
        return workflow_name
    given = {str(k): v for k, v in (inputs or {}).items()}
    github = {
        "workflow": workflow_name,
        "event_name": event,
        "ref_name": branch,
        "ref": f"refs/heads/{branch}",
        "actor": actor,
        "sha": commit.sha,
    }

    def text_of(value: Any) -> str:
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    def render(match: re.Match[str]) -> str:
        expression = match.group(1)
        for prefix in ("inputs.", "github.event.inputs."):
            if expression.startswith(prefix):
                return text_of(given.get(expression[len(prefix) :], ""))
        if expression.startswith("github."):
            return text_of(github.get(expression[len("github.") :], ""))
        return ""

    return _EXPRESSION.sub(render, run_name).strip() or workflow_name


class GitHubEmulator:
    """A stateful fake GitHub on ``127.0.0.1:<free port>`` (see the package docstring)."""

    def __init__(
        self,
        *,
        app_id: int = 424242,
        app_slug: str = "pressplay-emulator",
        web_url: str = "https://github.com",
        rate_limit: int = 5000,
        secondary_limit_per_minute: int = 80,
        token_ttl: timedelta = timedelta(hours=1),
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
        api_prefix: str = "",
        tls: bool = False,
    ) -> None:
        self.app_id = app_id
        self.app_slug = app_slug
        self.web_url = web_url.rstrip("/")
        self.rate_limit = rate_limit
        self.secondary_limit_per_minute = secondary_limit_per_minute
        self.token_ttl = token_ttl
        self.host = host
        self.port = port
        self._clock = clock or (lambda: datetime.now(UTC))
        self._offset = timedelta()
        self.lock = threading.RLock()
        #: "" (github.com layout) or "/api/v3" (GitHub Enterprise Server: REST under /api/v3,
        #: GraphQL at /api/graphql)
        self.api_prefix = api_prefix.rstrip("/")
        #: serve HTTPS with a throwaway self-signed certificate, written to :attr:`ca_file` at start
        #: (trust it with ``SSL_CERT_FILE``)
        self.tls = tls
        self.ca_file: Path | None = None
        self.root_url = ""
        self.url = ""
        self.requests: list[RecordedRequest] = []
        self.faults: list[Fault] = []
        self.random_faults: RandomFaults | None = None
        self.issued_tokens: list[str] = []
        #: each issued token's (repositories or None for all, permissions), in order
        self.token_scopes: list[tuple[list[str] | None, dict[str, str]]] = []
        #: (method, path) of every call refused for lack of a token permission (403)
        self.permission_refusals: list[tuple[str, str]] = []
        self.seen_jwts: list[str] = []
        #: handler crashes (emulator bugs), answered as 500 "GitHub emulator bug: ..."; tests may assert it stays empty
        self.server_errors: list[str] = []
        self._next_id = 1000
        self._users: dict[str, User] = {}
        self._emails: dict[str, User] = {}
        self._repos: dict[str, RepoState] = {}
        self._installations: dict[str, int] = {}  # owner (lower) -> installation id
        self._tokens: dict[str, _Token] = {}
        #: (lower-case owner/name, lower-case login) -> admin | maintain | write | triage | read
        self._permissions: dict[tuple[str, str], str] = {}
        #: (lower-case org, team slug) -> lower-case logins of the team's active members
        self._teams: dict[tuple[str, str], set[str]] = {}
        self._windows: dict[tuple[int, str], RateWindow] = {}
        self._writes: dict[int, list[float]] = {}
        self._push_hooks: list[PushHook] = []
        self._scheduled: list[_Scheduled] = []
        self._dispatch_behaviour: dict[tuple[str, int], tuple[str, int]] = {}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.private_key_file: Path | None = None
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.__private_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        self.public_key_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.bot = self._user(f"{app_slug}[bot]", kind="Bot")
        self.app = CheckApp(
            id=app_id, slug=app_slug, name=app_slug, owner=self._user("pressplay-dev", "Organization")
        )
        self.actions_app = CheckApp(
            id=15368, slug="github-actions", name="GitHub Actions", owner=self._user("github", "Organization")
        )
        self.shapes = Shapes("http://127.0.0.1", self.web_url)
        from pressplay.testing.github_emulator._api import build_router

        self._front = HttpFront(self, build_router(self))

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> GitHubEmulator:
        """Write the App's private key to a temp file and start serving (idempotent)."""
        if self.url:
            return self
        self._tmp = tempfile.TemporaryDirectory(prefix="github-emulator-")
        self.private_key_file = Path(self._tmp.name) / "app-private-key.pem"
        fd = os.open(self.private_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.__private_pem)
        tls = None
        if self.tls:
            tls = self_signed_certificate(Path(self._tmp.name), self.host)
            self.ca_file = tls[0]
        port = self._front.start(self.host, self.port, tls)
        self.root_url = f"{'https' if tls else 'http'}://{self.host}:{port}"
        self.url = self.root_url + self.api_prefix
        self.shapes = Shapes(self.url, self.web_url)
        return self

    def stop(self) -> None:
        """Stop serving and delete the key file."""
        self._front.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
        self.url = self.root_url = ""
        self.ca_file = None

    def __enter__(self) -> GitHubEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"GitHubEmulator(url={self.url!r}, app_id={self.app_id})"

    def sidecar_settings(self, **extra: Any) -> dict[str, Any]:
        """Settings overrides that point pressplay at this emulator (app id, key file, API URL)."""
        if not self.url:
            raise RuntimeError("start the emulator first (use it as a context manager)")
        return {
            "github_app_id": str(self.app_id),
            "github_private_key_file": str(self.private_key_file),
            "github_api_url": self.url,
            **extra,
        }

    def settings(self, **extra: Any) -> Any:
        """A :class:`pressplay.config.Settings` pointing at this emulator (for calling steps directly)."""
        from pressplay.config import Settings

        return Settings(**self.sidecar_settings(**extra))

    # -- clock ------------------------------------------------------------------------------------
    def now(self) -> datetime:
        return (self._clock() + self._offset).replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        """Move the emulator's clock forward (token expiry, rate-limit windows, scheduled events)."""
        with self.lock:
            self._offset += timedelta(seconds=seconds)
            self._tick()

    # -- identities -----------------------------------------------------------------------------
    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _user(self, login: str, kind: str = "User") -> User:
        key = login.lower()
        user = self._users.get(key)
        if user is None:
            user = User(login=login, id=self._new_id() * 7, type=kind)
            self._users[key] = user
            self._emails[f"{login}@users.noreply.github.com"] = user
        return user

    @property
    def users(self) -> dict[str, User]:
        return {u.login: u for u in self._users.values()}

    # -- auth -------------------------------------------------------------------------------------
    def _verify_jwt(self, token: str) -> None:
        self.seen_jwts.append(token)
        try:
            claims = jwt.decode(
                token,
                self.public_key_pem,
                algorithms=["RS256"],
                options={"require": ["exp", "iat", "iss"], "verify_iat": False, "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise ApiError(401, "A JSON web token could not be decoded") from exc
        now = self.now().timestamp()
        exp, iat = float(claims["exp"]), float(claims["iat"])
        if exp <= now:
            raise ApiError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which "
                "the assertion expires",
            )
        if iat > now + 60:
            raise ApiError(
                401,
                "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
            )
        if exp - iat > 600:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
        if str(claims["iss"]) not in {str(self.app_id), f"Iv1.{self.app_id:016x}"}:
            raise ApiError(401, "Integration not found")

    def _check_token(self, credential: str) -> _Token:
        token = self._tokens.get(credential)
        if token is None:
            raise ApiError(401, "Bad credentials")
        if token.expires_at <= self.now():
            raise ApiError(401, "Bad credentials")
        return token

    def _check_access(
        self, token: _Token, owner: str, repo: str, method: str = "GET", rest: str = ""
    ) -> None:
        """As GitHub: a repository outside the installation or outside the token's ``repositories``
        is 404; a route the token's permissions do not cover is 403."""
        if self._installations.get(owner.lower()) != token.installation:
            raise ApiError(404, "Not Found")
        if not repo:
            return
        full = f"{owner}/{repo}".lower()
        if full not in self._repos:
            raise ApiError(404, "Not Found")
        if token.repositories is not None and repo.lower() not in token.repositories:
            raise ApiError(404, "Not Found")
        needed, level = required_permissions(method, rest)
        granted = [token.permissions.get(name) for name in needed]
        if not any(g == "write" or (g == "read" and level == "read") for g in granted):
            self.permission_refusals.append((method, f"/repos/{owner}/{repo}/{rest}".rstrip("/")))
            raise ApiError(403, "Resource not accessible by integration")

    def issue_token(
        self,
        installation: int,
        *,
        repositories: list[str] | None = None,
        permissions: dict[str, str] | None = None,
    ) -> tuple[str, datetime]:
        token = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "b")[:36]
        expires = self.now() + self.token_ttl
        scope = frozenset(r.lower() for r in repositories) if repositories else None
        perms = dict(permissions) if permissions is not None else dict(APP_PERMISSIONS)
        self._tokens[token] = _Token(installation, expires, scope, perms)
        self.issued_tokens.append(token)
        self.token_scopes.append((sorted(scope) if scope else None, perms))
        return token, expires

    def make_jwt(self, *, ttl: int = 540) -> str:
        """An App JWT signed with the emulator's key (for tests that call app routes by hand)."""
        now = int(self.now().timestamp())
        return jwt.encode(
            {"iat": now - 60, "exp": now + ttl, "iss": str(self.app_id)}, self.__private_pem, "RS256"
        )

    def installation_token(self, owner: str) -> str:
        """A valid installation token for ``owner``'s installation (for hand-made requests)."""
        with self.lock:
            inst = self._installations.get(owner.lower())
            if inst is None:
                raise KeyError(f"the App is not installed on {owner}")
            return self.issue_token(inst)[0]

    # -- rate limits ------------------------------------------------------------------------------
    def _window(self, installation: int, resource: str = "core") -> RateWindow:
        key = (installation, resource)
        now = int(self.now().timestamp())
        window = self._windows.get(key)
        if window is None or window.reset <= now:
            window = RateWindow(limit=self.rate_limit, used=0, reset=now + 3600)
            self._windows[key] = window
        return window

    def rate_limit_used(self, installation: int | None = None) -> int:
        """Core rate-limit points used in the current window (of one installation, or all)."""
        with self.lock:
            return sum(
                w.used
                for (inst, res), w in self._windows.items()
                if res == "core" and installation in (None, inst)
            )

    def set_rate_limit_remaining(self, owner: str, remaining: int) -> None:
        """Pretend the installation on ``owner`` has ``remaining`` core points left this hour."""
        with self.lock:
            window = self._window(self._installations[owner.lower()])
            window.used = max(0, window.limit - remaining)

    def _secondary_hit(self, installation: int) -> int:
        now = self.now().timestamp()
        recent = [t for t in self._writes.get(installation, []) if t > now - 60]
        if len(recent) >= self.secondary_limit_per_minute:
            self._writes[installation] = recent
            return int(60 - (now - recent[0])) + 1
        recent.append(now)
        self._writes[installation] = recent
        return 0

    # -- faults -----------------------------------------------------------------------------------
    def inject_fault(
        self,
        path: str = "",
        *,
        kind: str = "status",
        status: int = 502,
        method: str | None = None,
        delay: float = 0.0,
        retry_after: int = 60,
        times: int | None = 1,
    ) -> Fault:
        """Make requests whose path matches the regex ``path`` fail ``times`` times (None: always).

        ``kind``: ``status`` (answer ``status``, e.g. 500/502/503), ``secondary`` (403 secondary rate
        limit with ``Retry-After``), ``too_many`` (429 with ``Retry-After``), ``reset`` (close the
        connection with a TCP RST), ``delay`` (answer normally after ``delay`` seconds; ``delay`` also
        slows the other kinds).
        """
        if kind not in {"status", "secondary", "too_many", "reset", "delay"}:
            raise ValueError(f"unknown fault kind {kind!r}")
        fault = Fault(
            pattern=re.compile(path),
            kind=kind,
            method=method,
            status=status,
            delay=delay,
            retry_after=retry_after,
            times=times,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def random_failures(
        self,
        rate: float,
        *,
        seed: int = 0,
        kinds: Iterable[str] = ("status",),
        methods: Iterable[str] | None = None,
    ) -> None:
        """Fail a ``rate`` fraction of requests (reproducibly, from ``seed``) with a random one of ``kinds``."""
        self.random_faults = RandomFaults(
            rate=rate,
            rng=Random(seed),  # noqa: S311 - reproducible fault injection, not cryptography
            kinds=tuple(kinds),
            methods=tuple(methods) if methods else None,
        )

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.random_faults = None

    # -- scheduling and hooks -------------------------------------------------------------------------
    def on_push(self, callback: PushHook) -> None:
        """Call ``callback(repo, branch, sha, before)`` whenever a branch moves (push, ref API, merge)."""
        self._push_hooks.append(callback)

    def schedule(
        self,
        action: Callable[[], None],
        *,
        after_polls: int | None = None,
        at: datetime | None = None,
        path: str | None = None,
    ) -> None:
        """Run ``action`` after ``after_polls`` matching GET requests (``path`` regex) or at time ``at``."""
        with self.lock:
            self._scheduled.append(
                _Scheduled(action, after_polls, at, re.compile(path) if path is not None else None)
            )

    def _tick(self) -> None:
        now = self.now()
        due = [s for s in self._scheduled if s.at is not None and s.at <= now and s.polls is None]
        for item in due:
            self._scheduled.remove(item)
            item.action()
        self._auto_merge()

    def _after_request(self, method: str, path: str) -> None:
        if method != "GET":
            return
        fired: list[_Scheduled] = []
        for item in self._scheduled:
            if item.polls is None or (item.path is not None and not item.path.search(path)):
                continue
            item.polls -= 1
            if item.polls <= 0:
                fired.append(item)
        for item in fired:
            self._scheduled.remove(item)
            item.action()

    def _fire_push(self, repo: RepoState, branch: str, sha: str, before: str | None) -> None:
        for hook in list(self._push_hooks):
            hook(repo.full_name, branch, sha, before)

    def simulate_ci(
        self,
        repo: str,
        checks: Mapping[str, str] | None = None,
        *,
        after_polls: int = 1,
        statuses: Mapping[str, str] | None = None,
        branches: str = ".*",
    ) -> None:
        """On every push to ``repo``: create queued check runs (``name -> final conclusion``) and pending
        statuses (``context -> final state``) on the new head, and complete them after ``after_polls``
        GETs that read checks/statuses/runs of the repository."""
        checks = dict(checks if checks is not None else {"build": "success"})
        statuses = dict(statuses or {})
        for name, conclusion in checks.items():
            _check_conclusion(conclusion, f"simulate_ci check {name!r}")
        for context, state in statuses.items():
            _check_status_state(state, f"simulate_ci status {context!r}")
        branch_re = re.compile(branches)
        poll_path = rf"^/repos/{re.escape(repo)}/(commits/.+/(check-runs|check-suites|status|statuses)|actions/runs.*)$"

        def hook(full_name: str, branch: str, sha: str, _before: str | None) -> None:
            if full_name.lower() != repo.lower() or not branch_re.fullmatch(branch):
                return
            run_ids = [self.add_check_run(repo, sha, name, status="in_progress") for name in checks]
            for context in statuses:
                self.add_status(repo, sha, context, "pending")

            def finish() -> None:
                for run_id, conclusion in zip(run_ids, checks.values(), strict=True):
                    self.complete_check_run(repo, run_id, conclusion)
                for context, state in statuses.items():
                    self.add_status(repo, sha, context, state)

            if after_polls <= 0:
                finish()
            else:
                self._scheduled.append(_Scheduled(finish, after_polls, None, re.compile(poll_path, re.I)))

        self.on_push(hook)

    # -- repositories and git -------------------------------------------------------------------------
    def _repo(self, full_name: str) -> RepoState:
        repo = self._repos.get(full_name.lower())
        if repo is None:
            raise KeyError(f"no repository {full_name!r} in the emulator (create_repo first)")
        return repo

    def repo_state(self, full_name: str) -> RepoState:
        """The raw state of a repository (read it under ``gh.lock`` if the server is busy)."""
        return self._repo(full_name)

    def install(self, owner: str) -> int:
        """Install the App on ``owner`` (done automatically by :meth:`create_repo`); returns the id."""
        with self.lock:
            key = owner.lower()
            if key not in self._installations:
                self._installations[key] = self._new_id() * 11
            return self._installations[key]

    def installation_id(self, owner: str) -> int:
        return self._installations[owner.lower()]

    def set_permission(self, full_name: str, login: str, permission: str) -> None:
        """Give ``login`` a role on ``full_name`` (``admin``, ``maintain``, ``write``, ``triage``, ``read``)."""
        if permission not in ROLES:
            raise ValueError(f"unknown role {permission!r}: one of {', '.join(ROLES)}")
        with self.lock:
            self._user(login)
            self._permissions[(full_name.lower(), login.lower())] = permission

    def permission_of(self, full_name: str, login: str) -> str:
        """The role GitHub reports for ``login`` on ``full_name``: a granted one, else ``read`` on a
        public repository and ``none`` on a private one."""
        with self.lock:
            granted = self._permissions.get((full_name.lower(), login.lower()))
            if granted is not None:
                return granted
            state = self._repos.get(full_name.lower())
            return "none" if state is None or state.private else "read"

    def add_team_member(self, org: str, team_slug: str, login: str) -> None:
        """Make ``login`` an active member of ``org``'s team ``team_slug``."""
        with self.lock:
            self._user(login)
            self._teams.setdefault((org.lower(), team_slug.lower()), set()).add(login.lower())

    def team_member(self, org: str, team_slug: str, login: str) -> bool | None:
        """Whether ``login`` is in the team; None when the team does not exist."""
        with self.lock:
            members = self._teams.get((org.lower(), team_slug.lower()))
            return None if members is None else login.lower() in members

    def create_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        files: Mapping[str, str | bytes] | None = None,
        private: bool = False,
        installed: bool = True,
        description: str | None = None,
    ) -> str:
        """Create ``owner/name`` with one commit holding ``files`` on ``default_branch``; returns the SHA."""
        owner_login, name = full_name.split("/", 1)
        with self.lock:
            if full_name.lower() in self._repos:
                raise ValueError(f"{full_name} exists already")
            owner = self._user(owner_login, "Organization")
            repo = RepoState(
                owner=owner,
                name=name,
                id=self._new_id() * 13,
                default_branch=default_branch,
                private=private,
                installation_id=self.install(owner_login) if installed else None,
                created_at=self.now(),
                description=description,
            )
            self._repos[full_name.lower()] = repo
            return self.push(
                full_name, default_branch, files or {"README.md": f"# {name}\n"}, message="Initial commit"
            )

    def push(
        self,
        repo: str,
        branch: str,
        files: Mapping[str, str | bytes | None] | None = None,
        *,
        message: str = "Update",
        parent: str | None = None,
        author: str = "octocat",
        replace: bool = False,
    ) -> str:
        """Commit ``files`` (path → content; ``None`` deletes) on top of ``parent`` (default: the branch
        tip, else the default branch tip) and move ``branch`` there. Returns the new SHA."""
        with self.lock:
            state = self._repo(repo)
            base = parent or state.branches.get(branch) or state.branches.get(state.default_branch)
            tree = {} if replace or base is None else dict(state.commits[base].tree)
            for path, content in (files or {}).items():
                if content is None:
                    tree.pop(path, None)
                else:
                    tree[path] = content.encode() if isinstance(content, str) else bytes(content)
            user = self._user(author)
            sha = fake_sha(state.full_name, base, sorted(tree.items()), message, self._new_id())
            state.commits[sha] = Commit(
                sha=sha,
                tree=tree,
                parents=[base] if base else [],
                message=message,
                author=user.login,
                email=f"{user.login}@users.noreply.github.com",
                date=self.now(),
            )
            self._move_branch(state, branch, sha)
            return sha

    def _move_branch(self, state: RepoState, branch: str, sha: str) -> None:
        before = state.branches.get(branch)
        state.branches[branch] = sha
        state.pushed_at = self.now()
        for issue in state.issues.values():
            pr = issue.pull
            if pr and issue.state == "open":
                if pr.head_ref == branch:
                    pr.head_sha = sha
                    issue.updated_at = self.now()
                if pr.base_ref == branch:
                    pr.base_sha = sha
        if before != sha:
            self._fire_push(state, branch, sha, before)

    def delete_branch(self, repo: str, branch: str) -> None:
        with self.lock:
            self._repo(repo).branches.pop(branch, None)

    def sync_from_git(self, repo: str, git_dir: str | Path) -> dict[str, str]:
        """Import branches, commits and trees of a local (bare) git repository via the ``git`` CLI, so
        pushes to a real local remote show up here. Branches that moved fire ``on_push`` hooks."""
        git = ["git", f"--git-dir={git_dir}"]

        def run(*args: str, data: bytes | None = None) -> bytes:
            return subprocess.run([*git, *args], input=data, capture_output=True, check=True).stdout

        heads: dict[str, str] = {}
        for line in (
            run("for-each-ref", "--format=%(objectname) %(refname)", "refs/heads").decode().splitlines()
        ):
            sha, ref = line.split(" ", 1)
            heads[ref.removeprefix("refs/heads/")] = sha
        with self.lock:
            state = self._repo(repo)
        missing: list[str] = []
        if heads:
            listing = run("rev-list", "--topo-order", "--reverse", *heads.values()).decode().split()
            missing = [sha for sha in listing if sha not in state.commits]
        commits: list[Commit] = []
        for sha in missing:
            meta = run("show", "-s", "--format=%P%x00%an%x00%ae%x00%aI%x00%B", sha).decode()
            parents, author, email, date, message = meta.split("\x00", 4)
            tree: dict[str, bytes] = {}
            entries = run("ls-tree", "-r", "-z", sha).split(b"\0")
            blobs: list[tuple[str, str]] = []
            for entry in entries:
                if not entry:
                    continue
                info, raw_path = entry.split(b"\t", 1)
                _mode, kind, blob = info.decode().split(" ")
                if kind == "blob":
                    blobs.append((raw_path.decode(errors="replace"), blob))
            if blobs:
                out = run("cat-file", "--batch", data=("\n".join(b for _, b in blobs) + "\n").encode())
                pos = 0
                for blob_path, _blob in blobs:
                    header_end = out.index(b"\n", pos)
                    size = int(out[pos:header_end].split(b" ")[2])
                    tree[blob_path] = out[header_end + 1 : header_end + 1 + size]
                    pos = header_end + 1 + size + 1
            commits.append(
                Commit(
                    sha=sha,
                    tree=tree,
                    parents=parents.split(),
                    message=message.rstrip("\n"),
                    author=author,
                    email=email,
                    date=datetime.fromisoformat(date).astimezone(UTC),
                )
            )
        with self.lock:
            for commit in commits:
                state.commits[commit.sha] = commit
            for branch, sha in heads.items():
                if state.branches.get(branch) != sha:
                    self._move_branch(state, branch, sha)
        return heads

    # -- issues, PRs, comments, reviews ---------------------------------------------------------------
    def _new_issue(
        self, state: RepoState, title: str, body: str | None, user: User, association: str
    ) -> Issue:
        number = max(state.issues, default=0) + 1
        issue = Issue(
            number=number,
            id=self._new_id() * 17,
            title=title,
            body=body,
            user=user,
            author_association=association,
            created_at=self.now(),
            updated_at=self.now(),
        )
        state.issues[number] = issue
        return issue

    def add_issue(
        self,
        repo: str,
        title: str,
        body: str | None = None,
        *,
        user: str = "octocat",
        labels: Iterable[str] = (),
        author_association: str = "MEMBER",
    ) -> int:
        with self.lock:
            state = self._repo(repo)
            issue = self._new_issue(state, title, body, self._user(user), author_association)
            for name in labels:
                self._ensure_label(state, name)
                issue.labels.append(self._label_name(state, name))
            return issue.number

    def open_pull(
        self,
        repo: str,
        head: str,
        base: str | None = None,
        title: str = "A change",
        *,
        body: str | None = None,
        user: str = "octocat",
        draft: bool = False,
        author_association: str = "MEMBER",
    ) -> int:
        """Open a PR as a person (no duplicate/empty checks; use the REST API for GitHub's validation)."""
        with self.lock:
            state = self._repo(repo)
            base = base or state.default_branch
            issue = self._new_issue(state, title, body, self._user(user), author_association)
            issue.pull = PullData(
                head_ref=head,
                head_owner=state.owner.login,
                base_ref=base,
                head_sha=state.branches[head],
                base_sha=state.branches[base],
                draft=draft,
            )
            return issue.number

    def add_comment(
        self,
        repo: str,
        number: int,
        body: str,
        *,
        user: str = "octocat",
        author_association: str = "MEMBER",
    ) -> int:
        """A comment on issue/PR ``number`` by ``user`` (a login; ``gh.bot.login`` for our App)."""
        with self.lock:
            state = self._repo(repo)
            self._issue(state, number)
            kind = "Bot" if user.endswith("[bot]") else "User"
            comment = Comment(
                id=self._new_id() * 19,
                issue=number,
                body=body,
                user=self._user(user, kind),
                author_association=author_association,
                created_at=self.now(),
                updated_at=self.now(),
            )
            state.comments[comment.id] = comment
            return comment.id

    def comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The comments on ``number`` in GitHub's shape, oldest first."""
        with self.lock:
            state = self._repo(repo)
            return [self.shapes.comment(state, c) for c in state.comments.values() if c.issue == number]

    def add_review(
        self,
        repo: str,
        number: int,
        *,
        user: str = "reviewer",
        state: str = "APPROVED",
        body: str = "",
        commit_id: str | None = None,
        author_association: str = "MEMBER",
    ) -> int:
        with self.lock:
            repo_state = self._repo(repo)
            issue = self._pull(repo_state, number)
            assert issue.pull is not None
            review = Review(
                id=self._new_id() * 23,
                number=number,
                user=self._user(user),
                state=state,
                body=body,
                commit_id=commit_id or issue.pull.head_sha,
                submitted_at=self.now(),
                author_association=author_association,
            )
            repo_state.reviews[review.id] = review
            if user in issue.pull.requested_reviewers:
                issue.pull.requested_reviewers.remove(user)
            return review.id

    def add_review_comment(
        self,
        repo: str,
        number: int,
        body: str,
        *,
        user: str = "reviewer",
        path: str | None = None,
        line: int = 1,
        author_association: str = "MEMBER",
        at: datetime | None = None,
    ) -> int:
        """A review comment on the diff of PR ``number`` (``GET /pulls/{number}/comments``); ``at``
        sets its time (default: now)."""
        with self.lock:
            state = self._repo(repo)
            issue = self._pull(state, number)
            assert issue.pull is not None
            when = at or self.now()
            comment = ReviewComment(
                id=self._new_id() * 53,
                number=number,
                body=body,
                user=self._user(user),
                path=path or next(iter(sorted(state.commits[issue.pull.head_sha].tree)), "README.md"),
                line=line,
                commit_id=issue.pull.head_sha,
                author_association=author_association,
                created_at=when,
                updated_at=when,
            )
            state.review_comments[comment.id] = comment
            return comment.id

    def set_mergeable(
        self, repo: str, number: int, mergeable: bool | None = True, state: str | None = None
    ) -> None:
        """Override what GitHub says about mergeability (``state``: clean, blocked, dirty, unstable, ...);
        ``mergeable=None, state=None`` goes back to computing it."""
        with self.lock:
            pr = self._pull(self._repo(repo), number).pull
            assert pr is not None
            pr.mergeable_override = mergeable
            pr.mergeable_state_override = state

    def protect_branch(
        self, repo: str, branch: str, *, required_checks: Iterable[str] = (), required_approvals: int = 0
    ) -> None:
        """Branch protection lite: required check/status contexts and approving reviews for merging."""
        with self.lock:
            self._repo(repo).protection[branch] = Protection(list(required_checks), required_approvals)

    def pull(self, repo: str, number: int) -> dict[str, Any]:
        """PR ``number`` as ``GET /repos/{repo}/pulls/{number}`` would show it."""
        with self.lock:
            from pressplay.testing.github_emulator._api import pull_json

            state = self._repo(repo)
            return pull_json(self, state, self._pull(state, number))

    def issue(self, repo: str, number: int) -> dict[str, Any]:
        with self.lock:
            state = self._repo(repo)
            return self.shapes.issue(state, self._issue(state, number), self.users)

    def _issue(self, state: RepoState, number: int) -> Issue:
        issue = state.issues.get(number)
        if issue is None:
            raise KeyError(f"{state.full_name} has no issue or PR #{number}")
        return issue

    def _pull(self, state: RepoState, number: int) -> Issue:
        issue = self._issue(state, number)
        if issue.pull is None:
            raise KeyError(f"{state.full_name}#{number} is not a pull request")
        return issue

    def merge(self, repo: str, number: int, *, method: str = "merge", user: str = "octocat") -> str:
        """Merge PR ``number`` as a person would (ignores protection); returns the merge commit SHA."""
        with self.lock:
            from pressplay.testing.github_emulator._api import do_merge

            state = self._repo(repo)
            return do_merge(self, state, self._pull(state, number), method, self._user(user), None, None)

    def _auto_merge(self) -> None:
        from pressplay.testing.github_emulator._api import do_merge, merge_state

        for state in self._repos.values():
            for issue in list(state.issues.values()):
                pr = issue.pull
                if pr is None or pr.auto_merge is None or issue.state != "open":
                    continue
                mergeable, status = merge_state(self, state, issue)
                if mergeable and status in {"clean", "has_hooks", "unstable"}:
                    method = str(pr.auto_merge.get("merge_method", "merge"))
                    do_merge(self, state, issue, method, self.bot, None, None)

    # -- labels -------------------------------------------------------------------------------------------
    def _label_name(self, state: RepoState, name: str) -> str:
        return state.labels[name.lower()].name

    def _ensure_label(
        self, state: RepoState, name: str, color: str = "ededed", description: str | None = None
    ) -> Label:
        label = state.labels.get(name.lower())
        if label is None:
            label = Label(id=self._new_id() * 29, name=name, color=color, description=description)
            state.labels[name.lower()] = label
        return label

    def add_label(
        self, repo: str, name: str, *, color: str = "ededed", description: str | None = None
    ) -> None:
        with self.lock:
            self._ensure_label(self._repo(repo), name, color, description)

    # -- statuses, checks ---------------------------------------------------------------------------------
    def _sha(self, state: RepoState, ref: str) -> str:
        sha = state.resolve(ref)
        if sha is None:
            raise KeyError(f"{state.full_name} has no ref or commit {ref!r}")
        return sha

    def add_status(
        self,
        repo: str,
        ref: str,
        context: str,
        state: str = "success",
        *,
        description: str | None = None,
        target_url: str | None = None,
        creator: str = "ci-bot",
    ) -> int:
        _check_status_state(state, f"add_status {context!r}")
        with self.lock:
            repo_state = self._repo(repo)
            entry = StatusEntry(
                id=self._new_id() * 31,
                sha=self._sha(repo_state, ref),
                state=state,
                context=context,
                description=description,
                target_url=target_url,
                creator=self._user(creator),
                created_at=self.now(),
                updated_at=self.now(),
            )
            repo_state.statuses.append(entry)
            return entry.id

    def _suite(self, state: RepoState, sha: str, app: CheckApp) -> CheckSuite:
        for suite in state.check_suites.values():
            if suite.head_sha == sha and suite.app.id == app.id:
                return suite
        branch = next((b for b, s in state.branches.items() if s == sha), None)
        suite = CheckSuite(
            id=self._new_id() * 37,
            head_sha=sha,
            head_branch=branch,
            app=app,
            created_at=self.now(),
            updated_at=self.now(),
        )
        state.check_suites[suite.id] = suite
        return suite

    def _new_check_run(
        self,
        state: RepoState,
        sha: str,
        name: str,
        app: CheckApp,
        *,
        status: str = "queued",
        conclusion: str | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
        output: Mapping[str, Any] | None = None,
        started_at: datetime | None = None,
        completed_at: datetime | None = None,
    ) -> CheckRun:
        suite = self._suite(state, sha, app)
        if conclusion is not None:
            status = "completed"
        run = CheckRun(
            id=self._new_id() * 41,
            name=name,
            head_sha=sha,
            suite_id=suite.id,
            app=app,
            status=status,
            conclusion=conclusion,
            started_at=started_at or (self.now() if status != "queued" else None) or self.now(),
            completed_at=completed_at or (self.now() if status == "completed" else None),
            details_url=details_url,
            external_id=external_id,
            output=dict(output or {}),
        )
        state.check_runs[run.id] = run
        suite.updated_at = self.now()
        return run

    def add_check_run(
        self,
        repo: str,
        ref: str,
        name: str,
        *,
        status: str = "queued",
        conclusion: str | None = None,
        app: str = "github-actions",
        details_url: str | None = None,
        output: Mapping[str, Any] | None = None,
    ) -> int:
        """A check run on ``ref`` by ``app`` (``"github-actions"`` or our App's slug); returns its id."""
        if conclusion is not None:
            _check_conclusion(conclusion, f"add_check_run {name!r}")
        with self.lock:
            state = self._repo(repo)
            check_app = self.app if app == self.app_slug else self.actions_app
            return self._new_check_run(
                state,
                self._sha(state, ref),
                name,
                check_app,
                status=status,
                conclusion=conclusion,
                details_url=details_url,
                output=output,
            ).id

    def complete_check_run(
        self, repo: str, run_id: int, conclusion: str = "success", *, summary: str | None = None
    ) -> None:
        _check_conclusion(conclusion, "complete_check_run")
        with self.lock:
            run = self._repo(repo).check_runs[run_id]
            run.status = "completed"
            run.conclusion = conclusion
            run.completed_at = self.now()
            if summary is not None:
                run.output = {**run.output, "title": conclusion, "summary": summary}

    # -- actions --------------------------------------------------------------------------------------------
    def add_workflow(self, repo: str, path: str, name: str | None = None) -> int:
        """Register ``.github/workflows/<file>`` (``path``) so it can be dispatched and listed."""
        with self.lock:
            state = self._repo(repo)
            for wf in state.workflows.values():
                if wf.path == path:
                    return wf.id
            wf = Workflow(
                id=self._new_id() * 43, name=name or Path(path).stem, path=path, created_at=self.now()
            )
            state.workflows[wf.id] = wf
            return wf.id

    def _workflow(self, state: RepoState, ident: str | int) -> Workflow:
        for wf in state.workflows.values():
            if str(wf.id) == str(ident) or wf.path == ident or Path(wf.path).name == ident:
                return wf
        raise KeyError(f"{state.full_name} has no workflow {ident!r}")

    def on_dispatch(
        self, repo: str, workflow: str | int, *, conclusion: str = "success", after_polls: int = 1
    ) -> None:
        """How dispatched runs of ``workflow`` behave: complete with ``conclusion`` after ``after_polls``
        GETs of the repository's runs/checks (default for unknown workflows: success after 1 poll)."""
        with self.lock:
            state = self._repo(repo)
            self._dispatch_behaviour[(state.full_name.lower(), self._workflow(state, workflow).id)] = (
                conclusion,
                after_polls,
            )

    def run_workflow(
        self,
        repo: str,
        workflow: str | int,
        *,
        branch: str | None = None,
        head_sha: str | None = None,
        event: str = "push",
        status: str = "completed",
        conclusion: str | None = "success",
        after_polls: int | None = None,
        inputs: Mapping[str, Any] | None = None,
        actor: str = "octocat",
    ) -> int:
        """Create a workflow run (with its check suite/run, as Actions does). With ``after_polls`` it
        starts ``in_progress`` and completes with ``conclusion`` after that many polls."""
        with self.lock:
            state = self._repo(repo)
            try:
                wf = self._workflow(state, workflow)
            except KeyError:
                wf = state.workflows[self.add_workflow(repo, str(workflow))]
            branch = branch or state.default_branch
            sha = head_sha or state.branches[branch]
            number = 1 + sum(1 for r in state.runs.values() if r.workflow_id == wf.id)
            final_conclusion = conclusion
            if after_polls:
                status, conclusion = "in_progress", None
            run = WorkflowRun(
                id=self._new_id() * 47,
                workflow_id=wf.id,
                name=wf.name,
                head_branch=branch,
                head_sha=sha,
                event=event,
                run_number=number,
                actor=self._user(actor),
                status=status,
                conclusion=conclusion if status == "completed" else None,
                created_at=self.now(),
                updated_at=self.now(),
                run_started_at=self.now(),
                inputs=dict(inputs or {}),
                display_title=_display_title(
                    state.commits.get(sha), wf.path, wf.name, event, branch, actor, inputs
                ),
            )
            check = self._new_check_run(
                state,
                sha,
                wf.name,
                self.actions_app,
                status=status,
                conclusion=run.conclusion,
                details_url=f"{self.web_url}/{state.full_name}/actions/runs/{run.id}",
            )
            run.check_run_id = check.id
            state.runs[run.id] = run
            if after_polls:
                poll_path = rf"^/repos/{re.escape(state.full_name)}/(actions/.*|commits/.+)$"
                self._scheduled.append(
                    _Scheduled(
                        lambda: self.complete_workflow_run(repo, run.id, final_conclusion or "success"),
                        after_polls,
                        None,
                        re.compile(poll_path, re.I),
                    )
                )
            return run.id

    def complete_workflow_run(self, repo: str, run_id: int, conclusion: str = "success") -> None:
        with self.lock:
            state = self._repo(repo)
            run = state.runs[run_id]
            run.status, run.conclusion, run.updated_at = "completed", conclusion, self.now()
            if run.check_run_id in state.check_runs:
                self.complete_check_run(repo, run.check_run_id, conclusion)

    # -- snapshots ---------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The GitHub state as JSON-able data (no tokens, keys, hooks or scheduled actions)."""
        from pressplay.testing.github_emulator._snapshot import SNAPSHOT_VERSION, encode

        with self.lock:
            return {
                "version": SNAPSHOT_VERSION,
                "next_id": self._next_id,
                "users": encode(self._users),
                "emails": encode(self._emails),
                "installations": dict(self._installations),
                "repos": encode(self._repos),
                "dispatch_behaviour": encode(self._dispatch_behaviour),
            }

    def restore(self, snapshot: Mapping[str, Any]) -> None:
        """Replace the GitHub state with a :meth:`snapshot` (e.g. from a previous run)."""
        from pressplay.testing.github_emulator._snapshot import SNAPSHOT_VERSION, decode

        if snapshot.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported GitHub emulator snapshot version {snapshot.get('version')!r}")
        with self.lock:
            self._next_id = int(snapshot["next_id"])
            self._users = decode(snapshot["users"])
            self._emails = decode(snapshot["emails"])
            self._installations = dict(snapshot["installations"])
            self._repos = decode(snapshot["repos"])
            self._dispatch_behaviour = decode(snapshot.get("dispatch_behaviour", {}))
            self._users.setdefault(self.bot.login.lower(), self.bot)

    # -- request log ----------------------------------------------------------------------------------------
    def reset_requests(self) -> None:
        with self.lock:
            self.requests.clear()

    def requests_to(self, path_regex: str, method: str | None = None) -> list[RecordedRequest]:
        pattern = re.compile(path_regex)
        with self.lock:
            return [
                r for r in self.requests if pattern.search(r.path) and (method is None or r.method == method)
            ]
