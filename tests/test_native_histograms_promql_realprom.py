"""PromQL over generated native histograms, mockprom against a real Prometheus 3.5.3.

mockprom serves a scenario of ``native_histogram`` generators (several schemas and
distributions, counter resets, a gauge histogram, custom buckets, a float series beside
them); every sample those generators produce over the test window is remote-written
(``histograms`` of remote write 1.0) into a real 3.5.3 started with
``--enable-feature=native-histograms`` (both with ``promql-experimental-functions``). Then each query below is sent to both as an
instant query and as a range query, and the answers are compared field by field: HTTP
status, result type, series, timestamps, floats (within 1e-6) and histograms (count,
sum, every bucket with its boundary rule and bounds, within 1e-6), warnings and infos
with their positions. mockprom evaluates the generated columns (the vectorised paths
of ``histograms.dense``), the real server the same samples from its TSDB.
"""

from __future__ import annotations

import pytest
import requests

from mockprom.scenario.labels import Matcher
from mockprom.server import MockPrometheus
from native_oracle import RealNativePrometheus
from realprom import compare_answers, require_binaries

pytestmark = pytest.mark.realprom

START = 1_700_000_000  # seconds; the generators' samples start here
END = START + 2 * 3600
STEP = 60

SCENARIO = {
    "server": {"version": "3.5.3", "features": ["promql-experimental-functions"]},
    "seed": 7,
    "interval": "15s",
    "start": START,
    "clock": END,
    "series": [
        {"metric": "rpc_seconds", "labels": {"svc": "api", "zone": "a"},
         "generator": {"kind": "native_histogram", "rate": 40, "schema": 3,
                       "distribution": {"lognormal": {"median": 0.08, "sigma": 0.8}}}},
        {"metric": "rpc_seconds", "labels": {"svc": "api", "zone": "b"},
         "generator": {"kind": "native_histogram", "rate": 25, "schema": 2,
                       "reset_every": "50m",
                       "distribution": {"lognormal": {"median": 0.13, "sigma": 0.6}}}},
        {"metric": "rpc_seconds", "labels": {"svc": "db", "zone": "a"},
         "generator": {"kind": "native_histogram", "rate": 5, "schema": 0,
                       "zero_threshold": 0.001,
                       "distribution": {"exponential": {"mean": 0.05}}}},
        {"metric": "queue_depth", "labels": {"q": "jobs"},
         "generator": {"kind": "native_histogram", "rate": 3, "schema": 1, "gauge": True,
                       "distribution": {"normal": {"mean": 20, "stddev": 8}}}},
        {"metric": "payload_bytes", "labels": {"svc": "api"},
         "generator": {"kind": "native_histogram", "rate": 8,
                       "custom_buckets": [100, 1000, 10000, 100000],
                       "distribution": {"bimodal": {
                           "first": {"lognormal": {"median": 150, "sigma": 1}},
                           "second": {"lognormal": {"median": 20000, "sigma": 0.5}},
                           "weight": 0.3}}}},
        {"metric": "rpc_seconds", "labels": {"svc": "float", "zone": "a"},
         "generator": {"kind": "counter", "rate": 2}},
    ],
}

