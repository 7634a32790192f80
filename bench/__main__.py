"""One command for every figure: ``.venv/bin/python -m bench`` (from the repository root).

Prints a table per part and writes everything to ``bench/results/latest.json`` (and a timestamped
copy). Parts: ``overhead`` (throughput/latency vs. the baselines), ``footprint`` (cold start, memory),
``matrix`` (memory and throughput per workers x threads), ``economy`` (GitHub rate-limit economy of a
simulated 200-task press-play). Not a test: nothing here asserts a target; the report shows the target
next to each figure.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    cpu_counters,
    dump,
    loadavg,
    machine,
    package_versions,
    pin,
    steal_share,
)
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
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=(os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None,
        help="servers under test on CPU 0, wrk and the GitHub emulator on the others (default: on when "
        "there are 2+ CPUs and taskset), so each server's CPU per request is its own",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "latest.json")
    args = parser.parse_args(argv)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = sorted(set(parts) - set(PARTS))
    if unknown:
        parser.error(f"unknown part(s) {', '.join(unknown)}; choose from {', '.join(PARTS)}")

    wrk = None if args.python_loadgen else find_wrk()
    if args.pin:
        pin("0", f"1-{(os.cpu_count() or 2) - 1}")
    report: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(),
        "versions": package_versions(["pressplay", "flask", "gunicorn", "werkzeug", "pydantic", "githubkit"]),
        "load_generator": "wrk" if wrk else "python (wrk not found: figures are a lower bound)",
        "pinning": "servers on CPU 0; wrk and the GitHub emulator on the others" if args.pin else "none",
    }
    print(f"machine: {report['machine']['cpu']} x{report['machine']['cores']}, {report['machine']['os']}")
    print(f"load generator: {report['load_generator']}; pinning: {report['pinning']}")
    print(f"load average at start: {report['machine']['loadavg_at_start']}")
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
    report["loadavg_at_end"] = loadavg()
    report["targets"] = targets(report)
    print_targets(report)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dump(args.out, report)
    dump(args.out.with_name(f"bench-{stamp}.json"), report)
    print(f"\nwrote {args.out} ({report['elapsed_s']} s)")
    return 0


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every figure of the issue's targets found in ``report``: what, measured, target, passed."""
    rows: list[dict[str, Any]] = []
    for key, ratio in report.get("overhead", {}).get("ratios", {}).items():
        if ratio.get("target") is None or ratio.get("cpu_vs_flask") is None:
            continue
        rows.append(
            {
                "what": f"{key} server CPU / flask-noop's",
                "value": ratio["cpu_vs_flask"],
                "target": f"<= {ratio['target']}x",
                "passed": ratio["passed"],
                "steal": ratio["steal"],
                "floor": ratio.get("floor"),
                "reachable": None if ratio.get("floor") is None else ratio["floor"] <= ratio["target"],
            }
        )
    foot = report.get("footprint")
    if foot:
        goals = foot["targets"]
        rows.append(
            {
                "what": "cold start to the first /healthz 200, median (s)",
                "value": foot["cold_start_s"]["median"],
                "target": f"<= {goals['cold_start_median_s']}",
                "passed": foot["cold_start_s"]["median"] <= goals["cold_start_median_s"],
            }
        )
        rows.append(
            {
                "what": "idle tree RSS (MiB)",
                "value": foot["idle"]["rss_mib"],
                "target": f"<= {goals['idle_rss_mib']} (bare Flask {foot['flask_noop_idle']['rss_mib']} + 8)",
                "passed": foot["idle"]["rss_mib"] <= goals["idle_rss_mib"],
                **_floor(foot, "idle_rss_mib"),
            }
        )
        if foot.get("github_loaded"):
            rows.append(
                {
                    "what": "tree RSS with the GitHub client loaded (MiB)",
                    "value": foot["github_loaded"]["rss_mib"],
                    "target": f"<= {goals['github_loaded_rss_mib']} (bare Flask + 24)",
                    "passed": foot["github_loaded"]["rss_mib"] <= goals["github_loaded_rss_mib"],
                    **_floor(foot, "github_loaded_rss_mib"),
                }
            )
    return rows


def _floor(foot: dict[str, Any], key: str) -> dict[str, Any]:
    """A memory target's floor (bench.floor) and whether the target is above it."""
    floor = foot.get("floors", {}).get(key)
    if floor is None:
        return {}
    return {"floor": floor, "reachable": floor <= foot["targets"][key]}


def print_targets(report: dict[str, Any]) -> None:
    rows = report["targets"]
    if rows:
        print("\n== targets (issue 16) ==")
        for row in rows:
            steal = f"  (steal {row['steal']:.0%})" if row.get("steal") is not None else ""
            verdict = "PASS" if row["passed"] else "FAIL"
            floor = ""
            if row.get("floor") is not None:
                # what pressplay's own code adds over the floor: the part a change here can move
                over = round(float(row["value"]) - float(row["floor"]), 3)
                floor = f"  floor {row['floor']} (+{over} ours)"
                floor += "" if row["reachable"] else ": target below its floor"
            print(f"  {verdict}  {row['what']:<48} {row['value']:>8}  target {row['target']}{steal}{floor}")
        failed = sum(1 for row in rows if not row["passed"])
        below = sum(1 for row in rows if row.get("reachable") is False)
        print(
            f"  {len(rows) - failed} of {len(rows)} targets met; {below} below the floor of the required stack"
        )
        if below:
            print(
                "  (floor: what flask-noop, the round trips through urllib3 or the required imports cost alone;"
            )
            print("   bench/floor.py)")
    print(
        f"\nCPU stolen by the hypervisor during the run: {report['steal']:.1%}; load average at start "
        f"{report['machine']['loadavg_at_start']}, at the end {report['loadavg_at_end']}"
    )
    print("(a run with more than a few percent of steal, or a load above ~1, measured a busier machine)")


if __name__ == "__main__":
    raise SystemExit(main())
