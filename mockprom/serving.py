"""The production HTTP server: HTTP/1.1 in this process, a bounded pool of worker threads.

    server = HttpServer(app, "127.0.0.1", 0)      # binds and listens in the caller's thread
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ...
    server.stop()                                 # a few milliseconds

One process and threads (never forked workers), so ingested data and fault state are
shared by every request. The workers share one epoll set (leader/follower): every
connection is registered one-shot, so the kernel hands each ready connection to exactly
one waiting worker, which reads the request, runs the app, writes the answer and re-arms
the connection. No thread hands a request to another, which is most of what a Python
server costs per request (waitress, used before, spent ~250 us of CPU per request where
this spends ~20). Idle connections cost no thread. Like Prometheus's Go server:

- keep-alive, closed after ``idle_timeout_s`` of silence (Prometheus: ``--web.read-timeout``,
  5m); at most ``max_connections`` open at once, further ones wait in the listen backlog
  (Prometheus: ``--web.max-connections``, 512);
- no ``Server`` header, canonical header names in sorted order, Go's status texts
  (``204 No Content``), a ``Date`` on every answer;
- a request line plus headers over 1 MiB + 4 KiB gets Go's bare ``431 Request Header
  Fields Too Large``, a malformed request Go's bare ``400 Bad Request``, a body over
  ``max_body_bytes`` (``limits.MAX_REQUEST_BYTES``) a bare 413 before it is read; then
  the connection closes.

A complete answer the client does not take at once waits in the epoll set (no worker
waits for a slow reader); a streamed answer (no ``Content-Length``, e.g. a dribbling
fault) is written by its worker as the app yields it, chunked on HTTP/1.1.

The client socket is ``environ[transport.SOCKET_KEY]`` for the fault layer's transport
effects (reset, empty, hang); a ``ConnectionAbortedError`` raised by the app after such an
effect ends the connection quietly.
"""

from __future__ import annotations

import io
import logging
import os
import select
import socket
import sys
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Callable, Optional
from urllib.parse import unquote_to_bytes

from mockprom import gohttp, limits
from mockprom.faults.transport import SOCKET_KEY

log = logging.getLogger("mockprom.serving")

_RECV = 256 * 1024
_NO_BODY_STATUS = ("1", "204", "304")
_GATHER_MAX = 8 << 20  # an answer held whole before it is written (more is streamed)
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class ServerOptions:
    threads: int = 16               # workers running the app (a held fault holds one)
    max_connections: int = 512      # open connections (Prometheus --web.max-connections)
    idle_timeout_s: int = 300       # keep-alive idle close (Prometheus --web.read-timeout)
    max_body_bytes: int = limits.MAX_REQUEST_BYTES  # larger bodies: 413 before reading


class _Refused(Exception):
    """A request answered with Go's bare error (``gohttp.raw_error``), then closed."""

    def __init__(self, code: int):
        self.code = code


class _Request:
    __slots__ = ("method", "target", "version", "headers", "body_at", "length", "chunked",
                 "continued")

    def __init__(self, method, target, version, headers, body_at, length, chunked):
        self.method, self.target, self.version = method, target, version
        self.headers, self.body_at, self.length, self.chunked = headers, body_at, length, chunked
        self.continued = False


class _Conn:
    __slots__ = ("sock", "fd", "peer", "buf", "last", "busy", "out", "close_after",
                 "request", "draining", "closed")

    def __init__(self, sock: socket.socket, peer):
        self.sock, self.fd, self.peer = sock, sock.fileno(), peer
        self.buf = bytearray()
        self.last = time.monotonic()
        self.busy = False           # a worker owns it (between its event and re-arming)
        self.out: Optional[memoryview] = None   # the rest of an answer, waiting for EPOLLOUT
        self.close_after = False
        self.request: Optional[_Request] = None  # headers read, body still coming
        self.draining = False       # refused: reading and discarding until the client stops
        self.closed = False


_date_cache = [0, ""]


def _http_date() -> str:
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[1] = formatdate(now, usegmt=True)
        _date_cache[0] = now
    return _date_cache[1]


def _canonical(name: str) -> str:
    """Go's ``CanonicalMIMEHeaderKey``: ``content-type`` -> ``Content-Type``."""
    return "-".join(part.capitalize() for part in name.split("-"))


_CANONICAL: dict[str, str] = {}