QUERIES = [
    "rpc_seconds",
    "rate(rpc_seconds[5m])",
    "increase(rpc_seconds[10m])",
    "irate(rpc_seconds[1m])",
    "delta(queue_depth[5m])",
    "idelta(queue_depth[1m])",
    "rate(queue_depth[5m])",
    "sum(rate(rpc_seconds{svc!=\"float\"}[5m]))",
    "sum by (svc) (rate(rpc_seconds[5m]))",
    "avg by (zone) (rate(rpc_seconds{svc=\"api\"}[5m]))",
    "count(rpc_seconds)",
    "min(rpc_seconds)",
    "topk(1, rpc_seconds)",
    "histogram_quantile(0.99, sum(rate(rpc_seconds{svc!=\"float\"}[5m])))",
    "histogram_quantile(0.5, rate(rpc_seconds[5m]))",
    "histogram_quantile(0.9, payload_bytes)",
    "histogram_quantile(0.9, rate(payload_bytes[5m]))",
    "histogram_fraction(0, 0.1, rate(rpc_seconds[5m]))",
    "histogram_fraction(1000, 50000, payload_bytes)",
    "histogram_count(rate(rpc_seconds[5m]))",
    "histogram_sum(rate(rpc_seconds[5m])) / histogram_count(rate(rpc_seconds[5m]))",
    "histogram_avg(rate(rpc_seconds[5m]))",
    "histogram_stddev(rate(rpc_seconds[5m]))",
    "histogram_stdvar(queue_depth)",
    "rpc_seconds * 2",
    "rpc_seconds / 4",
    "-queue_depth",
    "rpc_seconds + 1",
    "rpc_seconds{zone=\"a\"} - ignoring(zone) rpc_seconds{zone=\"b\"}",
    "rpc_seconds{svc=\"api\", zone=\"a\"} + ignoring(zone) rpc_seconds{svc=\"api\", zone=\"b\"}",
    "rpc_seconds == rpc_seconds",
    "rpc_seconds > 3",
    "resets(rpc_seconds[30m])",
    "changes(queue_depth[5m])",
    "sum_over_time(queue_depth[2m])",
    "avg_over_time(queue_depth[2m])",
    "last_over_time(rpc_seconds[1m])",
    "max_over_time(rpc_seconds[1m])",
    "count_over_time(rpc_seconds[1m])",
    "rate(rpc_seconds[5m:1m])",
    "sum(rpc_seconds)",  # floats and histograms: a warning, no value
    "delta(rpc_seconds{svc=\"api\"}[5m])",
    "quantile(0.5, rpc_seconds)",
    "stddev by (svc) (rpc_seconds)",
    "bottomk(2, rpc_seconds)",
    # (not limitk: it takes the first k series in storage order, the order in which a
    # real server first saw them, which mockprom, holding series sorted, cannot know)
    "limit_ratio(0.5, rpc_seconds)",
    "count_values(\"v\", payload_bytes)",
    "sort_desc(rpc_seconds)",
    "timestamp(queue_depth)",
    "label_replace(queue_depth, \"x\", \"$1\", \"q\", \"(.*)\")",
    "absent(nonexistent_histogram)",
    "info(queue_depth)",
    "rpc_seconds and on() queue_depth",
    "rpc_seconds unless rpc_seconds{svc=\"db\"}",
    "queue_depth or payload_bytes",
    "rate(rpc_seconds[5m]) * on(svc, zone) group_left rpc_seconds{svc=\"float\"}",
    "sum(rate(payload_bytes[10m])) / 2",
    "histogram_quantile(0.75, sum by (zone) (increase(rpc_seconds{svc!=\"float\"}[15m])))",
    "histogram_fraction(-Inf, 0.05, sum(rate(rpc_seconds{svc!=\"float\"}[5m])))",
    "sum_over_time(rate(rpc_seconds{svc=\"api\"}[5m])[10m:1m])",
    "max(histogram_count(rate(rpc_seconds[5m])))",
    "rpc_seconds > bool 3",
    "rpc_seconds >= 0",
    "0 < rpc_seconds",
    "abs(rpc_seconds)",
    "sort(rpc_seconds)",
    "rpc_seconds + rpc_seconds",
    "rate(rpc_seconds[5m]) * rpc_seconds",
    "rpc_seconds == bool rpc_seconds",
    "avg(rpc_seconds)",
    "group by (svc) (rpc_seconds)",
    "sum(payload_bytes) + on() group_left sum(rate(payload_bytes[5m]))",
]

EMPTY = {"sum(rpc_seconds)", "avg(rpc_seconds)"}  # answers without a result (a warning instead)


