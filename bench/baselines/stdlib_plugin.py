"""Baseline: an executor plugin on the standard library alone, the way Argo's Python example is built.

A single-threaded ``http.server.HTTPServer`` with a ``BaseHTTPRequestHandler``: it checks the bearer
token, parses the JSON body and answers ``{}`` for templates that are not its own, or a Succeeded node.
Like that example it leaves the standard library's defaults alone: HTTP/1.0, one request per
connection, no ``Content-Length`` (the body ends when the connection closes), headers and body written
in two separate sends, a listen backlog of 5. Those defaults are what make this kind of plugin slow.

``PLUGIN_KEEPALIVE=1`` switches to HTTP/1.1 with ``Content-Length`` (keep-alive), the first thing one
would change; headers and body still go out in two writes, so the client's delayed ACK meets Nagle's
algorithm and most replies stall for ~40 ms.

Usage: ``python bench/baselines/stdlib_plugin.py PORT`` with the token in ``$PLUGIN_TOKEN``.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

TOKEN = os.environ.get("PLUGIN_TOKEN", "")
KEEPALIVE = os.environ.get("PLUGIN_KEEPALIVE") == "1"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1" if KEEPALIVE else "HTTP/1.0"

    def log_message(self, format: str, *args: object) -> None:
        return

    def _reply(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        if KEEPALIVE:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._reply(200, {"status": "ok"})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/api/v1/template.execute":
            self._reply(404, {"error": "not found"})
            return
        if self.headers.get("Authorization", "") != f"Bearer {TOKEN}":
            self._reply(403, {"error": "forbidden"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
            plugin = body["template"].get("plugin") or {}
        except (ValueError, KeyError, AttributeError):
            self._reply(400, {"error": "bad request"})
            return
        if "stdlib" not in plugin:
            self._reply(200, {})
            return
        self._reply(200, {"node": {"phase": "Succeeded", "message": "done"}})


def main() -> None:
    port = int(sys.argv[1])
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
