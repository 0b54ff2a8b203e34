"""The PromQL evaluator (``mockprom.promql.engine.Engine``): result shapes as the API
returns them, errors, timeouts, range/instant agreement, and mockprom's own ``.test``
cases in ``tests/promql/`` (range queries, @ start()/end(), subqueries, negative offset,
special values, error messages), which are also checked against a real Prometheus 2.42
when one is installed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import realprom
from mockprom import versions
from mockprom.promql import nodes as n
from mockprom.promql.engine import Engine
from mockprom.promql.errors import EvalError, ParseError, QueryTimeout
from mockprom.promql.values import Matrix, Scalar, String, Vector
from mockprom.scenario.labels import Matcher, make_labels
from mockprom.scenario.samples import STALE_NAN, is_stale
from mockprom.scenario.store import GeneratedSource, StaticSource, Store
from promqltest import almost_equal, build_store, parse_script, run_eval

OWN_CASES = Path(__file__).parent / "promql"
OWN_EVALS = [ev for path in sorted(OWN_CASES.glob("*.test"))
             for ev in parse_script(path.read_text(), path.name)]

MIN = 60_000
V2_42 = versions.resolve("2.42.0")
V3_5 = versions.resolve("3.5.3")


# -- our own .test cases ----------------------------------------------------------------
def test_own_cases_exist():
    kinds = {ev.kind for ev in OWN_EVALS}
    assert kinds == {"instant", "range"}
    assert sum(ev.fail for ev in OWN_EVALS) >= 10


@pytest.mark.parametrize("ev", OWN_EVALS, ids=[ev.id for ev in OWN_EVALS])
def test_own_case(ev):
    run_eval(ev)


def _payload(loads) -> list[dict]:
    series: dict = {}
    for load in loads:
        for labels, values in load.series:
            pts = series.setdefault(labels, [])
            for k, v in enumerate(values):
                if v is None:
                    continue
                if is_stale(v):
                    v = "stale"
                elif math.isnan(v):
                    v = "NaN"
                elif math.isinf(v):
                    v = "+Inf" if v > 0 else "-Inf"
                pts.append([k * load.interval_ms / 1000, v])
    return [{"labels": dict(l), "samples": sorted(p, key=lambda x: x[0])}
            for l, p in series.items()]


def _real_answer(url: str, ev):
    if ev.kind == "range":
        return realprom.get(url, "/api/v1/query_range", {
            "query": ev.expr, "start": ev.start_ms / 1000, "end": ev.end_ms / 1000,
            "step": ev.step_ms / 1000})
    return realprom.get(url, "/api/v1/query", {"query": ev.expr, "time": ev.t_ms / 1000})


def _check_against_real(ev, status: int, body: dict) -> None:
    where = f"{ev.id} {ev.expr!r}"
    if ev.fail:
        assert body["status"] == "error", f"{where}: real Prometheus answered {body}"
        if ev.fail_message is not None:
            assert body["error"] == ev.fail_message, where
        return
    assert body["status"] == "success", f"{where}: real Prometheus failed: {body}"
    data = body["data"]
    if ev.kind == "instant" and data["resultType"] == "scalar":
        assert len(ev.expected) == 1 and ev.expected[0].labels is None, where
        assert almost_equal(ev.expected[0].values[0], float(data["result"][1])), where
        return
    if ev.kind == "instant":
        got = {make_labels(s["metric"]): [float(s["value"][1])] for s in data["result"]}
        want = {e.labels: e.values for e in ev.expected}
    else:
        steps = list(range(ev.start_ms, ev.end_ms + 1, ev.step_ms))
        got = {}
        for s in data["result"]:
            pts = {round(float(t) * 1000): float(v) for t, v in s["values"]}
            got[make_labels(s["metric"])] = [pts.get(t) for t in steps]
        want = {(e.labels or ()): e.values for e in ev.expected}
    assert set(got) == set(want), f"{where}: label sets differ: {sorted(got)} vs {sorted(want)}"
    for labels, vals in want.items():
        for a, b in zip(vals, got[labels]):
            assert (a is None) == (b is None), f"{where}: {labels}: {vals} vs {got[labels]}"
            assert a is None or almost_equal(a, b), f"{where}: {labels}: {vals} vs {got[labels]}"


@pytest.mark.realprom
def test_own_cases_agree_with_real_prometheus():
    """Every expectation written in tests/promql/*.test is what Prometheus 2.42 answers."""
    realprom.require_binaries()
    by_data: dict = {}
    for ev in OWN_EVALS:
        key = (ev.file, id(ev.loads[-1]) if ev.loads else None)
        by_data.setdefault(key, []).append(ev)
    for evs in by_data.values():
        with realprom.RealPrometheus(_payload(evs[0].loads)) as prom:
            for ev in evs:
                status, body, _ = _real_answer(prom.url, ev)
                _check_against_real(ev, status, body)


# -- result shapes ----------------------------------------------------------------------
def _sel(name: str, offset_ms: int = 0, at_ms=None, at_edge=None, **labels) -> n.VectorSelector:
    matchers = (Matcher.of("__name__", "=", name),) + tuple(
        Matcher.of(k, "=", v) for k, v in labels.items())
    return n.VectorSelector(name, matchers, offset_ms, at_ms, at_edge)


@pytest.fixture()
def store() -> Store:
    """``m{a="1"} -7 NaN Inf -Inf 3 stale`` and ``m{a="2"} 2 1 -Inf Inf NaN 5`` at 1m."""
    s = Store()
    ts = np.arange(6, dtype=np.int64) * MIN
    s.add(make_labels({"__name__": "m", "a": "1"}),
          StaticSource(ts, [-7, math.nan, math.inf, -math.inf, 3, STALE_NAN]))
    s.add(make_labels({"__name__": "m", "a": "2"}),
          StaticSource(ts, [2, 1, -math.inf, math.inf, math.nan, 5]))
    return s


def test_scalar_and_string_results(store):
    e = Engine(store)
    r = e.instant_query(n.BinaryExpr("+", n.NumberLiteral(1), n.NumberLiteral(1)), 5000)
    assert r.value == Scalar(5000, 2.0)
    r = e.instant_query(n.StringLiteral("x"), 5000)
    assert r.value == String(5000, "x")


def test_instant_vector_takes_query_time_and_sorts(store):
    r = Engine(store).instant_query(_sel("m"), 4 * MIN + 30_000)
    assert isinstance(r.value, Vector)
    assert [s.labels for s in r.value.samples] == sorted(s.labels for s in r.value.samples)
    assert [s.t_ms for s in r.value.samples] == [4 * MIN + 30_000] * 2
    assert r.value.samples[0].value == 3.0 and math.isnan(r.value.samples[1].value)


def test_staleness_marker_hides_series(store):
    r = Engine(store).instant_query(_sel("m"), 5 * MIN)
    assert [dict(s.labels)["a"] for s in r.value.samples] == ["2"]


def test_lookback_window_is_closed_on_the_left_in_2_42(store):
    """Prometheus 2.42 still sees a sample exactly ``lookback`` old."""
    e = Engine(store, lookback_ms=MIN, emulation=V2_42)
    r = e.instant_query(_sel("m", a="2"), 6 * MIN)
    assert [s.value for s in r.value.samples] == [5.0]
    assert e.instant_query(_sel("m", a="2"), 6 * MIN + 1).value.samples == []
    # the per-query lookback overrides the engine's
    r = e.instant_query(_sel("m", a="2"), 8 * MIN, lookback_ms=3 * MIN)
    assert [s.value for s in r.value.samples] == [5.0]


def test_lookback_window_is_open_on_the_left_in_3(store):
    """Prometheus 3 no longer sees a sample exactly ``lookback`` old."""
    e = Engine(store, lookback_ms=MIN, emulation=V3_5)
    assert [s.value for s in e.instant_query(_sel("m", a="2"), 6 * MIN - 1).value.samples] \
        == [5.0]
    assert e.instant_query(_sel("m", a="2"), 6 * MIN).value.samples == []
    r = e.instant_query(_sel("m", a="2"), 8 * MIN - 1, lookback_ms=3 * MIN)
    assert [s.value for s in r.value.samples] == [5.0]
    assert e.instant_query(_sel("m", a="2"), 8 * MIN, lookback_ms=3 * MIN).value.samples == []


@pytest.mark.parametrize("emulation, first", [(V2_42, 0), (V3_5, MIN)])
def test_instant_range_selector_returns_raw_samples(store, emulation, first):
    """``m[3m]`` at 3m: every sample in [0, 3m] (2.42) or (0, 3m] (3.x), with its own
    timestamp (what real Prometheus 2.42 and 3.5.3 answer)."""
    expr = n.MatrixSelector(_sel("m"), 3 * MIN)
    r = Engine(store, emulation=emulation).instant_query(expr, 3 * MIN)
    assert isinstance(r.value, Matrix)
    got = {dict(s.labels)["a"]: s.points for s in r.value.series}
    assert [t for t, _ in got["1"]] == list(range(first, 3 * MIN + 1, MIN))
    assert dict(got["1"]).get(0, -7) == -7 and math.isnan(dict(got["1"])[MIN])
    assert got["2"][-2:] == [(2 * MIN, -math.inf), (3 * MIN, math.inf)]


@pytest.mark.parametrize("emulation, times", [(V2_42, [3 * MIN, 4 * MIN]),
                                              (V3_5, [4 * MIN])])
def test_instant_range_selector_drops_stale_markers(store, emulation, times):
    r = Engine(store, emulation=emulation).instant_query(
        n.MatrixSelector(_sel("m", a="1"), 2 * MIN), 5 * MIN)
    (series,) = r.value.series
    assert [t for t, _ in series.points] == times


def test_instant_subquery_returns_aligned_points(store):
    """``m[5m:2m] offset 1m`` at 5m: points at 0, 2m, 4m (what Prometheus 2.42 answers)."""
    expr = n.SubqueryExpr(_sel("m"), 5 * MIN, 2 * MIN, offset_ms=MIN)
    r = Engine(store).instant_query(expr, 5 * MIN)
    got = {dict(s.labels)["a"]: s.points for s in r.value.series}
    assert [t for t, _ in got["1"]] == [0, 2 * MIN, 4 * MIN]
    assert got["1"][1][1] == math.inf and got["1"][2][1] == 3
    assert got["2"][1][1] == -math.inf and math.isnan(got["2"][2][1])


def test_range_query_of_scalar_is_one_series_without_labels(store):
    r = Engine(store).range_query(n.NumberLiteral(7), 0, 3 * MIN, MIN)
    assert isinstance(r.value, Matrix)
    (series,) = r.value.series
    assert series.labels == ()
    assert series.points == [(0, 7.0), (MIN, 7.0), (2 * MIN, 7.0), (3 * MIN, 7.0)]


def test_range_query_drops_missing_points_and_sorts(store):
    r = Engine(store).range_query(_sel("m"), 0, 6 * MIN, MIN)
    assert [s.labels for s in r.value.series] == sorted(s.labels for s in r.value.series)
    a1 = r.value.series[0]
    assert [t for t, _ in a1.points] == [0, MIN, 2 * MIN, 3 * MIN, 4 * MIN]


def test_range_query_of_range_vector_is_bad_data(store):
    with pytest.raises(ParseError) as err:
        Engine(store).range_query(n.MatrixSelector(_sel("m"), MIN), 0, MIN, MIN)
    assert err.value.error_type == "bad_data"
    assert err.value.message == ('invalid expression type "range vector" for range query, '
                                 "must be Scalar or instant Vector")


def test_topk_keeps_its_order_at_top_level():
    s = Store()
    for i, v in enumerate([3, 9, 1, 7]):
        s.add(make_labels({"__name__": "x", "i": str(i)}), StaticSource([0], [v]))
    sel = n.VectorSelector("x", (Matcher.of("__name__", "=", "x"),))
    top = n.AggregateExpr("topk", sel, n.NumberLiteral(3))
    got = [smp.value for smp in Engine(s).instant_query(top, 0).value.samples]
    assert got == [9, 7, 3]
    bottom = n.ParenExpr(n.AggregateExpr("bottomk", sel, n.NumberLiteral(3)))
    got = [smp.value for smp in Engine(s).instant_query(bottom, 0).value.samples]
    assert got == [1, 3, 7]
    # anything else comes sorted by labels in 2.42; 3.x keeps the evaluation's order
    plain = n.BinaryExpr("*", top, n.NumberLiteral(1))
    labels = [smp.labels for smp in Engine(s, emulation=V2_42).instant_query(plain, 0)
              .value.samples]
    assert labels == sorted(labels)
    got = [smp.value for smp in Engine(s, emulation=V3_5).instant_query(plain, 0).value.samples]
    assert got == [9, 7, 3]


def test_errors_carry_prometheus_error_types(store):
    dup = n.UnaryExpr("-", n.VectorSelector(None, (Matcher.of("a", "=~", ".+"),)))
    s = Store()
    s.add(make_labels({"__name__": "p", "a": "1"}), StaticSource([0], [1]))
    s.add(make_labels({"__name__": "q", "a": "1"}), StaticSource([0], [1]))
    with pytest.raises(EvalError) as err:
        Engine(s).instant_query(dup, 0)
    assert err.value.error_type == "execution"
    assert err.value.message == "vector cannot contain metrics with the same labelset"


def test_timeout_is_reported_as_prometheus_does(store):
    with pytest.raises(QueryTimeout) as err:
        Engine(store, timeout_s=-1).instant_query(_sel("m"), 0)
    assert err.value.error_type == "timeout"
    assert err.value.message == "query timed out in expression evaluation"
    with pytest.raises(QueryTimeout):
        Engine(store).range_query(_sel("m"), 0, MIN, MIN, timeout_s=-1)


def test_query_text_is_parsed(store):
    r = Engine(store).instant_query('sum by (a) (m{a="2"} offset 1m)', 2 * MIN)
    assert [(dict(s.labels), s.value) for s in r.value.samples] == [({"a": "2"}, 1.0)]


def test_generated_series_are_queryable_anywhere():
    """A generator is defined at every time: a range query far from any anchor works."""
    s = Store()
    s.add(make_labels({"__name__": "g"}),
          GeneratedSource(lambda ts: ts / 1000.0, interval_ms=15_000))
    t0 = 1_700_000_040_000  # on the 15 s grid
    r = Engine(s).range_query("g", t0, t0 + 10 * MIN, MIN)
    (series,) = r.value.series
    assert series.points == [(t, t / 1000.0) for t in range(t0, t0 + 10 * MIN + 1, MIN)]


RANGE_EXPRS = [
    "m", "m offset 1m", "-m", "m * 2 - m", "m > 2", "m > bool 2", "2 >= m",
    "sum(m)", "avg by (a) (m)", "max(m) - min(m)", "count(m) by (a)", "topk(1, m)",
    "bottomk(1, m) or m", "m and m{a=\"1\"}", "m unless m{a=\"2\"}", "quantile(0.3, m)",
    "stddev(m)", "m @ 120", "m @ 300 offset -2m", "max_over_time(m[3m:1m] offset -1m)",
    "count_values(\"v\", m)", "m{a=\"1\"} / ignoring(a) m{a=\"2\"}",
]


@pytest.mark.parametrize("expr", RANGE_EXPRS)
def test_range_query_agrees_with_instant_queries(expr):
    """Every step of a range query is the instant query at that step (Prometheus's
    promqltest checks the same)."""
    ev = parse_script("load 1m\n\tm{a=\"1\"} 1 5 _ 2 NaN 8 stale 4 _ _ _ _ _ _ _ 3\n"
                      "\tm{a=\"2\"} 6 1 1 -Inf 2 2 _x3 9 9\n\neval instant at 0 m\n")[0]
    engine = Engine(build_store(ev.loads))
    start, end, step = 0, 16 * MIN, MIN
    mat = engine.range_query(expr, start, end, step).value
    by_labels = {s.labels: dict(s.points) for s in mat.series}
    seen = set()
    for t in range(start, end + 1, step):
        vec = engine.instant_query(expr, t, ).value
        if isinstance(vec, Scalar):
            vec = Vector([type("S", (), {"labels": (), "value": vec.value})()])
        for smp in vec.samples:
            assert smp.labels in by_labels, (t, smp.labels)
            got = by_labels[smp.labels].get(t)
            assert got is not None and almost_equal(got, smp.value), (t, smp.labels)
            seen.add((smp.labels, t))
    assert seen == {(l, t) for l, pts in by_labels.items() for t in pts}


def test_absurd_subquery_is_refused_not_run(store):
    """A subquery of a year at 1 s steps fails cleanly (422) instead of eating memory."""
    expr = n.SubqueryExpr(_sel("m"), 365 * 86_400_000, 1000)
    with pytest.raises(EvalError) as err:
        Engine(store).instant_query(expr, 0)
    assert err.value.message == ("query processing would load too many samples into memory "
                                 "in query execution")


@pytest.mark.parametrize("pattern, matching, not_matching", [
    ("((?i)PRO).*", ["production", "PROD"], ["xpro"]),
    (".*((?i)duc).*", ["proDUCtion"], ["prod"]),
    ("a(?i)b|c", ["aB", "ab", "C"], ["AB", "aC"]),
    ("(?i)abc", ["ABC", "abc"], ["abcd"]),
])
def test_go_inline_regex_flags_hold_to_the_end_of_their_group(pattern, matching, not_matching):
    """RE2 lets ``(?i)`` appear mid-pattern (Python does not): selectors with it work."""
    m = Matcher.of("l", "=~", pattern)
    assert all(m.matches(v) for v in matching)
    assert not any(m.matches(v) for v in not_matching)


@pytest.mark.parametrize("emulation, first", [(V2_42, 0), (V3_5, 1)])
def test_subquery_default_step_is_one_minute_unless_configured(store, emulation, first):
    """``m[5m:]`` steps at 1 minute (what Prometheus 2.42 does even with a shorter
    evaluation_interval configured); the engine takes another default on request. The
    first step is at the window's left edge in 2.42, after it in 3.x."""
    expr = n.SubqueryExpr(_sel("m", a="2"), 5 * MIN)
    (series,) = Engine(store, emulation=emulation).instant_query(expr, 5 * MIN).value.series
    assert [t for t, _ in series.points] == [0, MIN, 2 * MIN, 3 * MIN, 4 * MIN, 5 * MIN][first:]
    (series,) = Engine(store, subquery_step_ms=150_000, emulation=emulation).instant_query(
        expr, 5 * MIN).value.series
    assert [t for t, _ in series.points] == [0, 150_000, 5 * MIN][first:]


@pytest.mark.parametrize("expr", ["histogram_count(m)", "histogram_sum(rate(m[5m]))",
                                  "histogram_fraction(0, 1, m)"])
def test_native_histogram_functions_find_nothing(store, expr):
    """mockprom has no native histograms: like Prometheus 2.42 on float series, these
    answer an empty vector (and an empty matrix for a range query)."""
    e = Engine(store)
    assert e.instant_query(expr, 4 * MIN).value == Vector([])
    assert e.range_query(expr, 0, 4 * MIN, MIN).value == Matrix([])


def test_a_selection_past_the_sample_budget_fails_before_it_is_built():
    """Generated series are endless: a ten-year window over them is refused at once with
    Prometheus's max-samples error instead of being built (or silently cut short)."""
    from mockprom.promql.engine import Engine
    from mockprom.promql.errors import EvalError
    from mockprom.scenario.labels import make_labels
    from mockprom.scenario.store import GeneratedSource, Store

    generated = []

    def fn(ts):
        generated.append(len(ts))
        return ts / 1000.0

    store = Store()
    for i in range(20):
        store.add(make_labels({"__name__": "g", "i": str(i)}), GeneratedSource(fn, 15_000))
    engine = Engine(store, emulation=V2_42)
    t = 1_699_999_995_000  # on the 15 s grid
    for query in ("count_over_time(g[10y])", "g[10y]"):
        with pytest.raises(EvalError, match="too many samples"):
            engine.instant_query(query, t)
    assert generated == []  # refused up front: nothing was generated
    # a window inside the budget is answered in full
    result = engine.instant_query("count_over_time(g[1d])", t).value
    assert [s.value for s in result.samples] == [5761.0] * 20


def test_at_window_of_a_call_evaluated_step_by_step_moves_with_the_step_in_2_42_only():
    """``predict_linear(x[2m] @ 300s, 0)`` over 300..480 s (x = t / 60 at each minute):
    3.5 keeps the window ``(180 s, 300 s]`` at every step and predicts from the step
    (5, 6, 7, 8); 2.42 turned the @ into an offset from the start, so its window at step
    ``s`` is ``[180 s + (s - 300 s), 300 s]`` (data fetched up to @ only): 3 points, then
    2, then 1 (too few for a regression: no point)."""
    s = Store()
    ts = np.arange(11, dtype=np.int64) * MIN
    s.add(make_labels({"__name__": "x"}), StaticSource(ts, (ts / MIN).tolist()))
    query = "predict_linear(x[2m] @ 300, 0)"
    got = {}
    for name, emulation in (("2.42", V2_42), ("3.5", V3_5)):
        mat = Engine(s, emulation=emulation).range_query(query, 5 * MIN, 8 * MIN, MIN).value
        got[name] = [(t // 1000, round(v, 9)) for t, v in mat.series[0].points]
    assert got["3.5"] == [(300, 5.0), (360, 6.0), (420, 7.0), (480, 8.0)]
    assert got["2.42"] == [(300, 5.0), (360, 6.0)]
