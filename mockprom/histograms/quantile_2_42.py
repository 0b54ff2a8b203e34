"""``histogram_quantile`` and ``histogram_fraction`` of a native histogram as Prometheus
2.42 computed them (``promql/quantile.go``, before 2.45): linear interpolation inside the
bucket (3.x interpolates exponential buckets exponentially), the zero bucket's far side
taken as 0 when the histogram has buckets on one side only, no annotations."""

from __future__ import annotations

import math

from mockprom.histograms.float_histogram import FloatHistogram, _go_div


def _one_sided(h: FloatHistogram, b) -> tuple[float, float]:
    """The zero bucket's bounds, clipped at 0 when only one side has buckets."""
    lower, upper = b.lower, b.upper
    if lower < 0 < upper:
        if not h.negative_buckets and h.positive_buckets:
            lower = 0.0
        elif not h.positive_buckets and h.negative_buckets:
            upper = 0.0
    return lower, upper


def histogram_quantile(q: float, h: FloatHistogram) -> float:
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if h.count == 0 or math.isnan(q):
        return math.nan
    rank = q * h.count
    count = 0.0
    bucket = None
    for bucket in h.all_bucket_iterator():
        count += bucket.count
        if count >= rank:
            break
    if bucket is None:
        return math.nan
    lower, upper = _one_sided(h, bucket)
    if count > h.count:
        count = h.count
    if count < rank:
        return upper
    rank -= count - bucket.count
    return lower + (upper - lower) * _go_div(rank, bucket.count)


def histogram_fraction(lower: float, upper: float, h: FloatHistogram) -> float:
    if h.count == 0 or math.isnan(lower) or math.isnan(upper):
        return math.nan
    if lower >= upper:
        return 0.0
    rank = lower_rank = upper_rank = 0.0
    lower_set = upper_set = False
    for b in h.all_bucket_iterator():
        b_lower, b_upper = _one_sided(h, b)
        if not lower_set and b_lower >= lower:
            lower_rank, lower_set = rank, True
        if not upper_set and b_lower >= upper:
            upper_rank, upper_set = rank, True
        if lower_set and upper_set:
            break
        if not lower_set and b_lower < lower < b_upper:
            lower_rank = rank + _go_div(b.count * (lower - b_lower), b_upper - b_lower)
            lower_set = True
        if not upper_set and b_lower < upper < b_upper:
            upper_rank = rank + _go_div(b.count * (upper - b_lower), b_upper - b_lower)
            upper_set = True
        if lower_set and upper_set:
            break
        rank += b.count
    if not lower_set or lower_rank > h.count:
        lower_rank = h.count
    if not upper_set or upper_rank > h.count:
        upper_rank = h.count
    return _go_div(upper_rank - lower_rank, h.count)
