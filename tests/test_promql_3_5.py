"""PromQL as Prometheus 3.5 evaluates it, beyond the upstream corpus: the pieces of the
3.5 semantics on their own (hash sampling, natural sort order, the version table), and
the same queries sent to mockprom and to a real Prometheus 3.5.3 holding the same data,
with and without delayed name removal: every answer must be the same (values within
1e-6, labels, errors, warnings and infos with their positions)."""

from __future__ import annotations

import json
import math

import pytest
import requests

import realprom
from mockprom import versions
from mockprom.promql.engine import Engine
from mockprom.promql.functions_labels import natural_less
from mockprom.promql.semantics import EVAL, RULES_2_42, RULES_3_5
from mockprom.promql.xxhash64 import labels_hash, xxh64
from mockprom.scenario.labels import make_labels
from mockprom.scenario.store import StaticSource, Store
from mockprom.server import MockPrometheus

V3_5 = versions.resolve("3.5.3")


def test_xxh64_matches_the_reference_vectors():
    assert xxh64(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"a") == 0xD24EC4F1A98C6E5B
    assert xxh64(b"abc") == 0x44BC2CF5AD770999
    assert xxh64(b"Nobody inspects the spammish repetition") == 0xFBCEA83C8A378BF1
    # labels.Hash of stringlabels builds (Prometheus's release binaries): each name and
    # value preceded by its length (uvarint), in label order
    assert labels_hash((("a", "b"),)) == xxh64(b"\x01a\x01b")
    assert labels_hash((("n", "x" * 200),)) == xxh64(b"\x01n\xc8\x01" + b"x" * 200)


@pytest.mark.parametrize("a, b", [("a1", "a2"), ("a2", "a10"), ("1.2.3", "1.11.3"),
                                  ("x", "x0"), ("4m5", "4m600"), ("B", "a")])
def test_natural_order_of_sort_by_label(a, b):
    """facette/natsort's order: digit runs as numbers, bytes otherwise."""
    assert natural_less(a, b) and not natural_less(b, a)


def test_natural_order_ignores_leading_zeros():
    assert not natural_less("a02", "a2") and not natural_less("a2", "a02")


def test_the_evaluation_table_has_one_row_per_line():
    assert EVAL[versions.resolve("2.42.0")] is RULES_2_42 and EVAL[V3_5] is RULES_3_5
    assert not RULES_2_42.left_open and RULES_3_5.left_open
    assert "holt_winters" in RULES_3_5.missing_functions
    assert "sort_by_label" in RULES_2_42.missing_functions


def test_an_annotation_repeated_keeps_one_entry_with_the_latest_position():
    """Prometheus keys annotations by their text: the last position wins."""
    store = Store()
    for job in ("a", "b"):
        store.add(make_labels({"__name__": "m", "job": job}),
                  StaticSource([0, 60_000, 120_000], [1.0, 2.0, 3.0]))
    text = 'rate(m{job="a"}[5m]) + on() rate(m{job="b"}[5m])'
    res = Engine(store, emulation=V3_5).instant_query(text, 120_000)
    assert res.infos == ['PromQL info: metric might not be a counter, name does not end in '
                         '_total/_sum/_count/_bucket: "m" (1:34)']


def test_limit_ratio_samples_by_label_hash():
    """``limit_ratio(r, v)`` keeps a series when its hash / 2^64 is below r, and the
    complement for -(1 - r): together they cover every series exactly once."""
    store = Store()
    for i in range(40):
        store.add(make_labels({"__name__": "m", "i": str(i)}), StaticSource([0], [1.0]))
    engine = Engine(store, emulation=V3_5.with_features(["promql-experimental-functions"]))
    low = {s.labels for s in engine.instant_query("limit_ratio(0.3, m)", 0).value.samples}
    high = {s.labels for s in engine.instant_query("limit_ratio(-0.7, m)", 0).value.samples}
    assert low and high and not low & high and len(low | high) == 40
    for labels in low:
        assert labels_hash(labels) / float(2**64) < 0.3


# -- the same answers as a real 3.5.3 -----------------------------------------------------

def _series(name, values, **labels):
    return {"labels": {"__name__": name, **labels},
            "samples": [[60 * i, v] for i, v in enumerate(values) if v is not None]}


