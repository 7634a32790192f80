"""The App's own calls, signed with its JWT by githubkit: imported on the first such call only.

They are rare (discovering an installation, minting an installation token about once an hour per
repository and permission set, the App's slug), so githubkit and httpx (~10 MiB and a tenth of a
second to import) stay out of a sidecar until it first needs a token; the polls themselves go
through :mod:`pressplay.github._client`'s urllib3 pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import GitHubException, RequestError, RequestFailed, RequestTimeout

from pressplay.github._client import (
    REQUEST_TIMEOUT,
    USER_AGENT,
    AppAuthFailed,
    _Raw,
    _Unanswered,
    _unanswered,
)


class _NoCloseTransport(httpx.BaseTransport):
    """Shares one connection pool between the short-lived httpx clients githubkit makes per request."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:  # githubkit closes its client after every request; keep the pool
        pass

    def really_close(self) -> None:
        self._inner.close()


class AppSession:
    """githubkit's client for one App (its own JWT cache; no retries, no HTTP cache)."""

    def __init__(
        self, app_id: str, private_key: str, api_url: str, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._transport = _NoCloseTransport(transport or httpx.HTTPTransport(retries=0))
        self._gh: GitHub[Any] = GitHub(
            AppAuthStrategy(app_id, private_key),
            base_url=api_url + "/",
            timeout=REQUEST_TIMEOUT,
            transport=self._transport,
            # githubkit's default cache is process-wide: keep this App's JWTs to this object
            cache_strategy=MemCacheStrategy(),
            http_cache=False,
            auto_retry=False,
            user_agent=USER_AGENT,
        )

    def request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> _Raw:
        """One call as the App; raises ``_Unanswered`` (no answer) or ``AppAuthFailed`` (githubkit
        could not sign or send it)."""
        try:
            resp = self._gh.request(
                method, url, params=params, json=json, headers=dict(headers or {})
            ).raw_response
        except RequestFailed as exc:
            resp = exc.response.raw_response
        except RequestTimeout:
            raise _Unanswered("timeout", f"timed out after {REQUEST_TIMEOUT:.0f}s") from None
        except RequestError as exc:
            raise _unanswered(exc.exc) from None
        except GitHubException as exc:
            raise AppAuthFailed(type(exc).__name__) from None
        return _Raw(resp.status_code, httpx.Headers(resp.headers), resp.content, str(resp.url))

    def close(self) -> None:
        self._transport.really_close()
