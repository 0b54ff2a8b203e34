"""Answer-shaping effects: error envelopes, notes and dropped series added to a real
answer, malformed and truncated bodies, and dribbled delivery."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Callable, Iterable, Iterator, Optional

from mockprom.faults.triggers import unit_draw

JSON_TYPE = "application/json"
_PLAIN_ENDPOINTS = {"health", "ready", "metrics", "federate"}


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    notes: list[str] = field(default_factory=list)  # what was done, for the journal

    @property
    def status_line(self) -> str:
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        return f"{self.status} {phrase}"

    def set_header(self, name: str, value: str) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        self.headers.append((name, value))

    def header(self, name: str) -> Optional[str]:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def dumps(obj: object) -> bytes:
    try:
        import orjson
        return orjson.dumps(obj)
    except (ImportError, TypeError):
        return json.dumps(obj, separators=(",", ":")).encode()


def error_reply(status: int, error_type: str, message: str, endpoint: str,
                warnings: Iterable[str] = (), retry_after: Optional[float] = None) -> Reply:
    """A Prometheus error envelope (plain text for the health, ready and exposition paths)."""
    if endpoint in _PLAIN_ENDPOINTS:
        body, ctype = (message + "\n").encode(), "text/plain; charset=utf-8"
    else:
        doc: dict = {"status": "error", "errorType": error_type, "error": message}
        if warnings:
            doc["warnings"] = list(warnings)
        body, ctype = dumps(doc), JSON_TYPE
    reply = Reply(status, [("Content-Type", ctype)], body)
    if status == 429 or retry_after is not None:
        seconds = 1 if retry_after is None else retry_after
        reply.set_header("Retry-After", str(max(0, int(round(seconds)))))
    return reply


def call_app(app: Callable, environ: dict) -> Reply:
    """Run the wrapped WSGI app and collect its whole answer."""
    captured: dict = {}
    chunks: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        if exc_info and captured:
            raise exc_info[1].with_traceback(exc_info[2])
        captured["status"], captured["headers"] = status, list(headers)
        return chunks.append

    result = app(environ, start_response)
    try:
        for chunk in result:
            chunks.append(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status = int(str(captured.get("status", "500")).split(None, 1)[0])
    headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
    return Reply(status, headers, b"".join(chunks))


def _json_body(reply: Reply) -> Optional[dict]:
    ctype = (reply.header("Content-Type") or "").lower()
    if "json" not in ctype or reply.header("Content-Encoding"):
        return None
    try:
        doc = json.loads(reply.body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def add_notes(reply: Reply, warnings: Iterable[str], infos: Iterable[str]) -> None:
    """Append warnings and infos to a JSON answer (success or error)."""
    doc = _json_body(reply)
    if doc is None:
        return
    for key, items in (("warnings", list(warnings)), ("infos", list(infos))):
        if items:
            doc[key] = list(doc.get(key) or []) + items
    reply.body = dumps(doc)


def drop_series(reply: Reply, share: float, seed: int, key: str) -> None:
    """Remove a seeded share of the series of a successful answer, with a warning.

    The same series are dropped on every request (as when a store stays unreachable):
    each series' rank is a hash of (seed, rule, its labels).
    """
    doc = _json_body(reply)
    if doc is None or doc.get("status") != "success":
        return
    data = doc.get("data")
    if isinstance(data, dict) and data.get("resultType") in ("vector", "matrix"):
        items = data.get("result") or []
    elif isinstance(data, list):
        items = data
    else:
        return
    total = len(items)
    count = int(round(share * total))
    if count <= 0:
        return

    def rank(item: object) -> float:
        labels = item.get("metric", item) if isinstance(item, dict) else item
        return unit_draw(seed, key, 0, "drop:" + json.dumps(labels, sort_keys=True))

    dropped = set(sorted(range(total), key=lambda i: rank(items[i]))[:count])
    kept = [item for i, item in enumerate(items) if i not in dropped]
    if isinstance(data, dict):
        data["result"] = kept
    else:
        doc["data"] = kept
    note = f"partial response: {count} of {total} series dropped (mockprom fault)"
    doc["warnings"] = list(doc.get("warnings") or []) + [note]
    reply.body = dumps(doc)
    reply.notes.append(f"dropped {count} of {total} series")


def malform(reply: Reply) -> None:
    """Make the body invalid JSON (its opening brace becomes a bracket), answered 200."""
    body = reply.body
    at = body.find(b"{")
    reply.body = body[:at] + b"[" + body[at + 1:] if at >= 0 else b'{"status":"success","data":'
    reply.set_header("Content-Type", JSON_TYPE)


def body_chunks(body: bytes, *, truncate: bool, dribble: Optional[tuple[int, float]],
                sleep: Callable[[float], bool]) -> Iterator[bytes]:
    """The body as the client will get it: maybe only its first half (the caller still
    promises the full Content-Length), maybe in N chunks spread over a duration."""
    sent = body[: len(body) // 2] if truncate else body
    if dribble is None:
        if sent:
            yield sent
        return
    chunks, over = dribble
    chunks = max(1, min(chunks, len(sent) or 1))
    size = -(-len(sent) // chunks) if sent else 0
    pause = over / chunks
    yield b""  # the headers go out at once; the body then trickles
    for i in range(chunks):
        # sleep before each chunk, so the last byte arrives no sooner than ``over``
        if not sleep(pause):
            sleep = lambda _s: True  # released: send the rest at once  # noqa: E731
        piece = sent[i * size:(i + 1) * size]
        if piece:
            yield piece
