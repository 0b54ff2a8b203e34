"""``histogram_quantile`` and ``histogram_fraction`` over classic histograms (``le``
buckets).

Series are grouped by their labels without ``le`` (the metric name is part of the group
and dropped from the output: two histograms differing only in name collide). At each step the buckets present are sorted by upper
bound, buckets with equal bounds merged, counts made monotonic, and the quantile
interpolated linearly inside its bucket. Steps are processed together: all the steps of
a group at which the same buckets are present form one vectorised batch.
"""

from __future__ import annotations

import math
import re

import numpy as np

from mockprom.promql import annotations
from mockprom.promql.aggregations import distinct
from mockprom.promql.functions import register
from mockprom.promql.steps import StepSeries
from mockprom.scenario.labels import METRIC_NAME

BUCKET_LABEL = "le"
# a fraction only after its dot: digits that either part could take would make these
# backtrack quadratically on a long bucket bound
_DECIMAL = re.compile(r"[+-]?(\d+(_\d+)*(\.(\d+(_\d+)*)?)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)?")
_HEX = re.compile(r"[+-]?0[xX](_?[0-9a-fA-F])*(\.([0-9a-fA-F](_?[0-9a-fA-F])*)?)?[pP][+-]?\d+")
_SPECIAL = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "infinity": math.inf,
            "+infinity": math.inf, "-infinity": -math.inf, "nan": math.nan,
            "+nan": math.nan, "-nan": math.nan}


def go_parse_float(s: str):
    """Go's ``strconv.ParseFloat(s, 64)``: the float, or None for a syntax error or an
    out-of-range value (Prometheus skips such buckets)."""
    low = s.lower()
    if low in _SPECIAL:
        if low in ("+nan", "-nan"):
            return None
        return _SPECIAL[low]
    if _HEX.fullmatch(s):
        try:
            body = s.replace("_", "")
            v = float.fromhex(body)
        except (ValueError, OverflowError):
            return None
        return None if math.isinf(v) else v
    if _DECIMAL.fullmatch(s):
        v = float(s)
        return None if math.isinf(v) else v
    return None


def search(n_items: int, pred) -> np.ndarray:
    """Go's ``sort.Search`` (binary search), vectorised: ``pred(h)`` returns a bool array
    over the batch for candidate indices array ``h``."""
    i = np.zeros(pred.size, dtype=np.int64)
    j = np.full(pred.size, n_items, dtype=np.int64)
    while True:
        active = i < j
        if not active.any():
            return i
        h = (i + j) >> 1
        ok = pred(np.where(active, h, 0))
        i = np.where(active & ~ok, h + 1, i)
        j = np.where(active & ok, h, j)


class _Pred:
    """``buckets[h].count >= rank`` for every column of a batch."""

    def __init__(self, counts: np.ndarray, rank: np.ndarray):
        self.counts, self.rank = counts, rank
        self.size = counts.shape[1]
        self.cols = np.arange(self.size)

    def __call__(self, h: np.ndarray) -> np.ndarray:
        return self.counts[h, self.cols] >= self.rank


def _merge_equal_bounds(bounds: np.ndarray, counts: np.ndarray):
    """``coalesceBuckets``: buckets with the same upper bound summed, in order."""
    keep_b, keep_c = [bounds[0]], [counts[0].copy()]
    for b, c in zip(bounds[1:], counts[1:]):
        if b == keep_b[-1]:
            keep_c[-1] = keep_c[-1] + c
        else:
            keep_b.append(b)
            keep_c.append(c.copy())
    return np.array(keep_b), np.array(keep_c)


MIN_NORMAL = 2.2250738585072014e-308
SMALL_DELTA_TOLERANCE = 1e-12


def almost_equal(a: np.ndarray, b: np.ndarray, epsilon: float) -> np.ndarray:
    """Prometheus's ``almost.Equal`` (relative tolerance; NaN equals NaN)."""
    with np.errstate(all="ignore"):
        abs_sum = np.abs(a) + np.abs(b)
        diff = np.abs(a - b)
        tiny = (a == 0) | (b == 0) | (abs_sum < MIN_NORMAL)
        rel = diff / np.minimum(abs_sum, np.finfo(np.float64).max)
        close = np.where(tiny, diff < epsilon * MIN_NORMAL, rel < epsilon)
    return (np.isnan(a) & np.isnan(b)) | (a == b) | close


