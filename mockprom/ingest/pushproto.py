"""Pushes in the protobuf exposition (``Content-Type: application/vnd.google.protobuf;
proto=io.prometheus.client.MetricFamily; encoding=delimited``), as the Pushgateway takes
them (``handler/push.go``: length-prefixed ``MetricFamily`` messages, the last of a name
wins), read into the same families as a text push.

A histogram with native buckets (a zero threshold, a zero count or spans, as Prometheus's
protobuf scrape parser tells them) becomes one native histogram sample when the emulated
Prometheus ingests native histograms (``native-histograms``), as a Prometheus scraping
the gateway by protobuf stores it (classic buckets beside it are not kept, 3.x's default);
otherwise, and for classic-only histograms, its ``_bucket``/``_sum``/``_count`` samples,
as the text exposition shows them. This is how a client that can only write native
histograms in protobuf (client_golang, client_java) pushes them.
"""

from __future__ import annotations

from mockprom.gofloat import format_g
from mockprom.histograms import GAUGE_TYPE, FloatHistogram
from mockprom.ingest.errors import IngestError
from mockprom.ingest.protobuild import build
from mockprom.ingest.textformat import Family, ParsedSample

CONTENT_TYPE = "application/vnd.google.protobuf"

CLIENT = build("mockprom_client_model.proto", "io.prometheus.client", {
    "LabelPair": [("name", 1, "string"), ("value", 2, "string")],
    "Gauge": [("value", 1, "double")],
    "Counter": [("value", 1, "double")],
    "Quantile": [("quantile", 1, "double"), ("value", 2, "double")],
    "Summary": [("sample_count", 1, "uint64"), ("sample_sum", 2, "double"),
                ("quantile", 3, "Quantile", "repeated")],
    "Untyped": [("value", 1, "double")],
    "Bucket": [("cumulative_count", 1, "uint64"), ("upper_bound", 2, "double"),
               ("cumulative_count_float", 4, "double")],
    "BucketSpan": [("offset", 1, "sint32"), ("length", 2, "uint32")],
    "Histogram": [("sample_count", 1, "uint64"), ("sample_sum", 2, "double"),
                  ("bucket", 3, "Bucket", "repeated"), ("sample_count_float", 4, "double"),
                  ("schema", 5, "sint32"), ("zero_threshold", 6, "double"),
                  ("zero_count", 7, "uint64"), ("zero_count_float", 8, "double"),
                  ("negative_span", 9, "BucketSpan", "repeated"),
                  ("negative_delta", 10, "sint64", "repeated"),
                  ("negative_count", 11, "double", "repeated"),
                  ("positive_span", 12, "BucketSpan", "repeated"),
                  ("positive_delta", 13, "sint64", "repeated"),
                  ("positive_count", 14, "double", "repeated")],
    "Metric": [("label", 1, "LabelPair", "repeated"), ("gauge", 2, "Gauge"),
               ("counter", 3, "Counter"), ("summary", 4, "Summary"),
               ("untyped", 5, "Untyped"), ("timestamp_ms", 6, "int64"),
               ("histogram", 7, "Histogram")],
    "MetricFamily": [("name", 1, "string"), ("help", 2, "string"), ("type", 3, "int32"),
                     ("metric", 4, "Metric", "repeated")],
})

TYPES = {0: "counter", 1: "gauge", 2: "summary", 3: "untyped", 4: "histogram",
         5: "gaugehistogram"}


def is_delimited_protobuf(content_type: str) -> bool:
    """The Pushgateway's test: that media type with ``proto=`` the MetricFamily and
    ``encoding=delimited`` (anything else is read as the text format)."""
    fields = [f.strip() for f in content_type.split(";")]
    params = {}
    for f in fields[1:]:
        k, _, v = f.partition("=")
        params[k.strip().lower()] = v.strip().strip('"')
    return (fields[0].lower() == CONTENT_TYPE and params.get("encoding") == "delimited"
            and params.get("proto") == "io.prometheus.client.MetricFamily")


