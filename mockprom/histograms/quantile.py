"""Quantiles, fractions and spread of native histograms, as Prometheus 3.5 computes them
(``promql/quantile.go`` ``HistogramQuantile``/``HistogramFraction`` and the
``histogram_stddev``/``histogram_stdvar`` functions of ``promql/functions.go``).

Exponential buckets interpolate on a logarithmic scale (``math.Log2``/``math.Exp2`` of
Go, reproduced bit for bit), custom buckets and the zero bucket linearly. Results come
with the names of the info annotations Prometheus attaches (``NAN_RESULT``,
``NAN_SKEW``, ``FRACTION_NANS``); the caller words them.
"""

from __future__ import annotations

import math
from typing import List, Tuple

import numpy as np

from mockprom.histograms.float_histogram import FloatHistogram
from mockprom.promql.functions_gomath import go_log2

NAN_RESULT = "nan_result"  # input to histogram_quantile has NaN observations, result is NaN
NAN_SKEW = "nan_skew"  # ... result is skewed higher
FRACTION_NANS = "fraction_nans"  # input to histogram_fraction has NaN observations ...

_INF = math.inf

# Go's math.Exp2 on amd64 is the pure-Go routine (exp.go: exp2 and expmulti).
_LN2HI = 6.93147180369123816490e-01
_LN2LO = 1.90821492927058770002e-10
_EXP2_OVERFLOW = 1.0239999999999999e+03
_EXP2_UNDERFLOW = -1.0740e+03
_P1 = 1.66666666666666657415e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08


