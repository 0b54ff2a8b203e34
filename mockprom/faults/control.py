"""The control endpoints the fault layer serves itself, under ``/-/mockprom/``:

``GET|POST|DELETE faults``, ``DELETE faults/<id>``, ``GET timeline``,
``GET|DELETE requests`` (filters ``endpoint``, ``expr``, ``method``, ``fault``,
``since``, ``limit``). Answers are plain JSON; errors use Prometheus's envelope.
"""

from __future__ import annotations

import json
from typing import Callable, Optional
from urllib.parse import parse_qs

from mockprom import limits
from mockprom.faults.effects import JSON_TYPE, Reply, dumps
from mockprom.faults.engine import FaultEngine
from mockprom.faults.journal import RequestJournal
from mockprom.faults.rules import FaultRuleError
from mockprom.faults.units import parse_time_ms

FAULTS_PATH = "/-/mockprom/faults"
REQUESTS_PATH = "/-/mockprom/requests"
TIMELINE_PATH = "/-/mockprom/timeline"
MAX_BODY = limits.MAX_CONTROL_BYTES


def owns(path: str) -> bool:
    path = path.rstrip("/")
    return path in (FAULTS_PATH, REQUESTS_PATH, TIMELINE_PATH) or path.startswith(FAULTS_PATH + "/")


def _json(status: int, doc: object) -> Reply:
    return Reply(status, [("Content-Type", JSON_TYPE)], dumps(doc))


def _error(status: int, error_type: str, message: str, **extra) -> Reply:
    return _json(status, {"status": "error", "errorType": error_type, "error": message, **extra})


def _not_allowed(allowed: str) -> Reply:
    reply = _error(405, "bad_data", f"method not allowed; use {allowed}")
    reply.set_header("Allow", allowed)
    return reply


class ControlAPI:
    def __init__(self, engine: FaultEngine, journal: Optional[RequestJournal],
                 authorize: Optional[Callable[[dict], bool]] = None):
        self.engine = engine
        self.journal = journal
        self.authorize = authorize

    def handle(self, environ: dict) -> Reply:
        if self.authorize is not None and not self.authorize(environ):
            reply = _error(401, "unauthorized", "missing or invalid control token")
            reply.set_header("WWW-Authenticate", 'Bearer realm="mockprom"')
            return reply
        path = environ.get("PATH_INFO", "").rstrip("/")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if path == FAULTS_PATH:
            return self._faults(method, environ)
        if path.startswith(FAULTS_PATH + "/"):
            if method != "DELETE":
                return _not_allowed("DELETE")
            rule_id = path[len(FAULTS_PATH) + 1:]
            if self.engine.remove(rule_id):
                return _json(200, {"deleted": rule_id})
            return _error(404, "not_found", f"no fault rule with id {rule_id!r}")
        if path == TIMELINE_PATH:
            if method not in ("GET", "HEAD"):
                return _not_allowed("GET")
            return _json(200, self.engine.timeline_state())
        return self._requests(method, environ)

    def _faults(self, method: str, environ: dict) -> Reply:
        if method in ("GET", "HEAD"):
            return _json(200, self.engine.describe())
        if method == "DELETE":
            return _json(200, {"deleted": self.engine.clear()})
        if method != "POST":
            return _not_allowed("GET, POST, DELETE")
        try:
            doc = json.loads(_read_body(environ) or b"null")
        except _TooLarge:
            return _error(413, "bad_data", f"request body too large: the limit is {MAX_BODY} bytes")
        except ValueError as exc:
            return _error(400, "bad_data", f"invalid JSON body: {exc}")
        try:
            if isinstance(doc, list):
                rules = self.engine.add_many(doc)
                return _json(201, {"ids": [r.id for r in rules]})
            rule = self.engine.add(doc)
        except FaultRuleError as exc:
            return _error(400, "bad_data", str(exc), problems=exc.problems)
        return _json(201, {"id": rule.id, "name": rule.name})

    def _requests(self, method: str, environ: dict) -> Reply:
        if self.journal is None:
            return _error(404, "not_found", "this server keeps no request journal")
        if method == "DELETE":
            return _json(200, {"deleted": self.journal.clear()})
        if method not in ("GET", "HEAD"):
            return _not_allowed("GET, DELETE")
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        since = limit = None
        try:
            if query.get("since"):
                since = parse_time_ms(query["since"]) / 1000.0
        except ValueError:
            return _error(400, "bad_data", f'invalid parameter "since": cannot parse {query["since"]!r} to a valid timestamp')
        if query.get("limit"):
            try:
                limit = int(query["limit"])
                if limit < 0:
                    raise ValueError
            except ValueError:
                return _error(400, "bad_data", f'invalid parameter "limit": expected a non-negative integer, got {query["limit"]!r}')
        entries = self.journal.entries(endpoint=query.get("endpoint"), expr=query.get("expr"),
                                       method=query.get("method"), fault=query.get("fault"),
                                       since=since, limit=limit)
        return _json(200, entries)


class _TooLarge(Exception):
    pass


def _read_body(environ: dict) -> bytes:
    """The body, up to MAX_BODY bytes (``_TooLarge`` beyond, read no further)."""
    length = limits.content_length(environ)
    stream = environ.get("wsgi.input")
    if stream is None or length == 0:
        return b""
    if length > MAX_BODY:
        raise _TooLarge()
    if length < 0 and not environ.get("wsgi.input_terminated"):
        return b""
    raw = stream.read(length if length > 0 else MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise _TooLarge()
    return raw
