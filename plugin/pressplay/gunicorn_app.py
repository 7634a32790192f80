"""``pressplay serve``: the Flask app under gunicorn (gthread workers).

``pressplay serve`` validates the settings, then replaces itself with ``python -m
pressplay.gunicorn_app --bind ... --workers ... --threads ...``: the gunicorn master imports only
gunicorn and this module (no pydantic, no Flask), and each worker builds the app from the same
``PRESSPLAY_*`` environment. That keeps the sidecar's process tree small (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from gunicorn.app.base import BaseApplication


class _PressplayApplication(BaseApplication):  # type: ignore[misc]
    def __init__(self, bind: str, workers: int, threads: int) -> None:
        self.bind = bind
        self.workers = workers
        self.threads = threads
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": self.bind,
            "workers": self.workers,
            "threads": self.threads,
            "worker_class": "gthread",
            # The agent gives a call 30 s; a worker must never be killed before that.
            "timeout": 60,
            "graceful_timeout": 20,
            "keepalive": 30,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "pressplay",
        }
        shm = "/dev/shm"  # noqa: S108 - gunicorn's heartbeat files; the pod's root FS is read-only
        if os.path.isdir(shm):
            options["worker_tmp_dir"] = shm
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from pressplay.server import create_app

        return create_app()  # settings from PRESSPLAY_* (validated by `pressplay serve`)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pressplay-gunicorn", description="use `pressplay serve`")
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--threads", type=int, required=True)
    args = parser.parse_args(argv)
    _PressplayApplication(args.bind, args.workers, args.threads).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
