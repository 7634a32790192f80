"""HTTP plumbing of the emulator: routing, auth, ETags, rate-limit accounting, pagination and faults."""

from __future__ import annotations

import hashlib
import json
import logging
import random
import re
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from pressplay.testing.serving import SOCKET_KEY, WsgiServer

if TYPE_CHECKING:
    from pressplay.testing.github_emulator._emulator import GitHubEmulator

DOCS = "https://docs.github.com/rest"
log = logging.getLogger("pressplay.testing.github_emulator")


class ApiError(Exception):
    """Raised by a handler: becomes GitHub's error body ``{"message", "documentation_url", "status"}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        out["documentation_url"] = DOCS
        out["status"] = str(self.status)
        return out


def validation_failed(*errors: dict[str, Any], message: str = "Validation Failed") -> ApiError:
    return ApiError(422, message, errors=list(errors))


@dataclass
class Reply:
    """A handler's answer before ETag/rate-limit headers are added."""

    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class RecordedRequest:
    """One request the emulator answered (``gh.requests``)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    conditional: bool
    cost: int
    installation: int | None
    auth: str | None  # "jwt" | "token" | None
    route: str = ""
    at: float = 0.0


@dataclass
class Fault:
    """An injected fault: ``kind`` is status | reset | delay | secondary | too_many."""

    pattern: re.Pattern[str]
    kind: str
    method: str | None = None
    status: int = 502
    delay: float = 0.0
    retry_after: int = 60
    times: int | None = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method.upper() != method:
            return False
        return bool(self.pattern.search(path))


@dataclass
class RandomFaults:
    rate: float
    rng: random.Random
    kinds: tuple[str, ...]
    methods: tuple[str, ...] | None = None


@dataclass
class RateWindow:
    limit: int
    used: int = 0
    reset: int = 0


Handler = Callable[..., Reply]


class Router:
    """An ordered list of ``(method, regex, handler, auth)``; the first match wins."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler, str, str]] = []
        #: once the emulator's own routes are in, routes added by a test take precedence over them
        self.sealed = False

    def add(self, method: str, pattern: str, handler: Handler, *, auth: str = "token") -> None:
        """Serve ``method pattern`` with ``handler(request, body=, installation=, **path_params) -> Reply``.

        ``{name}`` matches one path segment, ``{name*}`` the rest (slashes included). A route added by
        a test after the emulator started replaces the emulator's own route for the same request."""
        regex = re.compile(
            "^"
            + re.sub(
                r"\{(\w+)(\*)?\}",
                lambda m: f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)",
                pattern,
            )
            + "$"
        )
        template = re.sub(r"\{(\w+)\*?\}", r"{\1}", pattern)
        entry = (method, regex, handler, auth, template)
        if self.sealed:
            self.routes.insert(0, entry)
        else:
            self.routes.append(entry)

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, str], str, str] | str | None:
        """The handler, its path parameters, auth kind and route template; ``"405"`` for a wrong method."""
        wrong_method = False
        for m, regex, handler, auth, template in self.routes:
            found = regex.match(path)
            if found:
                if m != method and not (m == "GET" and method == "HEAD"):
                    wrong_method = True
                    continue
                return handler, found.groupdict(), auth, template
        return "405" if wrong_method else None


def etag_for(body: Any) -> str:
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return f'W/"{digest[:40]}"'


def paginate(
    emu: GitHubEmulator, request: Request, items: list[Any], *, default: int = 30
) -> tuple[list[Any], dict[str, str]]:
    """One page of ``items`` and its ``Link`` header, like GitHub (``per_page`` max 100)."""
    try:
        per_page = max(1, min(100, int(request.args.get("per_page", default))))
        page = max(1, int(request.args.get("page", 1)))
    except ValueError as exc:
        raise ApiError(400, "Invalid pagination parameter") from exc
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links: list[str] = []

    def url(n: int) -> str:
        args = {k: v for k, v in request.args.items(multi=False) if k != "page"}
        args["page"] = str(n)
        return f"{emu.root_url}{request.path}?{urlencode(args)}"

    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.insert(0, f'<{url(page - 1)}>; rel="prev"')
        links.insert(1, f'<{url(1)}>; rel="first"')
    return chunk, ({"Link": ", ".join(links)} if links else {})


