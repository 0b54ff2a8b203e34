"""The protobuf exposition format (``io.prometheus.client.MetricFamily``, length-delimited),
as Prometheus's ``/federate`` writes it when a scraper asks for it: floats as ``untyped``
metrics, native histograms as ``histogram`` (or ``gauge_histogram``) metrics with spans
and absolute float bucket counts.

Encoded by hand, byte for byte as Go's client_model does (proto2: fields in number
order, fields Prometheus sets written even when zero, repeated doubles not packed), and
read back by ``decode_families`` (the push path and tests).
"""

from __future__ import annotations

import struct
from typing import Iterator, Optional

from mockprom.histograms import GAUGE_TYPE, FloatHistogram
from mockprom.histograms.convert import cumulative as _cumulative

CONTENT_TYPE = ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                "encoding=delimited")
MEDIA = "application/vnd.google.protobuf"
PROTOCOL = "io.prometheus.client.MetricFamily"

COUNTER, GAUGE, SUMMARY, UNTYPED, HISTOGRAM, GAUGE_HISTOGRAM = range(6)


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _double(number: int, v: float) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", v)


def _span(offset: int, length: int) -> bytes:
    return b"\x08" + _varint(_zigzag(offset)) + b"\x10" + _varint(length)


def encode_histogram(h: FloatHistogram) -> bytes:
    """``dto.Histogram`` as federation fills it (float counts)."""
    out = [_double(2, h.sum), _double(4, h.count), b"\x28" + _varint(_zigzag(h.schema)),
           _double(6, h.zero_threshold), _double(8, h.zero_count)]
    out += [_bytes(9, _span(o, n)) for o, n in h.negative_spans]
    out += [_double(11, c) for c in h.negative_buckets]
    out += [_bytes(12, _span(o, n)) for o, n in h.positive_spans]
    out += [_double(14, c) for c in h.positive_buckets]
    return b"".join(out)


def encode_metric(pairs, t_ms: int, value) -> bytes:
    """``dto.Metric``: labels, then an untyped value or a histogram, and the timestamp."""
    out = [_bytes(1, _bytes(1, k.encode()) + _bytes(2, v.encode())) for k, v in pairs]
    if isinstance(value, FloatHistogram):
        out.append(b"\x30" + _varint(t_ms))
        out.append(_bytes(7, encode_histogram(value)))
    else:
        out.append(_bytes(5, _double(1, value)))
        out.append(b"\x30" + _varint(t_ms))
    return b"".join(out)


def family_type(value) -> int:
    if not isinstance(value, FloatHistogram):
        return UNTYPED
    return GAUGE_HISTOGRAM if value.counter_reset_hint == GAUGE_TYPE else HISTOGRAM


def encode_family(name: str, mtype: int, metrics: list[bytes]) -> bytes:
    """One length-delimited ``dto.MetricFamily``."""
    body = _bytes(1, name.encode()) + b"\x18" + _varint(mtype) + b"".join(
        _bytes(4, m) for m in metrics)
    return _varint(len(body)) + body


# -- reading --------------------------------------------------------------------------

def _read_varint(buf: bytes, i: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, i
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, object]]:
    """``(number, wire type, value)`` of a message's fields."""
    i = 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _read_varint(buf, i)
        elif wire == 1:
            if i + 8 > len(buf):
                raise ValueError("truncated fixed64")
            v = struct.unpack("<d", buf[i:i + 8])[0]
            i += 8
        elif wire == 2:
            n, i = _read_varint(buf, i)
            if i + n > len(buf):
                raise ValueError("truncated field")
            v = buf[i:i + n]
            i += n
        elif wire == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        yield number, wire, v


