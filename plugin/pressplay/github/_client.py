"""The GitHub client layer: App auth, installation discovery, ETag cache, rate-limit budget, errors."""

from __future__ import annotations

import hashlib
import json as jsonlib
import logging
import re
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import urllib3
from opentelemetry import trace
from opentelemetry.metrics import CallbackOptions, Observation
from pydantic import SecretStr

from pressplay import telemetry
from pressplay.config import Settings
from pressplay.github._errors import (
    GitHubPermanentError,
    GitHubTemporaryError,
    map_status,
)
from pressplay.github._routes import route_template
from pressplay.types import _check_repo, parse_timestamp

if TYPE_CHECKING:
    import httpx

    from pressplay.github._app import AppSession

log = logging.getLogger("pressplay.github")

#: Seconds one HTTP exchange with GitHub may take (the agent gives a whole step call 30 s).
REQUEST_TIMEOUT = 10.0
#: Conditional-request cache entries kept per clients object (least recently used are dropped).
ETAG_CACHE_SIZE = 4096
#: ... and at most this many bytes of cached response bodies.
ETAG_CACHE_BYTES = 64 * 1024 * 1024
PER_PAGE = 100
#: An installation token is renewed this many seconds before GitHub says it expires.
TOKEN_RENEW_MARGIN = 60.0
#: Kept-alive connections to the GitHub API per host (the sidecar's threads share them).
POOL_CONNECTIONS = 32
#: The REST API version pressplay is written against (``X-GitHub-Api-Version``).
API_VERSION = "2022-11-28"
USER_AGENT = "pressplay (GitHub App)"
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
#: The headers of every installation call but its ``Authorization`` (``GitHubClients._as_installation``).
INSTALLATION_HEADERS: Mapping[str, str] = {
    "Accept": "application/vnd.github+json",
    "Accept-Encoding": "gzip",
    "User-Agent": USER_AGENT,
    "X-GitHub-Api-Version": API_VERSION,
}
_SETTINGS_HINT = (
    "set PRESSPLAY_GITHUB_APP_ID (the App's id) and PRESSPLAY_GITHUB_PRIVATE_KEY_FILE (the path of the "
    "App's private key PEM, mounted from a Secret) or PRESSPLAY_GITHUB_PRIVATE_KEY (the PEM itself, from a Secret)"
)


#: A token's permissions as sorted (name, level) pairs; empty: all the installation has.
Permissions = tuple[tuple[str, str], ...]
#: What a cached installation token is for: (installation id, lower-case ``owner/name`` or "", permissions).
TokenScope = tuple[int, str, Permissions]


@dataclass(frozen=True)
class GitHubResponse:
    """One GitHub answer.

    ``json`` is the decoded body (``None`` when empty); ``headers`` are case-insensitive.
    ``not_modified`` is True when GitHub answered 304 to our ``If-None-Match`` and ``json`` is the
    cached body of the previous 200 (a 304 costs no rate limit). ``status`` is then that 200, so
    callers never see a 304.
    """

    status: int
    json: Any
    headers: Mapping[str, str]
    url: str
    not_modified: bool = False
    size: int = 0

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class GitHubList(list[Any]):
    """Items of a paginated list. ``not_modified`` is True when every page answered 304."""

    not_modified: bool = False
    pages: int = 0
    total_count: int | None = None
    #: True when ``max_pages`` stopped the walk before the last page
    truncated: bool = False


@dataclass
class _RateLimit:
    remaining: int
    limit: int
    reset: float


_Cached = tuple[str, int, Any, dict[str, str]]


class _EtagCache:
    """Bounded LRU of ``key -> (etag, status, body, headers)`` for conditional GETs (thread-safe).

    Bounded twice: at most ``size`` entries and about ``max_bytes`` of response bodies, so a few
    huge lists cannot make a long-running sidecar grow without limit.
    """

    def __init__(self, size: int = ETAG_CACHE_SIZE, max_bytes: int = ETAG_CACHE_BYTES) -> None:
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        self._data: OrderedDict[str, tuple[_Cached, int]] = OrderedDict()

    def get(self, key: str) -> _Cached | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            self._data.move_to_end(key)
            return item[0]

    def put(self, key: str, value: _Cached, nbytes: int) -> None:
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if nbytes > self._max_bytes // 4:  # one body may not take over the cache
                return
            self._data[key] = (value, nbytes)
            self._bytes += nbytes
            while len(self._data) > self._size or self._bytes > self._max_bytes:
                _key, (_value, size) = self._data.popitem(last=False)
                self._bytes -= size

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._data)


