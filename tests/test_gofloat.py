"""``mockprom.gofloat``: Go's ``strconv.FormatFloat`` ('f', 'e', 'g', shortest or with a
precision), the one float formatter every layer uses.

Three oracles, none of them our code:

- tables of Go outputs: rows of Go's own ``strconv/ftoa_test.go`` and values worked out
  by hand from Go's documented rules (shortest round-trip digits; 'e' has a signed
  exponent of at least two digits; shortest 'g' uses 'e' when the decimal exponent is
  below -4 or at least 6);
- numpy's shortest round-trip formatting, on thousands of random doubles;
- a real Prometheus 2.42 (``realprom`` tests): ``/federate`` prints 'g' (but "0" for
  -0), the query API ``jsonutil.MarshalValue`` ('e' or 'f'), ``count_values`` labels
  'f', alert values 'e', alert templates ``%v``, and errors ``%f`` and ``%v``; mockprom,
  holding the same data, must print the same.
"""

from __future__ import annotations

import math
import random
import re
import struct
import time

import numpy as np
import pytest

from realprom import release  # noqa: F401  (a fixture)
import requests

from mockprom.gofloat import format_e, format_f, format_g, format_prec

NAN, INF = math.nan, math.inf
MAX = 1.7976931348623157e308
TINY = 5e-324  # the smallest subnormal
BELOW_1E23 = 99999999999999974834176.0
ABOVE_1E23 = 100000000000000008388608.0

# -- Go's own table (src/strconv/ftoa_test.go), the rows in 'e', 'f' and 'g' ------------

GO_FTOA_TESTS = [
    (1, "e", 5, "1.00000e+00"), (1, "f", 5, "1.00000"), (1, "g", -1, "1"),
    (20, "g", -1, "20"), (1234567.8, "g", -1, "1.2345678e+06"), (200000, "g", -1, "200000"),
    (2000000, "g", -1, "2e+06"),
    (0, "e", 5, "0.00000e+00"), (0, "f", 5, "0.00000"), (0, "g", -1, "0"),
    (-1, "e", 5, "-1.00000e+00"), (-1, "f", 5, "-1.00000"), (-1, "g", -1, "-1"),
    (12, "e", 5, "1.20000e+01"), (12, "f", 5, "12.00000"), (12, "g", -1, "12"),
    (123456700, "e", 5, "1.23457e+08"), (123456700, "f", 5, "123456700.00000"),
    (123456700, "g", -1, "1.234567e+08"),
    (1.2345e6, "e", 5, "1.23450e+06"), (1.2345e6, "f", 5, "1234500.00000"),
    (1e23, "e", 17, "9.99999999999999916e+22"),
    (1e23, "f", 17, "99999999999999991611392.00000000000000000"),
    (1e23, "e", -1, "1e+23"), (1e23, "f", -1, "100000000000000000000000"),
    (1e23, "g", -1, "1e+23"),
    (BELOW_1E23, "e", 17, "9.99999999999999748e+22"),
    (BELOW_1E23, "f", 17, "99999999999999974834176.00000000000000000"),
    (BELOW_1E23, "e", -1, "9.999999999999997e+22"),
    (BELOW_1E23, "f", -1, "99999999999999970000000"),
    (BELOW_1E23, "g", -1, "9.999999999999997e+22"),
    (ABOVE_1E23, "e", 17, "1.00000000000000008e+23"),
    (ABOVE_1E23, "f", 17, "100000000000000008388608.00000000000000000"),
    (ABOVE_1E23, "e", -1, "1.0000000000000001e+23"),
    (ABOVE_1E23, "f", -1, "100000000000000010000000"),
    (ABOVE_1E23, "g", -1, "1.0000000000000001e+23"),
    (5e-324, "g", -1, "5e-324"), (-5e-324, "g", -1, "-5e-324"),
    (32, "g", -1, "32"),
    (NAN, "g", -1, "NaN"), (-NAN, "g", -1, "NaN"), (INF, "g", -1, "+Inf"),
    (-INF, "g", -1, "-Inf"),
    (0.9, "f", 1, "0.9"), (0.09, "f", 1, "0.1"), (0.0999, "f", 1, "0.1"), (0.05, "f", 1, "0.1"),
    (0.05, "f", 0, "0"), (0.5, "f", 1, "0.5"), (0.5, "f", 0, "0"), (1.5, "f", 0, "2"),
    (2.2250738585072012e-308, "g", -1, "2.2250738585072014e-308"),
    (2.2250738585072011e-308, "g", -1, "2.225073858507201e-308"),
    (383260575764816448, "f", 0, "383260575764816448"),
    (383260575764816448, "g", -1, "3.8326057576481645e+17"),
    (498484681984085570, "f", -1, "498484681984085570"),
    (-5.8339553793802237e+23, "g", -1, "-5.8339553793802237e+23"),
]


