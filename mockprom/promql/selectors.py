"""Series selection for all steps at once: instant vector selectors (lookback and
staleness), range selectors and the windows of subqueries.

Prometheus semantics (``promql/engine.go``): an instant selector at reference time ``r``
takes the newest sample with timestamp in ``(r - lookback, r]`` unless that sample is a
staleness marker; a range selector takes the samples in ``(r - range, r]`` with staleness
markers dropped. Prometheus 3 made both windows left-open; 2.42 includes the left edge
(``[r - lookback, r]``): ``left_open`` (``EvalRules.left_open``) says which. The
reference time is the step time, or the ``@`` time, minus the offset.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from mockprom.promql.errors import EvalError
from mockprom.promql.steps import EvalContext, RangeSeries, StepSeries
from mockprom.scenario.samples import STALE_BITS, is_stale, stale_mask
from mockprom.scenario.store import TooManySamples

# Prometheus's default --query.max-samples: past it a query fails (422) instead of
# exhausting memory.
MAX_SAMPLES = 50_000_000
# A subquery's inner steps are evaluated as dense arrays: cap their number well below
# what would exhaust memory (Prometheus would often allow more, counting only samples).
MAX_SUBQUERY_STEPS = 5_000_000
TOO_MANY_SAMPLES = ("query processing would load too many samples into memory in "
                    "query execution")


def reference_times(ctx: EvalContext, offset_ms: int, at_ms: Optional[int],
                    at_edge: Optional[str]) -> np.ndarray:
    """The time each step looks at: the step (or the fixed ``@`` time) minus the offset."""
    if at_edge == "start":
        base = np.full(ctx.n, ctx.start_ms, dtype=np.int64)
    elif at_edge == "end":
        base = np.full(ctx.n, ctx.end_ms, dtype=np.int64)
    elif at_ms is not None:
        base = np.full(ctx.n, at_ms, dtype=np.int64)
    else:
        base = ctx.steps.astype(np.int64, copy=False)
    return base - np.int64(offset_ms)


def _no_check() -> None:
    return None


def _select(store, matchers, mint: int, maxt: int, sort: bool = True):
    """``store.select`` within the sample budget: a selection that would hold more than
    ``MAX_SAMPLES`` samples fails as Prometheus's query.max-samples makes it fail, before
    anything is built. ``sort``: by labels, or in the store's order (3.x's head)."""
    try:
        return store.select(matchers, mint, maxt, max_samples=MAX_SAMPLES, histograms=True,
                            sort=sort)
    except TooManySamples:
        raise EvalError(TOO_MANY_SAMPLES) from None


def select_instant(store, matchers, refs: np.ndarray, lookback_ms: int,
                   check=_no_check, left_open: bool = True,
                   sort: bool = True, fetch_end: Optional[int] = None) -> list[StepSeries]:
    """The instant vector of ``matchers`` at every reference time. ``check`` is called
    now and then (the evaluator's timeout check); ``sort``: series by labels, or in the
    store's order; ``fetch_end``: no sample after this time is fetched."""
    if len(refs) == 0:
        return []
    mint = int(refs.min()) - lookback_ms
    maxt = int(refs.max()) if fetch_end is None else min(int(refs.max()), fetch_end)
    out = []
    window_start = refs - np.int64(lookback_ms)
    one = int(refs[0]) if len(refs) == 1 else None
    for i, sd in enumerate(_select(store, matchers, mint, maxt, sort)):
        if i % 16 == 15:
            check()
        if one is not None and sd.hists is None:
            step = _instant_one(sd, one, one - lookback_ms, left_open)
        else:
            step = _instant_steps(sd, refs, window_start, left_open)
        if step is not None:
            out.append(step)
    return out


def _instant_steps(sd, refs: np.ndarray, window_start: np.ndarray,
                   left_open: bool) -> Optional[StepSeries]:
    """One selected series at every reference time (None: present at none)."""
    ts, vals = sd.ts, sd.vals
    idx = ts.searchsorted(refs, side="right") - 1
    found = idx >= 0
    idx = np.maximum(idx, 0)
    sample_ts = ts[idx]
    picked = vals[idx]
    inside = (sample_ts > window_start) if left_open else (sample_ts >= window_start)
    hists = None if sd.hists is None else sd.hists[idx]
    present = found & inside & ~_stale(picked, hists)
    if present.any():
        return StepSeries(sd.labels, picked, present, sample_ts=sample_ts, hists=hists)
    return None


def _instant_one(sd, ref: int, window_start: int, left_open: bool) -> Optional[StepSeries]:
    """``_instant_steps`` for a single reference time and float samples (an instant
    query): the same series, worked out on scalars."""
    ts = sd.ts
    j = int(ts.searchsorted(ref, side="right")) - 1
    if j < 0:
        return None
    t = int(ts[j])
    if t <= window_start if left_open else t < window_start:
        return None
    if int(sd.vals[j:j + 1].view(np.uint64)[0]) == STALE_BITS:
        return None
    return StepSeries(sd.labels, sd.vals[j:j + 1].copy(), np.ones(1, dtype=bool),
                      sample_ts=ts[j:j + 1].copy(), hists=None)


def _stale(vals: np.ndarray, hists) -> np.ndarray:
    """Staleness markers: float ones, and histograms whose sum is the marker (as
    remote-write senders mark a native histogram series stale)."""
    stale = stale_mask(vals)
    if isinstance(hists, np.ndarray):
        for i, h in enumerate(hists):
            if h is not None and h.sum != h.sum and is_stale(h.sum):
                stale[i] = True
    return stale


def windows(ts: np.ndarray, refs: np.ndarray, range_ms: int,
            left_open: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Per step, the index range ``[lo, hi)`` of ``ts`` inside ``(ref - range, ref]``
    (``[ref - range, ref]`` unless ``left_open``)."""
    lo = ts.searchsorted(refs - np.int64(range_ms),
                         side="right" if left_open else "left").astype(np.int64, copy=False)
    hi = ts.searchsorted(refs, side="right").astype(np.int64, copy=False)
    return lo, hi


def select_range(store, matchers, refs: np.ndarray, range_ms: int,
                 check=_no_check, left_open: bool = True,
                 sort: bool = True, fetch_end: Optional[int] = None) -> list[RangeSeries]:
    """The range vector ``matchers[range]`` for every reference time (stale markers
    dropped; no sample after ``fetch_end``). Series without any sample in any window are
    left out."""
    if len(refs) == 0:
        return []
    mint = int(refs.min()) - range_ms
    maxt = int(refs.max()) if fetch_end is None else min(int(refs.max()), fetch_end)
    out = []
    loaded = 0
    for i, sd in enumerate(_select(store, matchers, mint, maxt, sort)):
        if i % 16 == 15:
            check()
        ts, vals = sd.ts, sd.vals
        loaded += len(ts)
        if loaded > MAX_SAMPLES:
            raise EvalError(TOO_MANY_SAMPLES)
        hists = sd.hists
        stale = _stale(vals, hists)
        if stale.any():
            keep = ~stale
            ts, vals = ts[keep], vals[keep]
            hists = None if hists is None else hists[keep]
        if len(ts) == 0:
            continue
        lo, hi = windows(ts, refs, range_ms, left_open)
        if np.any(hi > lo):
            out.append(RangeSeries(sd.labels, ts, vals, lo, hi, hists))
    return out


def slide_at_windows(series: list[RangeSeries], refs: np.ndarray, range_ms: int,
                     steps: np.ndarray, left_open: bool = True) -> list[RangeSeries]:
    """2.42's windows of a range selector with ``@`` evaluated step by step (see
    ``EvalRules.at_windows_slide``): the right edge stays at the reference time ``refs``
    (the ``@`` time minus the offset), the left edge ``ref - range`` moves on by the time
    since the first step."""
    if len(steps) < 2:
        return series
    left = refs - np.int64(range_ms) + (steps - steps[0])
    side = "right" if left_open else "left"
    return [RangeSeries(rs.labels, rs.ts, rs.vals,
                        np.minimum(np.searchsorted(rs.ts, left, side=side).astype(np.int64),
                                   rs.hi), rs.hi, rs.hists)
            for rs in series]


def subquery_grid(refs: np.ndarray, range_ms: int, step_ms: int,
                  strictly_after: bool = True) -> np.ndarray:
    """The absolute times a subquery evaluates its inner expression at: multiples of the
    step from the first one after (``strictly_after``) or at or after ``min(refs) -
    range`` up to ``max(refs)``."""
    if len(refs) == 0:
        return np.zeros(0, dtype=np.int64)
    first = int(refs.min()) - range_ms
    first = (first + (1 << 63)) % (1 << 64) - (1 << 63)  # Go's int64 arithmetic wraps
    start = first_subquery_step(first, step_ms, strictly_after)
    end = int(refs.max())
    if end < start:
        return np.zeros(0, dtype=np.int64)
    if (end - start) // step_ms + 1 > MAX_SUBQUERY_STEPS:
        raise EvalError(TOO_MANY_SAMPLES)
    return np.arange(start, end + 1, step_ms, dtype=np.int64)


def first_subquery_step(edge_ms: int, step_ms: int, strictly_after: bool) -> int:
    """The first multiple of ``step_ms`` after ``edge_ms`` (or at it, unless
    ``strictly_after``)."""
    if strictly_after:
        return (edge_ms // step_ms + 1) * step_ms
    return -((-edge_ms) // step_ms) * step_ms  # ceil to a multiple of the step


def series_to_range(series: list[StepSeries], grid: np.ndarray, refs: np.ndarray,
                    range_ms: int, left_open: bool = True) -> list[RangeSeries]:
    """Turn an inner expression evaluated on ``grid`` into a range vector whose windows
    are ``(ref - range, ref]`` (``[ref - range, ref]`` unless ``left_open``)."""
    out = []
    for s in series:
        present = s.present
        ts = grid[present]
        if len(ts) == 0:
            continue
        vals = np.asarray(s.vals, dtype=np.float64)[present]
        hists = None if s.hists is None else unknown_resets(s.hists[present])
        lo, hi = windows(ts, refs, range_ms, left_open)
        if np.any(hi > lo):
            out.append(RangeSeries(s.labels, ts, vals, lo, hi, hists))
    return out


def unknown_resets(hists):
    """A subquery's histograms with their ``CounterReset``/``NotCounterReset`` hints made
    unknown (Prometheus's ``evalSubquery``: the subquery may skip or repeat samples)."""
    from mockprom.histograms.column import HistogramColumn
    from mockprom.promql.native import drop_hint_for_subquery

    if isinstance(hists, HistogramColumn):
        col = hists[np.arange(len(hists))]
        col.hint = np.where((col.hint == 1) | (col.hint == 2), 0, col.hint).astype(np.int8)
        return col
    out = np.empty(len(hists), dtype=object)
    out[:] = [None if h is None else drop_hint_for_subquery(h) for h in hists]
    return out
