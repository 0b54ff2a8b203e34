"""Native histogram PromQL for many steps at once, on dense ``HistogramColumn``s: the
rate of a series at every step, the sum of many series, their quantiles. Each function
does, bucket by bucket, the float operations Prometheus does histogram by histogram (in
the same order), so results are bit for bit those of ``promql.native`` and
``histograms.quantile``; a case these do not cover (a gauge hint, NaN sums, differing
schemas or zero buckets...) returns None and the caller takes the per-sample path.

A step result is a ``HistogramColumn`` with one row per step and a ``present`` mask.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from mockprom.histograms.bounds import CUSTOM_BUCKETS_SCHEMA, get_bound
from mockprom.histograms.column import HistogramColumn
from mockprom.histograms.float_histogram import (COUNTER_RESET, GAUGE_TYPE,
                                                 NOT_COUNTER_RESET)
from mockprom.histograms.quantile import NAN_RESULT, NAN_SKEW, go_exp2
from mockprom.promql.functions_gomath import go_log2

Steps = Tuple[HistogramColumn, np.ndarray]  # per-step histograms and where present


def _resets(col: HistogramColumn) -> np.ndarray:
    """``r[j]``: sample j follows a counter reset after sample j-1 (``DetectReset``)
    for a column's samples (one layout); ``r[0]`` is False."""
    n = len(col)
    r = np.zeros(n, dtype=bool)
    if n < 2:
        return r
    with np.errstate(invalid="ignore"):
        found = (col.count[1:] < col.count[:-1]) | (col.zero_count[1:] < col.zero_count[:-1])
        for m in (col.pos, col.neg):
            if m.shape[1]:
                prev, cur = m[:-1], m[1:]
                found |= np.any((prev != 0) & (cur < prev), axis=1)
    hint = col.hint[1:]
    r[1:] = np.where(hint == COUNTER_RESET, True, np.where(hint == NOT_COUNTER_RESET, False, found))
    return r


def rate(col: HistogramColumn, ts: np.ndarray, lo: np.ndarray, hi: np.ndarray,
         range_start: np.ndarray, range_end: np.ndarray, range_ms: int, is_counter: bool,
         is_rate: bool) -> Optional[Steps]:
    """``rate``/``increase``/``delta`` of one series of histograms at every step (window
    ``ts[lo:hi]``), or None when the per-sample path must decide (gauge hints with a
    counter function or the reverse, whose warnings it words)."""
    if np.any(col.hint == GAUGE_TYPE) if is_counter else np.any(col.hint != GAUGE_TYPE):
        return None
    n_steps = len(lo)
    present = (hi - lo) >= 2
    first = np.where(present, lo, 0)
    last = np.where(present, hi - 1, 0)
    resets = _resets(col) if is_counter else np.zeros(len(col), dtype=bool)
    csum = np.concatenate([[0], np.cumsum(resets)])
    # resets strictly inside the window: between first+1 and last (inclusive)
    inner = csum[last + 1] - csum[first + 1]
    null_first = present & is_counter & resets[np.minimum(first + 1, len(col) - 1)]
    pos = col.pos[last] - np.where(null_first[:, None], 0.0, col.pos[first])
    neg = col.neg[last] - np.where(null_first[:, None], 0.0, col.neg[first])
    count = col.count[last] - np.where(null_first, 0.0, col.count[first])
    total = col.sum[last] - np.where(null_first, 0.0, col.sum[first])
    zero = col.zero_count[last] - np.where(null_first, 0.0, col.zero_count[first])
    # windows with resets inside: add the sample before each reset, in order
    for i in np.flatnonzero(present & (inner > 0)):
        for j in range(first[i] + 1, last[i] + 1):
            if resets[j] and not (j == first[i] + 1 and null_first[i]):
                pos[i] += col.pos[j - 1]
                neg[i] += col.neg[j - 1]
                count[i] += col.count[j - 1]
                total[i] += col.sum[j - 1]
                zero[i] += col.zero_count[j - 1]
    factor = _extrapolation(ts, first, last, range_start, range_end, range_ms, is_rate)
    with np.errstate(all="ignore"):
        pos = pos * factor[:, None]
        neg = neg * factor[:, None]
        count, total, zero = count * factor, total * factor, zero * factor
    out = HistogramColumn(col.schema, col.zero_threshold, count, total, zero,
                          np.full(n_steps, GAUGE_TYPE, dtype=np.int8), pos, col.pos_first,
                          neg, col.neg_first, col.custom_values)
    return out, present


