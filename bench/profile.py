"""Where a request's CPU goes: py-spy samples the real ``pressplay serve`` worker under wrk load.

``python -m bench.profile`` (from the repository root) starts the sidecar pinned like ``python -m
bench --pin`` does (server on CPU 0; wrk and, for the poll paths, the GitHub emulator on the others),
loads one path (``poll-304`` by default) for ``--duration`` seconds while py-spy records the worker's
stacks, and prints one table: each cost the issue names, its share of the samples and the CPU it
stands for per request (its share of the worker's measured CPU per request).

A sample is charged to the innermost frame that belongs to a known layer (the table's rows); frames of
general-purpose modules (``socket``, ``threading``, ``re``, ``urllib.parse``, ``pathlib``...) are
transparent and charged to whoever called them, so ``socket.recv`` under gunicorn is request parsing
and under urllib3 a GitHub round trip. py-spy is a development dependency (``pip install -e
'.[dev]'``); it needs ptrace on the worker, which root or ``CAP_SYS_PTRACE`` gives.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from bench.common import EXECUTE_PATH, REPO, VENV_BIN, dump, loadavg, pin, process_tree, tree_cpu_s
from bench.loadgen import find_wrk, load
from bench.sidecar import NOT_MINE, Serve, bad_args_body, check_answer, pressplay_server

#: (row, test on a frame's "function (file)" text). The first row whose test matches the innermost
#: non-transparent frame takes the sample. Order matters only between rows that could both match.
LAYERS: list[tuple[str, Callable[[str, str], bool]]] = [
    ("JSON (decode/encode)", lambda fn, f: "/json/" in f or fn in ("_loads", "_decode", "jsonify")),
    ("logging", lambda fn, f: "/logging/" in f or "JsonFormatter" in fn),
    (
        "telemetry (OTEL spans, metrics)",
        lambda fn, f: "opentelemetry" in f or f.endswith("pressplay/telemetry.py"),
    ),
    (
        "urllib3 + http.client (GitHub round trips)",
        lambda fn, f: "urllib3/" in f or f.endswith("http/client.py") or "_as_installation" in fn,
    ),
    ("wire and argument models (pydantic)", lambda fn, f: "pydantic" in f),
    (
        "token and ETag caches",
        lambda fn, f: (
            any(
                name in fn for name in ("_token", "_EtagCache", "installation_id", "RepoClient.get", " get (")
            )
            and "github/_client.py" in f
        ),
    ),
    (
        "client construction (clients_for, repo clients)",
        lambda fn, f: (
            any(
                name in fn
                for name in ("clients_for", "_settings_key", "ScopedGitHub", "RepoClient.__init__", "repo (")
            )
            or (fn.startswith("github (") and "steps/base.py" in f)
            or ("types.py" in f and "_check_repo" in fn)
        ),
    ),
    ("GitHub client (_send: routes, errors, rate)", lambda fn, f: "pressplay/github/" in f),
    ("the step (checks: evaluate, wait)", lambda fn, f: "pressplay/steps/" in f and "execute.py" not in f),
    (
        "sidecar: auth, routing, execute, reply",
        lambda fn, f: any(p in f for p in ("pressplay/server.py", "pressplay/wire.py", "steps/execute.py")),
    ),
    ("Flask and Werkzeug (request, response)", lambda fn, f: "flask/" in f or "werkzeug/" in f),
    ("gunicorn (HTTP parsing, worker)", lambda fn, f: "gunicorn/" in f),
]
OTHER = "other (threads, interpreter)"


def _frames(stack: str) -> list[tuple[str, str]]:
    """A raw py-spy stack (``fn (file:line);...`` root first) as (function, file) pairs, leaf first."""
    frames = []
    for frame in reversed(stack.split(";")):
        fn, _, rest = frame.partition(" (")
        frames.append((fn.strip(), rest.rsplit(":", 1)[0].rstrip(")")))
    return frames


def classify(stack: str) -> str:
    for fn, path in _frames(stack):
        label = f"{fn} ({path}"
        for row, test in LAYERS:
            if test(label, path):
                return row
    return OTHER


def summarise(raw: str) -> Counter[str]:
    """Samples per layer from py-spy's raw (collapsed) output: ``stack count`` per line."""
    totals: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            totals[classify(stack)] += int(count)
    return totals


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return -1
    return int(fields[11]) + int(fields[12])  # utime + stime