def _generated_samples(prom: MockPrometheus) -> list[dict]:
    """Every sample mockprom's generators give in the window, as explicit samples."""
    out = []
    for s in prom.store.select([Matcher.of("__name__", "=~", ".+")], (START - 600) * 1000,
                               END * 1000, histograms=True):
        hists = s.hists
        samples = []
        for i, t in enumerate(s.ts.tolist()):
            h = None if hists is None else hists[i]
            samples.append([t / 1000, h if h is not None else float(s.vals[i])])
        out.append({"labels": dict(s.labels), "samples": samples})
    return out


LINES = {"3.5": ({"version": "3.5.3", "features": ["promql-experimental-functions"]},
                 ["--enable-feature=promql-experimental-functions"]),
         "2.42": ({"version": "2.42.0"}, [])}


@pytest.fixture(scope="module", params=sorted(LINES))
def servers(request):
    line = request.param
    require_binaries(line)
    server, flags = LINES[line]
    with MockPrometheus({**SCENARIO, "server": server}) as mock:
        with RealNativePrometheus(_generated_samples(mock), extra_args=flags,
                                  line=line) as real:
            yield mock, real


def _requests():
    for q in QUERIES:
        yield q, "/api/v1/query", {"query": q, "time": START + 5400}
        yield q, "/api/v1/query_range", {"query": q, "start": START + 1800, "end": END,
                                         "step": STEP}


# 2.42 knew no custom-bucket histograms: it stores them (schema -53, the custom bounds
# dropped as an unknown field) and reads their buckets as exponential ones of schema -53
# (bounds 0, 1, +Inf, +Inf...); mockprom keeps reading them as custom buckets under 2.42
# too. These answers show bucket bounds or numbers computed from them, so they differ;
# every other query over the custom-bucket series (count_values: 2.42 counts the
# histogram's float value 0) agrees and must keep agreeing.
NHCB_2_42 = "2.42 reads custom buckets (schema -53) as exponential buckets; mockprom does not"
NHCB_2_42_DIFFERS = frozenset({
    "histogram_quantile(0.9, payload_bytes)",
    "histogram_quantile(0.9, rate(payload_bytes[5m]))",
    "histogram_fraction(1000, 50000, payload_bytes)",
    "queue_depth or payload_bytes",
    "sum(rate(payload_bytes[10m])) / 2",
    "sum(payload_bytes) + on() group_left sum(rate(payload_bytes[5m]))",
})


@pytest.mark.parametrize("query,path,params", list(_requests()),
                         ids=[f"{p.rsplit('/', 1)[1]}:{q}" for q, p, _ in _requests()])
def test_answers_as_the_real_server(servers, query, path, params, request):
    mock, real = servers
    if query in NHCB_2_42_DIFFERS and mock.state.settings.emulation.line.key == "2.42":
        request.applymarker(pytest.mark.xfail(reason=NHCB_2_42, strict=True))
    want = requests.get(real.url + path, params=params, timeout=60)
    got = requests.get(mock.url + path, params=params, timeout=60)
    diffs = compare_answers(want.status_code, want.json(), got.status_code, got.json(),
                            "query", strict=False)
    w, g = want.json(), got.json()
    for kind in ("warnings", "infos"):
        if sorted(w.get(kind) or []) != sorted(g.get(kind) or []):
            diffs.append(f"{kind}: {sorted(w.get(kind) or [])} != {sorted(g.get(kind) or [])}")
    if path.endswith("query_range") and query not in EMPTY and w.get("status") == "success":
        results = (w.get("data") or {}).get("result") or []
        assert results, f"the real server has no result for {query}: {w}"
    assert not diffs, "\n".join(diffs[:20])


def test_the_queries_that_differ_under_2_42_are_queries_of_this_test():
    assert NHCB_2_42_DIFFERS <= set(QUERIES)


