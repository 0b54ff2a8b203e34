"""PromQL functions (``mockprom/promql/functions*.py``), tested directly on hand-built
``RangeSeries``/``StepSeries`` against independent computations of Prometheus's
documented formulas, plus a few end-to-end queries through the engine."""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
import statistics

import numpy as np
import pytest

from realprom import release  # noqa: F401  (a fixture)

from mockprom import versions
from mockprom.promql import nodes as n
from mockprom.promql.errors import EvalError
from mockprom.promql.functions import FUNCTIONS
from mockprom.promql.series import drop_name
from mockprom.promql.steps import EvalContext, RangeSeries, StepSeries
from mockprom.scenario.labels import Matcher, make_labels

NAME = make_labels({"__name__": "x", "job": "a"})


# -- builders -------------------------------------------------------------------------

def ctx_for(steps, emulation=None) -> EvalContext:
    """A context over ``steps`` emulating 2.42.0 (what the references here follow)
    unless told otherwise."""
    steps = np.asarray(steps, dtype=np.int64)
    interval = int(steps[1] - steps[0]) if len(steps) > 1 else 0
    return EvalContext(steps=steps, start_ms=int(steps[0]), end_ms=int(steps[-1]),
                       interval_ms=interval, emulation=emulation or versions.resolve("2.42.0"))


def range_series(ts, vals, steps, range_ms, labels=NAME) -> RangeSeries:
    """Windows ``[step - range, step]`` (Prometheus 2.42 includes both ends)."""
    ts = np.asarray(ts, dtype=np.int64)
    steps = np.asarray(steps, dtype=np.int64)
    lo = np.searchsorted(ts, steps - range_ms, side="left").astype(np.int64)
    hi = np.searchsorted(ts, steps, side="right").astype(np.int64)
    return RangeSeries(labels, ts, np.asarray(vals, dtype=np.float64), lo, hi)


def matrix_call(func, range_ms, *extra, offset_ms=0):
    sel = n.VectorSelector("x", (Matcher.of("__name__", "=", "x"),), offset_ms=offset_ms)
    return n.Call(func, (n.MatrixSelector(sel, range_ms),) + tuple(extra))


def step_series(vals, labels=NAME, present=None) -> StepSeries:
    vals = np.asarray(vals, dtype=np.float64)
    if present is None:
        present = np.ones(len(vals), dtype=bool)
    return StepSeries(labels, vals, np.asarray(present, dtype=bool))


def call(name, ctx, args, node=None):
    return FUNCTIONS[name].impl(ctx, args, node or n.Call(name, ()))


def values_at(series: StepSeries):
    """{step index: value} where the series is present."""
    return {i: float(series.vals[i]) for i in np.flatnonzero(series.present)}


def close(a, b, rel=1e-9):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


# -- reference implementations (straight from the Prometheus docs/formulas) -------------

def ref_extrapolated(window, range_start, range_end, range_s, is_counter, is_rate,
                     threshold_first=False):
    """rate/increase/delta of one window of (t_ms, v) pairs, or None. Prometheus 3
    applies the extrapolation threshold to the start before the counter's zero point
    (``threshold_first``); 2.42 after."""
    if len(window) < 2:
        return None
    (t0, v0), (tn, vn) = window[0], window[-1]
    result = vn - v0
    if is_counter:
        prev = v0
        for _, v in window[1:]:
            if v < prev:
                result += prev
            prev = v
    to_start = (t0 - range_start) / 1000
    to_end = (range_end - tn) / 1000
    sampled = (tn - t0) / 1000
    avg = sampled / (len(window) - 1)
    threshold = avg * 1.1
    if threshold_first and to_start >= threshold:
        to_start = avg / 2
    if is_counter and result > 0 and v0 >= 0:
        to_start = min(to_start, sampled * (v0 / result))
    interval = sampled
    interval += to_start if to_start < threshold or threshold_first else avg / 2
    interval += to_end if to_end < threshold else avg / 2
    result = result * (interval / sampled)
    return result / range_s if is_rate else result


def windows_of(ts, vals, steps, range_ms):
    for t in steps:
        yield t, [(a, b) for a, b in zip(ts, vals) if t - range_ms <= a <= t]


def random_counter(rng: random.Random, count=80):
    ts, vals, t, v = [], [], 1000, rng.uniform(0, 50)
    for _ in range(count):
        ts.append(t)
        vals.append(v)
        t += rng.choice([15_000, 15_000, 14_000, 31_000, 5_000])
        v = v + rng.uniform(0, 20) if rng.random() > 0.08 else rng.uniform(0, 5)  # resets
    return ts, vals


# -- registry -------------------------------------------------------------------------

ALL_FUNCTIONS = """abs absent absent_over_time ceil changes clamp clamp_max clamp_min
day_of_month day_of_week day_of_year days_in_month delta deriv exp floor histogram_quantile
holt_winters hour idelta increase irate label_join label_replace ln log2 log10 minute month
predict_linear rate resets round scalar sgn sort sort_desc sqrt time timestamp vector year
avg_over_time min_over_time max_over_time sum_over_time count_over_time quantile_over_time
stddev_over_time stdvar_over_time last_over_time present_over_time acos acosh asin asinh
atan atanh cos cosh sin sinh tan tanh deg rad pi""".split()


