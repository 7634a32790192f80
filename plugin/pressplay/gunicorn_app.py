"""``pressplay serve``: the Flask app under gunicorn (gthread workers by default, gevent on request).

``pressplay serve`` validates the settings, then replaces itself with ``python -m
pressplay.gunicorn_app --bind ... --workers ... --worker-class ...``: the gunicorn master imports only
gunicorn and this module (no pydantic, no Flask, no gevent), and each worker builds the app from the
same ``PRESSPLAY_*`` environment. That keeps the sidecar's process tree small (see docs/performance.md).

The two worker classes (docs/performance.md has the figures): gthread gives each request in flight an
OS thread; it is the default because it starts faster and stays smaller, and an agent's load (at most
16 calls at once, each node requeued every 10 s or more) never needs more. gevent serves the same
16 concurrent calls from one thread, switching at each socket wait: 16 threads handing one GIL back
and forth cost about as much CPU again as the requests themselves, so under gevent a request costs
about half the CPU, for ~5 MiB more memory and ~0.1-0.2 s more start-up. Choose it for a sidecar
that polls hard under a tight CPU limit.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Any

from gunicorn.app.base import BaseApplication
from gunicorn.workers.base_async import AsyncWorker

WORKER_CLASSES = ("gthread", "gevent")


class LazyGeventWorker(AsyncWorker):  # type: ignore[misc]
    """gunicorn's gevent worker, imported in the worker process only.

    The master builds each worker object before it forks, so naming ``gevent`` as the worker class
    would import gevent (~5 MiB) into a master that never serves a request. This stand-in is an
    :class:`AsyncWorker` (what the master needs of it); after the fork it becomes gunicorn's own
    ``GeventWorker``, which monkey-patches the process before the app, urllib3 or ssl contexts exist.
    """

    def init_process(self) -> None:
        from gunicorn.workers.ggevent import GeventWorker

        self.__class__ = GeventWorker
        GeventWorker.init_process(self)


def _yield_after_request(worker: Any, req: Any, environ: Any, resp: Any) -> None:
    """gevent: let the other connections' greenlets run before this one reads its next request.

    A kept-alive client whose next request is already in the socket buffer would otherwise be served
    again and again without the greenlet ever blocking, while the other connections wait; under load
    that unfairness stretches the slowest answers (see docs/performance.md)."""
    import gevent

    gevent.sleep(0)


class _PressplayApplication(BaseApplication):  # type: ignore[misc]
    def __init__(self, bind: str, workers: int, worker_class: str, threads: int, connections: int) -> None:
        self.bind = bind
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.connections = connections
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": self.bind,
            "workers": self.workers,
            "worker_class": LazyGeventWorker if self.worker_class == "gevent" else "gthread",
            # gthread: one OS thread per request in flight; gevent: one greenlet per connection
            "threads": self.threads,
            "worker_connections": self.connections,
            # The agent gives a call 30 s; a worker must never be killed before that.
            "timeout": 60,
            "graceful_timeout": 20,
            "keepalive": 30,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": "warning",
            "proc_name": "pressplay",
        }
        if self.worker_class == "gevent":
            options["post_request"] = _yield_after_request
        shm = "/dev/shm"  # noqa: S108 - gunicorn's heartbeat files; the pod's root FS is read-only
        if os.path.isdir(shm):
            options["worker_tmp_dir"] = shm
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return load_app()


#: gunicorn's exit code for a worker whose app could not be loaded: the master halts with it.
APP_LOAD_ERROR = 4


def load_app() -> Any:
    """A worker's app: settings from ``PRESSPLAY_*`` (validated by ``pressplay serve``), logging and
    telemetry set up, a loud log line when the agent's token is missing, and every installed step
    imported once in a forked child (:func:`check_steps_apart`), so a step that cannot be served
    stops the sidecar at start-up with a message naming its package rather than failing a node,
    while the worker itself imports a step (and the GitHub client) only when a call needs it."""
    from pressplay import telemetry
    from pressplay.config import load_settings, startup_problem
    from pressplay.server import create_app, warn_if_no_token
    from pressplay.steps.registry import installed

    settings = load_settings()
    problem = startup_problem(settings)
    if problem is not None:
        print(f"pressplay serve: {problem}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    steps = installed()
    check_steps_apart(steps)
    telemetry.setup_logging(settings.log_level)
    telemetry.configure()
    warn_if_no_token(settings)
    return create_app(settings, steps)


def check_steps_apart(steps: Any) -> None:
    """Import every step of ``steps`` in a forked child, so the worker keeps only the steps it serves.

    Importing all of them costs the worker ~10 MiB (their models, their clients' modules) that an
    agent's sidecar mostly never uses. The child shares the worker's memory until it exits; when a
    step cannot be served it prints the reason (naming the package) and exits non-zero, and the
    worker then exits with gunicorn's ``APP_LOAD_ERROR``, which halts the master: the sidecar stops
    at start-up, as if the worker had imported the steps itself. Where ``fork`` does not exist the
    worker imports them in process.
    """
    from pressplay.steps.registry import RegistryError

    if not hasattr(os, "fork"):  # pragma: no cover - POSIX only
        try:
            steps.load_all()
        except RegistryError as exc:
            print(f"pressplay serve: {exc}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        return
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: import, report, exit without running any of the parent's cleanup
        code = 0
        try:
            # lowest CPU priority: on a sidecar's one core (its CPU limit) the check must not delay the
            # worker's first answer; it still ends within a second or two and stops serve if it fails
            os.nice(19)
            steps.load_all()
        except RegistryError as exc:
            print(f"pressplay serve: {exc}", file=sys.stderr, flush=True)
            code = 2
        except BaseException as exc:  # the child must always exit
            print(f"pressplay serve: the step check failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            code = 2
        finally:
            sys.stderr.flush()
            os._exit(code)

    def reap() -> None:
        _, status = os.waitpid(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            os._exit(APP_LOAD_ERROR)

    threading.Thread(target=reap, name="pressplay-step-check", daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pressplay-gunicorn", description="use `pressplay serve`")
    parser.add_argument("--bind", required=True)
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--worker-class", choices=WORKER_CLASSES, default="gthread")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--worker-connections", type=int, default=64)
    args = parser.parse_args(argv)
    _PressplayApplication(
        args.bind, args.workers, args.worker_class, args.threads, args.worker_connections
    ).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
