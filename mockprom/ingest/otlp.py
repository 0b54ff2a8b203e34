"""The OTLP receiver (``/api/v1/otlp/v1/metrics``): an OpenTelemetry
``ExportMetricsServiceRequest`` (protobuf or JSON, optionally gzip) translated into
Prometheus series as Prometheus 3.5 translates it (``storage/remote/otlptranslator``),
with the OpenTelemetry project's own message classes (``opentelemetry-proto``).

- gauges and non-monotonic sums: one series per data point's attributes; monotonic sums
  get ``_total``; names and units per ``otlp_names`` and ``server.otlp``;
- explicit-bucket histograms: ``_bucket{le}`` (cumulative), ``_sum``, ``_count``;
- summaries: ``{quantile}``, ``_sum``, ``_count``;
- exponential histograms (and, with ``convert_histograms_to_nhcb``, explicit ones) are
  native histograms: as 3.5.3 answers them without ``native-histograms`` (500), and
  refused (400) with the feature on, until their conversion is written;
- resources: ``service.namespace``/``service.name`` give ``job``, ``service.instance.id``
  gives ``instance``; the other attributes go to ``target_info`` (a sample every half
  lookback delta over the request's time span) unless promoted to labels;
- a data point without a recorded value is a staleness marker;
- delta temporality is dropped (as 3.5.3 drops it, answering 200), unless the scenario's
  ``server.features`` has ``otlp-deltatocumulative`` (deltas are summed into cumulative
  series, per stream) or ``otlp-native-delta-ingestion`` (stored as they come).
"""

from __future__ import annotations

import base64
import json
import math
import threading
from dataclasses import dataclass, field
from operator import itemgetter

from mockprom.ingest.acceptance import Batch, PlainBatches, canonical, label_problem
from mockprom.ingest.errors import IngestError
from mockprom.ingest.label_shapes import Unusual, check_metric, shape
from mockprom.ingest.otlp_names import COUNTER, GAUGE, OTHER, label_name, metric_name
from mockprom.scenario.samples import STALE_NAN

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
NO_RECORDED_VALUE = 1  # DataPointFlags.FLAG_NO_RECORDED_VALUE
DELTA, CUMULATIVE = 1, 2
HISTOGRAMS_DISABLED = "native histograms are disabled"

_SERVICE_NAME, _SERVICE_NAMESPACE, _SERVICE_INSTANCE = (
    "service.name", "service.namespace", "service.instance.id")
_IDENTIFYING = (_SERVICE_NAMESPACE, _SERVICE_NAME, _SERVICE_INSTANCE)


def _request_class():
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

    return metrics_service_pb2.ExportMetricsServiceRequest


def decode(body: bytes, content_type: str, encoding: str):
    """The ``ExportMetricsServiceRequest`` of a body. Raises IngestError (400) with
    Prometheus's words for an unsupported content type or compression."""
    if content_type not in (PROTOBUF, JSON):
        raise IngestError(f"unsupported content type: {content_type}, supported: [{JSON}, "
                          f"{PROTOBUF}]")
    if encoding == "gzip":
        from mockprom import limits

        try:
            body = limits.gunzip(body)  # at most limits.MAX_DECODED_BYTES
        except limits.TooLarge as err:
            raise IngestError(f"request body too large: {err}", 413) from None
        except limits.Corrupt as err:
            raise IngestError(str(err)) from None
    elif encoding:
        raise IngestError(f'unsupported compression: {encoding}. Only "gzip" or no compression '
                          f"supported")
    req = _request_class()()
    try:
        if content_type == JSON:
            from google.protobuf import json_format

            json_format.ParseDict(_json_ids(json.loads(body or b"{}")), req,
                                  ignore_unknown_fields=True)
        else:
            req.ParseFromString(body)
    except Exception as err:
        raise IngestError(f"proto: cannot unmarshal ExportMetricsServiceRequest: {err}") from None
    return req