def test_every_function_of_prometheus_2_42_is_registered():
    missing = [f for f in ALL_FUNCTIONS if f not in FUNCTIONS]
    assert missing == []
    assert FUNCTIONS["rate"].arg_types == ("matrix",)
    assert FUNCTIONS["quantile_over_time"].arg_types == ("scalar", "matrix")
    assert FUNCTIONS["histogram_quantile"].arg_types == ("scalar", "vector")
    assert FUNCTIONS["round"].optional_args == 1
    assert FUNCTIONS["hour"].optional_args == 1
    assert FUNCTIONS["label_join"].variadic
    assert FUNCTIONS["scalar"].return_type == FUNCTIONS["time"].return_type == "scalar"


# -- rate family ------------------------------------------------------------------------

@pytest.mark.parametrize("func,is_counter,is_rate", [
    ("rate", True, True), ("increase", True, False), ("delta", False, False)])
@pytest.mark.parametrize("range_ms", [60_000, 120_000, 300_000])
@pytest.mark.parametrize("version", ["2.42.0", "3.5.3"])
def test_rate_family_matches_extrapolation_formula(func, is_counter, is_rate, range_ms,
                                                   version):
    rng = random.Random(range_ms)
    ts, vals = random_counter(rng)
    steps = list(range(0, ts[-1] + 120_000, 7_000))
    ctx = ctx_for(steps, versions.resolve(version))
    out = call(func, ctx, [[range_series(ts, vals, steps, range_ms)]],
               matrix_call(func, range_ms))
    got = values_at(out[0]) if out else {}
    assert FUNCTIONS[func].drops_name  # the engine drops the metric name
    for i, (t, window) in enumerate(windows_of(ts, vals, steps, range_ms)):
        want = ref_extrapolated(window, t - range_ms, t, range_ms / 1000, is_counter, is_rate,
                                ctx.rules.rate_threshold_first)
        if want is None:
            assert i not in got
        else:
            assert close(got[i], want), (i, got[i], want)


def test_rate_uses_the_offset_window():
    ts = [0, 15_000, 30_000, 45_000, 60_000]
    vals = [0, 10, 20, 30, 40]
    steps = [90_000]
    # the engine hands the windows of the shifted range; rate needs the shifted bounds
    rs = range_series(ts, vals, [60_000], 60_000)
    out = call("rate", ctx_for(steps), [[rs]], matrix_call("rate", 60_000, offset_ms=30_000))
    window = [(t, v) for t, v in zip(ts, vals)]
    want = ref_extrapolated(window, 0, 60_000, 60.0, True, True)
    assert close(float(out[0].vals[0]), want)


def test_increase_corrects_counter_resets():
    # 10 -> 20 -> 5 (reset) -> 15, samples spanning the whole window (no extrapolation):
    # the counter rose by 10, then by 5 from zero, then by 10
    ts = [0, 10_000, 20_000, 30_000]
    vals = [10, 20, 5, 15]
    out = call("increase", ctx_for([30_000]), [[range_series(ts, vals, [30_000], 30_000)]],
               matrix_call("increase", 30_000))
    assert close(float(out[0].vals[0]), 10 + 5 + 10)
    resets = call("resets", ctx_for([30_000]), [[range_series(ts, vals, [30_000], 30_000)]])
    assert float(resets[0].vals[0]) == 1


def test_rate_needs_two_samples():
    rs = range_series([0, 100_000], [1, 2], [50_000, 100_000], 60_000)
    out = call("rate", ctx_for([50_000, 100_000]), [[rs]], matrix_call("rate", 60_000))
    assert out == [] or not out[0].present.any()


def test_irate_and_idelta_use_the_last_two_samples():
    ts = [0, 10_000, 25_000, 30_000]
    vals = [5, 9, 20, 4]  # last pair is a reset
    steps = [25_000, 30_000]
    rs = range_series(ts, vals, steps, 60_000)
    irate = call("irate", ctx_for(steps), [[rs]])[0]
    idelta = call("idelta", ctx_for(steps), [[rs]])[0]
    assert close(float(irate.vals[0]), (20 - 9) / 15)
    assert close(float(irate.vals[1]), 4 / 5)  # reset: the last value over the gap
    assert close(float(idelta.vals[1]), 4 - 20)


# -- *_over_time ----------------------------------------------------------------------

def _gauge(seed=3, count=60):
    rng = random.Random(seed)
    ts = [i * 10_000 for i in range(count)]
    vals = [round(rng.uniform(-100, 100), 3) for _ in ts]
    return ts, vals


OVER_TIME_REFS = {
    "sum_over_time": math.fsum,
    "avg_over_time": statistics.fmean,
    "min_over_time": min,
    "max_over_time": max,
    "count_over_time": len,
    "last_over_time": lambda v: v[-1],
    "present_over_time": lambda v: 1.0,
    "stdvar_over_time": statistics.pvariance,
    "stddev_over_time": statistics.pstdev,
}


