"""Run a real pressplay sidecar on 127.0.0.1 for tests: in a thread, or as a ``pressplay serve`` process.

::

    with Sidecar(github_api_url=emulator.url, ...) as sidecar:
        result = sidecar.run_step("status", {"repo": "acme/api", ...}, outputs=["state"])
        assert result.phase == "Succeeded"
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from werkzeug.serving import WSGIRequestHandler, make_server

from pressplay.config import Settings
from pressplay.steps.base import StepSpec
from pressplay.steps.registry import installed
from pressplay.testing.agent import AgentEmulator, Reply, Result, make_template
from pressplay.testing.serving import BackgroundServer


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No access log: the app's own JSON log line says what happened."""


class _StepRunner:
    url: str
    token: str
    speedup: float
    workflow: dict[str, str] | None = None

    def agent(self, **kwargs: Any) -> AgentEmulator:
        options: dict[str, Any] = {"speedup": self.speedup}
        if self.workflow:
            options["workflow"] = self.workflow
        options.update(kwargs)
        return AgentEmulator(self.url, self.token, **options)

    def run_step(
        self, key: str, args: Mapping[str, Any], *, outputs: list[str] | None = None, **agent_options: Any
    ) -> Result:
        """Run one step to its end through the agent emulator (requeues honoured, sped up)."""
        with self.agent(**agent_options) as agent:
            return agent.run(make_template(key, args, outputs=outputs))

    def call_step(self, key: str, args: Mapping[str, Any], *, outputs: list[str] | None = None) -> Reply:
        """Exactly one call (with the agent's 503 retries), no requeue loop."""
        with self.agent() as agent:
            return agent.call(make_template(key, args, outputs=outputs))


class Sidecar(_StepRunner):
    """The real Flask app in a background thread on 127.0.0.1:<free port>."""

    def __init__(
        self,
        *,
        speedup: float = 1000.0,
        workflow: dict[str, str] | None = None,
        steps: Sequence[StepSpec[Any]] = (),
        **overrides: Any,
    ) -> None:
        """``steps``: served besides the installed ones (a key the installed set has is an error)."""
        self.steps = installed().with_steps(*steps) if steps else installed()
        token = overrides.pop("token", None)
        self.token = token if isinstance(token, str) else secrets.token_urlsafe(24)
        self.speedup = speedup
        self.workflow = workflow
        overrides["token"] = self.token
        self.settings = Settings(**overrides)
        self._server: BackgroundServer | None = None
        self.url = ""

    def start(self) -> Sidecar:
        from pressplay import telemetry
        from pressplay.server import create_app

        # as `pressplay serve` starts a worker (pressplay.gunicorn_app.load_app): JSON logs, telemetry
        telemetry.setup_logging(self.settings.log_level)
        telemetry.configure()
        # every step served is imported now: a module that does not import, an entry whose name is not
        # its decorator's key, ... stops the test here with a RegistryError naming the step and the fix
        self.steps.load_all()
        app = create_app(self.settings, self.steps)
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
        self._server = BackgroundServer(server, "pressplay-sidecar")
        self.url = self._server.url
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SidecarProcess(_StepRunner):
    """``pressplay serve`` as a real subprocess (gunicorn), for restart and footprint tests."""

    def __init__(
        self,
        *,
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        speedup: float = 1000.0,
        workers: int = 1,
        threads: int = 8,
        token: str | None = None,
        log_path: Path | None = None,
        worker_class: str | None = None,
    ) -> None:
        self.port = port or free_port()
        self.token = token or secrets.token_urlsafe(24)
        self.speedup = speedup
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(env or {})
        self.workers = workers
        self.threads = threads
        #: ``gevent`` or ``gthread``; None: the default of ``pressplay serve``
        self.worker_class = worker_class
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self, timeout: float = 20.0) -> SidecarProcess:
        env = {**os.environ, **self.env, "PRESSPLAY_TOKEN": self.token}
        cmd = [
            sys.executable, "-m", "pressplay", "serve",
            "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.workers), "--threads", str(self.threads),
        ]  # fmt: skip
        if self.worker_class:
            cmd += ["--worker-class", self.worker_class]
        self._log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=self._log, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pressplay serve exited with {self.proc.returncode}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("pressplay serve did not answer /healthz in time")

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers), as a node failure would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
            self._log = None

    def __enter__(self) -> SidecarProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
