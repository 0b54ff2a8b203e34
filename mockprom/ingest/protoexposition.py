"""``/federate`` in the protobuf exposition formats a client may ask for in its ``Accept``
header (``application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
encoding=delimited|text|compact-text``): one ``MetricFamily`` per metric name, each
metric with its labels, an ``untyped`` value and ``timestamp_ms``, as Prometheus's
federation handler writes them; a native histogram as a ``histogram`` (its family
``HISTOGRAM`` or ``GAUGE_HISTOGRAM``) with its spans and absolute float counts.

``delimited`` is the binary form, each message prefixed with its length (a varint),
fields in field-number order as Go's ``proto.Marshal`` writes them. The two text forms are
Go's protobuf text format, which changed between the emulated versions: 2.42's
``golang/protobuf`` writes ``metric: <`` ... ``>`` with one space after the colon and
octal escapes for bytes outside printable ASCII; 3.5's ``prototext`` writes ``metric:  {``
... ``}`` (two spaces: protobuf-go inserts them on purpose to keep the output unstable,
and the 3.5.3 build compared with prints two) and keeps UTF-8 as it is. Both checked byte
for byte against real 2.42.0 and 3.5.3 servers.
"""

from __future__ import annotations

import math
import struct
from typing import Sequence

from mockprom.gofloat import format_g
from mockprom.histograms import GAUGE_TYPE, FloatHistogram

UNTYPED, HISTOGRAM, GAUGE_HISTOGRAM = 3, 4, 5  # io.prometheus.client.MetricType
TYPE_NAMES = {UNTYPED: "UNTYPED", HISTOGRAM: "HISTOGRAM", GAUGE_HISTOGRAM: "GAUGE_HISTOGRAM"}


# -- binary ------------------------------------------------------------------------------

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


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _zigzag(n: int) -> int:
    return (n << 1) ^ (n >> 63)


def _double(number: int, v: float) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", v)


def _span(offset: int, length: int) -> bytes:
    return b"\x08" + _varint(_zigzag(offset)) + b"\x10" + _varint(length)


def _histogram(h: FloatHistogram) -> bytes:
    """``dto.Histogram`` as federation fills it: sum, float count, schema, zero bucket,
    spans and absolute float bucket counts (repeated doubles, not packed, as proto2)."""
    out = [_double(2, h.sum), _double(4, h.count), b"\x28" + _varint(_zigzag(h.schema)),
           _double(6, h.zero_threshold), _double(8, h.zero_count)]
    out += [_bytes_field(9, _span(o, n)) for o, n in h.negative_spans]
    out += [_double(11, c) for c in h.negative_buckets]
    out += [_bytes_field(12, _span(o, n)) for o, n in h.positive_spans]
    out += [_double(14, c) for c in h.positive_buckets]
    return b"".join(out)


def _metric(pairs: Sequence[tuple[str, str]], t_ms: int, v) -> bytes:
    body = b"".join(_bytes_field(1, _bytes_field(1, k.encode()) + _bytes_field(2, val.encode()))
                    for k, val in pairs)
    if isinstance(v, FloatHistogram):  # timestamp_ms (6), then histogram (7)
        return body + b"\x30" + _varint(t_ms) + _bytes_field(7, _histogram(v))
    body += _bytes_field(5, b"\x09" + struct.pack("<d", v))  # untyped { value }
    return body + b"\x30" + _varint(t_ms)  # timestamp_ms


def family_type(metrics) -> int:
    """A family's ``MetricType``: its samples are all of one kind."""
    v = metrics[0][2]
    if not isinstance(v, FloatHistogram):
        return UNTYPED
    return GAUGE_HISTOGRAM if v.counter_reset_hint == GAUGE_TYPE else HISTOGRAM


def delimited(families) -> bytes:
    """``families``: ``[(name, [(pairs, t_ms, value), ...]), ...]``; a value is a float
    or a native histogram (``FloatHistogram``)."""
    out = []
    for name, metrics in families:
        msg = _bytes_field(1, name.encode()) + b"\x18" + _varint(family_type(metrics))
        msg += b"".join(_bytes_field(4, _metric(p, t, v)) for p, t, v in metrics)
        out.append(_varint(len(msg)) + msg)
    return b"".join(out)


# -- text ----------------------------------------------------------------------------------

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def _quote_v1(s: str) -> str:
    """golang/protobuf's text strings: bytes outside printable ASCII as octal."""
    out = []
    for b in s.encode("utf-8"):
        ch = chr(b)
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif 0x20 <= b < 0x7F:
            out.append(ch)
        else:
            out.append(f"\\{b:03o}")
    return '"' + "".join(out) + '"'


