"""Functions of a range vector: ``rate``/``increase``/``delta`` (extrapolated),
``irate``/``idelta``, ``changes``, ``resets``, ``deriv``, ``predict_linear``,
``holt_winters`` and the ``*_over_time`` family.

Each input ``RangeSeries`` gives one output series, present at the steps whose window
holds enough samples (one for most, two for rate-like functions). Only
``last_over_time`` keeps the metric name (Prometheus 2.42).

Windows are processed for all steps at once. Sequential algorithms (Kahan sums, Welford,
Holt-Winters) advance "column by column": the k-th sample of every window at once, so
results are bit-for-bit those of Prometheus's per-window loops.
"""

from __future__ import annotations

import math

import numpy as np

from mockprom.promql import nodes as n
from mockprom.promql.errors import EvalError
from mockprom.promql.functions import register
from mockprom.promql.selectors import reference_times
from mockprom.promql.series import drop_name
from mockprom.promql.steps import EvalContext, RangeSeries, StepSeries


# -- helpers --------------------------------------------------------------------------

def unwrap(expr):
    while isinstance(expr, n.ParenExpr):
        expr = expr.expr
    return expr


def range_bounds(ctx: EvalContext, arg) -> tuple[np.ndarray, np.ndarray, int]:
    """Per step, Prometheus's ``rangeStart``/``rangeEnd`` of a matrix argument (a range
    selector or a subquery), and its range in ms."""
    arg = unwrap(arg)
    if isinstance(arg, n.MatrixSelector):
        vs = arg.selector
        end = reference_times(ctx, vs.offset_ms, vs.at_ms, vs.at_edge)
        rng = arg.range_ms
    elif isinstance(arg, n.SubqueryExpr):
        end = reference_times(ctx, arg.offset_ms, arg.at_ms, arg.at_edge)
        rng = arg.range_ms
    else:  # not reachable through the parser; behave as a plain window at the step
        end = np.asarray(ctx.steps, dtype=np.int64)
        rng = 0
    return end - np.int64(rng), end, rng


def go_seconds(ms: int) -> float:
    """``time.Duration.Seconds()`` of a duration given in ms."""
    nanos = int(ms) * 1_000_000
    sec, rem = int(nanos / 1_000_000_000), nanos - int(nanos / 1_000_000_000) * 1_000_000_000
    return float(sec) + float(rem) / 1e9


def counts(rs: RangeSeries) -> np.ndarray:
    return (rs.hi - rs.lo).astype(np.int64)


def columns(rs: RangeSeries, start: int = 0):
    """Yield ``(active, idx)`` for k = start, start+1, ...: the steps whose window has a
    k-th sample, and that sample's index (clipped where inactive)."""
    cnt = counts(rs)
    if len(cnt) == 0:
        return
    last = max(len(rs.vals) - 1, 0)
    for k in range(start, int(cnt.max())):
        active = cnt > k
        idx = np.minimum(rs.lo + k, last)
        yield active, idx


def kahan_inc(inc, total, c):
    """Neumaier-compensated ``total + inc`` (Prometheus's ``kahanSumInc``), vectorised."""
    t = total + inc
    big = np.abs(total) >= np.abs(inc)
    c = c + np.where(big, (total - t) + inc, (inc - t) + total)
    return t, c


def out_series(rs: RangeSeries, vals, present, keep_name: bool = False) -> StepSeries:
    labels = rs.labels if keep_name else drop_name(rs.labels)
    return StepSeries(labels, np.asarray(vals, dtype=np.float64), np.asarray(present, bool))


def per_series(args, fn, min_samples: int = 1, keep_name: bool = False):
    """Apply ``fn(rs, cnt) -> values`` to each range series; present where the window
    holds at least ``min_samples`` samples."""
    out = []
    with np.errstate(all="ignore"):
        for rs in args:
            cnt = counts(rs)
            present = cnt >= min_samples
            if not present.any():
                continue
            out.append(out_series(rs, fn(rs, cnt), present, keep_name))
    return out