_metrics_lock = threading.Lock()
_metrics: dict[str, Any] = {}
_rate_gauges: dict[str, _RateLimit] = {}


def _instruments() -> dict[str, Any]:
    meter = telemetry.meter()
    if _metrics.get("meter") is meter:  # the hot path: no lock once the instruments exist
        return _metrics
    with _metrics_lock:
        if _metrics.get("meter") is not meter:
            _metrics["calls"] = meter.create_counter(
                "pressplay.github.calls",
                description="GitHub REST/GraphQL calls by route template, method and status",
            )
            _metrics["not_modified"] = meter.create_counter(
                "pressplay.github.not_modified",
                description="GitHub conditional requests answered 304 Not Modified (free of rate limit)",
            )
            meter.create_observable_gauge(
                "pressplay.github.rate_limit.remaining",
                callbacks=[_observe_rate_limits],
                description="GitHub core rate limit remaining, per installation",
            )
            _metrics["meter"] = meter  # last: lock-free readers see complete instruments
        return _metrics


def _observe_rate_limits(_options: CallbackOptions) -> Iterator[Observation]:
    for installation, rate in list(_rate_gauges.items()):
        yield Observation(rate.remaining, {"github.installation": installation})


def _check_pem(text: str, where: str) -> str:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        raise GitHubPermanentError(
            f"{where} does not hold an unencrypted PEM private key "
            "(download a new key from the App's settings page)"
        ) from None
    except Exception:  # unsupported key types etc.
        raise GitHubPermanentError(f"{where} holds a key that cannot be used") from None
    return text


def _read_private_key(path: Path | None, inline: SecretStr | None = None) -> str:
    """The App's private key: from the mounted file, else from PRESSPLAY_GITHUB_PRIVATE_KEY (the PEM itself)."""
    if path is None:
        if inline is not None and inline.get_secret_value().strip():
            return _check_pem(inline.get_secret_value().strip() + "\n", "PRESSPLAY_GITHUB_PRIVATE_KEY")
        raise GitHubPermanentError(f"GitHub is not configured: {_SETTINGS_HINT}.")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise GitHubPermanentError(
            f"cannot read PRESSPLAY_GITHUB_PRIVATE_KEY_FILE {str(path)!r}: {exc.strerror or type(exc).__name__}"
        ) from None
    except UnicodeDecodeError:
        raise GitHubPermanentError(
            f"PRESSPLAY_GITHUB_PRIVATE_KEY_FILE {str(path)!r} is not a PEM text file"
        ) from None
    return _check_pem(text, f"PRESSPLAY_GITHUB_PRIVATE_KEY_FILE {str(path)!r}")


def _pool_options() -> dict[str, Any]:
    # no retries (the requeue retries); follow GitHub's redirects (renamed repositories), and
    # urllib3 drops the Authorization header when a redirect leaves the host
    return {
        "retries": urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5),
        "timeout": urllib3.Timeout(connect=REQUEST_TIMEOUT, read=REQUEST_TIMEOUT),
    }


def installation_pool(api_url: str, maxsize: int = POOL_CONNECTIONS) -> urllib3.HTTPConnectionPool:
    """The kept-alive connection pool to the API host that every installation call goes through."""
    pool: urllib3.HTTPConnectionPool = urllib3.connection_from_url(
        api_url, maxsize=maxsize, block=False, **_pool_options()
    )
    return pool


