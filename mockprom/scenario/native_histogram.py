"""The ``native_histogram`` generator: native histogram samples as a pure function of
(seed, series, time), vectorised over the grid timestamps into a ``HistogramColumn``.

How the numbers come about:

- the bucket layout is fixed per generator: every bucket of the schema between the
  1e-6 and 1 - 1e-6 quantiles of the distribution (the tails go into the outermost
  buckets), the schema lowered while that takes more than 160 buckets, as client
  libraries limit it; or the ``custom_buckets`` (schema -53);
- observations are a mixture of two shapes, the distribution and the same moved by
  ``drift``; the share of the moved one breathes as ``w(t) = (1 - cos(2π t/P + φ)) / 2``;
- a counter histogram holds, per bucket, ``floor(rate * ∫(1 - w) * pA + rate * ∫w * pB)``
  integrated since the last reset, evaluated at a jittered instant within the interval,
  so every bucket is monotone between resets (no spurious counter resets); the count is
  the sum of the buckets, the sum of observations ``∑ n_shape * mean_shape``;
- a gauge histogram holds the observations of one interval (``rate * interval``, jittered
  by ``jitter``) and carries the gauge counter reset hint.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from mockprom.histograms.bounds import CUSTOM_BUCKETS_SCHEMA, bucket_index, get_bound_exponential
from mockprom.histograms.column import HistogramColumn
from mockprom.histograms.float_histogram import GAUGE_TYPE, UNKNOWN_COUNTER_RESET
from mockprom.scenario.generators import (Distribution, Exponential, GenContext, LogNormal,
                                          NativeDistribution, NativeHistogramGen, Normal,
                                          Uniform, _phi, _quantile, distribution_mean, uniform,
                                          uniform_scalar)

MAX_BUCKETS = 160  # client_golang's default NativeHistogramMaxBucketNumber
TAIL = 1e-6


# -- distributions ----------------------------------------------------------------------

def _cdf(d: Distribution, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        if d.lognormal:
            p = d.lognormal
            pos = np.where(x > 0, x, 1.0)
            return np.where(x > 0, _phi((np.log(pos) - math.log(p.median)) / p.sigma), 0.0)
        if d.normal:
            return _phi((x - d.normal.mean) / d.normal.stddev)
        if d.uniform:
            u = d.uniform
            return np.clip((x - u.min) / (u.max - u.min), 0.0, 1.0)
        e = d.exponential
        pos = np.where(x > 0, x, 0.0)
        return np.where(x > 0, 1.0 - np.exp(-pos / e.mean), 0.0)


def _parts(nd: NativeDistribution) -> list[tuple[float, Distribution]]:
    """``[(weight, distribution)]`` of a native distribution."""
    if nd.bimodal:
        b = nd.bimodal
        return [(1.0 - b.weight, b.first), (b.weight, b.second)]
    single = Distribution(**{k: getattr(nd, k) for k in
                             ("lognormal", "normal", "uniform", "exponential")})
    return [(1.0, single)]


def _moved(d: Distribution, drift: float) -> Distribution:
    """The distribution moved by ``drift`` (in units of its own spread)."""
    if d.lognormal:
        p = d.lognormal
        return Distribution(lognormal=LogNormal(median=p.median * math.exp(drift * p.sigma),
                                                sigma=p.sigma))
    if d.normal:
        p = d.normal
        return Distribution(normal=Normal(mean=p.mean + drift * p.stddev, stddev=p.stddev))
    if d.uniform:
        p = d.uniform
        w = p.max - p.min
        return Distribution(uniform=Uniform(min=p.min + drift * w, max=p.max + drift * w))
    return Distribution(exponential=Exponential(mean=d.exponential.mean * (1 + drift)))


class _Shape:
    """One shape of the mixture: weighted parts with a CDF, mean and tail quantiles."""

    def __init__(self, parts: list[tuple[float, Distribution]]):
        self.parts = [(w, d) for w, d in parts if w > 0]

    def cdf(self, x) -> np.ndarray:
        return sum(w * _cdf(d, x) for w, d in self.parts)

    def mean(self) -> float:
        return sum(w * distribution_mean(d) for w, d in self.parts)

    def range(self) -> tuple[float, float]:
        zero = np.zeros(1)
        lo = min(float(_quantile(d, TAIL, zero)[0]) for _, d in self.parts)
        hi = max(float(_quantile(d, 1 - TAIL, zero)[0]) for _, d in self.parts)
        return lo, hi

    def quantile(self, q: float) -> float:
        """The q-quantile of the mixture (bisection on the CDF)."""
        lo, hi = self.range()
        lo, hi = lo - abs(lo) - 1.0, hi + abs(hi) + 1.0
        for _ in range(200):
            mid = (lo + hi) / 2
            if mid in (lo, hi):
                break
            if float(self.cdf(np.array([mid]))[0]) < q:
                lo = mid
            else:
                hi = mid
        return hi

    def sides(self) -> tuple[Optional[tuple], Optional[tuple]]:
        """Absolute value ranges ``(small, large)`` of the positive and negative
        observations worth buckets (None for a side without mass)."""
        at0 = float(self.cdf(np.array([0.0]))[0])
        lo, hi = self.range()
        pos = neg = None
        if 1.0 - at0 > 2 * TAIL:
            pos = (max(self.quantile(at0 + TAIL), 0.0), max(hi, 0.0))
        if at0 > 2 * TAIL:
            neg = (max(-self.quantile(at0 - TAIL), 0.0), max(-lo, 0.0))
        return pos, neg


# -- bucket layout ------------------------------------------------------------------------

class _Layout:
    """Bucket probabilities of both shapes: positive buckets from index ``pos_first``,
    negative from ``neg_first``, and the zero bucket."""

    def __init__(self, spec: NativeHistogramGen):
        a = _Shape(_parts(spec.distribution))
        b = _Shape([(w, _moved(d, spec.drift)) for w, d in a.parts])
        self.means = (a.mean(), b.mean())
        if spec.custom_buckets:
            self.schema = CUSTOM_BUCKETS_SCHEMA
            self.zero_threshold = 0.0
            self.custom_values = tuple(spec.custom_buckets)
            edges = np.array([-np.inf] + list(spec.custom_buckets) + [np.inf])
            self.pos = [np.diff(np.concatenate([[0.0], s.cdf(edges[1:-1]), [1.0]]))
                        for s in (a, b)]
            self.pos_first = 0
            self.neg = [np.zeros(0), np.zeros(0)]
            self.neg_first = 0
            self.zero = (0.0, 0.0)
            return
        self.custom_values = ()
        zt = spec.zero_threshold
        self.zero_threshold = zt
        pos_side, neg_side = _union(*(s.sides() for s in (a, b)))
        schema = spec.schema_
        while True:
            pos_range = neg_range = None
            if pos_side and pos_side[1] > zt:
                pos_range = _index_range(pos_side[0], pos_side[1], zt, schema)
            if neg_side and neg_side[1] > zt:
                neg_range = _index_range(neg_side[0], neg_side[1], zt, schema)
            width = sum(r[1] - r[0] + 1 for r in (pos_range, neg_range) if r)
            if width <= MAX_BUCKETS or schema == -4:
                break
            schema -= 1
        self.schema = schema
        self.pos, self.pos_first = self._side(a, b, pos_range, zt, schema, positive=True)
        self.neg, self.neg_first = self._side(a, b, neg_range, zt, schema, positive=False)
        self.zero = tuple(float(s.cdf(np.array([zt]))[0] - s.cdf(np.array([-zt]))[0])
                          for s in (a, b))

    @staticmethod
    def _side(a: _Shape, b: _Shape, rng, zt: float, schema: int, positive: bool):
        if rng is None:
            return [np.zeros(0), np.zeros(0)], 0
        first, last = rng
        uppers = np.array([get_bound_exponential(i, schema) for i in range(first, last + 1)])
        lowers = np.concatenate([[zt], uppers[:-1]])  # the first bucket starts at zt
        uppers = uppers.copy()
        uppers[-1] = np.inf  # the last bucket takes the upper tail
        masses = []
        for s in (a, b):
            if positive:
                m = s.cdf(uppers) - s.cdf(lowers)
            else:
                m = s.cdf(-lowers) - s.cdf(-uppers)
            masses.append(np.maximum(m, 0.0))
        return masses, first


def _union(sa, sb) -> tuple:
    """The union of the side ranges of two shapes."""
    out = []
    for x, y in zip(sa, sb):
        if x is None or y is None:
            out.append(x or y)
        else:
            out.append((min(x[0], y[0]), max(x[1], y[1])))
    return tuple(out)


def _index_range(lo: float, hi: float, zt: float, schema: int) -> Optional[tuple[int, int]]:
    """Bucket indexes covering absolute values in ``(zt, ...]`` from ``lo`` to ``hi``."""
    lo = max(lo, zt, 1e-300)
    if hi <= lo:
        hi = lo
    first = bucket_index(lo, schema)
    if zt > 0:  # never start inside the zero bucket
        first = max(first, bucket_index(zt, schema))
        if get_bound_exponential(first, schema) <= zt:
            first += 1
    return first, max(first, bucket_index(hi, schema))


# -- the generator ------------------------------------------------------------------------

def native_histogram_fn(spec: NativeHistogramGen, ctx: GenContext):
    """``fn(ts) -> HistogramColumn`` for the grid timestamps ``ts`` (int64 ms)."""
    layout = _Layout(spec)
    interval_s = ctx.interval_ms / 1000.0
    period_s = spec.drift_period / 1000.0
    phase = uniform_scalar(ctx.key, "nh-drift-phase")
    reset_phase = (int(uniform_scalar(ctx.key, "reset-phase") * spec.reset_every)
                   if spec.reset_every else 0)
    mean_a, mean_b = layout.means

    def share(t_s):  # w(t): the share of the moved shape
        return 0.5 - 0.5 * np.cos(2 * np.pi * (t_s / period_s + phase))

    def integral(t_s):  # ∫ w(s) ds up to t_s (any constant)
        return 0.5 * t_s - period_s / (4 * np.pi) * np.sin(2 * np.pi * (t_s / period_s + phase))

    def fn(ts: np.ndarray) -> HistogramColumn:
        ts = np.asarray(ts, dtype=np.int64)
        k = ctx.grid_index(ts)
        u = uniform(ctx.key, "nh-jitter", k)
        if spec.gauge:
            n = spec.rate * interval_s * (1.0 + spec.jitter * (2.0 * u - 1.0))
            w = share(ts / 1000.0)
            n_b = n * w
            n_a = n - n_b
            hint = GAUGE_TYPE
        else:
            tj = ts + np.floor(spec.jitter * ctx.interval_ms * u).astype(np.int64)
            if spec.reset_every:
                seg = (tj - reset_phase) // spec.reset_every * spec.reset_every + reset_phase
            else:
                seg = np.zeros_like(tj)
            end_s, start_s = tj / 1000.0, seg / 1000.0
            n_b = spec.rate * np.maximum(integral(end_s) - integral(start_s), 0.0)
            n_a = np.maximum(spec.rate * (end_s - start_s) - n_b, 0.0)
            hint = UNKNOWN_COUNTER_RESET
        pos = np.floor(n_a[:, None] * layout.pos[0][None, :] + n_b[:, None] * layout.pos[1][None, :])
        neg = np.floor(n_a[:, None] * layout.neg[0][None, :] + n_b[:, None] * layout.neg[1][None, :])
        zero = np.floor(n_a * layout.zero[0] + n_b * layout.zero[1])
        count = zero + pos.sum(axis=1) + neg.sum(axis=1)
        total = n_a * mean_a + n_b * mean_b
        return HistogramColumn(layout.schema, layout.zero_threshold, count, total, zero,
                               np.full(len(ts), hint, dtype=np.int8), pos, layout.pos_first,
                               neg, layout.neg_first, layout.custom_values)
    return fn
