"""``MockPrometheus``: a mock Prometheus server in a background thread.

    with MockPrometheus(scenario="checkout") as prom:
        requests.get(prom.url + "/api/v1/query", params={"query": "up"})

The socket is bound in the caller's thread (so ``.url`` is valid at once, port 0 picks a
free port); requests are served by mockprom's production server (``mockprom.serving``:
epoll, a bounded thread pool, keep-alive) from a daemon thread. ``stop()`` returns in a
few milliseconds.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import threading
from collections import Counter
from typing import Optional

from mockprom.app import create_app
from mockprom.serving import HttpServer, ServerOptions


class MockPrometheus:
    """A running mock server. ``scenario``: a path, YAML/JSON text, dict, ``Scenario``, or
    None for the embedded default. ``version``: the Prometheus version to emulate
    (``"3.5.3"``, ``"2.42.0"``), overriding the scenario's ``server.version``.
    ``options``: the server's worker threads, connection cap and idle timeout.
    ``control_token``: what ``/-/mockprom/`` asks for over HTTP (the methods of this
    object need none); ``allowed_hosts``: further ``Host`` names the control API answers
    (``mockprom.api.guard``)."""

    def __init__(self, scenario=None, *, host: str = "127.0.0.1", port: int = 0,
                 verbose: bool = False, version: Optional[str] = None,
                 options: ServerOptions = ServerOptions(),
                 control_token: Optional[str] = None, allowed_hosts=()):
        self.app = create_app(scenario, verbose=verbose, version=version,
                              control_token=control_token, bind_host=host,
                              allowed_hosts=allowed_hosts)
        self.state = self.app.extensions["mockprom.state"]
        self._server = HttpServer(self.app, host, port, options)
        self.host = host
        self.port = self._server.port
        self._thread: Optional[threading.Thread] = None
        self.start()

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> "MockPrometheus":
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name=f"mockprom-{self.port}", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        release_held_requests(self.app)
        self._server.stop()
        thread.join(timeout=1.0)

    close = stop

    def __enter__(self) -> "MockPrometheus":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # -- the same operations as the control API ---------------------------------------
    @property
    def scenario(self):
        return self.state.scenario

    @property
    def store(self):
        return self.state.store

    def load_scenario(self, scenario) -> None:
        """Replace the scenario atomically (raises ``ScenarioError``; the old one stays)."""
        self.state.replace_scenario(scenario)

    def reset(self) -> None:
        """Rebuild from the current scenario: ingested data, deletes, clock changes,
        faults added since and the request journal go."""
        self.state.reset()
        self.journal.clear()

    def now_ms(self) -> int:
        return self.state.clock.now_ms()

    def set_time(self, t) -> int:
        """Freeze the clock at ``t``: unix seconds, a ``datetime``, or RFC3339 text.
        Returns the new now in ms."""
        return self.state.clock.set(to_ms(t))

    def advance(self, d) -> int:
        """Move the clock by ``d``: seconds, a ``timedelta``, or a duration like "5m"."""
        return self.state.clock.advance(duration_ms(d))

    # -- faults and the request journal (the same as /-/mockprom/faults, /requests) ----
    @property
    def faults(self):
        return self.app.extensions["mockprom.faults"]

    @property
    def journal(self):
        return self.app.extensions["mockprom.journal"]

    def add_fault(self, rule: Optional[dict] = None, **fields) -> "FaultHandle":
        """Add a fault rule (a dict, or keyword arguments: ``add_fault(match={"endpoint":
        "query"}, error="unavailable", times=2)``). Returns a ``FaultHandle``: the rule's
        id (a ``str``), with ``.remove()``, usable as a context manager that removes the
        rule on exit. Raises ``FaultRuleError`` listing every problem."""
        raw = dict(rule or {})
        raw.update(fields)
        return FaultHandle(self.faults.add(raw).id, self)

    def remove_fault(self, rule_id: str) -> bool:
        return self.faults.remove(str(rule_id))

    def clear_faults(self) -> int:
        return self.faults.clear()

    def requests(self, **filters) -> list[dict]:
        """The request journal, oldest first (filters: endpoint, expr, since, limit,
        method, fault)."""
        return self.journal.entries(**filters)

    def clear_requests(self) -> int:
        return self.journal.clear()

    def assert_queried(self, expr: Optional[str] = None, times: Optional[int] = None,
                       endpoint: Optional[str] = None) -> list[dict]:
        """Assert the server saw ``expr`` (on ``endpoint``), exactly ``times`` times if
        given (at least once otherwise); returns the matching journal entries. The
        failure message lists the near misses: similar expressions that were sent (or
        the same one on another endpoint), with counts."""
        __tracebackhide__ = True
        entries = self.journal.entries()
        seen = [e for e in entries
                if (expr is None or e["expr"] == expr) and (endpoint is None or e["endpoint"] == endpoint)]
        if (times is None and seen) or (times is not None and len(seen) == times):
            return seen
        raise AssertionError(queried_message(expr, endpoint, times, seen, entries))

    def __repr__(self) -> str:
        return f"<MockPrometheus {self.url} scenario={getattr(self.scenario, 'name', '?')!r}>"


def release_held_requests(app) -> None:
    """Release requests that faults hold (hang, latency, dribble) and end live
    notification streams, so that a stopping server's workers end at once."""
    from mockprom.api.context import STATE_KEY
    from mockprom.api.notifications import close_streams

    mw = app.extensions.get("mockprom.fault_middleware")
    if mw is not None and hasattr(mw, "close"):
        mw.close()
    state = app.extensions.get(STATE_KEY)
    if state is not None:
        close_streams(state)


