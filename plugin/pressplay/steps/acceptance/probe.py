"""The ``http`` criterion: one HTTP(S) probe, with its own timeout inside a shared budget.

Only ``http``/``https`` URLs (checked again on every redirect, which is followed only when asked);
an unreachable service, a timeout or a 502/503/504 is *pending* (a fresh deploy may still be
starting); any other unexpected status or a body that does not match is *failed*.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urljoin

import httpx

from pressplay.acceptance_spec import HttpCriterion, check_probe_url
from pressplay.steps.acceptance.criteria import CriterionResult, State

__all__ = ["MAX_REDIRECTS", "PROBE_BODY_LIMIT", "PROBE_BUDGET", "probe"]

#: Probes share this budget: the whole call must answer Argo's agent well within its 30 s.
PROBE_BUDGET = 20.0
PROBE_BODY_LIMIT = 1024 * 1024
MAX_REDIRECTS = 5
#: Statuses of a service that is still starting (or restarting): the probe is pending, not failed.
STARTING = frozenset({502, 503, 504})


def probe(
    crit: HttpCriterion, cid: str, budget: float = PROBE_BUDGET, transport: httpx.BaseTransport | None = None
) -> CriterionResult:
    """One HTTP probe: status and body pattern. Unreachable or 502/503/504 → pending (it may be starting)."""
    name = crit.name or f"{crit.method} {crit.url}"
    timeout = min(crit.timeout.total_seconds(), budget)
    started = time.monotonic()
    url = crit.url
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                left = timeout - (time.monotonic() - started)
                if left <= 0:
                    raise httpx.TimeoutException("probe timed out")
                with client.stream(crit.method, url, timeout=left) as resp:
                    if resp.is_redirect and crit.follow_redirects:
                        target = urljoin(url, resp.headers.get("location", ""))
                        try:
                            check_probe_url(target)
                        except ValueError as exc:
                            return CriterionResult(
                                cid, "http", name, "failed", f"redirected to {target[:200]}: {exc}", crit.url
                            )
                        url = target
                        continue
                    body = b""
                    if crit.body_pattern is not None and crit.method == "GET":
                        for chunk in resp.iter_bytes():
                            body += chunk
                            if len(body) >= PROBE_BODY_LIMIT:
                                break
                    status = resp.status_code
                    break
            else:
                return CriterionResult(
                    cid, "http", name, "failed", f"more than {MAX_REDIRECTS} redirects", crit.url
                )
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        kind = (
            "timed out"
            if isinstance(exc, httpx.TimeoutException)
            else f"not reachable ({type(exc).__name__})"
        )
        return CriterionResult(cid, "http", name, "pending", f"{crit.method} {url} {kind}", crit.url)
    elapsed = round((time.monotonic() - started) * 1000)
    seen = f"{crit.method} {url} → {status} in {elapsed} ms"
    if status not in crit.expect_status:
        expected = " or ".join(str(s) for s in crit.expect_status)
        state: State = "pending" if status in STARTING else "failed"
        return CriterionResult(cid, "http", name, state, f"{seen}; expected {expected}", crit.url)
    if crit.body_pattern is not None:
        text = body[:PROBE_BODY_LIMIT].decode("utf-8", "replace")
        if not re.search(crit.body_pattern, text):
            return CriterionResult(
                cid, "http", name, "failed", f"{seen}; body does not match /{crit.body_pattern}/", crit.url
            )
        seen += f"; body matches /{crit.body_pattern}/"
    return CriterionResult(cid, "http", name, "passed", seen, crit.url)
