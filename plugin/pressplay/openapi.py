"""The OpenAPI description of the sidecar's own HTTP API (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from pressplay.wire import ExecuteReply, ExecuteRequest


def openapi_document() -> dict[str, Any]:
    reply = ExecuteReply.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
    request = ExecuteRequest.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)
    schemas: dict[str, Any] = {}
    for doc in (reply, request):
        schemas.update(doc.pop("$defs", {}))
    schemas["ExecuteTemplateReply"] = reply
    schemas["ExecuteTemplateArgs"] = request
    schemas["Error"] = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "pressplay executor plugin", "version": "1"},
        "paths": {
            "/api/v1/template.execute": {
                "post": {
                    "operationId": "executeTemplate",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ExecuteTemplateArgs"}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "the node's result, or {} when the template is not ours",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ExecuteTemplateReply"}
                                }
                            },
                        },
                        "400": {"description": "malformed JSON or content type", **err},
                        "403": {"description": "missing or wrong bearer token", **err},
                        "413": {"description": "body too large", **err},
                    },
                }
            },
            "/healthz": {"get": {"operationId": "healthz", "responses": {"200": {"description": "alive"}}}},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