@pytest.mark.parametrize("func", sorted(OVER_TIME_REFS))
def test_over_time_functions_match_plain_statistics(func):
    ts, vals = _gauge()
    steps = list(range(-30_000, 700_000, 13_000))
    out = call(func, ctx_for(steps), [[range_series(ts, vals, steps, 60_000)]])
    got = values_at(out[0])
    for i, (t, window) in enumerate(windows_of(ts, vals, steps, 60_000)):
        if not window:
            assert i not in got
            continue
        assert close(got[i], OVER_TIME_REFS[func]([v for _, v in window]), rel=1e-9)
    assert FUNCTIONS[func].drops_name == (func != "last_over_time")


def test_sum_over_time_is_compensated():
    ts = [0, 10_000, 20_000, 30_000]
    vals = [1e100, 1.0, -1e100, 3.0]
    rs = range_series(ts, vals, [30_000], 60_000)
    assert float(call("sum_over_time", ctx_for([30_000]), [[rs]])[0].vals[0]) == 4.0


def test_over_time_special_values():
    ts = [0, 10_000, 20_000, 30_000]
    steps = [30_000]

    def one(func, vals):
        return float(call(func, ctx_for(steps), [[range_series(ts, vals, steps, 60_000)]])[0].vals[0])

    assert one("avg_over_time", [1, math.inf, 3, 5]) == math.inf
    assert math.isnan(one("avg_over_time", [1, math.inf, -math.inf, 5]))
    assert one("max_over_time", [math.nan, 2, 7, 1]) == 7  # NaN only wins when alone
    assert one("min_over_time", [math.nan, 2, 7, 1]) == 1
    assert one("sum_over_time", [1, math.inf, 3, 5]) == math.inf


@pytest.mark.parametrize("q", [0, 0.1, 0.5, 0.75, 0.99, 1])
def test_quantile_over_time_interpolates_like_numpy_linear(q):
    ts, vals = _gauge(seed=9)
    steps = [200_000, 400_000]
    out = call("quantile_over_time", ctx_for(steps),
               [np.full(2, q), [range_series(ts, vals, steps, 120_000)]])
    for i, (t, window) in enumerate(windows_of(ts, vals, steps, 120_000)):
        want = float(np.quantile([v for _, v in window], q))
        assert close(float(out[0].vals[i]), want)


def test_quantile_over_time_out_of_range():
    rs = range_series([0, 10_000], [1, 2], [10_000], 60_000)
    ctx = ctx_for([10_000])
    assert float(call("quantile_over_time", ctx, [np.array([-1.0]), [rs]])[0].vals[0]) == -math.inf
    assert float(call("quantile_over_time", ctx, [np.array([2.0]), [rs]])[0].vals[0]) == math.inf
    assert math.isnan(float(call("quantile_over_time", ctx, [np.array([math.nan]), [rs]])[0].vals[0]))


def test_changes_counts_value_changes_nan_equal_to_nan():
    ts = [0, 10_000, 20_000, 30_000, 40_000, 50_000]
    vals = [1, 1, 2, math.nan, math.nan, 2]
    out = call("changes", ctx_for([50_000]), [[range_series(ts, vals, [50_000], 60_000)]])
    assert float(out[0].vals[0]) == 3  # 1->2, 2->NaN, NaN->2


# -- regression -----------------------------------------------------------------------

def test_deriv_and_predict_linear_match_least_squares():
    ts, vals = _gauge(seed=5)
    steps = [300_000, 590_000]
    rs = range_series(ts, vals, steps, 200_000)
    ctx = ctx_for(steps)
    deriv = call("deriv", ctx, [[rs]])[0]
    pred = call("predict_linear", ctx, [[rs], np.full(2, 600.0)])[0]
    for i, (t, window) in enumerate(windows_of(ts, vals, steps, 200_000)):
        x = np.array([a / 1000 for a, _ in window])
        y = np.array([b for _, b in window])
        slope, intercept = np.polyfit(x, y, 1)
        assert close(float(deriv.vals[i]), slope, rel=1e-7)
        assert close(float(pred.vals[i]), slope * (t / 1000 + 600) + intercept, rel=1e-7)


def test_deriv_of_a_constant_is_zero_and_of_constant_inf_nan():
    rs = range_series([0, 10_000, 20_000], [5, 5, 5], [20_000], 60_000)
    assert float(call("deriv", ctx_for([20_000]), [[rs]])[0].vals[0]) == 0
    rs = range_series([0, 10_000], [math.inf, math.inf], [10_000], 60_000)
    assert math.isnan(float(call("deriv", ctx_for([10_000]), [[rs]])[0].vals[0]))


def ref_holt_winters(values, sf, tf):
    s0, s1, b = 0.0, values[0], values[1] - values[0]
    for i in range(1, len(values)):
        x = sf * values[i]
        if i - 1 > 0:
            b = tf * (s1 - s0) + (1 - tf) * b
        y = (1 - sf) * (s1 + b)
        s0, s1 = s1, x + y
    return s1