def _unzigzag(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def _doubles(wire: int, v) -> list:
    if wire == 1:
        return [v]
    return list(struct.unpack(f"<{len(v) // 8}d", v))  # packed


def _sint64s(wire: int, v) -> list:
    if wire == 0:
        return [_unzigzag(v)]
    out, i = [], 0
    while i < len(v):
        n, i = _read_varint(v, i)
        out.append(_unzigzag(n))
    return out


def decode_histogram(buf: bytes) -> Optional[FloatHistogram]:
    """A ``dto.Histogram``'s native part (None for a classic histogram without spans,
    schema or zero bucket)."""
    f: dict = {"pos_spans": [], "neg_spans": [], "pos": [], "neg": [], "pos_d": [], "neg_d": []}
    for number, wire, v in _fields(buf):
        if number == 1:
            f["count_int"] = v
        elif number == 2:
            f["sum"] = v
        elif number == 4:
            f["count_float"] = v
        elif number == 5:
            f["schema"] = _unzigzag(v)
        elif number == 6:
            f["zero_threshold"] = v
        elif number == 7:
            f["zero_int"] = v
        elif number == 8:
            f["zero_float"] = v
        elif number in (9, 12):
            span = dict((n, x) for n, _, x in _fields(v))
            f["neg_spans" if number == 9 else "pos_spans"].append(
                [_unzigzag(span.get(1, 0)), span.get(2, 0)])
        elif number in (10, 13):
            f["neg_d" if number == 10 else "pos_d"].extend(_sint64s(wire, v))
        elif number in (11, 14):
            f["neg" if number == 11 else "pos"].extend(_doubles(wire, v))
    native = (f.get("schema", 0) != 0 or f.get("zero_threshold", 0) > 0 or f["pos_spans"]
              or f["neg_spans"] or f.get("zero_int", 0) or f.get("zero_float", 0))
    if not native:
        return None
    is_float = f.get("count_float", 0) > 0 or f.get("zero_float", 0) > 0
    h = FloatHistogram(schema=f.get("schema", 0), zero_threshold=f.get("zero_threshold", 0.0),
                       sum=f.get("sum", 0.0), positive_spans=f["pos_spans"],
                       negative_spans=f["neg_spans"])
    if is_float:
        h.count, h.zero_count = f.get("count_float", 0.0), f.get("zero_float", 0.0)
        h.positive_buckets, h.negative_buckets = f["pos"], f["neg"]
    else:
        h.count, h.zero_count = float(f.get("count_int", 0)), float(f.get("zero_int", 0))
        h.positive_buckets = [float(c) for c in _cumulative(f["pos_d"])]
        h.negative_buckets = [float(c) for c in _cumulative(f["neg_d"])]
    return h


def decode_families(body: bytes) -> list[dict]:
    """Length-delimited ``MetricFamily`` messages as dicts: ``name``, ``type`` and
    ``metrics`` (``labels`` dict, ``timestamp_ms``, ``value`` or ``histogram``)."""
    out, i = [], 0
    while i < len(body):
        n, i = _read_varint(body, i)
        if i + n > len(body):
            raise ValueError("truncated metric family")
        fam = {"name": "", "type": UNTYPED, "metrics": []}
        for number, _, v in _fields(body[i:i + n]):
            if number == 1:
                fam["name"] = v.decode()
            elif number == 3:
                fam["type"] = v
            elif number == 4:
                fam["metrics"].append(_metric(v))
        out.append(fam)
        i += n
    return out


def _metric(buf: bytes) -> dict:
    m: dict = {"labels": {}, "timestamp_ms": None}
    for number, _, v in _fields(buf):
        if number == 1:
            pair = dict((n, x) for n, _, x in _fields(v))
            m["labels"][pair.get(1, b"").decode()] = pair.get(2, b"").decode()
        elif number in (2, 3, 5):  # gauge, counter, untyped: field 1 is the value
            m["value"] = dict((n, x) for n, _, x in _fields(v)).get(1, 0.0)
        elif number == 6:
            m["timestamp_ms"] = v
        elif number == 7:
            m["histogram"] = decode_histogram(v)
    return m