DATA = [
    _series("nonmono_bucket", [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], le="0.1"),
    _series("nonmono_bucket", [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50], le="1"),
    _series("nonmono_bucket", [0, 20, 40, 60, 80, 100, 120, 140, 160, 180, 200], le="+Inf"),
    _series("h_bucket", list(range(11)), le="1", job="a"),
    _series("h_bucket", [2 * i for i in range(11)], le="+Inf", job="a"),
    _series("h_bucket", list(range(11)), le="x", job="b"),
    _series("g_bucket", [2 * i for i in range(11)], le="0.5", job="a"),
    _series("g_bucket", [4 * i for i in range(11)], le="+Inf", job="a"),
    _series("m", list(range(1, 12)), a="1"),
    _series("m", [2] * 11, a="2"),
    _series("m", [1, 1e100, 1, -1e100, 1, 5, "NaN", 3, "+Inf", 2, 1], a="3"),
    _series("c_total", [0, 5, 9, 2, 6, 11, 1, 4, 8, 12, 13], __type__="counter", job="a"),
    _series("g", [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5], __type__="gauge", job="a"),
    _series("big", [9.988465674311579e307] * 11, k="1"),
    _series("big", [9.988465674311579e307] * 11, k="2"),
    _series("big", [-9.988465674311579e307] * 11, k="3"),
    _series("target_info", [1] * 11, job="j", instance="i", version="v1"),
    _series("up", [1] * 11, job="j", instance="i"),
    _series("up", [1] * 11, job="k", instance="i"),
    _series("build_info", [1] * 11, job="j", instance="i", rev="r"),
    _series("kparam", [3] * 5 + [-1e300, 2, 1e300, 0.5, 3, 3]),
    _series("qparam", [0.5] * 5 + [-0.5, 0.5, 2, "NaN", -3, 7]),
    _series("late", [None] * 8 + [0, 1, 2]),
]

QUERIES = [
    # annotations and their positions
    "histogram_quantile(0.5, nonmono_bucket)", "histogram_quantile(2, h_bucket)",
    "histogram_quantile(0.5, rate(h_bucket[5m]))", 'quantile(scalar(m{a="1"}) / 10, m)',
    "quantile_over_time(-1, m[3m])", "(quantile_over_time(2, (m[3m])))",
    "rate(m[5m])", "increase(g[5m])", "rate(c_total[5m])", "delta(g[5m])",
    'limit_ratio(2, m)', 'limit_ratio(-1.5, m)',
    # classic histograms
    'histogram_quantile(0.5, {__name__=~"h_bucket|g_bucket"})',
    "histogram_fraction(0, 0.5, g_bucket)", "histogram_fraction(-Inf, 3, g_bucket)",
    "histogram_fraction(0.5, +Inf, g_bucket)",
    # new functions and aggregations
    "limitk(1, m)", "limitk by (a) (1, m)", 'sort_by_label(m, "a")',
    'sort_by_label_desc(m, "a")', "mad_over_time(m[5m])", "ts_of_max_over_time(m[5m])",
    "ts_of_min_over_time(m[5m])", "ts_of_last_over_time(m[5m])",
    "double_exponential_smoothing(m[5m], 0.5, 0.5)",
    "info(up)", 'info(up, {version=~".+"})', 'info(up, {__name__=~".+_info"})',
    'info(up, {rev="r"})',
    # float arithmetic of 3.x
    "avg(m)", "sum(m)", "stddev(m)", "stdvar(m)", "avg(big)", "sum(big)",
    "avg_over_time(m[5m])", "sum_over_time(m[5m])", "stddev_over_time(m[5m])",
    "deriv(g[5m])", "predict_linear(g[5m], 60)", "rate(c_total[4m])",
    # names, metadata labels and delayed removal
    "-m", "m > bool 3", "m atan2 m", "abs(g)", "g + g", "g * 2", "-c_total",
    "sum by (__name__) (rate(m[5m]))", "sum without (a) (rate(m[5m]))",
    'label_replace(rate(m[5m]), "x", "$1", "__name__", "(.*)")',
    'label_replace(rate(m[5m]), "__name__", "r_$1", "__name__", "(.*)")',
    "timestamp(g)", "last_over_time(g[5m])", 'sum by (__type__) (g)',
    # the parameter of an aggregation over the whole query (fParams)
    "topk(-1e300, m)", "topk(scalar(kparam), late)", "topk(scalar(kparam), m)",
    "limitk(scalar(kparam), late)", "bottomk(1e300, nothing)", "quantile(scalar(kparam), m)",
    "quantile(scalar(qparam), m)", "limit_ratio(scalar(kparam), m)",
    "limit_ratio(scalar(qparam), nothing)",
    # windows
    "count_over_time(m[5m])", "m[3m]", "count_over_time(m[3m:1m])", "max_over_time(m[2m:30s])",
]


