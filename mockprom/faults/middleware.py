"""The fault layer as WSGI middleware, outermost around the app:

    app.wsgi_app = FaultMiddleware(app.wsgi_app, faults, journal, authorize=...)

It journals every request, applies the rule the engine picks, and serves the fault and
journal control endpoints itself (neither faulted nor journaled).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Iterator, Optional

from mockprom.faults import effects, transport
from mockprom.faults.control import ControlAPI, owns
from mockprom.faults.endpoints import is_control
from mockprom.faults.engine import FaultEngine, Firing
from mockprom.faults.journal import RequestJournal
from mockprom.faults.request import read_request

# Set in ``environ`` when the middleware answers (or alters the answer to) a request and so
# reports it through ``on_answer``: the app must not count that request itself.
ANSWERED_KEY = "mockprom.faults.answered"
# Set when a fired rule shapes the bytes on the wire (dribble, truncate): layers outside
# (compression) must send them as they are.
IDENTITY_KEY = "mockprom.faults.identity"


class FaultMiddleware:
    def __init__(self, app: Callable, engine: FaultEngine,
                 journal: Optional[RequestJournal] = None,
                 authorize: Optional[Callable[[dict], bool]] = None,
                 on_fault: Optional[Callable[[dict], None]] = None,
                 on_answer: Optional[Callable[[dict, int], None]] = None):
        """``authorize(environ)`` guards the control endpoints; ``on_fault(info)`` is
        called once per fired rule with ``{"fault", "endpoint", "effects"}`` (e.g. to
        count ``mockprom_faults_injected_total``). ``on_answer(environ, status)`` is
        called once for every request the middleware answers itself or alters (a fired
        rule, its own control endpoints), with the status sent, 0 when the connection was
        dropped without one (reset, empty, hang); such requests carry
        ``environ[ANSWERED_KEY]`` so the app does not count them again (e.g. in
        ``mockprom_http_requests_total``). Requests passed through untouched are the
        app's to count."""
        self.app = app
        self.on_fault = on_fault
        self.on_answer = on_answer
        self.engine = engine
        self.journal = journal
        self.control = ControlAPI(engine, journal, authorize)

    def close(self) -> None:
        """Release held requests (call when the server stops)."""
        self.engine.release()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if is_control(path):
            if owns(path):
                environ[ANSWERED_KEY] = True
                reply = self.control.handle(environ)
                self._answered(environ, reply.status)
                start_response(reply.status_line,
                               reply.headers + [("Content-Length", str(len(reply.body)))])
                return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else reply.body]
            return self.app(environ, start_response)
        started = time.monotonic()
        req = read_request(environ)
        entry = self.journal.start(req, self.engine.now_ms()) if self.journal is not None else None
        firing = self.engine.decide(req)
        if firing is None:
            return self._pass_through(environ, start_response, entry, started)
        self._note(entry, fault=firing.rule.label, effects=firing.rule.effects,
                   fault_latency_ms=round(firing.latency_s * 1000, 3) if firing.rule.latency else None)
        if self.on_fault is not None:
            self.on_fault({"fault": firing.rule.label, "endpoint": req.endpoint,
                           "effects": firing.rule.effects})
        environ[ANSWERED_KEY] = True
        return self._apply(firing, req.endpoint, environ, start_response, entry, started)

    # --- journal helpers ----------------------------------------------------------------

    def _note(self, entry: Optional[dict], **fields) -> None:
        if entry is not None and self.journal is not None:
            self.journal.update(entry, **fields)

    def _answered(self, environ: dict, status: int) -> None:
        if self.on_answer is not None:
            self.on_answer(environ, status)

    def _elapsed(self, started: float) -> float:
        return round((time.monotonic() - started) * 1000, 3)

    # --- no fault -----------------------------------------------------------------------

    def _pass_through(self, environ, start_response, entry, started):
        def recording_start_response(status, headers, exc_info=None):
            self._note(entry, status=_code(status))
            return start_response(status, headers, exc_info)

        result = self.app(environ, recording_start_response)
        self._note(entry, duration_ms=self._elapsed(started))
        return _Closing(result, lambda: self._note(entry, duration_ms=self._elapsed(started)))

    # --- a rule fired -------------------------------------------------------------------

    def _apply(self, firing: Firing, endpoint: str, environ, start_response, entry, started):
        rule = firing.rule
        if firing.latency_s > 0:
            self.engine.sleep(firing.latency_s)
        if rule.transport in ("reset", "empty", "hang"):
            self._note(entry, status=None, duration_ms=self._elapsed(started))
            self._answered(environ, 0)  # counted before the drop raises
            try:
                if rule.transport == "reset":
                    transport.reset(environ)
                elif rule.transport == "empty":
                    transport.empty(environ)
                else:
                    transport.hang(environ, min(rule.hang_s, self.engine.hang_max_s), self.engine.sleep)
            finally:
                self._note(entry, duration_ms=self._elapsed(started))
        reply = self._reply(firing, endpoint, environ)
        if rule.dribble or rule.transport == "truncate":
            environ[IDENTITY_KEY] = True
        self._note(entry, status=reply.status)
        self._answered(environ, reply.status)
        if reply.notes:
            self._note(entry, effects=rule.effects + reply.notes)
        headers = reply.headers + [("Content-Length", str(len(reply.body)))]
        start_response(reply.status_line, headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            self._note(entry, duration_ms=self._elapsed(started))
            return []
        chunks = effects.body_chunks(reply.body, truncate=rule.transport == "truncate",
                                     dribble=rule.dribble, sleep=self.engine.sleep)
        return self._timed(chunks, entry, started)

    def _reply(self, firing: Firing, endpoint: str, environ) -> effects.Reply:
        rule = firing.rule
        error = rule.error_reply()
        if error is not None:
            status, error_type, message = error
            reply = effects.error_reply(status, error_type, message, endpoint,
                                        retry_after=rule.retry_after)
        else:
            reply = effects.call_app(self.app, environ)
            if rule.drop_series is not None:
                effects.drop_series(reply, rule.drop_series, firing.seed, firing.key)
            if rule.error == "inconsistent":
                reply.status = rule.status or 503
        if rule.warnings or rule.infos:
            effects.add_notes(reply, rule.warnings, rule.infos)
        if rule.transport == "malformed":
            effects.malform(reply)
            if error is None and rule.error != "inconsistent":
                reply.status = 200
        if rule.retry_after is not None and reply.header("Retry-After") is None:
            reply.set_header("Retry-After", str(int(round(rule.retry_after))))
        return reply

    def _timed(self, chunks: Iterator[bytes], entry, started) -> Iterator[bytes]:
        try:
            for chunk in chunks:
                self._note(entry, duration_ms=self._elapsed(started))
                yield chunk
        finally:
            self._note(entry, duration_ms=self._elapsed(started))


def _code(status: str) -> Optional[int]:
    try:
        return int(str(status).split(None, 1)[0])
    except ValueError:
        return None


class _Closing:
    """Iterate a WSGI result and run a callback after its ``close``."""

    def __init__(self, result: Iterable[bytes], on_close: Callable[[], None]):
        self._result = result
        self._on_close = on_close

    def __iter__(self):
        return iter(self._result)

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._on_close()
