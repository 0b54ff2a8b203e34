"""Prometheus's JSON wire format, byte for byte.

Prometheus 2.42 writes JSON with Go's rules, which differ from Python's:

- sample values of vectors and matrices (``jsonutil.MarshalValue``): a string holding
  ``strconv.AppendFloat(v, fmt, -1, 64)`` with fmt ``'e'`` when ``abs != 0 && (abs < 1e-6
  || abs >= 1e21)`` else ``'f'``: ``"0.00001"``, ``"1e-07"``, ``"1e+21"``, ``"NaN"``,
  ``"+Inf"``, ``"-Inf"``, ``"-0"``;
- their timestamps (``jsonutil.MarshalTimestamp``): seconds with the millisecond fraction
  always written with three digits when not zero: ``1000``, ``1000.500``, ``-0.010``;
- scalar results (``promql.Scalar.MarshalJSON``): the value with fmt ``'f'`` always
  (``"0.0000001"``, ``"1000000000000000000000"``) and the timestamp as a plain JSON
  float (``1000.5``); string results likewise;
- strings are escaped as Go's encoding/json does: ``<``, ``>``, ``&``, U+2028 and U+2029
  become ``\\u003c``, ``\\u003e``, ``\\u0026``, ``\\u2028``, ``\\u2029``; ``\\b`` and
  ``\\f`` become ``\\u0008`` and ``\\u000c``.

All checked against a real Prometheus 2.42. The float formats themselves are
``mockprom.gofloat``'s; this module only adds a fast path for ordinary sample values.
"""

from __future__ import annotations

import math
import re
from typing import Iterable

import numpy as np
import orjson

from mockprom.gofloat import format_e, format_f, format_json
from mockprom.histograms.wire import histogram_json
from mockprom.promql.values import Matrix, Scalar, String, Vector


# -- numbers -------------------------------------------------------------------------

def sample_value(v: float) -> str:
    """A vector/matrix sample value as Prometheus writes it (without the quotes):
    ``jsonutil.MarshalValue``, i.e. ``gofloat.format_e`` when ``abs != 0 && (abs < 1e-6
    || abs >= 1e21)``, else ``gofloat.format_f``."""
    v = float(v)
    s = repr(v)
    if "e" in s or "n" in s:  # exponent, nan or inf: the slow, exact path
        a = abs(v)
        if 0 < a < 1e-6 or 1e21 <= a < math.inf:
            return format_e(v)
        return format_f(v)  # also NaN, +Inf, -Inf
    if s.endswith(".0"):  # the fast path: repr is Go's 'f' but for this ending
        return s[:-2]
    return s


def scalar_value(v: float) -> str:
    """A scalar result's value (Go ``FormatFloat(v, 'f', -1, 64)``)."""
    return format_f(v)


def sample_timestamp(t_ms: int) -> str:
    """``jsonutil.MarshalTimestamp``: ms as seconds, fraction always three digits."""
    t = int(t_ms)
    if 0 <= t and t % 1000 == 0:
        return str(t // 1000)
    sign = ""
    if t < 0:
        sign = "-"
        t = -t
    sec, frac = divmod(t, 1000)
    if frac:
        return f"{sign}{sec}.{frac:03d}"
    return f"{sign}{sec}"


def json_float(v: float) -> str:
    """Go's encoding/json form of a float64 (shortest digits, 'f' unless tiny or huge)."""
    if v != v or v in (math.inf, -math.inf):
        raise ValueError("JSON has no NaN or Inf")
    return format_json(v)


def alert_value(v: float) -> str:
    """An alert's value in ``/api/v1/alerts`` and ``/rules``: ``FormatFloat(v, 'e', -1,
    64)`` (``"1e+00"``, ``"1e-07"``, ``"NaN"``, ``"+Inf"``)."""
    return format_e(v)


def rfc3339_nano(ms: int) -> str:
    """Go's ``time.RFC3339Nano`` of a UTC time in ms (fraction trimmed of zeros)."""
    import datetime as _dt

    d = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=int(ms))
    base = d.strftime("%Y-%m-%dT%H:%M:%S")
    frac = int(ms) % 1000
    if frac:
        base += ("." + f"{frac:03d}").rstrip("0")
    return base + "Z"