class GitHubClients:
    """GitHub access for one App configuration: one per process and settings (see :func:`clients_for`).

    Thread-safe. Holds the App's private key, the installation-token cache (private to this object),
    the installation-id cache, the ETag cache, rate-limit bookkeeping and the connections: the App's
    own calls (its JWT) go through githubkit, imported on the first of them (:mod:`._app`); the
    installation's calls, the hot path of every step, go straight through one kept-alive urllib3 pool
    to the API's host (a redirect is followed through a pool manager, which drops the credentials
    when it leaves the host).
    """

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.github_app_id:
            raise GitHubPermanentError(f"GitHub is not configured: {_SETTINGS_HINT}.")
        self.app_id = str(settings.github_app_id)
        self.api_url = settings.github_api_url.rstrip("/")
        #: GitHub Enterprise Server serves GraphQL at /api/graphql next to the REST /api/v3
        self.graphql_url = (
            self.api_url.removesuffix("/api/v3") + "/api/graphql"
            if self.api_url.endswith("/api/v3")
            else "/graphql"
        )
        self._fixed_installation = settings.github_installation_id
        self.__private_key = _read_private_key(settings.github_private_key_file, settings.github_private_key)
        self._app_transport = transport
        self._app: AppSession | None = None
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=POOL_CONNECTIONS, block=False, **_pool_options()
        )
        # The hot path: the API host's own pool, used without the pool manager's per-request URL
        # parsing and pool lookup; redirects (rare) are handed to the manager above.
        self._api_pool = installation_pool(self.api_url)
        self._api_prefix = urlsplit(self.api_url).path.rstrip("/")
        self._lock = threading.RLock()
        self._installations: dict[str, int] = {}
        self._tokens: dict[TokenScope, tuple[str, float]] = {}
        self._minting: dict[TokenScope, threading.Lock] = {}
        self._settings = settings
        self._rates: dict[int, _RateLimit] = {}
        self._bot_login: str | None = None
        self._app_slug: str | None = None
        self.etags = _EtagCache()

    def _app_session(self) -> AppSession:
        """githubkit's client for the App's own calls, built (and githubkit imported) on first use."""
        with self._lock:
            if self._app is None:
                from pressplay.github._app import AppSession

                self._app = AppSession(self.app_id, self.__private_key, self.api_url, self._app_transport)
            return self._app

    # -- installation tokens -------------------------------------------------------------------
    def _token(self, scope: TokenScope) -> str:
        """The token for ``scope`` (installation, repository, permissions), minted with the App's JWT
        and kept until a minute before it expires.

        Each token is narrowed to one repository and to the permissions its caller asked for, so a
        token that leaks (or a step with a bug) reaches nothing else. One mint at a time per scope:
        threads arriving meanwhile wait for it and share it."""
        with self._lock:
            held = self._tokens.get(scope)
            if held is not None and held[1] - TOKEN_RENEW_MARGIN > time.time():
                return held[0]
            minting = self._minting.setdefault(scope, threading.Lock())
        with minting:
            with self._lock:
                held = self._tokens.get(scope)
                if held is not None and held[1] - TOKEN_RENEW_MARGIN > time.time():
                    return held[0]
            installation_id, repo, permissions = scope
            route = "/app/installations/{installation_id}/access_tokens"
            body: dict[str, Any] = {}
            if repo:
                body["repositories"] = [repo.split("/", 1)[1]]
            if permissions:
                body["permissions"] = dict(permissions)
            resp = self._send(
                "POST",
                f"/app/installations/{installation_id}/access_tokens",
                repo=repo or None,
                json=body,
                app_route=True,
            )
            token = str(_field(resp, "token", route))
            expires = parse_timestamp(resp.json.get("expires_at"))
            # GitHub's tokens live an hour; without an expiry, assume the shortest life worth caching
            expires_at = expires.timestamp() if expires else time.time() + 10 * TOKEN_RENEW_MARGIN
            with self._lock:
                self._tokens[scope] = (token, expires_at)
            return token

    def _forget_token(self, installation_id: int) -> None:
        with self._lock:
            for scope in [s for s in self._tokens if s[0] == installation_id]:
                self._tokens.pop(scope, None)

    def close(self) -> None:
        """Close the connection pools (tests; a process normally keeps them)."""
        with self._lock:
            if self._app is not None:
                self._app.close()
        self._api_pool.close()
        self._pool.clear()

    def __repr__(self) -> str:  # never show the key
        return f"GitHubClients(app_id={self.app_id!r}, api_url={self.api_url!r})"

    # -- App-level -----------------------------------------------------------------------------
    def repo(self, full_name: str, *, permissions: Mapping[str, str] | None = None) -> RepoClient:
        """A client for ``owner/name`` (validated, and within the ``repositories`` allow-list),
        authenticated with an installation token narrowed to that repository and to ``permissions``
        (e.g. ``{"issues": "write"}``; None: every permission the installation has)."""
        try:
            repo = _check_repo(str(full_name).strip())
        except ValueError as exc:
            raise GitHubPermanentError(str(exc)) from None
        if not self._settings.allows(repo):
            raise GitHubPermanentError(
                f"repository {repo} is not one this sidecar may act on: add it to PRESSPLAY_REPOSITORIES "
                f"(now {', '.join(self._settings.repositories)}) if pressplay should work there"
            )
        return RepoClient(self, repo, permissions)

    def installation_id(self, repo: str) -> int:
        """The installation id for ``repo``: from settings, else ``GET /repos/{o}/{r}/installation`` (cached)."""
        if self._fixed_installation is not None:
            return int(self._fixed_installation)
        key = str(repo).lower()
        with self._lock:
            found = self._installations.get(key)
        if found is not None:
            return found
        resp = self._send("GET", f"/repos/{repo}/installation", repo=str(repo), app_route=True)
        installation = int(_field(resp, "id", "/repos/{owner}/{repo}/installation"))
        with self._lock:
            self._installations[key] = installation
        return installation

    def installation_token(self, repo: str, *, permissions: Mapping[str, str] | None = None) -> str:
        """A fresh installation token scoped to ``repo`` alone (and ``permissions``, if given).

        For handing to git through ``pressplay git-credential``; it is never cached, logged or stored.
        """
        installation = self.installation_id(repo)
        body: dict[str, Any] = {"repositories": [repo.split("/", 1)[1]]}
        if permissions:
            body["permissions"] = dict(permissions)
        resp = self._send(
            "POST",
            f"/app/installations/{installation}/access_tokens",
            repo=repo,
            json=body,
            app_route=True,
        )
        return str(_field(resp, "token", "/app/installations/{installation_id}/access_tokens"))

    def app_slug(self) -> str:
        """The App's slug (``GET /app`` with the App's JWT; cached)."""
        if self._app_slug is None:
            resp = self._send("GET", "/app", repo=None, app_route=True)
            self._app_slug = str(_field(resp, "slug", "/app"))
        return self._app_slug

    def bot_login(self) -> str:
        """The login our App's comments and commits appear under: ``<slug>[bot]`` (cached)."""
        if self._bot_login is None:
            self._bot_login = f"{self.app_slug()}[bot]"
        return self._bot_login

    def budget(self, installation_id: int) -> float:
        """Fraction (0..1) of ``installation_id``'s core rate limit left; 1.0 when unknown or reset."""
        with self._lock:
            rate = self._rates.get(installation_id)
        if rate is None or rate.limit <= 0 or rate.reset <= time.time():
            return 1.0
        return max(0.0, min(1.0, rate.remaining / rate.limit))

    # -- the one place requests are sent --------------------------------------------------------
    def _track_rate(self, installation_id: int | None, headers: Mapping[str, str]) -> None:
        if installation_id is None:
            return
        resource = headers.get("x-ratelimit-resource", "core")
        if resource != "core":
            return
        try:
            rate = _RateLimit(
                remaining=int(headers["x-ratelimit-remaining"]),
                limit=int(headers["x-ratelimit-limit"]),
                reset=float(headers.get("x-ratelimit-reset", time.time() + 3600)),
            )
        except (KeyError, ValueError):
            return
        with self._lock:
            self._rates[installation_id] = rate
        _rate_gauges[f"{self.app_id}/{installation_id}"] = rate

    def _send(
        self,
        method: str,
        url: str,
        *,
        repo: str | None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        installation_id: int | None = None,
        app_route: bool = False,
        allow: frozenset[int] = frozenset(),
        permissions: Permissions = (),
    ) -> GitHubResponse:
        """Send one request: as the App (its JWT, through githubkit) when ``app_route``, else as
        ``installation_id`` (its token, through the kept-alive pool). Maps failures to our errors."""
        route = route_template(_api_path(url, self.api_url))
        attrs = {"http.request.method": method, "url.template": route}
        inst = _instruments()
        with telemetry.tracer().start_as_current_span(
            f"GitHub {method} {route}", kind=trace.SpanKind.CLIENT, attributes=attrs
        ) as span:
            if repo:
                span.set_attribute("pressplay.repo", repo)
            try:
                if app_route:
                    raw = self._as_app(method, url, params, json, headers)
                else:
                    assert installation_id is not None, "an installation call needs its installation id"
                    scope = (installation_id, (repo or "").lower(), permissions)
                    raw = self._as_installation(scope, method, url, params, json, headers)
            except _Unanswered as exc:
                inst["calls"].add(1, {**attrs, "http.response.status_code": 0, "error": exc.kind})
                span.set_status(trace.StatusCode.ERROR, exc.kind)
                raise GitHubTemporaryError(
                    f"GitHub {method} {route} {exc.what}; retrying", 10.0, route=route
                ) from None
            except AppAuthFailed as exc:
                span.set_status(trace.StatusCode.ERROR, exc.kind)
                raise GitHubPermanentError(
                    f"GitHub {method} {route} could not be authenticated ({exc.kind}); "
                    f"check the GitHub App settings: {_SETTINGS_HINT}"
                ) from None
            status = raw.status
            span.set_attribute("http.response.status_code", status)
            inst["calls"].add(1, {**attrs, "http.response.status_code": status})
            if status == 304:
                inst["not_modified"].add(1, attrs)
            self._track_rate(installation_id, raw.headers)
            body = _decode(raw.content)
            if status >= 400 and status not in allow:
                span.set_status(trace.StatusCode.ERROR, str(status))
                if status == 401 and not app_route and installation_id is not None:
                    # the App's credentials worked for minting this token, so the token itself went
                    # stale (revoked, installation re-created): drop it; the next call mints a new one
                    self._forget_token(installation_id)
                    raise GitHubTemporaryError(
                        f"GitHub {method} {route} rejected the installation token (401); a new token "
                        "will be minted on the next attempt",
                        5.0,
                        status=401,
                        route=route,
                    )
                err = map_status(
                    status=status,
                    headers=raw.headers,
                    body=body,
                    method=method,
                    route=route,
                    repo=repo,
                    app_route=app_route,
                )
                log.info(
                    "github call failed",
                    extra={"github_route": route, "http_method": method, "http_status": status},
                )
                raise err
            return GitHubResponse(
                status=status, json=body, headers=raw.headers, url=raw.url, size=len(raw.content)
            )

    def _as_app(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> _Raw:
        return self._app_session().request(method, url, params, json, headers)

    def _as_installation(
        self,
        scope: TokenScope,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> _Raw:
        token = self._token(scope)
        absolute = url.startswith(("http://", "https://"))
        full = url if absolute else self.api_url + url
        query = ""
        if params:
            query = ("&" if "?" in full else "?") + urlencode(params)
            full += query
        sent = {**INSTALLATION_HEADERS, **(headers or {}), "Authorization": f"token {token}"}
        payload = None
        if json is not None:
            payload = jsonlib.dumps(json, separators=(",", ":")).encode()
            sent["Content-Type"] = "application/json"
        try:
            if not absolute:
                target = self._api_prefix + url + query
            elif full.startswith(self.api_url + "/"):
                target = self._api_prefix + full[len(self.api_url) :]
            else:
                target = ""
            resp = None
            if target:
                resp = self._api_pool.urlopen(
                    method, target, body=payload, headers=sent, redirect=False, assert_same_host=False
                )
                if resp.get_redirect_location():
                    resp = None  # renamed or moved: the manager follows it (and guards the credentials)
            if resp is None:
                resp = self._pool.request(method, full, body=payload, headers=sent)
        except urllib3.exceptions.MaxRetryError as exc:
            raise _unanswered(exc.reason) from None
        except urllib3.exceptions.HTTPError as exc:
            raise _unanswered(exc) from None
        return _Raw(resp.status, resp.headers, resp.data, resp.geturl() or full)


@dataclass(frozen=True)
class _Raw:
    """An answer as it came off the wire (either HTTP stack)."""

    status: int
    headers: Mapping[str, str]  # case-insensitive
    content: bytes
    url: str


class AppAuthFailed(Exception):
    """githubkit could not sign or send one of the App's own calls (the kind is its exception's name)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _Unanswered(Exception):
    """No answer from GitHub (timeout, refused or reset connection): always temporary."""

    def __init__(self, kind: str, what: str) -> None:
        super().__init__(what)
        self.kind = kind
        self.what = what


def _unanswered(exc: BaseException | None) -> _Unanswered:
    timeouts: tuple[type[BaseException], ...] = (urllib3.exceptions.TimeoutError, TimeoutError)
    transport: tuple[type[BaseException], ...] = (urllib3.exceptions.HTTPError, OSError)
    httpx = sys.modules.get("httpx")  # only the App's calls (githubkit) use it, once it is imported
    if httpx is not None:
        timeouts += (httpx.TimeoutException,)
        transport += (httpx.TransportError,)
    if isinstance(exc, timeouts):
        return _Unanswered("timeout", f"timed out after {REQUEST_TIMEOUT:.0f}s")
    name = type(exc).__name__ if exc is not None else "unknown"
    if isinstance(exc, transport):
        return _Unanswered(name, f"could not reach GitHub ({name})")
    return _Unanswered(name, f"failed before GitHub answered ({name})")


def _field(resp: GitHubResponse, name: str, route: str) -> Any:
    body = resp.json
    if not isinstance(body, dict) or body.get(name) in (None, ""):
        raise GitHubTemporaryError(
            f"GitHub GET {route} answered without {name!r}; retrying", 30.0, route=route
        )
    return body[name]


def _api_path(url: str, api_url: str) -> str:
    if url.endswith("/api/graphql"):
        return "/graphql"
    if url.startswith(api_url):
        url = url[len(api_url) :]
    elif "://" in url:
        url = urlsplit(url).path
    return url.split("?", 1)[0] or "/"


def _decode(content: bytes) -> Any:
    if not content:
        return None
    try:
        return jsonlib.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


def _param_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class RepoClient:
    """GitHub calls on one repository, authenticated as the App's installation on it.

    Paths that don't start with ``/`` are relative to ``/repos/{owner}/{name}`` (``"pulls/7"``,
    ``""`` for the repository itself). Every method raises :class:`GitHubPermanentError` or
    :class:`GitHubTemporaryError` (subclasses of the step framework's PermanentError / TemporaryError)
    unless the status is listed in ``allow``, in which case the response is returned.
    """

    def __init__(
        self, clients: GitHubClients, full_name: str, permissions: Mapping[str, str] | None = None
    ) -> None:
        self.clients = clients
        self.full_name = full_name
        self.owner, self.name = full_name.split("/", 1)
        #: the permissions of this client's token, sorted (empty: all the installation has)
        self.permissions: Permissions = tuple(sorted((permissions or {}).items()))

    def __repr__(self) -> str:
        return f"RepoClient({self.full_name!r})"

    @property
    def installation_id(self) -> int:
        return self.clients.installation_id(self.full_name)

    def _url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            if not path.startswith(self.clients.api_url + "/"):
                raise GitHubPermanentError(
                    f"refusing to send GitHub credentials to {urlsplit(path).hostname!r}: not under "
                    f"PRESSPLAY_GITHUB_API_URL"
                )
            return path
        if path.startswith("/"):
            return path
        base = f"/repos/{self.full_name}"
        return f"{base}/{path}" if path else base

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        allow: tuple[int, ...] = (),
        url: str | None = None,
    ) -> GitHubResponse:
        installation = self.installation_id
        return self.clients._send(
            method,
            url or self._url(path),
            repo=self.full_name,
            params=params,
            json=json,
            headers=headers,
            installation_id=installation,
            allow=frozenset(allow),
            permissions=self.permissions,
        )

    # -- reads ---------------------------------------------------------------------------------
    def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        conditional: bool = True,
        immutable: bool = False,
        allow: tuple[int, ...] = (),
    ) -> GitHubResponse:
        """``GET`` with a conditional request: an unchanged resource answers 304 (free) and the cached
        body comes back with ``not_modified=True``.

        ``immutable``: what this URL names can never change (a commit by its full SHA), so a cached
        copy is returned without asking GitHub again (``not_modified=True``)."""
        clean = {k: _param_value(v) for k, v in (params or {}).items() if v is not None}
        url = self._url(path)
        installation = self.installation_id
        key = f"{installation}|{url}?{urlencode(sorted(clean.items()))}"
        cached = self.clients.etags.get(key) if conditional else None
        if immutable and cached is not None:
            _etag, status, body, old_headers = cached
            return GitHubResponse(
                status=status,
                json=body,
                headers=urllib3.HTTPHeaderDict(old_headers),
                url=url if url.startswith("http") else self.clients.api_url + url,
                not_modified=True,
            )
        headers = {"If-None-Match": cached[0]} if cached else None
        resp = self._request("GET", path, params=clean or None, headers=headers, allow=(*allow, 304))
        if resp.status == 304 and cached is not None:
            _etag, status, body, old_headers = cached
            merged = urllib3.HTTPHeaderDict(old_headers)
            for name, value in resp.headers.items():
                if name.lower().startswith("x-ratelimit"):
                    merged[name] = value
            return GitHubResponse(
                status=status,
                json=body,
                headers=merged,
                url=resp.url,
                not_modified=True,
                size=resp.size,
            )
        if resp.status == 304:  # 304 without a cached body: GitHub ignored our missing validator
            return self.get(path, params, conditional=False, allow=allow)
        if conditional and resp.status == 200 and resp.etag:
            self.clients.etags.put(key, (resp.etag, resp.status, resp.json, dict(resp.headers)), resp.size)
        return resp

    def get_all(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        key: str | None = None,
        max_pages: int = 50,
    ) -> GitHubList:
        """All items of a paginated list (``per_page=100``, following ``Link: rel="next"``), each page a
        conditional request. For wrapped lists (``{"total_count", "check_runs": [...]}``) give ``key``,
        or the first list-valued field is used."""
        query: dict[str, Any] = {"per_page": PER_PAGE, **(params or {})}
        items = GitHubList()
        all_cached = True
        next_path: str | None = path
        next_params: Mapping[str, Any] | None = query
        while next_path is not None and items.pages < max_pages:
            resp = self.get(next_path, next_params)
            items.pages += 1
            all_cached = all_cached and resp.not_modified
            body = resp.json
            if isinstance(body, dict):
                if items.total_count is None and isinstance(body.get("total_count"), int):
                    items.total_count = body["total_count"]
                field_name = key or next((k for k, v in body.items() if isinstance(v, list)), None)
                body = body.get(field_name, []) if field_name else []
            if not isinstance(body, list):
                raise GitHubPermanentError(
                    f"GitHub GET {route_template(self._url(path))} did not return a list"
                )
            items.extend(body)
            match = _LINK_NEXT.search(resp.headers.get("link", ""))
            next_path, next_params = (match.group(1), None) if match else (None, None)
        items.not_modified = all_cached
        items.truncated = next_path is not None
        return items

    # -- writes --------------------------------------------------------------------------------
    def post(self, path: str, json: Any = None, *, allow: tuple[int, ...] = ()) -> GitHubResponse:
        return self._request("POST", path, json=json if json is not None else {}, allow=allow)

    def patch(self, path: str, json: Any = None, *, allow: tuple[int, ...] = ()) -> GitHubResponse:
        return self._request("PATCH", path, json=json if json is not None else {}, allow=allow)

    def put(self, path: str, json: Any = None, *, allow: tuple[int, ...] = ()) -> GitHubResponse:
        return self._request("PUT", path, json=json, allow=allow)

    def delete(self, path: str, json: Any = None, *, allow: tuple[int, ...] = ()) -> GitHubResponse:
        return self._request("DELETE", path, json=json, allow=allow)

    # -- GraphQL -------------------------------------------------------------------------------
    def graphql(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a GraphQL query/mutation as the installation; returns ``data``. GraphQL ``errors`` map to
        PermanentError (``RATE_LIMITED`` → TemporaryError)."""
        payload: dict[str, Any] = {"query": query}
        if variables:
            payload["variables"] = dict(variables)
        resp = self._request("POST", "/graphql", json=payload, url=self.clients.graphql_url)
        body = resp.json if isinstance(resp.json, dict) else {}
        errors = body.get("errors") or []
        if errors:
            types = {str(e.get("type", "")) for e in errors if isinstance(e, dict)}
            messages = "; ".join(str(e.get("message", e)) for e in errors[:5] if isinstance(e, dict))
            if types & {"RATE_LIMITED", "RATE_LIMIT"}:
                raise GitHubTemporaryError(f"GitHub GraphQL rate limited: {messages}", 60.0, route="/graphql")
            raise GitHubPermanentError(
                f"GitHub GraphQL failed: {messages}",
                status=resp.status,
                github_message=messages,
                errors=list(errors),
                method="POST",
                route="/graphql",
            )
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    # -- identity and budget ---------------------------------------------------------------------
    def bot_login(self) -> str:
        """Our App's login, ``<slug>[bot]``: the author of comments we own."""
        return self.clients.bot_login()

    def budget(self) -> float:
        """Fraction (0..1) of this repository's installation rate limit left (1.0 when unknown)."""
        return self.clients.budget(self.installation_id)


class ScopedGitHub:
    """The GitHub a step sees: :meth:`repo` gives clients whose tokens carry the step's permissions."""

    def __init__(self, clients: GitHubClients, permissions: Mapping[str, str] | None = None) -> None:
        self.clients = clients
        self.permissions = dict(permissions) if permissions is not None else None

    def repo(self, full_name: str) -> RepoClient:
        return self.clients.repo(full_name, permissions=self.permissions)

    def bot_login(self) -> str:
        return self.clients.bot_login()

    def __repr__(self) -> str:
        return f"ScopedGitHub({self.clients!r}, permissions={self.permissions!r})"


# -- process-wide cache -------------------------------------------------------------------------
_clients_lock = threading.Lock()
_clients: dict[tuple[Any, ...], GitHubClients] = {}


def _settings_key(settings: Settings) -> tuple[Any, ...]:
    path = settings.github_private_key_file
    stamp: Any = None
    if path is not None:
        try:
            st = Path(path).stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
    inline = settings.github_private_key
    inline_digest = (
        hashlib.sha256(inline.get_secret_value().encode()).hexdigest() if inline is not None else None
    )
    return (
        settings.github_app_id,
        str(path) if path else None,
        stamp,
        inline_digest,
        settings.github_installation_id,
        settings.github_api_url,
    )


#: How long :func:`clients_for` trusts its last answer for the same settings object before it looks
#: at the key file again (a rotated key is picked up within this many seconds).
KEY_RECHECK_S = 1.0
#: (settings object, monotonic time of the check, clients): the last answer of :func:`clients_for`
_last: tuple[Settings, float, GitHubClients] | None = None


def clients_for(settings: Settings) -> GitHubClients:
    """The process-wide :class:`GitHubClients` for these settings (a rotated key file gets a new one,
    noticed within :data:`KEY_RECHECK_S`).

    Raises :class:`GitHubPermanentError` naming PRESSPLAY_GITHUB_APP_ID / PRESSPLAY_GITHUB_PRIVATE_KEY_FILE
    when the App is not configured or the key cannot be read.
    """
    global _last
    last = _last  # one read of an immutable tuple: safe without the lock
    now = time.monotonic()
    if last is not None and last[0] is settings and now - last[1] < KEY_RECHECK_S:
        return last[2]  # the hot path: every step call of a sidecar passes the same settings
    key = _settings_key(settings)
    with _clients_lock:
        found = _clients.get(key)
        if found is None:
            found = GitHubClients(settings)
            _clients[key] = found
        _last = (settings, now, found)
        return found


def reset_clients() -> None:
    """Forget every cached clients object (tests)."""
    global _last
    with _clients_lock:
        for clients in _clients.values():
            clients.close()
        _clients.clear()
        _last = None