def _json_ids(obj):
    """OTLP/JSON writes trace and span ids in hex; protobuf's JSON reader wants base64."""
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if k in ("traceId", "spanId", "trace_id", "span_id") and isinstance(v, str):
                try:
                    v = base64.b64encode(bytes.fromhex(v)).decode()
                except ValueError:
                    pass
            out[k] = _json_ids(v)
        return out
    if isinstance(obj, list):
        return [_json_ids(v) for v in obj]
    return obj


# -- translation ------------------------------------------------------------------------------

def _any_value(v) -> str:
    """``pcommon.Value.AsString``."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return "true" if v.bool_value else "false"
    if kind == "int_value":
        return str(v.int_value)
    if kind == "double_value":
        return _es6_number(v.double_value)
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode()
    if kind == "array_value":
        return json.dumps([_json_value(x) for x in v.array_value.values], separators=(",", ":"))
    if kind == "kvlist_value":
        return json.dumps({kv.key: _json_value(kv.value) for kv in v.kvlist_value.values},
                          separators=(",", ":"))
    return ""


def _es6_number(d: float) -> str:
    """pdata's ``float64AsString``: JavaScript's number formatting."""
    from mockprom.gofloat import format_g, format_json

    if math.isinf(d) or math.isnan(d):
        return f"json: unsupported value: {format_g(d)}"
    return format_json(d)


def _json_value(v):
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_json_value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _json_value(kv.value) for kv in v.kvlist_value.values}
    if kind in ("int_value", "bool_value"):
        return getattr(v, kind)
    if kind == "double_value":
        return v.double_value
    return _any_value(v)


def _attrs(kvs) -> list[tuple[str, str]]:
    return [(kv.key, _any_value(kv.value)) for kv in kvs]


@dataclass
class Settings:
    """What the translation reads from the scenario (``server.otlp``, the features)."""

    strategy: str = "UnderscoreEscapingWithSuffixes"
    promote: tuple = ()
    promote_all: bool = False
    ignore: tuple = ()
    keep_identifying: bool = False
    nhcb: bool = False
    promote_scope: bool = False
    lookback_ms: int = 300_000
    delta: str = "drop"  # "drop", "to_cumulative", "native"
    native_histograms: bool = False

    @staticmethod
    def of(otlp, emulation, lookback_ms: int) -> "Settings":
        delta = "drop"
        if emulation.has("otlp-deltatocumulative"):
            delta = "to_cumulative"
        elif emulation.has("otlp-native-delta-ingestion"):
            delta = "native"
        return Settings(otlp.translation_strategy, tuple(otlp.promote_resource_attributes),
                        otlp.promote_all_resource_attributes,
                        tuple(otlp.ignore_resource_attributes),
                        otlp.keep_identifying_resource_attributes,
                        otlp.convert_histograms_to_nhcb, otlp.promote_scope_metadata,
                        lookback_ms, delta, emulation.has("native-histograms"))

    def promoted(self, resource_attrs: list) -> list:
        if self.promote_all:
            return [(k, v) for k, v in resource_attrs if k not in self.ignore]
        return [(k, v) for k, v in resource_attrs if k in self.promote]


@dataclass
class Translation:
    """The series of one request, in Prometheus's order, and what came with them."""

    series: dict = field(default_factory=dict)  # label pairs (sorted) -> [(t, v)]
    metadata: dict = field(default_factory=dict)  # family -> {type, help, unit}
    exemplars: list = field(default_factory=list)  # (label pairs, [(labels, v, t)])
    histograms: int = 0  # native histogram data points met
    dropped: list = field(default_factory=list)  # warnings (as Prometheus logs them)

    def add(self, pairs: dict, t: int, v: float) -> tuple:
        key = tuple(sorted(pairs.items()))
        self.series.setdefault(key, []).append((t, v))
        return key

    def batches(self, policy: str) -> list[Batch]:
        out = []
        plain = True
        for key, samples in self.series.items():
            if _valid(key):  # as label_problem and canonical find it, faster
                labels, problem = key, None
            else:
                problem = label_problem(key, policy)
                labels = () if problem else canonical(key)
                plain = plain and problem is None
            out.append(Batch(labels, [t for t, _ in samples], [v for _, v in samples],
                             problem, key))
        return PlainBatches(out) if plain else out


