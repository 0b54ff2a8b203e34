"""mockprom's own metrics (``GET /metrics``), in a registry per app (never the global one,
so several servers in one process keep separate counts).

``mockprom_http_requests_total{endpoint, code}`` counts every request once, with the
status it got: Flask counts those it answers; the fault middleware counts those it answers
or alters itself (``record_answer``: an injected error, an ``inconsistent`` 503 around a
real body, its own control endpoints), and a connection dropped without an answer (a
``reset``, ``empty`` or ``hang`` fault) as code ``"0"``. ``endpoint`` is the URL rule
(``/api/v1/label/<name>/values``), ``other`` when none matched."""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily

EXTENSION_KEY = "mockprom.self_metrics"


class _SeriesCollector:
    def __init__(self, count_series: Callable[[], int]):
        self.count_series = count_series

    def collect(self):
        try:
            n = self.count_series()
        except Exception:  # no state yet (app starting): report nothing rather than fail
            return
        yield GaugeMetricFamily("mockprom_series", "Series in the store (scenario, "
                                "remote-written and pushed).", value=n)


class SelfMetrics:
    def __init__(self, count_series: Callable[[], int]):
        self.registry = CollectorRegistry(auto_describe=False)
        self.http_requests = Counter(
            "mockprom_http_requests", "HTTP requests answered, by endpoint and status code.",
            ["endpoint", "code"], registry=self.registry)
        self.faults_injected = Counter(
            "mockprom_faults_injected", "Requests a fault rule acted on.", registry=self.registry)
        self.samples_ingested = Counter(
            "mockprom_samples_ingested", "Samples stored by remote write and pushes.",
            ["source"], registry=self.registry)
        self.registry.register(_SeriesCollector(count_series))

    def record_request(self, endpoint: str, code: int) -> None:
        self.http_requests.labels(endpoint=endpoint, code=str(code)).inc()

    def record_fault(self) -> None:
        self.faults_injected.inc()

    def record_samples(self, source: str, n: int) -> None:
        if n:
            self.samples_ingested.labels(source=source).inc(n)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


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
