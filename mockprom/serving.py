"""The production HTTP server: waitress, in this process, with a bounded thread pool.

    server = HttpServer(app, "127.0.0.1", 0)      # binds and listens in the caller's thread
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ...
    server.stop()                                 # a few milliseconds

One process and threads (never forked workers), so ingested data and fault state are
shared by every request. One thread runs the event loop (accepting connections, reading
requests, writing answers, closing idle keep-alive connections); ``threads`` workers run
the app. Idle connections cost no thread. Like Prometheus's Go server:

- keep-alive, closed after ``idle_timeout_s`` of silence (Prometheus: ``--web.read-timeout``,
  5m); at most ``max_connections`` open at once, further ones wait in the listen backlog
  (Prometheus: ``--web.max-connections``, 512);
- no ``Server`` header, Go's status texts (``204 No Content``);
- a request line plus headers over 1 MiB + 4 KiB gets Go's bare ``431 Request Header
  Fields Too Large`` (a malformed request Go's bare 400), then the connection closes.

The client socket is ``environ[transport.SOCKET_KEY]`` for the fault layer's transport
effects (reset, empty, hang); a ``ConnectionAbortedError`` raised by the app after such an
effect ends the connection quietly.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import ClientDisconnected, HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ErrorTask, WSGITask

from mockprom import gohttp, limits
from mockprom.faults.transport import SOCKET_KEY

# waitress logs a warning per request queued behind busy workers; under load that is the
# normal state of a bounded pool, not news.
logging.getLogger("waitress.queue").setLevel(logging.ERROR)


@dataclass(frozen=True)
class ServerOptions:
    threads: int = 16               # workers running the app (a held fault holds one)
    max_connections: int = 512      # open connections (Prometheus --web.max-connections)
    idle_timeout_s: int = 300       # keep-alive idle close (Prometheus --web.read-timeout)


class _Task(WSGITask):
    def get_environment(self):
        environ = super().get_environment()
        environ[SOCKET_KEY] = self.channel.socket
        return environ

    def build_response_header(self):
        self.status = gohttp.status_line(self.status)
        closing = self.close_on_finish
        head = super().build_response_header()
        if (not closing and self.close_on_finish and not self.has_body and self.version == "1.1"
                and self.request.headers.get("CONNECTION", "").lower() != "close"):
            # waitress closes after a body-less answer (204, 304) without Content-Length;
            # Go keeps such a connection alive.
            self.close_on_finish = False
            head = head.replace(b"\r\nConnection: close", b"", 1)
        return head

    def execute(self):
        try:
            super().execute()
        except ConnectionAbortedError as exc:  # a transport fault dropped the connection
            raise ClientDisconnected(str(exc)) from None


class _ErrorTask(ErrorTask):
    """A request refused before the app (too large, malformed): Go's bare answer."""

    def execute(self):
        self.channel.write_soon(gohttp.raw_error(self.request.error.code))
        self.wrote_header = True
        self.close_on_finish = True


class _Channel(HTTPChannel):
    task_class = _Task
    error_task_class = _ErrorTask


class _WSGIServer(TcpWSGIServer):
    channel_class = _Channel


class HttpServer:
    """A bound, listening server for ``app`` (a WSGI callable); ``serve_forever()`` serves
    until ``stop()`` (from any thread) or KeyboardInterrupt."""

    def __init__(self, app: Callable, host: str, port: int,
                 options: ServerOptions = ServerOptions()):
        self.options = options
        idle = max(1, int(options.idle_timeout_s))
        adj = Adjustments(
            host=host, port=port, threads=options.threads,
            # waitress counts its listener and wake-up pipe among the connections
            connection_limit=options.max_connections + 2, backlog=1024,
            channel_timeout=idle, cleanup_interval=max(1, min(30, idle // 2)),
            max_request_header_size=gohttp.MAX_HEADER_BYTES,
            max_request_body_size=limits.MAX_REQUEST_BYTES,  # 413 beyond, unread
            ident="", clear_untrusted_proxy_headers=False, log_socket_errors=False,
            asyncore_use_poll=True, expose_tracebacks=False)
        self._wsgi = _WSGIServer(app, adj=adj, sockinfo=adj.listen[0])
        self.host = host
        self.port = self._wsgi.effective_port
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._serving = self._closed = False
        self._lock = threading.Lock()

    @property
    def open_connections(self) -> int:
        """Client connections open now."""
        return len(self._wsgi.active_channels)

    def serve_forever(self) -> None:
        with self._lock:
            if self._stopping.is_set() or self._serving:
                return
            self._serving = True
        try:
            while not self._stopping.is_set():
                wasyncore.loop(timeout=1.0, map=self._wsgi._map, use_poll=True, count=1)
        finally:
            self._close()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop accepting, close every connection (kept-alive or mid-request) and the
        socket, and end the workers (idempotent). Requests held by faults must be
        released first (``FaultMiddleware.close``)."""
        with self._lock:
            self._stopping.set()
            serving = self._serving
        if not serving:
            self._close()
            return
        try:
            self._wsgi.pull_trigger()
        except OSError:
            pass
        self._done.wait(timeout_s)

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            for dispatcher in list(self._wsgi._map.values()):
                try:
                    dispatcher.close()
                except OSError:
                    pass
            self._wsgi.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
        finally:
            self._done.set()
