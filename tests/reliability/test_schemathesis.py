"""schemathesis against the OpenAPI description the sidecar publishes (``GET /api/v1/openapi.json``).

The document is loaded from a running ``pressplay serve`` (gunicorn, GitHub emulator behind it), and
schemathesis generates requests from it: *positive* cases (valid step arguments for every step, so real
steps run against the emulator) and *negative* cases (bodies that violate the schema). Every answer must
conform to the document (status code, content type, body schema), never be a 5xx, and every rejection
must explain itself (a 4xx ``{"error": ...}`` or a ``Failed`` node with the reason; see ``_judge.py``).

For negative cases schemathesis's own ``negative_data_rejection`` check is replaced by ours: Argo's
contract answers bad *step arguments* with 200 + ``Failed`` (the agent shows the message on the node),
not with a 4xx, so "rejected" means either of the two.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability._judge import judge

pytestmark = pytest.mark.reliability

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api(served: Any) -> Any:
    return schemathesis.openapi.from_url(served.url + "/api/v1/openapi.json")


def _operation(api: Any, path: str, method: str) -> Any:
    for result in api.get_all_operations():
        operation = result.ok()
        if operation.path == path and operation.method.upper() == method:
            return operation
    raise AssertionError(f"the published document has no {method} {path}")


def test_the_published_document_is_valid_openapi(api: Any, served: Any) -> None:
    import httpx
    from openapi_spec_validator import validate

    document = httpx.get(served.url + "/api/v1/openapi.json", timeout=10).json()
    validate(document)
    steps = document["components"]["schemas"]["PressplayCall"]["oneOf"]
    from pressplay.steps.registry import known_steps

    assert sorted(next(iter(v["properties"])) for v in steps) == known_steps()


@pytest.mark.parametrize(
    ("mode", "examples"), [(GenerationMode.POSITIVE, 150), (GenerationMode.NEGATIVE, 100)], ids=str
)
def test_execute_endpoint_against_its_openapi(
    api: Any, served: Any, mode: GenerationMode, examples: int
) -> None:
    operation = _operation(api, "/api/v1/template.execute", "POST")
    auth = {"Authorization": f"Bearer {served.token}"}

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call(base_url=served.url, headers=auth, timeout=30)
        judge(response.status_code, response.content, what=f"schemathesis {mode} {case.body!r:.300}")
        case.validate_response(response, checks=CHECKS)

    run()


def test_healthz_against_its_openapi(api: Any, served: Any) -> None:
    operation = _operation(api, "/healthz", "GET")

    @settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        response = case.call(base_url=served.url, timeout=10)
        case.validate_response(response, checks=CHECKS)

    run()
