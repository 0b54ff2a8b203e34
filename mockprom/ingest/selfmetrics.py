"""mockprom's own metrics (``GET /metrics``), in a registry per app (never the global one,
so several servers in one process keep separate counts).

``mockprom_http_requests_total{endpoint, code}`` counts every request once, with the
status it got: Flask counts those it answers; the fault middleware counts those it answers
or alters itself (``record_answer``: an injected error, an ``inconsistent`` 503 around a
real body, its own control endpoints), and a connection dropped without an answer (a
``reset``, ``empty`` or ``hang`` fault) as code ``"0"``. ``endpoint`` is the URL rule
(``/api/v1/label/<name>/values``), ``other`` when none matched.

``mockprom_http_request_duration_seconds{endpoint}`` times the requests Flask answers, as
Prometheus's own ``prometheus_http_request_duration_seconds``: classic buckets and a
native histogram (schema 3, a bucket factor of 1.1) beside them. The text format shows
the classic buckets; a scraper that asks for the protobuf exposition (``Accept``
negotiated as Prometheus's ``/metrics`` negotiates it) gets both, as client_golang writes
them, so a Prometheus scraping mockprom stores a native histogram."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable

from mockprom import versions
from mockprom.histograms.bounds import bucket_index

EXTENSION_KEY = "mockprom.self_metrics"

_COUNTERS = (  # name (without _total), help, label names
    ("mockprom_http_requests", "HTTP requests answered, by endpoint and status code.",
     ("endpoint", "code")),
    ("mockprom_faults_injected", "Requests a fault rule acted on.", ()),
    ("mockprom_samples_ingested", "Samples stored by remote write and pushes.", ("source",)),
)


DURATION = "mockprom_http_request_duration_seconds"
DURATION_HELP = "Histogram of latencies for HTTP requests."
CLASSIC_BOUNDS = (0.1, 0.2, 0.4, 1.0, 3.0, 8.0, 20.0, 60.0, 120.0)  # Prometheus's own
NATIVE_SCHEMA = 3
ZERO_THRESHOLD = 2.938735877055719e-39  # client_golang's DefNativeHistogramZeroThreshold
SERIES_HELP = "Series in the store (scenario, remote-written and pushed)."


@dataclass(frozen=True)
class OwnMetrics:
    """What the emulated line's client_golang puts into the protobuf exposition of its
    own metrics: created timestamps (3.x) and native buckets on the request duration
    histogram (3.x; 2.42's had classic buckets only)."""

    created: bool
    native: bool


OWN_METRICS = versions.table("own_metrics", {
    "2.42": OwnMetrics(created=False, native=False),
    "3.5": OwnMetrics(created=True, native=True),
})


class _Durations:
    """One endpoint's observations: count, sum, classic bucket counts (not cumulative),
    native bucket counts by index, the zero bucket, and when it was created."""

    __slots__ = ("count", "sum", "classic", "native", "zero", "created")

    def __init__(self):
        self.count, self.sum, self.zero = 0, 0.0, 0
        self.classic = [0] * len(CLASSIC_BOUNDS)
        self.native: dict[int, int] = {}
        self.created = time.time()

    def observe(self, v: float) -> None:
        self.count += 1
        self.sum += v
        for i, bound in enumerate(CLASSIC_BOUNDS):
            if v <= bound:
                self.classic[i] += 1
                break
        if v <= ZERO_THRESHOLD:
            self.zero += 1
        else:
            i = bucket_index(v, NATIVE_SCHEMA)
            self.native[i] = self.native.get(i, 0) + 1


class SelfMetrics:
    """Counters kept as plain numbers under a lock (counting costs a dict update per
    request); ``prometheus_client`` renders them, loaded on the first ``/metrics``."""

    def __init__(self, count_series: Callable[[], int]):
        self.count_series = count_series
        self._lock = threading.Lock()
        # per counter: label values -> [value, created (unix seconds)]
        self._values: dict[str, dict[tuple, list]] = {name: {} for name, _, _ in _COUNTERS}
        self._values["mockprom_faults_injected"][()] = [0.0, time.time()]
        self._durations: dict[str, _Durations] = {}
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

    def record_request(self, endpoint: str, code: int, seconds: float | None = None) -> None:
        """Count a request; ``seconds`` (when known) also goes into the duration histogram."""
        self._inc("mockprom_http_requests", (endpoint, str(code)))
        if seconds is not None:
            with self._lock:
                d = self._durations.get(endpoint)
                if d is None:
                    d = self._durations[endpoint] = _Durations()
                d.observe(seconds)

    def record_fault(self) -> None:
        self._inc("mockprom_faults_injected", ())

    def record_samples(self, source: str, n: int) -> None:
        if n:
            self._inc("mockprom_samples_ingested", (source,), n)

    def _snapshot(self) -> tuple[dict, list]:
        with self._lock:
            counters = {name: sorted(cells.items()) for name, cells in self._values.items()}
            durations = [(e, d.count, d.sum, list(d.classic), sorted(d.native.items()), d.zero,
                          d.created) for e, d in sorted(self._durations.items())]
        return counters, durations

    def _series_count(self):
        try:
            return self.count_series()
        except Exception:  # no state yet (app starting): report nothing rather than fail
            return None

    def collect(self):
        """Metric families for prometheus_client (the registry's collector)."""
        from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                            HistogramMetricFamily)

        counters, durations = self._snapshot()
        for name, doc, label_names in _COUNTERS:
            family = CounterMetricFamily(name, doc, labels=label_names)
            for labels, (value, created) in counters[name]:
                family.add_metric(list(labels), value, created=created)
            yield family
        family = HistogramMetricFamily(DURATION, DURATION_HELP, labels=("endpoint",))
        for endpoint, count, total, classic, _, _, _ in durations:
            cumulative, buckets = 0, []
            for bound, n in zip(CLASSIC_BOUNDS, classic):
                cumulative += n
                buckets.append((_go_float(bound), cumulative))
            buckets.append(("+Inf", count))
            family.add_metric([endpoint], buckets, total)
        yield family
        for collector in self._extra:
            yield from collector.collect()
        n = self._series_count()
        if n is not None:
            yield GaugeMetricFamily("mockprom_series", SERIES_HELP, value=n)

    def exposition(self) -> bytes:
        """The text format (prometheus_client's)."""
        from prometheus_client import CollectorRegistry, generate_latest

        if self._registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(self)
            self._registry = registry
        return generate_latest(self._registry)

    def answer(self, accept: str, emulation) -> tuple[bytes, str]:
        """The body and Content-Type of ``/metrics`` for an ``Accept`` header, negotiated
        as the emulated Prometheus negotiates its own ``/metrics``."""
        from mockprom.ingest import protoexposition
        from mockprom.ingest.exposition import FEDERATION, negotiate

        style = FEDERATION[emulation]
        ctype, fmt, _ = negotiate(accept, style.escaping)
        if fmt == "text":
            return self.exposition(), ctype
        families = self.proto_families(OWN_METRICS[emulation])
        if fmt == "proto-delimited":
            return protoexposition.families_delimited(families), ctype
        return (protoexposition.families_text(families, style.prototext,
                                              fmt == "proto-compact-text"), ctype)

    def proto_families(self, rules: OwnMetrics) -> list:
        """``MetricFamily`` field lists (``protoexposition``) of every metric, in name
        order, as the line's client_golang fills them (collectors added by ``register``
        included)."""
        counters, durations = self._snapshot()
        families = []
        for name, doc, label_names in _COUNTERS:
            metrics = [_metric(zip(label_names, labels), "counter", 3, [
                ("value", 1, "double", value)] + ([("created_timestamp", 3, "msg",
                                                    _timestamp(created))] if rules.created else []))
                for labels, (value, created) in counters[name]]
            families.append(_family(name + "_total", doc, (0, "COUNTER"), metrics))
        metrics = [_metric([("endpoint", e)], "histogram", 7,
                           _histogram_fields(rules, count, total, classic, native, zero, created))
                   for e, count, total, classic, native, zero, created in durations]
        families.append(_family(DURATION, DURATION_HELP, (4, "HISTOGRAM"), metrics))
        for collector in self._extra:
            families += [f for f in (_from_client(fam) for fam in collector.collect()) if f]
        n = self._series_count()
        if n is not None:
            families.append(_family("mockprom_series", SERIES_HELP, (1, "GAUGE"), [
                _metric([], "gauge", 2, [("value", 1, "double", float(n))])]))
        return sorted((f for f in families if f[-1][0] == "metric"), key=lambda f: f[0][3])


