"""The OpenAPI description of the sidecar's own HTTP API (served at ``/api/v1/openapi.json``).

Generated, never hand-written: the request and reply bodies come from the wire models
(:mod:`pressplay.wire`), and ``template.plugin.pressplay`` from every registered step's argument model,
so the document is exactly as strict as the server. Fuzzers (schemathesis) and editors can use it.

How the answers map (see ``pressplay.server``): 200 with a reply for every parsed body, including
"not mine" (``{}``) and ``Failed`` for bad step arguments (Argo shows the message on the node);
400 for a body that is not JSON or not an ``ExecuteTemplateArgs`` object; 403 for a missing or wrong
bearer token; 405 for a wrong method; 413 for a body over the size limit. Every 4xx carries
``{"error": "<what is wrong and what to do>"}``.
"""

from __future__ import annotations

import copy
import logging
from datetime import timedelta
from typing import Any

from pydantic import BaseModel

from pressplay._version import __version__
from pressplay.config import PLUGIN_KEY
from pressplay.types import format_duration
from pressplay.wire import ExecuteReply, ExecuteRequest

log = logging.getLogger("pressplay.openapi")

_REF = "#/components/schemas/"


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF + "Error"}}},
    }


def _prefix_refs(node: Any, prefix: str) -> Any:
    """Rewrite ``#/$defs/X`` and ``#/components/schemas/X`` references to ``#/components/schemas/<prefix>X``."""
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                name = value.rsplit("/", 1)[-1]
                out[key] = _REF + prefix + name
            else:
                out[key] = _prefix_refs(value, prefix)
        return out
    if isinstance(node, list):
        return [_prefix_refs(item, prefix) for item in node]
    return node


def _step_schemas(schemas: dict[str, Any]) -> dict[str, Any]:
    """``plugin.pressplay``: exactly one step key, whose value is that step's argument model."""
    from pressplay.steps.registry import get_step, known_steps

    variants: list[dict[str, Any]] = []
    for key in known_steps():
        try:
            spec = get_step(key)
        except Exception:  # a step that cannot load is reported by the server when called
            log.warning("step %s could not be loaded for the OpenAPI document", key, exc_info=True)
            continue
        prefix = key[0].upper() + key[1:]
        model = spec.args_model.model_json_schema(by_alias=True, mode="validation")
        _duration_defaults(spec.args_model, model)
        defs = model.pop("$defs", {})
        for name, definition in defs.items():
            schemas[prefix + name] = _prefix_refs(definition, prefix)
        model = _prefix_refs(model, prefix)
        model.setdefault("description", spec.summary)
        model["title"] = f"{prefix}Args"
        schemas[f"{prefix}Args"] = model
        variants.append(
            {
                "type": "object",
                "title": f"{key} step",
                "required": [key],
                "additionalProperties": False,
                "properties": {key: {"$ref": f"{_REF}{prefix}Args"}},
            }
        )
    return {
        "description": "Exactly one step key under `plugin.pressplay`, with that step's arguments.",
        "oneOf": variants,
    }


def _duration_defaults(model: type[BaseModel], schema: dict[str, Any]) -> None:
    """Write duration defaults as templates do (``30m``), not as pydantic's ISO 8601 (``PT30M``)."""
    properties = schema.get("properties", {})
    for name, info in model.model_fields.items():
        prop = properties.get(info.alias or name)
        if prop is not None and isinstance(info.default, timedelta):
            prop["default"] = format_duration(info.default)


def openapi_document() -> dict[str, Any]:
    reply = ExecuteReply.model_json_schema(ref_template=_REF + "{model}", by_alias=True, mode="serialization")
    request = ExecuteRequest.model_json_schema(ref_template=_REF + "{model}", by_alias=True)
    schemas: dict[str, Any] = {}
    for doc in (reply, request):
        schemas.update(doc.pop("$defs", {}))
    schemas["ExecuteTemplateReply"] = reply
    schemas["ExecuteTemplateArgs"] = request
    # The reply never carries nulls: ``ExecuteReply.to_json`` drops unset fields.
    _drop_nulls(schemas)
    # ``requeue`` is a Go duration string as ``pressplay.types.format_duration`` writes it.
    schemas["ExecuteTemplateReply"]["properties"]["requeue"].update(
        {"pattern": r"^([1-9][0-9]*h)?([0-9]+m)?([0-9]+s)?$", "minLength": 2, "examples": ["30s", "2m30s"]}
    )
    # ``template.plugin``: any plugin's key may appear (we answer "not mine"); ours is described exactly.
    template = copy.deepcopy(schemas["Template"])
    # Argo sends only plugin templates, and ``plugin`` holds exactly one key (the plugin's name).
    template["properties"]["plugin"] = {
        "description": "The template's plugin object: one key. Only `pressplay` is ours; any other gets `{}`.",
        "anyOf": [
            {
                "title": "ours",
                "type": "object",
                "required": [PLUGIN_KEY],
                "maxProperties": 1,
                "properties": {PLUGIN_KEY: {"$ref": _REF + "PressplayCall"}},
            },
            {
                "title": "another plugin's (answered with {})",
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "not": {"required": [PLUGIN_KEY]},
            },
        ],
    }
    template["required"] = sorted({*template.get("required", []), "plugin"})
    schemas["Template"] = template
    schemas["PressplayCall"] = _step_schemas(schemas)
    schemas["Error"] = {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string", "minLength": 1, "description": "what is wrong and the fix"}
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pressplay executor plugin",
            "version": __version__,
            "description": (
                "Argo Workflows executor-plugin endpoint of the pressplay sidecar. Argo's agent POSTs every "
                "`plugin:` template here with the workflow's bearer token."
            ),
        },
        "servers": [{"url": "http://127.0.0.1:17820", "description": "the sidecar, as the agent dials it"}],
        "paths": {
            "/api/v1/template.execute": {
                "post": {
                    "operationId": "executeTemplate",
                    "summary": "Run (or poll) one plugin template",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": _REF + "ExecuteTemplateArgs"}}},
                    },
                    "responses": {
                        "200": {
                            "description": (
                                "The node's result; `{}` when the template is not ours; `Failed` with the "
                                "reason for bad step arguments"
                            ),
                            "content": {
                                "application/json": {"schema": {"$ref": _REF + "ExecuteTemplateReply"}}
                            },
                        },
                        "400": _error("the body is not JSON, not an object, or not an ExecuteTemplateArgs"),
                        "403": _error("missing or wrong bearer token (or the sidecar cannot read its token)"),
                        "405": _error("method not allowed: only POST"),
                        "413": _error("the body is larger than the sidecar accepts"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "operationId": "healthz",
                    "summary": "Liveness and readiness",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "alive",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["status"],
                                        "properties": {"status": {"const": "ok"}},
                                    }
                                }
                            },
                        },
                        "405": _error("method not allowed: only GET"),
                    },
                }
            },
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


def _drop_nulls(schemas: dict[str, Any]) -> None:
    """Remove ``null`` from optional reply fields (they are omitted instead) and their ``default: null``."""
    for name in ("ExecuteTemplateReply", "NodeResult", "ReplyParameter", "ReplyOutputs"):
        schema = schemas.get(name)
        if not schema:
            continue
        for prop in schema.get("properties", {}).values():
            options = prop.get("anyOf")
            if isinstance(options, list) and {"type": "null"} in options:
                rest = [o for o in options if o != {"type": "null"}]
                prop.pop("anyOf")
                if len(rest) == 1:
                    prop.update(rest[0])
                else:
                    prop["anyOf"] = rest
                if prop.get("default", 0) is None:
                    prop.pop("default")