def go_format_float(v: float, fmt: str, prec: int) -> str:
    if prec >= 0:
        return format_prec(v, fmt, prec)
    return {"f": format_f, "e": format_e, "g": format_g}[fmt](v)


@pytest.mark.parametrize("v, fmt, prec, want", GO_FTOA_TESTS,
                         ids=[f"{v!r}-{f}-{p}" for v, f, p, _ in GO_FTOA_TESTS])
def test_go_strconv_own_table(v, fmt, prec, want):
    assert go_format_float(float(v), fmt, prec) == want


# -- Go's rules, worked out by hand -------------------------------------------------------

# (value, 'f', 'e', 'g') -- FormatFloat(v, fmt, -1, 64)
KNOWN = [
    (0.0, "0", "0e+00", "0"),
    (-0.0, "-0", "-0e+00", "-0"),
    (1.0, "1", "1e+00", "1"),
    (-2.5, "-2.5", "-2.5e+00", "-2.5"),
    (0.1, "0.1", "1e-01", "0.1"),
    (1 / 3, "0.3333333333333333", "3.333333333333333e-01", "0.3333333333333333"),
    (100.0, "100", "1e+02", "100"),
    # tiny
    (TINY, "0." + "0" * 323 + "5", "5e-324", "5e-324"),
    (-TINY, "-0." + "0" * 323 + "5", "-5e-324", "-5e-324"),
    (1e-300, "0." + "0" * 299 + "1", "1e-300", "1e-300"),
    (2.5e-7, "0.00000025", "2.5e-07", "2.5e-07"),
    # huge
    (MAX, "17976931348623157" + "0" * 292, "1.7976931348623157e+308", "1.7976931348623157e+308"),
    (-1e300, "-1" + "0" * 300, "-1e+300", "-1e+300"),
    (1e100, "1" + "0" * 100, "1e+100", "1e+100"),
    # the 1e21 boundary of MarshalValue
    (1e21, "1" + "0" * 21, "1e+21", "1e+21"),
    (9.999999999999999e20, "999999999999999900000", "9.999999999999999e+20",
     "9.999999999999999e+20"),  # the double below 1e21
    (1.5e21, "1500000000000000000000", "1.5e+21", "1.5e+21"),
    # the 1e-6 boundary of MarshalValue
    (1e-6, "0.000001", "1e-06", "1e-06"),
    (9.999999999999997e-07, "0.0000009999999999999997", "9.999999999999997e-07",
     "9.999999999999997e-07"),  # the double below 1e-6
    (1.0000000000000002e-06, "0.0000010000000000000002", "1.0000000000000002e-06",
     "1.0000000000000002e-06"),  # the double above 1e-6
    (1e-7, "0.0000001", "1e-07", "1e-07"),
    # the 'g' switch: exponent below -4 or at least 6
    (0.0001, "0.0001", "1e-04", "0.0001"),
    (0.00012345, "0.00012345", "1.2345e-04", "0.00012345"),
    (1e-5, "0.00001", "1e-05", "1e-05"),
    (1.2345e-5, "0.000012345", "1.2345e-05", "1.2345e-05"),
    (123456.0, "123456", "1.23456e+05", "123456"),
    (999999.0, "999999", "9.99999e+05", "999999"),
    (999999.5, "999999.5", "9.999995e+05", "999999.5"),
    (1e6, "1000000", "1e+06", "1e+06"),
    (1234567.0, "1234567", "1.234567e+06", "1.234567e+06"),
    (-1234567.5, "-1234567.5", "-1.2345675e+06", "-1.2345675e+06"),
    # integers above 2**53: the shortest digits, then zeros
    (2.0 ** 53, "9007199254740992", "9.007199254740992e+15", "9.007199254740992e+15"),
    (2.0 ** 53 + 2, "9007199254740994", "9.007199254740994e+15", "9.007199254740994e+15"),
    (2.0 ** 63, "9223372036854776000", "9.223372036854776e+18", "9.223372036854776e+18"),
    (2.0 ** 64, "18446744073709552000", "1.8446744073709552e+19", "1.8446744073709552e+19"),
    (123456789012345678.0, "123456789012345680", "1.2345678901234568e+17",
     "1.2345678901234568e+17"),
    # values whose Python repr has an exponent
    (1e16, "10000000000000000", "1e+16", "1e+16"),
    (1.5e17, "150000000000000000", "1.5e+17", "1.5e+17"),
    (1.5e-5, "0.000015", "1.5e-05", "1.5e-05"),
    # special values
    (NAN, "NaN", "NaN", "NaN"),
    (INF, "+Inf", "+Inf", "+Inf"),
    (-INF, "-Inf", "-Inf", "-Inf"),
]


