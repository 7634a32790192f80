"""The sidecar's web layer: auth, body limits, parsing, and every error mapped to a reply; the step
itself runs in :mod:`pressplay.steps.execute`.

Endpoints:
- ``POST /api/v1/template.execute`` — Argo's agent calls it for every plugin template.
- ``GET /healthz`` — liveness/readiness, no auth.
- ``GET /api/v1/openapi.json`` — the OpenAPI description of this endpoint, no auth.

Answers: 200 with a reply (``{}`` for "not mine"); 400 malformed JSON or content type; 403 bad or
missing token; 413 body too large. Never 404 on the execute path (it would disable the plugin for
the whole workflow) and never a 500: :func:`pressplay.steps.execute.execute` turns an unexpected
exception into Failed (a bug) or Running + requeue (a network error), logged with its trace id.
"""

from __future__ import annotations

import hmac
import logging
import threading
from pathlib import Path
from typing import Any

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
    app.extensions["pressplay.settings"] = settings

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
            return _error(403, why)
        if not header:
            return _error(403, "missing 'Authorization: Bearer <token>' header")
        if not header.startswith("Bearer ") or not hmac.compare_digest(
            header[len("Bearer ") :].strip().encode(), expected.encode()
        ):
            return _error(403, "bearer token does not match the sidecar's token file")
        if request.mimetype != "application/json":
            return _error(400, f"Content-Type must be application/json, got {request.mimetype or 'none'!r}")
        length = request.content_length
        if length is not None and length > settings.max_body_bytes:
            return _error(413, f"request body larger than {settings.max_body_bytes} bytes")
        raw = request.get_data(cache=False)
        try:
            body = _loads(raw)
        except ValueError as exc:
            return _error(400, f"malformed JSON: {exc}")
        if not isinstance(body, dict):
            return _error(400, "request body must be a JSON object with 'workflow' and 'template'")
        try:
            parsed = ExecuteRequest.model_validate(body)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            loc = ".".join(str(p) for p in first["loc"])
            return _error(400, f"not an ExecuteTemplateArgs body: {loc}: {first['msg']}")
        reply = handle(parsed, settings, steps)
        return jsonify(reply.to_json())

    return app


def _loads(raw: bytes) -> Any:
    import json

    if not raw:
        raise ValueError("empty body")
    try:
        return json.loads(raw)
    except UnicodeDecodeError as exc:
        raise ValueError("body is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at line {exc.lineno} column {exc.colno}") from exc


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
