"""A fault in front of the plugin sidecar: chosen plugin calls are answered ``phase: Error``.

The engine's kubelet runs the sidecar container's command through this script when a scenario asks
for it (``Options.plugin_faults``)::

    python plugin_faults.py RULES.json -- pressplay serve --host 127.0.0.1 --port 17820

It starts the real command on a free port and listens on the port the command was given, so Argo's
agent reaches it where plugin.yaml says. Every ``POST /api/v1/template.execute`` is forwarded
unchanged, headers and body, except the calls a rule in RULES.json names: those are answered
``{"node": {"phase": "Error", "message": ...}}`` without reaching the sidecar. Argo's agent copies a
plugin's reply node as it is (``AgentExecutor.executePluginTemplate``: ``*result = *reply.Node``), so
the node ends in Error exactly as when a plugin or the agent errs; RULES.json is read on every call,
so a test can change the rules between runs. A rule::

    {"template": "checks-final", "node": "task\\(\\d+:1\\)"}

matches a call whose template has that name and whose step argument ``node`` (``{{node.name}}``)
matches the regular expression (``re.search``). Standard library only: it runs in the sidecar's
place, from the same interpreter as the harness.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

EXECUTE = "/api/v1/template.execute"
#: Hop-by-hop headers a proxy does not forward (RFC 9110 section 7.6.1).
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


def matching_rule(rules: list[dict[str, str]], body: bytes) -> dict[str, str] | None:
    """The first rule naming this call (template name and the step's ``node`` argument), if any."""
    try:
        request = json.loads(body)
        template = request["template"]
        steps = template["plugin"]["pressplay"]
        step_args = next(iter(steps.values()))
        name = str(template.get("name", ""))
        node = str(step_args.get("node", ""))
    except (ValueError, KeyError, TypeError, StopIteration, AttributeError):
        return None  # not ours to judge: the sidecar answers it
    for rule in rules:
        if rule.get("template") == name and re.search(rule.get("node", ""), node):
            return {**rule, "node": node}
    return None


def load_rules(path: Path) -> list[dict[str, str]]:
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def main(argv: list[str]) -> int:
    if "--" not in argv or len(argv) < 3:
        print("usage: plugin_faults.py RULES.json -- COMMAND...", file=sys.stderr)
        return 2
    rules_path = Path(argv[0])
    command = argv[argv.index("--") + 1 :]
    if "--port" not in command:
        print("plugin_faults.py: the command has no --port", file=sys.stderr)
        return 2
    at = command.index("--port") + 1
    port = int(command[at])
    inner = free_port()
    command[at] = str(inner)
    child = subprocess.Popen(command)

    def stop(signum: int, _frame: object) -> None:
        # Pass it on; the main thread's child.wait() returns when the sidecar has stopped.
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    # Listen only once the sidecar does: until then the agent meets a refused connection, as it would.
    while True:
        if child.poll() is not None:
            return child.returncode
        try:
            socket.create_connection(("127.0.0.1", inner), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _forward(self, body: bytes | None) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            conn = http.client.HTTPConnection("127.0.0.1", inner, timeout=120)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for k, v in reply.getheaders():
                    if k.lower() not in HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                conn.close()

        def do_GET(self) -> None:
            self._forward(None)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            rule = matching_rule(load_rules(rules_path), body) if self.path == EXECUTE else None
            if rule is None:
                self._forward(body)
                return
            message = f"injected by the engine scenario: {rule['template']} errored"
            print(f"plugin_faults: {rule['node']}: answered Error", file=sys.stderr, flush=True)
            data = json.dumps({"node": {"phase": "Error", "message": message}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    code = child.wait()  # a signal: as a shell reports it (128 + n)
    server.shutdown()
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
