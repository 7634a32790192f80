"""``pressplay serve``: the Flask app under gunicorn (gthread workers), configured from Settings."""

from __future__ import annotations

import os
from typing import Any

from gunicorn.app.base import BaseApplication

from pressplay.config import Settings


class _PressplayApplication(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        s = self.settings
        options: dict[str, Any] = {
            "bind": f"{s.host}:{s.port}",
            "workers": s.workers,
            "threads": s.threads,
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

        return create_app(self.settings)


def serve(settings: Settings) -> int:
    _PressplayApplication(settings).run()
    return 0
