"""Behaviour that copies Prometheus 2.42 internals exactly: Go 1.19's ``sort.Sort``
(pdqsort) and ``container/heap`` behind ``sort()``/``sort_desc()`` and ``topk``/``bottomk``
(ties, NaN), Go's amd64 ``math.Exp`` overflow, and the sample statistics of ``stats=``
(``totalQueryableSamples``, ``peakSamples``, per-step counts).

The unit tests pin the algorithms; the ``realprom`` tests compare with a real Prometheus
2.42 (many tied series, per-step statistics enabled with
``--enable-feature=promql-per-step-stats``)."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import requests

import realprom
from mockprom import versions
from mockprom.promql import gosort
from mockprom.promql.engine import Engine
from mockprom.promql.functions_gomath import go_exp
from mockprom.scenario.labels import make_labels
from mockprom.scenario.store import StaticSource, Store
from realprom import release  # noqa: F401  (a fixture)

T0 = 1_700_000_000


def _engine(series: dict) -> Engine:
    """An engine emulating Prometheus 2.42 (what this module's expectations were checked
    against) over ``{labels-dict-as-tuple: [(t_s, value), ...]}``."""
    store = Store()
    for labels, points in series.items():
        store.add(make_labels(dict(labels)), StaticSource([int(t * 1000) for t, _ in points],
                                                          [float(v) for _, v in points]))
    return Engine(store, emulation=versions.resolve("2.42.0"))  # checked against 2.42


def _labels_of(result) -> list:
    return [dict(s.labels).get("i") for s in result.value.samples]


# -- Go's sort.Sort and container/heap ------------------------------------------------------

def _float_less(x, y):
    return x < y or (math.isnan(x) and not math.isnan(y))  # sort.Float64Slice


@pytest.mark.parametrize("n", [0, 1, 2, 12, 13, 49, 50, 51, 200, 1000])
def test_go_sort_sorts_every_size(n):
    rng = random.Random(n)
    for values in ([rng.random() for _ in range(n)], [rng.choice((1.0, 2.0, math.nan))
                                                       for _ in range(n)],
                   list(range(n)), list(range(n, 0, -1)), [i // 7 for i in range(n)]):
        data = [float(v) for v in values]
        gosort.sort(data, _float_less)
        nans = [v for v in data if math.isnan(v)]
        rest = [v for v in data if not math.isnan(v)]
        assert data[:len(nans)] == nans or not nans
        assert rest == sorted(rest)
        assert len(data) == n


def test_go_sort_heapsort_fallback_and_pattern_breaking_sort():
    rng = random.Random(7)
    data = [rng.randint(0, 5) for _ in range(300)]
    gosort._pdqsort(data, lambda x, y: x < y, 0, len(data), 0)  # limit 0: heapsort
    assert data == sorted(data)
    # organ-pipe input makes unbalanced partitions: breakPatterns runs
    data = list(range(150)) + list(range(150, 0, -1))
    gosort.sort(data, lambda x, y: x < y)
    assert data == sorted(data)


def test_go_sort_is_unstable_like_go():
    """Up to 12 elements Go uses insertion sort (stable); beyond, ties move. The order is
    a pure function of the input order."""
    items = [(v, i) for i, v in enumerate([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0] * 4)]
    a, b = list(items), list(items)
    gosort.sort(a, lambda x, y: x[0] < y[0])
    gosort.sort(b, lambda x, y: x[0] < y[0])
    assert a == b
    assert [v for v, _ in a] == sorted(v for v, _ in items)
    assert [i for v, i in a if v == 0] != sorted(i for v, i in items if v == 0)
    small = items[:12]
    gosort.sort(small, lambda x, y: x[0] < y[0])
    assert small == sorted(items[:12], key=lambda p: p[0])


def test_container_heap_keeps_the_smallest_on_top():
    rng = random.Random(3)
    h: list = []
    for _ in range(100):
        gosort.heap_push(h, rng.random(), gosort.value_heap_less)
        assert h[0] == min(h)
    out = [gosort.heap_pop(h, gosort.value_heap_less) for _ in range(100)]
    assert out == sorted(out)
    h = []
    for v in (3.0, math.nan, 1.0):
        gosort.heap_push(h, v, gosort.value_heap_less)
    assert math.isnan(h[0])  # NaN is "smallest" in vectorByValueHeap


# -- topk / bottomk / sort on the engine ------------------------------------------------------

def _ties(values: list) -> dict:
    return {(("__name__", "x"), ("i", f"{i:02d}")): [(T0, v)] for i, v in enumerate(values)}


def test_topk_over_nan_keeps_the_last_nan_series():
    """Prometheus 2.42 replaces a NaN at the top of the heap with any later sample."""
    eng = _engine(_ties([math.nan, math.nan, math.nan]))
    assert _labels_of(eng.instant_query("topk(1, x)", T0 * 1000)) == ["02"]
    assert _labels_of(eng.instant_query("bottomk(1, x)", T0 * 1000)) == ["02"]
    # a number replaces the NaN on top; later NaNs do not displace a number
    eng = _engine(_ties([math.nan, 5, math.nan, 1]))
    assert _labels_of(eng.instant_query("topk(1, x)", T0 * 1000)) == ["01"]
    assert _labels_of(eng.instant_query("topk(2, x)", T0 * 1000)) == ["01", "03"]
    assert _labels_of(eng.instant_query("bottomk(2, x)", T0 * 1000)) == ["03", "01"]


def test_topk_ties_evict_the_heap_root():
    """k=3 over 1,1,1,2: the heap replaces its root (the first 1), keeping the later ones."""
    eng = _engine(_ties([1, 1, 1, 2]))
    res = eng.instant_query("topk(3, x)", T0 * 1000)
    assert sorted(_labels_of(res)) == ["01", "02", "03"]
    assert _labels_of(res)[0] == "03"


def test_sort_ties_follow_go_pdqsort():
    values = [1, 0] * 10
    eng = _engine(_ties(values))
    got = _labels_of(eng.instant_query("sort(x)", T0 * 1000))
    items = [(float(v), f"{i:02d}") for i, v in enumerate(values)]
    gosort.sort(items, gosort.reverse(lambda a, b: gosort.reverse_value_heap_less(a[0], b[0])))
    assert got == [i for _, i in items]
    assert [values[int(i)] for i in got] == sorted(values)
    assert got[:10] != [f"{i:02d}" for i in range(1, 20, 2)]  # not a stable sort


def test_sort_puts_nan_last_both_ways():
    eng = _engine(_ties([2, math.nan, 1, 3]))
    assert _labels_of(eng.instant_query("sort(x)", T0 * 1000)) == ["02", "00", "03", "01"]
    assert _labels_of(eng.instant_query("sort_desc(x)", T0 * 1000)) == ["03", "00", "02", "01"]


# -- exp() ---------------------------------------------------------------------------------------

def test_exp_overflows_like_go_amd64():
    """Go's amd64 Exp rounds k = x*log2(e) to nearest: 709.5 gives 2**1024 -> +Inf."""
    assert go_exp(np.array([709.5]))[0] == math.inf
    assert go_exp(np.array([709.78]))[0] == math.inf
    assert go_exp(np.array([709.0]))[0] == pytest.approx(8.218407461554972e+307, rel=1e-15)
    eng = _engine({})
    assert eng.instant_query("exp(vector(709.5))", T0 * 1000).value.samples[0].value == math.inf


