"""The ``http`` criterion: one HTTP(S) probe, with its own timeout inside a shared budget.

Only ``http``/``https`` URLs (checked again on every redirect, which is followed only when asked);
an unreachable service, a timeout or a 502/503/504 is *pending* (a fresh deploy may still be
starting); any other unexpected status or a body that does not match is *failed*.

The probe runs in the sidecar, next to the cluster's private services and the cloud metadata
endpoint, with a URL someone wrote into a spec. So, on every hop (the URL and each redirect):

- the host is resolved **once** and every address it resolves to is checked: an address that is not
  public (loopback, private, unique local, shared, reserved, ...) is refused unless the sidecar's
  ``PRESSPLAY_PROBE_ALLOW_CIDRS`` allows its range; link-local, multicast, unspecified and the cloud
  metadata addresses are refused always; IP literals in any notation (``2852039166``,
  ``0xa9fea9fe``, ``[::ffff:169.254.169.254]``) and IPv4 inside IPv6 are judged by what they mean;
- the connection goes to the address that was checked (the Host header and TLS name stay the URL's),
  so DNS cannot answer differently between the check and the connection (rebinding);
- a refused or unreachable target is reported in generic words (``refused: not a public address``,
  ``not reachable``): the report is not an oracle of what listens where inside the network;
- no proxy or ``.netrc`` from the environment is used (``trust_env=False``).

``bodyPattern`` runs on RE2 (linear time) over the first 1 MiB of the body, in a helper thread with a
time limit: the probe answers within its bound whatever the pattern.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urljoin, urlsplit

from pressplay.acceptance_spec import (
    REFUSED,
    HttpCriterion,
    IPAddress,
    IPNetwork,
    check_probe_url,
    compile_pattern,
    literal_address,
    refused,
)
from pressplay.steps.acceptance.criteria import CriterionResult, State

if TYPE_CHECKING:  # imported by the first probe: importing the step module must not load httpx
    import httpx

__all__ = [
    "MAX_REDIRECTS",
    "PATTERN_TIME_LIMIT",
    "PROBE_BODY_LIMIT",
    "PROBE_BUDGET",
    "Resolver",
    "pattern_search",
    "probe",
    "resolve",
]

#: Probes share this budget: the whole call must answer Argo's agent well within its 30 s.
PROBE_BUDGET = 20.0
PROBE_BODY_LIMIT = 1024 * 1024
MAX_REDIRECTS = 5
#: Statuses of a service that is still starting (or restarting): the probe is pending, not failed.
STARTING = frozenset({502, 503, 504})
#: The longest a ``bodyPattern`` search may take before the probe answers without it.
PATTERN_TIME_LIMIT = 2.0
#: Pattern searches running at once in this process: a search that outlives its limit keeps its slot
#: until it ends (RE2 cannot be interrupted), so slow patterns cannot pile up on the CPU.
_SEARCH_SLOTS = threading.BoundedSemaphore(2)

#: ``(host, port) -> addresses``: the one DNS lookup of a hop (tests pass a stub).
Resolver = Callable[[str, int], Sequence[str]]


class _Refused(Exception):
    """The hop's target may not be probed; the message is safe to show."""


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (TCP), in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:  # a name IDNA cannot encode (e.g. a label over 63 characters)
        raise OSError(f"{host!r} is not a resolvable name") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _target(
    url: str, allow: Sequence[IPNetwork], resolver: Resolver
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The URL to connect to (the host replaced by the checked address), its Host header and the TLS
    name. Raises ValueError for a URL that is not probed at all, :class:`_Refused` for a target that
    is not a public address, OSError when the name does not resolve."""
    parts = urlsplit(url)
    try:
        named = literal_address(parts.hostname) if parts.hostname else None
    except ValueError as exc:  # a numeric host that is no address at all
        raise _Refused(REFUSED) from exc
    if named is not None and refused(named, allow):
        raise _Refused(REFUSED)
    check_probe_url(url)
    host = str(parts.hostname)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        found = [literal_address(a) for a in resolver(host.rstrip("."), port)]
        addresses = [a for a in found if a is not None]
        if not addresses:
            raise OSError("the name did not resolve")
    if any(refused(a, allow) for a in addresses):
        raise _Refused(REFUSED)
    address = addresses[0]
    shown = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    direct = SplitResult(parts.scheme, netloc, parts.path or "/", parts.query, "").geturl()
    extensions: dict[str, Any] = {}
    if parts.scheme == "https" and literal is None:
        extensions["sni_hostname"] = host.rstrip(".")
    return direct, {"Host": parts.netloc}, extensions


def pattern_search(pattern: str, body: bytes, limit: float = PATTERN_TIME_LIMIT) -> bool | None:
    """Whether RE2 finds ``pattern`` in ``body``; None when the search did not end within ``limit``
    seconds (or no search slot freed up in that time)."""
    compiled = compile_pattern(pattern)
    started = time.monotonic()
    if not _SEARCH_SLOTS.acquire(timeout=max(limit, 0.0)):
        return None
    answer: list[bool] = []

    def run() -> None:
        try:
            answer.append(compiled.search(body) is not None)
        finally:
            _SEARCH_SLOTS.release()

    left = max(limit - (time.monotonic() - started), 0.0)
    if _green():
        # Under gevent (``--worker-class gevent``) a threading.Thread is a greenlet, which a C search would
        # hold until it ends: run it on one of the hub's real threads (RE2 releases the GIL meanwhile).
        import gevent

        job = gevent.get_hub().threadpool.spawn(run)
        with contextlib.suppress(gevent.Timeout):
            job.get(timeout=left)
    else:
        worker = threading.Thread(target=run, name="probe-pattern", daemon=True)
        worker.start()
        worker.join(left)
    return answer[0] if answer else None


def _green() -> bool:
    """Whether gevent has patched ``threading`` in this process (gunicorn's gevent worker)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return bool(monkey.is_module_patched("threading"))


def probe(
    crit: HttpCriterion,
    cid: str,
    budget: float = PROBE_BUDGET,
    transport: httpx.BaseTransport | None = None,
    *,
    allow: Sequence[IPNetwork] = (),
    resolver: Resolver = resolve,
) -> CriterionResult:
    """One HTTP probe: status and body pattern. Unreachable or 502/503/504 → pending (it may be starting).

    ``allow``: the non-public ranges the sidecar lets probes reach (``PRESSPLAY_PROBE_ALLOW_CIDRS``).
    """
    import httpx

    name = crit.name or f"{crit.method} {crit.url}"
    timeout = min(crit.timeout.total_seconds(), budget)
    started = time.monotonic()
    url = crit.url
    body = b""
    try:
        # No connection is kept between hops: each one is made to its own checked address, with its own
        # TLS name (a pooled connection is keyed by address only).
        with httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            transport=transport,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        ) as client:
            for hop in range(MAX_REDIRECTS + 1):
                left = timeout - (time.monotonic() - started)
                if left <= 0:
                    raise httpx.TimeoutException("probe timed out")
                try:
                    direct, headers, extensions = _target(url, allow, resolver)
                except _Refused:
                    what = "redirect" if hop else "URL"
                    return CriterionResult(cid, "http", name, "failed", f"{what} {REFUSED}", crit.url)
                except ValueError as exc:  # a redirect to a URL that is never probed
                    return CriterionResult(cid, "http", name, "failed", f"redirect refused: {exc}", crit.url)
                except OSError:
                    return CriterionResult(
                        cid, "http", name, "pending", f"{crit.method} {url}: the name does not resolve (yet)",
                        crit.url,
                    )  # fmt: skip
                with client.stream(
                    crit.method, direct, headers=headers, extensions=extensions, timeout=left
                ) as resp:
                    if resp.is_redirect and crit.follow_redirects:
                        url = urljoin(url, resp.headers.get("location", ""))
                        continue
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
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "not reachable"
        return CriterionResult(cid, "http", name, "pending", f"{crit.method} {url} {kind}", crit.url)
    elapsed = round((time.monotonic() - started) * 1000)
    seen = f"{crit.method} {url} → {status} in {elapsed} ms"
    if status not in crit.expect_status:
        expected = " or ".join(str(s) for s in crit.expect_status)
        state: State = "pending" if status in STARTING else "failed"
        return CriterionResult(cid, "http", name, state, f"{seen}; expected {expected}", crit.url)
    if crit.body_pattern is not None:
        found = pattern_search(crit.body_pattern, body[:PROBE_BODY_LIMIT])
        if found is None:
            return CriterionResult(
                cid, "http", name, "failed",
                f"{seen}; bodyPattern took longer than {PATTERN_TIME_LIMIT:g}s on the body: simplify it",
                crit.url,
            )  # fmt: skip
        if not found:
            return CriterionResult(
                cid, "http", name, "failed", f"{seen}; body does not match /{crit.body_pattern}/", crit.url
            )
        seen += f"; body matches /{crit.body_pattern}/"
    return CriterionResult(cid, "http", name, "passed", seen, crit.url)
