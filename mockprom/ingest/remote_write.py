"""Prometheus remote write 1.0: decode a snappy-compressed ``prometheus.WriteRequest`` and
append its samples to the store.

The protobuf classes are built at import time from a ``FileDescriptorProto`` written here
in Python (no generated code, no build step); ``message_factory.GetMessageClass`` gives
classes backed by the fast C (upb) implementation. Metadata, exemplars and native
histograms are not declared, so the parser skips them as unknown fields.

Behaviour follows Prometheus 2.42's ``storage/remote/write_handler.go`` (checked against a
real 2.42): decode errors answer 400 with Go's error text (``snappy: corrupt input``); a
sample older than (or at the time of, with another value) the newest sample already stored
for its series answers 400 ``out of order sample`` / ``duplicate sample for timestamp`` and
the request is rolled back (all or nothing); within one request, samples that are not newer
than the series' previous sample are dropped silently, as 2.42's commit drops them; labels
in any order are sorted. Duplicate label names answer 400 (2.42 answers 500 with the same
text, which makes senders retry forever). Deliberately stricter than 2.42, which stores
them: series without ``__name__`` or with invalid label or metric names answer 400.

Speed: ``decode`` reads a request through a second view of the wire format in which a
series' labels are the raw bytes of its Label messages; those bytes key a cache of
validated label sets, and a series never seen is read label by label (each label's bytes
cached too). Anything out of the ordinary (an error, an unusual Label layout) is handed to
the reference decode on protobuf Label objects, which answers as before, so both paths
agree (``tests/test_ingest_decode_paths.py``). While a request builds its series the
cyclic garbage collector is paused (``gc_paused``): a batch of new series would otherwise
set it scanning the growing store every few hundred objects.
"""

from __future__ import annotations

import contextlib
import gc
import re
import threading
from dataclasses import dataclass

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from mockprom.ingest.errors import IngestError
from mockprom.scenario.labels import METRIC_NAME, Labels

MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024

LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


# -- message classes ------------------------------------------------------------------
def _build_classes():
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="mockprom/prometheus_remote.proto", package="prometheus", syntax="proto3")

    def message(name, *fields):
        m = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("Label", ("name", 1, F.TYPE_STRING, opt, None), ("value", 2, F.TYPE_STRING, opt, None))
    message("Sample", ("value", 1, F.TYPE_DOUBLE, opt, None), ("timestamp", 2, F.TYPE_INT64, opt, None))
    message("TimeSeries",
            ("labels", 1, F.TYPE_MESSAGE, rep, ".prometheus.Label"),
            ("samples", 2, F.TYPE_MESSAGE, rep, ".prometheus.Sample"))
    message("WriteRequest", ("timeseries", 1, F.TYPE_MESSAGE, rep, ".prometheus.TimeSeries"))

    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    get = lambda n: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"prometheus.{n}"))
    return get("WriteRequest"), get("TimeSeries"), get("Label"), get("Sample")


WriteRequest, TimeSeries, Label, Sample = _build_classes()