def go_exp2(x):
    """Go's ``math.Exp2`` (amd64: pure Go), vectorised over a float64 array."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        xs = np.where(np.isfinite(x), x, 0.0)
        k = np.where(xs > 0, np.trunc(xs + 0.5), np.where(xs < 0, np.trunc(xs - 0.5), 0.0))
        t = xs - k
        hi = t * _LN2HI
        lo = -t * _LN2LO
        r = hi - lo
        tt = r * r
        c = r - tt * (_P1 + tt * (_P2 + tt * (_P3 + tt * (_P4 + tt * _P5))))
        y = 1 - ((lo - (r * c) / (2 - c)) - hi)
        res = np.ldexp(y, np.clip(k, -2000, 2000).astype(np.int64))
    res = np.where(x > _EXP2_OVERFLOW, np.inf, res)
    res = np.where(x < _EXP2_UNDERFLOW, 0.0, res)
    res = np.where(x == -np.inf, 0.0, res)
    return np.where(np.isnan(x) | (x == np.inf), x, res)


def _log2(v: float) -> float:
    return float(go_log2(np.array([v]))[0])


def _exp2(v: float) -> float:
    return float(go_exp2(np.array([v]))[0])


def histogram_quantile(q: float, h: FloatHistogram) -> Tuple[float, List[str]]:
    """Prometheus's ``HistogramQuantile``: the q-quantile of ``h`` and the info
    annotations (``NAN_RESULT``/``NAN_SKEW``) it raises."""
    if q < 0:
        return -_INF, []
    if q > 1:
        return _INF, []
    if h.count == 0 or q != q:
        return math.nan, []
    infos: List[str] = []
    forward = h.sum != h.sum or q < 0.5
    if forward:
        it = h.all_bucket_iterator()
        rank = q * h.count
    else:
        it = h.all_reverse_bucket_iterator()
        rank = (1 - q) * h.count
    count = 0.0
    bucket = None
    for bucket in it:
        if bucket.count == 0:
            continue
        count += bucket.count
        if count >= rank:
            break
    if bucket is None:  # no bucket at all: Go works on a zero Bucket
        from mockprom.histograms.float_histogram import Bucket
        bucket = Bucket(0.0, 0.0, False, False, 0.0)
    custom = h.uses_custom_buckets()
    if not custom and bucket.lower < 0 and bucket.upper > 0:
        if not h.negative_buckets and h.positive_buckets:
            bucket.lower = 0.0
        elif not h.positive_buckets and h.negative_buckets:
            bucket.upper = 0.0
    elif custom:
        if bucket.lower == -_INF:
            if bucket.upper <= 0:
                return bucket.upper, infos
            bucket.lower = 0.0
        elif bucket.upper == _INF:
            return bucket.lower, infos
    if count > h.count:
        count = h.count
    if count < rank:
        if h.sum != h.sum:
            return math.nan, [NAN_RESULT]
        return bucket.upper, infos
    if forward:
        rank -= count - bucket.count
    else:
        rank = count - rank
    if h.sum != h.sum:
        for b in it:
            count += b.count
        if count < h.count:
            infos.append(NAN_SKEW)
    fraction = rank / bucket.count if bucket.count != 0 else _nan_div(rank)
    if custom or (bucket.lower <= 0 and bucket.upper >= 0):
        return bucket.lower + (bucket.upper - bucket.lower) * fraction, infos
    log_lower = _log2(abs(bucket.lower))
    log_upper = _log2(abs(bucket.upper))
    if bucket.lower > 0:
        return _exp2(log_lower + (log_upper - log_lower) * fraction), infos
    return -_exp2(log_upper + (log_lower - log_upper) * (1 - fraction)), infos


def _nan_div(a: float) -> float:
    if a == 0 or a != a:
        return math.nan
    return math.copysign(_INF, a)


def histogram_fraction(lower: float, upper: float, h: FloatHistogram) -> Tuple[float, List[str]]:
    """Prometheus's ``HistogramFraction``: the share of observations in ``(lower, upper]``
    and the info annotations (``FRACTION_NANS``) it raises."""
    if h.count == 0 or lower != lower or upper != upper:
        return math.nan, []
    if lower >= upper:
        return 0.0, []
    custom = h.uses_custom_buckets()
    count = rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    it = h.all_bucket_iterator()
    for b in it:
        count += b.count
        zero_bucket = False
        if b.lower <= 0 and b.upper >= 0:
            zero_bucket = True
            if not h.negative_buckets and h.positive_buckets:
                b.lower = 0.0
            elif not h.positive_buckets and h.negative_buckets:
                b.upper = 0.0
        if not lower_set and b.lower >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and b.lower >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and b.lower < lower < b.upper:
            lower_rank = _interpolate(b, rank, lower, custom or zero_bucket)
            lower_set = True
        if not upper_set and b.lower < upper < b.upper:
            upper_rank = _interpolate(b, rank, upper, custom or zero_bucket)
            upper_set = True
        if lower_set and upper_set:
            break
        rank += b.count
    infos: List[str] = []
    if h.sum != h.sum:
        for b in it:
            count += b.count
        if count < h.count:
            infos.append(FRACTION_NANS)
    else:
        count = h.count
    if not lower_set or lower_rank > count:
        lower_rank = count
    if not upper_set or upper_rank > count:
        upper_rank = count
    return (upper_rank - lower_rank) / h.count, infos


def _interpolate(b, rank: float, v: float, linear: bool) -> float:
    if linear:
        if b.lower == -_INF:
            return b.count
        return rank + b.count * (v - b.lower) / (b.upper - b.lower)
    log_lower = _log2(abs(b.lower))
    log_upper = _log2(abs(b.upper))
    log_v = _log2(abs(v))
    if v > 0:
        fraction = (log_v - log_lower) / (log_upper - log_lower)
    else:
        fraction = 1 - ((log_v - log_upper) / (log_lower - log_upper))
    return rank + b.count * fraction


def kahan_sum_inc(inc: float, total: float, c: float) -> Tuple[float, float]:
    """Go's ``kahanSumInc`` (Neumaier's variant)."""
    t = total + inc
    if math.isinf(t):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def histogram_variance(h: FloatHistogram) -> float:
    """The variance estimated from the buckets (``histogram_stdvar``): each bucket's
    observations at its geometric mean (exponential), arithmetic mean (custom
    buckets) or zero (the zero bucket)."""
    mean = _div(h.sum, h.count)
    variance = cvar = 0.0
    custom = h.uses_custom_buckets()
    for b in h.all_bucket_iterator():
        if b.count == 0:
            continue
        if custom:
            val = (b.upper + b.lower) / 2.0
        elif b.lower <= 0 <= b.upper:
            val = 0.0
        else:
            val = math.sqrt(b.upper * b.lower)
            if b.upper < 0:
                val = -val
        delta = val - mean
        variance, cvar = kahan_sum_inc(b.count * delta * delta, variance, cvar)
    variance += cvar
    return _div(variance, h.count)


def _div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        return _nan_div(a) if math.copysign(1.0, b) > 0 else -_nan_div(a)


def bucket_fraction(lower: float, upper: float, buckets) -> float:
    """Prometheus's ``BucketFraction`` (``histogram_fraction`` over a classic histogram):
    ``buckets`` are ``(upper_bound, cumulative_count)`` pairs, sorted and coalesced, the
    last one +Inf."""
    count = buckets[-1][1]
    if count == 0 or lower != lower or upper != upper:
        return math.nan
    if lower >= upper:
        return 0.0
    rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    lower_bound = 0.0 if buckets[0][0] > 0 else -_INF
    for i, (upper_bound, bcount) in enumerate(buckets):
        if i > 0:
            lower_bound = buckets[i - 1][0]

        def interp(v):
            if lower_bound == -_INF:
                return bcount
            return rank + (bcount - rank) * (v - lower_bound) / (upper_bound - lower_bound)

        if not lower_set and lower_bound >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and lower_bound >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and lower_bound < lower < upper_bound:
            lower_rank, lower_set = interp(lower), True
        if not upper_set and lower_bound < upper < upper_bound:
            upper_rank, upper_set = interp(upper), True
        if lower_set and upper_set:
            break
        rank = bcount
    if not lower_set or lower_rank > count:
        lower_rank = count
    if not upper_set or upper_rank > count:
        upper_rank = count
    return (upper_rank - lower_rank) / count