def _extrapolation(ts, first, last, range_start, range_end, range_ms, is_rate) -> np.ndarray:
    """The factor of ``extrapolatedRate`` per step (Go's float operations, in order)."""
    with np.errstate(all="ignore"):
        first_t, last_t = ts[first], ts[last]
        to_start = (first_t - range_start) / 1000
        to_end = (range_end - last_t) / 1000
        sampled = (last_t - first_t) / 1000
        average = sampled / (last - first)
        threshold = average * 1.1
        to_start = np.where(to_start >= threshold, average / 2, to_start)
        to_end = np.where(to_end >= threshold, average / 2, to_end)
        factor = (sampled + to_start + to_end) / sampled
        if is_rate:
            factor = factor / (range_ms / 1000)
    return factor


def same_layout(cols: Sequence[HistogramColumn]) -> bool:
    """Whether columns can be added bucket by bucket: one schema, zero threshold and set
    of custom bounds."""
    a = cols[0]
    return all(c.schema == a.schema and c.zero_threshold == a.zero_threshold
               and c.custom_values == a.custom_values for c in cols[1:])


def _widen(m: np.ndarray, first: int, lo: int, width: int) -> np.ndarray:
    if m.shape[1] == width and first == lo:
        return m
    out = np.zeros((m.shape[0], width))
    out[:, first - lo:first - lo + m.shape[1]] = m
    return out


def add(parts: List[Steps]) -> Optional[Steps]:
    """``sum`` of step histograms in input order (Prometheus adds each series' value to
    the group's, the first one copied): one layout only, else None."""
    cols = [c for c, _ in parts]
    if not cols or not same_layout(cols):
        return None
    n = len(cols[0])
    spans = {}
    for side in ("pos", "neg"):
        firsts = [getattr(c, side + "_first") for c in cols if getattr(c, side).shape[1]]
        ends = [getattr(c, side + "_first") + getattr(c, side).shape[1] for c in cols
                if getattr(c, side).shape[1]]
        spans[side] = (min(firsts), max(ends) - min(firsts)) if firsts else (0, 0)
    pos = np.zeros((n, spans["pos"][1]))
    neg = np.zeros((n, spans["neg"][1]))
    count, total, zero = np.zeros(n), np.zeros(n), np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    hint = np.zeros(n, dtype=np.int8)
    for c, present in parts:
        p = present[:, None]
        pos = np.where(p, pos + _widen(c.pos, c.pos_first, spans["pos"][0], spans["pos"][1]), pos)
        neg = np.where(p, neg + _widen(c.neg, c.neg_first, spans["neg"][0], spans["neg"][1]), neg)
        count = np.where(present, count + c.count, count)
        total = np.where(present, total + c.sum, total)
        zero = np.where(present, zero + c.zero_count, zero)
        combined = np.where(c.hint == hint, hint, np.where(
            (hint == GAUGE_TYPE) | (c.hint == GAUGE_TYPE), GAUGE_TYPE, 0)).astype(np.int8)
        hint = np.where(present & ~seen, c.hint, np.where(present, combined, hint))
        seen |= present
    a = cols[0]
    out = HistogramColumn(a.schema, a.zero_threshold, count, total, zero, hint,
                          pos, spans["pos"][0], neg, spans["neg"][0], a.custom_values)
    return out, seen


def quantile(q: np.ndarray, col: HistogramColumn, present: np.ndarray
             ) -> Optional[Tuple[np.ndarray, List[str]]]:
    """``histogram_quantile`` of every present row (NaN elsewhere); None when a row has
    a NaN sum (the per-sample path words its infos)."""
    n = len(col)
    out = np.full(n, np.nan)
    if np.any(np.isnan(col.sum[present])):
        return None
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), (n,))
    ok = present & (col.count != 0) & ~np.isnan(q) & (q >= 0) & (q <= 1)
    out = np.where(present & (q < 0), -np.inf, np.where(present & (q > 1), np.inf, out))
    for forward in (True, False):
        rows = np.flatnonzero(ok & ((q < 0.5) == forward))
        if len(rows):
            out[rows] = _quantile_rows(q[rows], col[rows], forward)
    return out, []


