"""Trends of a range vector: ``deriv``, ``predict_linear`` (Kahan-compensated least
squares) and ``holt_winters`` / ``double_exponential_smoothing``. All drop the metric
name."""

from __future__ import annotations

import numpy as np

from mockprom.gofloat import format_prec
from mockprom.promql.errors import EvalError
from mockprom.promql.functions import register
from mockprom.promql.functions_windows import (
    RangeSeries, columns, counts, first_last, kahan_inc, per_series)


def linear_regression(rs: RangeSeries, cnt, intercept_t: np.ndarray, resets: bool = False):
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
        sums, comp = kahan_inc(inc, sums, comp, resets)
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
        return linear_regression(rs, cnt, first_t, ctx.rules.compensated_sums)[0]

    return per_series(args[0], fn, min_samples=2)


@register("predict_linear", ("matrix", "scalar"))
def predict_linear(ctx, args, call):
    duration = np.asarray(args[1], dtype=np.float64)
    steps = np.asarray(ctx.steps, dtype=np.int64)

    def fn(rs, cnt):
        slope, intercept = linear_regression(rs, cnt, steps[rs.step],
                                             ctx.rules.compensated_sums)
        return slope * duration[rs.step] + intercept

    return per_series(args[0], fn, min_samples=2)


# -- holt_winters ---------------------------------------------------------------------

@register("holt_winters", ("matrix", "scalar", "scalar"))
@register("double_exponential_smoothing", ("matrix", "scalar", "scalar"))
def holt_winters(ctx, args, call):
    """Double exponential smoothing (2.42's ``holt_winters``, renamed
    ``double_exponential_smoothing`` in 3.x); smoothing factor ``sf`` and trend factor
    ``tf`` must lie strictly between 0 and 1 (checked where a window has samples)."""
    sf = np.asarray(args[1], dtype=np.float64)
    tf = np.asarray(args[2], dtype=np.float64)
    bad_sf = (sf <= 0) | (sf >= 1)
    bad_tf = (tf <= 0) | (tf >= 1)
    for rs in args[0]:  # Prometheus checks series by series, step by step
        bad = np.flatnonzero((counts(rs) >= 1) & (bad_sf | bad_tf))
        if len(bad):
            i = bad[0]
            if bad_sf[i]:
                raise EvalError("invalid smoothing factor. Expected: 0 < sf < 1, "
                                f"got: {format_prec(sf[i], 'f', 6)}")
            raise EvalError("invalid trend factor. Expected: 0 < tf < 1, "
                            f"got: {format_prec(tf[i], 'f', 6)}")

    def fn(rs, cnt):
        size = len(cnt)
        sf_l, tf_l = sf[rs.step], tf[rs.step]
        v0 = rs.vals[np.minimum(rs.lo, len(rs.vals) - 1)]
        v1 = rs.vals[np.minimum(rs.lo + 1, len(rs.vals) - 1)]
        s0 = np.zeros(size)
        s1 = v0.copy()
        b = v1 - v0
        for k, (active, idx) in enumerate(columns(rs, start=1), start=1):
            x = sf_l * rs.vals[idx]
            if k - 1 == 0:
                nb = b
            else:
                nb = tf_l * (s1 - s0) + (1 - tf_l) * b
            y = (1 - sf_l) * (s1 + nb)
            b = np.where(active, nb, b)
            s0, s1 = np.where(active, s1, s0), np.where(active, x + y, s1)
        return s1

    return per_series(args[0], fn, min_samples=2)