@pytest.fixture(scope="module", params=["delayed", "immediate"])
def servers(request):
    """A real 3.5.3 and mockprom holding ``DATA``, with the flags upstream's test engine
    turns on (delayed name removal on, or off)."""
    realprom.require_binaries("3.5")
    flags = ["promql-experimental-functions", "promql-duration-expr"]
    if request.param == "delayed":
        flags.append("promql-delayed-name-removal")
    with realprom.RealPrometheus(DATA, line="3.5",
                                 extra_args=["--enable-feature=" + ",".join(flags)]) as real, \
            MockPrometheus({"series": DATA, "server": {"features": flags}},
                           version="3.5.3") as mock:
        yield real.url, mock.url


def _normalized(body: dict) -> dict:
    body = dict(body)
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("result"), list):
        data = dict(data, result=sorted(data["result"], key=lambda r: json.dumps(
            r["metric"], sort_keys=True)))
        body["data"] = data
    for kind in ("warnings", "infos"):
        if kind in body:
            body[kind] = sorted(body[kind])
    return body


def _close(a, b) -> bool:
    if a == b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b))
    if isinstance(a, str) and isinstance(b, str):
        try:
            x, y = float(a), float(b)
        except ValueError:
            return False
        return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-6)
    return False


@pytest.mark.realprom
@pytest.mark.parametrize("query", QUERIES)
def test_answers_as_a_real_3_5_3(servers, query):
    real, mock = servers
    for path, params in (("/api/v1/query", {"query": query, "time": "600"}),
                         ("/api/v1/query_range", {"query": query, "start": "300",
                                                  "end": "600", "step": "60"})):
        want = requests.get(real + path, params=params, timeout=30)
        got = requests.get(mock + path, params=params, timeout=30)
        assert got.status_code == want.status_code, (path, got.text, want.text)
        a, b = _normalized(want.json()), _normalized(got.json())
        assert _close(a, b), f"{path}\nreal: {a}\nmock: {b}"


# -- sample statistics as a real 3.5.3 counts them ----------------------------------------

STATS_DATA = [
    _series("target_info", [1] * 8, job="j", instance=str(i), version=f"v{i % 2}")
    for i in range(6)
] + [
    _series("m", [i + k for k in range(8)], job="j", instance=str(i)) for i in range(6)
] + [_series("m", [1] * 8, job="j", instance="x")]

# aggregations hold only their result in 3.x (rangeEvalAgg), label_replace/label_join
# relabel in place, info() gathers its input and the info series step by step
STATS_QUERIES = [
    "sum(m)", "sum by (instance) (m)", "topk(3, m)", "quantile(0.5, m)",
    "count_values('v', m)", "label_replace(m, 'x', '$1', 'instance', '(.*)')",
    "label_join(m, 'x', ',', 'instance', 'job')", "sum(label_replace(m, 'a', 'b', '', ''))",
    "info(m)", "info(m offset 2m)", "info(m, {version='v0'})", "info(rate(m[2m]))",
    "sum by (version) (info(m))", "max_over_time(sum(m)[3m:50s])",
]


@pytest.fixture(scope="module")
def stats_servers():
    realprom.require_binaries("3.5")
    flags = ["promql-experimental-functions", "promql-per-step-stats"]
    with realprom.RealPrometheus(STATS_DATA, line="3.5",
                                 extra_args=["--enable-feature=" + ",".join(flags)]) as real, \
            MockPrometheus({"series": STATS_DATA,
                            "server": {"features": flags[:1], "per_step_stats": True}},
                           version="3.5.3") as mock:
        yield real.url, mock.url


@pytest.mark.realprom
@pytest.mark.parametrize("query", STATS_QUERIES)
def test_sample_statistics_as_a_real_3_5_3(stats_servers, query):
    real, mock = stats_servers
    for path, params in (("/api/v1/query", {"query": query, "time": "121"}),
                         ("/api/v1/query_range", {"query": query, "start": "-100",
                                                  "end": "810", "step": "70"})):
        params = dict(params, stats="all")
        want = requests.get(real + path, params=params, timeout=30).json()
        got = requests.get(mock + path, params=params, timeout=30).json()
        assert got["data"]["stats"]["samples"] == want["data"]["stats"]["samples"], path