def test_holt_winters_double_exponential_smoothing():
    ts, vals = _gauge(seed=11)
    steps = list(range(0, 600_000, 45_000))
    out = call("holt_winters", ctx_for(steps),
               [[range_series(ts, vals, steps, 120_000)], np.full(len(steps), 0.3),
                np.full(len(steps), 0.6)])[0]
    got = values_at(out)
    for i, (t, window) in enumerate(windows_of(ts, vals, steps, 120_000)):
        if len(window) < 2:
            assert i not in got
        else:
            assert got[i] == ref_holt_winters([v for _, v in window], 0.3, 0.6)


def test_holt_winters_rejects_bad_factors_like_prometheus():
    rs = range_series([0, 10_000], [1, 2], [10_000], 60_000)
    with pytest.raises(EvalError, match=r"invalid smoothing factor. Expected: 0 < sf < 1, got: 1.000000"):
        call("holt_winters", ctx_for([10_000]), [[rs], np.array([1.0]), np.array([0.5])])
    with pytest.raises(EvalError, match=r"invalid trend factor. Expected: 0 < tf < 1, got: 0.000000"):
        call("holt_winters", ctx_for([10_000]), [[rs], np.array([0.5]), np.array([0.0])])


# -- element-wise ---------------------------------------------------------------------

def test_math_functions_drop_the_name_and_map_values():
    vals = [-2.5, 0.5, 4.0]
    s = step_series(vals)
    ctx = ctx_for([0, 1, 2])
    for name, fn in [("abs", abs), ("ceil", math.ceil), ("floor", math.floor), ("exp", math.exp),
                     ("sqrt", lambda v: math.sqrt(v) if v >= 0 else math.nan),
                     ("sin", math.sin), ("atan", math.atan), ("deg", math.degrees),
                     ("rad", math.radians), ("log2", lambda v: math.log2(v) if v > 0 else math.nan),
                     ("log10", lambda v: math.log10(v) if v > 0 else math.nan),
                     ("sgn", lambda v: math.copysign(1, v))]:
        out = call(name, ctx, [[s]])[0]
        assert FUNCTIONS[name].drops_name and out.labels == NAME
        for got, v in zip(out.vals, vals):
            assert close(float(got), float(fn(v)), rel=1e-15), name


GO_MATH = ["exp", "ln", "log2", "log10", "sin", "cos", "tan", "asin", "acos", "atan", "sinh",
           "cosh", "tanh", "asinh", "acosh", "atanh"]


