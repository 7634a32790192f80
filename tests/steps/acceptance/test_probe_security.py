"""The HTTP probe is not a way into the sidecar's network, and bodyPattern cannot stall the sidecar
(issue 18). Each test names the attack it reproduces; each failed against the probe before the fix."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network

import pytest

from pressplay.acceptance_spec import (
    HttpCriterion,
    SpecError,
    compile_pattern,
    literal_address,
    parse_spec,
    refused,
)
from pressplay.config import Settings
from pressplay.steps.acceptance import PATTERN_TIME_LIMIT, pattern_search, probe

LOCAL = Settings(probe_allow_cidrs="127.0.0.0/8").probe_allow_cidrs  # as PRESSPLAY_PROBE_ALLOW_CIDRS
MIB = 1024 * 1024
#: The metadata address, written every way a resolver reads it.
METADATA_FORMS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/",
    "http://0xa9fea9fe/",
    "http://0xA9FEA9FE./",
    "http://0251.0376.0251.0376/",
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://169.254.43518/",
    "http://169.16689662/",
    "http://169.254.169.254./",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:a9fe:a9fe]/",
    "http://[::169.254.169.254]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:a9fe:a9fe::]/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1%25eth0]/",
    "http://0/",
    "http://[::]/",
    "http://224.0.0.1/",
]
NOT_PUBLIC = [
    "http://127.0.0.1/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://localhost./",
    "http://10.0.0.1/",
    "http://0xa000001/",
    "http://172.16.3.4/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[fd00::1]/",
    "http://[fc12::5]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[fec0::1]/",
    "http://240.0.0.1/",
]


class _Seen(BaseHTTPRequestHandler):
    """Answers a few routes and records every request (path and Host header)."""

    hits: list[tuple[str, str]] = []
    routes: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:
        self.hits.append((self.path, self.headers.get("Host", "")))
        code, headers, body = self.routes.get(self.path, (404, {}, b"secret internal page"))
        self.send_response(code)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    """A local server (bound to 127.0.0.1 only) that records what reached it; yields its port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Seen)
    _Seen.hits = []
    _Seen.routes = {
        "/health": (200, {}, b'{"status": "ok"}'),
        "/to-meta": (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/to-meta-hex": (302, {"Location": "http://0xa9fea9fe/"}, b""),
        "/to-private": (302, {"Location": "http://10.1.2.3/admin"}, b""),
        "/to-name": (302, {"Location": "http://metadata.nip.io/"}, b""),
        "/big": (200, {}, b"a" * (MIB - 1) + b"b"),
    }
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield int(httpd.server_port)
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def http(url: str, **kw: object) -> HttpCriterion:
    return HttpCriterion.model_validate({"kind": "http", "url": url, **kw})


class Dns:
    """A resolver stub: a fixed answer per name, and a record of every lookup."""

    def __init__(self, answers: dict[str, Sequence[str] | list[Sequence[str]]]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        answer = self.answers.get(host)
        if answer is None:
            raise OSError(f"no such name: {host}")
        if answer and isinstance(answer[0], list):  # one answer per lookup (rebinding)
            return answer[min(len(self.lookups), len(answer)) - 1]  # type: ignore[return-value]
        return answer  # type: ignore[return-value]


# -- the metadata address and private ranges, in every notation ------------------------------------


@pytest.mark.parametrize("url", METADATA_FORMS)
def test_every_notation_of_the_metadata_address_is_refused_in_the_spec(url: str) -> None:
    """Attack: `http://2852039166/`, `http://0xa9fea9fe/`, `[::ffff:169.254.169.254]` ... reached the
    metadata service; the old check only refused a literal the ``ipaddress`` module reads as
    link-local (the dotted form). Now the spec is refused with the field named."""
    with pytest.raises(SpecError) as err:
        parse_spec({"version": 1, "criteria": [{"kind": "http", "url": url}]})
    assert "criteria[0] (kind http).url" in str(err.value)
    assert "may not be probed" in str(err.value)


@pytest.mark.parametrize("url", METADATA_FORMS)
def test_every_notation_of_the_metadata_address_is_refused_by_the_probe_even_when_allowed(url: str) -> None:
    """The same forms reaching the probe (e.g. by a redirect) are refused without a connection, even
    with every range allowed: metadata, link-local, multicast and unspecified are never probed."""
    everything = (ip_network("0.0.0.0/0"), ip_network("::/0"))
    dns = Dns({})
    crit = HttpCriterion.model_construct(
        kind="http", url=url, method="GET", expect_status=[200], body_pattern=None,
        timeout=http("https://x.example").timeout, follow_redirects=False, id=None, name=None,
    )  # fmt: skip
    result = probe(crit, "m", allow=everything, resolver=dns)
    assert (result.state, result.evidence) == ("failed", "URL refused: not a public address")
    assert dns.lookups == []


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_loopback_private_and_unique_local_literals_are_refused(url: str) -> None:
    """Attack: the probe reached loopback and private services (the Kubernetes API, Argo, databases)
    and reported their status: only link-local literals were refused before."""
    dns = Dns({"localhost": ["127.0.0.1"]})
    result = probe(http(url), "p", resolver=dns)
    assert (result.state, result.evidence) == ("failed", "URL refused: not a public address")


def test_a_public_address_is_probed_and_an_allowed_range_opens_private_ones(server: int) -> None:
    """The admin's `PRESSPLAY_PROBE_ALLOW_CIDRS` lets a preview range in; nothing else is needed for
    a public address."""
    assert not refused(literal_address("8.8.8.8"))  # type: ignore[arg-type]
    assert not refused(literal_address("2606:4700::1111"))  # type: ignore[arg-type]
    url = f"http://127.0.0.1:{server}/health"
    assert probe(http(url), "p").evidence == "URL refused: not a public address"
    assert _Seen.hits == []
    assert probe(http(url), "p", allow=LOCAL).state == "passed"
    assert refused(literal_address("[::ffff:127.0.0.1]"), LOCAL) is False  # type: ignore[arg-type]


# -- DNS names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("169.254.169.254.nip.io", ["169.254.169.254"]),
        ("metadata.google.internal", ["169.254.169.254"]),
        ("db.internal.example", ["10.3.0.7"]),
        ("ula.example", ["fd00::7"]),
        ("mapped.example", ["::ffff:169.254.169.254"]),
        ("mixed.example", ["93.184.215.14", "127.0.0.1"]),
    ],
)
def test_a_name_that_resolves_to_a_refused_address_is_refused(name: str, answer: list[str]) -> None:
    """Attack: `http://169.254.169.254.nip.io/` passed the check (a name, not an address) and httpx
    resolved it to the metadata service. Now the name is resolved and every address checked."""
    dns = Dns({name: answer})
    result = probe(http(f"http://{name}/latest"), "d", resolver=dns, allow=())
    assert (result.state, result.evidence) == ("failed", "URL refused: not a public address")
    assert dns.lookups == [name]