def scalar_timestamp(t_ms: int) -> str:
    """A scalar/string result's timestamp: ``float64(t)/1000`` through encoding/json."""
    return json_float(int(t_ms) / 1000)


# -- strings -------------------------------------------------------------------------

_GO_ESCAPES = (
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    (b"&", b"\\u0026"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)
_ESCAPE_SEQ = re.compile(rb'\\(.)')


def _go_control_escape(m: re.Match) -> bytes:
    c = m.group(1)
    if c == b"b":
        return b"\\u0008"
    if c == b"f":
        return b"\\u000c"
    return m.group(0)


def control_compat(body: bytes) -> bytes:
    """Rewrite orjson output into jsoniter's ``WriteString`` escaping (Prometheus 3.x's
    label encoder): control characters as ``\\u00XX`` but no HTML escaping."""
    if b"\\b" in body or b"\\f" in body:
        body = _ESCAPE_SEQ.sub(_go_control_escape, body)
    return body


_SURROGATE = re.compile("[\ud800-\udfff]")


def dumps_text(obj) -> bytes:
    """``orjson.dumps`` of plain data whose strings may carry bytes that are not UTF-8
    (surrogate escapes, from a PromQL ``"\\xff"``): those come out as ``\\ufffd``, as Go's
    encoding/json writes invalid bytes."""
    try:
        return orjson.dumps(obj)
    except TypeError:
        import json

        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
        return _SURROGATE.sub(lambda m: "\\ufffd", text).encode("utf-8")


def go_compat(body: bytes) -> bytes:
    """Rewrite orjson output into Go encoding/json's string escaping (HTML-safe)."""
    for raw, esc in _GO_ESCAPES:
        if raw in body:
            body = body.replace(raw, esc)
    return control_compat(body)


def _go_default(obj):
    raise TypeError(f"cannot encode {type(obj).__name__}")


def _go_numbers(obj):
    """Turn integral floats into ints (Go writes ``60``, not ``60.0``), recursively."""
    if isinstance(obj, float):
        if obj == obj and abs(obj) < 1e21 and obj == int(obj):
            return int(obj)
        return obj
    if isinstance(obj, dict):
        return {k: _go_numbers(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_go_numbers(v) for v in obj]
    return obj


class LabelSet(dict):
    """A label set inside data given to ``dumps`` that Prometheus 3.x writes with its
    jsoniter label encoder, so without HTML escaping (rules', alerts' and targets' labels
    and annotations)."""


def _hide_label_sets(obj, found: list):
    """``obj`` with every ``LabelSet`` replaced by a placeholder string (its index in
    ``found``), recursively."""
    if isinstance(obj, LabelSet):
        found.append(obj)
        return f"\x00{len(found) - 1}\x00"
    if isinstance(obj, dict):
        return {k: _hide_label_sets(v, found) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_hide_label_sets(v, found) for v in obj]
    return obj


_PLACEHOLDER = re.compile(rb'"\\u0000(\d+)\\u0000"')


def dumps(obj) -> bytes:
    """Generic data (targets, rules, status...) as Go's encoding/json would write it;
    ``LabelSet`` values as ``labels_json(..., html_escaped=False)``."""
    found: list = []
    obj = _hide_label_sets(obj, found)
    body = go_compat(orjson.dumps(_go_numbers(obj), default=_go_default))
    if found:
        body = _PLACEHOLDER.sub(lambda m: labels_json(found[int(m.group(1))].items(), False),
                                body)
    return body


def labels_json(labels, html_escaped: bool = True) -> bytes:
    """A label set (sorted pairs) as a JSON object, in label order (as Go sorts keys),
    Go-escaped: HTML characters escaped as encoding/json does (Prometheus 2.x) or not, as
    3.x's jsoniter label encoder writes them (``html_escaped=False``)."""
    raw = orjson.dumps(dict(labels))
    return go_compat(raw) if html_escaped else control_compat(raw)


# -- query results -------------------------------------------------------------------

_EXP_TOKEN = re.compile(r"[^,]*e[^,]*")
_TRAILING_ZERO = re.compile(r"\.0(?=,|$)")


def _exp_token(m: re.Match) -> str:
    return sample_value(float(m.group(0)))


def _value_texts(vals) -> list[str]:
    """``sample_value`` of many floats (a list or a float64 array) at once, unquoted:
    orjson writes the shortest digits in C; only its exponent forms and ``.0`` endings
    are rewritten (about 6x faster than one ``repr`` per value)."""
    try:
        s = orjson.dumps(vals, option=orjson.OPT_SERIALIZE_NUMPY).decode()[1:-1]
    except TypeError:  # not plain floats (numpy scalars...)
        s = "null"
    if "null" in s:  # NaN and ±Inf: orjson writes null for all three
        return [sample_value(v) for v in vals]
    if "e" in s:
        s = _EXP_TOKEN.sub(_exp_token, s)
    return _TRAILING_ZERO.sub("", s).split(",")


def sample_values(vals: list) -> list[str]:
    """``sample_value`` of many floats at once, quoted."""
    if not len(vals):
        return []
    return ['"' + v + '"' for v in _value_texts(vals)]


def _grid_template(ts, cache: dict) -> str:
    """``[t,"%s"],...`` for the timestamps ``ts`` (a list or an int64 array), kept in
    ``cache`` for the next series: in a range query most series share the step grid."""
    last = cache.get("ts")
    if last is not None and (last is ts or (len(last) == len(ts) and _same(last, ts))):
        return cache["template"]
    template = "[" + "],[".join(sample_timestamp(t) + ',"%s"' for t in
                                 (ts.tolist() if isinstance(ts, np.ndarray) else ts)) + "]"
    cache["ts"], cache["template"] = ts, template
    return template


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return a == b


def _points_json(s, cache: dict) -> str:
    """``[t,"v"],...`` of one series' float samples (from its arrays when it has them)."""
    if s.ts is not None:
        ts, vals = s.ts, s.vals
    else:
        points = s.points
        ts, vals = [p[0] for p in points], [p[1] for p in points]
    if not len(ts):
        return ""
    return _grid_template(ts, cache) % tuple(_value_texts(vals))


def _series_values(s, cache: dict) -> bytes:
    """``,"values":[...]`` and/or ``,"histograms":[...]`` of a matrix series (each key
    only when the series has such samples; ``values`` always for a float series)."""
    out = b""
    floats = len(s.ts) if s.ts is not None else len(s.points)
    if floats or not s.histograms:
        out += b',"values":[' + _points_json(s, cache).encode() + b"]"
    if s.histograms:
        out += (',"histograms":[' + ",".join(
            f"[{sample_timestamp(t)},{histogram_json(h, sample_value)}]"
            for t, h in s.histograms) + "]").encode()
    return out


def result_json(value, html_escaped_labels: bool = True) -> bytes:
    """``{"resultType": ..., "result": ...}`` for a query result value, Go-escaped (label
    sets as ``labels_json`` with ``html_escaped_labels``)."""
    html = html_escaped_labels
    if isinstance(value, Vector):
        ts = sample_timestamp
        qv = sample_values([s.value for s in value.samples])
        parts = [b'{"metric":' + labels_json(s.labels, html)
                 + (f',"value":[{ts(s.t_ms)},{v}]}}' if s.histogram is None else
                    f',"histogram":[{ts(s.t_ms)},{histogram_json(s.histogram, sample_value)}]}}'
                    ).encode()
                 for s, v in zip(value.samples, qv)]
        return b'{"resultType":"vector","result":[' + b",".join(parts) + b"]}"
    if isinstance(value, Matrix):
        cache: dict = {}
        parts = [b'{"metric":' + labels_json(s.labels, html) + _series_values(s, cache) + b"}"
                 for s in value.series]
        return b'{"resultType":"matrix","result":[' + b",".join(parts) + b"]}"
    if isinstance(value, Scalar):
        return (f'{{"resultType":"scalar","result":[{scalar_timestamp(value.t_ms)},'
                f'"{scalar_value(value.value)}"]}}').encode()
    if isinstance(value, String):
        return (f'{{"resultType":"string","result":[{scalar_timestamp(value.t_ms)},'.encode()
                + go_compat(orjson.dumps(value.value)) + b"]}")
    raise TypeError(f"not a query result: {type(value).__name__}")
