"""The floors under issue 16's targets: what the sidecar's required stack costs before any of its code.

A target is only worth chasing when it is above its floor. Two floors are measured here, each on the
machine and in the run that measures the target, so a target below its floor is named as unreachable
with that stack instead of being reported as one more miss:

- **CPU of a poll.** A ``checks`` poll is a whole request (what flask-noop costs) plus one or two
  conditional GETs to GitHub through urllib3 (the HTTP library the brief prescribes). The client side
  of one such round trip is measured alone, single-threaded and pinned like the sidecar, with the
  poll's own URL, token, headers and ETag, against a replay of the run's GitHub emulator's exact 304
  answer (served from the other CPUs, so nothing is waited for but the loopback); the figure is the
  least of five batches. pressplay's code is not in it. ``floor = (flask-noop + k × round trip) /
  flask-noop``, k the GitHub requests of one poll. A raw socket sending the same bytes and reading
  the same answer is measured too: the floor of *any* HTTP client in Python.
- **Memory of a worker.** A fresh interpreter with gunicorn's gthread worker and Flask loaded (bare
  Flask's worker) is measured, then after importing what the sidecar cannot run without: pydantic with
  one model built (its wire and settings models), and, once it has called GitHub, urllib3, githubkit
  (the App's calls), cryptography and PyJWT (the App's key and its JWT). Imports only, no key loaded
  and nothing signed: a lower bound.

``python -m bench.floor round-trip`` (the URL and headers as JSON on stdin: the headers hold a token)
and ``python -m bench.floor imports`` are the measuring children (JSON on stdout); :func:`round_trip`
and :func:`import_costs` start them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from bench.common import pinned

#: Round trips timed per figure (after 10 % as many to warm up).
ROUND_TRIPS = 3000

_LENGTH = re.compile(rb"(?im)^content-length:\s*(\d+)\s*$")

#: What a bare Flask worker holds: the baseline the memory floor starts from.
BASE_IMPORTS = ("gunicorn.app.base", "gunicorn.workers.gthread", "flask")
#: Imported, with one model built, in every worker of the sidecar (the wire and settings models).
IDLE_IMPORTS = ("pydantic",)
#: Imported once a worker has called GitHub: the installation pool, the App's client and its key's library.
LOADED_IMPORTS = ("urllib3", "githubkit", "cryptography.hazmat.primitives.serialization", "jwt")


def _rss_mib() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _timed(call: Callable[[], object], n: int, batches: int = 5) -> float:
    """Microseconds of this process's CPU per ``call`` (after a warm-up): the least of ``batches``
    batches of ``n / batches`` calls, as ``timeit`` advises, since other guests and processes can only
    add to a batch's time, never take from it."""
    for _ in range(max(1, n // 10)):
        call()
    size = max(1, n // batches)
    best = float("inf")
    for _ in range(batches):
        began = time.process_time()
        for _ in range(size):
            call()
        best = min(best, (time.process_time() - began) / size)
    return best * 1e6


def measure_round_trip(url: str, headers: Mapping[str, str], n: int = ROUND_TRIPS) -> dict[str, Any]:
    """Client CPU per conditional GET of ``url``: through a urllib3 pool built as the sidecar builds
    its installation pool (``GitHubClients``: no retries, redirects followed, kept alive), and through a
    raw kept-alive socket that only sends the request's bytes and reads up to the end of the answer's
    headers (a 304 has no body)."""
    from pressplay.github._client import REQUEST_TIMEOUT, installation_pool

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    pool = installation_pool(f"{parts.scheme}://{parts.netloc}", maxsize=4)
    statuses: set[int] = set()

    def with_urllib3() -> None:
        resp = pool.urlopen("GET", target, headers=dict(headers), redirect=False, preload_content=True)
        statuses.add(resp.status)

    lib_us = _timed(with_urllib3, n)
    pool.close()

    host = parts.hostname or "127.0.0.1"
    request = _request_bytes(target, parts.netloc, headers)
    sock = socket.create_connection((host, parts.port or 80), timeout=REQUEST_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def with_socket() -> None:
        sock.sendall(request)
        statuses.add(int(_read_answer(sock).split(b" ", 2)[1]))

    socket_us = _timed(with_socket, n)
    sock.close()
    return {"urllib3_us": round(lib_us, 1), "socket_us": round(socket_us, 1), "statuses": sorted(statuses)}


def measure_imports() -> dict[str, float]:
    """RSS of a fresh interpreter: with bare Flask's worker loaded, then + pydantic and one model, then
    + what a worker that called GitHub imports (MiB)."""
    import importlib

    for name in BASE_IMPORTS:
        importlib.import_module(name)
    base = _rss_mib()
    for name in IDLE_IMPORTS:
        importlib.import_module(name)
    from pydantic import BaseModel

    class _One(BaseModel):
        name: str
        count: int = 0

    _One.model_validate_json(b'{"name": "x", "count": 1}')
    idle = _rss_mib()
    for name in LOADED_IMPORTS:
        importlib.import_module(name)
    loaded = _rss_mib()
    return {
        "flask_worker_mib": round(base, 1),
        "pydantic_mib": round(idle - base, 1),
        "github_stack_mib": round(loaded - idle, 1),
    }


def _child(argv: Sequence[str], role: str, stdin: str = "") -> dict[str, Any]:
    out = subprocess.run(
        pinned([sys.executable, "-m", "bench.floor", *argv], role),
        input=stdin,
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _read_answer(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 answer from a kept-alive ``sock``: its headers and ``Content-Length`` bytes."""

    def more(data: bytes) -> bytes:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return data + chunk

    answer = more(b"")
    while b"\r\n\r\n" not in answer:
        answer = more(answer)
    head, _, body = answer.partition(b"\r\n\r\n")
    length = _LENGTH.search(head)
    while length is not None and len(body) < int(length.group(1)):
        body = more(body)
    return head + b"\r\n\r\n" + body


def _request_bytes(target: str, netloc: str, headers: Mapping[str, str]) -> bytes:
    raw = f"GET {target} HTTP/1.1\r\nHost: {netloc}\r\n"
    raw += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return (raw + "\r\n").encode()


def capture_answer(url: str, headers: Mapping[str, str]) -> bytes:
    """The exact bytes ``url`` answers to one GET with ``headers`` (a kept-alive HTTP/1.1 answer)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
        sock.sendall(_request_bytes(target, parts.netloc, headers))
        return _read_answer(sock)


def replay(answer: bytes) -> None:
    """Serve ``answer`` to every request on a free 127.0.0.1 port (printed first), a thread per
    connection, until stdin closes: the fastest server the client can have, so the round trip timed
    against it is the client's own cost."""

    def serve(conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pending = b""
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                pending += data
                while b"\r\n\r\n" in pending:
                    _, _, pending = pending.partition(b"\r\n\r\n")
                    conn.sendall(answer)

    listener = socket.create_server(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)

    def accept() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    sys.stdin.read()  # the parent closes stdin (or dies): stop
    listener.close()


def round_trip(url: str, headers: Mapping[str, str], n: int = ROUND_TRIPS) -> dict[str, Any]:
    """:func:`measure_round_trip` in a child pinned to the servers' CPUs (``bench.common.pin``),
    against a replay of what ``url`` answers (served from the client's CPUs): the client side alone,
    with nothing waited for but the loopback."""
    answer = capture_answer(url, headers)
    server = subprocess.Popen(
        pinned([sys.executable, "-m", "bench.floor", "replay"], "client"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write(len(answer).to_bytes(4, "big") + answer)
        server.stdin.flush()
        port = int(server.stdout.readline())
        parts = urlsplit(url)
        local = f"http://127.0.0.1:{port}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        measured = _child(
            ["round-trip"], "server", json.dumps({"url": local, "headers": dict(headers), "n": n})
        )
    finally:
        if server.stdin is not None:
            server.stdin.close()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    measured["answer_bytes"] = len(answer)
    return measured


def import_costs() -> dict[str, float]:
    """:func:`measure_imports` in a fresh interpreter."""
    return _child(["imports"], "server")


def cpu_floor(flask_ms: float, round_trip_us: float, requests_per_poll: float) -> float:
    """The least a poll's CPU can be, as a multiple of flask-noop's: a whole request plus its round
    trips, with none of pressplay's own code."""
    return round((flask_ms + requests_per_poll * round_trip_us / 1000) / flask_ms, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser(
        "round-trip", help='client CPU per conditional GET; stdin: {"url": ..., "headers": {...}, "n": ...}'
    )
    sub.add_parser("imports", help="RSS of the worker's required imports")
    sub.add_parser("replay", help="serve the answer on stdin (4-byte length, bytes) to every request")
    args = parser.parse_args(argv)
    if args.what == "imports":
        print(json.dumps(measure_imports()))
        return 0
    if args.what == "replay":
        size = int.from_bytes(sys.stdin.buffer.read(4), "big")
        replay(sys.stdin.buffer.read(size))
        return 0
    spec = json.load(sys.stdin)
    print(json.dumps(measure_round_trip(spec["url"], spec["headers"], int(spec.get("n", ROUND_TRIPS)))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