def _build_raw_label_class():
    """A view of the same wire format whose ``TimeSeries.labels`` are the raw bytes of
    each ``Label`` message (both are length-delimited fields), for the fast decode path:
    a series' label bytes key the caches directly, with no Label object per label."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(
        name="mockprom/prometheus_remote_raw.proto", package="prometheus_raw", syntax="proto3")
    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    sample = fdp.message_type.add(name="Sample")
    sample.field.add(name="value", number=1, type=F.TYPE_DOUBLE, label=opt)
    sample.field.add(name="timestamp", number=2, type=F.TYPE_INT64, label=opt)
    series = fdp.message_type.add(name="TimeSeries")
    series.field.add(name="labels", number=1, type=F.TYPE_BYTES, label=rep)
    series.field.add(name="samples", number=2, type=F.TYPE_MESSAGE, label=rep,
                     type_name=".prometheus_raw.Sample")
    req = fdp.message_type.add(name="WriteRequest")
    req.field.add(name="timeseries", number=1, type=F.TYPE_MESSAGE, label=rep,
                  type_name=".prometheus_raw.TimeSeries")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus_raw.WriteRequest"))


_RawWriteRequest = _build_raw_label_class()


# -- decoding -----------------------------------------------------------------------------
@dataclass(slots=True)
class DecodedSeries:
    """The samples one request carries for one series, in request order."""

    labels: Labels
    ts: list  # int ms
    vals: list  # float


def _snappy_length(body: bytes) -> int:
    """The uncompressed length a snappy block announces (a leading uvarint)."""
    n = shift = 0
    for i, b in enumerate(body[:10]):
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n
        shift += 7
    raise IngestError("snappy: corrupt input")


def decompress(body: bytes) -> bytes:
    if not body:
        raise IngestError("snappy: corrupt input")  # as Go answers an empty body
    size = _snappy_length(body)
    if size > MAX_DECOMPRESSED_BYTES:
        raise IngestError(f"snappy: decoded block is too large ({size} bytes; the limit is "
                          f"{MAX_DECOMPRESSED_BYTES} bytes)")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except Exception:  # cramjam raises its own DecompressionError
        raise IngestError("snappy: corrupt input") from None


def parse_request(raw: bytes):
    req = WriteRequest()
    try:
        req.ParseFromString(raw)
    except Exception as err:
        raise IngestError(f"proto: cannot unmarshal WriteRequest: {err}") from None
    return req


def _format_pairs(pairs) -> str:
    return "{" + ", ".join(f'{n}="{v}"' for n, v in pairs) + "}"


_LABELS_CACHE: dict[tuple, Labels] = {}  # validated label pairs (as sent) -> Labels
_RAW_LABELS_CACHE: dict[tuple, Labels] = {}  # a series' raw Label messages -> Labels
_PAIR_CACHE: dict[bytes, tuple] = {}  # one raw Label message -> (name, value), name valid
_METRIC_NAMES: dict[str, bool] = {}  # metric names seen valid
_LABELS_CACHE_MAX = 200_000


def _series_labels(pairs: tuple) -> Labels:
    """Validate one series' labels (any order) and return the canonical label set.
    Senders repeat the same series in every request, so validated sets are cached."""
    hit = _LABELS_CACHE.get(pairs)
    if hit is not None:
        return hit
    names = set()
    has_name = False
    for name, value in pairs:
        if name in names:
            raise IngestError(f'label name "{name}" is not unique: invalid sample')
        names.add(name)
        if not LABEL_NAME_RE.fullmatch(name):
            raise IngestError(f"invalid metric name or labels, got {_format_pairs(pairs)}: "
                              f"invalid label name {name!r}")
        if name == METRIC_NAME:
            if not METRIC_NAME_RE.fullmatch(value):
                raise IngestError(f"invalid metric name or labels, got {_format_pairs(pairs)}: "
                                  f"invalid metric name {value!r}")
            has_name = True
    if not has_name:
        raise IngestError(f"invalid metric name or labels, got {_format_pairs(pairs)}: "
                          f"no {METRIC_NAME} label")
    labels = tuple(sorted(p for p in pairs if p[1] != ""))
    if len(_LABELS_CACHE) >= _LABELS_CACHE_MAX:
        _LABELS_CACHE.clear()
    _LABELS_CACHE[pairs] = labels
    return labels


def decode(body: bytes) -> list[DecodedSeries]:
    """Decode a remote-write body into series, validating labels. Raises IngestError."""
    raw = decompress(body)
    with gc_paused():
        try:
            return _decode_fast(raw)
        except Exception:  # an unusual label, a bad label or body: the reference path decides
            pass
        return _decode_reference(raw)


class _Unusual(Exception):
    """A Label message the fast path does not read (the reference path decodes it)."""


def _label_pair(b: bytes) -> tuple:
    """``(name, value)`` of one raw Label message (fields 1 and 2, both strings, the last
    occurrence winning as protobuf has it), with a valid label name; raises _Unusual for
    anything else (the reference path then decodes or refuses the request)."""
    n = len(b)
    k = b[1] + 2 if n > 1 else -1
    if k > 0 and b[0] == 0x0A and k < 130 and (k == n or (k + 1 < n and b[k] == 0x12 and b[k + 1] < 0x80
                                                and k + 2 + b[k + 1] == n)):
        name, value = b[2:k], b[k + 2:]  # the usual layout: name, then value, short
    else:
        name, value = _label_fields(b)
    pair = (name.decode("utf-8"), value.decode("utf-8"))  # strict, as upb checks strings
    if not LABEL_NAME_RE.fullmatch(pair[0]):
        raise _Unusual()
    if len(_PAIR_CACHE) >= _LABELS_CACHE_MAX:
        _PAIR_CACHE.clear()
    _PAIR_CACHE[b] = pair
    return pair


def _label_fields(b: bytes) -> tuple[bytes, bytes]:
    """The name and value fields of a raw Label message, in any layout."""
    name = value = b""
    i, n = 0, len(b)
    while i < n:
        tag = b[i]
        if tag != 0x0A and tag != 0x12:
            raise _Unusual()
        size = shift = 0
        while True:
            i += 1
            if i >= n or shift > 28:
                raise _Unusual()
            c = b[i]
            size |= (c & 0x7F) << shift
            if c < 0x80:
                break
            shift += 7
        i += 1
        if i + size > n:
            raise _Unusual()
        if tag == 0x0A:
            name = b[i:i + size]
        else:
            value = b[i:i + size]
        i += size
    return name, value


def _new_series_labels(key: tuple) -> Labels:
    """The canonical labels of a series first seen as the raw Label messages ``key``."""
    get = _PAIR_CACHE.get
    pairs = [get(b) or _label_pair(b) for b in key]
    as_dict = dict(pairs)
    metric = as_dict.get(METRIC_NAME)
    if len(as_dict) != len(pairs) or metric is None:
        raise _Unusual()  # a repeated label name, no metric name
    if not _METRIC_NAMES.get(metric) and not _valid_metric_name(metric):
        raise _Unusual()
    labels = tuple(sorted(pairs) if "" not in as_dict.values() else sorted(p for p in pairs if p[1]))
    if len(_RAW_LABELS_CACHE) >= _LABELS_CACHE_MAX:
        _RAW_LABELS_CACHE.clear()
    _RAW_LABELS_CACHE[key] = labels
    return labels


def _valid_metric_name(metric: str) -> bool:
    valid = METRIC_NAME_RE.fullmatch(metric) is not None
    if valid:
        if len(_METRIC_NAMES) >= _LABELS_CACHE_MAX:
            _METRIC_NAMES.clear()
        _METRIC_NAMES[metric] = True
    return valid


def _decode_fast(raw: bytes) -> list[DecodedSeries]:
    """``decode`` on the raw-label view: a series' Label bytes are the cache key, and only
    a series never seen is read label by label. Raises _Unusual (or a protobuf error)
    for whatever it leaves to the reference path, invalid labels included."""
    req = _RawWriteRequest()
    req.ParseFromString(raw)
    out: dict[Labels, DecodedSeries] = {}
    cached = _RAW_LABELS_CACHE.get
    for series in req.timeseries:
        key = tuple(series.labels)
        labels = cached(key) or _new_series_labels(key)
        samples = series.samples
        if len(samples) == 1:
            s = samples[0]
            ts, vals = [s.timestamp], [s.value]
        elif samples:
            ts, vals = _increasing([s.timestamp for s in samples], [s.value for s in samples])
        else:
            continue
        prev = out.get(labels)
        if prev is None:
            out[labels] = DecodedSeries(labels, ts, vals)
        else:
            prev.ts, prev.vals = _increasing(prev.ts + ts, prev.vals + vals)
    return list(out.values())


def _decode_reference(raw: bytes) -> list[DecodedSeries]:
    """The plain decode: protobuf Label objects, every error as Prometheus words it."""
    req = parse_request(raw)
    out: dict[Labels, DecodedSeries] = {}
    for series in req.timeseries:
        labels = _series_labels(tuple([(l.name, l.value) for l in series.labels]))
        samples = series.samples
        if not samples:
            continue
        ts = [s.timestamp for s in samples]
        vals = [s.value for s in samples]
        prev = out.get(labels)
        if prev is None:
            out[labels] = DecodedSeries(labels, *_increasing(ts, vals))
        else:
            ts, vals = _increasing(prev.ts + ts, prev.vals + vals)
            prev.ts, prev.vals = ts, vals
    return list(out.values())


def _increasing(ts: list, vals: list) -> tuple[list, list]:
    """Keep only samples newer than every earlier one (2.42 drops the others at commit)."""
    if len(ts) < 2 or all(map(int.__lt__, ts, ts[1:])):
        return ts, vals
    kt, kv = [ts[0]], [vals[0]]
    for t, v in zip(ts, vals):
        if t > kt[-1]:
            kt.append(t)
            kv.append(v)
    return kt, kv


# -- encoding (clients, tests and the benchmark) -------------------------------------------
def encode(series: list[tuple[dict | list, list[tuple[int, float]]]]) -> bytes:
    """A snappy-compressed WriteRequest from ``[(labels, [(t_ms, value), ...]), ...]``;
    labels as a dict or a list of pairs (kept in the given order)."""
    req = WriteRequest()
    for labels, samples in series:
        ts = req.timeseries.add()
        pairs = labels.items() if isinstance(labels, dict) else labels
        ts.labels.extend(Label(name=n, value=v) for n, v in pairs)
        ts.samples.extend(Sample(timestamp=int(t), value=float(v)) for t, v in samples)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


# -- appending -----------------------------------------------------------------------------
def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def _check_order(d: DecodedSeries, last: tuple[int, float] | None) -> None:
    """Raise Prometheus's append error if the series' first (oldest) sample is older than,
    or conflicts with, the newest sample stored."""
    if last is None:
        return
    t, v = d.ts[0], d.vals[0]
    if t < last[0]:
        raise IngestError("out of order sample")
    if t == last[0] and not _same(v, last[1]):
        raise IngestError("duplicate sample for timestamp")


def append(store, decoded: list[DecodedSeries], lock: threading.Lock) -> int:
    """Append every decoded sample to ``store`` (all or nothing); returns the number of
    samples stored. Raises IngestError for out-of-order or conflicting samples."""
    with lock, gc_paused():
        targets = store.appendables([d.labels for d in decoded])
        lasts = [src.last_sample() for src in targets]
        for d, last in zip(decoded, lasts):
            if last is not None:
                _check_order(d, last)
        n = 0
        for d, src, last in zip(decoded, targets, lasts):
            if last is not None and d.ts[0] == last[0]:  # the same sample again: a no-op
                d.ts, d.vals = d.ts[1:], d.vals[1:]
            src.extend(d.ts, d.vals)
            n += len(d.ts)
        return n


_gc_lock = threading.Lock()
_gc_pauses = [0, False]  # pauses under way, whether the collector was enabled before


@contextlib.contextmanager
def gc_paused():
    """Hold Python's cyclic garbage collector while a request builds its series. A batch
    of new series allocates tens of thousands of container objects, and every few
    hundred of them the collector would scan the young objects, and ever so often the
    whole store; no reference cycles are made here, so nothing waits to be collected.
    Nests and overlaps across threads: the collector is enabled again (when it was
    before the first pause) by whichever pause ends last."""
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()
