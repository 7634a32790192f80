"""The private key, App JWTs and installation tokens never appear in logs, messages, reprs or spans."""

from __future__ import annotations

import io
import logging
import traceback
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pressplay import telemetry
from pressplay.github import GitHubClients, scrub
from pressplay.testing.github_emulator import GitHubEmulator
from tests.github.conftest import REPO

pytestmark = pytest.mark.reliability


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    telemetry.configure(span_exporter=exporter, force=True)
    yield exporter
    telemetry.configure(force=True)


@pytest.fixture
def all_logs() -> Iterator[io.StringIO]:
    """Everything logged by anyone (pressplay, githubkit, httpx, httpcore) at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(telemetry.JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(n) for n in ("pressplay", "githubkit", "httpx", "httpcore")]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield stream
    for lg in loggers:
        lg.removeHandler(handler)
    root.removeHandler(handler)
    root.setLevel(old_level)


def _needles(emu: GitHubEmulator) -> dict[str, str]:
    assert emu.private_key_file is not None
    pem = emu.private_key_file.read_text()
    found = {line: "private key line" for line in pem.splitlines() if len(line) >= 40 and "-----" not in line}
    found["PRIVATE KEY-----"] = "PEM armour"
    for token in emu.issued_tokens:
        found[token] = "installation token"
    for jwt in emu.seen_jwts:
        found[jwt] = "App JWT"
        found[jwt.split(".")[2][:40]] = "App JWT signature"
    return found


def test_no_secret_in_any_output(
    emu: GitHubEmulator, all_logs: io.StringIO, spans: InMemorySpanExporter
) -> None:
    emitted: list[str] = []

    def attempt(fn: object) -> None:
        try:
            result = fn()  # type: ignore[operator]
            emitted.append(repr(result))
            emitted.append(str(getattr(result, "headers", "")))
        except Exception as exc:
            emitted.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
            emitted.extend(str(a) for a in exc.args)

    clients = GitHubClients(emu.settings())
    emitted.append(repr(clients))
    repo = clients.repo(REPO)
    emitted.append(repr(repo))
    # success paths
    attempt(lambda: repo.get(""))
    attempt(lambda: repo.get(""))  # 304
    attempt(lambda: repo.post("issues", {"title": "t"}))
    attempt(lambda: repo.get_all("issues"))
    attempt(lambda: repo.bot_login())
    attempt(lambda: repo.graphql("{ viewer { login } }"))
    # every error path
    for kind, status in (
        ("status", 502),
        ("secondary", 403),
        ("too_many", 429),
        ("reset", 0),
        ("status", 500),
    ):
        emu.inject_fault(r"/pulls$", kind=kind, status=status or 502)
        attempt(lambda: repo.get("pulls"))
    emu.set_rate_limit_remaining("acme", 0)
    attempt(lambda: repo.get("pulls"))
    emu.set_rate_limit_remaining("acme", 4000)
    attempt(lambda: repo.get("pulls/999"))
    attempt(lambda: repo.post("labels", {"name": "x", "color": "nope"}))
    attempt(lambda: repo.graphql("{ nope }"))
    attempt(lambda: repo.get("https://evil.example.com/x"))
    # auth failures: wrong app id at discovery and at the token exchange, token exchange 5xx, expired token
    attempt(lambda: GitHubClients(emu.settings(github_app_id="7")).repo(REPO).get(""))
    attempt(
        lambda: (
            GitHubClients(emu.settings(github_app_id="7", github_installation_id=emu.installation_id("acme")))
            .repo(REPO)
            .get("")
        )
    )
    emu.inject_fault(r"/access_tokens$", status=503)
    attempt(lambda: GitHubClients(emu.settings()).repo(REPO).get(""))
    emu.advance(7200)  # every token the emulator issued is now expired
    attempt(lambda: repo.get("", conditional=False))

    assert emu.issued_tokens and len(emu.seen_jwts) >= 3
    haystacks = {
        "logs": all_logs.getvalue(),
        "messages": "\n".join(emitted),
        "spans": "\n".join(
            f"{s.name} {dict(s.attributes or {})} {s.status.description} {[e.attributes for e in s.events]}"
            for s in spans.get_finished_spans()
        ),
    }
    assert "GitHub GET" in haystacks["messages"] and "http" in haystacks["logs"].lower()
    for where, text in haystacks.items():
        for needle, what in _needles(emu).items():
            assert needle not in text, f"{what} leaked into {where}"


def test_scrub_redacts_token_shapes() -> None:
    text = (
        "token ghs_16C7e42F292c6912E7710c838347Ae178B4a and Authorization: Bearer abc.def "
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ "
        "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"
    )
    clean = scrub(text)
    for secret in ("ghs_16C7", "eyJhbGci", "MIIE", "abc.def"):
        assert secret not in clean