def first_last(rs: RangeSeries, cnt):
    n_vals = len(rs.vals)
    if n_vals == 0:
        z = np.zeros(len(cnt))
        return z, z, np.zeros(len(cnt), np.int64), np.zeros(len(cnt), np.int64)
    lo = np.minimum(rs.lo, n_vals - 1)
    hi1 = np.clip(rs.hi - 1, 0, n_vals - 1)
    return rs.vals[lo], rs.vals[hi1], rs.ts[lo], rs.ts[hi1]


# -- rate, increase, delta ------------------------------------------------------------

def counter_increase(rs: RangeSeries, cnt: np.ndarray, result: np.ndarray) -> np.ndarray:
    """``last - first`` plus, for each counter reset inside the window, the value before
    it, added in window order as Prometheus does: the j-th reset of every window at once."""
    v = rs.vals
    if len(v) < 2:
        return result
    resets = np.flatnonzero(v[1:] < v[:-1]) + 1  # sample j is below sample j - 1
    if len(resets) == 0:
        return result
    first = np.searchsorted(resets, rs.lo + 1, side="left")
    stop = np.searchsorted(resets, rs.hi, side="left")
    n_resets = np.where(cnt >= 2, stop - first, 0)
    acc = result.copy()
    for k in range(int(n_resets.max())):
        active = n_resets > k
        pos = resets[np.minimum(first + k, len(resets) - 1)]
        acc = np.where(active, acc + v[pos - 1], acc)
    return acc


def extrapolated_rate(ctx, args, call, is_counter: bool, is_rate: bool):
    """Prometheus 2.42's ``extrapolatedRate``, for every step at once."""
    range_start, range_end, rng = range_bounds(ctx, call.args[0])
    range_seconds = go_seconds(rng)
    out = []
    with np.errstate(all="ignore"):
        for rs in args[0]:
            cnt = counts(rs)
            present = cnt >= 2
            if not present.any():
                continue
            first, last, first_t, last_t = first_last(rs, cnt)
            result = last - first
            if is_counter:
                result = counter_increase(rs, cnt, result)
            duration_to_start = (first_t - range_start).astype(np.float64) / 1000
            duration_to_end = (range_end - last_t).astype(np.float64) / 1000
            sampled = (last_t - first_t).astype(np.float64) / 1000
            avg = sampled / (cnt - 1).astype(np.float64)
            if is_counter:
                to_zero = sampled * (first / result)
                use_zero = (result > 0) & (first >= 0) & (to_zero < duration_to_start)
                duration_to_start = np.where(use_zero, to_zero, duration_to_start)
            threshold = avg * 1.1
            interval = sampled + np.where(duration_to_start < threshold, duration_to_start,
                                          avg / 2)
            interval = interval + np.where(duration_to_end < threshold, duration_to_end,
                                           avg / 2)
            factor = interval / sampled
            if is_rate:
                factor = factor / range_seconds
            out.append(out_series(rs, result * factor, present))
    return out


@register("rate", ("matrix",))
def rate(ctx, args, call):
    return extrapolated_rate(ctx, args, call, True, True)


@register("increase", ("matrix",))
def increase(ctx, args, call):
    return extrapolated_rate(ctx, args, call, True, False)


@register("delta", ("matrix",))
def delta(ctx, args, call):
    return extrapolated_rate(ctx, args, call, False, False)


def instant_value(args, is_rate: bool):
    """``irate``/``idelta``: from the last two samples of each window."""
    out = []
    with np.errstate(all="ignore"):
        for rs in args[0]:
            cnt = counts(rs)
            present = cnt >= 2
            if not present.any():
                continue
            last_i = np.clip(rs.hi - 1, 1, max(len(rs.vals) - 1, 1))
            last, prev = rs.vals[last_i], rs.vals[last_i - 1]
            dt = rs.ts[last_i] - rs.ts[last_i - 1]
            if is_rate:
                result = np.where(last < prev, last, last - prev)
                result = result / (dt.astype(np.float64) / 1000)
            else:
                result = last - prev
            out.append(out_series(rs, result, present & (dt != 0)))
    return out


@register("irate", ("matrix",))
def irate(ctx, args, call):
    return instant_value(args, True)


@register("idelta", ("matrix",))
def idelta(ctx, args, call):
    return instant_value(args, False)


# -- counting changes -----------------------------------------------------------------