@pytest.mark.parametrize("v, f, e, g", KNOWN, ids=[repr(k[0]) for k in KNOWN])
def test_known_go_outputs(v, f, e, g):
    assert (format_f(v), format_e(v), format_g(v)) == (f, e, g)


def test_numpy_and_integer_arguments_print_like_their_float():
    for v in (np.float64(2.5), np.float64(1e-7), np.float32(0.5), 7, -3):
        assert format_f(v) == format_f(float(v))
        assert format_e(v) == format_e(float(v))
        assert format_g(v) == format_g(float(v))
    assert format_g(np.float64(1e6)) == "1e+06" and format_f(np.float64(-0.0)) == "-0"


def test_fixed_precision_is_go_percent_f_and_e():
    # fmt.Sprintf("%f", v) == FormatFloat(v, 'f', 6, 64) for finite v; fmt writes NaN, +Inf
    # and -Inf as strconv does (only a NaN's sign would need a flag).
    assert format_prec(1.5, "f", 6) == "1.500000"
    assert format_prec(-0.0, "f", 6) == "-0.000000"
    assert format_prec(2.5e-7, "f", 6) == "0.000000"
    assert format_prec(1.5e-6, "f", 6) == "0.000002"  # the double is above 1.5e-6
    assert format_prec(2.5, "f", 0) == "2"  # an exact half rounds to even, as in Go
    assert format_prec(3.5, "f", 0) == "4"
    assert format_prec(1e20, "f", 6) == "100000000000000000000.000000"
    assert format_prec(1e300, "f", 0) == str(int(1e300))  # the exact value, all digits
    assert format_prec(-9.3e18, "f", 6) == "-9300000000000000000.000000"
    assert format_prec(1e-7, "e", 3) == "1.000e-07"
    assert format_prec(123456, "e", 3) == "1.235e+05"
    assert format_prec(1e100, "e", 0) == "1e+100"
    for bad in (NAN, INF, -INF):
        assert format_prec(bad, "f", 6) == format_f(bad)
        assert format_prec(bad, "e", 2) == format_e(bad)
    with pytest.raises(ValueError):
        format_prec(1.0, "g", 4)
    with pytest.raises(ValueError):
        format_prec(1.0, "f", -1)


# -- many values against an independent implementation ----------------------------------