def _worker(pid: int) -> int:
    """The gunicorn worker: of the master's descendants, the one that has spent the most CPU (call it
    after a warm-up; the short-lived step-check child of ``check_steps_apart`` is not it)."""
    tree = process_tree(pid)
    if len(tree) < 2:
        raise RuntimeError("the gunicorn worker is not up")
    return max(tree[1:], key=_cpu_ticks)


@contextmanager
def _cheap(path: str, serve: Serve, token: str) -> Iterator[tuple[Any, bytes]]:
    body = NOT_MINE if path == "not-mine" else bad_args_body()[0]
    with pressplay_server(token, serve) as srv:
        check_answer(srv.port, body, token, lambda s, d: s == 200, path)
        yield srv, body


def profile(
    path: str,
    duration_s: float,
    concurrency: int,
    rate: int,
    out: Path | None,
    serve: Serve,
    gil: bool = True,
) -> dict[str, Any]:
    spy = shutil.which("py-spy", path=str(VENV_BIN)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install -e '.[dev]'")
    wrk = find_wrk()
    token = secrets.token_urlsafe(24)
    factory: AbstractContextManager[Any]
    if path.startswith("poll-304"):
        from bench.economy import poll_304_server

        factory = poll_304_server(serve, lean=path == "poll-304-lean")(token)
    else:
        factory = _cheap(path, serve, token)
    with factory as entered:
        srv, body = entered[0], entered[1]
        assert srv.proc is not None
        load(srv.port, EXECUTE_PATH, body, token, 8, 2.0, wrk)  # warm-up
        worker = _worker(srv.proc.pid)
        with tempfile.TemporaryDirectory() as tmp:
            raw_path = Path(tmp) / "raw.txt"
            spy_proc = subprocess.Popen(
                [spy, "record", "--pid", str(worker), "--format", "raw", "--rate", str(rate)]
                + ["--gil"] * gil
                + ["--nonblocking", "--duration", str(int(duration_s)), "--output", str(raw_path)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            time.sleep(0.5)  # py-spy attaches
            cpu0 = tree_cpu_s(worker)
            result_box: dict[str, Any] = {}

            def drive() -> None:
                result_box["load"] = load(
                    srv.port, EXECUTE_PATH, body, token, concurrency, duration_s - 1.0, wrk
                )

            driver = threading.Thread(target=drive)
            driver.start()
            driver.join()
            cpu1 = tree_cpu_s(worker)
            _, err = spy_proc.communicate(timeout=duration_s + 30)
            if not raw_path.exists():
                raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
            raw = raw_path.read_text()
            if out is not None:
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(raw)
    res = result_box["load"]
    per_request_ms = (cpu1 - cpu0) * 1000 / max(1, res.requests)
    totals = summarise(raw)
    samples = sum(totals.values())
    rows = [
        {
            "layer": layer,
            "share": round(count / samples, 3),
            "ms_per_request": round(per_request_ms * count / samples, 3),
        }
        for layer, count in totals.most_common()
    ]
    return {
        "path": path,
        "serve": serve.resolved().label,
        "concurrency": concurrency,
        "requests": res.requests,
        "rps": res.rps,
        "worker_cpu_ms_per_request": round(per_request_ms, 3),
        "samples": samples,
        "load": loadavg(),
        "rows": rows,
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"\n{result['path']} ({result['serve']}, {result['concurrency']} clients): {result['rps']} req/s, "
        f"worker CPU {result['worker_cpu_ms_per_request']} ms/request, {result['samples']} samples, "
        f"load {result['load']}"
    )
    print(f"  {'cost':<46} {'share':>6} {'ms/req':>7}")
    for row in result["rows"]:
        print(f"  {row['layer']:<46} {row['share']:>6.1%} {row['ms_per_request']:>7.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--path",
        default="poll-304",
        help="comma-separated: not-mine, bad-args, poll-304, poll-304-lean (default poll-304)",
    )
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--raw", type=Path, default=None, help="keep py-spy's raw stacks in this folder")
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument(
        "--gil",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="sample only the thread holding the GIL (default): the 15 others of a gthread worker wait "
        "for it in socket calls, which is not CPU spent on their requests",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "profile.json")
    args = parser.parse_args(argv)
    if not args.no_pin:
        pin("0", "1")
    results = []
    for path in [p.strip() for p in args.path.split(",") if p.strip()]:
        raw = args.raw / f"{path}.txt" if args.raw else None
        result = profile(path, args.duration, args.concurrency, args.rate, raw, Serve(), args.gil)
        print_table(result)
        results.append(result)
    dump(args.out, results)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["classify", "json", "profile", "summarise"]
