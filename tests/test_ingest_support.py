"""Shared helpers of the ingestion tests: a stand-in server state (a Store, a settable
clock, a scenario-like object) and a real threaded HTTP server around the write blueprint.
Has no tests of its own."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from mockprom.api.write import make_write_blueprint
from mockprom.scenario.store import Store


class SettableClock:
    def __init__(self, now_ms: int):
        self.ms = now_ms

    def now_ms(self) -> int:
        return self.ms

    def advance(self, ms: int) -> None:
        self.ms += ms


class StandInState:
    """``version`` and ``server`` (a scenario's ``server:`` block as a dict) select the
    emulated version and the write settings (``remote_write``, ``otlp``, ``features``)."""

    def __init__(self, now_ms: int = 1_700_000_000_000, interval_ms: int = 15_000,
                 version: str | None = None, server: dict | None = None):
        from mockprom.scenario.model import ServerSettings

        self.store = Store()
        self.clock = SettableClock(now_ms)
        block = ServerSettings.model_validate({**(server or {}),
                                               **({"version": version} if version else {})})
        self.scenario = SimpleNamespace(interval=interval_ms, server=block)
        self.settings = SimpleNamespace(emulation=block.emulation())


def make_app(state: StandInState) -> Flask:
    app = Flask("ingest-test")
    app.register_blueprint(make_write_blueprint(lambda: state))
    return app


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


class Served:
    """The blueprint app on 127.0.0.1, port 0, served from a daemon thread."""

    def __init__(self, state: StandInState | None = None):
        self.state = state or StandInState()
        self.app = make_app(self.state)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True,
                                  request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