# -- sample statistics ------------------------------------------------------------------------------

def _stats_engine() -> Engine:
    return _engine({
        (("__name__", "m"), ("i", "a")): [(T0 + 15 * k, k) for k in range(40)],
        (("__name__", "m"), ("i", "b")): [(T0 + 15 * k, k) for k in range(0, 40, 2)],
    })


def test_stats_count_selected_samples_and_the_peak():
    eng = _stats_engine()
    st = eng.instant_query("m", (T0 + 60) * 1000, stats=True).stats
    assert (st.total, st.peak, st.per_step) == (2, 2, [2])
    # sum(): 2 samples in, then 2 inputs + 1 output held at the step
    st = eng.instant_query("sum(m)", (T0 + 60) * 1000, stats=True).stats
    assert (st.total, st.peak) == (2, 5)
    # rate over 1m windows: 5 + 3 samples per step (window [t-60s, t] is closed)
    st = eng.range_query("rate(m[1m])", (T0 + 60) * 1000, (T0 + 120) * 1000, 60_000,
                         stats=True).stats
    assert st.per_step == [8, 8] and st.total == 16
    assert not hasattr(eng.instant_query("m", T0 * 1000), "stats")


def test_stats_count_left_open_windows_in_3():
    """Prometheus 3's window (t-60s, t] holds one sample less of each series."""
    eng = _stats_engine()
    eng.emulation = versions.resolve("3.5.3")
    st = eng.range_query("rate(m[1m])", (T0 + 60) * 1000, (T0 + 120) * 1000, 60_000,
                         stats=True).stats
    assert st.per_step == [6, 6] and st.total == 12


