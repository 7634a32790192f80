"""``python -m tests.engine``: run pressplay's flows on Argo's own engine, on this machine.

    python -m tests.engine build                         # build (or find) the Go binaries
    python -m tests.engine press-play [--tasks FILE] [--json]
    python -m tests.engine deliveries FILE [--json]      # JSON lines {"event", "delivery", "payload"}

See docs/engine.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from tests.engine import build


def _print_result(stack: Any, result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    for wf in result["workflows"]:
        print(stack.get_tree(wf["name"]))
    print("pull requests:")
    for pr in result["pulls"]:
        state = "merged" if pr["merged"] else pr["state"]
        print(f"  {pr['repo']}#{pr['number']}  {state:7}  {pr['head']}  {pr['title']}")


def cmd_build(args: argparse.Namespace) -> int:
    for module in build.MODULES:
        started = time.monotonic()
        result = build.build(module, force=args.force)
        what = "built" if result.built else "cached"
        print(
            f"{module}: {what} in {time.monotonic() - started:.0f}s "
            f"(cold build {result.seconds:.0f}s, max RSS {result.max_rss_mb:.0f} MB) -> {result.out}"
        )
    return 0


def cmd_press_play(args: argparse.Namespace) -> int:
    from tests.engine.stack import Options, Stack

    options = Options(keep=args.keep)
    with Stack(options) as stack:
        if args.tasks:
            stack.seed_tasks(Path(args.tasks))
        names = []
        name = stack.press_play()
        names.append(name)
        stack.wait(name, timeout=args.timeout)
        result = stack.result()
        _print_result(stack, result, args.json)
        ok = all(w["phase"] == "Succeeded" for w in result["workflows"])
    return 0 if ok else 1


def cmd_deliveries(args: argparse.Namespace) -> int:
    from tests.engine.stack import Options, Stack

    lines = [
        json.loads(line) for line in Path(args.file).read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    with Stack(Options(keep=args.keep)) as stack:
        stack.start_events()
        for item in lines:
            stack.deliver(item["event"], item.get("delivery"), item["payload"], timeout=args.timeout)
        result = stack.result()
        _print_result(stack, result, args.json)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.engine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build the Go binaries into the cache")
    b.add_argument("--force", action="store_true")
    p = sub.add_parser("press-play", help="press play on the sample repository and wait for the end")
    p.add_argument("--tasks", help="a tasks.json to seed the repository's backlog with")
    d = sub.add_parser("deliveries", help="deliver GitHub webhooks through the real Sensors")
    d.add_argument("file")
    for cmd in (p, d):
        cmd.add_argument("--json", action="store_true", help="one JSON object on stdout")
        cmd.add_argument("--timeout", type=float, default=1200, help="seconds to wait for each flow")
        cmd.add_argument("--keep", action="store_true", help="keep the work directory (logs, pods)")
    args = parser.parse_args(argv)
    try:
        return {"build": cmd_build, "press-play": cmd_press_play, "deliveries": cmd_deliveries}[args.cmd](
            args
        )
    except build.ToolMissing as err:
        print(f"cannot run the engine: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
