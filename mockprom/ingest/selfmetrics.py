"""mockprom's own metrics (``GET /metrics``), in a registry per app (never the global one,
so several servers in one process keep separate counts).

``mockprom_http_requests_total{endpoint, code}`` counts every request once, with the
status it got: Flask counts those it answers; the fault middleware counts those it answers
or alters itself (``record_answer``: an injected error, an ``inconsistent`` 503 around a
real body, its own control endpoints), and a connection dropped without an answer (a
``reset``, ``empty`` or ``hang`` fault) as code ``"0"``. ``endpoint`` is the URL rule
(``/api/v1/label/<name>/values``), ``other`` when none matched."""

from __future__ import annotations

import threading
import time
from typing import Callable

EXTENSION_KEY = "mockprom.self_metrics"

_COUNTERS = (  # name (without _total), help, label names
    ("mockprom_http_requests", "HTTP requests answered, by endpoint and status code.",
     ("endpoint", "code")),
    ("mockprom_faults_injected", "Requests a fault rule acted on.", ()),
    ("mockprom_samples_ingested", "Samples stored by remote write and pushes.", ("source",)),
)


class SelfMetrics:
    """Counters kept as plain numbers under a lock (counting costs a dict update per
    request); ``prometheus_client`` renders them, loaded on the first ``/metrics``."""

    def __init__(self, count_series: Callable[[], int]):
        self.count_series = count_series
        self._lock = threading.Lock()
        # per counter: label values -> [value, created (unix seconds)]
        self._values: dict[str, dict[tuple, list]] = {name: {} for name, _, _ in _COUNTERS}
        self._values["mockprom_faults_injected"][()] = [0.0, time.time()]
        self._extra: list = []
        self._registry = None

    def register(self, collector) -> None:
        """Add a prometheus_client collector (an object with ``collect()``) to /metrics."""
        self._extra.append(collector)

    def _inc(self, name: str, labels: tuple, n: float = 1.0) -> None:
        with self._lock:
            cell = self._values[name].get(labels)
            if cell is None:
                self._values[name][labels] = [float(n), time.time()]
            else:
                cell[0] += n

    def record_request(self, endpoint: str, code: int) -> None:
        self._inc("mockprom_http_requests", (endpoint, str(code)))

    def record_fault(self) -> None:
        self._inc("mockprom_faults_injected", ())

    def record_samples(self, source: str, n: int) -> None:
        if n:
            self._inc("mockprom_samples_ingested", (source,), n)

    def collect(self):
        """Metric families for prometheus_client (the registry's collector)."""
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        with self._lock:
            snapshot = {name: sorted(cells.items()) for name, cells in self._values.items()}
        for name, doc, label_names in _COUNTERS:
            family = CounterMetricFamily(name, doc, labels=label_names)
            for labels, (value, created) in snapshot[name]:
                family.add_metric(list(labels), value, created=created)
            yield family
        for collector in self._extra:
            yield from collector.collect()
        try:
            n = self.count_series()
        except Exception:  # no state yet (app starting): report nothing rather than fail
            return
        yield GaugeMetricFamily("mockprom_series", "Series in the store (scenario, "
                                "remote-written and pushed).", value=n)

    def exposition(self) -> bytes:
        from prometheus_client import CollectorRegistry, generate_latest

        if self._registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(self)
            self._registry = registry
        return generate_latest(self._registry)


def self_metrics(app) -> SelfMetrics | None:
    """The SelfMetrics of a Flask app that registered the write blueprint."""
    return app.extensions.get(EXTENSION_KEY)


def record_request(app, endpoint: str, code: int) -> None:
    """Count a request answered outside Flask (e.g. by the fault middleware); requests
    Flask answers are counted automatically."""
    m = self_metrics(app)
    if m is not None:
        m.record_request(endpoint, code)


def endpoint_label(app, environ: dict) -> str:
    """The ``endpoint`` label of a request, as Flask would count it: its URL rule
    (``/api/v1/label/<name>/values``), ``other`` when no rule matches; the fault layer's
    own control endpoints by their path (``/-/mockprom/faults``, ``.../faults/<id>``)."""
    from werkzeug.exceptions import HTTPException

    from mockprom.faults.control import FAULTS_PATH, owns

    path = (environ.get("PATH_INFO") or "/").rstrip("/")
    if owns(path):
        return FAULTS_PATH + "/<id>" if path.startswith(FAULTS_PATH + "/") else path
    try:
        rule, _ = app.url_map.bind_to_environ(environ).match(return_rule=True)
    except HTTPException:
        return "other"
    return rule.rule


def record_answer(app, environ: dict, code: int) -> None:
    """Count a request the fault middleware answered or altered (``on_answer``), by the
    status it got; 0 for a connection dropped without an answer."""
    m = self_metrics(app)
    if m is not None:
        m.record_request(endpoint_label(app, environ), code)


def record_fault(app) -> None:
    m = self_metrics(app)
    if m is not None:
        m.record_fault()