def _monotonic(counts: np.ndarray, ignore_small_deltas: bool):
    """Make bucket counts (k, m) non-decreasing; returns where it had to force that.
    2.42's ``ensureMonotonic`` takes the running maximum; 3.x's
    ``ensureMonotonicAndIgnoreSmallDeltas`` first absorbs relative differences below
    1e-12 in either direction (not reported)."""
    k, m = counts.shape
    forced = np.zeros(m, dtype=bool)
    prev = counts[0].copy()
    for i in range(1, k):
        c = counts[i]
        if ignore_small_deltas:
            small = (c != prev) & almost_equal(prev, c, SMALL_DELTA_TOLERANCE)
            down = (c < prev) & ~small
            counts[i] = np.where(small | down, prev, c)
            forced |= down
            prev = np.where(small | down, prev, c)
        else:
            down = c < prev
            forced |= down
            counts[i] = np.where(down, prev, c)
            prev = np.where(c > prev, c, prev)
    return forced


def bucket_quantile(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray,
                    ignore_small_deltas: bool = False):
    """Prometheus's ``bucketQuantile`` for a batch: ``bounds`` sorted ascending (k,),
    ``counts`` (k, m) for m steps, ``q`` (m,). Returns the quantiles and where the
    counts had to be forced to be monotonic."""
    k, m = counts.shape
    forced = np.zeros(m, dtype=bool)
    if k == 0 or not math.isinf(bounds[-1]) or bounds[-1] < 0:
        res = np.full(m, np.nan)
    else:
        bounds, counts = _merge_equal_bounds(bounds, counts)
        k = len(bounds)
        forced = _monotonic(counts, ignore_small_deltas)
        if k < 2:
            res = np.full(m, np.nan)
            forced[:] = False
        else:
            with np.errstate(all="ignore"):
                observations = counts[-1]
                rank = q * observations
                b = search(k - 1, _Pred(counts, rank))
                cols = np.arange(m)
                bm1 = np.maximum(b - 1, 0)
                start = np.where(b > 0, bounds[bm1], 0.0)
                end = bounds[np.minimum(b, k - 1)]
                count = counts[np.minimum(b, k - 1), cols]
                prev = np.where(b > 0, counts[bm1, cols], 0.0)
                count = np.where(b > 0, count - prev, count)
                rank2 = np.where(b > 0, rank - prev, rank)
                res = start + (end - start) * (rank2 / count)
                res = np.where((b == 0) & (bounds[0] <= 0), bounds[0], res)
                res = np.where(b == k - 1, bounds[k - 2], res)
                res = np.where(observations == 0, np.nan, res)
                forced &= observations != 0
    special = np.isnan(q) | (q < 0) | (q > 1)
    res = np.where(q > 1, np.inf, res)
    res = np.where(q < 0, -np.inf, res)
    return np.where(np.isnan(q), np.nan, res), forced & ~special


def bucket_fraction(lower: np.ndarray, upper: np.ndarray, bounds: np.ndarray,
                    counts: np.ndarray) -> np.ndarray:
    """Prometheus 3.5's ``BucketFraction`` (``histogram_fraction`` of a classic
    histogram) for a batch: the first bucket reaches down to -Inf, counts are
    cumulative, interpolation is linear inside a bucket."""
    k, m = counts.shape
    if k == 0 or not math.isinf(bounds[-1]) or bounds[-1] < 0:
        return np.full(m, np.nan)
    bounds, counts = _merge_equal_bounds(bounds, counts)
    count = counts[-1]
    rank = np.zeros(m)
    lower_rank = np.zeros(m)
    upper_rank = np.zeros(m)
    lower_set = np.zeros(m, dtype=bool)
    upper_set = np.zeros(m, dtype=bool)
    with np.errstate(all="ignore"):
        for i in range(len(bounds)):
            lo = -math.inf if i == 0 else bounds[i - 1]
            hi = bounds[i]
            b = counts[i]
            done = lower_set & upper_set
            hit = ~done & ~lower_set & (lo >= lower)
            lower_rank = np.where(hit, rank, lower_rank)
            lower_set |= hit
            hit = ~done & ~upper_set & (lo >= upper)
            upper_rank = np.where(hit, rank, upper_rank)
            upper_set |= hit
            done = lower_set & upper_set
            inside = ~done & ~lower_set & (lo < lower) & (hi > lower)
            lower_rank = np.where(inside, rank + (b - rank) * (lower - lo) / (hi - lo),
                                  lower_rank)
            lower_set |= inside
            inside = ~done & ~upper_set & (lo < upper) & (hi > upper)
            upper_rank = np.where(inside, rank + (b - rank) * (upper - lo) / (hi - lo),
                                  upper_rank)
            upper_set |= inside
            rank = np.where(lower_set & upper_set, rank, b)
        lower_rank = np.where(~lower_set | (lower_rank > count), count, lower_rank)
        upper_rank = np.where(~upper_set | (upper_rank > count), count, upper_rank)
        res = (upper_rank - lower_rank) / count
    res = np.where(lower >= upper, 0.0, res)
    return np.where((count == 0) | np.isnan(lower) | np.isnan(upper), np.nan, res)