@pytest.mark.parametrize("name", GO_MATH)
def test_go_math_ports_agree_with_libm(name):
    # The ports reproduce Go's algorithms bit for bit (checked against a real Prometheus
    # below); here: they are the right function, accurate everywhere, with Go's special
    # cases for 0, -0, ±Inf and NaN.
    ref = {"exp": np.exp, "ln": np.log, "log2": np.log2, "log10": np.log10, "sin": np.sin,
           "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
           "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
           "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh}[name]
    rng = np.random.default_rng(1)
    xs = np.concatenate([rng.uniform(-3, 3, 2000), rng.uniform(-700, 700, 500),
                         10.0 ** rng.uniform(-30, 30, 500), rng.uniform(0.99, 1.01, 200),
                         [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 5e-324, 2.0 ** 29]])
    ctx = ctx_for(list(range(len(xs))))
    got = call(name, ctx, [[step_series(xs)]])[0].vals
    with np.errstate(all="ignore"):
        want = ref(xs)
    both_nan = np.isnan(got) & np.isnan(want)
    with np.errstate(all="ignore"):
        close_enough = (got == want) | both_nan | np.isclose(got, want, rtol=1e-14, atol=1e-15)
    if name in ("sin", "cos", "tan"):  # huge arguments: Go and libm reduce differently
        close_enough |= np.abs(xs) > 1e12
    if name in ("ln", "log2", "log10"):  # Go's amd64 Log ignores subnormal inputs' scale
        close_enough |= (xs != 0) & (np.abs(xs) < 2.2250738585072014e-308)
    assert close_enough.all(), xs[~close_enough][:5]
    zero = call(name, ctx_for([0, 1]), [[step_series([0.0, -0.0])]])[0].vals
    if name in ("sin", "tan", "asin", "atan", "sinh", "tanh", "asinh", "atanh"):
        assert list(np.signbit(zero)) == [False, True]  # odd functions keep the zero's sign


def test_log_functions_exact_on_powers():
    s = step_series([8.0, 1000.0, 0.0])
    assert call("log2", ctx_for([0, 1, 2]), [[s]])[0].vals[0] == 3.0
    assert call("log10", ctx_for([0, 1, 2]), [[s]])[0].vals[2] == -math.inf


def test_round_ties_up_and_to_nearest():
    s = step_series([2.5, -2.5, 0.15, 7.77])
    ctx = ctx_for([0, 1, 2, 3])
    out = call("round", ctx, [[s]])[0]
    assert list(out.vals[:2]) == [3.0, -2.0]
    out = call("round", ctx, [[s], np.full(4, 0.1)])[0]
    assert close(float(out.vals[3]), 7.8)


def test_clamp_bounds_and_empty_when_max_below_min():
    s = step_series([-5, 0, 5])
    ctx = ctx_for([0, 1, 2])
    out = call("clamp", ctx, [[s], np.full(3, -1.0), np.full(3, 1.0)])[0]
    assert list(out.vals) == [-1, 0, 1]
    out = call("clamp", ctx, [[s], np.full(3, 1.0), np.full(3, -1.0)])
    assert not any(o.present.any() for o in out)
    assert list(call("clamp_max", ctx, [[s], np.full(3, 2.0)])[0].vals) == [-5, 0, 2]
    assert list(call("clamp_min", ctx, [[s], np.full(3, 2.0)])[0].vals) == [2, 2, 5]
    # Go's math.Min/Max: NaN wins, except against an infinity of the right sign
    nan = call("clamp_min", ctx, [[s], np.full(3, math.nan)])[0]
    assert all(math.isnan(v) for v in nan.vals)
    inf = call("clamp_max", ctx, [[step_series([math.nan] * 3)], np.full(3, -math.inf)])[0]
    assert list(inf.vals) == [-math.inf] * 3


def test_scalar_is_nan_unless_exactly_one_series():
    ctx = ctx_for([0, 1, 2])
    a = step_series([1, 2, 3], make_labels({"a": "1"}), [True, True, False])
    b = step_series([7, 8, 9], make_labels({"a": "2"}), [False, True, False])
    out = call("scalar", ctx, [[a, b]])
    assert out[0] == 1 and math.isnan(out[1]) and math.isnan(out[2])


def test_vector_time_pi():
    ctx = ctx_for([1_500, 61_500])
    assert list(call("time", ctx, [])) == [1.5, 61.5]
    assert list(call("pi", ctx, [])) == [math.pi, math.pi]
    v = call("vector", ctx, [np.array([4.0, 5.0])])[0]
    assert v.labels == () and list(v.vals) == [4.0, 5.0]


def test_timestamp_prefers_the_sample_time():
    ctx = ctx_for([60_000, 120_000])
    s = step_series([1, 2])
    s.sample_ts = np.array([45_000, 119_000])
    assert list(call("timestamp", ctx, [[s]])[0].vals) == [45.0, 119.0]
    assert list(call("timestamp", ctx, [[step_series([1, 2])]])[0].vals) == [60.0, 120.0]


def test_sort_orders_values_with_nan_last():
    ctx = ctx_for([0])
    series = [step_series([v], make_labels({"i": str(i)})) for i, v in
              enumerate([3.0, math.nan, -1.0, 10.0])]
    asc = [float(s.vals[0]) for s in call("sort", ctx, [series])]
    desc = [float(s.vals[0]) for s in call("sort_desc", ctx, [series])]
    assert asc[:3] == [-1.0, 3.0, 10.0] and math.isnan(asc[3])
    assert desc[:3] == [10.0, 3.0, -1.0] and math.isnan(desc[3])
    assert call("sort", ctx, [series])[0].labels == make_labels({"i": "2"})  # name kept


# -- dates ------------------------------------------------------------------------------

def test_date_functions_match_the_calendar():
    rng = random.Random(2)
    secs = [rng.randrange(-2_000_000_000, 4_000_000_000) for _ in range(200)] + [951_782_400]
    s = step_series(secs)
    ctx = ctx_for(list(range(len(secs))))
    res = {f: call(f, ctx, [[s]])[0].vals for f in
           ["year", "month", "day_of_month", "day_of_week", "day_of_year", "days_in_month",
            "hour", "minute"]}
    for i, sec in enumerate(secs):
        d = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=sec)
        assert res["year"][i] == d.year and res["month"][i] == d.month
        assert res["day_of_month"][i] == d.day and res["hour"][i] == d.hour
        assert res["minute"][i] == d.minute
        assert res["day_of_week"][i] == (d.weekday() + 1) % 7  # Sunday = 0
        assert res["day_of_year"][i] == d.timetuple().tm_yday
        assert res["days_in_month"][i] == calendar.monthrange(d.year, d.month)[1]


def test_date_functions_default_to_the_evaluation_time():
    t = dt.datetime(2024, 2, 29, 13, 45, tzinfo=dt.timezone.utc)
    ctx = ctx_for([int(t.timestamp() * 1000)])
    assert call("hour", ctx, [])[0].vals[0] == 13
    assert call("days_in_month", ctx, [])[0].vals[0] == 29
    assert call("day_of_week", ctx, [])[0].labels == ()


def test_date_of_nan_answers_like_prometheus():
    # Go converts NaN to the minimum int64; Prometheus 2.42 answers these values.
    s = step_series([math.nan])
    ctx = ctx_for([0])
    assert call("year", ctx, [[s]])[0].vals[0] == 292277026596
    assert call("month", ctx, [[s]])[0].vals[0] == 12
    assert call("hour", ctx, [[s]])[0].vals[0] == 15


# -- labels ---------------------------------------------------------------------------

def test_label_replace_expands_like_go():
    s = step_series([1.0], make_labels({"__name__": "m", "src": "ab-cd"}))
    ctx = ctx_for([0])
    out = call("label_replace", ctx, [[s], "dst", "$2:${1}x:$1x:$$:${name}", "src",
                                      "(?P<name>[a-z]+)-(.*)"])[0]
    assert dict(out.labels)["dst"] == "cd:abx::$:ab"  # $1x is the (unknown) group "1x"
    assert dict(out.labels)["__name__"] == "m"


