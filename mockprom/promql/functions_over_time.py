"""The ``*_over_time`` functions: one value per window, present where the window holds
a sample. Only ``last_over_time`` keeps the metric name. ``avg_over_time`` is 2.42's
incremental mean or 3.x's compensated sum divided at the end
(``EvalRules.compensated_sums``)."""

from __future__ import annotations

import numpy as np

from mockprom.promql import annotations
from mockprom.promql.aggregations import distinct
from mockprom.promql.functions import register
from mockprom.promql.quantile import interpolate
from mockprom.promql.functions_windows import (
    RangeSeries, columns, first_last, kahan_inc, padded_columns, per_series, window_matrix)


@register("count_over_time", ("matrix",))
def count_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: cnt.astype(np.float64))


@register("present_over_time", ("matrix",))
def present_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: np.ones(len(cnt)))


@register("last_over_time", ("matrix",), drops_name=False)
def last_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: first_last(rs, cnt)[1])


@register("sum_over_time", ("matrix",))
def sum_over_time(ctx, args, call):
    """Kahan-Neumaier sum per window; adding the 0.0 pad changes neither sum nor
    compensation that matters (an infinite sum ignores the compensation)."""

    resets = ctx.rules.compensated_sums

    def fn(rs, cnt):
        total = np.zeros(len(cnt))
        c = np.zeros(len(cnt))
        for v in padded_columns(rs, 0.0):
            total, c = kahan_inc(v, total, c, inf_resets=resets)
        return np.where(np.isinf(total), total, total + c)

    return per_series(args[0], fn)


@register("avg_over_time", ("matrix",))
def avg_over_time(ctx, args, call):
    """2.42: an incremental, Kahan-compensated mean with its Inf special cases. 3.x:
    a compensated sum divided by the count, switching to a compensated incremental
    mean only where the sum would overflow."""
    if ctx.rules.compensated_sums:
        return per_series(args[0], _direct_mean)

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


def _direct_mean(rs, cnt):
    """Prometheus 3's ``avg_over_time`` of every window (``funcAvgOverTime``)."""
    size = len(cnt)
    total = np.zeros(size)
    c = np.zeros(size)
    mean = np.zeros(size)
    incremental = np.zeros(size, dtype=bool)
    for k, (active, idx) in enumerate(columns(rs)):
        v = rs.vals[idx]
        if k == 0:
            total = np.where(active, v, total)
            continue
        count = float(k + 1)
        summing = active & ~incremental
        t, nc = kahan_inc(v, total, c, inf_resets=True)
        keep = summing & ~np.isinf(t)
        total, c = np.where(keep, t, total), np.where(keep, nc, c)
        switch = summing & np.isinf(t)
        mean = np.where(switch, total / (count - 1), mean)
        c = np.where(switch, c / (count - 1), c)
        incremental |= switch
        step = active & incremental
        q = (count - 1) / count
        t, nc = kahan_inc(v / count, q * mean, q * c, inf_resets=True)
        mean, c = np.where(step, t, mean), np.where(step, nc, c)
    n = cnt.astype(np.float64)
    return np.where(incremental, mean + c, total / n + c / n)


def _variance(rs, cnt, resets: bool = False):
    size = len(cnt)
    count = np.zeros(size)
    mean = c_mean = aux = c_aux = np.zeros(size)
    for active, idx in columns(rs):
        v = rs.vals[idx]
        count = np.where(active, count + 1, count)
        d = v - (mean + c_mean)
        m, cm = kahan_inc(d / count, mean, c_mean, resets)
        a, ca = kahan_inc(d * (v - (m + cm)), aux, c_aux, resets)
        mean, c_mean = np.where(active, m, mean), np.where(active, cm, c_mean)
        aux, c_aux = np.where(active, a, aux), np.where(active, ca, c_aux)
    return (aux + c_aux) / count


@register("stdvar_over_time", ("matrix",))
def stdvar_over_time(ctx, args, call):
    resets = ctx.rules.compensated_sums
    return per_series(args[0], lambda rs, cnt: _variance(rs, cnt, resets))


