"""The sidecar's HTTP contract, driven over real HTTP with the agent emulator."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml

from pressplay.steps.registry import known_steps
from pressplay.testing.agent import AgentEmulator, make_template
from pressplay.testing.sidecar import Sidecar
from tests import support_steps

# --- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def extra_steps() -> list[Any]:
    """The sidecars of this module also serve testEcho, testCountdown and testBoom."""
    return support_steps.STEPS


def post(
    sidecar: Sidecar, body: bytes | str, *, token: str | None = "ok", ctype: str = "application/json"
) -> httpx.Response:
    headers = {"Content-Type": ctype}
    if token == "ok":
        headers["Authorization"] = f"Bearer {sidecar.token}"
    elif token is not None:
        headers["Authorization"] = token
    return httpx.post(sidecar.url + "/api/v1/template.execute", content=body, headers=headers, timeout=10)


def body_for(template: dict[str, Any]) -> str:
    return json.dumps(
        {"workflow": {"metadata": {"name": "wf", "namespace": "argo", "uid": "u"}}, "template": template}
    )


# --- auth ---------------------------------------------------------------------------------------


def test_missing_token_is_403_and_says_why(sidecar: Sidecar) -> None:
    r = post(sidecar, body_for(make_template("testEcho", {})), token=None)
    assert r.status_code == 403
    assert "Authorization" in r.json()["error"]


def test_wrong_token_is_403_without_echoing_secrets(sidecar: Sidecar) -> None:
    r = post(sidecar, body_for(make_template("testEcho", {})), token="Bearer not-the-token")
    assert r.status_code == 403
    assert sidecar.token not in r.text and "not-the-token" not in r.text
    r = post(sidecar, body_for(make_template("testEcho", {})), token=f"Basic {sidecar.token}")
    assert r.status_code == 403


def test_token_file_is_read_and_missing_file_is_explained(
    tmp_path: Path, sidecar_factory: Callable[..., Sidecar]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    s = sidecar_factory(token="", token_file=token_file)
    s.token = "file-token"
    assert post(s, body_for(make_template("other", {}, plugin_key="x"))).status_code == 200
    missing = sidecar_factory(token="", token_file=tmp_path / "absent")
    r = post(missing, body_for(make_template("testEcho", {})), token="Bearer whatever")
    assert r.status_code == 403 and "does not exist" in r.json()["error"]


def test_healthz_needs_no_auth(sidecar: Sidecar) -> None:
    assert httpx.get(sidecar.url + "/healthz").json() == {"status": "ok"}


# --- routing --------------------------------------------------------------------------------------


def test_other_plugins_template_is_not_mine(sidecar: Sidecar) -> None:
    with sidecar.agent() as agent:
        reply = agent.call({"name": "x", "plugin": {"slack": {"text": "hello"}}})
        assert reply.status == 200 and reply.body == {}
        result = agent.run({"name": "x", "plugin": {"slack": {"text": "hello"}}})
    assert result.not_mine


def test_template_without_plugin_is_not_mine(sidecar: Sidecar) -> None:
    r = post(sidecar, body_for({"name": "c", "container": {"image": "alpine"}}))
    assert r.status_code == 200 and r.json() == {}


def test_unknown_step_names_the_known_ones(sidecar: Sidecar) -> None:
    result = sidecar.run_step("pullRequests", {})
    assert result.phase == "Failed"
    assert "unknown step 'pullRequests'" in result.message
    for key in known_steps():
        assert key in result.message


def test_two_step_keys_are_refused(sidecar: Sidecar) -> None:
    template = {"name": "t", "plugin": {"pressplay": {"status": {}, "comment": {}}}}
    with sidecar.agent() as agent:
        result = agent.run(template)
    assert result.phase == "Failed" and "exactly one step key" in result.message


def test_bad_arguments_name_each_field(sidecar: Sidecar) -> None:
    result = sidecar.run_step("testEcho", {"repo": "not a repo", "number": "seven", "txt": "typo"})
    assert result.phase == "Failed"
    msg = result.message
    assert "testEcho.repo" in msg and "owner/name" in msg
    assert "testEcho.number" in msg and "integer" in msg
    assert "testEcho.txt: unknown argument" in msg and "text" in msg
    assert result.calls == 1


def test_missing_argument_is_named(sidecar: Sidecar) -> None:
    result = sidecar.run_step("testEcho", {"repo": "acme/api"})
    assert result.phase == "Failed" and "testEcho.number: required argument is missing" in result.message


def test_success_outputs_are_strings_and_summary_is_added(sidecar: Sidecar) -> None:
    result = sidecar.run_step("testEcho", {"repo": "acme/api", "number": 7, "text": "yo"}, outputs=["text"])
    assert result.phase == "Succeeded", result.message
    assert result.outputs == {"text": "yo", "data": '{"n":7}', "ok": "true", "summary": "echoed yo"}


def test_declared_output_the_step_lacks_fails_clearly(sidecar: Sidecar) -> None:
    result = sidecar.run_step("testEcho", {"repo": "acme/api", "number": 7}, outputs=["url"])
    assert result.phase == "Failed" and "declares output(s) url" in result.message


def test_global_name_is_echoed(sidecar: Sidecar) -> None:
    template = make_template("testEcho", {"repo": "acme/api", "number": 1}, outputs=["text"])
    template["outputs"]["parameters"][0]["globalName"] = "greeting"
    reply = sidecar.agent().call(template)
    params = reply.body["node"]["outputs"]["parameters"]
    assert {"name": "text", "value": "hi", "globalName": "greeting"} in params


def test_running_step_is_requeued_until_it_succeeds(sidecar: Sidecar) -> None:
    result = sidecar.run_step("testCountdown", {"key": "k1", "until": 3})
    assert result.phase == "Succeeded"
    assert [r.phase for r in result.replies] == ["Running", "Running", "Succeeded"]
    assert [r.requeue for r in result.replies] == ["5s", "5s", None]


def test_error_kinds_map_to_phases(sidecar: Sidecar) -> None:
    perm = sidecar.call_step("testBoom", {"kind": "permanent"})
    assert perm.phase == "Failed" and "not found" in perm.message and perm.requeue is None
    temp = sidecar.call_step("testBoom", {"kind": "temporary"})
    assert temp.phase == "Running" and temp.requeue == "42s" and "502" in temp.message
    conn = sidecar.call_step("testBoom", {"kind": "connection"})
    assert conn.phase == "Running" and conn.requeue
    bug = sidecar.call_step("testBoom", {"kind": "bug"})
    assert bug.status == 200 and bug.phase == "Failed"
    assert "internal error" in bug.message and "trace" in bug.message and "Traceback" not in bug.message


# --- malformed requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "ctype", "needle"),
    [
        ("{not json", "application/json", "malformed JSON"),
        ("", "application/json", "empty body"),
        ("[1, 2]", "application/json", "JSON object"),
        ('{"workflow": {}}', "application/json", "template"),
        (body_for({"name": "x"}), "text/plain", "Content-Type"),
    ],
)
def test_malformed_requests_are_400_with_one_line(
    sidecar: Sidecar, body: str, ctype: str, needle: str
) -> None:
    r = post(sidecar, body, ctype=ctype)
    assert r.status_code == 400
    reason = r.json()["error"]
    assert needle in reason and "\n" not in reason


def test_oversized_body_is_413(sidecar: Sidecar) -> None:
    big = body_for({"name": "x", "plugin": {"pressplay": {"testEcho": {"text": "x" * (1024 * 1024 + 10)}}}})
    r = post(sidecar, big)
    assert r.status_code == 413 and "larger than" in r.json()["error"]


def test_execute_path_never_404s_for_get(sidecar: Sidecar) -> None:
    r = httpx.get(sidecar.url + "/api/v1/template.execute")
    assert r.status_code == 405


# --- reply shapes against Argo's swagger ---------------------------------------------------------

_GO_DURATION = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms|us|ns))+$")


def argo_reply_validator(shared_dir: Path) -> Callable[[Any], None]:
    swagger = yaml.safe_load((shared_dir / "schemas/argo-workflows/executor-plugin-swagger.yml").read_text())
    definitions = dict(swagger["definitions"])
    # The generated swagger says `type: object` for metav1.Duration, but its own description (and Go's
    # JSON decoding) make it a string such as "30s": a number or object fails the node. Check the truth.
    assert "marshals into strings" in definitions["Duration"]["description"]
    definitions["Duration"] = {"type": "string", "pattern": _GO_DURATION.pattern}
    schema = {"$ref": "#/definitions/ExecuteTemplateReply", "definitions": definitions}
    validator = jsonschema.Draft4Validator(schema)

    def check(body: Any) -> None:
        validator.validate(body)
        node = body.get("node")
        if node is not None:
            assert node["phase"] in {"Pending", "Running", "Succeeded", "Failed", "Error"}
            for p in (node.get("outputs") or {}).get("parameters", []):
                assert isinstance(p["value"], str)
            if node["phase"] in {"Succeeded", "Failed"}:
                assert "requeue" not in body, "final phases must not carry a requeue"
            if node["phase"] == "Running":
                assert _GO_DURATION.match(body["requeue"])
        if "requeue" in body:
            assert isinstance(body["requeue"], str) and _GO_DURATION.match(body["requeue"])

    return check


def test_every_reply_shape_is_valid_for_argo(sidecar: Sidecar, shared_dir: Path) -> None:
    check = argo_reply_validator(shared_dir)
    templates = [
        {"name": "x", "plugin": {"slack": {}}},
        make_template("testEcho", {"repo": "acme/api", "number": 1}, outputs=["text"]),
        make_template("testEcho", {"repo": "bad"}),
        make_template("nope", {}),
        make_template("testCountdown", {"key": "shape", "until": 2}),
        make_template("testBoom", {"kind": "temporary"}),
        make_template("testBoom", {"kind": "permanent"}),
        make_template("testBoom", {"kind": "bug"}),
    ]
    with sidecar.agent() as agent:
        for template in templates:
            reply = agent.call(template)
            assert reply.status == 200
            check(reply.body)


# --- the agent emulator's own behaviour ----------------------------------------------------------


def test_agent_emulator_retries_503_then_fails() -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    hits: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            hits.append(1)
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        agent = AgentEmulator(f"http://127.0.0.1:{server.server_port}", "t", speedup=1000)
        reply = agent.call(make_template("x", {}))
        agent.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert len(hits) == 5 and reply.phase == "Failed"


# --- a sidecar without its token says so (issue 14 item 5) ---------------------------------------


def test_a_missing_token_file_is_one_loud_line_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from pressplay.config import Settings
    from pressplay.server import MISSING_CREDENTIAL_FIX, warn_if_no_token

    absent = tmp_path / "token"
    with caplog.at_level(logging.INFO, logger="pressplay"):
        assert warn_if_no_token(Settings(token_file=absent)) is False
    [line] = [r for r in caplog.records if r.name == "pressplay.server"]
    assert line.levelno == logging.ERROR
    message = line.getMessage()
    assert f"{absent} does not exist" in message and "refused (403)" in message
    assert MISSING_CREDENTIAL_FIX in message and "PRESSPLAY_TOKEN_FILE" in message
    caplog.clear()
    absent.write_text("")
    with caplog.at_level(logging.INFO, logger="pressplay"):
        assert warn_if_no_token(Settings(token_file=absent)) is False
    assert "is empty" in caplog.records[0].getMessage()
    caplog.clear()
    absent.write_text("the-agent-token\n")
    with caplog.at_level(logging.INFO, logger="pressplay"):
        assert warn_if_no_token(Settings(token_file=absent)) is True
    assert not caplog.records


def test_each_refusal_is_logged_without_the_token_at_most_once_a_minute_per_reason(
    sidecar: Sidecar, caplog: pytest.LogCaptureFixture
) -> None:
    body = body_for(make_template("testEcho", {}))
    with caplog.at_level(logging.INFO, logger="pressplay"):
        for _ in range(3):
            assert post(sidecar, body, token="Bearer not-the-token-but-close").status_code == 403
        assert post(sidecar, body, token=None).status_code == 403
    lines = [r for r in caplog.records if r.name == "pressplay.server"]
    assert [r.levelno for r in lines] == [logging.WARNING, logging.WARNING]
    assert "does not match" in lines[0].getMessage() and "Authorization" in lines[1].getMessage()
    assert all(getattr(r, "http_status", None) == 403 for r in lines)
    text = " ".join(r.getMessage() + repr(r.__dict__) for r in lines)
    assert sidecar.token not in text and "not-the-token-but-close" not in text


def test_the_refusal_log_counts_the_calls_it_kept_quiet_about(caplog: pytest.LogCaptureFixture) -> None:
    from pressplay.server import RefusalLog

    refusals = RefusalLog(interval=0.2)
    with caplog.at_level(logging.INFO, logger="pressplay"):
        for _ in range(5):
            refusals.refused(403, "missing 'Authorization: Bearer <token>' header", "127.0.0.1")
        time.sleep(0.25)
        refusals.refused(403, "missing 'Authorization: Bearer <token>' header", "127.0.0.1")
    assert [getattr(r, "refused_since_last_line", None) for r in caplog.records] == [0, 4]
    assert caplog.records[0].remote_addr == "127.0.0.1"  # type: ignore[attr-defined]
