"""Access to the server state from inside a request."""

from __future__ import annotations

from flask import current_app

STATE_KEY = "mockprom.state"


def get_state():
    """The ``ServerState`` of the app serving the current request."""
    return current_app.extensions[STATE_KEY]


def now_gotime():
    """The clock's now as a Go-style time (what ``api.now()`` gives Prometheus)."""
    from mockprom.api.params import GoTime

    ms = get_state().clock.now_ms()
    return GoTime(ms // 1000, (ms % 1000) * 1_000_000)
