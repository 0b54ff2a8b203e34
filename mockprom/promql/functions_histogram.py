"""``histogram_quantile`` over classic histograms (``le`` buckets), Prometheus 2.42.

Series are grouped by their labels without ``le`` (the metric name is part of the group
but dropped from the output). At each step the buckets present are sorted by upper
bound, buckets with equal bounds merged, counts made monotonic, and the quantile
interpolated linearly inside its bucket. Steps are processed together: all the steps of
a group at which the same buckets are present form one vectorised batch.
"""

from __future__ import annotations

import math
import re

import numpy as np

from mockprom.promql.functions import register
from mockprom.promql.steps import StepSeries
from mockprom.scenario.labels import METRIC_NAME

BUCKET_LABEL = "le"
_DECIMAL = re.compile(r"[+-]?(\d+(_\d+)*\.?(\d+(_\d+)*)?|\.\d+(_\d+)*)([eE][+-]?\d+(_\d+)*)?")
_HEX = re.compile(r"[+-]?0[xX](_?[0-9a-fA-F])*\.?([0-9a-fA-F](_?[0-9a-fA-F])*)?[pP][+-]?\d+")
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


def bucket_quantile(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Prometheus's ``bucketQuantile`` for a batch: ``bounds`` sorted ascending (k,),
    ``counts`` (k, m) for m steps, ``q`` (m,)."""
    k, m = counts.shape
    if k == 0 or not math.isinf(bounds[-1]) or bounds[-1] < 0:
        res = np.full(m, np.nan)
    else:
        # merge equal bounds (summed in order)
        keep_b, keep_c = [bounds[0]], [counts[0].copy()]
        for b, c in zip(bounds[1:], counts[1:]):
            if b == keep_b[-1]:
                keep_c[-1] = keep_c[-1] + c
            else:
                keep_b.append(b)
                keep_c.append(c.copy())
        bounds = np.array(keep_b)
        counts = np.array(keep_c)
        k = len(bounds)
        # ensureMonotonic
        mx = counts[0].copy()
        for i in range(1, k):
            c = counts[i]
            counts[i] = np.where(c < mx, mx, c)
            mx = np.where(c > mx, c, mx)
        if k < 2:
            res = np.full(m, np.nan)
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
    res = np.where(q > 1, np.inf, res)
    res = np.where(q < 0, -np.inf, res)
    return np.where(np.isnan(q), np.nan, res)


@register("histogram_quantile", ("scalar", "vector"))
def histogram_quantile(ctx, args, call):
    q_all = np.asarray(args[0], dtype=np.float64)
    groups: dict = {}
    for s in args[1]:
        d = dict(s.labels)
        bound = go_parse_float(d.get(BUCKET_LABEL, ""))
        if bound is None:
            continue
        key = tuple(p for p in s.labels if p[0] != BUCKET_LABEL)
        groups.setdefault(key, []).append((bound, s))
    out = []
    for key, members in groups.items():
        members.sort(key=lambda bs: (math.isnan(bs[0]), bs[0]))
        bounds = np.array([b for b, _ in members])
        present = np.array([s.present for _, s in members])  # (k, n)
        vals = np.array([np.asarray(s.vals, np.float64) for _, s in members])
        any_present = present.any(axis=0)
        res = np.full(ctx.n, np.nan)
        patterns, inverse = np.unique(present.T, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        for p_idx, pattern in enumerate(patterns):
            if not pattern.any():
                continue
            cols = np.flatnonzero(inverse == p_idx)
            rows = np.flatnonzero(pattern)
            res[cols] = bucket_quantile(q_all[cols], bounds[rows], vals[np.ix_(rows, cols)])
        labels = tuple(p for p in key if p[0] != METRIC_NAME)
        out.append(StepSeries(labels, res, any_present))
    return out
