"""Sidecar overhead and footprint, measured side by side with two baselines in one run.

Servers (all on 127.0.0.1, a free port each, started and stopped here):
- ``pressplay``: the real ``pressplay serve`` (gunicorn gthread, default workers/threads unless overridden);
- ``flask-noop``: a bare Flask app answering ``{}``, under gunicorn with the *same* worker settings;
- ``stdlib``: a standard-library ``http.server`` plugin built like Argo's Python example.

Paths measured on pressplay: ``not-mine`` (another plugin's template → ``{}``), ``bad-args`` (our key,
arguments that fail validation → Failed with the reason) and, when the GitHub emulator and the ``checks``
step are present, ``poll-304`` (a real ``checks`` poll on an unchanged ref, answered 304 by the emulator).
"""

from __future__ import annotations

import importlib.util
import json
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

from bench.common import (
    EXECUTE_PATH,
    REPO,
    VENV_BIN,
    Server,
    cpu_counters,
    free_port,
    http_call,
    loadavg,
    steal_share,
    tree_cpu_s,
    tree_memory,
)
from bench.floor import cpu_floor, import_costs
from bench.loadgen import LoadResult, load

WORKFLOW = {
    "metadata": {"name": "bench-7x2kq", "namespace": "argo", "uid": "3b0c6a52-9d3e-4f55-a1f0-0c2f4f6e9b11"}
}


def request_body(plugin: dict[str, Any], outputs: list[str] | None = None) -> bytes:
    template = {
        "name": "bench",
        "inputs": {},
        "outputs": {"parameters": [{"name": n, "valueFrom": {"supplied": {}}} for n in outputs or []]},
        "metadata": {},
        "plugin": plugin,
    }
    return json.dumps({"workflow": WORKFLOW, "template": template}, separators=(",", ":")).encode()


#: The issue's targets: a path's server CPU per request at most this many times flask-noop's, in the
#: same run, under the same gunicorn settings.
CPU_TARGETS = {"not-mine": 1.2, "bad-args": 1.5, "poll-304": 2.0, "poll-304-lean": 1.75}
#: ... the idle process tree's RSS at most bare Flask's + this many MiB; with the GitHub client loaded,
#: + ``LOADED_RSS_MARGIN_MIB``; and the cold start to the first /healthz 200 (median) at most this.
IDLE_RSS_MARGIN_MIB = 8.0
LOADED_RSS_MARGIN_MIB = 24.0
COLD_START_S = 0.5

NOT_MINE = request_body({"slack": {"channel": "#builds", "text": "hello"}})


def bad_args_body() -> tuple[bytes, str]:
    """Our key with arguments that fail validation (a real step's model when it is installed)."""
    if importlib.util.find_spec("pressplay.steps.checks") is not None:
        return (
            request_body({"pressplay": {"checks": {"repo": "acme/api", "ref": "main", "timout": "10m"}}}),
            "checks with a misspelt argument",
        )
    return request_body({"pressplay": {"checks": {}, "comment": {}}}), "two step keys in one template"


def has_cli_serve() -> bool:
    try:
        from pressplay import cli  # noqa: F401
    except ImportError:
        return False
    return (VENV_BIN / "pressplay").exists()


@dataclass(frozen=True)
class Serve:
    """gunicorn settings of a server under test; ``None`` fields take pressplay's defaults (config.py)."""

    worker_class: str | None = None
    workers: int | None = None
    threads: int | None = None

    def resolved(self) -> Serve:
        if self.worker_class and self.workers and self.threads:
            return self
        from pressplay.config import Settings

        defaults = Settings()
        return Serve(
            self.worker_class or defaults.worker_class,
            self.workers or defaults.workers,
            self.threads or defaults.threads,
        )

    @property
    def label(self) -> str:
        r = self.resolved()
        if r.worker_class == "gthread":
            return f"gthread {r.workers}x{r.threads}"
        return f"{r.worker_class} {r.workers} worker{'s' if (r.workers or 1) > 1 else ''}"

    @classmethod
    def parse(cls, text: str) -> Serve:
        """``gevent``, ``gevent:2`` (workers), ``gthread:1x16`` (workers x threads)."""
        kind, _, size = text.partition(":")
        workers, _, threads = size.partition("x")
        return cls(kind or None, int(workers) if workers else None, int(threads) if threads else None)


