"""``ConsoleFiles``: the WSGI layer that serves the console's page shells and static files.

It sits in front of the whole app (outside the fault layer): the shells and files hold no
data, so they are served without credentials, and a fault rule or the request journal
never sees them (a rule matching every request must not break the page that removes it).
Every other path goes on to the app.

- the page paths (``PAGES``) answer the one HTML shell; its script routes in the browser;
- ``/graph`` redirects to ``/query`` (keeping the query string) where the emulated
  version does so (``pages.ROUTES``);
- ``/mockprom/assets/<build>/<file>``: the files under ``static/``; ``<build>`` is a hash
  of their contents, so a URL with the current build is cached for good and a new
  version of mockprom is fetched anew; sent gzipped (compressed once) when the client
  accepts it.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from pathlib import Path
from typing import Callable, Iterable, Optional

from mockprom.compression import handler_encoding
from mockprom.web.pages import UiRoutes, found_body

STATIC = Path(__file__).resolve().parent / "static"
SHELL = Path(__file__).resolve().parent / "templates" / "shell.html"
ASSETS = "/mockprom/assets/"
PAGES = frozenset({
    "/query", "/graph", "/alerts", "/rules", "/targets", "/status", "/tsdb-status", "/flags",
    "/config", "/mockprom/scenario", "/mockprom/requests", "/mockprom/faults",
    "/mockprom/clock",
})
CONSOLE_HOME = "/mockprom/scenario"  # where /mockprom goes
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
SECURITY_HEADERS = [
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
]
SHELL_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                "base-uri 'none'; form-action 'self'")


GZIP_MIN_BYTES = 1024


class Bundle:
    """The static files, read once: ``{relative path: (bytes, content type, gzipped bytes
    or None)}`` and the build id (a hash of every path and content)."""

    def __init__(self, root: Path = STATIC, shell: Path = SHELL):
        files: dict[str, tuple[bytes, str, Optional[bytes]]] = {}
        digest = hashlib.sha256()
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            data = path.read_bytes()
            digest.update(rel.encode() + b"\0" + data + b"\0")
            content_type = TYPES.get(path.suffix, "application/octet-stream")
            packed = gzip.compress(data, 9, mtime=0) if len(data) >= GZIP_MIN_BYTES else None
            files[rel] = (data, content_type, packed)
        self.files = files
        self.build = digest.hexdigest()[:12]
        prefix = ASSETS + self.build
        from mockprom.faults.endpoints import ENDPOINTS

        self.shell = (shell.read_text(encoding="utf-8").replace("{{assets}}", prefix)
                      .replace("{{endpoints}}", " ".join(ENDPOINTS)).encode())


_bundle: Optional[Bundle] = None
_bundle_lock = threading.Lock()


def bundle() -> Bundle:
    global _bundle
    with _bundle_lock:
        if _bundle is None:
            _bundle = Bundle()
        return _bundle


class ConsoleFiles:
    """``app.wsgi_app = ConsoleFiles(app.wsgi_app, routes)``; ``routes()`` gives the
    emulated version's ``UiRoutes``."""

    def __init__(self, app: Callable, routes: Callable[[], UiRoutes]):
        self.app = app
        self.routes = routes

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path in PAGES:
            redirect = self.routes().graph_redirect if path == "/graph" else None
            if redirect is not None:
                query = environ.get("QUERY_STRING", "")
                return _redirect(environ, start_response, redirect + ("?" + query if query else ""))
            return self._shell(environ, start_response)
        if path in ("/mockprom", "/mockprom/"):
            return _redirect(environ, start_response, CONSOLE_HOME)
        if path.startswith(ASSETS):
            return self._asset(path[len(ASSETS):], environ, start_response)
        return self.app(environ, start_response)

    def _shell(self, environ, start_response):
        if not _readable(environ, start_response):
            return [b"Method Not Allowed\n"]
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-cache"),
                   ("Content-Security-Policy", SHELL_POLICY), *SECURITY_HEADERS]
        return _send(environ, start_response, "200 OK", headers, bundle().shell)

    def _asset(self, rest: str, environ, start_response):
        build, _, rel = rest.partition("/")
        found = bundle().files.get(rel)
        if found is None:
            return _not_found(start_response)
        if not _readable(environ, start_response):
            return [b"Method Not Allowed\n"]
        data, content_type, packed = found
        current = bundle().build
        accepted = handler_encoding(environ.get("HTTP_ACCEPT_ENCODING", ""))
        zipped = packed is not None and accepted == "gzip"
        etag = f'"{current}{"-gzip" if zipped else ""}"'
        cache = "public, max-age=31536000, immutable" if build == current else "no-cache"
        headers = [("Content-Type", content_type), ("Cache-Control", cache), ("ETag", etag),
                   ("Vary", "Accept-Encoding"), *SECURITY_HEADERS]
        if zipped:
            headers.append(("Content-Encoding", "gzip"))
        if environ.get("HTTP_IF_NONE_MATCH") == etag:
            start_response("304 Not Modified", headers[1:4])
            return []
        return _send(environ, start_response, "200 OK", headers, packed if zipped else data)


def _readable(environ, start_response) -> bool:
    if environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD"):
        return True
    start_response("405 Method Not Allowed", [("Content-Type", "text/plain; charset=utf-8"),
                                              ("Allow", "GET, HEAD"),
                                              ("Content-Length", "19"), *SECURITY_HEADERS])
    return False


def _send(environ, start_response, status: str, headers: list, body: bytes):
    start_response(status, headers + [("Content-Length", str(len(body)))])
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def _redirect(environ, start_response, location: str):
    body = found_body(location).encode()
    return _send(environ, start_response, "302 Found",
                 [("Location", location), ("Content-Type", "text/html; charset=utf-8")], body)


def _not_found(start_response):
    body = b"404 page not found\n"
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                     ("Content-Length", str(len(body))), *SECURITY_HEADERS])
    return [body]