def _valid(key: tuple) -> bool:
    """Whether a series' labels (sorted pairs, each name once) are valid under every label
    policy and stored as they are: legacy names with a metric name, no empty value."""
    try:
        metric_at, order = shape(tuple(map(_KEY, key)))
        check_metric(key[metric_at][1])
    except Unusual:
        return False
    return order is None and all(map(_VALUE, key))


_VALUE = itemgetter(1)


class DeltaState:
    """``otlp-deltatocumulative``: the running totals of delta streams, across requests."""

    def __init__(self):
        self.lock = threading.Lock()
        self.streams: dict = {}  # stream key -> [start_ns, last_ns, total]

    def accumulate(self, key: tuple, start_ns: int, t_ns: int, value: float):
        """The cumulative value of a delta point (None: out of order, dropped)."""
        with self.lock:
            s = self.streams.get(key)
            if s is None:
                self.streams[key] = [start_ns, t_ns, value]
                return value
            if t_ns <= s[1]:
                return None
            s[1] = t_ns
            s[2] += value
            return s[2]


class _Labels:
    """``createAttributes`` for the data points of one metric: a point's attributes (names
    translated, colliding ones joined with ``;``), promoted resource attributes, scope
    labels, job and instance, then ``extras`` (``__name__``, ``le``, ``quantile``); what
    comes from the resource and the scope is worked out once."""

    def __init__(self, resource_attrs: list, scope, settings: Settings):
        self.strategy = strategy = settings.strategy
        self.names: dict = {}  # attribute key -> label name
        self.promoted = [(label_name(k, strategy), v) for k, v in settings.promoted(resource_attrs)]
        over: dict = {}  # set over whatever the point's attributes gave, in this order
        if settings.promote_scope and scope is not None and scope.name:
            over["otel_scope_name"] = scope.name
            over["otel_scope_version"] = scope.version
            over["otel_scope_schema_url"] = scope.schema_url
            for k, v in _attrs(scope.attributes):
                over[label_name("otel_scope_" + k, strategy)] = v
        res = dict(resource_attrs)
        if _SERVICE_NAME in res:
            job = res[_SERVICE_NAME]
            if _SERVICE_NAMESPACE in res:
                job = f"{res[_SERVICE_NAMESPACE]}/{job}"
            over["job"] = job
        if _SERVICE_INSTANCE in res:
            over["instance"] = res[_SERVICE_INSTANCE]
        self.overrides = list(over.items())

    def __call__(self, attrs: list, extras=()) -> dict:
        strategy, names = self.strategy, self.names
        out: dict = {}
        for k, v in sorted(attrs, key=_KEY):
            name = names.get(k)
            if name is None:
                name = names[k] = label_name(k, strategy)
            out[name] = out[name] + ";" + v if name in out else v
        for name, v in self.promoted:
            out.setdefault(name, v)
        for name, v in self.overrides:
            out[name] = v
        for i in range(0, len(extras) - 1, 2):
            name = extras[i]
            if not (len(name) > 4 and name.startswith("__") and name.endswith("__")):
                name = label_name(name, strategy)
            out[name] = extras[i + 1]
        return out


_KEY = itemgetter(0)


def _ms(ns: int) -> int:
    return int(ns) // 1_000_000 if ns >= 0 else -((-int(ns)) // 1_000_000)


def _number(pt) -> float:
    if pt.flags & NO_RECORDED_VALUE:
        return STALE_NAN
    return float(pt.as_int) if pt.WhichOneof("value") == "as_int" else pt.as_double


def _format_f(v: float) -> str:
    from mockprom.gofloat import format_f

    return format_f(v)