class HttpFront:
    """The WSGI app: fault injection → auth → rate limit → handler → ETag/304 → request log."""

    def __init__(self, emu: GitHubEmulator, router: Router) -> None:
        self.emu = emu
        self.router = router
        self.server: WsgiServer | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, host: str, port: int, tls: tuple[Path, Path] | None = None) -> int:
        """Serve on cheroot: HTTP/1.1 keep-alive (also after 304 and 204), like GitHub; HTTPS with
        ``tls`` (certificate and key files)."""
        self.server = WsgiServer(self.wsgi, host, port, "github-emulator", logger=log, tls=tls)
        return self.server.port

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        self.server = None

    # -- one request ----------------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def _fault(self, request: Request, path: str) -> Fault | None:
        emu = self.emu
        with emu.lock:
            for fault in emu.faults:
                if fault.matches(request.method, path):
                    fault.hits += 1
                    return fault
            rnd = emu.random_faults
            if (
                rnd is not None
                and (rnd.methods is None or request.method in rnd.methods)
                and rnd.rng.random() < rnd.rate
            ):
                kind = rnd.rng.choice(rnd.kinds)
                return Fault(pattern=re.compile(""), kind=kind, status=rnd.rng.choice([500, 502, 503]))
        return None

    def handle(self, request: Request) -> Response:
        emu = self.emu
        method = request.method
        path = request.path.rstrip("/") or "/"
        prefix = emu.api_prefix
        if prefix:  # GitHub Enterprise Server layout: REST under /api/v3, GraphQL at /api/graphql
            if path == "/api/graphql":
                path = "/graphql"
            elif path == prefix or path.startswith(prefix + "/"):
                path = path[len(prefix) :] or "/"
            else:
                path = "/__outside_the_api__"
        request.environ["github_emulator.path"] = path
        fault = self._fault(request, path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.kind == "reset":
                self._record(request, 0, False, 0, None, None, "")
                return self._reset(request)
            if fault.kind == "status":
                return self._record_error(request, ApiError(fault.status, _reason(fault.status)))
            if fault.kind == "secondary":
                return self._record_error(
                    request,
                    ApiError(
                        403,
                        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                        "If you reach out to GitHub Support for help, please include the request ID.",
                        headers={"Retry-After": str(fault.retry_after)},
                    ),
                )
            if fault.kind == "too_many":
                return self._record_error(
                    request,
                    ApiError(429, "Too Many Requests", headers={"Retry-After": str(fault.retry_after)}),
                )
        with emu.lock:
            emu._tick()
            found = self.router.match(method, path)
            if found is None:
                return self._record_error(request, ApiError(404, "Not Found"))
            if found == "405":
                return self._record_error(request, ApiError(404, "Not Found"))
            assert not isinstance(found, str)
            handler, params, auth_kind, template = found
            try:
                installation, auth = self._authenticate(request, auth_kind, params)
            except ApiError as err:
                return self._record_error(request, err, route=template)
            resource = "graphql" if path == "/graphql" else "core"
            window = emu._window(installation, resource) if installation is not None else None
            if window is not None and window.used >= window.limit and path != "/rate_limit":
                limit_err = ApiError(
                    403,
                    f"API rate limit exceeded for installation ID {installation}. If you reach out to GitHub "
                    "Support for help, please include the request ID.",
                )
                limit_err.headers.update(self._rate_headers(window, resource))
                return self._record_error(
                    request, limit_err, route=template, installation=installation, auth=auth
                )
            if method in {"POST", "PATCH", "PUT", "DELETE"} and installation is not None:
                limited = emu._secondary_hit(installation)
                if limited:
                    secondary = ApiError(
                        403,
                        "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                        "again. If you reach out to GitHub Support for help, please include the request ID.",
                        headers={"Retry-After": str(limited)},
                    )
                    return self._record_error(
                        request, secondary, route=template, installation=installation, auth=auth
                    )
            try:
                body = self._json_body(request)
                reply = handler(request, body=body, installation=installation, **params)
            except ApiError as err:
                cost = 1 if window is not None else 0
                if window is not None:
                    window.used += cost
                    err.headers.update(self._rate_headers(window, resource))
                return self._record_error(
                    request, err, route=template, installation=installation, auth=auth, cost=cost
                )
            except Exception as exc:  # an emulator bug: say so loudly rather than look like GitHub's 500
                log.exception("GitHub emulator failed on %s %s", method, path)
                emu.server_errors.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                return self._record_error(
                    request,
                    ApiError(500, f"GitHub emulator bug: {type(exc).__name__}: {exc}"),
                    route=template,
                )
            headers = dict(reply.headers)
            status = reply.status
            conditional = "If-None-Match" in request.headers
            not_modified = False
            cost = 0
            if method in {"GET", "HEAD"} and status == 200:
                tag = etag_for(reply.body)
                headers["ETag"] = tag
                headers.setdefault("Cache-Control", "private, max-age=60, s-maxage=60")
                headers["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
                if conditional and tag in _etags(request.headers.get("If-None-Match", "")):
                    status, not_modified = 304, True
            payload = b""
            if reply.body is not None and not not_modified:  # a 304 has no body: don't render one
                payload = json.dumps(reply.body, separators=(",", ":")).encode()
            if window is not None and status != 304 and path != "/rate_limit":
                cost = 1
                window.used += 1
            if window is not None:
                headers.update(self._rate_headers(window, resource))
            self._record(request, status, conditional, cost, installation, auth, template)
            emu._after_request(method, path)
        headers.setdefault("X-GitHub-Api-Version-Selected", "2022-11-28")
        headers["X-GitHub-Request-Id"] = f"EMU:{len(emu.requests):06X}"
        mimetype = "application/json" if payload or status != 204 else None
        resp = Response(payload, status=status, headers=headers, mimetype=mimetype)
        if payload:
            resp.headers["Content-Type"] = "application/json; charset=utf-8"
        return resp

    # -- helpers -------------------------------------------------------------------------------
    def _json_body(self, request: Request) -> Any:
        if request.method in {"GET", "HEAD"}:
            return None
        raw = request.get_data(cache=True)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, "Problems parsing JSON") from exc

    def _authenticate(
        self, request: Request, kind: str, params: dict[str, str]
    ) -> tuple[int | None, str | None]:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        scheme = scheme.lower()
        if kind == "jwt":
            if scheme != "bearer" or not credential:
                raise ApiError(401, "A JSON web token could not be decoded")
            self.emu._verify_jwt(credential)
            return None, "jwt"
        if kind == "none":
            return None, None
        if scheme not in {"token", "bearer"} or not credential:
            raise ApiError(401, "Requires authentication")
        token = self.emu._check_token(credential)
        owner = params.get("owner")
        if owner is not None:
            repo = params.get("repo", "")
            path = request.environ.get("github_emulator.path", request.path)
            prefix = f"/repos/{owner}/{repo}"
            rest = path[len(prefix) :] if repo and path.lower().startswith(prefix.lower()) else ""
            self.emu._check_access(token, owner, repo, request.method, rest.strip("/"))
        return token.installation, "token"

    def _rate_headers(self, window: RateWindow, resource: str) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(max(0, window.limit - window.used)),
            "X-RateLimit-Used": str(window.used),
            "X-RateLimit-Reset": str(window.reset),
            "X-RateLimit-Resource": resource,
        }

    def _record(
        self,
        request: Request,
        status: int,
        conditional: bool,
        cost: int,
        installation: int | None,
        auth: str | None,
        route: str,
    ) -> None:
        rec = RecordedRequest(
            method=request.method,
            path=request.environ.get("github_emulator.path", request.path),
            query=dict(request.args.items(multi=False)),
            status=status,
            conditional=conditional,
            cost=cost,
            installation=installation,
            auth=auth,
            route=route,
            at=time.time(),
        )
        with self.emu.lock:
            self.emu.requests.append(rec)

    def _record_error(
        self,
        request: Request,
        err: ApiError,
        *,
        route: str = "",
        installation: int | None = None,
        auth: str | None = None,
        cost: int = 0,
    ) -> Response:
        self._record(request, err.status, "If-None-Match" in request.headers, cost, installation, auth, route)
        resp = Response(
            json.dumps(err.body()),
            status=err.status,
            headers=err.headers,
            content_type="application/json; charset=utf-8",
        )
        return resp

    def _reset(self, request: Request) -> Response:
        sock = request.environ.get(SOCKET_KEY)
        if isinstance(sock, socket.socket):
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return Response(b"", status=500)


def _etags(header: str) -> set[str]:
    tags = {t.strip() for t in header.split(",") if t.strip()}
    return tags | {t.removeprefix("W/") for t in tags} | {f"W/{t}" for t in tags if not t.startswith("W/")}


def _reason(status: int) -> str:
    return {
        500: "Server Error",
        502: "Server Error",
        503: "Service Unavailable",
        504: "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request.",
    }.get(status, "Server Error")


def now_ts(clock: Callable[[], datetime]) -> int:
    return int(clock().timestamp())
