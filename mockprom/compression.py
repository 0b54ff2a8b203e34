"""Response compression as Prometheus does it, as WSGI middleware (outermost in the app).

Prometheus wraps each API handler (``/api/v1/...`` except the write/read/OTLP receivers)
and ``/federate`` in ``util/httputil.CompressionHandler``: the first of ``gzip`` or
``deflate`` (zlib) listed in ``Accept-Encoding``, exact tokens, no q-values
(``gzip;q=0`` is not ``gzip``), every status of a routed request, even a 204 (header only).
Its router's own 404/405 answers are plain. ``/metrics`` (client_golang's promhttp) offers
gzip alone, with a negotiation that changed between versions (``METRICS_GZIP``).

A fault rule that shapes the bytes on the wire (dribble, truncate) sets
``environ[faults.middleware.IDENTITY_KEY]``: that answer goes out uncompressed, so that
it is cut or trickled as the rule says.
"""

from __future__ import annotations

import zlib
from typing import Callable, Iterable, Optional

from mockprom import versions
from mockprom.faults.middleware import IDENTITY_KEY

GZIP, DEFLATE = "gzip", "deflate"
# zlib's fastest level: Prometheus's gzip (klauspost/compress at its default level) is
# several times faster than zlib's default level 6, which took 1.4 s of CPU for a 49 MB
# range answer that Prometheus serves in 0.6 s all told; level 1 takes 0.3 s, and its
# 14.2 MB are 13% more than Prometheus's 12.5 MB (zlib 6: 11.5 MB). The compressed bytes
# never matched Go's anyway; what a client decodes does (bench/README.md, PromQL).
LEVEL = 1

# Paths under /api/v1/ that Prometheus does not compress (receivers, 3.x's notifications
# and their event stream, and the Pushgateway's API that mockprom serves beside
# Prometheus's).
_PLAIN_API = ("/api/v1/write", "/api/v1/prom/write", "/api/v1/read", "/api/v1/otlp/",
              "/api/v1/notifications", "/api/v1/metrics", "/api/v1/admin/wipe")
_ROUTER_STATUSES = (404, 405)
_NO_BODY = ("1", "204", "304")


def handler_encoding(accept: str) -> Optional[str]:
    """Prometheus's ``CompressionHandler`` choice for an ``Accept-Encoding`` value."""
    for part in accept.split(","):
        token = part.strip()
        if token == GZIP or token == DEFLATE:
            return token
    return None


def _gzip_token_listed(accept: str) -> Optional[str]:
    """client_golang before 1.19: gzip when any part is ``gzip`` or ``gzip;...``."""
    for part in accept.split(","):
        token = part.strip()
        if token == GZIP or token.startswith(GZIP + ";"):
            return GZIP
    return None


def _gzip_negotiated(accept: str) -> Optional[str]:
    """client_golang 1.19+: the best of the offers (identity, gzip) by q-value, the first
    offer winning ties, ``*`` matching either (``gzip;q=0`` and ``gzip;q=0.5, identity``
    stay plain)."""
    best, best_q = None, -1.0
    specs = []
    for part in accept.split(","):
        value, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, val = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(val.strip())
                except ValueError:
                    q = 0.0
        specs.append((value.strip(), q))
    for offer in ("identity", GZIP):
        for value, q in specs:
            if q > best_q and value in ("*", offer):
                best, best_q = offer, q
    return GZIP if best == GZIP and best_q > 0 else None


METRICS_GZIP = versions.table("metrics_gzip", {"2.42": _gzip_token_listed,
                                               "3.5": _gzip_negotiated})


def choose(path: str, accept: str, emulation) -> Optional[str]:
    """The encoding Prometheus would use for ``path``, or None for a plain answer."""
    if path.startswith("/api/v1/"):
        return None if path.startswith(_PLAIN_API) else handler_encoding(accept)
    if path == "/federate":
        return handler_encoding(accept)
    if path == "/metrics":
        return METRICS_GZIP[emulation](accept)
    return None


def compress(body: bytes, encoding: str) -> bytes:
    if encoding == GZIP:
        c = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
        return c.compress(body) + c.flush()
    return zlib.compress(body, LEVEL)


class CompressionMiddleware:
    """Compress answers as Prometheus does. ``emulation()`` gives the emulated version."""

    def __init__(self, app: Callable, emulation: Callable[[], object]):
        self.app = app
        self.emulation = emulation

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        accept = environ.get("HTTP_ACCEPT_ENCODING")
        if not accept or environ.get("REQUEST_METHOD") == "HEAD":
            return self.app(environ, start_response)
        encoding = choose(environ.get("PATH_INFO") or "/", accept, self.emulation())
        if encoding is None:
            return self.app(environ, start_response)
        captured: list = []
        written: list[bytes] = []

        def capture(status, headers, exc_info=None):
            captured[:] = [status, headers, exc_info]
            return written.append

        result = self.app(environ, capture)
        if environ.get(IDENTITY_KEY) and captured:
            start_response(*captured)
            return result
        try:
            written.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers, exc_info = captured
        body = b"".join(written)
        if (int(status[:3]) in _ROUTER_STATUSES or environ.get(IDENTITY_KEY)
                or any(k.lower() == "content-encoding" for k, _ in headers)):
            start_response(status, headers, exc_info)
            return [body]
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        headers.append(("Content-Encoding", encoding))
        if status.startswith(_NO_BODY):
            start_response(status, headers, exc_info)
            return []
        body = compress(body, encoding)
        headers.append(("Content-Length", str(len(body))))
        start_response(status, headers, exc_info)
        return [body]