def _exemplars(pt) -> list:
    out = []
    for e in pt.exemplars:
        labels = {}
        if e.trace_id:
            labels["trace_id"] = e.trace_id.hex()
        if e.span_id:
            labels["span_id"] = e.span_id.hex()
        extra = _attrs(e.filtered_attributes)
        runes = sum(len(k) + len(v) for k, v in labels.items()) + sum(len(k) + len(v) for k, v in extra)
        if runes <= 128:
            labels.update(extra)
        value = float(e.as_int) if e.WhichOneof("value") == "as_int" else e.as_double
        out.append((labels, value, _ms(e.time_unix_nano)))
    return out


_TYPES = {"gauge": "gauge", "counter": "counter", "histogram": "histogram", "summary": "summary"}


def translate(req, settings: Settings, deltas: DeltaState) -> Translation:
    """The series an export request becomes (``FromMetrics``)."""
    tr = Translation()
    strategy = settings.strategy
    for rm in req.resource_metrics:
        resource_attrs = _attrs(rm.resource.attributes)
        earliest = latest = None
        for sm in rm.scope_metrics:
            scope = sm.scope
            for metric in sm.metrics:
                kind_field = metric.WhichOneof("data")
                if kind_field is None:
                    continue
                data = getattr(metric, kind_field)
                points = list(data.data_points)
                for pt in points:
                    t = pt.time_unix_nano
                    earliest = t if earliest is None else min(earliest, t)
                    latest = t if latest is None else max(latest, t)
                temporality = getattr(data, "aggregation_temporality", 0)
                delta = temporality == DELTA
                if delta and settings.delta == "drop":
                    tr.dropped.append(f"invalid temporality and type combination for metric "
                                      f"{metric.name!r}")
                    continue
                monotonic = kind_field == "sum" and data.is_monotonic
                if kind_field == "gauge" or (kind_field == "sum" and not monotonic):
                    kind, typ = GAUGE, "gauge"
                elif kind_field == "sum":
                    kind, typ = COUNTER, "counter"
                    if delta and settings.delta == "native":
                        typ = "unknown"
                else:
                    kind, typ = OTHER, {"histogram": "histogram", "summary": "summary",
                                        "exponential_histogram": "histogram"}[kind_field]
                name = metric_name(metric.name, metric.unit, kind, strategy)
                if not name:
                    tr.dropped.append(f"normalization for metric {metric.name!r} resulted in "
                                      f"an empty name")
                    continue
                if not points:
                    tr.dropped.append(f"empty data points. {name} is dropped")
                    continue
                tr.metadata.setdefault(name, {"type": typ, "help": metric.description,
                                              "unit": _unit_word(metric.unit, strategy)})
                stream = (tuple(resource_attrs), scope.name, scope.version, metric.name)
                if kind_field in ("gauge", "sum"):
                    _numbers(tr, points, name, resource_attrs, scope, settings, deltas,
                             stream if delta and settings.delta == "to_cumulative" else None)
                elif kind_field == "histogram":
                    if settings.nhcb:
                        tr.histograms += len(points)
                        continue
                    _histograms(tr, points, name, resource_attrs, scope, settings, deltas,
                                stream if delta and settings.delta == "to_cumulative" else None)
                elif kind_field == "summary":
                    _summaries(tr, points, name, resource_attrs, scope, settings)
                else:
                    tr.histograms += len(points)
        if latest is not None:
            _target_info(tr, resource_attrs, settings, _ms(earliest), _ms(latest))
    return tr


def _unit_word(unit: str, strategy: str) -> str:
    from mockprom.ingest.otlp_names import unit_label

    return unit_label(unit, strategy)


def _numbers(tr, points, name, resource_attrs, scope, settings, deltas, stream):
    make_labels = _Labels(resource_attrs, scope, settings)
    for pt in points:
        value = _number(pt)
        attrs = _attrs(pt.attributes)
        if stream is not None and not pt.flags & NO_RECORDED_VALUE:
            value = deltas.accumulate(stream + (tuple(sorted(attrs)),), pt.start_time_unix_nano,
                                      pt.time_unix_nano, value)
            if value is None:
                continue
        labels = make_labels(attrs, ("__name__", name))
        key = tr.add(labels, _ms(pt.time_unix_nano), value)
        if pt.exemplars:
            tr.exemplars.append((key, _exemplars(pt)))