def _pair_counts(rs: RangeSeries, cnt, pair_flags: np.ndarray) -> np.ndarray:
    """Per window, how many adjacent sample pairs inside it have ``pair_flags[j]`` set
    (flag j concerns samples j-1 and j)."""
    prefix = np.concatenate([[0], np.cumsum(pair_flags)])
    lo = rs.lo.astype(np.int64)
    hi = rs.hi.astype(np.int64)
    # pairs (j-1, j) with lo < j < hi
    return np.where(cnt >= 1, prefix[np.maximum(hi, lo)] - prefix[np.minimum(lo + 1, hi)], 0)


@register("changes", ("matrix",))
def changes(ctx, args, call):
    def fn(rs, cnt):
        v = rs.vals
        flags = np.zeros(len(v), dtype=np.int64)
        if len(v) > 1:
            cur, prev = v[1:], v[:-1]
            flags[1:] = (cur != prev) & ~(np.isnan(cur) & np.isnan(prev))
        return _pair_counts(rs, cnt, flags).astype(np.float64)

    return per_series(args[0], fn)


@register("resets", ("matrix",))
def resets(ctx, args, call):
    def fn(rs, cnt):
        v = rs.vals
        flags = np.zeros(len(v), dtype=np.int64)
        if len(v) > 1:
            flags[1:] = v[1:] < v[:-1]
        return _pair_counts(rs, cnt, flags).astype(np.float64)

    return per_series(args[0], fn)


# -- linear regression ----------------------------------------------------------------

def linear_regression(rs: RangeSeries, cnt, intercept_t: np.ndarray):
    """Prometheus's ``linearRegression`` (Kahan-compensated least squares) per window,
    with ``x = (t - intercept_t) / 1000``. The four sums (x, y, xy, x²) advance together
    as one (4, steps) array; steps past their window's end add zeros, a no-op."""
    size = len(cnt)
    sums = np.zeros((4, size))
    comp = np.zeros((4, size))
    first, _, _, _ = first_last(rs, cnt)
    const_y = np.ones(size, dtype=bool)
    for active, idx in columns(rs):
        y = rs.vals[idx]
        x = (rs.ts[idx] - intercept_t).astype(np.float64) / 1e3
        const_y &= ~(active & (y != first))
        x = np.where(active, x, 0.0)
        y = np.where(active, y, 0.0)
        inc = np.stack([x, y, x * y, x * x])
        t = sums + inc
        comp += np.where(np.abs(sums) >= np.abs(inc), (sums - t) + inc, (inc - t) + sums)
        sums = t
    sum_x, sum_y, sum_xy, sum_x2 = sums + comp
    nn = cnt.astype(np.float64)
    cov_xy = sum_xy - sum_x * sum_y / nn
    var_x = sum_x2 - sum_x * sum_x / nn
    slope = cov_xy / var_x
    intercept = sum_y / nn - slope * sum_x / nn
    const_inf = const_y & np.isinf(first)
    slope = np.where(const_y, np.where(const_inf, np.nan, 0.0), slope)
    intercept = np.where(const_y, np.where(const_inf, np.nan, first), intercept)
    return slope, intercept


@register("deriv", ("matrix",))
def deriv(ctx, args, call):
    def fn(rs, cnt):
        first_t = rs.ts[np.minimum(rs.lo, max(len(rs.ts) - 1, 0))]
        return linear_regression(rs, cnt, first_t)[0]

    return per_series(args[0], fn, min_samples=2)


@register("predict_linear", ("matrix", "scalar"))
def predict_linear(ctx, args, call):
    duration = np.asarray(args[1], dtype=np.float64)
    steps = np.asarray(ctx.steps, dtype=np.int64)

    def fn(rs, cnt):
        slope, intercept = linear_regression(rs, cnt, steps)
        return slope * duration + intercept

    return per_series(args[0], fn, min_samples=2)


# -- holt_winters ---------------------------------------------------------------------

def _go_f(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.6f}"


