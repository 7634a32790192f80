"""Run a test server on a background thread: one way to start and stop, for every emulator."""

from __future__ import annotations

import datetime
import ipaddress
import logging
import socketserver
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cheroot.server
import cheroot.wsgi

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

#: the WSGI environ key under which :class:`WsgiServer` puts the request's connection socket
SOCKET_KEY = "pressplay.socket"


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


class WsgiServer:
    """A WSGI app served by cheroot (HTTP/1.1 with keep-alive) on a background thread.

    Unlike werkzeug's development server, which closes the connection after every answer, cheroot keeps
    it open (after 304 and 204 answers too), as GitHub does. Idle kept-alive connections wait in
    cheroot's selector, not on a worker thread; the worker pool starts at ``threads`` and grows (up to
    ``max_threads``) when a request arrives and every worker is busy, so handlers that sleep (injected
    delays) do not starve other clients. The connection's socket is in the WSGI environ under
    :data:`SOCKET_KEY`. cheroot's own error log goes to ``logger`` (errors and warnings as such, the
    rest at DEBUG); there is no access log. :meth:`stop` closes the listening socket and every
    connection and joins the threads, so a test leaves nothing running.
    """

    def __init__(
        self,
        app: WsgiApp,
        host: str,
        port: int,
        name: str,
        *,
        logger: logging.Logger | None = None,
        threads: int = 16,
        max_threads: int = 256,
        idle_timeout: int = 10,
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        self.server = _CherootServer(
            (host, port),
            app,
            logger or logging.getLogger(__name__),
            numthreads=threads,
            max=max_threads,
            timeout=idle_timeout,
        )
        if tls is not None:  # (certificate chain, private key) PEM files: serve HTTPS
            from cheroot.ssl.builtin import BuiltinSSLAdapter

            self.server.ssl_adapter = BuiltinSSLAdapter(str(tls[0]), str(tls[1]))
        self._started = threading.Event()
        self._failure: BaseException | None = None
        # cheroot's threads inherit daemon-ness from the thread that starts them: bind, start the worker
        # pool and serve on a daemon thread, so a server nobody stopped cannot keep the interpreter alive.
        self._thread: threading.Thread | None = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            self._thread.join()
            self._thread = None
            raise self._failure
        self.port = int(self.server.bind_addr[1])
        self.url = f"{'https' if tls else 'http'}://{host}:{self.port}"

    def _serve(self) -> None:
        try:
            self.server.prepare()
        except BaseException as exc:
            self._failure = exc
            return
        finally:
            self._started.set()
        self.server.serve()

    def stop(self) -> None:
        if self._thread is None:
            return
        self.server.stop()
        self._thread.join(timeout=5)
        self._thread = None


class _SocketGateway(cheroot.wsgi.Gateway_10):
    """WSGI 1.0 environ plus the connection's socket (to simulate a connection reset)."""

    def __init__(self, req: Any) -> None:
        super().__init__(req)  # builds self.env (cheroot's stub types get_environ as returning None)
        self.env[SOCKET_KEY] = req.conn.socket


class _Connection(cheroot.server.HTTPConnection):
    """Tells the server when a worker is done with the connection (for now: it may come back later)."""

    server: _CherootServer

    def communicate(self) -> Any:
        try:
            return super().communicate()  # type: ignore[no-untyped-call]  # unannotated in cheroot's stub
        finally:
            self.server.finished_with_connection()


class _CherootServer(cheroot.wsgi.Server):
    #: checking for a stop request (stop() waits for it) and for idle connections to expire
    expiration_interval = 0.05
    #: idle kept-alive connections beyond this get ``Connection: close`` (cheroot's default is 10)
    keep_alive_conn_limit = 1024
    ConnectionClass = _Connection

    def __init__(
        self,
        bind_addr: tuple[str, int],
        app: WsgiApp,
        logger: logging.Logger,
        *,
        numthreads: int,
        max: int,
        timeout: int,
    ) -> None:
        # listen backlog: cheroot's default of 5 makes a burst of new connections wait for SYN retries
        super().__init__(
            bind_addr, app, numthreads=numthreads, max=max, timeout=timeout, request_queue_size=128
        )
        self.gateway = _SocketGateway
        self._logger = logger
        self._lock = threading.Lock()
        self._workers = numthreads
        self._max_workers = max
        self._busy = 0  # connections handed to the pool that no worker has finished with yet

    def process_conn(self, conn: Any) -> None:
        # cheroot's pool never grows by itself (``max`` only bounds ThreadPool.grow): add a worker when
        # every worker already has a connection, so a sleeping handler does not hold up other clients.
        with self._lock:
            self._busy += 1
            if self._busy > self._workers and self._workers < self._max_workers:
                self.requests.grow(1)
                self._workers += 1
        super().process_conn(conn)

    def finished_with_connection(self) -> None:
        with self._lock:
            self._busy -= 1

    def error_log(self, msg: str = "", level: int = logging.INFO, traceback: bool = False) -> None:
        if level < logging.WARNING:
            level = logging.DEBUG
        self._logger.log(level, "%s", msg, exc_info=traceback)


def self_signed_certificate(directory: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """Write a throwaway certificate for ``host`` (and ``localhost``) and its key into ``directory``;
    returns ``(certificate, key)``. The certificate is its own CA: a client trusts it by loading that
    file (``SSL_CERT_FILE`` for Python's ``ssl``, urllib3 and httpx)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    try:
        alt: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(host))]
    except ValueError:
        alt = [x509.DNSName(host)]
    alt.append(x509.DNSName("localhost"))
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "tls-cert.pem", directory / "tls-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return cert_file, key_file