def test_label_replace_no_match_and_empty_result():
    s = step_series([1.0], make_labels({"a": "x", "dst": "old"}))
    ctx = ctx_for([0])
    same = call("label_replace", ctx, [[s], "dst", "new", "a", "y"])[0]
    assert same.labels == s.labels
    gone = call("label_replace", ctx, [[s], "dst", "$1", "a", "x()"])[0]
    assert "dst" not in dict(gone.labels)


def test_label_replace_errors_in_prometheus_words():
    s = step_series([1.0])
    with pytest.raises(EvalError, match=r"invalid regular expression in label_replace\(\): \(\.\*"):
        call("label_replace", ctx_for([0]), [[s], "dst", "", "a", "(.*"])
    with pytest.raises(EvalError, match=r"invalid destination label name in label_replace\(\): 1x"):
        call("label_replace", ctx_for([0]), [[s], "1x", "", "a", ".*"])
    with pytest.raises(EvalError, match=r"invalid source label name in label_join\(\): a-b"):
        call("label_join", ctx_for([0]), [[s], "dst", ",", "a-b"])


def test_label_join():
    s = step_series([1.0], make_labels({"__name__": "m", "a": "1", "b": "2"}))
    out = call("label_join", ctx_for([0]), [[s], "dst", "-", "a", "missing", "b"])[0]
    assert dict(out.labels)["dst"] == "1--2"
    out = call("label_join", ctx_for([0]), [[s], "a", ",", "missing"])[0]
    assert "a" not in dict(out.labels)


def test_absent_labels_from_equality_matchers():
    sel = n.VectorSelector("m", (Matcher.of("__name__", "=", "m"), Matcher.of("a", "=", "1"),
                                 Matcher.of("b", "=~", "x"), Matcher.of("c", "=", "2"),
                                 Matcher.of("c", "=", "3"), Matcher.of("d", "=", "")))
    ctx = ctx_for([0, 1])
    node = n.Call("absent", (sel,))
    out = FUNCTIONS["absent"].impl(ctx, [[]], node)
    assert out[0].labels == make_labels({"a": "1"}) and list(out[0].vals) == [1, 1]
    present = step_series([5, 5], present=[True, False])
    out = FUNCTIONS["absent"].impl(ctx, [[present]], node)
    assert list(out[0].present) == [False, True]
    agg = n.Call("absent", (n.AggregateExpr("sum", sel),))
    assert FUNCTIONS["absent"].impl(ctx, [[]], agg)[0].labels == ()


def test_absent_over_time_where_no_window_has_samples():
    steps = [0, 60_000, 120_000, 180_000]
    rs = range_series([60_000], [1.0], steps, 30_000)
    node = n.Call("absent_over_time", (n.MatrixSelector(
        n.VectorSelector("m", (Matcher.of("__name__", "=", "m"), Matcher.of("j", "=", "z"))),
        30_000),))
    out = FUNCTIONS["absent_over_time"].impl(ctx_for(steps), [[rs]], node)
    assert out[0].labels == make_labels({"j": "z"})
    assert list(out[0].present) == [True, False, True, True]


# -- histogram_quantile ---------------------------------------------------------------

def buckets(pairs, extra=None, steps=1):
    extra = extra or {}
    return [step_series([c] * steps, make_labels({"__name__": "h_bucket", "le": le, **extra}))
            for le, c in pairs]


def ref_bucket_quantile(q, pairs):
    """The documented interpolation for monotonic buckets ending in +Inf."""
    pairs = sorted(pairs)
    total = pairs[-1][1]
    rank = q * total
    prev_b, prev_c = 0.0, 0.0
    for b, c in pairs[:-1]:
        if c >= rank:
            if prev_c == 0 and b <= 0:
                return b
            return prev_b + (b - prev_b) * (rank - prev_c) / (c - prev_c)
        prev_b, prev_c = b, c
    return pairs[-2][0]


@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0])
def test_histogram_quantile_interpolates_within_bucket(q):
    pairs = [("0.1", 2), ("0.5", 10), ("1", 15), ("2.5", 19), ("+Inf", 20)]
    series = buckets(pairs, {"job": "a"})
    random.Random(1).shuffle(series)  # bucket order must not matter
    out = call("histogram_quantile", ctx_for([0]), [np.array([q]), series])
    assert len(out) == 1 and drop_name(out[0].labels) == make_labels({"job": "a"})
    numeric = [(float(le), c) for le, c in pairs]
    assert close(float(out[0].vals[0]), ref_bucket_quantile(q, numeric))


