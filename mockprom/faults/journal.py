"""The request journal: every request (but the control API's), bounded and thread-safe.

Entries never hold credentials: the Authorization, Cookie and proxy headers are never
read into them, and parameters and headers whose name looks like a secret (``auth``,
``pass``, ``token``, ``secret``, ``key``, ``credential``, ``session``, ``signature``:
``Grafana-Auth``, ``X-Api-Key``, ``pass=``) are redacted. Entries are bounded too: a
value keeps its first ``MAX_VALUE_CHARS`` characters (then ``…(N more)``), at most
``MAX_FIELDS`` parameters and headers are kept, an expression its first
``MAX_EXPR_CHARS``, and the oldest entries go when the journal holds more than
``MAX_BYTES`` of them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Optional

from mockprom.faults.request import RequestInfo
from mockprom.redact import REDACTED, is_secret

_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
MAX_VALUE_CHARS = 1024
MAX_EXPR_CHARS = 64 * 1024  # the longest query the parser reads
MAX_FIELDS = 64  # parameters (and values of one), headers
MAX_BYTES = 32 * 1024 * 1024


def clip(value: str, limit: int = MAX_VALUE_CHARS) -> str:
    """``value`` cut to ``limit`` characters, saying how much was left out."""
    if len(value) <= limit:
        return value
    return value[:limit] + f"…({len(value) - limit} more)"


def redact_params(params: dict[str, list[str]]) -> dict[str, object]:
    """Query and form parameters for the journal: one value as a string, repeated
    parameters (``match[]``) as a list, secrets redacted, long values cut."""
    out: dict[str, object] = {}
    for name, values in list(params.items())[:MAX_FIELDS]:
        if is_secret(name):
            values = [REDACTED for _ in values]
        values = [clip(v) for v in values[:MAX_FIELDS]]
        out[clip(name)] = values[0] if len(values) == 1 and not name.endswith("[]") else values
    return out


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    kept = [(name, value) for name, value in headers.items() if name not in _SECRET_HEADERS]
    return {clip(name): (REDACTED if is_secret(name) else clip(value))
            for name, value in kept[:MAX_FIELDS]}


def _size(entry: dict) -> int:
    """Roughly the characters an entry holds."""
    n = 256 + len(entry["expr"] or "") + len(entry["path"])
    for v in entry["params"].values():
        n += sum(map(len, v)) if isinstance(v, list) else len(v)
    return n + sum(len(k) + len(v) for k, v in entry["headers"].items())


class RequestJournal:
    """A bounded, thread-safe list of request entries, oldest first."""

    def __init__(self, maxlen: int = 10_000, max_bytes: int = MAX_BYTES):
        self._entries: deque[dict] = deque()
        self._sizes: deque[int] = deque()
        self._maxlen = maxlen
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        self._seq = 0

    def start(self, req: RequestInfo, scenario_time_ms: Optional[int] = None) -> dict:
        """Record a request as it arrives; the middleware fills status and duration."""
        entry = {
            "id": 0,
            "time": round(time.time(), 3),
            "scenario_time": None if scenario_time_ms is None else scenario_time_ms / 1000.0,
            "method": req.method,
            "path": clip(req.path),
            "endpoint": req.endpoint,
            "params": redact_params(req.params),
            "expr": None if req.expr is None else clip(req.expr, MAX_EXPR_CHARS),
            "headers": safe_headers(req.headers),
            "status": None,
            "fault": None,
            "effects": [],
            "fault_latency_ms": None,
            "duration_ms": None,
        }
        size = _size(entry)
        with self._lock:
            self._seq += 1
            entry["id"] = self._seq
            self._entries.append(entry)
            self._sizes.append(size)
            self._bytes += size
            while len(self._entries) > self._maxlen or (
                    self._bytes > self._max_bytes and len(self._entries) > 1):
                self._entries.popleft()
                self._bytes -= self._sizes.popleft()
        return entry

    def update(self, entry: dict, **fields) -> None:
        with self._lock:
            entry.update(fields)

    def entries(self, *, endpoint: Optional[str] = None, expr: Optional[str] = None,
                since: Optional[float] = None, limit: Optional[int] = None,
                method: Optional[str] = None, fault: Optional[str] = None) -> list[dict]:
        """Copies of the entries, oldest first. ``expr`` must equal the entry's expr;
        ``since`` is unix seconds (entries at or after it); ``limit`` keeps the first N."""
        with self._lock:
            items = [dict(e) for e in self._entries]
        if endpoint is not None:
            items = [e for e in items if e["endpoint"] == endpoint]
        if method is not None:
            items = [e for e in items if e["method"] == method.upper()]
        if expr is not None:
            items = [e for e in items if e["expr"] == expr]
        if fault is not None:
            items = [e for e in items if e["fault"] == fault]
        if since is not None:
            items = [e for e in items if e["time"] >= since]
        if limit is not None:
            items = items[:limit]
        return items

    def clear(self) -> int:
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            self._sizes.clear()
            self._bytes = 0
            return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