def _canonical_pairs(headers) -> list[tuple[str, str]]:
    out = []
    for name, value in headers:
        canon = _CANONICAL.get(name)
        if canon is None:
            canon = _canonical(name)
            if len(_CANONICAL) < 500:
                _CANONICAL[name] = canon
        out.append((canon, value))
    return out


def _name(pair: tuple[str, str]) -> str:
    return pair[0]


def parse_head(buf: bytearray, max_body: int = limits.MAX_REQUEST_BYTES) -> Optional[_Request]:
    """The request line and headers at the start of ``buf`` (None: not all there yet).
    Raises ``_Refused`` for what Go's server refuses before any handler runs."""
    start = 0
    while buf.startswith(b"\r\n", start):  # RFC 9112 2.2: ignore empty lines before it
        start += 2
    end = buf.find(b"\r\n\r\n", start)
    if end < 0:
        if len(buf) - start > gohttp.MAX_HEADER_BYTES:
            raise _Refused(431)
        return None
    if end - start > gohttp.MAX_HEADER_BYTES:
        raise _Refused(431)
    head = bytes(buf[start:end]).decode("latin-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise _Refused(400)
    method, target, version = parts
    if not all(c in _TOKEN for c in method):
        raise _Refused(400)
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise _Refused(505 if version.startswith("HTTP/") and version[5:6].isdigit() else 400)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or " " in name or "\t" in name:
            raise _Refused(400)
        key = name.lower()
        value = value.strip(" \t")
        if key not in headers:
            headers[key] = value
        elif key == "content-length":
            if headers[key] != value:
                raise _Refused(400)
        else:
            headers[key] += "," + value
    chunked = False
    length = 0
    te = headers.get("transfer-encoding")
    if te is not None:
        if te.strip().lower() != "chunked":
            raise _Refused(501)
        chunked = True
    elif "content-length" in headers:
        text = headers["content-length"]
        if not text.isdigit():
            raise _Refused(400)
        length = int(text)
        if length > max_body:
            raise _Refused(413)
    return _Request(method, target, version, headers, end + 4, length, chunked)


def _dechunk(buf: bytearray, at: int,
             max_body: int = limits.MAX_REQUEST_BYTES) -> Optional[tuple[bytes, int]]:
    """A chunked body starting at ``buf[at]``: (the body, where the request ends), or None
    while incomplete. Raises ``_Refused`` for a bad or too large one."""
    parts = []
    size = 0
    while True:
        eol = buf.find(b"\r\n", at)
        if eol < 0:
            if len(buf) - at > 4096:
                raise _Refused(400)
            return None
        line = bytes(buf[at:eol]).split(b";", 1)[0].strip()
        try:
            n = int(line, 16)
        except ValueError:
            raise _Refused(400) from None
        if n < 0:
            raise _Refused(400)
        at = eol + 2
        if n == 0:
            while True:  # trailers, up to the empty line
                eol = buf.find(b"\r\n", at)
                if eol < 0:
                    return None
                if eol == at:
                    return b"".join(parts), eol + 2
                at = eol + 2
        size += n
        if size > max_body:
            raise _Refused(413)
        if len(buf) < at + n + 2:
            return None
        if buf[at + n:at + n + 2] != b"\r\n":
            raise _Refused(400)
        parts.append(bytes(buf[at:at + n]))
        at += n + 2


class _WakePipe:
    """A pipe whose read end a poller watches, so that another thread can wake it."""

    def __init__(self):
        self.fd, self._w = os.pipe()
        os.set_blocking(self.fd, False)

    def wake(self) -> None:
        try:
            os.write(self._w, b"x")
        except OSError:
            pass

    def drain(self) -> None:
        try:
            os.read(self.fd, 4096)
        except OSError:
            pass

    def close(self) -> None:
        for fd in (self.fd, self._w):
            try:
                os.close(fd)
            except OSError:
                pass


class _EpollReady:
    """Ready connections for the workers (Linux): one epoll set, every connection
    registered one-shot, so each readiness goes to exactly one waiting worker."""

    READ = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLONESHOT if hasattr(select, "epoll") else 0
    WRITE = select.EPOLLOUT | select.EPOLLONESHOT if hasattr(select, "epoll") else 0

    def __init__(self):
        self._epoll = select.epoll()
        self._wake = _WakePipe()
        self._epoll.register(self._wake.fd, select.EPOLLIN)  # level-triggered: wakes all

    def start(self) -> None:
        pass

    def add(self, fd: int) -> None:
        self._epoll.register(fd, self.READ)

    def arm(self, fd: int, write: bool = False) -> None:
        self._epoll.modify(fd, self.WRITE if write else self.READ)

    def remove(self, fd: int) -> None:
        try:
            self._epoll.unregister(fd)
        except (OSError, ValueError):
            pass

    def wait(self):
        """[(fd, writable)], [] after a second without any, None once stopped."""
        try:
            events = self._epoll.poll(1.0, 1)
        except InterruptedError:
            return []
        except (OSError, ValueError):
            return None
        out = []
        for fd, ev in events:
            if fd == self._wake.fd:
                return None
            out.append((fd, bool(ev & select.EPOLLOUT)))
        return out

    def stop(self) -> None:
        self._wake.wake()

    def close(self) -> None:
        self._epoll.close()
        self._wake.close()


class _SelectorReady:
    """The same without epoll (macOS, ...): one thread selects and hands each ready
    connection to a worker through a queue, unregistering it until it is re-armed."""

    def __init__(self):
        import queue
        import selectors

        self._selectors = selectors
        self._sel = selectors.DefaultSelector()
        self._queue: "queue.SimpleQueue" = queue.SimpleQueue()
        self._empty = queue.Empty
        self._changes: list = []
        self._lock = threading.Lock()
        self._wake = _WakePipe()
        self._sel.register(self._wake.fd, selectors.EVENT_READ)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="mockprom-http-select",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _change(self, item) -> None:
        with self._lock:
            self._changes.append(item)
        self._wake.wake()

    def add(self, fd: int) -> None:
        self._change((fd, self._selectors.EVENT_READ))

    def arm(self, fd: int, write: bool = False) -> None:
        sel = self._selectors
        self._change((fd, sel.EVENT_WRITE if write else sel.EVENT_READ))

    def remove(self, fd: int) -> None:
        self._change((fd, None))

    def _run(self) -> None:
        while not self._stopped:
            try:
                ready = self._sel.select(1.0)
            except (OSError, ValueError):
                return
            for key, events in ready:
                if key.fd == self._wake.fd:
                    self._wake.drain()
                    continue
                self._sel.unregister(key.fd)
                self._queue.put([(key.fd, bool(events & self._selectors.EVENT_WRITE))])
            with self._lock:
                changes, self._changes = self._changes, []
            for fd, events in changes:
                try:
                    self._sel.unregister(fd)
                except (KeyError, ValueError, OSError):
                    pass
                if events is not None:
                    try:
                        self._sel.register(fd, events)
                    except (ValueError, OSError):
                        pass

    def wait(self):
        if self._stopped:
            return None
        try:
            return self._queue.get(timeout=1.0)
        except self._empty:
            return []

    def stop(self) -> None:
        self._stopped = True
        for _ in range(1024):
            self._queue.put(None)  # every waiting worker gets one
        self._wake.wake()

    def close(self) -> None:
        self._thread.join(2.0)
        self._sel.close()
        self._wake.close()


class HttpServer:
    """A bound, listening server for ``app`` (a WSGI callable); ``serve_forever()`` serves
    until ``stop()`` (from any thread) or KeyboardInterrupt."""

    def __init__(self, app: Callable, host: str, port: int,
                 options: ServerOptions = ServerOptions()):
        self.app = app
        self.options = options
        self.idle_s = max(1, int(options.idle_timeout_s))
        family, kind, proto, _, addr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        self._listener = socket.socket(family, kind, proto)
        try:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._listener.bind(addr)
            self._listener.listen(1024)
        except OSError:
            self._listener.close()
            raise
        self._listener.setblocking(False)
        self.host = host
        self.port = self._listener.getsockname()[1]
        self._server_name = host
        self._lfd = self._listener.fileno()
        self._ready = _EpollReady() if hasattr(select, "epoll") else _SelectorReady()
        self._ready.add(self._lfd)
        self._listening = True
        self._conns: dict[int, _Conn] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._done = threading.Event()
        self._workers: list[threading.Thread] = []
        self._serving = self._closed = False

    @property
    def open_connections(self) -> int:
        """Client connections open now."""
        return len(self._conns)

    # -- lifecycle ------------------------------------------------------------------------
    def serve_forever(self) -> None:
        with self._lock:
            if self._stopping.is_set() or self._serving:
                return
            self._serving = True
            self._ready.start()
            for i in range(max(1, self.options.threads)):
                t = threading.Thread(target=self._work, name=f"mockprom-http-{i}", daemon=True)
                self._workers.append(t)
                t.start()
        try:
            sweep = max(0.05, min(1.0, self.idle_s / 4))
            while not self._stopping.wait(sweep):
                self._sweep()
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
        self._done.wait(timeout_s)

    def _close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stopping.set()
            conns = list(self._conns.values())
            self._conns.clear()
        try:
            self._ready.stop()
            for conn in conns:
                conn.closed = True
                _shutdown_close(conn.sock)
            while True:  # connections waiting in the backlog get a FIN, not a reset
                try:
                    _shutdown_close(self._listener.accept()[0])
                except OSError:
                    break
            try:
                self._listener.close()
            except OSError:
                pass
            deadline = time.monotonic() + 1.0
            for t in self._workers:
                if t is not threading.current_thread():
                    t.join(max(0.0, deadline - time.monotonic()))
            self._ready.close()
        finally:
            self._done.set()

    def _sweep(self) -> None:
        """Close connections idle for the idle timeout (and refused ones still sending
        after a few seconds)."""
        now = time.monotonic()
        stale = []
        with self._lock:
            for conn in self._conns.values():
                if conn.busy:
                    continue
                limit = min(5.0, self.idle_s) if conn.draining else self.idle_s
                if now - conn.last >= limit:
                    stale.append(conn)
        for conn in stale:
            self._drop(conn, only_idle=True)

    # -- the workers ----------------------------------------------------------------------
    def _work(self) -> None:
        wait = self._ready.wait
        while not self._stopping.is_set():
            events = wait()
            if events is None:
                return
            for fd, _writable in events:
                if fd == self._lfd:
                    self._accept()
                    continue
                with self._lock:
                    conn = self._conns.get(fd)
                    if conn is None or conn.busy:
                        continue
                    conn.busy = True
                try:
                    if conn.out is not None:
                        self._flush(conn)
                    else:
                        self._readable(conn)
                except Exception:  # pragma: no cover - a bug here must not kill the worker
                    log.exception("serving a connection")
                    self._drop(conn)

    def _accept(self) -> None:
        while True:
            with self._lock:
                if len(self._conns) >= self.options.max_connections or self._closed:
                    self._listening = False  # re-armed when a connection closes
                    return
            try:
                sock, peer = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                if self._stopping.is_set():
                    return
                break  # EMFILE and the like: try again on the next event
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            conn = _Conn(sock, peer)
            with self._lock:
                if self._closed:
                    sock.close()
                    return
                self._conns[conn.fd] = conn
            try:
                self._ready.add(conn.fd)
            except OSError:
                self._drop(conn)
        self._rearm_listener()

    def _rearm_listener(self) -> None:
        try:
            self._ready.arm(self._lfd)
            self._listening = True
        except (OSError, ValueError):
            pass

    def _arm(self, conn: _Conn, write: bool = False) -> None:
        """Hand the connection back to the epoll set (it stops being this worker's)."""
        conn.last = time.monotonic()
        with self._lock:
            conn.busy = False
            if conn.closed:
                return
        try:
            self._ready.arm(conn.fd, write)
        except (OSError, ValueError):
            self._drop(conn)

    def _drop(self, conn: _Conn, only_idle: bool = False) -> None:
        """Close a connection and forget it."""
        with self._lock:
            if conn.closed or (only_idle and conn.busy):
                return
            conn.closed = True
            if self._conns.get(conn.fd) is conn:
                del self._conns[conn.fd]
            relisten = not self._listening and not self._closed
        self._ready.remove(conn.fd)
        _shutdown_close(conn.sock)
        if relisten:
            self._rearm_listener()

    def _readable(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(_RECV)
        except (BlockingIOError, InterruptedError):
            self._arm(conn)
            return
        except OSError:
            data = b""
        if not data:
            self._drop(conn)
            return
        if conn.draining:
            self._arm(conn)
            return
        conn.buf += data
        self._serve(conn)

    def _serve(self, conn: _Conn) -> None:
        """Answer every complete request in the buffer, then re-arm (or close)."""
        while True:
            try:
                got = self._take_request(conn)
            except _Refused as refused:
                self._refuse(conn, refused.code)
                return
            if got is None:
                self._arm(conn)
                return
            request, body = got
            try:
                keep = self._answer(conn, request, body)
            except ConnectionError:
                keep = False
            except OSError:
                keep = False
            if not keep:
                self._drop(conn)
                return
            if conn.out is not None:  # the client is slow: EPOLLOUT continues it
                self._arm(conn, write=True)
                return
            if not conn.buf:
                self._arm(conn)
                return

    def _take_request(self, conn: _Conn):
        request = conn.request
        if request is None:
            request = parse_head(conn.buf, self.options.max_body_bytes)
            if request is None:
                return None
            conn.request = request
        if request.chunked:
            got = _dechunk(conn.buf, request.body_at, self.options.max_body_bytes)
            if got is None:
                self._continue(conn, request)
                return None
            body, end = got
        else:
            end = request.body_at + request.length
            if len(conn.buf) < end:
                self._continue(conn, request)
                return None
            body = bytes(conn.buf[request.body_at:end]) if request.length else b""
        del conn.buf[:end]
        conn.request = None
        return request, body

    def _continue(self, conn: _Conn, request: _Request) -> None:
        if (not request.continued and request.version == "HTTP/1.1"
                and request.headers.get("expect", "").lower() == "100-continue"):
            request.continued = True
            try:
                conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            except OSError:
                pass

    def _refuse(self, conn: _Conn, code: int) -> None:
        """Go's bare answer, then stop reading: the client may still be sending (a body
        over the limit), so discard what comes for a few seconds before closing, or it
        would see a reset instead of the answer."""
        try:
            conn.sock.send(gohttp.raw_error(code))
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(conn)
            return
        conn.buf = bytearray()
        conn.request = None
        conn.draining = True
        self._arm(conn)

    def _environ(self, conn: _Conn, request: _Request, body: bytes) -> dict:
        target = request.target
        if target.startswith(("http://", "https://")):  # absolute form
            rest = target.split("://", 1)[1]
            slash = rest.find("/")
            target = rest[slash:] if slash >= 0 else "/"
        path, _, query = target.partition("?")
        path = path.partition("#")[0]
        if "%" in path:
            path = unquote_to_bytes(path).decode("latin-1")
        peer = conn.peer
        environ = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_URI": request.target,
            "SERVER_NAME": self._server_name,
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": request.version,
            "REMOTE_ADDR": peer[0] if isinstance(peer, tuple) else "",
            "REMOTE_PORT": str(peer[1]) if isinstance(peer, tuple) else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            SOCKET_KEY: conn.sock,
        }
        for key, value in request.headers.items():
            if "_" in key:
                continue  # as waitress and werkzeug: no header may pose as another
            if key == "content-type":
                environ["CONTENT_TYPE"] = value
            elif key == "content-length":
                continue
            else:
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        if body or "content-length" in request.headers or request.chunked:
            environ["CONTENT_LENGTH"] = str(len(body))
        return environ

    def _answer(self, conn: _Conn, request: _Request, body: bytes) -> bool:
        """Run the app for one request and write (or park) its answer. Returns whether
        the connection stays open."""
        environ = self._environ(conn, request, body)
        connection = request.headers.get("connection", "").lower()
        http11 = request.version == "HTTP/1.1"
        keep = ("close" not in connection) if http11 else ("keep-alive" in connection)
        started: list = []

        def start_response(status, headers, exc_info=None):
            if exc_info is not None and started and started[0] is True:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return lambda data: written.append(data)

        written: list = []
        try:
            result = self.app(environ, start_response)
        except ConnectionAbortedError:
            return False
        except Exception:
            log.exception("internal error answering %s %s", request.method, request.target)
            conn.sock.send(gohttp.raw_error(500))
            return False
        try:
            if isinstance(result, (list, tuple)):
                data = b"".join(written) + b"".join(result) if written else b"".join(result)
                return self._write_whole(conn, request, started, data, keep, http11)
            it = iter(result)
            sized = bool(started) and any(k.lower() == "content-length" for k, _ in started[1])
            if sized:  # the whole body exists (nearly every answer): one send
                pieces, streamed = self._gather(written, it)
                if not streamed:
                    return self._write_whole(conn, request, started, b"".join(pieces), keep,
                                             http11)
            else:  # a stream (server-sent events): each piece as the app yields it
                pieces = [w for w in written if w]
            return self._write_stream(conn, request, started, pieces, it, keep, http11)
        except ConnectionAbortedError:
            return False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # pragma: no cover
                    log.exception("closing an answer")

    def _head(self, request: _Request, status: str, headers, extra, keep: bool,
              http11: bool) -> bytes:
        """Status line and headers as Go writes them: the handler's headers by canonical
        name, sorted; then Date, the framing headers and ``Connection`` (``close`` on
        HTTP/1.1 when closing, ``keep-alive`` on a kept HTTP/1.0 connection)."""
        pairs = _canonical_pairs(headers)
        pairs.sort(key=_name)  # stable: same-named headers keep their order
        if not any(name == "Date" for name, _ in pairs):
            pairs.append(("Date", _http_date()))
        if extra:
            pairs.extend(extra)
        if not keep:
            if http11:
                pairs.append(("Connection", "close"))
        elif not http11:
            pairs.append(("Connection", "keep-alive"))
        lines = [f"{request.version} {gohttp.status_line(status)}"]
        lines.extend(f"{name}: {value}" for name, value in pairs)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @staticmethod
    def _gather(written: list, it) -> tuple[list, bool]:
        """The pieces of an answer with a Content-Length: (pieces, streamed).
        ``streamed`` when the app yields an empty piece first (the headers go out at
        once, the body trickles: a dribbling fault) or holds more than ``_GATHER_MAX``."""
        pieces = [w for w in written if w]
        size = sum(map(len, pieces))
        for chunk in it:
            if not chunk:
                if not pieces:
                    return pieces, True
                continue
            pieces.append(chunk)
            size += len(chunk)
            if size > _GATHER_MAX:
                return pieces, True
        return pieces, False

    def _write_whole(self, conn, request, started, data: bytes, keep, http11) -> bool:
        status, headers = started
        if any(k.lower() == "connection" and "close" in v.lower() for k, v in headers):
            keep = False
        no_body = status.startswith(_NO_BODY_STATUS)
        extra = []
        declared = next((v for k, v in headers if k.lower() == "content-length"), None)
        if declared is None:
            if not no_body:
                extra.append(("Content-Length", str(len(data))))
        elif declared.strip() != str(len(data)) and request.method != "HEAD":
            keep = False  # short of its Content-Length (a truncating fault): then close
        out = self._head(request, status, headers, extra, keep, http11)
        if not no_body and request.method != "HEAD":
            out += data
        sent = conn.sock.send(out)
        if sent < len(out):
            conn.out = memoryview(out)[sent:]
            conn.close_after = not keep
        return keep or conn.out is not None

    def _write_stream(self, conn, request, started, pieces, it, keep, http11) -> bool:
        """An answer the app hands over over time: written as it comes, by this worker
        (chunked on HTTP/1.1 when it has no Content-Length)."""
        first = b"".join(pieces)
        if not started:  # an app may call start_response with its first piece (WSGI)
            for chunk in it:
                first += chunk
                if started:
                    break
        if not started:
            raise RuntimeError("the WSGI app never called start_response")
        status, headers = started
        if any(k.lower() == "connection" and "close" in v.lower() for k, v in headers):
            keep = False
        no_body = status.startswith(_NO_BODY_STATUS) or request.method == "HEAD"
        declared = next((v for k, v in headers if k.lower() == "content-length"), None)
        sized = declared is not None
        chunked = not sized and not status.startswith(_NO_BODY_STATUS) and http11
        if not sized and not http11:
            keep = False
        extra = [("Transfer-Encoding", "chunked")] if chunked else []
        sock = conn.sock
        sock.settimeout(self.idle_s)  # a streamed answer waits for its reader in its worker
        try:
            head = self._head(request, status, headers, extra, keep, http11)
            if no_body:
                sock.sendall(head)
                for _ in it:
                    pass
                return keep
            frame = (lambda c: b"%x\r\n%s\r\n" % (len(c), c)) if chunked else (lambda c: c)
            total = len(first)
            sock.sendall(head + frame(first) if first else head)  # one send for both
            for chunk in it:
                if chunk:
                    total += len(chunk)
                    sock.sendall(frame(chunk))
            if chunked:
                sock.sendall(b"0\r\n\r\n")
            elif sized and str(total) != declared.strip():
                keep = False  # short of its Content-Length (a truncating fault): close
        finally:
            try:
                sock.setblocking(False)
            except OSError:
                pass
        return keep

    def _flush(self, conn: _Conn) -> None:
        """More of a parked answer, on EPOLLOUT; then back to reading (or closed)."""
        try:
            sent = conn.sock.send(conn.out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._drop(conn)
            return
        conn.out = conn.out[sent:] if sent < len(conn.out) else None
        if conn.out is not None:
            self._arm(conn, write=True)
        elif conn.close_after:
            self._drop(conn)
        elif conn.buf:
            self._serve(conn)
        else:
            self._arm(conn)


def _shutdown_close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