def _random_doubles(n: int, seed: int) -> list[float]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        v = struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0]
        if math.isfinite(v):
            out.append(v)
        out.append(10.0 ** rnd.uniform(-25, 25) * rnd.choice((1, -1)))
        out.append(float(rnd.randint(-2 ** 70, 2 ** 70)))
        out.append(round(rnd.uniform(-1e7, 1e7), rnd.randint(0, 9)))
    for e in range(-323, 309):  # every decade, and the doubles either side
        for m in (1.0, 2.5, 9.999999999999998):
            v = m * 10.0 ** e
            if math.isfinite(v) and v != 0:
                out += [v, -v, math.nextafter(v, 0), math.nextafter(v, math.inf)]
    return out


VALUES = _random_doubles(3000, 42)


def test_f_and_e_agree_with_numpy_shortest_formatting():
    bad_f = [(v, format_f(v)) for v in VALUES
             if format_f(v) != np.format_float_positional(v, unique=True, trim="-")]
    bad_e = [(v, format_e(v)) for v in VALUES
             if format_e(v) != np.format_float_scientific(v, unique=True, trim="-", exp_digits=2)]
    assert (bad_f[:5], bad_e[:5]) == ([], [])


def test_every_form_round_trips_and_g_picks_its_form_by_the_exponent():
    for v in VALUES:
        f, e, g = format_f(v), format_e(v), format_g(v)
        assert float(f) == float(e) == float(g) == v, v
        assert "e" not in f
        assert re.fullmatch(r"-?\d(\.\d*[1-9])?e[-+]\d\d\d?", e), e
        exp = int(e.partition("e")[2])
        assert g == (e if exp < -4 or exp >= 6 else f), v


# -- the callers print what gofloat prints ------------------------------------------------

def test_marshal_value_and_the_fast_path_use_the_same_rules():
    from mockprom.api.format import alert_value, sample_value, sample_values, scalar_value

    def marshal(v):
        a = abs(v)
        return format_e(v) if a != 0 and (a < 1e-6 or a >= 1e21) else format_f(v)

    vals = VALUES[:4000] + [row[0] for row in KNOWN]
    assert [sample_value(v) for v in vals] == [marshal(v) for v in vals]
    assert sample_values(vals) == [f'"{marshal(v)}"' for v in vals]
    assert [scalar_value(v) for v in vals] == [format_f(v) for v in vals]
    assert [alert_value(v) for v in vals] == [format_e(v) for v in vals]


def test_histogram_le_and_summary_quantile_labels_are_go_g():
    from mockprom.server import MockPrometheus

    dist = {"lognormal": {"median": 0.2, "sigma": 0.5}}
    mock = MockPrometheus({"seed": 1, "series": [
        {"metric": "lat", "labels": {"job": "x"}, "type": "histogram", "interval": "15s",
         "generator": {"kind": "histogram", "rate": 5, "distribution": dist,
                       "buckets": [0.00001, 0.005, 0.25, 1, 10, 123456, 1e6, 2.5e6]}},
        {"metric": "rpc", "labels": {"job": "x"}, "type": "summary", "interval": "15s",
         "generator": {"kind": "summary", "rate": 5, "distribution": dist,
                       "quantiles": [0.0001, 0.5, 0.99, 0.999]}}]})
    try:
        les = requests.get(mock.url + "/api/v1/label/le/values", timeout=30).json()["data"]
        qs = requests.get(mock.url + "/api/v1/label/quantile/values", timeout=30).json()["data"]
    finally:
        mock.stop()
    assert sorted(les) == sorted(["1e-05", "0.005", "0.25", "1", "10", "123456", "1e+06",
                                  "2.5e+06", "+Inf"])
    assert sorted(qs) == sorted(["0.0001", "0.5", "0.99", "0.999"])


def test_ingest_keeps_its_old_name_for_go_g():
    from mockprom.ingest.gofloat import format_go_g

    assert format_go_g is format_g


