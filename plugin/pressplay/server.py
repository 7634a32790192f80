"""The sidecar's web layer: auth, body limits, parsing, and every error mapped to a reply; the step
itself runs in :mod:`pressplay.steps.execute`.

Endpoints:
- ``POST /api/v1/template.execute`` — Argo's agent calls it for every plugin template.
- ``GET /healthz`` — liveness/readiness, no auth.
- ``GET /api/v1/openapi.json`` — the OpenAPI description of this endpoint, no auth.

Answers: 200 with a reply (``{}`` for "not mine"); 400 malformed JSON or content type; 403 bad or
missing token (logged, at most one line per reason a minute, never with the token); 413 body too
large. A sidecar that starts without its token says so at start (:func:`warn_if_no_token`). Never 404 on the execute path (it would disable the plugin for
the whole workflow) and never a 500: :func:`pressplay.steps.execute.execute` turns an unexpected
exception into Failed (a bug) or Running + requeue (a network error), logged with its trace id.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from pathlib import Path

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from pressplay import telemetry
from pressplay.config import PLUGIN_KEY, Settings
from pressplay.steps.base import WorkflowMeta
from pressplay.steps.execute import Call, execute
from pressplay.steps.registry import Registry
from pressplay.wire import NOT_MINE, ExecuteReply, ExecuteRequest, reply_for

log = logging.getLogger("pressplay.server")

EXECUTE_PATH = "/api/v1/template.execute"


class TokenSource:
    """The agent's bearer token: from settings, else the token file (read once it exists)."""

    def __init__(self, settings: Settings) -> None:
        self._fixed = settings.token.get_secret_value() if settings.token else None
        self._path = Path(settings.token_file)
        self._cached: str | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[str | None, str]:
        """(token, why-not). The reason never contains the token."""
        if self._fixed:
            return self._fixed, ""
        if self._cached is not None:
            return self._cached, ""
        with self._lock:
            try:
                value = self._path.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                return None, f"the sidecar has no token: {self._path} does not exist"
            except PermissionError:
                return None, (
                    f"the sidecar cannot read {self._path}: run it as UID 8737 (or with GID 0), "
                    "see docs/install.md"
                )
            if not value:
                return None, f"the sidecar's token file {self._path} is empty"
            self._cached = value
            return value, ""


#: The fix for a sidecar without its token, in the start-up line and the refusals' log lines.
MISSING_CREDENTIAL_FIX = (
    "in a cluster, Argo's agent pod writes the token (its init container, before the sidecar starts) "
    "and the plugin's sidecar reads it at /var/run/argo/token: run pressplay as the executor plugin's "
    "sidecar; outside a cluster pass --token (PRESSPLAY_TOKEN) or point PRESSPLAY_TOKEN_FILE at a file "
    "holding the token"
)


def warn_if_no_token(settings: Settings) -> bool:
    """Log one error line at start when the agent's token cannot be read: every call would be refused
    (403) until it can. True when the token is there."""
    token, why = TokenSource(settings).get()
    if token is None:
        log.error(
            "%s: every template.execute call will be refused (403) until it can be read. %s",
            why,
            MISSING_CREDENTIAL_FIX,
            extra={"token_file": str(settings.token_file)},
        )
        return False
    return True


class RefusalLog:
    """One log line per refusal reason at most every ``interval`` seconds, with the number of calls
    refused for the same reason since the previous line (a misconfigured agent retries every node)."""

    def __init__(self, interval: float = 60.0) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, int]] = {}

    def refused(self, status: int, reason: str, remote: str | None) -> None:
        now = time.monotonic()
        with self._lock:
            last, quiet = self._seen.get(reason, (float("-inf"), 0))
            if now - last < self.interval:
                self._seen[reason] = (last, quiet + 1)
                return
            self._seen[reason] = (now, 0)
        log.warning(
            "refused a template.execute call (%d): %s",
            status,
            reason,
            extra={"http_status": status, "remote_addr": remote or "", "refused_since_last_line": quiet},
        )


