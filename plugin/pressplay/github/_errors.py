"""GitHub answers → :class:`PermanentError` / :class:`TemporaryError`, with GitHub's message and a hint.

Nothing in here may put a secret into a message: messages are built from the HTTP method, the route
template, the status and GitHub's own ``message``/``errors`` fields only, and pass through
:func:`scrub` as a last line of defence.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from pressplay.errors import PermanentError, TemporaryError
from pressplay.redact import scrub

#: Statuses that are GitHub having a bad moment rather than a verdict on the request.
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


class GitHubPermanentError(PermanentError):
    """GitHub answered with a verdict that asking again will not change (401, 403, 404, 422, ...).

    Steps may inspect it: ``status``, ``github_message`` (GitHub's ``message``), ``errors``
    (GitHub's ``errors`` list, e.g. a 422's field errors), ``method`` and ``route``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        github_message: str = "",
        errors: list[Any] | None = None,
        method: str = "",
        route: str = "",
    ) -> None:
        super().__init__(scrub(message))
        self.status = status
        self.github_message = scrub(github_message)
        self.errors = errors or []
        self.method = method
        self.route = route

    def mentions(self, text: str) -> bool:
        """True when GitHub's message or any of its ``errors`` mention ``text`` (case-insensitive)."""
        needle = text.lower()
        if needle in self.github_message.lower():
            return True
        return any(needle in str(err).lower() for err in self.errors)


class GitHubTemporaryError(TemporaryError):
    """GitHub is unavailable, slow or rate limiting: ask again after ``retry_after``."""

    def __init__(
        self, message: str, retry_after: timedelta | float = 30.0, *, status: int = 0, route: str = ""
    ) -> None:
        super().__init__(scrub(message), retry_after)
        self.status = status
        self.route = route


def retry_after_from(headers: Mapping[str, str], default: float) -> float:
    """Seconds to wait, from ``Retry-After`` or ``X-RateLimit-Reset`` (GitHub's two signals)."""
    value = headers.get("retry-after")
    if value is not None:
        try:
            return max(1.0, float(value))
        except ValueError:
            pass
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(1.0, float(headers["x-ratelimit-reset"]) - time.time() + 1)
        except ValueError:
            pass
    return default


def _error_fields(body: Any) -> tuple[str, list[Any], str]:
    if not isinstance(body, Mapping):
        return "", [], ""
    message = body.get("message")
    errors = body.get("errors")
    doc = body.get("documentation_url")
    return (
        str(message) if message is not None else "",
        list(errors) if isinstance(errors, list) else [],
        str(doc) if doc else "",
    )


def _describe_errors(errors: list[Any]) -> str:
    parts: list[str] = []
    for err in errors[:5]:
        if isinstance(err, Mapping):
            bits = [str(err[k]) for k in ("resource", "field", "code") if err.get(k)]
            text = str(err.get("message") or " ".join(bits))
            parts.append(text)
        else:
            parts.append(str(err))
    return "; ".join(p for p in parts if p)


def is_rate_limited(status: int, headers: Mapping[str, str], message: str) -> bool:
    """GitHub's rate-limit signs on a 403/429: Retry-After, remaining 0, or a rate-limit message."""
    if status not in (403, 429):
        return False
    if status == 429 or "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0":
        return True
    return "rate limit" in message.lower()


def map_status(
    *,
    status: int,
    headers: Mapping[str, str],
    body: Any,
    method: str,
    route: str,
    repo: str | None,
    app_route: bool = False,
) -> GitHubPermanentError | GitHubTemporaryError:
    """The error for a non-2xx/304 answer of ``method route``."""
    message, errors, _doc = _error_fields(body)
    where = f"GitHub {method} {route}"
    said = f": {message}" if message else ""
    detail = _describe_errors(errors)
    if detail:
        said += f" ({detail})"

    if is_rate_limited(status, headers, message):
        kind = (
            "secondary rate limit"
            if ("retry-after" in headers or "secondary" in message.lower())
            else ("rate limit" if status == 403 else "too many requests")
        )
        wait = retry_after_from(headers, 60.0)
        return GitHubTemporaryError(
            f"{where} hit GitHub's {kind} ({status}){said}; retrying in {wait:.0f}s",
            wait,
            status=status,
            route=route,
        )
    if status in TRANSIENT_STATUSES or status >= 500:
        wait = retry_after_from(headers, 15.0)
        return GitHubTemporaryError(
            f"{where} failed with {status}{said}; GitHub is having trouble, retrying in {wait:.0f}s",
            wait,
            status=status,
            route=route,
        )

    hint = _hint(status, headers, route, repo, app_route)
    return GitHubPermanentError(
        f"{where} failed with {status}{said}. {hint}".strip(),
        status=status,
        github_message=message,
        errors=errors,
        method=method,
        route=route,
    )


def _hint(status: int, headers: Mapping[str, str], route: str, repo: str | None, app_route: bool) -> str:
    target = repo or "the repository"
    if status == 401:
        if app_route:
            return (
                "GitHub rejected the App's JWT: check that PRESSPLAY_GITHUB_APP_ID is the App's id and "
                "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE holds one of its current private keys, and that the "
                "machine's clock is right."
            )
        return (
            "GitHub rejected the installation token: check that the App is still installed and not "
            "suspended, and that PRESSPLAY_GITHUB_APP_ID matches the private key."
        )
    if status == 403:
        wanted = headers.get("x-accepted-github-permissions")
        if wanted:
            return (
                f"The App lacks a permission this call needs ({wanted}): grant it in the App's settings "
                f"and accept the new permissions on the installation for {target}."
            )
        return (
            f"The App may not do this on {target}: check the App's permissions (contents, pull_requests, "
            "issues, checks, statuses, actions) and branch protection rules."
        )
    if status == 404:
        if route.endswith("/installation"):
            return (
                f"The App is not installed on {target}: install it there, or set "
                "PRESSPLAY_GITHUB_INSTALLATION_ID."
            )
        return (
            f"Check that {target} and the named object exist and that the App is installed on {target} "
            "with contents/pull_requests permissions."
        )
    if status == 422:
        return "GitHub refused the request's content: check the step's arguments."
    if status == 409:
        return "The object changed or is in a conflicting state (e.g. a head SHA moved): check its current state."
    if status == 405:
        return "GitHub does not allow this here right now (e.g. the PR is not mergeable)."
    return ""