def test_histogram_quantile_edge_cases():
    ctx = ctx_for([0])

    def hq(q, pairs):
        out = call("histogram_quantile", ctx, [np.array([q]), buckets(pairs)])
        return float(out[0].vals[0])

    normal = [("1", 5), ("+Inf", 10)]
    assert hq(-0.1, normal) == -math.inf and hq(1.1, normal) == math.inf
    assert math.isnan(hq(math.nan, normal))
    assert math.isnan(hq(0.5, [("1", 5), ("2", 10)]))  # no +Inf bucket
    assert math.isnan(hq(0.5, [("+Inf", 10)]))  # fewer than two buckets
    assert math.isnan(hq(0.5, [("1", 0), ("+Inf", 0)]))  # no observations
    assert hq(0.99, normal) == 1.0  # rank in the +Inf bucket: highest finite bound
    # non-monotonic counts are fixed (each bucket at least the one below)
    fixed = [(1.0, 10), (2.0, 10), (math.inf, 20)]
    for q in (0.25, 0.5, 0.75):
        assert close(hq(q, [("1", 10), ("2", 4), ("+Inf", 20)]), ref_bucket_quantile(q, fixed))
    # "+inf"/"Inf" and duplicate bounds coalesce; Go float syntax like 1_0 parses
    merged = [(1.0, 4), (10.0, 8), (math.inf, 10)]
    assert close(hq(0.5, [("1.0", 2), ("1", 2), ("1_0", 8), ("+inf", 5), ("Inf", 5)]),
                 ref_bucket_quantile(0.5, merged))
    # a bad le is skipped
    assert close(hq(0.5, [("bogus", 100), ("1", 5), ("+Inf", 10)]), 1.0)


def test_histogram_quantile_groups_by_labels_without_le_and_per_step_presence():
    a = buckets([("1", 5), ("+Inf", 10)], {"job": "a"}, steps=2)
    b = buckets([("1", 1), ("+Inf", 4)], {"job": "b"}, steps=2)
    a[1].present = np.array([True, False])  # job a's +Inf bucket missing at step 1
    out = call("histogram_quantile", ctx_for([0, 1]), [np.full(2, 0.5), a + b])
    by_job = {dict(s.labels)["job"]: s for s in out}
    assert close(float(by_job["a"].vals[0]), 1.0)
    assert math.isnan(float(by_job["a"].vals[1]))
    want_b = ref_bucket_quantile(0.5, [(1.0, 1), (math.inf, 4)])
    assert list(by_job["b"].vals) == [want_b, want_b]


# -- end to end -----------------------------------------------------------------------

def test_functions_through_the_engine():
    from mockprom.promql.engine import Engine
    from mockprom.scenario.store import StaticSource, Store

    store = Store()
    ts = np.arange(0, 600_000, 15_000)
    store.add(make_labels({"__name__": "c", "job": "a"}), StaticSource(ts, ts / 1000.0))
    eng = Engine(store)
    res = eng.instant_query("rate(c[1m])", 300_000).value
    assert len(res.samples) == 1 and close(res.samples[0].value, 1.0)
    assert res.samples[0].labels == (("job", "a"),)
    res = eng.instant_query('label_replace(c, "x", "$1", "job", "(.*)")', 300_000).value
    assert dict(res.samples[0].labels)["x"] == "a"
    res = eng.range_query("rate(c[1m] offset 1m)", 120_000, 300_000, 60_000).value
    assert [round(v, 9) for _, v in res.series[0].points] == [1.0] * 4


def test_function_results_are_fresh_series():
    # a selector's sample timestamps must not leak through a function: Prometheus's
    # timestamp(sort(x)) is the evaluation time
    s = step_series([1.0])
    s.sample_ts = np.array([5])
    for name, args in [("sort", [[s]]), ("sort_desc", [[s]]),
                       ("label_replace", [[s], "a", "b", "job", ".*"]),
                       ("label_join", [[s], "a", ",", "job"])]:
        assert call(name, ctx_for([10]), args)[0].sample_ts is None, name


# -- against a real Prometheus 2.42 ---------------------------------------------------

def _real_data():
    rng = random.Random(7)
    out = []

    def add(labels, samples):
        out.append({"labels": labels, "samples": samples})

    t, v, samples = 7.3, 1000.0, []
    for _ in range(40):
        samples.append([round(t, 3), v])
        t += rng.choice([9.9, 15, 15.001, 30.5, 14])
        v = v + rng.random() * 50 if rng.random() > 0.1 else rng.random() * 5
    add({"__name__": "c", "i": "irregular"}, samples)
    add({"__name__": "g"}, [[10 * k, round(rng.uniform(-5, 5), 3)] for k in range(60)])
    add({"__name__": "k"}, [[0, 1e100], [10, 1.0], [20, -1e100], [30, 3.0]])
    add({"__name__": "sp", "i": "inf"}, [[0, 1], [10, "+Inf"], [20, 3], [30, "-Inf"], [40, 5]])
    add({"__name__": "sp", "i": "nan"}, [[0, 1], [10, "NaN"], [20, 3], [30, 4]])
    for le, c in [("0.1", 5), ("0.5", 3), ("1_0", 8), ("+inf", 6), ("Inf", 1), ("bad", 2)]:
        add({"__name__": "h_bucket", "le": le}, [[0, c], [60, c * 3]])
    add({"__name__": "d", "i": "nan"}, [[0, "NaN"]])
    add({"__name__": "d", "i": "far"}, [[0, 253402300800]])
    add({"__name__": "m", "a": "x-1"}, [[0, -2.5], [30, 0.5]])
    return out


