"""An emulator of Argo's agent: drives an executor-plugin sidecar over real HTTP, the way Argo does.

Behaviour copied from the contract (``argo-executor-plugin-contract.md`` §2–3), not from Argo's code:

- ``POST <url>/api/v1/template.execute`` with ``Authorization: Bearer <token>`` and a 30 s timeout;
- up to 5 attempts on HTTP 503 and connection errors/timeouts, backoff 1 s doubling with 20 % jitter
  (scaled by ``speedup`` in tests);
- 200 → decode the reply; an empty or undecodable body → the node ends Failed;
- 404 → the plugin is disabled for the rest of the workflow (here: the emulator remembers it);
- any other status → Failed with ``"<code> <reason>: <body>"``;
- a ``requeue`` on a non-Succeeded phase → call again after that duration (divided by ``speedup``),
  with the same template; Succeeded/Failed/Error end the node; Running without ``requeue`` hangs
  (reported as ``hung``).

Use it to test your own templates' steps::

    agent = AgentEmulator("http://127.0.0.1:17820", token="...", speedup=100)
    result = agent.run({"name": "open-pr", "plugin": {"pressplay": {"pullRequest": {...}}}})
    assert result.phase == "Succeeded", result.message
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from pressplay.types import parse_duration

FINAL_PHASES = frozenset({"Succeeded", "Failed", "Error"})


@dataclass
class Reply:
    """One HTTP exchange as the agent saw it."""

    status: int
    body: Any
    phase: str | None = None
    message: str = ""
    requeue: str | None = None
    attempts: int = 1


@dataclass
class Result:
    """How the node ended, with every reply along the way."""

    phase: str
    message: str
    outputs: dict[str, str] = field(default_factory=dict)
    replies: list[Reply] = field(default_factory=list)
    not_mine: bool = False
    hung: bool = False

    @property
    def calls(self) -> int:
        return len(self.replies)

    def __str__(self) -> str:
        return f"{self.phase}: {self.message}"


class PluginDisabled(RuntimeError):
    """The sidecar answered 404: Argo would not call it again for this workflow."""


def make_template(
    step: str,
    args: Mapping[str, Any],
    *,
    name: str = "step",
    outputs: list[str] | None = None,
    plugin_key: str = "pressplay",
) -> dict[str, Any]:
    """A processed ``plugin:`` template as the controller sends it (inputs/outputs/metadata present)."""
    return {
        "name": name,
        "inputs": {},
        "outputs": {"parameters": [{"name": n, "valueFrom": {"supplied": {}}} for n in (outputs or [])]},
        "metadata": {},
        "plugin": {plugin_key: {step: dict(args)}},
    }


class AgentEmulator:
    """Calls one sidecar like Argo's agent. Thread-safe enough for concurrent ``run`` calls."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        speedup: float = 1.0,
        timeout: float = 30.0,
        attempts: int = 5,
        workflow: Mapping[str, str] | None = None,
        max_polls: int = 1000,
        sleep: Callable[[float], None] = time.sleep,
        max_sleep: float | None = None,
    ) -> None:
        self.url = url.rstrip("/") + "/api/v1/template.execute"
        self.token = token
        self.speedup = speedup
        self.timeout = timeout
        self.attempts = attempts
        self.workflow = dict(
            workflow
            or {"name": "wf-test", "namespace": "argo", "uid": "00000000-0000-4000-8000-000000000001"}
        )
        self.max_polls = max_polls
        self.sleep = sleep
        self.max_sleep = max_sleep
        self.disabled = False
        self._client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> AgentEmulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, seconds: float) -> None:
        seconds = seconds / self.speedup
        if self.max_sleep is not None:
            seconds = min(seconds, self.max_sleep)
        if seconds > 0:
            self.sleep(seconds)

    def body_for(self, template: Mapping[str, Any]) -> dict[str, Any]:
        return {"workflow": {"metadata": dict(self.workflow)}, "template": dict(template)}

    def call(self, template: Mapping[str, Any], *, raw: bytes | None = None) -> Reply:
        """One call with the agent's retry policy (5 attempts on 503 / connection errors)."""
        if self.disabled:
            raise PluginDisabled("the sidecar answered 404 earlier; Argo would no longer call it")
        payload = raw if raw is not None else json.dumps(self.body_for(template)).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        backoff = 1.0
        last_error: Exception | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._client.post(self.url, content=payload, headers=headers)
            except (httpx.TransportError, OSError) as exc:
                last_error = exc
            else:
                if response.status_code != 503:
                    return self._decode(response, attempt)
                last_error = None
            if attempt < self.attempts:
                self._wait(backoff * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
                backoff *= 2
        if last_error is not None:
            return Reply(
                status=0,
                body=None,
                phase="Failed",
                message=f"connection failed: {last_error}",
                attempts=self.attempts,
            )
        return Reply(
            status=503,
            body=None,
            phase="Failed",
            message="503 Service Unavailable after retries",
            attempts=self.attempts,
        )

    def _decode(self, response: httpx.Response, attempt: int) -> Reply:
        status = response.status_code
        if status == 404:
            self.disabled = True
            return Reply(
                status=404, body=response.text, phase=None, message="404: plugin disabled", attempts=attempt
            )
        if status != 200:
            reason = response.reason_phrase
            return Reply(
                status=status,
                body=response.text,
                phase="Failed",
                message=f"{status} {reason}: {response.text}",
                attempts=attempt,
            )
        try:
            body = response.json()
        except ValueError:
            return Reply(
                status=200,
                body=response.text,
                phase="Failed",
                message="undecodable reply body",
                attempts=attempt,
            )
        if body is None or not isinstance(body, dict):
            if body is None:
                return Reply(status=200, body=None, phase=None, attempts=attempt)
            return Reply(
                status=200, body=body, phase="Failed", message="reply is not an object", attempts=attempt
            )
        node = body.get("node")
        requeue = body.get("requeue")
        if requeue is not None and not isinstance(requeue, str):
            return Reply(
                status=200,
                body=body,
                phase="Failed",
                message=f"requeue must be a duration string, got {requeue!r}",
                attempts=attempt,
            )
        if node is None:
            return Reply(status=200, body=body, phase=None, requeue=requeue, attempts=attempt)
        return Reply(
            status=200,
            body=body,
            phase=node.get("phase") or None,
            message=node.get("message", ""),
            requeue=requeue,
            attempts=attempt,
        )

    def run(self, template: Mapping[str, Any]) -> Result:
        """Call until the node ends (Succeeded/Failed/Error), honouring ``requeue``."""
        replies: list[Reply] = []
        for _ in range(self.max_polls):
            reply = self.call(template)
            replies.append(reply)
            if reply.status == 200 and reply.phase is None and not reply.requeue:
                return Result(
                    phase="Failed", message="no plugin executed the template", replies=replies, not_mine=True
                )
            if reply.status == 404:
                return Result(
                    phase="Failed",
                    message="no plugin executed the template (plugin disabled by 404)",
                    replies=replies,
                )
            if reply.phase in FINAL_PHASES:
                outputs = _outputs(reply.body)
                return Result(
                    phase=reply.phase or "Failed", message=reply.message, outputs=outputs, replies=replies
                )
            if not reply.requeue:
                return Result(
                    phase=reply.phase or "Pending", message=reply.message, replies=replies, hung=True
                )
            try:
                delay = parse_duration(reply.requeue).total_seconds()
            except ValueError:
                return Result(phase="Failed", message=f"bad requeue {reply.requeue!r}", replies=replies)
            if delay <= 0:
                return Result(
                    phase=reply.phase or "Pending", message=reply.message, replies=replies, hung=True
                )
            self._wait(delay)
        return Result(
            phase="Running", message=f"still running after {self.max_polls} polls", replies=replies, hung=True
        )


def _outputs(body: Any) -> dict[str, str]:
    if not isinstance(body, dict):
        return {}
    node = body.get("node") or {}
    params = (node.get("outputs") or {}).get("parameters") or []
    return {p["name"]: p.get("value", "") for p in params if isinstance(p, dict) and "name" in p}
