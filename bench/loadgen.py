"""Load generation: ``wrk`` when it is installed (installed on demand on Debian), else a Python fallback.

Both drive N keep-alive connections (N = the concurrency) that POST one fixed body back to back for a
fixed duration, and report throughput, latency percentiles and the number of non-2xx answers.
The Python fallback shares the 2 cores with the server under test and its own GIL, so its figures are
a *lower bound*; the report says which generator produced each figure.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.common import pinned

_MARK = "BENCHJSON "

_LUA = """
wrk.method = "POST"
wrk.path = "%(path)s"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
%(auth)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%(mark)s{"requests":%%d,"duration_us":%%d,"connect":%%d,"read":%%d,"write":%%d,"status":%%d,'
    .. '"timeout":%%d,"p50_us":%%d,"p90_us":%%d,"p99_us":%%d,"max_us":%%d,"mean_us":%%.1f}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass
class LoadResult:
    generator: str
    concurrency: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    notes: list[str] = field(default_factory=list)
    #: CPU time (user + system) the server's process tree spent per answered request, in ms
    server_cpu_ms: float | None = None
    #: for the poll paths: CPU the GitHub emulator (in the benchmark's own process) spent per request
    emulator_cpu_ms: float | None = None
    #: share of the machine's CPU time stolen by the hypervisor during the run (see common.steal_share)
    steal: float | None = None
    #: /proc/loadavg (1, 5, 15 min) when the run ended: other work on the machine shows here
    load: list[float] | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def find_wrk(install: bool = True) -> str | None:
    """The wrk binary; on Debian/Ubuntu as root, install it with apt-get when missing."""
    found = shutil.which("wrk")
    if found or not install:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=300)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True, timeout=300
        )
    return shutil.which("wrk")


def run_wrk(
    wrk: str,
    port: int,
    path: str,
    body: bytes,
    token: str | None,
    concurrency: int,
    duration_s: float,
    threads: int = 2,
) -> LoadResult:
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    script = _LUA % {"path": path, "body": body.decode(), "auth": auth, "mark": _MARK}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        lua = handle.name
    try:
        proc = subprocess.run(
            pinned(
                [
                    wrk,
                    f"-t{min(threads, concurrency)}",
                    f"-c{concurrency}",
                    f"-d{duration_s:g}s",
                    "--timeout",
                    "30s",
                    "-s",
                    lua,
                    f"http://127.0.0.1:{port}",
                ],
                "client",
            ),
            capture_output=True,
            text=True,
            timeout=duration_s + 60,
            check=True,
        )
    finally:
        Path(lua).unlink(missing_ok=True)
    line = next(x for x in proc.stdout.splitlines() if x.startswith(_MARK))
    data = json.loads(line[len(_MARK) :])
    seconds = data["duration_us"] / 1e6
    return LoadResult(
        generator="wrk",
        concurrency=concurrency,
        duration_s=round(seconds, 2),
        requests=data["requests"],
        rps=round(data["requests"] / seconds, 1),
        p50_ms=round(data["p50_us"] / 1000, 2),
        p90_ms=round(data["p90_us"] / 1000, 2),
        p99_ms=round(data["p99_us"] / 1000, 2),
        max_ms=round(data["max_us"] / 1000, 2),
        non_2xx=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
    )


def run_python(
    port: int, path: str, body: bytes, token: str | None, concurrency: int, duration_s: float
) -> LoadResult:
    """Fallback: ``concurrency`` threads, each one keep-alive connection (reconnecting when closed)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    bad = [0] * concurrency
    errors = [0] * concurrency
    stop_at = time.perf_counter() + duration_s

    def worker(i: int) -> None:
        conn: http.client.HTTPConnection | None = None
        while time.perf_counter() < stop_at:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            t0 = time.perf_counter()
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                latencies[i].append(time.perf_counter() - t0)
                if not 200 <= resp.status < 300:
                    bad[i] += 1
                if resp.will_close:
                    conn.close()
                    conn = None
            except OSError:
                errors[i] += 1
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    started = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=duration_s + 60)
    seconds = time.perf_counter() - started
    every = sorted(x for chunk in latencies for x in chunk)

    def pct(q: float) -> float:
        if not every:
            return 0.0
        return round(every[min(len(every) - 1, int(q * len(every)))] * 1000, 2)

    return LoadResult(
        generator="python",
        concurrency=concurrency,
        duration_s=round(seconds, 2),
        requests=len(every),
        rps=round(len(every) / seconds, 1),
        p50_ms=pct(0.50),
        p90_ms=pct(0.90),
        p99_ms=pct(0.99),
        max_ms=round(every[-1] * 1000, 2) if every else 0.0,
        non_2xx=sum(bad),
        socket_errors=sum(errors),
        notes=[
            "python load generator (wrk unavailable): shares the CPU and a GIL, figures are a lower bound"
        ],
    )


def load(
    port: int,
    path: str,
    body: bytes,
    token: str | None,
    concurrency: int,
    duration_s: float,
    wrk: str | None,
) -> LoadResult:
    if wrk:
        return run_wrk(wrk, port, path, body, token, concurrency, duration_s)
    return run_python(port, path, body, token, concurrency, duration_s)
