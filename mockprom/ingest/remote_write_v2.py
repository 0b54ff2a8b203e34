"""Prometheus remote write 2.0: decode a snappy-compressed ``io.prometheus.write.v2.Request``
(``specs/remote_write_spec_2_0.md``) into batches for ``acceptance.commit`` (partial
writes), with its exemplars, metadata and created timestamps.

Strings are interned: each series names its labels (and its metadata's help and unit) by
indexes into the request's ``symbols``. An index out of range, or an odd number of label
references, answers 400 (``invalid symbol reference``): Prometheus 3.5.3 panics on such a
request and drops the connection, which tells a sender nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import cramjam

from mockprom.ingest.acceptance import Batch, canonical, label_problem
from mockprom.ingest.errors import IngestError
from mockprom.ingest.label_shapes import (METRIC_NAMES, SHAPES, Unusual, check_metric, shape,
                                          shared_pairs)
from mockprom.ingest.protobuild import build
from mockprom.ingest.prompb import METRIC_TYPES, V2
from mockprom.scenario.labels import METRIC_NAME

Request = V2.Request
# A view of the same wire format with the request's series merged into one (protobuf merges
# repeated occurrences of a singular message field): every label reference of the request
# in one list, and whether any series has histograms, exemplars, metadata or a created
# timestamp (each a field that is left out when empty or zero).
_MERGED = build("mockprom/prompb/v2_merged.proto", "io.prometheus.write.v2.merged", {
    "Metadata": [("type", 1, "int32"), ("help_ref", 3, "uint32"), ("unit_ref", 4, "uint32")],
    "Series": [("labels_refs", 1, "uint32", "repeated"), ("histograms", 3, "bytes", "repeated"),
               ("exemplars", 4, "bytes", "repeated"), ("metadata", 5, "Metadata"),
               ("created_timestamp", 6, "int64")],
    "Request": [("timeseries", 5, "Series")],
})

_FAMILY_SUFFIXES = {"histogram": ("_bucket", "_sum", "_count", "_created"),
                    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
                    "summary": ("_sum", "_count", "_created")}


@dataclass
class Series:
    """One TimeSeries of a request: its batch of float samples and what comes with it."""

    batch: Batch
    histograms: list = field(default_factory=list)  # V2.Histogram messages
    exemplars: list = field(default_factory=list)  # (labels dict, value, t_ms)
    metadata: Optional[dict] = None  # {type, help, unit} when the sender gave any
    created_ms: int = 0


def _symbol(symbols: list, ref: int) -> str:
    if ref >= len(symbols):
        raise IngestError(f"invalid symbol reference {ref}: the request has {len(symbols)} "
                          f"symbols")
    return symbols[ref]


def _pairs(symbols: list, refs) -> tuple:
    if len(refs) % 2:
        raise IngestError(f"invalid symbol reference: labels_refs holds an odd number "
                          f"({len(refs)}) of references")
    return tuple((_symbol(symbols, refs[i]), _symbol(symbols, refs[i + 1]))
                 for i in range(0, len(refs), 2))


def decode(raw: bytes, policy: str) -> list[Series]:
    """The series of a decompressed 2.0 request, labels checked under ``policy``
    (``acceptance.label_problem``). Raises IngestError (400) for a body that is not a
    ``Request`` or refers to symbols it does not have."""
    req = Request()
    try:
        req.ParseFromString(raw)
    except Exception as err:
        raise IngestError(f"proto: cannot unmarshal io.prometheus.write.v2.Request: {err}") from None
    symbols = list(req.symbols)
    try:
        return _decode_fast(raw, req, symbols)
    except Unusual:
        return [_series(ts, symbols, policy) for ts in req.timeseries]


def _series(ts, symbols: list, policy: str, labels=None) -> Series:
    """One TimeSeries read field by field (``labels``: its labels when known valid)."""
    if labels is None:
        pairs = _pairs(symbols, ts.labels_refs)
        ordered = tuple(sorted(pairs, key=lambda p: p[0]))
        problem = label_problem(pairs, policy)
        labels = () if problem is not None else canonical(pairs)
    else:
        ordered, problem = labels, None
    batch = Batch(labels, [s.timestamp for s in ts.samples], [s.value for s in ts.samples],
                  problem, ordered)
    s = Series(batch, list(ts.histograms), created_ms=ts.created_timestamp)
    for e in ts.exemplars:
        s.exemplars.append((dict(_pairs(symbols, e.labels_refs)), e.value, e.timestamp))
    md = ts.metadata
    if md.type or md.help_ref or md.unit_ref:
        typ = METRIC_TYPES[md.type] if 0 <= md.type < len(METRIC_TYPES) else "unknown"
        s.metadata = {"type": typ, "help": _symbol(symbols, md.help_ref),
                      "unit": _symbol(symbols, md.unit_ref)}
    return s


def _decode_fast(raw: bytes, req, symbols: list) -> list[Series]:
    """``decode`` of a request whose series all have valid labels (``label_shapes``) and
    valid symbol references, their label names and values read as flat lists; raises
    ``Unusual`` for any other request. Series with more than labels and samples (an
    exemplar, metadata, a histogram, a created timestamp) are read field by field."""
    merged = _MERGED.Request.FromString(raw).timeseries
    refs = list(merged.labels_refs)
    if refs and max(refs) >= len(symbols):
        raise Unusual()
    strings = list(map(symbols.__getitem__, refs))
    names, values = tuple(strings[0::2]), strings[1::2]
    if "" in values:
        raise Unusual()  # labels to drop: the reference decode words them
    pairs = shared_pairs(names, values)
    md = merged.metadata
    plain = not (merged.histograms or merged.exemplars or merged.created_timestamp
                 or md.type or md.help_ref or md.unit_ref)
    shapes, metrics = SHAPES.get, METRIC_NAMES
    out = []
    append = out.append
    i = 0
    for ts in req.timeseries:
        n = len(ts.labels_refs)
        if n % 2:
            raise Unusual()
        j = i + n // 2
        sig = names[i:j]
        metric_at, order = shapes(sig) or shape(sig)
        if values[i + metric_at] not in metrics:
            check_metric(values[i + metric_at])
        labels = pairs[i:j] if order is None else order(pairs[i:j])
        if plain:
            samples = ts.samples
            append(Series(Batch(labels, [s.timestamp for s in samples], [s.value for s in samples],
                                None, labels)))
        else:
            append(_series(ts, symbols, "", labels))
        i = j
    if i * 2 != len(refs):
        raise Unusual()
    return out


def family_name(metric: str, typ: str) -> str:
    """The metric family a series' metadata describes (``x`` for ``x_bucket`` of a
    histogram), as ``/api/v1/metadata`` lists families."""
    for suffix in _FAMILY_SUFFIXES.get(typ, ()):
        if metric.endswith(suffix) and len(metric) > len(suffix):
            return metric[: -len(suffix)]
    return metric


def metric_of(s: Series) -> str:
    return dict(s.batch.labels).get(METRIC_NAME, "")


# -- encoding (clients, tests and the benchmark) ---------------------------------------------
def encode(series, compress: bool = True) -> bytes:
    """A (snappy-compressed) 2.0 ``Request`` from ``[(labels, samples), ...]`` or
    ``[(labels, samples, extras), ...]``: labels a dict or pairs (kept in that order),
    samples ``[(t_ms, value), ...]``; ``extras`` may hold ``metadata`` (``(type, help,
    unit)`` with the type a name from ``prompb.METRIC_TYPES``), ``exemplars``
    (``[(labels, value, t_ms)]``), ``created_ms`` and ``histograms`` (V2.Histogram)."""
    req = Request()
    symbols = [""]
    index = {"": 0}

    def ref(text: str) -> int:
        i = index.get(text)
        if i is None:
            i = index[text] = len(symbols)
            symbols.append(text)
        return i

    for item in series:
        labels, samples = item[0], item[1]
        extras = item[2] if len(item) > 2 else {}
        ts = req.timeseries.add()
        pairs = labels.items() if isinstance(labels, dict) else labels
        ts.labels_refs.extend(r for n, v in pairs for r in (ref(n), ref(v)))
        ts.samples.extend(V2.Sample(timestamp=int(t), value=float(v)) for t, v in samples)
        for elabels, value, t in extras.get("exemplars", ()):
            e = ts.exemplars.add(value=float(value), timestamp=int(t))
            e.labels_refs.extend(r for n, v in dict(elabels).items() for r in (ref(n), ref(v)))
        if "metadata" in extras:
            typ, help_, unit = extras["metadata"]
            ts.metadata.type = METRIC_TYPES.index(typ)
            ts.metadata.help_ref = ref(help_)
            ts.metadata.unit_ref = ref(unit)
        if extras.get("created_ms"):
            ts.created_timestamp = int(extras["created_ms"])
        for h in extras.get("histograms", ()):
            ts.histograms.add().CopyFrom(h)
    req.symbols.extend(symbols)
    raw = req.SerializeToString()
    return bytes(cramjam.snappy.compress_raw(raw)) if compress else raw
