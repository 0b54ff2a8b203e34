"""The ``*_over_time`` functions: one value per window, present where the window holds
a sample. Only ``last_over_time`` keeps the metric name (Prometheus 2.42)."""

from __future__ import annotations

import numpy as np

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


@register("last_over_time", ("matrix",))
def last_over_time(ctx, args, call):
    return per_series(args[0], lambda rs, cnt: first_last(rs, cnt)[1], keep_name=True)


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
        qq = q[rows]
        val = interpolate(w, qq, cnt[rows].astype(np.float64))
        res[rows] = np.where(np.isnan(qq), np.nan, val)
    return res


@register("quantile_over_time", ("scalar", "matrix"))
def quantile_over_time(ctx, args, call):
    q = np.asarray(args[0], dtype=np.float64)
    return per_series(args[1], lambda rs, cnt: window_quantiles(q[rs.step], rs, cnt))