def pressplay_argv(port: int, serve: Serve) -> list[str]:
    """``pressplay serve`` when the CLI is installed, else the same gunicorn settings by hand."""
    r = serve.resolved()
    if has_cli_serve():
        argv = [str(VENV_BIN / "pressplay"), "serve", "--host", "127.0.0.1", "--port", str(port)]
        argv += [
            "--worker-class",
            str(r.worker_class),
            "--workers",
            str(r.workers),
            "--threads",
            str(r.threads),
        ]
        return argv
    return gunicorn_argv("pressplay.gunicorn_app:load_app()", port, r)


def gunicorn_argv(app: str, port: int, serve: Serve) -> list[str]:
    r = serve.resolved()
    return [
        str(VENV_BIN / "gunicorn"),
        f"--bind=127.0.0.1:{port}",
        f"--workers={r.workers}",
        f"--threads={r.threads}",
        f"--worker-class={r.worker_class}",
        "--worker-connections=64",
        "--timeout=60",
        "--worker-tmp-dir=/dev/shm",
        "--log-level=warning",
        app,
    ]


def pressplay_server(token: str, serve: Serve, extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    env = {
        "PRESSPLAY_TOKEN": token,
        "PRESSPLAY_LOG_LEVEL": "WARNING",
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        **(extra_env or {}),
    }
    return Server("pressplay", pressplay_argv(port, serve), port, env=env)


def flask_server(serve: Serve) -> Server:
    port = free_port()
    return Server("flask-noop", gunicorn_argv("bench.baselines.flask_noop:app", port, serve), port)


def stdlib_server(token: str, keepalive: bool = False) -> Server:
    port = free_port()
    argv = [sys.executable, str(REPO / "bench" / "baselines" / "stdlib_plugin.py"), str(port)]
    env = {"PLUGIN_TOKEN": token, "PLUGIN_KEEPALIVE": "1" if keepalive else "0"}
    return Server("stdlib-keepalive" if keepalive else "stdlib", argv, port, env=env)


@contextmanager
def memory_sampler(pid: int, every_s: float = 0.25) -> Iterator[dict[str, float]]:
    """Track the peak RSS/PSS of a process tree while the block runs."""
    peak = {"rss_mib": 0.0, "pss_mib": 0.0, "processes": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            mem = tree_memory(pid)
            for key in peak:
                peak[key] = max(peak[key], float(mem[key]))
            stop.wait(every_s)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        stop.set()
        thread.join(timeout=5)


def check_answer(
    port: int, body: bytes, token: str | None, expect: Callable[[int, Any], bool], what: str
) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, raw = http_call(port, "POST", EXECUTE_PATH, body, headers, timeout=30)
    data = json.loads(raw) if raw else None
    if not expect(status, data):
        raise AssertionError(f"{what}: unexpected answer {status} {raw[:300]!r}")
    return data


def _measure(
    server: Server,
    body: bytes,
    token: str | None,
    concurrencies: list[int],
    duration_s: float,
    wrk: str | None,
    warmup_s: float,
    in_process_peer: bool = False,
) -> tuple[list[LoadResult], dict[str, float]]:
    """Load runs at each concurrency, with the server tree's CPU per request and (``in_process_peer``:
    the GitHub emulator runs in this process) this process's CPU per request."""
    assert server.proc is not None
    load(server.port, EXECUTE_PATH, body, token, 8, warmup_s, wrk)
    results = []
    with memory_sampler(server.proc.pid) as peak:
        for conc in concurrencies:
            cpu0, own0, st0 = tree_cpu_s(server.proc.pid), time.process_time(), cpu_counters()
            res = load(server.port, EXECUTE_PATH, body, token, conc, duration_s, wrk)
            cpu1, own1, st1 = tree_cpu_s(server.proc.pid), time.process_time(), cpu_counters()
            res.steal = steal_share(st0, st1)
            res.load = loadavg()
            done = max(1, res.requests)
            res.server_cpu_ms = round((cpu1 - cpu0) * 1000 / done, 3)
            if in_process_peer:
                res.emulator_cpu_ms = round((own1 - own0) * 1000 / done, 3)
            results.append(res)
    return results, dict(peak)


def overhead(
    wrk: str | None,
    duration_s: float,
    concurrencies: list[int],
    serve: Serve,
    polls: dict[str, Callable[[str], AbstractContextManager[Any]]] | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The throughput/latency table (and the memory seen under load); flask-noop runs under the same
    gunicorn settings as pressplay."""
    token = secrets.token_urlsafe(24)
    serve = serve.resolved()
    warmup = min(2.0, duration_s / 2)
    runs: dict[str, Any] = {}

    def record(name: str, server_name: str, results: list[LoadResult], extra: dict[str, Any]) -> None:
        for res in results:
            if server_name == "stdlib-keepalive":
                res.notes.append(
                    "one thread: a kept-alive connection holds the server until it closes, the other clients "
                    "wait; every reply stalls ~40 ms (headers and body in two writes: Nagle + delayed ACK)"
                )
            if server_name == "stdlib" and res.generator == "wrk" and res.socket_errors:
                res.notes.append(
                    "wrk counts every reply of this server as a read error: the body ends when the server closes "
                    "the connection (HTTP/1.0, no Content-Length), which is legal; the replies were complete"
                )
            runs[f"{name}@{res.concurrency}"] = {
                "server": server_name,
                "path": name,
                **res.as_dict(),
                **extra,
            }
            cpu = f"  server CPU {res.server_cpu_ms:.3f} ms/req" if res.server_cpu_ms is not None else ""
            if res.emulator_cpu_ms is not None:
                cpu += f", emulator {res.emulator_cpu_ms:.3f}"
            if res.steal is not None:
                cpu += f"  steal {res.steal:.0%}"
            if res.load is not None:
                cpu += f"  load {res.load[0]:.2f}"
            log(
                f"  {name:<12} c={res.concurrency:<3} {res.rps:>8.0f} req/s  p50 {res.p50_ms:>6.1f} ms  "
                f"p99 {res.p99_ms:>6.1f} ms  non-2xx {res.non_2xx}  errors {res.socket_errors}{cpu}"
            )

    log(f"baseline flask-noop (gunicorn {serve.label})")
    with flask_server(serve) as srv:
        check_answer(srv.port, NOT_MINE, None, lambda s, d: s == 200 and d == {}, "flask-noop")
        results, _ = _measure(srv, NOT_MINE, None, concurrencies, duration_s, wrk, warmup)
        record("flask-noop", "flask-noop", results, {})

    for keepalive in (False, True):
        name = "stdlib-keepalive" if keepalive else "stdlib"
        log(f"baseline {name} http.server plugin")
        with stdlib_server(token, keepalive) as srv:
            check_answer(srv.port, NOT_MINE, token, lambda s, d: s == 200 and d == {}, name)
            results, _ = _measure(srv, NOT_MINE, token, concurrencies, duration_s, wrk, warmup)
            record(name, name, results, {})

    bad_body, bad_what = bad_args_body()
    log(f"pressplay serve ({serve.label})")
    memory: dict[str, Any] = {}
    with pressplay_server(token, serve) as srv:
        assert srv.proc is not None
        time.sleep(1.0)
        memory["idle"] = tree_memory(srv.proc.pid)
        check_answer(srv.port, NOT_MINE, token, lambda s, d: s == 200 and d == {}, "not-mine")
        results, peak = _measure(srv, NOT_MINE, token, concurrencies, duration_s, wrk, warmup)
        record("not-mine", "pressplay", results, {})
        memory["under_load_not_mine"] = peak
        reply = check_answer(
            srv.port,
            bad_body,
            token,
            lambda s, d: s == 200 and isinstance(d, dict) and d.get("node", {}).get("phase") == "Failed",
            "bad-args",
        )
        results, peak = _measure(srv, bad_body, token, concurrencies, duration_s, wrk, warmup)
        record(
            "bad-args", "pressplay", results, {"case": bad_what, "message": reply["node"]["message"][:200]}
        )
        memory["under_load_bad_args"] = peak

    floors: dict[str, dict[str, Any]] = {}
    for name, factory in (polls or {}).items():
        log(f"pressplay serve ({serve.label}), {name} against the GitHub emulator")
        with factory(token) as (srv, body, counters, floor):
            results, peak = _measure(
                srv, body, token, concurrencies, duration_s, wrk, warmup, in_process_peer=True
            )
            record(name, "pressplay", results, counters())
            memory[f"under_load_{name}"] = peak
            trip = floor()
            floors[name] = trip
            log(
                f"  floor: one conditional GET's client CPU alone {trip['urllib3_us']:.1f} us with urllib3, "
                f"{trip['socket_us']:.1f} us with a raw socket; {trip['requests_per_poll']} per poll"
            )

    ratios: dict[str, Any] = {}
    for conc in concurrencies:
        base = runs[f"flask-noop@{conc}"]
        std = runs[f"stdlib@{conc}"]
        for path in ("not-mine", "bad-args", *(polls or {})):
            mine = runs.get(f"{path}@{conc}")
            if not mine:
                continue
            cpu_ratio = (
                round(mine["server_cpu_ms"] / base["server_cpu_ms"], 3)
                if mine.get("server_cpu_ms") and base.get("server_cpu_ms")
                else None
            )
            target = CPU_TARGETS.get(path)
            floor_ratio = socket_floor = None
            trip = floors.get(path)
            if trip and base.get("server_cpu_ms"):
                floor_ratio = cpu_floor(base["server_cpu_ms"], trip["urllib3_us"], trip["requests_per_poll"])
                socket_floor = cpu_floor(base["server_cpu_ms"], trip["socket_us"], trip["requests_per_poll"])
            ratios[f"{path}@{conc}"] = {
                "cpu_vs_flask": cpu_ratio,
                "target": target,
                "passed": None if cpu_ratio is None or target is None else cpu_ratio <= target,
                # the least the ratio can be with urllib3 (with any client: socket_floor), bench.floor
                "floor": floor_ratio,
                "socket_floor": socket_floor,
                "flask_over_path": round(base["rps"] / mine["rps"], 3),
                "throughput_vs_flask": round(mine["rps"] / base["rps"], 3),
                "p99_vs_flask": round(mine["p99_ms"] / max(base["p99_ms"], 0.001), 3),
                "throughput_vs_stdlib": round(mine["rps"] / max(std["rps"], 0.001), 2),
                "steal": max(mine.get("steal") or 0.0, base.get("steal") or 0.0),
            }
    return {
        "worker_class": serve.worker_class,
        "workers": serve.workers,
        "threads": serve.threads,
        "runs": runs,
        "ratios": ratios,
        "floors": floors,
        "memory": memory,
    }


def footprint(serve: Serve, starts: int = 5, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Cold start to the first /healthz 200 (median and max of ``starts``) and idle tree memory."""
    token = secrets.token_urlsafe(24)
    serve = serve.resolved()
    times: list[float] = []
    idle: dict[str, Any] = {}
    for _ in range(starts):
        srv = pressplay_server(token, serve)
        with srv:
            times.append(srv.startup_s)
            if not idle:
                assert srv.proc is not None
                time.sleep(1.0)
                _settled(srv.proc.pid, 1 + (serve.workers or 1))
                idle = tree_memory(srv.proc.pid)
    flask_idle: dict[str, Any] = {}
    flask_times: list[float] = []
    for _ in range(starts):
        with flask_server(serve) as fsrv:
            assert fsrv.proc is not None
            flask_times.append(fsrv.startup_s)
            if not flask_idle:
                time.sleep(1.0)
                flask_idle = tree_memory(fsrv.proc.pid)
    loaded = _loaded_memory(serve, token)
    costs = import_costs()
    result = {
        "worker_class": serve.worker_class,
        "workers": serve.workers,
        "threads": serve.threads,
        "python": sys.executable,
        "command": "pressplay serve" if has_cli_serve() else "gunicorn 'pressplay.gunicorn_app:load_app()'",
        "cold_start_s": {
            "median": round(statistics.median(times), 3),
            "max": round(max(times), 3),
            "all": [round(x, 3) for x in times],
        },
        "flask_noop_cold_start_s": {
            "median": round(statistics.median(flask_times), 3),
            "max": round(max(flask_times), 3),
        },
        "idle": idle,
        "flask_noop_idle": flask_idle,
        "github_loaded": loaded,
        "targets": {
            "cold_start_median_s": COLD_START_S,
            "idle_rss_mib": round(flask_idle["rss_mib"] + IDLE_RSS_MARGIN_MIB, 1),
            "github_loaded_rss_mib": round(flask_idle["rss_mib"] + LOADED_RSS_MARGIN_MIB, 1),
        },
        # the least the tree can hold: bare Flask's + what the required libraries add to a worker
        # (bench.floor: imports only, a lower bound)
        "import_costs": costs,
        "floors": {
            "idle_rss_mib": round(flask_idle["rss_mib"] + costs["pydantic_mib"], 1),
            "github_loaded_rss_mib": round(
                flask_idle["rss_mib"] + costs["pydantic_mib"] + costs["github_stack_mib"], 1
            ),
        },
    }
    log(
        f"  cold start median {result['cold_start_s']['median']} s (max {result['cold_start_s']['max']} s; "
        f"bare flask {result['flask_noop_cold_start_s']['median']} s); "
        f"idle tree RSS {idle['rss_mib']} MiB PSS {idle['pss_mib']} MiB ({idle['processes']} processes); "
        f"bare flask tree RSS {flask_idle['rss_mib']} MiB"
        + (f"; with the GitHub client loaded {loaded['rss_mib']} MiB" if loaded else "")
    )
    log(
        f"  floor: pydantic and one model add {costs['pydantic_mib']} MiB to a bare Flask worker, urllib3, "
        f"githubkit and cryptography another {costs['github_stack_mib']} MiB (imports alone)"
    )
    return result


def _settled(pid: int, processes: int, deadline_s: float = 15.0) -> None:
    """Wait until the tree is down to ``processes`` (master and workers): the worker's forked
    step check (gunicorn_app.check_steps_apart) has exited."""
    from bench.common import process_tree

    end = time.monotonic() + deadline_s
    while len(process_tree(pid)) > processes and time.monotonic() < end:
        time.sleep(0.1)


def _loaded_memory(serve: Serve, token: str) -> dict[str, Any] | None:
    """The tree's memory at rest after the poll-304 warm-up polls (the GitHub client loaded, a token
    minted, the ETag cache filled); None without the GitHub emulator."""
    try:
        from bench.economy import poll_304_server
    except ImportError:
        return None
    with poll_304_server(serve)(token) as (srv, _body, _counters, _floor):
        assert srv.proc is not None
        time.sleep(1.0)
        _settled(srv.proc.pid, 1 + (serve.workers or 1))
        return tree_memory(srv.proc.pid)


def worker_matrix(
    configs: list[Serve], wrk: str | None, duration_s: float, log: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Memory and the not-mine/bad-args throughput at 16 clients for a few gunicorn settings."""
    token = secrets.token_urlsafe(24)
    bad_body, _ = bad_args_body()
    rows = []
    for config in configs:
        serve = config.resolved()
        with pressplay_server(token, serve) as srv:
            assert srv.proc is not None
            time.sleep(1.0)
            idle = tree_memory(srv.proc.pid)
            load(srv.port, EXECUTE_PATH, NOT_MINE, token, 8, 1.0, wrk)
            with memory_sampler(srv.proc.pid) as peak:
                nm = load(srv.port, EXECUTE_PATH, NOT_MINE, token, 16, duration_s, wrk)
                ba = load(srv.port, EXECUTE_PATH, bad_body, token, 16, duration_s, wrk)
            row = {
                "serve": serve.label,
                "worker_class": serve.worker_class,
                "workers": serve.workers,
                "threads": serve.threads,
                "startup_s": round(srv.startup_s, 3),
                "idle": idle,
                "peak": dict(peak),
                "not_mine_rps": nm.rps,
                "not_mine_p99_ms": nm.p99_ms,
                "bad_args_rps": ba.rps,
                "bad_args_p99_ms": ba.p99_ms,
            }
        poll = _matrix_poll(serve, token, wrk, duration_s)
        if poll is not None:
            row.update(poll)
        rows.append(row)
        log(
            f"  {serve.label:<16} start {row['startup_s']} s  idle RSS {idle['rss_mib']} MiB PSS {idle['pss_mib']} MiB  "
            f"peak RSS {peak['rss_mib']} MiB  not-mine {nm.rps:.0f} req/s p99 {nm.p99_ms} ms  "
            f"bad-args {ba.rps:.0f} req/s p99 {ba.p99_ms} ms"
            + (
                f"  poll-304 {row['poll_304_rps']:.0f} req/s p99 {row['poll_304_p99_ms']} ms, "
                f"{row['poll_304_server_cpu_ms']} ms CPU/poll, peak RSS {row['poll_304_peak']['rss_mib']} MiB"
                if "poll_304_rps" in row
                else ""
            )
        )
    return rows


def _matrix_poll(serve: Serve, token: str, wrk: str | None, duration_s: float) -> dict[str, Any] | None:
    """The poll-304 path at 16 clients under these settings (None without the GitHub emulator)."""
    try:
        from bench.economy import poll_304_server
    except ImportError:
        return None
    with poll_304_server(serve)(token) as (srv, body, _counters, _floor):
        results, peak = _measure(srv, body, token, [16], duration_s, wrk, 1.0, in_process_peer=True)
    res = results[0]
    return {
        "poll_304_rps": res.rps,
        "poll_304_p99_ms": res.p99_ms,
        "poll_304_server_cpu_ms": res.server_cpu_ms,
        "poll_304_emulator_cpu_ms": res.emulator_cpu_ms,
        "poll_304_steal": res.steal,
        "poll_304_peak": peak,
    }


__all__ = [
    "COLD_START_S",
    "CPU_TARGETS",
    "IDLE_RSS_MARGIN_MIB",
    "LOADED_RSS_MARGIN_MIB",
    "Serve",
    "footprint",
    "overhead",
    "request_body",
    "worker_matrix",
]
