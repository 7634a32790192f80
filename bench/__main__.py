"""One command for every figure: ``.venv/bin/python -m bench`` (from the repository root).

Prints a table per part and writes everything to ``bench/results/latest.json`` (and a timestamped
copy). Parts: ``overhead`` (throughput/latency vs. the baselines), ``footprint`` (cold start, memory),
``matrix`` (memory and throughput per workers x threads), ``economy`` (GitHub rate-limit economy of a
simulated 200-task press-play). Not a test: nothing here asserts a target; the report shows the target
next to each figure.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import REPO, cpu_counters, dump, machine, package_versions, steal_share
from bench.loadgen import find_wrk
from bench.sidecar import Serve

PARTS = ("overhead", "footprint", "matrix", "economy")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"comma-separated parts of {', '.join(PARTS)}"
    )
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per load run (default 8)")
    parser.add_argument("--concurrency", default="16,64", help="client counts (default 16,64)")
    parser.add_argument(
        "--worker-class",
        choices=("gevent", "gthread"),
        default=None,
        help="gunicorn worker class (default: config.py)",
    )
    parser.add_argument("--workers", type=int, default=None, help="pressplay workers (default: config.py)")
    parser.add_argument("--threads", type=int, default=None, help="gthread threads (default: config.py)")
    parser.add_argument(
        "--matrix",
        default="gevent:1,gevent:2,gthread:1x16,gthread:2x8",
        help="gunicorn settings to compare: CLASS[:WORKERS[xTHREADS]], comma-separated",
    )
    parser.add_argument(
        "--tasks", type=int, default=200, help="tasks in the economy simulation (default 200)"
    )
    parser.add_argument(
        "--python-loadgen", action="store_true", help="use the Python load generator, not wrk"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")

    wrk = None if args.python_loadgen else find_wrk()
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "versions": package_versions(["pressplay", "flask", "gunicorn", "werkzeug", "pydantic", "githubkit"]),
        "load_generator": "wrk" if wrk else "python (wrk not found: figures are a lower bound)",
    }
    print(f"machine: {report['machine']['cpu']} x{report['machine']['cores']}, {report['machine']['os']}")
    print(f"load generator: {report['load_generator']}")
    concurrencies = [int(x) for x in args.concurrency.split(",")]
    serve = Serve(args.worker_class, args.workers, args.threads)
    report["serve"] = serve.resolved().label
    print(f"pressplay serve settings: {serve.label}")
    began, counters = time.perf_counter(), cpu_counters()

    if "footprint" in parts:
        from bench.sidecar import footprint

        print("\n== footprint ==")
        report["footprint"] = footprint(serve)

    if "overhead" in parts:
        from bench.sidecar import overhead

        print("\n== sidecar overhead ==")
        polls = {}
        try:
            from bench.economy import poll_304_server

            polls = {
                "poll-304": poll_304_server(serve),
                "poll-304-lean": poll_304_server(serve, lean=True),
            }
        except ImportError as exc:
            print(f"  (poll-304 paths skipped: {exc})")
            report["poll_304_skipped"] = str(exc)
        report["overhead"] = overhead(wrk, args.duration, concurrencies, serve, polls)
        _print_ratios(report["overhead"])

    if "matrix" in parts:
        from bench.sidecar import worker_matrix

        print("\n== workers x threads ==")
        configs = [Serve.parse(c.strip()) for c in args.matrix.split(",") if c.strip()]
        report["matrix"] = worker_matrix(configs, wrk, max(3.0, args.duration / 2))

    if "economy" in parts:
        print("\n== GitHub economy ==")
        try:
            from bench.economy import economy
        except ImportError as exc:
            print(f"  skipped: {exc}")
            report["economy_skipped"] = str(exc)
        else:
            report["economy"] = economy(args.tasks)

    report["elapsed_s"] = round(time.perf_counter() - began, 1)
    report["steal"] = steal_share(counters, cpu_counters())
    print(
        f"\nCPU stolen by the hypervisor during the run: {report['steal']:.1%} (figures from a run with more"
    )
    print("than a few percent measure a slower machine; run again)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dump(args.out, report)
    dump(args.out.with_name(f"bench-{stamp}.json"), report)
    print(f"\nwrote {args.out} ({report['elapsed_s']} s)")
    return 0


def _print_ratios(result: dict[str, Any]) -> None:
    print("\n  path@clients    vs flask-noop (throughput, p99)   vs stdlib   target")
    for key, ratio in result["ratios"].items():
        path = key.split("@")[0]
        target = ">= 1000 req/s" if path.startswith("poll-304") else "flask/path <= 1.5"
        print(
            f"  {key:<15} {ratio['throughput_vs_flask']:>6.2f}x, p99 {ratio['p99_vs_flask']:>5.2f}x"
            f"   (flask/path {ratio['flask_over_path']:.2f})   {ratio['throughput_vs_stdlib']:>6.1f}x   {target}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
