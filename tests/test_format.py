"""Sample values, timestamps and strings written exactly as Prometheus 2.42 writes them.

The oracle for Go's ``strconv.FormatFloat(v, fmt, -1, 64)`` is numpy's shortest
round-trip formatting (positional for 'f', scientific with two exponent digits for 'e'),
an implementation independent of ours. A few cases were checked on a real 2.42.
"""

from __future__ import annotations

import math
import random
import struct

import numpy as np
import orjson
import pytest

from mockprom.api.format import (dumps, go_compat, result_json, sample_timestamp,
                                 sample_value, scalar_timestamp, scalar_value)
from mockprom.promql.values import Matrix, Sample, Scalar, Series, String, Vector


def go_f(v: float) -> str:
    return np.format_float_positional(v, unique=True, trim="-")


def go_e(v: float) -> str:
    s = np.format_float_scientific(v, unique=True, trim="-", exp_digits=2)
    return s


def expected_sample_value(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    a = abs(v)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        return go_e(v)
    return go_f(v)


def interesting_floats(n: int = 3000) -> list[float]:
    rnd = random.Random(7)
    vals = [0.0, -0.0, 1.0, -1.0, 0.5, 1 / 3, 1e-6, 9.99999e-7, 1e-7, 1e21, 9.999999e20,
            1e20, 1e16, 1e15, 123456789012345678.0, 2.0**70, 5e-324, 1.7976931348623157e308,
            0.1 + 0.2, 100.0, 1e-5, 0.00001234, 1.5e-300, 2.5e-7]
    for _ in range(n):
        bits = rnd.getrandbits(64)
        v = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if math.isfinite(v):
            vals.append(v)
        vals.append(rnd.uniform(-1e6, 1e6))
        vals.append(10.0 ** rnd.uniform(-30, 30) * rnd.choice((1, -1)))
        vals.append(float(rnd.randint(-10**12, 10**12)))
    return vals


@pytest.mark.parametrize("v", interesting_floats(200)[:60])
def test_sample_value_matches_go_rules_on_listed_values(v):
    assert sample_value(v) == expected_sample_value(v)


def test_sample_value_matches_go_rules_on_many_values():
    mismatches = [(v, sample_value(v), expected_sample_value(v)) for v in interesting_floats()
                  if sample_value(v) != expected_sample_value(v)]
    assert mismatches == []


def test_scalar_value_is_always_positional():
    vals = interesting_floats(500)
    bad = [(v, scalar_value(v)) for v in vals if scalar_value(v) != go_f(v)]
    assert bad == []
    assert all("e" not in scalar_value(v) for v in vals)


def test_special_values_as_prometheus_writes_them():
    # checked against a real Prometheus 2.42 (vector(...) and scalar queries)
    assert sample_value(1e-7) == "1e-07"
    assert sample_value(0.00001) == "0.00001"
    assert sample_value(1e21) == "1e+21"
    assert sample_value(2.0**70) == "1.1805916207174113e+21"
    assert sample_value(123456789012345678) == "123456789012345680"
    assert sample_value(float("nan")) == "NaN"
    assert sample_value(math.inf) == "+Inf"
    assert sample_value(-math.inf) == "-Inf"
    assert sample_value(-0.0) == "-0"
    assert scalar_value(1e-7) == "0.0000001"
    assert scalar_value(1e21) == "1000000000000000000000"
    assert sample_value(np.float64(2.5)) == "2.5"


@pytest.mark.parametrize("t_ms", [0, 1, 10, 999, 1000, 1001, 1000500, -10, -1000250,
                                  1435781451781, -1, 1700000000000, 2**53])
def test_sample_timestamp_is_marshal_timestamp(t_ms):
    s = sample_timestamp(t_ms)
    # MarshalTimestamp: integer seconds, then the ms fraction with exactly 3 digits
    sign = "-" if t_ms < 0 else ""
    sec, frac = divmod(abs(t_ms), 1000)
    assert s == (f"{sign}{sec}.{frac:03d}" if frac else f"{sign}{sec}")
    assert float(s) == pytest.approx(t_ms / 1000, abs=1e-9)


def test_scalar_timestamp_is_a_go_json_float():
    assert scalar_timestamp(1000500) == "1000.5"
    assert scalar_timestamp(10) == "0.01"
    assert scalar_timestamp(-1500) == "-1.5"
    for t in (1, 999, 123456789, 1435781451781, -77):
        assert float(scalar_timestamp(t)) == t / 1000
        assert scalar_timestamp(t) == go_f(t / 1000)


def test_strings_are_escaped_like_go_encoding_json():
    raw = orjson.dumps({"a": '<&>"é\u2028\u2029\t\\\b\f\\b'})
    out = go_compat(raw)
    assert out == (b'{"a":"\\u003c\\u0026\\u003e\\"\xc3\xa9\\u2028\\u2029\\t\\\\'
                   b'\\u0008\\u000c\\\\b"}')
    assert orjson.loads(out) == orjson.loads(raw)  # still the same JSON value


def test_generic_data_writes_integral_floats_as_go_does():
    assert dumps({"interval": 60.0, "t": 0.5, "n": 3}) == b'{"interval":60,"t":0.5,"n":3}'


def test_result_json_shapes():
    labels = (("__name__", "up"), ("job", "a<b"))
    vec = Vector([Sample(labels, 1000500, 1.0)])
    assert orjson.loads(result_json(vec)) == {
        "resultType": "vector",
        "result": [{"metric": {"__name__": "up", "job": "a<b"}, "value": [1000.5, "1"]}]}
    assert b"[1000.500," in result_json(vec)
    mat = Matrix([Series(labels, [(0, 1.0), (15000, float("nan"))])])
    assert orjson.loads(result_json(mat))["result"][0]["values"] == [[0, "1"], [15, "NaN"]]
    assert result_json(Scalar(1000, 1e-7)) == b'{"resultType":"scalar","result":[1,"0.0000001"]}'
    assert result_json(String(1500, "x")) == b'{"resultType":"string","result":[1.5,"x"]}'
    assert result_json(Vector([])) == b'{"resultType":"vector","result":[]}'


def test_bulk_formatting_agrees_with_one_at_a_time():
    from mockprom.api.format import sample_values

    vals = interesting_floats(1000)
    assert sample_values(vals) == [f'"{sample_value(v)}"' for v in vals]
    mixed = vals[:50] + [float("nan"), math.inf, -math.inf]
    assert sample_values(mixed) == [f'"{sample_value(v)}"' for v in mixed]
    assert sample_values([np.float64(1.5)]) == ['"1.5"']


def test_alert_values_use_go_e_format():
    from mockprom.api.format import alert_value

    assert alert_value(1.0) == "1e+00"  # as a real 2.42 shows an alert's value
    assert alert_value(1e-7) == "1e-07"
    for v in interesting_floats(300):
        if v != 0:
            assert alert_value(v) == go_e(v)
    assert alert_value(float("nan")) == "NaN" and alert_value(-math.inf) == "-Inf"


def test_rfc3339_nano_trims_the_fraction():
    from mockprom.api.format import rfc3339_nano

    assert rfc3339_nano(1700000000123) == "2023-11-14T22:13:20.123Z"
    assert rfc3339_nano(1700000000100) == "2023-11-14T22:13:20.1Z"
    assert rfc3339_nano(1700000000000) == "2023-11-14T22:13:20Z"
