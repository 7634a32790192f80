"""The sidecar's web layer: auth, body limits, routing to a step, and every error mapped to a reply.

Endpoints:
- ``POST /api/v1/template.execute`` — Argo's agent calls it for every plugin template.
- ``GET /healthz`` — liveness/readiness, no auth.
- ``GET /api/v1/openapi.json`` — the OpenAPI description of this endpoint, no auth.

Answers: 200 with a reply (``{}`` for "not mine"); 400 malformed JSON or content type; 403 bad or
missing token; 413 body too large. Never 404 on the execute path (it would disable the plugin for
the whole workflow) and never a 500: an unexpected exception becomes Failed (a bug) or Running +
requeue (a network error), logged with its trace id.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException

from pressplay import telemetry
from pressplay.config import PLUGIN_KEY, Settings
from pressplay.steps.base import (
    Failed,
    Outcome,
    PermanentError,
    Running,
    StepContext,
    Succeeded,
    TemporaryError,
    WorkflowMeta,
)
from pressplay.steps.registry import UnknownStep, get_step, known_steps
from pressplay.wire import NOT_MINE, ExecuteReply, ExecuteRequest, Template, reply_for

log = logging.getLogger("pressplay.server")

EXECUTE_PATH = "/api/v1/template.execute"
#: Exceptions from the network stack that mean "try again later", not "this step is broken".
_TRANSIENT_NAMES = frozenset(
    {"ConnectError", "ReadTimeout", "ConnectTimeout", "TimeoutException", "RemoteProtocolError"}
)


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


def readable_errors(error: ValidationError, step_key: str, model_fields: list[str]) -> str:
    """One line per offending field: where, what is wrong, what is expected."""
    lines = []
    for item in error.errors(include_url=False):
        loc = ".".join(str(part) for part in item["loc"]) or "(arguments)"
        kind = item["type"]
        if kind == "extra_forbidden":
            lines.append(f"{step_key}.{loc}: unknown argument; known arguments are {', '.join(model_fields)}")
        elif kind == "missing":
            lines.append(f"{step_key}.{loc}: required argument is missing")
        else:
            msg = item["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            given = item.get("input")
            shown = (
                f" (got {given!r})"
                if isinstance(given, str | int | float | bool) and len(repr(given)) < 80
                else ""
            )
            lines.append(f"{step_key}.{loc}: {msg}{shown}")
    return f"invalid arguments for step '{step_key}':\n- " + "\n- ".join(lines)


def _error(status: int, reason: str) -> Response:
    response = jsonify({"error": reason})
    response.status_code = status
    return response


def _missing_outputs(outcome: Succeeded, template: Template) -> list[str]:
    produced = outcome.encoded_outputs()
    return [p.name for p in template.outputs.parameters if p.name not in produced and p.value is None]


def create_app(settings: Settings | None = None) -> Flask:
    """The Flask app. ``settings`` default to the environment (``PRESSPLAY_*``)."""
    from pressplay.config import load_settings

    settings = settings or load_settings()
    if settings.github_token is not None:
        raise SystemExit(
            "PRESSPLAY_GITHUB_TOKEN is set, but pressplay authenticates as a GitHub App only: "
            "unset it and set PRESSPLAY_GITHUB_APP_ID and PRESSPLAY_GITHUB_PRIVATE_KEY_FILE"
        )
    telemetry.setup_logging(settings.log_level)
    telemetry.configure()
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
        reply = handle(parsed, settings)
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


def handle(req: ExecuteRequest, settings: Settings) -> ExecuteReply:
    """Route one parsed request to its step and turn whatever happens into a reply."""
    plugin = req.template.plugin
    if not isinstance(plugin, dict) or PLUGIN_KEY not in plugin:
        return NOT_MINE
    meta = req.workflow.metadata
    body = plugin[PLUGIN_KEY]
    started = time.perf_counter()
    step_key = "?"
    ctx = StepContext(
        settings=settings,
        workflow=WorkflowMeta(name=meta.name, namespace=meta.namespace, uid=meta.uid),
        template_name=req.template.name,
    )
    with telemetry.execute_span(meta.name, meta.namespace, req.template.name) as span:
        outcome: Outcome
        if not isinstance(body, dict) or len(body) != 1:
            keys = sorted(body) if isinstance(body, dict) else []
            outcome = Failed(
                f"plugin.{PLUGIN_KEY} must hold exactly one step key, got {keys or type(body).__name__}; "
                f"known steps: {', '.join(known_steps())}"
            )
        else:
            step_key, raw_args = next(iter(body.items()))
            span.set_attribute("pressplay.step", step_key)
            outcome = _run_step(step_key, raw_args, ctx)
            if isinstance(raw_args, dict) and isinstance(raw_args.get("node"), str):
                span.set_attribute("argo.node", raw_args["node"])
                ctx.labels.setdefault("node", raw_args["node"])
        if isinstance(outcome, Succeeded):
            missing = _missing_outputs(outcome, req.template)
            if missing:
                outcome = Failed(
                    f"the template declares output(s) {', '.join(missing)} that step '{step_key}' does not "
                    f"produce; it produces: {', '.join(sorted(outcome.encoded_outputs()))}"
                )
        phase = "Running" if isinstance(outcome, Running) else type(outcome).__name__
        labels = {k: v for k, v in ctx.labels.items() if k != "node"}
        for key, value in labels.items():
            span.set_attribute(f"pressplay.{key}", value)
        span.set_attribute("pressplay.phase", phase)
        elapsed = time.perf_counter() - started
        telemetry.record_outcome(step_key, phase, elapsed, labels)
        log.info(
            "%s %s",
            step_key,
            phase,
            extra={
                "step": step_key,
                "phase": phase,
                "duration_ms": round(elapsed * 1000, 1),
                "workflow": meta.name,
                "namespace": meta.namespace,
                "node": ctx.labels.get("node", ""),
                **labels,
                "detail": _summary_of(outcome),
            },
        )
        return reply_for(outcome, req.template)


def _summary_of(outcome: Outcome) -> str:
    if isinstance(outcome, Succeeded):
        return outcome.summary
    return outcome.message[:300]


def _run_step(step_key: str, raw_args: Any, ctx: StepContext) -> Outcome:
    try:
        spec = get_step(step_key)
    except UnknownStep:
        return Failed(
            f"unknown step '{step_key}' under plugin.{PLUGIN_KEY}; known steps: {', '.join(known_steps())}"
        )
    if raw_args is None:
        raw_args = {}
    if not isinstance(raw_args, dict):
        return Failed(f"arguments of step '{step_key}' must be an object, got {type(raw_args).__name__}")
    try:
        return spec.run(raw_args, ctx)
    except ValidationError as exc:
        fields = sorted((info.alias or name) for name, info in spec.args_model.model_fields.items())
        return Failed(readable_errors(exc, step_key, fields))
    except PermanentError as exc:
        return Failed(str(exc))
    except TemporaryError as exc:
        return Running(str(exc), exc.retry_after)
    except Exception as exc:
        trace_id = telemetry.current_trace_id()
        if type(exc).__name__ in _TRANSIENT_NAMES or isinstance(exc, ConnectionError | TimeoutError):
            log.warning("transient error in step %s", step_key, exc_info=True, extra={"trace_id": trace_id})
            return Running(
                f"transient error ({type(exc).__name__}); retrying (trace {trace_id})", timedelta(seconds=30)
            )
        log.error("step %s raised", step_key, exc_info=True, extra={"trace_id": trace_id})
        return Failed(
            f"internal error in step '{step_key}' ({type(exc).__name__}); see the sidecar log, trace {trace_id}"
        )
