"""Transport faults: drop the connection with a reset or a bare close, or hold it.

The server puts the client socket in ``environ[SOCKET_KEY]`` (mockprom's server,
``mockprom.serving``) or ``environ["werkzeug.socket"]`` (werkzeug's development server).
After a drop the middleware raises ``ConnectionAbortedError`` from the WSGI call itself,
which the server treats as a client that went away: no traceback, no 500, and the next
request is served normally.
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from typing import Callable, Optional


class ConnectionDropped(ConnectionAbortedError):
    """Raised to the WSGI server after the connection was dropped on purpose."""


SOCKET_KEY = "mockprom.socket"


def client_socket(environ: dict) -> Optional[socket.socket]:
    sock = environ.get(SOCKET_KEY) or environ.get("werkzeug.socket")
    return sock if isinstance(sock, socket.socket) else None


def reset(environ: dict) -> None:
    """Abort the connection with a TCP RST, then raise ConnectionDropped.

    SO_LINGER 0 makes the close send RST. The socket's descriptor is replaced (dup2) by
    one end of a closed socket pair, so the server's own later reads, shutdown and close
    act on a harmless stand-in and the real connection's last reference goes at once.
    """
    sock = client_socket(environ)
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            _replace_descriptor(sock)
        except OSError:
            _shutdown(sock)
    raise ConnectionDropped("mockprom fault: connection reset")


def empty(environ: dict) -> None:
    """Close the connection (FIN) without sending a byte, then raise ConnectionDropped."""
    sock = client_socket(environ)
    if sock is not None:
        _shutdown(sock)
    raise ConnectionDropped("mockprom fault: empty response")


def hang(environ: dict, cap_s: float, sleep: Callable[[float], bool]) -> None:
    """Hold the request until the client gives up, ``cap_s`` passes or the engine is
    released; then close the connection without an answer."""
    sock = client_socket(environ)
    deadline = time.monotonic() + cap_s
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        if not sleep(min(0.05, left)):
            break  # released: the server is stopping
        if sock is not None and _peer_closed(sock):
            break
    if sock is not None:
        _shutdown(sock)
    raise ConnectionDropped("mockprom fault: request held until the client gave up")


def _peer_closed(sock: socket.socket) -> bool:
    try:
        poller = select.poll()  # not select(): descriptors may be above FD_SETSIZE
        poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
        if not poller.poll(0):
            return False
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except (OSError, ValueError):
        return True


def _replace_descriptor(sock: socket.socket) -> None:
    stand_in, peer = socket.socketpair()
    try:
        peer.close()
        os.dup2(stand_in.fileno(), sock.fileno())
    finally:
        stand_in.close()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
