"""``/api/v1/notifications`` and ``/api/v1/notifications/live`` (Prometheus 3.x): status
notifications about the server itself, as a JSON list and as Server-Sent Events.

mockprom raises the notification a real Prometheus raises when its configuration fails to
reload ("Configuration reload has failed.") when a scenario replacement through the
control API is refused, and withdraws it on the next successful one.

The live stream sends each active notification on connect and each change after, one
``data: {"text":...,"date":...,"active":...}`` event per notification (the notification
itself, not an envelope: that is what a real 3.5.3 sends, where the documentation shows
an envelope). A real server then sends nothing until something changes; mockprom opens
the stream with an SSE comment line (``:``, which EventSource clients ignore: a WSGI
server sends the headers only with the first bytes) and sends another every
``KEEPALIVE_S`` seconds, so that it notices disconnected clients. At most ``MAX_SUBSCRIBERS`` streams are open at
once (Prometheus's ``--web.max-notifications-subscribers`` default); more get 204.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from typing import Optional

import orjson
from flask import Blueprint, Response

from mockprom.api.context import get_state
from mockprom.api.envelope import success
from mockprom.api.format import go_compat, rfc3339_nano

bp = Blueprint("notifications", __name__)

RELOAD_FAILED = "Configuration reload has failed."
MAX_SUBSCRIBERS = 16
KEEPALIVE_S = 15.0
PATHS = ("/api/v1/notifications", "/api/v1/notifications/live")


@dataclass(frozen=True)
class Notification:
    text: str
    date_ms: int
    active: bool = True

    def as_json(self) -> bytes:
        return go_compat(orjson.dumps({"text": self.text, "date": rfc3339_nano(self.date_ms),
                                       "active": self.active}))


class Notifications:
    """The active notifications of one server and the live subscribers' queues."""

    def __init__(self, max_subscribers: int = MAX_SUBSCRIBERS):
        self._lock = threading.Lock()
        self._active: dict[str, Notification] = {}
        self._subscribers: list[queue.Queue] = []
        self.max_subscribers = max_subscribers
        self.closed = False

    def active(self) -> list[Notification]:
        with self._lock:
            return list(self._active.values())

    def add(self, text: str, now_ms: Optional[int] = None) -> None:
        n = Notification(text, int(time.time() * 1000) if now_ms is None else now_ms)
        with self._lock:
            self._active[text] = n
            subs = list(self._subscribers)
        for q in subs:
            q.put(n)

    def remove(self, text: str) -> None:
        with self._lock:
            n = self._active.pop(text, None)
            subs = list(self._subscribers)
        if n is not None:
            gone = Notification(n.text, n.date_ms, active=False)
            for q in subs:
                q.put(gone)

    def subscribe(self) -> Optional[queue.Queue]:
        """A queue primed with the active notifications, or None when full."""
        with self._lock:
            if len(self._subscribers) >= self.max_subscribers:
                return None
            q: queue.Queue = queue.Queue()
            for n in self._active.values():
                q.put(n)
            self._subscribers.append(q)
            return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            if q in self._subscribers:
                self._subscribers.remove(q)

    def close(self) -> None:
        """End every live stream (the server is stopping), as Prometheus's streams end
        when it shuts down."""
        with self._lock:
            self.closed = True
            subs = list(self._subscribers)
        for q in subs:
            q.put(None)


def close_streams(state) -> None:
    """End the live notification streams of a stopping server."""
    found = getattr(state, "notifications", None)
    if found is not None:
        found.close()


def hub(state) -> Notifications:
    """The notifications of a server (created on first use)."""
    found = getattr(state, "notifications", None)
    if found is None:
        found = state.notifications = Notifications()
    return found


@bp.route("/api/v1/notifications", methods=("GET",))
def notifications():
    body = b"[" + b",".join(n.as_json() for n in hub(get_state()).active()) + b"]"
    return success(data_json=body)


@bp.route("/api/v1/notifications/live", methods=("GET",))
def live():
    notes = hub(get_state())
    q = None if notes.closed else notes.subscribe()
    if q is None:
        resp = Response(status=204)
        del resp.headers["Content-Type"]
        return resp

    def events():
        try:
            # Prometheus sends its headers at once; a WSGI server sends them with the first
            # non-empty chunk (PEP 3333), so the stream opens with an SSE comment
            yield b":\n\n"
            while True:
                try:
                    n = q.get(timeout=KEEPALIVE_S)
                except queue.Empty:
                    yield b":\n\n"
                    continue
                if n is None:  # the server is stopping
                    return
                yield b"data: " + n.as_json() + b"\n\n"
        finally:
            notes.unsubscribe(q)

    # (Prometheus also sends "Connection: keep-alive"; a WSGI application may not set
    # hop-by-hop headers, the server keeps the connection open anyway.)
    resp = Response(events(), status=200, content_type="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    return resp
