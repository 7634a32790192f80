"""Shared helpers of the benchmark: free ports, server processes, process-tree memory, machine facts.

Everything here talks to 127.0.0.1 only and stops what it starts (process groups, bounded waits).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
EXECUTE_PATH = "/api/v1/template.execute"

#: CPU pinning of a run (``python -m bench --pin``): the servers under test on ``server`` cores, the
#: load generator and the GitHub emulator (this process) on ``client`` cores, so a server's CPU per
#: request is its own and does not compete with the load it answers. Empty: no pinning.
PINNING: dict[str, str] = {"server": "", "client": ""}


def pin(server: str, client: str) -> None:
    """Pin the servers started from now on to the CPUs ``server`` (taskset list syntax, e.g. ``"0"``)
    and this process (the GitHub emulator) and the load generator to ``client``."""
    PINNING.update(server=server, client=client)
    if client and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, _cpu_list(client))


def _cpu_list(text: str) -> set[int]:
    cpus: set[int] = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def pinned(argv: Sequence[str], role: str) -> list[str]:
    """``argv`` run under ``taskset -c`` on the CPUs of ``role`` (``server`` or ``client``), if pinned."""
    cpus = PINNING.get(role, "")
    if not cpus:
        return list(argv)
    taskset = shutil.which("taskset")
    if taskset is None:
        raise RuntimeError("--pin needs taskset (util-linux); install it or run with --no-pin")
    return [taskset, "-c", cpus, *argv]


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on a shared machine shows here)."""
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_call(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 5.0,
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_healthy(
    port: int, path: str, deadline_s: float, proc: subprocess.Popen[bytes] | None = None
) -> float:
    """Poll ``path`` every 5 ms until it answers 200; the seconds waited. Raises on timeout or exit."""
    start = time.perf_counter()
    while time.perf_counter() - start < deadline_s:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {path}")
        try:
            status, _ = http_call(port, "GET", path, timeout=1.0)
            if status == 200:
                return time.perf_counter() - start
        except OSError:
            pass
        time.sleep(0.005)
    raise TimeoutError(f"no 200 from 127.0.0.1:{port}{path} within {deadline_s}s")


@dataclass
class Server:
    """A server subprocess in its own process group; killed (group-wide) on exit."""

    name: str
    argv: Sequence[str]
    port: int
    env: Mapping[str, str] = field(default_factory=dict)
    health_path: str = "/healthz"
    health_method: str = "GET"
    proc: subprocess.Popen[bytes] | None = None
    startup_s: float = 0.0
    log_path: Path | None = None

    def start(self, deadline_s: float = 30.0) -> Server:
        env = {**os.environ, **self.env}
        log = open(self.log_path, "wb") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            pinned(self.argv, "server"), cwd=REPO, env=env, stdout=log, stderr=log, start_new_session=True
        )
        if self.health_method == "GET":
            wait_healthy(self.port, self.health_path, deadline_s, self.proc)
        else:
            _wait_listening(self.port, deadline_s, self.proc)
        self.startup_s = time.perf_counter() - started
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _wait_listening(port: int, deadline_s: float, proc: subprocess.Popen[bytes]) -> None:
    start = time.perf_counter()
    while time.perf_counter() - start < deadline_s:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.005)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} within {deadline_s}s")


# --- memory of a process tree ----------------------------------------------------------------


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    with contextlib.suppress(OSError):
        for task in task_dir.iterdir():
            with contextlib.suppress(OSError):
                kids.extend(int(x) for x in (task / "children").read_text().split())
    return kids


def process_tree(pid: int) -> list[int]:
    seen: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.append(current)
        todo.extend(_children(current))
    return seen


def _rollup(pid: int) -> dict[str, int]:
    """kB figures from /proc/<pid>/smaps_rollup (Rss, Pss, ...)."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[-1] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants that are alive."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in process_tree(pid):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def cpu_counters() -> tuple[int, int]:
    """(steal, total) jiffies of all CPUs from /proc/stat; (0, 0) where there is none."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0, 0
    steal = fields[7] if len(fields) > 7 else 0
    return steal, sum(fields[:8])


def steal_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    """Share (0..1) of the machine's CPU time the hypervisor gave to other guests between two reads:
    a run with a high share measured a slower machine, not a slower server."""
    total = after[1] - before[1]
    return round((after[0] - before[0]) / total, 3) if total > 0 else 0.0


def tree_memory(pid: int) -> dict[str, Any]:
    """RSS and PSS (MiB) of ``pid`` and all its descendants, and the process count."""
    pids = process_tree(pid)
    rss = pss = 0
    for p in pids:
        roll = _rollup(p)
        rss += roll.get("Rss", 0)
        pss += roll.get("Pss", 0)
    return {"processes": len(pids), "rss_mib": round(rss / 1024, 1), "pss_mib": round(pss / 1024, 1)}


# --- the machine -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    load = os.getloadavg()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _os_name(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


def _os_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.system()


def package_versions(names: Sequence[str]) -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "absent"
    return found


def dump(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
