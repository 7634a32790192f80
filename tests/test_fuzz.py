"""Property-based fuzz of the execute endpoint: whatever arrives, no 5xx and every rejection explains itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressplay.testing.sidecar import Sidecar
from tests import support_steps

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
step_keys = st.sampled_from(["testEcho", "testCountdown", "testBoom", "nope", "", "pullRequests"])
step_args = st.dictionaries(
    st.sampled_from(["repo", "number", "text", "key", "until", "kind", "node", "extra", "Repo"]),
    json_values,
    max_size=5,
)
plugin_bodies = st.one_of(
    json_values,
    st.builds(lambda k, a: {k: a}, step_keys, step_args),
    st.builds(lambda k, a: {k: a, "second": {}}, step_keys, step_args),
)
templates = st.builds(
    lambda name, plugin, extra: {"name": name, "plugin": {"pressplay": plugin}, **extra},
    st.text(max_size=10),
    plugin_bodies,
    st.dictionaries(
        st.sampled_from(["inputs", "outputs", "metadata", "retryStrategy"]), json_values, max_size=2
    ),
)
bodies = st.one_of(
    st.builds(
        lambda t: {"workflow": {"metadata": {"name": "wf", "namespace": "ns", "uid": "u"}}, "template": t},
        templates,
    ),
    st.dictionaries(st.sampled_from(["workflow", "template"]), json_values, max_size=2),
    json_values,
)


@pytest.fixture(scope="module")
def fuzz_sidecar() -> Iterator[Sidecar]:
    with Sidecar(steps=support_steps.STEPS) as sidecar:
        yield sidecar


def _check(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    data: Any = response.json()
    if response.status_code != 200:
        assert data["error"], "a rejection must say why"
        return
    assert isinstance(data, dict)
    node = data.get("node")
    if node is not None:
        assert node["phase"] in {"Running", "Succeeded", "Failed"}
        if node["phase"] == "Failed":
            assert node["message"]
        if node["phase"] == "Running":
            assert isinstance(data["requeue"], str)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_structured_bodies_never_5xx(fuzz_sidecar: Sidecar, body: Any) -> None:
    with httpx.Client(timeout=10) as client:
        response = client.post(
            fuzz_sidecar.url + "/api/v1/template.execute",
            content=json.dumps(body),
            headers={"Authorization": f"Bearer {fuzz_sidecar.token}", "Content-Type": "application/json"},
        )
    _check(response)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.binary(max_size=200),
    ctype=st.sampled_from(["application/json", "text/plain", "", "application/json; charset=latin-1"]),
)
def test_raw_bytes_never_5xx(fuzz_sidecar: Sidecar, raw: bytes, ctype: str) -> None:
    with httpx.Client(timeout=10) as client:
        response = client.post(
            fuzz_sidecar.url + "/api/v1/template.execute",
            content=raw,
            headers={"Authorization": f"Bearer {fuzz_sidecar.token}", "Content-Type": ctype},
        )
    _check(response)