# -- protobuf field lists --------------------------------------------------------------------

def _go_float(v: float) -> str:
    from mockprom.gofloat import format_g

    return format_g(v)


def _timestamp(unix_s: float) -> list:
    seconds = math.floor(unix_s)
    nanos = int(round((unix_s - seconds) * 1e9))
    out = [("seconds", 1, "int", seconds)] if seconds else []
    return out + ([("nanos", 2, "int", nanos)] if nanos else [])


def _family(name: str, doc: str, mtype: tuple, metrics: list) -> list:
    return [("name", 1, "string", name), ("help", 2, "string", doc),
            ("type", 3, "enum", mtype)] + [("metric", 4, "msg", m) for m in metrics]


def _metric(labels, kind: str, number: int, value_fields: list) -> list:
    pairs = sorted(labels)
    return ([("label", 1, "msg", [("name", 1, "string", k), ("value", 2, "string", v)])
             for k, v in pairs] + [(kind, number, "msg", value_fields)])


def _spans_and_deltas(native: list) -> tuple[list, list]:
    """client_golang's ``makeBuckets``: spans over the populated indexes (gaps of one or
    two empty buckets are filled with zeros) and each count's delta to the previous."""
    spans, deltas = [], []
    prev_index, prev_count = None, 0
    for index, count in native:
        if prev_index is None:
            spans.append([index, 1])
        else:
            gap = index - prev_index - 1
            if gap > 2:
                spans.append([gap, 1])
            else:
                for _ in range(gap):
                    deltas.append(-prev_count)
                    prev_count = 0
                spans[-1][1] += gap + 1
        deltas.append(count - prev_count)
        prev_index, prev_count = index, count
    return spans, deltas


