"""``rate``/``increase``/``delta`` (Prometheus's extrapolation, as the emulated line
orders its steps), ``irate``/``idelta``, ``changes`` and ``resets``. All drop the metric
name."""

from __future__ import annotations

import numpy as np

from mockprom.promql import annotations
from mockprom.promql.functions import register
from mockprom.promql.functions_windows import (
    RangeSeries, first_last, go_seconds, per_series, range_bounds)
from mockprom.scenario.labels import METRIC_NAME


def counter_increase(rs: RangeSeries, cnt: np.ndarray, result: np.ndarray) -> np.ndarray:
    """``last - first`` plus, for each counter reset inside the window, the value before
    it, added in window order as Prometheus does: the j-th reset of every window at once."""
    v = rs.vals
    if len(v) < 2:
        return result
    resets = np.flatnonzero(v[1:] < v[:-1]) + 1  # sample j is below sample j - 1
    if len(resets) == 0:
        return result
    first = np.searchsorted(resets, rs.lo + 1, side="left")
    stop = np.searchsorted(resets, rs.hi, side="left")
    n_resets = np.where(cnt >= 2, stop - first, 0)
    acc = result.copy()
    for k in range(int(n_resets.max())):
        active = n_resets > k
        pos = resets[np.minimum(first + k, len(resets) - 1)]
        acc = np.where(active, acc + v[pos - 1], acc)
    return acc


def extrapolated_rate(ctx, args, call, is_counter: bool, is_rate: bool):
    """Prometheus's ``extrapolatedRate``, for every step at once. A counter's start is
    limited by its zero point after (2.42) or before (3.x) the extrapolation threshold
    is applied (``EvalRules.rate_threshold_first``)."""
    range_start, range_end, rng = range_bounds(ctx, call.args[0])
    range_seconds = go_seconds(rng)
    threshold_first = ctx.rules.rate_threshold_first

    def fn(rs, cnt):
        first, last, first_t, last_t = first_last(rs, cnt)
        result = last - first
        if is_counter:
            result = counter_increase(rs, cnt, result)
        duration_to_start = (first_t - range_start[rs.step]).astype(np.float64) / 1000
        duration_to_end = (range_end[rs.step] - last_t).astype(np.float64) / 1000
        sampled = (last_t - first_t).astype(np.float64) / 1000
        avg = sampled / (cnt - 1).astype(np.float64)
        threshold = avg * 1.1
        if threshold_first:
            duration_to_start = np.where(duration_to_start < threshold, duration_to_start,
                                         avg / 2)
        if is_counter:
            to_zero = sampled * (first / result)
            use_zero = (result > 0) & (first >= 0) & (to_zero < duration_to_start)
            duration_to_start = np.where(use_zero, to_zero, duration_to_start)
        if not threshold_first:
            duration_to_start = np.where(duration_to_start < threshold, duration_to_start,
                                         avg / 2)
        interval = sampled + duration_to_start
        interval = interval + np.where(duration_to_end < threshold, duration_to_end, avg / 2)
        factor = interval / sampled
        if is_rate:
            factor = factor / range_seconds
        return result * factor

    return per_series(args[0], fn, min_samples=2)


COUNTER_SUFFIXES = ("_total", "_sum", "_count", "_bucket")


def note_possible_non_counters(ctx, out, call) -> None:
    """Prometheus 3's info on ``rate``/``increase`` of a series that may not be a
    counter: its name lacks a counter suffix, or, with ``type-and-unit-labels``, its
    ``__type__`` label is not ``counter``."""
    if not ctx.rules.annotations:
        return
    by_type = ctx.emulation.has("type-and-unit-labels")
    pos = annotations.arg_pos(call, 0)
    for s in out:
        d = dict(s.labels)
        name = d.get(METRIC_NAME, "")
        if not name:
            continue
        if by_type:
            kind = d.get("__type__", "")
            if kind not in ("counter", "histogram"):
                ctx.info(annotations.possible_non_counter_label(name, kind), pos)
        elif not name.endswith(COUNTER_SUFFIXES):
            ctx.info(annotations.possible_non_counter(name), pos)


@register("rate", ("matrix",))
def rate(ctx, args, call):
    out = extrapolated_rate(ctx, args, call, True, True)
    note_possible_non_counters(ctx, out, call)
    return out


@register("increase", ("matrix",))
def increase(ctx, args, call):
    out = extrapolated_rate(ctx, args, call, True, False)
    note_possible_non_counters(ctx, out, call)
    return out


@register("delta", ("matrix",))
def delta(ctx, args, call):
    return extrapolated_rate(ctx, args, call, False, False)


def instant_value(args, is_rate: bool):
    """``irate``/``idelta``: from the last two samples of each window."""

    def fn(rs, cnt):
        last_i = np.clip(rs.hi - 1, 1, max(len(rs.vals) - 1, 1))
        last, prev = rs.vals[last_i], rs.vals[last_i - 1]
        if not is_rate:
            return last - prev
        dt = (rs.ts[last_i] - rs.ts[last_i - 1]).astype(np.float64)
        return np.where(last < prev, last, last - prev) / (dt / 1000)

    return per_series(args[0], fn, min_samples=2)


@register("irate", ("matrix",))
def irate(ctx, args, call):
    return instant_value(args, True)


@register("idelta", ("matrix",))
def idelta(ctx, args, call):
    return instant_value(args, False)


# -- counting changes -----------------------------------------------------------------

def _pair_counts(rs: RangeSeries, cnt, pair_flags: np.ndarray) -> np.ndarray:
    """Per window, how many adjacent sample pairs inside it have ``pair_flags[j]`` set
    (flag j concerns samples j-1 and j)."""
    prefix = np.concatenate([[0], np.cumsum(pair_flags)])
    lo = rs.lo.astype(np.int64)
    hi = rs.hi.astype(np.int64)
    # pairs (j-1, j) with lo < j < hi
    return np.where(cnt >= 1, prefix[np.maximum(hi, lo)] - prefix[np.minimum(lo + 1, hi)], 0)


@register("changes", ("matrix",))
def changes(ctx, args, call):
    def fn(rs, cnt):
        v = rs.vals
        flags = np.zeros(len(v), dtype=np.int64)
        if len(v) > 1:
            cur, prev = v[1:], v[:-1]
            flags[1:] = (cur != prev) & ~(np.isnan(cur) & np.isnan(prev))
        return _pair_counts(rs, cnt, flags).astype(np.float64)

    return per_series(args[0], fn)


@register("resets", ("matrix",))
def resets(ctx, args, call):
    def fn(rs, cnt):
        v = rs.vals
        flags = np.zeros(len(v), dtype=np.int64)
        if len(v) > 1:
            flags[1:] = v[1:] < v[:-1]
        return _pair_counts(rs, cnt, flags).astype(np.float64)

    return per_series(args[0], fn)