def _bucket_table(col: HistogramColumn, forward: bool):
    """Counts and bounds of every bucket, in the order ``AllBucketIterator`` (forward)
    or ``AllReverseBucketIterator`` visits them: ``(counts [rows, k], lower [k],
    upper [k], lower_inclusive... )``; the zero bucket's column is masked where its
    count is 0 (the iterator leaves it out)."""
    custom = col.schema == CUSTOM_BUCKETS_SCHEMA
    zt = col.zero_threshold
    cv = col.custom_values
    pos_idx = np.arange(col.pos_first, col.pos_first + col.pos.shape[1])
    neg_idx = np.arange(col.neg_first, col.neg_first + col.neg.shape[1])
    pos_up = np.array([get_bound(int(i), col.schema, cv) for i in pos_idx])
    pos_lo = np.array([get_bound(int(i) - 1, col.schema, cv) for i in pos_idx])
    neg_lo = -np.array([get_bound(int(i), col.schema) for i in neg_idx])
    neg_up = -np.array([get_bound(int(i) - 1, col.schema) for i in neg_idx])
    if not custom:
        pos_lo = np.where((pos_lo > 0) & (pos_lo < zt), zt, pos_lo)
        neg_up = np.where((neg_up < 0) & (neg_up > -zt), -zt, neg_up)
    zero = col.zero_count[:, None]
    if forward:  # negative buckets from the most negative, zero, positive ascending
        counts = np.concatenate([col.neg[:, ::-1], zero, col.pos], axis=1)
        lower = np.concatenate([neg_lo[::-1], [-zt], pos_lo])
        upper = np.concatenate([neg_up[::-1], [zt], pos_up])
    else:
        counts = np.concatenate([col.pos[:, ::-1], zero, col.neg], axis=1)
        lower = np.concatenate([pos_lo[::-1], [-zt], neg_lo])
        upper = np.concatenate([pos_up[::-1], [zt], neg_up])
    return counts, lower, upper


def _quantile_rows(q: np.ndarray, col: HistogramColumn, forward: bool) -> np.ndarray:
    n = len(col)
    counts, lower, upper = _bucket_table(col, forward)
    total = col.count
    rank = q * total if forward else (1 - q) * total
    with np.errstate(invalid="ignore"):
        cum = np.cumsum(counts, axis=1)
    nonzero = counts != 0
    hit = nonzero & (cum >= rank[:, None])
    found = hit.any(axis=1)
    k = np.where(found, hit.argmax(axis=1), 0)
    # without a hit, Go stops at the last bucket it visited: the last non-empty one here
    last_nz = counts.shape[1] - 1 - np.argmax(nonzero[:, ::-1], axis=1)
    k = np.where(found, k, last_nz)
    rows = np.arange(n)
    b_count = counts[rows, k]
    count = cum[rows, k]
    b_lower, b_upper = lower[k].copy(), upper[k].copy()
    custom = col.schema == CUSTOM_BUCKETS_SCHEMA
    has_neg = np.any(col.neg != 0, axis=1) if col.neg.shape[1] else np.zeros(n, bool)
    has_pos = np.any(col.pos != 0, axis=1) if col.pos.shape[1] else np.zeros(n, bool)
    result = np.full(n, np.nan)
    done = np.zeros(n, dtype=bool)
    if not custom:
        in_zero = (b_lower < 0) & (b_upper > 0)
        b_lower = np.where(in_zero & ~has_neg & has_pos, 0.0, b_lower)
        b_upper = np.where(in_zero & ~has_pos & has_neg, 0.0, b_upper)
    else:
        first_b = b_lower == -np.inf
        result = np.where(first_b & (b_upper <= 0), b_upper, result)
        done |= first_b & (b_upper <= 0)
        b_lower = np.where(first_b, 0.0, b_lower)
        last_b = ~first_b & (b_upper == np.inf)
        result = np.where(last_b & ~done, b_lower, result)
        done |= last_b
    count = np.minimum(count, total)
    short = ~done & (count < rank)
    result = np.where(short, b_upper, result)
    done |= short
    with np.errstate(all="ignore"):
        r = rank - (count - b_count) if forward else count - rank
        fraction = r / b_count
        linear = b_lower + (b_upper - b_lower) * fraction
        if custom:
            interp = linear
        else:
            is_linear = (b_lower <= 0) & (b_upper >= 0)
            log_lo = go_log2(np.abs(b_lower))
            log_up = go_log2(np.abs(b_upper))
            up = go_exp2(log_lo + (log_up - log_lo) * fraction)
            down = -go_exp2(log_up + (log_lo - log_up) * (1 - fraction))
            interp = np.where(is_linear, linear, np.where(b_lower > 0, up, down))
    return np.where(done, result, interp)


__all__ = ["add", "quantile", "rate", "same_layout", "NAN_RESULT", "NAN_SKEW"]