def _histograms(tr, points, name, resource_attrs, scope, settings, deltas, stream):
    make_labels = _Labels(resource_attrs, scope, settings)
    for pt in points:
        attrs = _attrs(pt.attributes)
        counts = list(pt.bucket_counts)
        count, total = float(pt.count), pt.sum
        if stream is not None:
            acc = deltas.accumulate(stream + (tuple(sorted(attrs)), tuple(pt.explicit_bounds)),
                                    pt.start_time_unix_nano, pt.time_unix_nano,
                                    _HistogramTotals(counts, count, total))
            if acc is None:
                continue
            counts, count, total = acc.counts, acc.count, acc.sum
        t = _ms(pt.time_unix_nano)
        stale = bool(pt.flags & NO_RECORDED_VALUE)
        base = make_labels(attrs)
        if pt.HasField("sum"):
            tr.add({**base, "__name__": name + "_sum"}, t, STALE_NAN if stale else total)
        tr.add({**base, "__name__": name + "_count"}, t, STALE_NAN if stale else count)
        cumulative = 0
        keys = []
        for bound, c in zip(pt.explicit_bounds, counts):
            cumulative += c
            keys.append((bound, tr.add({**base, "le": _format_f(bound), "__name__": name + "_bucket"},
                                       t, STALE_NAN if stale else float(cumulative))))
        keys.append((math.inf, tr.add({**base, "le": "+Inf", "__name__": name + "_bucket"}, t,
                                      STALE_NAN if stale else count)))
        if pt.exemplars:
            for labels, value, et in _exemplars(pt):
                key = next((k for bound, k in keys if value <= bound), keys[-1][1])
                tr.exemplars.append((key, [(labels, value, et)]))


class _HistogramTotals:
    """Running totals of a delta histogram stream (``DeltaState.accumulate``)."""

    def __init__(self, counts, count, total):
        self.counts, self.count, self.sum = list(counts), count, total

    def __add__(self, other: "_HistogramTotals") -> "_HistogramTotals":
        return _HistogramTotals([a + b for a, b in zip(self.counts, other.counts)],
                                self.count + other.count, self.sum + other.sum)


def _summaries(tr, points, name, resource_attrs, scope, settings):
    make_labels = _Labels(resource_attrs, scope, settings)
    for pt in points:
        t = _ms(pt.time_unix_nano)
        stale = bool(pt.flags & NO_RECORDED_VALUE)
        base = make_labels(_attrs(pt.attributes))
        tr.add({**base, "__name__": name + "_sum"}, t, STALE_NAN if stale else pt.sum)
        tr.add({**base, "__name__": name + "_count"}, t, STALE_NAN if stale else float(pt.count))
        for q in pt.quantile_values:
            tr.add({**base, "quantile": _format_f(q.quantile), "__name__": name}, t,
                   STALE_NAN if stale else q.value)


def _target_info(tr, resource_attrs: list, settings: Settings, earliest: int, latest: int):
    """``addResourceTargetInfo``: the resource's other attributes as ``target_info``."""
    present = {k for k, _ in resource_attrs}
    if not present - set(_IDENTIFYING):
        return
    ignore = () if settings.keep_identifying else _IDENTIFYING
    attrs = [(k, v) for k, v in resource_attrs if k not in ignore]
    plain = Settings(**{**settings.__dict__, "promote": (), "promote_all": False,
                        "promote_scope": False})
    labels = _Labels(resource_attrs, None, plain)(attrs, ("__name__", "target_info"))
    if "job" not in labels and "instance" not in labels:
        return
    step = settings.lookback_ms // 2
    t = earliest
    while t < latest:
        tr.add(labels, t, 1.0)
        t += step
    tr.add(labels, latest, 1.0)