def _bucket_groups(ctx, vec, pos):
    """The classic histograms of ``vec``: ``{group labels: [(upper bound, series)]}``,
    grouped by the labels without ``le``. A bucket whose ``le`` is not a number is
    skipped, with Prometheus 3's warning."""
    groups: dict = {}
    for s in vec:
        d = dict(s.labels)
        raw = d.get(BUCKET_LABEL, "")
        bound = go_parse_float(raw)
        if bound is None:
            if s.present.any():
                ctx.warn(annotations.bad_bucket_label(d.get(METRIC_NAME, ""), raw), pos)
            continue
        key = tuple(p for p in s.labels if p[0] != BUCKET_LABEL)
        groups.setdefault(key, []).append((bound, s))
    return groups


def _per_group(ctx, groups, compute):
    """Run ``compute(cols, bounds, vals)`` over the steps of each group, batched by the
    set of buckets present; ``(labels, values, present, extra)`` per group."""
    out = []
    for key, members in groups.items():
        members.sort(key=lambda bs: (math.isnan(bs[0]), bs[0]))
        bounds = np.array([b for b, _ in members])
        present = np.array([s.present for _, s in members])  # (k, n)
        vals = np.array([np.asarray(s.vals, np.float64) for _, s in members])
        res = np.full(ctx.n, np.nan)
        extra = np.zeros(ctx.n, dtype=bool)
        patterns, inverse = np.unique(present.T, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        for p_idx, pattern in enumerate(patterns):
            if not pattern.any():
                continue
            cols = np.flatnonzero(inverse == p_idx)
            rows = np.flatnonzero(pattern)
            res[cols], extra[cols] = compute(cols, bounds[rows], vals[np.ix_(rows, cols)])
        out.append((key, res, present.any(axis=0), extra))
    return out


def _quantile_warnings(ctx, q: np.ndarray, pos) -> None:
    for v in distinct(q[np.isnan(q) | (q < 0) | (q > 1)]):
        ctx.warn(annotations.invalid_quantile(v), pos)


@register("histogram_quantile", ("scalar", "vector"), drops_name=True)
def histogram_quantile(ctx, args, call):
    q_all = np.asarray(args[0], dtype=np.float64)
    if ctx.rules.annotations:
        _quantile_warnings(ctx, q_all, annotations.arg_pos(call, 0))
    small = ctx.rules.compensated_sums  # 3.x ignores tiny deltas between buckets

    def compute(cols, bounds, counts):
        return bucket_quantile(q_all[cols], bounds, counts, small)

    out = []
    groups = _bucket_groups(ctx, args[1], annotations.arg_pos(call, 1))
    for labels, res, present, forced in _per_group(ctx, groups, compute):
        if forced.any():
            _note_forced(ctx, call, labels, present, forced)
        out.append(StepSeries(labels, res, present))
    return out


def _note_forced(ctx, call, labels, present, forced) -> None:
    """The info on counts forced to be monotonic, naming the group's metric. Without
    delayed name removal Prometheus drops the name from the group it keeps across the
    steps of a range query once the first step is out: later steps name no metric."""
    name = dict(labels).get(METRIC_NAME, "")
    pos = annotations.arg_pos(call, 1)
    first = int(np.argmax(present))
    names = []
    if forced[first]:
        names.append(name)
    if forced[first + 1:].any():
        names.append(name if ctx.delayed_names else "")
    for metric in names:
        ctx.info(annotations.histogram_quantile_forced_monotonicity(metric), pos)


@register("histogram_fraction", ("scalar", "scalar", "vector"), drops_name=True)
def histogram_fraction(ctx, args, call):
    """Of classic histograms, in Prometheus 3 (``EvalRules.classic_histogram_fraction``);
    2.42 computes it of native histograms only (none here: an empty result)."""
    if not ctx.rules.classic_histogram_fraction:
        return []
    lower = np.asarray(args[0], dtype=np.float64)
    upper = np.asarray(args[1], dtype=np.float64)

    def compute(cols, bounds, counts):
        return bucket_fraction(lower[cols], upper[cols], bounds, counts), False

    return [StepSeries(labels, res, present) for labels, res, present, _ in
            _per_group(ctx, _bucket_groups(ctx, args[2], annotations.arg_pos(call, 2)),
                       compute)]
