"""``pressplay serve`` under both worker classes, as a real gunicorn process tree.

gthread is the default; under gevent the worker monkey-patches itself after the fork (the master
never imports gevent), and everything the steps use (githubkit/httpx for the App's JWT calls, urllib3
for the installation calls) must work on patched sockets. Both speak TLS to GitHub, as against
api.github.com.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pressplay.testing.github_emulator import GitHubEmulator
from pressplay.testing.sidecar import SidecarProcess

REPO = "acme/api"


@pytest.fixture
def tls_github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator(tls=True) as gh:
        gh.create_repo(REPO, files={"README.md": "# api\n"})
        yield gh


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False).stdout
    return [int(p) for p in out.split()]


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize("worker_class", [None, "gevent", "gthread"])
def test_steps_reach_github_over_tls(
    tls_github: GitHubEmulator, worker_class: str | None, tmp_path: Path
) -> None:
    gh = tls_github
    assert gh.url.startswith("https://") and gh.ca_file is not None
    sha = gh.push(REPO, "pressplay/task-1", {"a.py": "# a\n"}, message="Task 1")
    gh.add_check_run(REPO, sha, "build", status="completed", conclusion="success")
    env = {
        "PRESSPLAY_GITHUB_APP_ID": str(gh.app_id),
        "PRESSPLAY_GITHUB_PRIVATE_KEY_FILE": str(gh.private_key_file),
        "PRESSPLAY_GITHUB_API_URL": gh.url,
        "SSL_CERT_FILE": str(gh.ca_file),  # Python's ssl, urllib3 and httpx all honour it
        "OTEL_TRACES_EXPORTER": "none",
    }
    log = tmp_path / "sidecar.log"
    with SidecarProcess(env=env, worker_class=worker_class, log_path=log) as sidecar:
        result = sidecar.run_step(
            "checks", {"repo": REPO, "ref": sha, "timeout": "5m"}, outputs=["state", "sha"]
        )
        assert sidecar.proc is not None
        master = sidecar.proc.pid
        workers = _children(master)
        assert len(workers) == 1
        master_maps, worker_maps = _maps(master), _maps(workers[0])
    assert result.phase == "Succeeded", (result.message, log.read_text()[-2000:])
    assert result.outputs["state"] == "success" and result.outputs["sha"] == sha
    routes = {r.route for r in gh.requests}
    # the JWT call (githubkit over httpx) and the installation calls (urllib3) both went over TLS
    assert "/repos/{owner}/{repo}/installation" in routes
    assert "/app/installations/{installation_id}/access_tokens" in routes
    assert "/repos/{owner}/{repo}/commits/{ref}/check-runs" in routes
    assert "greenlet" not in master_maps, "the gunicorn master must not load gevent"
    if worker_class == "gevent":
        assert "greenlet" in worker_maps, "the worker runs on gevent"
    else:
        assert "greenlet" not in worker_maps, "the default worker class is gthread"
    assert "RecursionError" not in log.read_text()


def test_unknown_worker_class_is_refused_naming_the_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pressplay", "serve", "--worker-class", "eventlet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--worker-class" in result.stderr and "gevent" in result.stderr
    env_result = subprocess.run(
        [sys.executable, "-m", "pressplay", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "PRESSPLAY_WORKER_CLASS": "sync"},
    )
    assert env_result.returncode == 2
    assert "worker_class" in env_result.stderr and "gevent" in env_result.stderr
    assert "Traceback" not in env_result.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_without_a_token_file_says_so_at_start_and_logs_each_refusal(tmp_path: Path) -> None:
    import httpx

    absent = tmp_path / "argo" / "token"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "PRESSPLAY_TOKEN"}
    env |= {"PRESSPLAY_TOKEN_FILE": str(absent), "OTEL_TRACES_EXPORTER": "none"}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pressplay", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(400):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        reply = httpx.post(
            url + "/api/v1/template.execute",
            content=b"{}",
            headers={"Authorization": "Bearer a-guess-at-the-token", "Content-Type": "application/json"},
        )
        assert reply.status_code == 403 and "does not exist" in reply.json()["error"]
        time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    start = [x for x in lines if x["level"] == "error" and "refused (403)" in x["msg"]]
    assert len(start) == 1, log.read_text()
    assert f"{absent} does not exist" in start[0]["msg"] and "PRESSPLAY_TOKEN_FILE" in start[0]["msg"]
    refused = [x for x in lines if x["msg"].startswith("refused a template.execute call (403)")]
    assert len(refused) == 1 and refused[0]["level"] == "warning"
    assert "does not exist" in refused[0]["msg"] and refused[0]["remote_addr"] == "127.0.0.1"
    assert "a-guess-at-the-token" not in log.read_text()


def test_a_step_that_does_not_import_stops_serve_at_start_naming_its_package(tmp_path: Path) -> None:
    """The worker imports every step in a forked child (it keeps only those it serves): a broken one
    still stops the sidecar at start-up (gunicorn's master halts: App failed to load)."""
    dist = tmp_path / "acme_broken-1.0.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-broken\nVersion: 1.0.0\n")
    (dist / "entry_points.txt").write_text("[pressplay.steps]\nbrokenStep = acme_broken_missing:step\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).parents[1])])}
    env |= {"PRESSPLAY_TOKEN": "t" * 24, "OTEL_TRACES_EXPORTER": "none"}
    done = subprocess.run(
        [sys.executable, "-m", "pressplay", "serve", "--port", str(_free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "step 'brokenStep' of package 'acme-broken' does not import" in done.stderr
    assert "fix or uninstall acme-broken" in done.stderr
