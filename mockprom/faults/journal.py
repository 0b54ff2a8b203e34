"""The request journal: every request (but the control API's), bounded and thread-safe.

Entries never hold credentials: the Authorization header is never read into them and
parameters whose name contains ``password``, ``token`` or ``secret`` are redacted.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from typing import Optional

from mockprom.faults.request import RequestInfo

REDACTED = "<redacted>"
_SECRET_NAME = re.compile(r"password|passwd|token|secret|api[_-]?key|credential", re.I)
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-api-key"}


def redact_params(params: dict[str, list[str]]) -> dict[str, object]:
    """Query and form parameters for the journal: one value as a string, repeated
    parameters (``match[]``) as a list, secrets redacted."""
    out: dict[str, object] = {}
    for name, values in params.items():
        if _SECRET_NAME.search(name):
            values = [REDACTED for _ in values]
        out[name] = values[0] if len(values) == 1 and not name.endswith("[]") else list(values)
    return out


def safe_headers(headers: dict[str, str]) -> dict[str, str]:
    return {name: (REDACTED if _SECRET_NAME.search(name) else value)
            for name, value in headers.items() if name not in _SECRET_HEADERS}


class RequestJournal:
    """A bounded, thread-safe list of request entries, oldest first."""

    def __init__(self, maxlen: int = 10_000):
        self._entries: deque[dict] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._seq = 0

    def start(self, req: RequestInfo, scenario_time_ms: Optional[int] = None) -> dict:
        """Record a request as it arrives; the middleware fills status and duration."""
        entry = {
            "id": 0,
            "time": round(time.time(), 3),
            "scenario_time": None if scenario_time_ms is None else scenario_time_ms / 1000.0,
            "method": req.method,
            "path": req.path,
            "endpoint": req.endpoint,
            "params": redact_params(req.params),
            "expr": req.expr,
            "headers": safe_headers(req.headers),
            "status": None,
            "fault": None,
            "effects": [],
            "fault_latency_ms": None,
            "duration_ms": None,
        }
        with self._lock:
            self._seq += 1
            entry["id"] = self._seq
            self._entries.append(entry)
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
            return count

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
