"""The many-steps-at-once native histogram path (``histograms.dense``) gives, bit for
bit, what the per-sample port of Prometheus (``promql.native``, ``histograms.quantile``)
gives: rates with counter resets and extrapolation, sums of series, quantiles; on seeded
random histograms."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from mockprom.histograms import HistogramColumn
from mockprom.histograms import dense
from mockprom.histograms.float_histogram import COUNTER_RESET, NOT_COUNTER_RESET
from mockprom.histograms.quantile import histogram_quantile
from mockprom.promql import native


def bits(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def same(a, b) -> bool:
    """Bit-identical histograms after compaction (values and layout)."""
    a, b = a.copy().compact(0), b.copy().compact(0)
    return (a.equals(b) and bits(a.count) == bits(b.count))


def counter_column(rng, n: int, width: int, schema: int = 2, resets: int = 2,
                   custom=()) -> HistogramColumn:
    """A counter histogram column with random increments and ``resets`` resets."""
    inc = rng.integers(0, 5, size=(n, width)).astype(float) * rng.random((n, width)).round(1)
    pos = np.cumsum(inc, axis=0)
    zero = np.cumsum(rng.integers(0, 3, size=n).astype(float))
    for at in rng.choice(np.arange(5, n), size=resets, replace=False):
        pos[at:] -= pos[at - 1] * rng.random()
        zero[at:] -= zero[at - 1]
    pos = np.maximum(pos, 0)
    zero = np.maximum(zero, 0)
    hint = rng.choice([0, 0, 0, NOT_COUNTER_RESET, COUNTER_RESET], size=n).astype(np.int8)
    count = zero + pos.sum(axis=1)
    total = count * 0.37
    zt = 0.0 if custom else 0.001
    return HistogramColumn(-53 if custom else schema, zt, count, total,
                           zero * (0 if custom else 1), hint, pos, rng.integers(-3, 3) if not custom else 0,
                           custom_values=custom)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("is_counter, is_rate", [(True, True), (True, False)])
def test_dense_rate_is_the_per_sample_rate(seed, is_counter, is_rate):
    rng = np.random.default_rng(seed)
    custom = (0.1, 0.5, 1.0, 5.0) if seed % 3 == 2 else ()
    col = counter_column(rng, 120, 5 if custom else 9, custom=custom)
    ts = np.arange(120, dtype=np.int64) * 15_000 + rng.integers(0, 500, size=120)
    steps = np.arange(60_000, 120 * 15_000, 37_000, dtype=np.int64)
    range_ms = 150_000
    lo = np.searchsorted(ts, steps - range_ms, side="right")
    hi = np.searchsorted(ts, steps, side="right")
    got = dense.rate(col, ts, lo, hi, steps - range_ms, steps, range_ms, is_counter, is_rate)
    assert got is not None
    out, present = got
    objs = [col[i] for i in range(len(col))]
    for i in range(len(steps)):
        annos = []
        want = native.extrapolated_rate(ts[lo[i]:hi[i]].tolist(), objs[lo[i]:hi[i]],
                                        int(steps[i] - range_ms), int(steps[i]), range_ms,
                                        is_counter, is_rate, "x", annos)
        assert present[i] == (want is not None)
        if want is not None:
            assert same(out[i], want), i
            assert out[i].counter_reset_hint == want.counter_reset_hint


@pytest.mark.parametrize("seed", range(4))
def test_dense_sum_is_the_per_sample_sum(seed):
    rng = np.random.default_rng(100 + seed)
    n = 40
    parts = []
    for k in range(7):
        col = counter_column(rng, n, int(rng.integers(3, 8)), resets=0)
        col.pos_first = int(rng.integers(-4, 4))
        col.hint[:] = 3
        parts.append((col, rng.random(n) < 0.7))
    out, seen = dense.add(parts)
    for i in range(n):
        group = native.HistogramGroup("sum")
        for col, present in parts:
            if present[i]:
                group.add(col[i], "x", [])
        want = group.result()
        assert seen[i] == (want is not None)
        if want is not None:
            assert same(out[i], want)


@pytest.mark.parametrize("seed", range(5))
def test_dense_quantile_is_the_per_sample_quantile(seed):
    rng = np.random.default_rng(200 + seed)
    custom = (0.25, 1.0, 4.0) if seed == 4 else ()
    col = counter_column(rng, 50, 4 if custom else 7, resets=0, custom=custom)
    if not custom:
        col.neg = rng.integers(0, 4, size=(50, 3)).astype(float)
        col.neg_first = -1
        col.count = col.count + col.neg.sum(axis=1)
    present = rng.random(50) < 0.9
    for q in (0, 0.01, 0.25, 0.5, 0.9, 0.99, 1, -0.5, 1.5, math.nan):
        vals, infos = dense.quantile(np.full(50, q), col, present)
        for i in range(50):
            if not present[i]:
                continue
            want, _ = histogram_quantile(q, col[i])
            assert (math.isnan(want) and math.isnan(vals[i])) or bits(vals[i]) == bits(want), (q, i)


def test_gauge_hints_and_nan_sums_take_the_per_sample_path():
    rng = np.random.default_rng(7)
    col = counter_column(rng, 10, 3, resets=0)
    col.hint[3] = 3
    ts = np.arange(10, dtype=np.int64) * 1000
    assert dense.rate(col, ts, np.array([0]), np.array([10]), np.array([0]), np.array([10_000]),
                      10_000, True, True) is None
    col.sum[2] = math.nan
    assert dense.quantile(np.array(0.5), col, np.ones(10, bool)) is None
