"""The verdict on one answer of the execute endpoint: never a 5xx, every rejection explains itself."""

from __future__ import annotations

import json
from typing import Any

from pressplay.types import parse_duration
from pressplay.wire import ExecuteReply
from tests.reliability._figures import add, distinct
from tests.reliability._secrets import emitted

#: Crashes already reported and pinned by a strict xfail test (remove the entry once it XPASSes):
#: marker in the node message -> the reason.
KNOWN_BUGS: dict[str, str] = {}

#: What the endpoint may answer (see plugin/pressplay/openapi.py).
ALLOWED = {200, 400, 403, 405, 413}


def judge(status: int, raw: bytes | str, *, what: str = "") -> dict[str, Any] | None:
    """Assert the contract for one answer and count it; returns the decoded reply for 200s."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    add("fuzz_requests")
    emitted(f"reply {what}", text)
    if status >= 500:
        distinct("http_5xx", f"{status} {text[:120]}")
    assert status < 500, f"{what}: the sidecar answered {status}: {text[:500]}"
    assert status in ALLOWED, f"{what}: undocumented status {status}: {text[:500]}"
    if status == 400 and text.lstrip().startswith("<html>") and "Bad Request" in text:
        # gunicorn's own HTTP parser refused the request before the app saw it (e.g. a control
        # character in a header): an HTML page that names the offending part. Argo never sends that.
        add("rejections")
        assert "Invalid" in text or "Bad Request" in text, f"{what}: unexplained protocol error {text[:300]}"
        return None
    try:
        body = json.loads(text)
    except ValueError:
        raise AssertionError(f"{what}: {status} with a body that is not JSON: {text[:300]!r}") from None
    if status != 200:
        add("rejections")
        explained = isinstance(body, dict) and isinstance(body.get("error"), str) and len(body["error"]) > 10
        if not explained:
            add("unexplained_rejections")
        assert explained, f"{what}: {status} without an explanation: {text[:300]}"
        return None
    assert isinstance(body, dict), f"{what}: 200 with a non-object body {text[:200]}"
    reply = ExecuteReply.model_validate(body)  # exact: Argo's reply shape and nothing else
    node = reply.node
    if node is None:
        assert reply.requeue is None, f"{what}: 'not mine' with a requeue"
        return body
    if node.phase == "Failed":
        add("rejections")
        explained = len(node.message.strip()) > 10
        if not explained:
            add("unexplained_rejections")
        assert explained, f"{what}: Failed without a reason: {node.message!r}"
        internal = "internal error in step" in node.message
        known = next((reason for marker, reason in KNOWN_BUGS.items() if marker in node.message), None)
        if internal and known:
            distinct("http_5xx", node.message.split(";")[0])
            distinct("known_bugs_hit", known)
            return body
        if internal:  # a crash turned into Failed is still a server error
            distinct("http_5xx", node.message.split(";")[0])
        assert not internal, f"{what}: a step crashed: {node.message}"
        assert reply.requeue is None, f"{what}: Failed with a requeue (Argo would call again)"
    elif node.phase in ("Running", "Pending"):
        assert reply.requeue, f"{what}: {node.phase} without a requeue hangs the node"
        assert parse_duration(reply.requeue).total_seconds() >= 1, f"{what}: requeue {reply.requeue!r}"
    return body
