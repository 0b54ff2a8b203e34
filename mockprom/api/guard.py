"""The control API's guard: a WSGI layer in front of everything under ``/-/mockprom/``
(the app's endpoints and the fault layer's alike), so that no web page and no stranger
can take the server over.

1. ``Host`` (DNS rebinding): a server bound to loopback or to one address answers the
   control API only for loopback names (``localhost``, ``127.0.0.1``, ``::1``), that
   address and the names given with ``--allowed-hosts`` / ``MOCKPROM_ALLOWED_HOSTS``
   (``*``: any). A server bound to every address (``0.0.0.0``, as in Docker) is reached
   under names it cannot know (a compose service name): it takes any ``Host`` unless
   ``--allowed-hosts`` lists them. Refused: 403.
2. ``Origin`` (cross-site forgery): a write (``PUT``, ``POST``, ``DELETE``, ``PATCH``)
   from a page of another origin is refused (403).
3. Content type: a write with a body declares JSON or YAML (``application/json``,
   ``application/yaml``, ``text/yaml``...) or no type at all (scripts); a form or
   ``text/plain``, what a page may send anywhere without asking, is refused (415).
4. Credentials: the server's control token (``Authorization: Bearer``) or, when the
   scenario sets auth, its own credentials (``auth.check_control``); open when neither
   is set. Refused: 401.

Refusals are JSON in Prometheus's error envelope.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional
from urllib.parse import urlsplit

import orjson

from mockprom.api.auth import CONTROL_PREFIX, check_control

WRITE_METHODS = frozenset({"PUT", "POST", "DELETE", "PATCH"})
BODY_TYPES = frozenset({"application/json", "application/yaml", "application/x-yaml",
                        "text/yaml", "text/x-yaml", "application/problem+json"})
LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_ADDRESS = frozenset({"", "0.0.0.0", "::", "*"})
STATUS_TEXT = {401: "Unauthorized", 403: "Forbidden", 415: "Unsupported Media Type"}


def is_control_path(path: str) -> bool:
    return path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/")


class HostPolicy:
    """Which ``Host`` names may reach the control API (see the module doc)."""

    def __init__(self, bind_host: Optional[str] = None, allowed: Iterable[str] = ()):
        names = {_bare(n) for n in allowed if n.strip()}
        bind = _bare(bind_host or "")
        self.any = "*" in names or (not names and bind in ANY_ADDRESS)
        self.names = frozenset(names | LOOPBACK | ({bind} - ANY_ADDRESS))

    def allows(self, host_header: Optional[str]) -> bool:
        if self.any or not host_header:  # no Host: no browser, no rebinding
            return True
        return _bare(host_header) in self.names


def _bare(host: str) -> str:
    """A host name without port or brackets, lower case (``[::1]:9090`` -> ``::1``)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _same_origin(origin: str, host_header: Optional[str]) -> bool:
    if origin == "null":
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return bool(host_header) and parts.netloc.lower() == host_header.strip().lower()


def _has_body(environ: dict) -> bool:
    length = environ.get("CONTENT_LENGTH")
    if length:
        return length.strip() not in ("", "0")
    return "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()


class ControlGuard:
    """WSGI middleware: ``app`` answers everything the guard lets through.
    ``credentials()`` gives ``(scenario, control_token)`` of the current moment."""

    def __init__(self, app: Callable, credentials: Callable[[], tuple],
                 hosts: HostPolicy):
        self.app = app
        self.credentials = credentials
        self.hosts = hosts

    def __call__(self, environ: dict, start_response: Callable):
        path = environ.get("PATH_INFO") or "/"
        if not is_control_path(path):
            return self.app(environ, start_response)
        refusal = self.refusal(environ)
        if refusal is None:
            return self.app(environ, start_response)
        status, error_type, message, headers = refusal
        body = orjson.dumps({"status": "error", "errorType": error_type, "error": message})
        start_response(f"{status} {STATUS_TEXT[status]}",
                       [("Content-Type", "application/json"),
                        ("Content-Length", str(len(body)))] + headers)
        return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]

    def refusal(self, environ: dict) -> Optional[tuple]:
        """``(status, errorType, message, headers)`` of the refusal, or None."""
        host = environ.get("HTTP_HOST")
        if not self.hosts.allows(host):
            return (403, "forbidden", f"the control API does not answer for host "
                    f"{_bare(host)!r}: use the server's address, localhost, or start it with "
                    f"--allowed-hosts (MOCKPROM_ALLOWED_HOSTS)", [])
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if method in WRITE_METHODS:
            origin = environ.get("HTTP_ORIGIN")
            if origin and not _same_origin(origin, host):
                return (403, "forbidden", f"cross-origin write refused: origin {origin!r} is "
                        "not this server", [])
            ctype = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
            if ctype and ctype not in BODY_TYPES and _has_body(environ):
                return (415, "bad_data", f"the control API takes JSON or YAML bodies "
                        f"(Content-Type: application/json or application/yaml), not {ctype!r}",
                        [])
        scenario, token = self.credentials()
        err = check_control(environ.get("HTTP_AUTHORIZATION", ""), scenario, token)
        if err is not None:
            return (err.status, err.error_type, err.message, list(err.headers.items()))
        return None