REAL_QUERIES = [
    ("rate(c[1m])", 200), ("increase(c[2m])", 300), ("delta(c[2m])", 290),
    ("irate(c[1m])", 200), ("resets(c[5m])", 400), ("deriv(g[5m])", 590),
    ("predict_linear(g[2m], 100)", 300), ("holt_winters(g[2m], 0.3, 0.6)", 300),
    ("sum_over_time(k[1m])", 30), ("avg_over_time(k[1m])", 30),
    ("stddev_over_time(g[3m])", 300), ("avg_over_time(sp[1m])", 40),
    ("max_over_time(sp[1m])", 40), ("quantile_over_time(0.3, sp[1m])", 40),
    ("histogram_quantile(0.9, h_bucket)", 60), ("histogram_quantile(0.3, h_bucket)", 0),
    ("year(d)", 0), ("day_of_year(d)", 0), ("minute(d)", 0),
    ("round(m, 0.3)", 0), ("clamp(m, -1, NaN)", 0), ("log10(m)", 30),
    ("sin(g)", 100), ("tan(g * 1e10)", 100), ("exp(g)", 200), ("exp(g - 740)", 200),
    ("atan(g)", 300), ("acosh(abs(g) + 1)", 300), ("tanh(g)", 400), ("ln(g)", 400),
    ('label_replace(m, "dst", "${1}x $1x $$ $2", "a", "(x)-(.*)")', 0),
    ('label_join(m, "dst", "-", "a", "__name__")', 0),
    ('absent(nothing{a="1", b=~"x", c="2", c="3"})', 0),
]


def _norm_real(data):
    if data["resultType"] == "scalar":
        return {(): repr(float(data["result"][1]))}
    return {tuple(sorted(s["metric"].items())): repr(float(s["value"][1]))
            for s in data["result"]}


def _norm_mock(value):
    return {tuple(sorted(s.labels)): repr(float(s.value)) for s in value.samples}


@pytest.mark.realprom
def test_functions_agree_bit_for_bit_with_real_prometheus(release):
    import realprom
    import requests

    from mockprom.promql.engine import Engine
    from mockprom.scenario.samples import parse_value
    from mockprom.scenario.store import StaticSource, Store

    data = _real_data()
    store = Store()
    for s in data:
        store.add(make_labels(s["labels"]),
                  StaticSource([int(round(t * 1000)) for t, _ in s["samples"]],
                               [parse_value(v) for _, v in s["samples"]]))
    # 3.5: holt_winters is double_exponential_smoothing, behind the experimental flag
    features = ["promql-experimental-functions"] if release.line == "3.5" else []
    engine = Engine(store, emulation=versions.resolve(release.version, features))
    diffs = []
    with realprom.RealPrometheus(data, line=release.line,
                                 extra_args=[f"--enable-feature={f}" for f in features]) as prom:
        for expr, t in REAL_QUERIES:
            if features:
                expr = expr.replace("holt_winters", "double_exponential_smoothing")
            body = requests.get(prom.url + "/api/v1/query",
                                params={"query": expr, "time": t}, timeout=30).json()
            want = _norm_real(body["data"])
            got = _norm_mock(engine.instant_query(expr, t * 1000).value)
            if want != got:
                diffs.append((expr, t, want, got))
    assert diffs == []


@pytest.mark.parametrize("func", ["rate", "increase", "irate", "changes", "deriv",
                                  "sum_over_time", "avg_over_time", "max_over_time",
                                  "stddev_over_time", "quantile_over_time"])
def test_series_are_independent_of_their_batch(func, monkeypatch):
    import mockprom.promql.functions_windows as fw

    rng = random.Random(4)
    steps = list(range(0, 900_000, 20_000))
    ctx = ctx_for(steps)
    series = []
    for i in range(5):
        ts, vals = random_counter(rng, count=rng.randrange(3, 60))
        series.append(range_series(ts, vals, steps, 90_000, make_labels({"i": str(i)})))

    def run(group):
        args = [group] if func != "quantile_over_time" else [np.full(len(steps), 0.7), group]
        return {s.labels: values_at(s) for s in
                call(func, ctx, args, matrix_call(func, 90_000))}

    alone = {}
    for s in series:
        alone.update(run([s]))
    together = run(series)
    monkeypatch.setattr(fw, "LANES_PER_BATCH", 2 * len(steps))  # two series per batch
    assert together == alone == run(series)


def test_payne_hanek_reduction_vectorised_matches_big_integer_version():
    from mockprom.promql.functions_gomath import trig_reduce, trig_reduce_many

    rng = np.random.default_rng(3)
    xs = np.concatenate([2.0 ** 29 + rng.uniform(0, 1e9, 300), 10 ** rng.uniform(8.8, 308, 700),
                         [2.0 ** 29, 1.7976931348623157e308]])
    j, z = trig_reduce_many(xs)
    for i, x in enumerate(xs):
        assert (int(j[i]), float(z[i])) == trig_reduce(float(x))