def _quote_v2(s: str) -> str:
    """prototext's strings: UTF-8 kept, control characters as ``\\xNN``, the C1 range as
    ``\\uNNNN``."""
    out = []
    for ch in s:
        code = ord(ch)
        if ch in _SHORT:
            out.append(_SHORT[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0x80 <= code <= 0x9F:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _float(v: float) -> str:
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return format_g(v)


def _histogram_fields(h: FloatHistogram) -> list:
    """The text encodings print fields in the order ``metrics.proto`` declares them (the
    binary one in field number order): ``sample_count_float`` before ``sample_sum``, a
    metric's ``histogram`` before its ``timestamp_ms``."""
    fields = [("sample_count_float", _float(h.count)), ("sample_sum", _float(h.sum)),
              ("schema", str(h.schema)), ("zero_threshold", _float(h.zero_threshold)),
              ("zero_count_float", _float(h.zero_count))]
    for side, spans, counts in (("negative", h.negative_spans, h.negative_buckets),
                                ("positive", h.positive_spans, h.positive_buckets)):
        fields += [(f"{side}_span", [("offset", str(o)), ("length", str(n))])
                   for o, n in spans]
        fields += [(f"{side}_count", _float(c)) for c in counts]
    return fields


def _fields(name: str, metrics, quote) -> list:
    """The message as ``(field, value)`` pairs; a value is text or a nested list."""
    fields = [("name", quote(name)), ("type", TYPE_NAMES[family_type(metrics)])]
    for pairs, t, v in metrics:
        metric = [("label", [("name", quote(k)), ("value", quote(val))]) for k, val in pairs]
        if isinstance(v, FloatHistogram):
            metric += [("histogram", _histogram_fields(v)), ("timestamp_ms", str(t))]
        else:
            metric += [("untyped", [("value", _float(v))]), ("timestamp_ms", str(t))]
        fields.append(("metric", metric))
    return fields


def _v1_multi(fields, indent: str) -> str:
    out = []
    for key, value in fields:
        if isinstance(value, list):
            out.append(f"{indent}{key}: <\n{_v1_multi(value, indent + '  ')}{indent}>\n")
        else:
            out.append(f"{indent}{key}: {value}\n")
    return "".join(out)


def _v1_compact(fields) -> str:
    return "".join(f"{k}:<{_v1_compact(v)}> " if isinstance(v, list) else f"{k}:{v} "
                   for k, v in fields)


def _v2_multi(fields, indent: str) -> str:
    out = []
    for key, value in fields:
        if isinstance(value, list):
            out.append(f"{indent}{key}:  {{\n{_v2_multi(value, indent + '  ')}{indent}}}\n")
        else:
            out.append(f"{indent}{key}:  {value}\n")
    return "".join(out)


def _v2_compact(fields) -> str:
    return "  ".join(f"{k}:{{{_v2_compact(v)}}}" if isinstance(v, list) else f"{k}:{v}"
                     for k, v in fields)


def text(families, style: str, compact: bool) -> bytes:
    """The ``text`` (``compact``: ``compact-text``) encoding in ``style`` ``"v1"`` (2.42)
    or ``"v2"`` (3.5)."""
    quote = _quote_v1 if style == "v1" else _quote_v2
    return _render([_fields(name, metrics, quote) for name, metrics in families], style,
                   compact)


def _render(messages, style: str, compact: bool) -> bytes:
    """Text-format messages (``(field, text or nested list)`` pairs), one after another."""
    out = []
    for fields in messages:
        if compact:
            out.append((_v1_compact(fields) if style == "v1" else _v2_compact(fields)) + "\n")
        else:
            out.append((_v1_multi(fields, "") if style == "v1" else _v2_multi(fields, "")) + "\n")
    return "".join(out).encode("utf-8")


# -- whole metric families, as a client library exposes them (``/metrics``) ----------------
# A message is a list of fields ``(name, number, kind, value)`` in the order metrics.proto
# declares them (the text encodings' order); the binary encoding writes them in field
# number order, as Go's ``proto.Marshal`` does. Kinds: ``string``, ``enum`` (value
# ``(number, NAME)``), ``double``, ``uint`` and ``int`` (varints), ``sint`` (zigzag),
# ``msg`` (value: a field list). client_golang fills proto2 messages: every field it sets
# is written, zeros included; ``google.protobuf.Timestamp`` is proto3 (zeros left out).

def encode_fields(fields) -> bytes:
    out = []
    for _, number, kind, value in sorted(fields, key=lambda f: f[1]):
        if kind == "string":
            out.append(_bytes_field(number, value.encode("utf-8")))
        elif kind == "msg":
            out.append(_bytes_field(number, encode_fields(value)))
        elif kind == "double":
            out.append(_double(number, value))
        elif kind == "sint":
            out.append(_varint(number << 3) + _varint(_zigzag(value)))
        elif kind == "enum":
            out.append(_varint(number << 3) + _varint(value[0]))
        else:  # uint, int
            out.append(_varint(number << 3) + _varint(value))
    return b"".join(out)


def _text_fields(fields, quote) -> list:
    out = []
    for name, _, kind, value in fields:
        if kind == "msg":
            out.append((name, _text_fields(value, quote)))
        elif kind == "string":
            out.append((name, quote(value)))
        elif kind == "enum":
            out.append((name, value[1]))
        elif kind == "double":
            out.append((name, _float(value)))
        else:
            out.append((name, str(value)))
    return out


def families_delimited(families) -> bytes:
    """Length-prefixed ``MetricFamily`` messages from their field lists."""
    out = []
    for fields in families:
        msg = encode_fields(fields)
        out.append(_varint(len(msg)) + msg)
    return b"".join(out)


def families_text(families, style: str, compact: bool) -> bytes:
    """The ``text``/``compact-text`` encodings of ``MetricFamily`` field lists."""
    quote = _quote_v1 if style == "v1" else _quote_v2
    return _render([_text_fields(fields, quote) for fields in families], style, compact)