# -- Grafana --------------------------------------------------------------------------------
# What Grafana's Prometheus data source (backend, 10.x/11.x) sends for a heatmap panel and
# its companions over a native histogram: a form-encoded POST to query_range, start and
# end aligned to the step, the step in seconds, $__rate_interval interpolated as a Go
# duration. A heatmap of a native histogram reads each series' ``histograms``: bucket
# boundaries (rule, lower, upper) and counts per step.
GRAFANA_HEADERS = {"Content-Type": "application/x-www-form-urlencoded",
                   "User-Agent": "Grafana/11.3.0", "X-Grafana-Org-Id": "1",
                   "Accept": "application/json, text/plain, */*",
                   "Accept-Encoding": "gzip"}
GRAFANA_PANELS = {
    "heatmap": "sum(rate(rpc_seconds{svc!=\"float\"}[1m0s]))",
    "heatmap by zone": "sum by (zone) (rate(rpc_seconds{svc=\"api\"}[1m0s]))",
    "heatmap of an NHCB": "sum(increase(payload_bytes[1m0s]))",
    "p95 (query builder)": "histogram_quantile(0.95, sum by (le) (rate(rpc_seconds{svc!=\"float\"}[1m0s])))",
    "requests/s": "histogram_count(sum(rate(rpc_seconds{svc!=\"float\"}[1m0s])))",
    "average": "histogram_avg(sum(rate(rpc_seconds{svc!=\"float\"}[1m0s])))",
}


def _grafana_form(query: str, step: int) -> dict:
    start = (START + 1800) // step * step
    end = END // step * step
    return {"query": query, "start": str(start), "end": str(end), "step": str(step)}


@pytest.mark.parametrize("panel", sorted(GRAFANA_PANELS))
def test_grafana_panels_get_the_real_servers_answer(servers, panel):
    mock, real = servers
    if mock.state.settings.emulation.line.key != "3.5":
        pytest.skip("Grafana's native histogram heatmaps read Prometheus 3 answers")
    form = _grafana_form(GRAFANA_PANELS[panel], 60)
    want = requests.post(real.url + "/api/v1/query_range", data=form,
                         headers=GRAFANA_HEADERS, timeout=60)
    got = requests.post(mock.url + "/api/v1/query_range", data=form,
                        headers=GRAFANA_HEADERS, timeout=60)
    assert got.headers["Content-Type"] == want.headers["Content-Type"]
    diffs = compare_answers(want.status_code, want.json(), got.status_code, got.json(),
                            "query", strict=True)
    assert not diffs, "\n".join(diffs[:20])
    assert want.json()["data"]["result"], f"the real server has no result for {panel}"


def test_a_grafana_heatmap_answer_has_the_shape_grafana_reads(servers):
    """The shape itself: a matrix whose series carry ``histograms`` (no ``values``), one
    ``[t, {count, sum, buckets}]`` per step, buckets ``[rule, lower, upper, count]`` as
    strings, ascending and not overlapping."""
    mock, _ = servers
    step = 60
    form = _grafana_form(GRAFANA_PANELS["heatmap"], step)
    body = requests.post(mock.url + "/api/v1/query_range", data=form,
                         headers=GRAFANA_HEADERS, timeout=60).json()
    assert body["status"] == "success" and body["data"]["resultType"] == "matrix"
    (series,) = body["data"]["result"]
    assert series["metric"] == {} and "values" not in series
    points = series["histograms"]
    times = [t for t, _ in points]
    assert times == list(range(int(form["start"]), int(form["end"]) + 1, step))
    for _, h in points:
        assert set(h) == {"count", "sum", "buckets"}
        assert float(h["count"]) > 0 and isinstance(h["sum"], str)
        bounds = [(float(lo), float(hi)) for _, lo, hi, _ in h["buckets"]]
        assert all(rule in (0, 1, 2, 3) for rule, *_ in h["buckets"])
        assert all(lo < hi for lo, hi in bounds)
        assert all(a[1] <= b[0] for a, b in zip(bounds, bounds[1:]))
        total = sum(float(c) for *_, c in h["buckets"])
        assert total == pytest.approx(float(h["count"]), rel=1e-9)