@register("stddev_over_time", ("matrix",))
def stddev_over_time(ctx, args, call):
    resets = ctx.rules.compensated_sums
    return per_series(args[0], lambda rs, cnt: np.sqrt(_variance(rs, cnt, resets)))


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


def row_quantiles(w: np.ndarray, q: np.ndarray, n: np.ndarray) -> np.ndarray:
    """``quantile`` of each row of ``w`` (its first ``n`` values; the padding is +Inf):
    sorted with NaN first (Prometheus's ``vectorByValueHeap`` order), then linear
    interpolation between closest ranks."""
    nan = np.isnan(w)
    n_nan = nan.sum(axis=1)
    w = np.sort(np.where(nan, -np.inf, w), axis=1)
    w[np.arange(w.shape[1])[None, :] < n_nan[:, None]] = np.nan
    return np.where(np.isnan(q), np.nan, interpolate(w, q, n))


def window_quantiles(q: np.ndarray, rs: RangeSeries, cnt: np.ndarray) -> np.ndarray:
    """``quantile`` of every window at once (``row_quantiles`` by chunks of steps)."""
    res = np.full(len(cnt), np.nan)
    steps = np.flatnonzero(cnt)
    width = int(cnt.max()) if len(steps) else 0
    chunk = max(1, 2_000_000 // max(width, 1))
    for at in range(0, len(steps), chunk):
        rows = steps[at:at + chunk]
        w = window_matrix(rs, rows, np.inf)
        res[rows] = row_quantiles(w, q[rows], cnt[rows].astype(np.float64))
    return res


@register("quantile_over_time", ("scalar", "matrix"))
def quantile_over_time(ctx, args, call):
    q = np.asarray(args[0], dtype=np.float64)
    out = per_series(args[1], lambda rs, cnt: window_quantiles(q[rs.step], rs, cnt))
    if out:  # Prometheus 3 warns where a window was computed with a bad quantile
        computed = np.zeros(ctx.n, dtype=bool)
        for s in out:
            computed |= s.present
        bad = computed & (np.isnan(q) | (q < 0) | (q > 1))
        for v in distinct(q[bad]):
            ctx.warn(annotations.invalid_quantile(v), annotations.arg_pos(call, 0))
    return out


@register("mad_over_time", ("matrix",))
def mad_over_time(ctx, args, call):
    """The median absolute deviation of each window from its median."""
    def fn(rs, cnt):
        res = np.full(len(cnt), np.nan)
        steps = np.flatnonzero(cnt)
        width = int(cnt.max()) if len(steps) else 0
        chunk = max(1, 2_000_000 // max(width, 1))
        half = np.full(len(cnt), 0.5)
        for at in range(0, len(steps), chunk):
            rows = steps[at:at + chunk]
            n = cnt[rows].astype(np.float64)
            w = window_matrix(rs, rows, np.inf)
            median = row_quantiles(w, half[rows], n)
            dev = np.abs(w - median[:, None])
            dev[np.arange(w.shape[1])[None, :] >= cnt[rows][:, None]] = np.inf
            res[rows] = row_quantiles(dev, half[rows], n)
        return res

    return per_series(args[0], fn)


def _ts_of_extreme(rs, cnt, take_max: bool):
    """``compareOverTime`` returning the timestamp: the last sample reaching the
    maximum (minimum); a NaN best so far is always replaced."""
    first, _, first_t, _ = first_last(rs, cnt)
    best, best_t = first.copy(), first_t.copy()
    for active, idx in columns(rs):
        v = rs.vals[idx]
        better = (v >= best) if take_max else (v <= best)
        upd = active & (better | np.isnan(best))
        best = np.where(upd, v, best)
        best_t = np.where(upd, rs.ts[idx], best_t)
    return best_t.astype(np.float64) / 1000


@register("ts_of_max_over_time", ("matrix",))
def ts_of_max_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: _ts_of_extreme(rs, cnt, True))


@register("ts_of_min_over_time", ("matrix",))
def ts_of_min_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: _ts_of_extreme(rs, cnt, False))


@register("ts_of_last_over_time", ("matrix",))
def ts_of_last_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: first_last(rs, cnt)[3].astype(np.float64) / 1000)