def test_stats_step_invariant_parts_count_at_every_step():
    eng = _stats_engine()
    st = eng.range_query(f"m @ {T0 + 60}", T0 * 1000, (T0 + 300) * 1000, 60_000,
                         stats=True).stats
    assert st.per_step == [2] * 6 and st.total == 12


# -- against a real Prometheus ------------------------------------------------------------------

def _data() -> list[dict]:
    rng = random.Random(42)
    out = []
    for i in range(150):
        vals = [rng.choice((0, 1, 2, 1.5, "NaN")) for _ in range(5)]
        out.append({"labels": {"__name__": "tie", "i": f"{i:03d}", "g": str(i % 3)},
                    "samples": [[T0 + 60 * k, v] for k, v in enumerate(vals)]})
    for i in range(400):
        out.append({"labels": {"__name__": "mono", "i": f"{i:03d}"},
                    "samples": [[T0 + 60 * k, i // 3] for k in range(5)]})
    return out


DATA = _data()


@pytest.fixture(scope="module")
def servers(release):
    from mockprom.server import MockPrometheus

    with realprom.RealPrometheus(DATA, extra_args=["--enable-feature=promql-per-step-stats"],
                                 line=release.line) as real, \
            MockPrometheus(scenario={"series": DATA}, host="127.0.0.1", port=0,
                           version=release.version) as mock:
        yield real, mock


ORDERED = ["sort(tie)", "sort_desc(tie)", "sort(mono)", "sort_desc(mono)", "sort(-mono)",
           "sort(tie * 0)", "topk(3, tie)", "bottomk(3, tie)", "topk(40, tie)",
           "bottomk(200, tie)", "topk by (g) (2, tie)", "bottomk without (i) (5, tie)",
           "topk(1, tie / 0)", "topk(10, mono)", "bottomk(10, -mono)", "sort(tie or mono)"]


@pytest.mark.realprom
@pytest.mark.parametrize("query", ORDERED)
def test_tie_orders_match_prometheus(servers, query):
    real, mock = servers
    for k in range(5):
        params = {"query": query, "time": T0 + 60 * k + 1}
        ws, wb, wt = realprom.get(real.url, "/api/v1/query", params)
        gs, gb, gt = realprom.get(mock.url, "/api/v1/query", params)
        diffs = realprom.compare_answers(ws, wb, gs, gb, ordered=True, strict=True)
        assert not diffs, f"{params}\n" + "\n".join(diffs[:5]) + f"\n{wt[:300]}\n{gt[:300]}"
    if query.startswith(("topk", "bottomk")) and "/" not in query:
        # with a selector as input the order is the same at every step (a computed input
        # comes in Go map order in range queries)
        params = {"query": query, "start": T0, "end": T0 + 300, "step": 30}
        ws, wb, _ = realprom.get(real.url, "/api/v1/query_range", params)
        gs, gb, _ = realprom.get(mock.url, "/api/v1/query_range", params)
        assert not realprom.compare_answers(ws, wb, gs, gb, strict=True)


STATS = [
    ("/api/v1/query", {"query": "sum by (g) (tie)", "time": T0 + 61}),
    ("/api/v1/query", {"query": "tie[3m]", "time": T0 + 200}),
    ("/api/v1/query_range", {"query": "count_over_time(tie[2m])", "start": T0 + 30,
                             "end": T0 + 400, "step": 45}),
    ("/api/v1/query_range", {"query": "max_over_time(sum(mono)[3m:50s]) + on() count(tie)",
                             "start": T0, "end": T0 + 310, "step": 20}),
    ("/api/v1/query_range", {"query": f"topk(2, tie @ {T0 + 120}) and on(i) mono",
                             "start": T0, "end": T0 + 300, "step": 60}),
]


@pytest.mark.realprom
@pytest.mark.parametrize("path,params", STATS)
def test_per_step_stats_match_prometheus(servers, path, params, monkeypatch):
    """With per-step statistics enabled (Prometheus's promql-per-step-stats feature),
    ``stats=all`` adds ``totalQueryableSamplesPerStep``; every count matches."""
    from mockprom.api import query as api_query

    monkeypatch.setattr(api_query, "_per_step_stats_enabled", lambda gen: True)
    real, mock = servers
    params = dict(params, stats="all")
    want = requests.get(real.url + path, params=params, timeout=30).json()["data"]["stats"]
    got = requests.get(mock.url + path, params=params, timeout=30).json()["data"]["stats"]
    assert list(got) == list(want) and list(got["timings"]) == list(want["timings"])
    assert got["samples"] == want["samples"]
    assert want["samples"]["totalQueryableSamplesPerStep"]
    # stats=true: no per-step counts, even when enabled
    params["stats"] = "true"
    got = requests.get(mock.url + path, params=params, timeout=30).json()["data"]["stats"]
    assert "totalQueryableSamplesPerStep" not in got["samples"]


def test_stats_json_shape_and_per_step_timestamps(monkeypatch):
    """``data.stats`` as Prometheus writes it: timings (seconds), then samples; per-step
    counts as ``[unix seconds, count]`` pairs, only with ``stats=all`` and the feature on."""
    from mockprom.api import query as api_query
    from mockprom.server import MockPrometheus

    scenario = {"series": [{"labels": {"__name__": "m", "i": "a"},
                            "samples": [[T0 + 15 * k, k] for k in range(20)]}]}
    with MockPrometheus(scenario=scenario, host="127.0.0.1", port=0, version="2.42.0") as mock:
        def stats(path, **params):
            r = requests.get(mock.url + path, params=params, timeout=10)
            assert r.status_code == 200
            return r.json()["data"].get("stats")

        st = stats("/api/v1/query", query="m", time=T0 + 30.5, stats="all")
        assert list(st) == ["timings", "samples"]
        assert list(st["timings"]) == ["evalTotalTime", "resultSortTime", "queryPreparationTime",
                                       "innerEvalTime", "execQueueTime", "execTotalTime"]
        assert all(isinstance(v, (int, float)) and v >= 0 for v in st["timings"].values())
        assert st["samples"] == {"totalQueryableSamples": 1, "peakSamples": 1}
        assert stats("/api/v1/query", query="m", time=T0 + 30) is None
        assert stats("/api/v1/query", query="m", time=T0 + 30, stats="") is None
        monkeypatch.setattr(api_query, "_per_step_stats_enabled", lambda gen: True)
        st = stats("/api/v1/query", query="m", time=T0 + 30.5, stats="all")
        assert st["samples"] == {"totalQueryableSamplesPerStep": [[T0 + 30.5, 1]],
                                 "totalQueryableSamples": 1, "peakSamples": 1}
        st = stats("/api/v1/query_range", query="count_over_time(m[1m])", start=T0, end=T0 + 120,
                   step=60, stats="all")
        assert st["samples"]["totalQueryableSamplesPerStep"] == [[T0, 1], [T0 + 60, 5],
                                                                 [T0 + 120, 5]]
        assert st["samples"]["totalQueryableSamples"] == 11
        assert "totalQueryableSamplesPerStep" not in stats(
            "/api/v1/query", query="m", time=T0, stats="true")["samples"]