@register("holt_winters", ("matrix", "scalar", "scalar"))
def holt_winters(ctx, args, call):
    """Double exponential smoothing; smoothing factor ``sf`` and trend factor ``tf``
    must lie strictly between 0 and 1 (checked where a window has samples)."""
    sf = np.asarray(args[1], dtype=np.float64)
    tf = np.asarray(args[2], dtype=np.float64)
    evaluated = np.zeros(ctx.n, dtype=bool)
    for rs in args[0]:
        evaluated |= counts(rs) >= 1
    bad_sf = evaluated & ((sf <= 0) | (sf >= 1))
    if bad_sf.any():
        v = float(sf[np.flatnonzero(bad_sf)[0]])
        raise EvalError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {_go_f(v)}")
    bad_tf = evaluated & ((tf <= 0) | (tf >= 1))
    if bad_tf.any():
        v = float(tf[np.flatnonzero(bad_tf)[0]])
        raise EvalError(f"invalid trend factor. Expected: 0 < tf < 1, got: {_go_f(v)}")

    def fn(rs, cnt):
        size = len(cnt)
        v0 = rs.vals[np.minimum(rs.lo, len(rs.vals) - 1)]
        v1 = rs.vals[np.minimum(rs.lo + 1, len(rs.vals) - 1)]
        s0 = np.zeros(size)
        s1 = v0.copy()
        b = v1 - v0
        for k, (active, idx) in enumerate(columns(rs, start=1), start=1):
            x = sf * rs.vals[idx]
            if k - 1 == 0:
                nb = b
            else:
                nb = tf * (s1 - s0) + (1 - tf) * b
            y = (1 - sf) * (s1 + nb)
            b = np.where(active, nb, b)
            s0, s1 = np.where(active, s1, s0), np.where(active, x + y, s1)
        return s1

    return per_series(args[0], fn, min_samples=2)


# -- *_over_time ----------------------------------------------------------------------

@register("count_over_time", ("matrix",))
def count_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: cnt.astype(np.float64))


@register("present_over_time", ("matrix",))
def present_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: np.ones(len(cnt)))


@register("last_over_time", ("matrix",))
def last_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: first_last(rs, cnt)[1], keep_name=True)


def padded_columns(rs: RangeSeries, pad: float):
    """Like ``columns`` but over ``vals`` with ``pad`` appended: steps whose window has
    no k-th sample read the pad (for algorithms where the pad is a no-op)."""
    cnt = counts(rs)
    vals = np.append(rs.vals, pad)
    pad_idx = len(rs.vals)
    lo = rs.lo.astype(np.int64)
    for k in range(int(cnt.max()) if len(cnt) else 0):
        yield vals[np.where(cnt > k, lo + k, pad_idx)]


@register("sum_over_time", ("matrix",))
def sum_over_time(ctx, args, call):
    """Kahan-Neumaier sum per window; adding the 0.0 pad changes neither sum nor
    compensation that matters (an infinite sum ignores the compensation)."""

    def fn(rs, cnt):
        total = np.zeros(len(cnt))
        c = np.zeros(len(cnt))
        for v in padded_columns(rs, 0.0):
            t = total + v
            c = c + np.where(np.abs(total) >= np.abs(v), (total - t) + v, (v - t) + total)
            total = t
        return np.where(np.isinf(total), total, total + c)

    return per_series(args[0], fn)


@register("avg_over_time", ("matrix",))
def avg_over_time(ctx, args, call):
    """Prometheus's incremental, Kahan-compensated mean with its Inf special cases."""

    def fn(rs, cnt):
        size = len(cnt)
        mean = np.zeros(size)
        c = np.zeros(size)
        finite = bool(np.all(np.abs(rs.vals) < 1e300))  # no Inf/NaN can arise
        for k, v in enumerate(padded_columns(rs, 0.0)):
            active = cnt > k
            count = np.minimum(cnt, k + 1).astype(np.float64)
            inc = v / count - mean / count
            if finite:
                inc = np.where(active, inc, 0.0)  # adding 0 is a no-op for finite sums
            else:
                mean_inf = np.isinf(mean)
                skip = mean_inf & ((np.isinf(v) & ((mean > 0) == (v > 0)))
                                   | (~np.isinf(v) & ~np.isnan(v)))
                upd = active & ~skip
            t = mean + inc
            nc = c + np.where(np.abs(mean) >= np.abs(inc), (mean - t) + inc, (inc - t) + mean)
            if finite:
                mean, c = t, nc
            else:
                mean, c = np.where(upd, t, mean), np.where(upd, nc, c)
        return np.where(np.isinf(mean), mean, mean + c)

    return per_series(args[0], fn)