def _error(status: int, reason: str) -> Response:
    response = jsonify({"error": reason})
    response.status_code = status
    return response


def create_app(settings: Settings, steps: Registry | None = None) -> Flask:
    """The Flask app for ``settings``, serving ``steps`` (default: the installed steps).

    It only builds the app: logging, telemetry and the start-up checks belong to whoever starts it
    (``pressplay serve`` → :func:`pressplay.gunicorn_app.load_app`; the test kit's ``Sidecar``).
    """
    app = Flask("pressplay")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    tokens = TokenSource(settings)
    refusals = RefusalLog()
    app.extensions["pressplay.settings"] = settings
    app.extensions["pressplay.refusals"] = refusals

    def refuse(reason: str, no_token: bool = False) -> Response:
        refusals.refused(
            403, f"{reason}; {MISSING_CREDENTIAL_FIX}" if no_token else reason, request.remote_addr
        )
        return _error(403, reason)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        code = exc.code or 400
        if code == 413:
            return _error(413, f"request body larger than {settings.max_body_bytes} bytes")
        return _error(code, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:  # pragma: no cover - a last resort
        log.exception("unhandled error", extra={"trace_id": telemetry.current_trace_id()})
        return jsonify({})  # "not mine" is the only safe 200 without a parsed template

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify({"status": "ok"})

    @app.get("/api/v1/openapi.json")
    def openapi() -> Response:
        from pressplay.openapi import openapi_document

        return jsonify(openapi_document())

    @app.post(EXECUTE_PATH)
    def execute() -> Response:
        expected, why = tokens.get()
        header = request.headers.get("Authorization", "")
        if expected is None:
            return refuse(why, no_token=True)
        if not header:
            return refuse("missing 'Authorization: Bearer <token>' header")
        if not header.startswith("Bearer ") or not hmac.compare_digest(
            header[len("Bearer ") :].strip().encode(), expected.encode()
        ):
            return refuse("bearer token does not match the sidecar's token file")
        if request.mimetype != "application/json":
            return _error(400, f"Content-Type must be application/json, got {request.mimetype or 'none'!r}")
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            return _error(413, f"request body larger than {settings.max_body_bytes} bytes")
        raw = request.get_data(cache=False)
        if not raw:
            return _error(400, "malformed JSON: empty body")
        try:  # parsed and validated in one pass by pydantic-core, from the bytes
            parsed = ExecuteRequest.model_validate_json(raw)
        except ValidationError as exc:
            return _error(400, _why_not(exc))
        reply = handle(parsed, settings, steps)
        return Response(reply.to_json_bytes(), mimetype="application/json")

    return app


def _why_not(exc: ValidationError) -> str:
    """One line for a body that is not an ExecuteTemplateArgs object."""
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return f"malformed JSON: {first['msg'].removeprefix('Invalid JSON: ')}"
    if first["type"] == "model_type" and not first["loc"]:
        return "request body must be a JSON object with 'workflow' and 'template'"
    loc = ".".join(str(p) for p in first["loc"])
    return f"not an ExecuteTemplateArgs body: {loc}: {first['msg']}"


def handle(req: ExecuteRequest, settings: Settings, steps: Registry | None = None) -> ExecuteReply:
    """Route one parsed request to :func:`pressplay.steps.execute.execute` and encode the outcome."""
    plugin = req.template.plugin
    if not isinstance(plugin, dict) or PLUGIN_KEY not in plugin:
        return NOT_MINE
    meta = req.workflow.metadata
    call = Call(
        body=plugin[PLUGIN_KEY],
        workflow=WorkflowMeta(name=meta.name, namespace=meta.namespace, uid=meta.uid),
        template_name=req.template.name,
        required_outputs=[p.name for p in req.template.outputs.parameters if p.value is None],
    )
    return reply_for(execute(call, settings, steps=steps), req.template)
