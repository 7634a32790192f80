"""Property-based fuzzing of a real ``pressplay serve`` (gunicorn) with the GitHub emulator behind it.

Unlike ``tests/test_fuzz.py`` (the framework, with test-only steps, in a thread), this drives the
product's own eleven steps with arguments drawn from their real argument names, over real HTTP to
the gunicorn process, plus HTTP-level abuse (methods, auth headers, content types, sizes). Whatever
arrives: no 5xx, no crash turned into Failed, and every rejection says why (see ``_judge.py``).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pressplay.steps.registry import get_step, known_steps
from tests.reliability._judge import judge

#: characters a header field value may not hold (RFC 9110 §5.5: CTLs other than tab, and DEL)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

pytestmark = pytest.mark.reliability

EXECUTE = "/api/v1/template.execute"


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
        database=None,
    )


#: Values a template author (or a typo) could plausibly put in an argument.
PLAUSIBLE = st.sampled_from(
    [
        "acme/api", "acme/none", "nobody/none", "acme", "acme/api/extra", "main", "pressplay/task-1",
        "refs/heads/main", "0" * 40, "30s", "1h30m", "90", "-5s", "soon", "", " ", "build", "build (*)",
        "pressplay/acceptance", "success", "failure", "merge", "squash", "rebase", "create", "delete",
        "task-1", "key-1", "2026-11-25T10:00:00Z", "yesterday", "{{inputs.parameters.x}}", "x" * 300,
        "\u00e9t\u00e9", "$(rm -rf /)", 0, 1, 7, -1, 2**40, 1.5, True, False, None,
        ["build"], ["pressplay/x"], [""], [1, 2], {"a": 1}, {},
    ]
)  # fmt: skip
NUMBERS = st.integers() | st.floats(allow_nan=False)
JSON = st.recursive(
    st.none() | st.booleans() | NUMBERS | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _arg_names(key: str) -> list[str]:
    model = get_step(key).args_model
    return [info.alias or name for name, info in model.model_fields.items()]


STEPS = known_steps()
ARG_NAMES = {key: _arg_names(key) for key in STEPS}


@st.composite
def step_calls(draw: st.DrawFn) -> dict[str, Any]:
    key = draw(st.sampled_from([*STEPS, "pullrequest", "nope"]))
    names = ARG_NAMES.get(key, ["repo"])
    args = draw(
        st.dictionaries(
            st.sampled_from([*names, "bogus", "Repo"]),
            st.one_of(PLAUSIBLE, PLAUSIBLE, JSON),
            max_size=len(names) + 1,
        )
    )
    if draw(st.booleans()):
        args.setdefault("repo", "acme/api")
    return {key: args}


def _body(plugin: Any, outputs: list[str]) -> bytes:
    template = {
        "name": "fuzz",
        "inputs": {},
        "outputs": {"parameters": [{"name": n, "valueFrom": {"supplied": {}}} for n in outputs]},
        "metadata": {},
        "plugin": plugin,
    }
    return json.dumps(
        {
            "workflow": {"metadata": {"name": "fuzz-wf", "namespace": "argo", "uid": "f-1"}},
            "template": template,
        }
    ).encode()


@pytest.fixture(scope="module")
def client(served: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as http:
        yield http


def _post(client: httpx.Client, token: str, body: bytes, **headers: str) -> httpx.Response:
    sent = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers}
    return client.post(EXECUTE, content=body, headers=sent)


@fuzz(250)
@given(
    call=step_calls(),
    outputs=st.lists(st.sampled_from(["number", "url", "summary", "state", "x"]), max_size=2),
)
def test_real_steps_with_fuzzed_arguments(
    client: httpx.Client, served: Any, call: Any, outputs: list[str]
) -> None:
    response = _post(client, served.token, _body({"pressplay": call}, outputs))
    judge(response.status_code, response.content, what=f"pressplay {json.dumps(call)[:200]}")


@fuzz(80)
@given(plugin=JSON, workflow=JSON)
def test_arbitrary_envelopes(client: httpx.Client, served: Any, plugin: Any, workflow: Any) -> None:
    body = {"workflow": workflow, "template": {"name": "t", "plugin": plugin}}
    response = _post(client, served.token, json.dumps(body).encode())
    judge(response.status_code, response.content, what=f"envelope {json.dumps(body)[:200]}")


@fuzz(60)
@given(
    raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)),
    ctype=st.sampled_from(
        [
            "application/json",
            "application/json; charset=utf-8",
            "text/plain",
            "application/x-www-form-urlencoded",
            "",
        ]
    ),
)
def test_raw_bodies(client: httpx.Client, served: Any, raw: bytes, ctype: str) -> None:
    response = _post(client, served.token, raw, **{"Content-Type": ctype})
    judge(response.status_code, response.content, what=f"raw {raw[:60]!r} as {ctype!r}")


@fuzz(40)
@given(
    auth=st.one_of(
        st.sampled_from(
            ["", "Bearer", "Bearer ", "bearer {t}", "Basic {t}", "Bearer {t}x", "Bearer  {t}", "{t}"]
        ),
        st.text(max_size=40).filter(lambda s: "\n" not in s and "\r" not in s),
    ),
    method=st.sampled_from(["GET", "PUT", "DELETE", "PATCH", "POST"]),
)
def test_auth_and_methods(client: httpx.Client, served: Any, auth: str, method: str) -> None:
    header = auth.replace("{t}", served.token)
    try:
        request = client.build_request(
            method,
            EXECUTE,
            content=_body({"pressplay": {"status": {"repo": "acme/api"}}}, []),
            headers={"Authorization": header, "Content-Type": "application/json"},
        )
        response = client.send(request)
    except (UnicodeEncodeError, httpx.LocalProtocolError):
        return  # not sendable as an HTTP header at all
    judge(response.status_code, response.content, what=f"{method} with Authorization {auth!r}")
    value = header.strip()
    accepted = value.startswith("Bearer ") and value[len("Bearer ") :].strip() == served.token
    if method == "POST" and _CONTROL.search(header):
        # RFC 9110 §5.5: a field value holds no control characters; gunicorn's parser refuses the
        # request (400) before the app sees it, so it is never accepted either
        assert response.status_code in (400, 403), f"Authorization {auth!r}: {response.status_code}"
    elif method == "POST":
        assert (response.status_code != 403) == accepted, f"Authorization {auth!r}: {response.status_code}"


def test_oversized_and_lying_bodies(client: httpx.Client, served: Any) -> None:
    big = _body(
        {"pressplay": {"comment": {"repo": "acme/api", "number": 1, "key": "k", "body": "x" * 2_000_000}}}, []
    )
    response = _post(client, served.token, big)
    judge(response.status_code, response.content, what="2 MB body")
    assert response.status_code == 413
    # A Content-Length shorter than the body: the server reads a truncated JSON document (400).
    short = _body({"pressplay": {"status": {"repo": "acme/api"}}}, [])
    status, raw = _raw_exchange(served.port, served.token, short, len(short) - 5)
    judge(status, raw, what="truncated by Content-Length")
    assert status == 400


def _raw_exchange(port: int, token: str, body: bytes, length: int) -> tuple[int, bytes]:
    head = (
        f"POST {EXECUTE} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    response = b"".join(chunks)
    header, _, payload = response.partition(b"\r\n\r\n")
    return int(header.split()[1]), payload


def test_every_step_key_with_no_arguments(client: httpx.Client, served: Any) -> None:
    """The first thing a template author tries: the step key alone. Each names what is missing."""
    for key in STEPS:
        for args in (None, {}, [], "x"):
            response = _post(client, served.token, _body({"pressplay": {key: args}}, []))
            reply = judge(response.status_code, response.content, what=f"{key}: {args!r}")
            assert reply is not None and reply["node"]["phase"] == "Failed"
            assert key in reply["node"]["message"]


@pytest.mark.parametrize("value", [8.64e13, 2**62, "99999999999999999h", 1e308, "9" * 400 + "s"])
def test_huge_durations_are_rejected(client: httpx.Client, served: Any, value: Any) -> None:
    call = {"checks": {"repo": "acme/api", "ref": "main", "timeout": value}}
    response = _post(client, served.token, _body({"pressplay": call}, []))
    reply = judge(response.status_code, response.content, what=f"timeout {value!r}")
    assert reply is not None and "timeout" in reply["node"]["message"]
    assert "longest duration allowed" in reply["node"]["message"]