def _messages(body: bytes):
    pos = 0
    while pos < len(body):
        size = shift = 0
        while True:
            if pos >= len(body) or shift > 63:
                raise IngestError("unexpected EOF")
            b = body[pos]
            pos += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if pos + size > len(body):
            raise IngestError("unexpected EOF")
        try:
            yield CLIENT.MetricFamily.FromString(body[pos:pos + size])
        except Exception:
            raise IngestError("proto: cannot parse invalid wire-format data") from None
        pos += size


def is_native(h) -> bool:
    """Prometheus's test for a histogram with native buckets."""
    return (h.zero_threshold > 0 or h.zero_count > 0 or h.zero_count_float > 0
            or len(h.negative_span) > 0 or len(h.positive_span) > 0)


def native_histogram(h, gauge: bool) -> FloatHistogram:
    """The native part of a ``dto.Histogram`` (integer deltas or float counts)."""
    def counts(deltas, floats) -> list:
        if floats:
            return [float(c) for c in floats]
        out, total = [], 0
        for d in deltas:
            total += d
            out.append(float(total))
        return out

    is_float = h.sample_count_float > 0 or h.zero_count_float > 0
    return FloatHistogram(
        schema=h.schema, zero_threshold=h.zero_threshold,
        zero_count=h.zero_count_float if is_float else float(h.zero_count),
        count=h.sample_count_float if is_float else float(h.sample_count), sum=h.sample_sum,
        positive_spans=[[s.offset, s.length] for s in h.positive_span],
        positive_buckets=counts(h.positive_delta, h.positive_count),
        negative_spans=[[s.offset, s.length] for s in h.negative_span],
        negative_buckets=counts(h.negative_delta, h.negative_count),
        counter_reset_hint=GAUGE_TYPE if gauge else 0)


def _classic_histogram(name: str, labels: dict, h, ts, line: int) -> list:
    count = h.sample_count_float if h.sample_count_float > 0 else float(h.sample_count)
    out = []
    for b in h.bucket:
        c = b.cumulative_count_float if b.cumulative_count_float > 0 else float(b.cumulative_count)
        out.append(ParsedSample(name + "_bucket", {**labels, "le": format_g(b.upper_bound)},
                                c, ts, line))
    out.append(ParsedSample(name + "_sum", dict(labels), h.sample_sum, ts, line))
    out.append(ParsedSample(name + "_count", dict(labels), count, ts, line))
    return out


def parse_delimited(body: bytes, native: bool) -> dict[str, Family]:
    """Families by name from a delimited protobuf push; ``native``: keep native histograms
    as native samples. Raises IngestError (400) for a body that is not one."""
    families: dict[str, Family] = {}
    for i, mf in enumerate(_messages(body), start=1):
        typ = TYPES.get(mf.type, "untyped")
        fam = Family(mf.name, "histogram" if typ == "gaugehistogram" else typ,
                     mf.help or None, [], True)
        for m in mf.metric:
            labels = {p.name: p.value for p in m.label}
            ts = m.timestamp_ms or None  # (proto3 here: a timestamp of 0 reads as none)
            if typ == "counter":
                fam.samples.append(ParsedSample(mf.name, labels, m.counter.value, ts, i))
            elif typ == "gauge":
                fam.samples.append(ParsedSample(mf.name, labels, m.gauge.value, ts, i))
            elif typ == "untyped":
                fam.samples.append(ParsedSample(mf.name, labels, m.untyped.value, ts, i))
            elif typ == "summary":
                s = m.summary
                for q in s.quantile:
                    fam.samples.append(ParsedSample(
                        mf.name, {**labels, "quantile": format_g(q.quantile)}, q.value, ts, i))
                fam.samples.append(ParsedSample(mf.name + "_sum", dict(labels), s.sample_sum, ts, i))
                fam.samples.append(ParsedSample(mf.name + "_count", dict(labels),
                                                float(s.sample_count), ts, i))
            elif native and is_native(m.histogram):
                h = native_histogram(m.histogram, typ == "gaugehistogram")
                fam.samples.append(ParsedSample(mf.name, labels, h, ts, i))
            else:
                fam.samples.extend(_classic_histogram(mf.name, labels, m.histogram, ts, i))
        families[mf.name] = fam  # the last family of a name wins, as in the Pushgateway
    return families


__all__ = ["parse_delimited", "is_delimited_protobuf", "native_histogram"]