def test_the_connection_goes_to_the_address_that_was_checked(server: int) -> None:
    """Attack (DNS rebinding): the check resolved the name to an allowed address, then httpx resolved
    it again to connect, and a short-TTL answer sent that second lookup elsewhere. Now there is one
    lookup per hop and the connection goes to its address; the Host header stays the URL's."""
    dns = Dns({"preview.example": [["127.0.0.1"], ["169.254.169.254"]]})
    result = probe(http(f"http://preview.example:{server}/health"), "r", allow=LOCAL, resolver=dns)
    assert result.state == "passed", result.evidence
    assert dns.lookups == ["preview.example"]
    assert _Seen.hits == [("/health", f"preview.example:{server}")]


def test_a_trailing_dot_name_is_resolved_and_checked(server: int) -> None:
    dns = Dns({"preview.example": ["127.0.0.1"]})
    assert probe(http(f"http://preview.example.:{server}/health"), "t", resolver=dns).evidence == (
        "URL refused: not a public address"
    )
    assert probe(http(f"http://preview.example.:{server}/health"), "t", resolver=dns, allow=LOCAL).state == (
        "passed"
    )


# -- redirects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/to-meta", "/to-meta-hex", "/to-private", "/to-name"])
def test_every_redirect_hop_is_checked_the_same_way(server: int, path: str) -> None:
    """Attack: an allowed (or public) URL answered 302 to the metadata address or an internal host and
    the probe followed. Now each hop is resolved and checked; the refusal names no target."""
    dns = Dns({"metadata.nip.io": ["169.254.169.254"]})
    result = probe(
        http(f"http://127.0.0.1:{server}{path}", followRedirects=True), "h", allow=LOCAL, resolver=dns
    )
    assert (result.state, result.evidence) == ("failed", "redirect refused: not a public address")
    assert [p for p, _ in _Seen.hits] == [path]


