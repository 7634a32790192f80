"""``pressplay github-emulator``: a GitHub for ``pressplay serve --dev``, on this machine.

Starts the test kit's :class:`~pressplay.testing.github_emulator.GitHubEmulator` on 127.0.0.1 with the
repositories asked for (default ``acme/api``, the one the ``--dev`` banner's curl names), prints its
URL, the App id and the path of a ready App private key (a throwaway key made at start, readable by
you alone and deleted at exit), and the ``pressplay serve --dev`` command line that uses them. It
runs until interrupted (Ctrl-C or SIGTERM). The key itself is never printed.
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pressplay github-emulator",
        description="Start the test kit's GitHub emulator on 127.0.0.1 for pressplay serve --dev: prints "
        "its URL, the App id and the path of a ready App private key, and the serve command that uses "
        "them; runs until Ctrl-C. Needs pip install 'pressplay[testing]'. See docs/testing-kit.md.",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--repo",
        action="append",
        default=[],
        metavar="OWNER/NAME",
        help="a repository to create, with the App installed on its owner (repeatable; default acme/api)",
    )
    parser.add_argument("--app-id", type=int, default=424242, help="the emulated App's id (default 424242)")
    parser.add_argument(
        "--ci", choices=("success", "failure"), help="simulate CI (a `build` check) on every push"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(argv) if argv is not None else None)
    repos = args.repo or ["acme/api"]
    bad = [r for r in repos if not _REPO.match(r)]
    if bad:
        print(
            f"pressplay github-emulator: --repo {bad[0]!r}: write owner/name, e.g. acme/api", file=sys.stderr
        )
        return 2
    try:
        from pressplay.testing.github_emulator import GitHubEmulator
    except ImportError as exc:
        print(f"pressplay github-emulator: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        emulator = GitHubEmulator(app_id=args.app_id, port=args.port).start()
    except OSError as exc:
        print(f"pressplay github-emulator: cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr)
        return 2
    try:
        for repo in repos:
            emulator.create_repo(repo)
            if args.ci:
                emulator.simulate_ci(repo, {"build": args.ci})
        print(
            f"GitHub emulator on {emulator.url}\n"
            f"  App id:          {emulator.app_id}\n"
            f"  App private key: {emulator.private_key_file}  (a throwaway key; deleted at exit)\n"
            f"  repositories:    {', '.join(repos)} (the App is installed on each owner)\n\n"
            "In another shell:\n\n"
            f"  pressplay serve --dev --github-api-url {emulator.url} --github-app-id {emulator.app_id} \\\n"
            f"    --github-private-key-file {emulator.private_key_file}\n\n"
            "Ctrl-C stops the emulator.",
            flush=True,
        )
        stop.wait()
    finally:
        emulator.stop()
    print("GitHub emulator stopped", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