class FaultHandle(str):
    """The id of a fault rule added with ``MockPrometheus.add_fault`` (it is that id, as
    a ``str``), with ``remove()``; as a context manager it removes the rule on exit."""

    def __new__(cls, rule_id: str, server: "MockPrometheus"):
        obj = super().__new__(cls, rule_id)
        obj._server = server
        return obj

    @property
    def id(self) -> str:
        return str(self)

    def remove(self) -> bool:
        """Remove the rule; False when it was already gone."""
        return self._server.remove_fault(str(self))

    def __enter__(self) -> "FaultHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def queried_message(expr, endpoint, times, seen: list, entries: list) -> str:
    """The failure message of ``assert_queried``: what was expected, what was seen, and
    the near misses (similar expressions sent, with counts)."""
    what = (f"expr={expr!r}" if expr is not None else "any expression") + \
        (f" on endpoint {endpoint!r}" if endpoint else "")
    want = f"exactly {times}" if times is not None else "at least 1"
    lines = [f"expected {want} request(s) with {what}, got {len(seen)}."]
    counts = Counter((e["endpoint"], e["expr"]) for e in entries if e.get("expr") is not None)
    if expr is not None:
        if endpoint is not None:
            elsewhere = Counter(e["endpoint"] for e in entries
                                if e["expr"] == expr and e["endpoint"] != endpoint)
            for ep, n in sorted(elsewhere.items(), key=str):
                lines.append(f"  the same expression was sent {n} time(s) to {ep!r}")
        exprs = sorted({x for _, x in counts})
        close = difflib.get_close_matches(expr, exprs, n=5, cutoff=0.5)
        squashed = "".join(expr.split())
        close += [x for x in exprs if "".join(x.split()) == squashed and x not in close and x != expr]
        close = [x for x in close if x != expr]
        if close:
            lines.append("Near misses (similar expressions sent):")
            for x in close:
                per = Counter({ep: n for (ep, e), n in counts.items() if e == x})
                where = ", ".join(f"{ep}: {n}" for ep, n in sorted(per.items(), key=str))
                lines.append(f"  {sum(per.values())} x {x!r} ({where})")
    if counts:
        lines.append("Expressions sent (most frequent first):")
        for (ep, x), n in counts.most_common(10):
            lines.append(f"  {n} x {x!r} ({ep})")
        if len(counts) > 10:
            lines.append(f"  ... and {len(counts) - 10} more")
    else:
        by_endpoint = Counter(e["endpoint"] for e in entries)
        lines.append("No PromQL expression was sent" + (
            "; requests: " + ", ".join(f"{ep}: {n}" for ep, n in sorted(by_endpoint.items(), key=str))
            if by_endpoint else " (no request at all)") + ".")
    return "\n".join(lines)


def to_ms(t) -> int:
    """Milliseconds from unix seconds, a datetime (naive = UTC) or RFC3339/unix text."""
    if isinstance(t, _dt.datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=_dt.timezone.utc)
        return round(t.timestamp() * 1000)
    if isinstance(t, (int, float)) and not isinstance(t, bool):
        return round(float(t) * 1000)
    if isinstance(t, str):
        from mockprom.api.params import parse_time

        return parse_time(t.strip()).ms()
    raise TypeError(f"not a time: {t!r}")


def duration_ms(d) -> int:
    if isinstance(d, _dt.timedelta):
        return round(d.total_seconds() * 1000)
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        return round(float(d) * 1000)
    if isinstance(d, str):
        from mockprom.scenario.durations import parse_duration_ms

        return parse_duration_ms(d, allow_negative=True)
    raise TypeError(f"not a duration: {d!r}")