@pytest.mark.parametrize("query, message", [
    ("holt_winters(gf[5m], 1.5, 0.5)",
     "invalid smoothing factor. Expected: 0 < sf < 1, got: 1.500000"),
    ("holt_winters(gf[5m], 0.5, 1e20)",
     "invalid trend factor. Expected: 0 < tf < 1, got: 100000000000000000000.000000"),
    ("holt_winters(gf[5m], -0, 0.5)",
     "invalid smoothing factor. Expected: 0 < sf < 1, got: -0.000000"),
    ("topk(1e19, gf)", "Scalar value 1e+19 overflows int64"),
    ("topk(NaN, gf)", "Scalar value NaN overflows int64"),
    ("bottomk(-123456789e12, gf)", "Scalar value -1.23456789e+20 overflows int64"),
    ("gf @ 1e19", "timestamp out of bounds for @ modifier: 10000000000000000000.000000"),
    ("gf @ -Inf", "timestamp out of bounds for @ modifier: -Inf"),
])
def test_mockprom_error_messages_print_go_verbs(query, message):
    """The messages as a real Prometheus 2.42 writes them (%f and %v of a float64)."""
    from mockprom.server import MockPrometheus

    mock = MockPrometheus({"series": [{"labels": {"__name__": "gf"},
                                       "samples": [[1000, 1], [1060, 2]]}]}, version="2.42.0")
    try:
        body = _query(mock.url, query, 1100)
    finally:
        mock.stop()
    assert body["status"] == "error" and body["error"].endswith(message), body


def test_mockprom_count_values_labels_are_go_f():
    from mockprom.server import MockPrometheus

    vals = [1e-7, 1e21, -0.0, 2.0 ** 64, 1234567.0, NAN, -INF]
    mock = MockPrometheus({"series": [
        {"labels": {"__name__": "gf", "i": str(k)}, "samples": [[1000, "NaN" if v != v else v]]}
        for k, v in enumerate(vals)]})
    try:
        res = _query(mock.url, 'count_values("v", gf)', 1000)["data"]["result"]
    finally:
        mock.stop()
    assert sorted(r["metric"]["v"] for r in res) == sorted(
        ["0.0000001", "1000000000000000000000", "-0", "18446744073709552000", "1234567",
         "NaN", "-Inf"])


# -- against a real Prometheus (2.42 and 3.5.3) -------------------------------------------------------

REAL_VALUES = [row[0] for row in KNOWN] + [
    1.5, 0.25, 42.0, -7.25, 3.141592653589793, 1e15, 1e20, 2.0 ** 70, -1e-5, 1e-4, 5e-7,
    9.3e18, -9.3e18, 1e19] + [v for v in _random_doubles(6, 7) if abs(v) < 1e300][:30]


def _series(now_s: float) -> list[dict]:
    return [{"labels": {"__name__": "gf", "i": f"{k:03d}"},
             "samples": [[round(now_s - 100, 3), 1],
                         [round(now_s - 20, 3), "NaN" if v != v else v]]}
            for k, v in enumerate(REAL_VALUES)]


ALERT_RULES = [{"alert": "GoFloat", "expr": "gf",
                "annotations": {"v": "{{ $value }}"}}]


@pytest.fixture(scope="module")
def both(tmp_path_factory, release):
    import yaml

    import realprom
    from mockprom.server import MockPrometheus

    rules_file = tmp_path_factory.mktemp("gofloat") / "rules.yml"
    rules_file.write_text(yaml.safe_dump(
        {"groups": [{"name": "g", "interval": "1s", "rules": ALERT_RULES}]}))
    now = time.time()
    data = _series(now)
    config = f"global: {{evaluation_interval: 1s}}\nrule_files: [{rules_file}]\n"
    # 3.5: holt_winters is double_exponential_smoothing, behind the experimental flag
    features = ["promql-experimental-functions"] if release.line == "3.5" else []
    with realprom.RealPrometheus(data, config=config, line=release.line,
                                 extra_args=[f"--enable-feature={f}" for f in features]) as real:
        mock = MockPrometheus({"series": data, "server": {"features": features}, "rules": [
            {"name": "g", "file": str(rules_file), "interval": "1s", "rules": ALERT_RULES}]},
            version=release.version)
        try:
            yield real.url, mock.url, round(now, 3)
        finally:
            mock.stop()