def _variance(rs, cnt):
    size = len(cnt)
    count = np.zeros(size)
    mean = c_mean = aux = c_aux = np.zeros(size)
    for active, idx in columns(rs):
        v = rs.vals[idx]
        count = np.where(active, count + 1, count)
        d = v - (mean + c_mean)
        m, cm = kahan_inc(d / count, mean, c_mean)
        a, ca = kahan_inc(d * (v - (m + cm)), aux, c_aux)
        mean, c_mean = np.where(active, m, mean), np.where(active, cm, c_mean)
        aux, c_aux = np.where(active, a, aux), np.where(active, ca, c_aux)
    return (aux + c_aux) / count


@register("stdvar_over_time", ("matrix",))
def stdvar_over_time(ctx, args, call):
    return per_series(args[0], _variance)


@register("stddev_over_time", ("matrix",))
def stddev_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: np.sqrt(_variance(rs, cnt)))


def _minmax(rs, cnt, take_max: bool):
    """Go's loop ``if v > max || isNaN(max) { max = v }``; the NaN pad is a no-op."""
    first, _, _, _ = first_last(rs, cnt)
    best = first.copy()
    for v in padded_columns(rs, np.nan):
        better = (v > best) if take_max else (v < best)
        best = np.where(better | np.isnan(best), v, best)
    return best


@register("max_over_time", ("matrix",))
def max_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: _minmax(rs, cnt, True))


@register("min_over_time", ("matrix",))
def min_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: _minmax(rs, cnt, False))


def window_matrix(rs: RangeSeries, rows: np.ndarray, pad: float) -> np.ndarray:
    """The windows of steps ``rows`` as a 2-D array, one row per step, padded."""
    cnt = counts(rs)[rows]
    width = int(cnt.max()) if len(rows) else 0
    vals = np.append(rs.vals, pad)
    k = np.arange(width)
    idx = np.where(k[None, :] < cnt[:, None], rs.lo[rows][:, None] + k[None, :], len(rs.vals))
    return vals[idx]


def window_quantiles(q: np.ndarray, rs: RangeSeries, cnt: np.ndarray) -> np.ndarray:
    """``quantile`` of every window at once: rows sorted with NaN first (Prometheus's
    ``vectorByValueHeap`` order), then linear interpolation between closest ranks."""
    res = np.full(len(cnt), np.nan)
    steps = np.flatnonzero(cnt)
    width = int(cnt.max()) if len(steps) else 0
    chunk = max(1, 2_000_000 // max(width, 1))
    for at in range(0, len(steps), chunk):
        rows = steps[at:at + chunk]
        w = window_matrix(rs, rows, np.inf)
        nan = np.isnan(w)
        n_nan = nan.sum(axis=1)
        w = np.sort(np.where(nan, -np.inf, w), axis=1)
        w[np.arange(w.shape[1])[None, :] < n_nan[:, None]] = np.nan
        size = cnt[rows].astype(np.float64)
        qq = q[rows]
        rank = qq * (size - 1)
        lower = np.maximum(0.0, np.floor(rank))
        upper = np.minimum(size - 1, lower + 1)
        weight = rank - np.floor(rank)
        li = np.clip(np.nan_to_num(lower), 0, size - 1).astype(np.int64)
        ui = np.clip(np.nan_to_num(upper), 0, size - 1).astype(np.int64)
        r = np.arange(len(rows))
        val = w[r, li] * (1 - weight) + w[r, ui] * weight
        val = np.where(qq < 0, -np.inf, np.where(qq > 1, np.inf, val))
        res[rows] = np.where(np.isnan(qq), np.nan, val)
    return res


@register("quantile_over_time", ("scalar", "matrix"))
def quantile_over_time(ctx, args, call):
    q = np.asarray(args[0], dtype=np.float64)
    return per_series(args[1], lambda rs, cnt: window_quantiles(q, rs, cnt))