def _histogram_fields(rules: OwnMetrics, count, total, classic, native, zero, created) -> list:
    fields = [("sample_count", 1, "uint", count), ("sample_sum", 2, "double", total)]
    cumulative = 0
    for bound, n in zip(CLASSIC_BOUNDS, classic):
        cumulative += n
        fields.append(("bucket", 3, "msg", [("cumulative_count", 1, "uint", cumulative),
                                           ("upper_bound", 2, "double", bound)]))
    if rules.created:
        fields.append(("created_timestamp", 15, "msg", _timestamp(created)))
    if not rules.native:
        return fields
    fields += [("schema", 5, "sint", NATIVE_SCHEMA),
               ("zero_threshold", 6, "double", ZERO_THRESHOLD), ("zero_count", 7, "uint", zero)]
    spans, deltas = _spans_and_deltas(native)
    if not spans and not zero:
        spans = [[0, 0]]  # client_golang marks an empty native histogram with a no-op span
    fields += [("positive_span", 12, "msg", [("offset", 1, "sint", o), ("length", 2, "uint", n)])
               for o, n in spans]
    fields += [("positive_delta", 13, "sint", d) for d in deltas]
    return fields


def _from_client(fam) -> list | None:
    """A prometheus_client counter or gauge family (a registered collector's) as fields."""
    kinds = {"counter": ((0, "COUNTER"), "counter", 3), "gauge": ((1, "GAUGE"), "gauge", 2)}
    if fam.type not in kinds:
        return None
    mtype, kind, number = kinds[fam.type]
    name = fam.name + "_total" if fam.type == "counter" else fam.name
    metrics = [_metric(s.labels.items(), kind, number, [("value", 1, "double", float(s.value))])
               for s in fam.samples if s.name == name]
    return _family(name, fam.documentation, mtype, metrics)


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