def _by_i(pairs) -> dict[int, str]:
    return {int(i): text for i, text in pairs}


def _query(url: str, query: str, t: float) -> dict:
    return requests.get(url + "/api/v1/query", params={"query": query, "time": t},
                        timeout=30).json()


@pytest.mark.realprom
def test_federate_prints_go_g(both):
    # expfmt's writeFloat: 'g', except that it writes any zero (-0 too) as "0"
    want = {k: "0" if v == 0 else format_g(v) for k, v in enumerate(REAL_VALUES)}
    for url in both[:2]:
        text = requests.get(url + "/federate", params={"match[]": "gf"}, timeout=30).text
        got = _by_i(re.findall(r'^gf\{.*?i="(\d+)".*?\} (\S+) \d+$', text, re.M))
        assert got == want, url


@pytest.mark.realprom
def test_query_api_prints_marshal_value_and_count_values_go_f(both):
    real, mock, now = both

    def marshal(v):
        a = abs(v)
        return format_e(v) if a != 0 and (a < 1e-6 or a >= 1e21) else format_f(v)

    want = {k: marshal(v) for k, v in enumerate(REAL_VALUES)}
    labels = {format_f(v) for v in REAL_VALUES}
    for url in (real, mock):
        res = _query(url, "gf", now)["data"]["result"]
        assert _by_i((r["metric"]["i"], r["value"][1]) for r in res) == want, url
        res = _query(url, 'count_values("v", gf)', now)["data"]["result"]
        assert {r["metric"]["v"] for r in res} == labels, url


@pytest.mark.realprom
def test_errors_print_go_percent_f_and_percent_v(both, release):
    real, mock, now = both
    smoothing = "holt_winters" if release.line == "2.42" else "double_exponential_smoothing"
    checked = 0
    for k, v in enumerate(REAL_VALUES):
        sel = f'scalar(gf{{i="{k:03d}"}})'
        queries = []
        if not 0 < v < 1 and v == v:  # holt_winters refuses sf with %f
            queries.append((f'{smoothing}(gf{{i="000"}}[5m], {sel}, 0.5)',
                            "invalid smoothing factor. Expected: 0 < sf < 1, got: "
                            + format_prec(v, "f", 6)))
        # topk's k with %v (3.x answers nothing, without an error, when every k is below 1)
        if not -2.0 ** 63 <= v <= 2.0 ** 63 and (release.line == "2.42" or not v < 1):
            queries.append((f"topk({sel}, gf)", f"Scalar value {format_g(v)} overflows int64"))
        if not abs(v) < 2.0 ** 63:  # the @ modifier's bounds with %f
            queries.append((f"gf @ {format_g(v)}", "timestamp out of bounds for @ modifier: "
                            + format_prec(v, "f", 6)))
        for query, message in queries:
            answers = [_query(url, query, now) for url in (real, mock)]
            assert answers[0].get("error", "").endswith(message), (query, answers)
            assert answers[1] == answers[0], query
            checked += 1
    assert checked > 40


@pytest.mark.realprom
def test_alert_values_print_go_e_and_templates_go_v(both):
    real, mock, _ = both
    want = {k: (format_e(v), format_g(v)) for k, v in enumerate(REAL_VALUES)}
    for url in (real, mock):
        deadline = time.monotonic() + 30
        while True:
            alerts = requests.get(url + "/api/v1/alerts", timeout=30).json()["data"]["alerts"]
            if len(alerts) == len(want) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        got = _by_i((a["labels"]["i"], (a["value"], a["annotations"]["v"])) for a in alerts)
        assert got == want, url
