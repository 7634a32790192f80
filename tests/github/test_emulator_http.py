"""The emulator's HTTP front (cheroot): keep-alive like GitHub, correct 304/204/HEAD framing, reset faults,
a worker pool that grows under sleeping handlers, and a stop() that leaves nothing behind."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from pressplay.testing.github_emulator import GitHubEmulator

R = "acme/api"


@pytest.fixture
def gh(github_emulator: GitHubEmulator) -> GitHubEmulator:
    github_emulator.create_repo(R, files={"README.md": "# api\n"})
    github_emulator.push(R, "feature", {"README.md": "# api v2\n"}, message="Feature")
    return github_emulator


@pytest.fixture
def auth(gh: GitHubEmulator) -> dict[str, str]:
    return {"Authorization": f"token {gh.installation_token('acme')}"}


def _port(gh: GitHubEmulator) -> int:
    return int(gh.root_url.rsplit(":", 1)[1])


@pytest.fixture
def conn(gh: GitHubEmulator) -> Iterator[http.client.HTTPConnection]:
    connection = http.client.HTTPConnection("127.0.0.1", _port(gh), timeout=10)
    yield connection
    connection.close()


def _exchange(
    conn: http.client.HTTPConnection, method: str, path: str, headers: dict[str, str]
) -> tuple[http.client.HTTPResponse, bytes]:
    conn.request(method, path, headers=headers)
    response = conn.getresponse()
    return response, response.read()


def test_one_connection_carries_requests_across_304_204_and_head(
    conn: http.client.HTTPConnection, auth: dict[str, str]
) -> None:
    first, body = _exchange(conn, "GET", f"/repos/{R}", auth)
    assert first.status == 200
    assert first.getheader("Content-Length") == str(len(body)) and body.startswith(b"{")
    assert first.getheader("Transfer-Encoding") is None
    assert first.getheader("Connection") is None  # HTTP/1.1: kept alive unless it says close
    sock = conn.sock
    assert sock is not None
    local = sock.getsockname()

    not_modified, body = _exchange(
        conn, "GET", f"/repos/{R}", {**auth, "If-None-Match": first.getheader("ETag", "")}
    )
    assert not_modified.status == 304 and body == b""
    assert not_modified.getheader("Content-Length") is None
    assert not_modified.getheader("Transfer-Encoding") is None
    assert not_modified.getheader("Connection") is None

    head, body = _exchange(conn, "HEAD", f"/repos/{R}", auth)
    assert head.status == 200 and body == b"" and head.getheader("Connection") is None

    deleted, body = _exchange(conn, "DELETE", f"/repos/{R}/git/refs/heads/feature", auth)
    assert deleted.status == 204 and body == b""
    assert deleted.getheader("Content-Length") is None
    assert deleted.getheader("Transfer-Encoding") is None
    assert deleted.getheader("Connection") is None

    after, body = _exchange(conn, "GET", f"/repos/{R}/branches/main", auth)
    assert after.status == 200 and after.getheader("Content-Length") == str(len(body))
    # http.client drops its socket when an answer says "Connection: close": still the same one
    assert conn.sock is sock and sock.getsockname() == local


def test_errors_keep_the_connection_too(conn: http.client.HTTPConnection, auth: dict[str, str]) -> None:
    missing, body = _exchange(conn, "GET", f"/repos/{R}/pulls/999", auth)
    assert missing.status == 404 and missing.getheader("Content-Length") == str(len(body))
    sock = conn.sock
    unauthenticated, _ = _exchange(conn, "GET", f"/repos/{R}", {})
    assert unauthenticated.status == 401
    ok, _ = _exchange(conn, "GET", f"/repos/{R}", auth)
    assert ok.status == 200 and conn.sock is sock


def test_idle_kept_alive_connections_do_not_hold_workers(gh: GitHubEmulator, auth: dict[str, str]) -> None:
    threads_before = threading.active_count()
    connections = [http.client.HTTPConnection("127.0.0.1", _port(gh), timeout=10) for _ in range(30)]
    try:
        for connection in connections:  # more than cheroot's default keep-alive limit (10) and our 16 workers
            response, _ = _exchange(connection, "GET", "/rate_limit", auth)
            assert response.status == 200 and response.getheader("Connection") is None
        assert threading.active_count() == threads_before  # parked in the selector, not on a thread
        socks = [connection.sock for connection in connections]
        for connection in connections:
            response, _ = _exchange(connection, "GET", "/rate_limit", auth)
            assert response.status == 200
        assert [connection.sock for connection in connections] == socks
    finally:
        for connection in connections:
            connection.close()


def test_sleeping_handlers_do_not_starve_other_clients(gh: GitHubEmulator, auth: dict[str, str]) -> None:
    gh.inject_fault(rf"/repos/{R}$", kind="delay", delay=1.0, times=None)
    statuses: list[int] = []

    def call() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", _port(gh), timeout=10)
        try:
            response, _ = _exchange(connection, "GET", f"/repos/{R}", auth)
            statuses.append(response.status)
        finally:
            connection.close()

    callers = [threading.Thread(target=call) for _ in range(24)]  # more than the 16 workers it starts with
    started = time.monotonic()
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()
    assert statuses == [200] * 24
    assert time.monotonic() - started < 1.9  # a fixed pool of 16 would need two rounds of 1 s


def test_reset_fault_is_a_transport_error_and_the_client_recovers(
    gh: GitHubEmulator, auth: dict[str, str]
) -> None:
    gh.inject_fault(r"/branches", kind="reset")
    with httpx.Client(base_url=gh.url, headers=auth) as client:
        assert client.get(f"/repos/{R}").status_code == 200  # a kept-alive connection is in the pool
        with pytest.raises(httpx.TransportError):
            client.get(f"/repos/{R}/branches/main")
        assert client.get(f"/repos/{R}/branches/main").status_code == 200
    assert [r.status for r in gh.requests if r.path.endswith("/branches/main")] == [0, 200]


def test_no_access_log(gh: GitHubEmulator, auth: dict[str, str], capfd: pytest.CaptureFixture[str]) -> None:
    with httpx.Client(base_url=gh.url, headers=auth) as client:
        client.get(f"/repos/{R}")
        client.get("/nowhere")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_stop_closes_connections_frees_the_port_and_joins_threads() -> None:
    threads_before = set(threading.enumerate())
    port = _free_port()
    gh = GitHubEmulator(port=port).start()
    gh.create_repo(R, files={"README.md": "# api\n"})
    kept = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    response, _ = _exchange(
        kept, "GET", "/rate_limit", {"Authorization": f"token {gh.installation_token('acme')}"}
    )
    assert response.status == 200 and kept.sock is not None  # an idle kept-alive connection stays open
    assert len(set(threading.enumerate()) - threads_before) >= 17  # serving thread + 16 workers

    started = time.monotonic()
    gh.stop()
    assert time.monotonic() - started < 3
    assert set(threading.enumerate()) <= threads_before
    assert kept.sock.recv(1) == b""  # the server closed the idle connection
    kept.close()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    with GitHubEmulator(port=port) as again:  # the same port serves again right away
        assert again.url == f"http://127.0.0.1:{port}"
    assert set(threading.enumerate()) <= threads_before