# -- the report is not an oracle -------------------------------------------------------------------


def test_a_failed_probe_says_nothing_about_what_listens_inside(server: int) -> None:
    """Attack: the report told a refused connection (`ConnectError`) from a timeout from a 404 with its
    details for internal addresses: a port scanner through the PR report. Now an internal target is
    refused before any connection, and an unreachable allowed one says only "not reachable"."""
    internal = probe(http(f"http://127.0.0.1:{server}/nothing-here"), "o")
    assert internal.evidence == "URL refused: not a public address"
    assert "404" not in internal.evidence and "secret" not in internal.evidence
    closed = probe(http("http://127.0.0.1:9/", timeout="1s"), "o", allow=LOCAL)
    assert closed.state == "pending"
    assert closed.evidence in ("GET http://127.0.0.1:9/ not reachable", "GET http://127.0.0.1:9/ timed out")


def test_proxies_and_netrc_from_the_environment_are_not_used(
    server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An HTTP(S)_PROXY in the sidecar's environment would carry the probe (and its checked address)
    to a proxy that resolves names itself; the probe connects directly."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    assert probe(http(f"http://127.0.0.1:{server}/health"), "e", allow=LOCAL).state == "passed"


def test_the_allowed_ranges_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRESSPLAY_PROBE_ALLOW_CIDRS", "10.20.0.0/16, fd12:3456::/48,127.0.0.1")
    assert [str(n) for n in Settings().probe_allow_cidrs] == [
        "10.20.0.0/16",
        "fd12:3456::/48",
        "127.0.0.1/32",
    ]
    monkeypatch.setenv("PRESSPLAY_PROBE_ALLOW_CIDRS", "")
    assert Settings().probe_allow_cidrs == ()
    with pytest.raises(ValueError, match=r"'10\.0\.0\.0/33' is not an address range: write CIDRs"):
        Settings(probe_allow_cidrs="10.0.0.0/33")


# -- bodyPattern on RE2 ------------------------------------------------------------------------------


def test_a_catastrophic_pattern_ends_within_its_bound(server: int) -> None:
    """Attack: `bodyPattern: (a+)+$` on a long body of `a`s backtracked for ever on Python's `re`,
    holding a sidecar thread (and the step's answer). On RE2 the probe ends at once."""
    started = time.monotonic()
    result = probe(http(f"http://127.0.0.1:{server}/big", bodyPattern="(a+)+$"), "re", allow=LOCAL)
    assert time.monotonic() - started < PATTERN_TIME_LIMIT
    assert result.state == "failed" and "body does not match /(a+)+$/" in result.evidence
    started = time.monotonic()
    assert pattern_search("(a+)+$", b"a" * MIB + b"b") is False
    assert pattern_search("(a|aa)+$", b"a" * MIB) is True
    assert time.monotonic() - started < PATTERN_TIME_LIMIT


def _dfa_hostile_body() -> bytes:
    """Random `a`/`b`: `a[ab]{200}c` has too many DFA states here, so RE2 falls back to its NFA (~0.7 s)."""
    rnd = random.Random(18)
    return bytes(rnd.choice(b"ab") for _ in range(256 * 1024))


def test_a_search_that_outlives_its_limit_answers_without_it() -> None:
    """RE2 is linear, but a large program on a large body still costs: the probe stops waiting at its
    limit (the search cannot be interrupted; a slot bounds how many run at once)."""
    body = _dfa_hostile_body()
    started = time.monotonic()
    assert pattern_search("a[ab]{200}c", body, limit=0.02) is None
    assert time.monotonic() - started < 0.5


def test_the_bound_holds_under_gevent() -> None:
    """With `--worker-class gevent` a threading.Thread is a greenlet, which a C search would hold (the
    whole worker with it): the search runs on a real thread of the hub, other greenlets keep going."""
    script = """
from gevent import monkey
monkey.patch_all()
import random, threading, time
from pressplay.steps.acceptance.probe import pattern_search
rnd = random.Random(18)
body = bytes(rnd.choice(b"ab") for _ in range(256 * 1024))
ticks = []
def tick():
    for _ in range(10):
        ticks.append(1)
        time.sleep(0.005)
ticker = threading.Thread(target=tick)
ticker.start()
started = time.monotonic()
found = pattern_search("a[ab]{200}c", body, limit=0.02)
took = time.monotonic() - started
ticker.join()
assert found is None and took < 0.5 and len(ticks) == 10, (found, took, len(ticks))
assert pattern_search("(a+)+$", b"a" * 100000 + b"b") is False
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        (r"(a)\1", "invalid escape sequence"),
        (r"foo(?=bar)", "invalid perl operator: (?="),
        (r"(?<!x)y", "invalid perl operator"),
        ("a++", "bad repetition operator"),
        ("([", "missing ]"),
        (r"(\pL{1,1000}){1,1000}", "invalid repetition size"),
    ],
)
def test_a_pattern_re2_does_not_accept_is_a_clear_spec_error(pattern: str, words: str) -> None:
    with pytest.raises(SpecError) as err:
        parse_spec(
            {
                "version": 1,
                "criteria": [{"kind": "http", "url": "https://x.example/", "bodyPattern": pattern}],
            }
        )
    text = str(err.value)
    assert "criteria[0] (kind http).bodyPattern: bodyPattern is not a valid RE2 regular expression" in text
    assert words in text and "RE2 syntax" in text


def test_a_pattern_that_compiles_too_large_is_refused() -> None:
    """A pattern whose program is large makes every search slow (time is linear in body x program)."""
    with pytest.raises(
        ValueError, match=r"bodyPattern is too large for RE2 \(\d+ instructions, at most 2000\)"
    ):
        compile_pattern(r"\pL{1,30}")
    with pytest.raises(
        ValueError, match=r"bodyPattern is too large for RE2 \(more than RE2's memory budget\)"
    ):
        compile_pattern(r"\pL{1,500}")
    assert compile_pattern(r'"status":\s*"ok"').search(b'{"status": "ok"}') is not None


def test_the_connection_keeps_the_urls_name_for_host_and_tls() -> None:
    """Connecting to the checked address must not weaken HTTPS: the certificate is verified for the
    URL's name (TLS server name), and the service sees its own Host."""
    from pressplay.steps.acceptance.probe import _target

    dns = Dns({"preview.example": ["127.0.0.1"]})
    direct, headers, extensions = _target("https://Preview.example.:8443/h?x=1#frag", LOCAL, dns)
    assert direct == "https://127.0.0.1:8443/h?x=1"
    assert headers == {"Host": "Preview.example.:8443"}
    assert extensions == {"sni_hostname": "preview.example"}
    direct, headers, extensions = _target("http://[2606:4700::1111]/", (), Dns({}))
    assert (direct, headers, extensions) == ("http://[2606:4700::1111]/", {"Host": "[2606:4700::1111]"}, {})


def test_a_name_that_cannot_resolve_is_pending_not_an_internal_error() -> None:
    """A name IDNA cannot encode made getaddrinfo raise UnicodeError, which is no transport error."""
    result = probe(http(f"http://{'a' * 70}.example/health"), "n")
    assert result.state == "pending"
    assert result.evidence.endswith(": the name does not resolve (yet)")
