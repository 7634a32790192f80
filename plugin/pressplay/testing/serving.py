"""Run a test server on a background thread: one way to start and stop, for every emulator."""

from __future__ import annotations

import socketserver
import threading


class BackgroundServer:
    """A started socketserver-style server (``http.server`` or werkzeug) served by a daemon thread.

    Bind it to 127.0.0.1 (port 0 picks a free one); :meth:`stop` shuts it down, closes the socket and
    joins the thread, so a test leaves nothing running.
    """

    def __init__(self, server: socketserver.BaseServer, name: str, *, poll_interval: float = 0.05) -> None:
        self.server = server
        if hasattr(server, "daemon_threads"):
            server.daemon_threads = True
        address = server.server_address
        if not isinstance(address, tuple):
            raise TypeError("BackgroundServer serves TCP servers (host, port) only")
        host, port = address[0], address[1]
        self.port = int(port)
        self.url = f"http://{host}:{self.port}"
        self._thread: threading.Thread | None = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": poll_interval}, name=name, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
        self._thread = None
