"""Range-vector plumbing shared by the functions of a matrix argument.

A ``RangeSeries`` holds one series' samples and, per step, the index range of its window.
Functions process many series at once: ``batches`` lays several series side by side as
``Lanes`` (lane = one step of one series), so each numpy call serves thousands of windows
(for an instant query, every series at once). Sequential algorithms (Kahan sums, Welford,
Holt-Winters) advance "column by column" over the k-th sample of every window, so their
results are bit-for-bit those of Prometheus's per-window loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mockprom.promql import deadline
from mockprom.promql import nodes as n
from mockprom.promql.selectors import reference_times
from mockprom.promql.steps import EvalContext, RangeSeries, StepSeries


def unwrap(expr):
    while isinstance(expr, n.ParenExpr):
        expr = expr.expr
    return expr


def range_bounds(ctx: EvalContext, arg) -> tuple[np.ndarray, np.ndarray, int]:
    """Per step, Prometheus's ``rangeStart``/``rangeEnd`` of a matrix argument (a range
    selector or a subquery), and its range in ms."""
    arg = unwrap(arg)
    if isinstance(arg, n.MatrixSelector):
        vs = arg.selector
        end = reference_times(ctx, vs.offset_ms, vs.at_ms, vs.at_edge)
        rng = arg.range_ms
    elif isinstance(arg, n.SubqueryExpr):
        end = reference_times(ctx, arg.offset_ms, arg.at_ms, arg.at_edge)
        rng = arg.range_ms
    else:  # not reachable through the parser; behave as a plain window at the step
        end = np.asarray(ctx.steps, dtype=np.int64)
        rng = 0
    return end - np.int64(rng), end, rng


def go_seconds(ms: int) -> float:
    """``time.Duration.Seconds()`` of a duration given in ms."""
    nanos = int(ms) * 1_000_000
    sec, rem = int(nanos / 1_000_000_000), nanos - int(nanos / 1_000_000_000) * 1_000_000_000
    return float(sec) + float(rem) / 1e9


def counts(rs: RangeSeries) -> np.ndarray:
    return (rs.hi - rs.lo).astype(np.int64)


def columns(rs: RangeSeries, start: int = 0):
    """Yield ``(active, idx)`` for k = start, start+1, ...: the steps whose window has a
    k-th sample, and that sample's index (clipped where inactive)."""
    cnt = counts(rs)
    if len(cnt) == 0:
        return
    last = max(len(rs.vals) - 1, 0)
    for k in range(start, int(cnt.max())):
        active = cnt > k
        idx = np.minimum(rs.lo + k, last)
        yield active, idx


def kahan_inc(inc, total, c, inf_resets: bool = False):
    """Neumaier-compensated ``total + inc`` (Prometheus's ``kahanSumInc``), vectorised.
    ``inf_resets``: Prometheus 3 zeroes the compensation once the sum is infinite."""
    t = total + inc
    big = np.abs(total) >= np.abs(inc)
    c = c + np.where(big, (total - t) + inc, (inc - t) + total)
    if inf_resets:
        c = np.where(np.isinf(t), 0.0, c)
    return t, c


def out_series(rs: RangeSeries, vals, present) -> StepSeries:
    """A function's output for one range series, with its labels (the engine drops the
    name where the function does)."""
    return StepSeries(rs.labels, np.asarray(vals, dtype=np.float64), np.asarray(present, bool))


@dataclass
class Lanes(RangeSeries):
    """Several range series side by side as one: lane ``j * n_steps + i`` is step ``i``
    of series ``j``; ``step`` maps each lane to its step (for per-step arguments)."""

    step: np.ndarray = None


LANES_PER_BATCH = 8_192  # keeps the per-column arrays small enough to stay in cache


def batches(series: list[RangeSeries], n_steps: int):
    """Yield ``(group, lanes)``: consecutive series concatenated into ``Lanes``, so that
    one numpy call serves many series (instant queries: all series at once)."""
    per = max(1, LANES_PER_BATCH // max(n_steps, 1))
    for at in range(0, len(series), per):
        group = series[at:at + per]
        sizes = np.array([len(rs.ts) for rs in group], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        lanes = Lanes(
            (), np.concatenate([rs.ts for rs in group]),
            np.concatenate([np.asarray(rs.vals, np.float64) for rs in group]),
            np.concatenate([rs.lo + off for rs, off in zip(group, offsets)]),
            np.concatenate([rs.hi + off for rs, off in zip(group, offsets)]),
            step=np.tile(np.arange(n_steps), len(group)))
        yield group, lanes


def per_series(args, fn, min_samples: int = 1):
    """Apply ``fn(lanes, cnt) -> values`` to the range series in batches; each output
    series is present where its window holds at least ``min_samples`` samples."""
    out = []
    if not args:
        return out
    n_steps = len(args[0].lo)
    with np.errstate(all="ignore"):
        for group, lanes in batches(args, n_steps):
            deadline.check()
            cnt = counts(lanes)
            if not (cnt >= min_samples).any():
                continue
            vals = fn(lanes, cnt)
            for j, rs in enumerate(group):
                part = slice(j * n_steps, (j + 1) * n_steps)
                present = cnt[part] >= min_samples
                if present.any():
                    out.append(out_series(rs, vals[part], present))
    return out


def first_last(rs: RangeSeries, cnt):
    n_vals = len(rs.vals)
    if n_vals == 0:
        z = np.zeros(len(cnt))
        return z, z, np.zeros(len(cnt), np.int64), np.zeros(len(cnt), np.int64)
    lo = np.minimum(rs.lo, n_vals - 1)
    hi1 = np.clip(rs.hi - 1, 0, n_vals - 1)
    return rs.vals[lo], rs.vals[hi1], rs.ts[lo], rs.ts[hi1]


def padded_columns(rs: RangeSeries, pad: float):
    """Like ``columns`` but over ``vals`` with ``pad`` appended: steps whose window has
    no k-th sample read the pad (for algorithms where the pad is a no-op)."""
    cnt = counts(rs)
    vals = np.append(rs.vals, pad)
    pad_idx = len(rs.vals)
    lo = rs.lo.astype(np.int64)
    for k in range(int(cnt.max()) if len(cnt) else 0):
        deadline.check()
        yield vals[np.where(cnt > k, lo + k, pad_idx)]


def window_matrix(rs: RangeSeries, rows: np.ndarray, pad: float) -> np.ndarray:
    """The windows of steps ``rows`` as a 2-D array, one row per step, padded."""
    deadline.check()
    cnt = counts(rs)[rows]
    width = int(cnt.max()) if len(rows) else 0
    vals = np.append(rs.vals, pad)
    k = np.arange(width)
    idx = np.where(k[None, :] < cnt[:, None], rs.lo[rows][:, None] + k[None, :], len(rs.vals))
    return vals[idx]
