"""Native histograms in PromQL as Prometheus 2.42 evaluated them (the ``native_promql``
behaviour table says which line does this).

2.42's engine carried a sample as a point ``{T, V, H}``: a native histogram sample is a
point whose float ``V`` is 0 beside its histogram ``H``. Only a few places looked at
``H``: vector selectors, ``rate``/``increase``/``delta`` (a window that starts with a
histogram), ``sum``, ``+`` between two histograms, ``histogram_count``/``_sum``/
``_quantile``/``_fraction`` (linear interpolation) and the functions that pass whole
points on (``sort``, ``sort_desc``). Everything else computed with ``V``: ``abs`` of a
histogram is 0, ``min`` sees a 0, ``count_values`` counts a ``"0"``; arithmetic with a
scalar changed ``V`` and kept ``H`` (so ``h * 2`` answers ``h``, unchanged), as did unary
minus; two vectors' ``-``, ``*``, comparisons answered the float result. No annotations.
The functions here are the 2.42 halves of ``functions_native``, ``aggregations_native``
and ``binops_native``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mockprom import versions
from mockprom.histograms import HistogramColumn
from mockprom.histograms import quantile_2_42
from mockprom.promql import native
from mockprom.promql.steps import RangeSeries, StepSeries, hist_mask


@dataclass(frozen=True)
class NativePromQL:
    # a histogram sample is a float point of value 0 that carries a histogram (2.42)
    points: bool


RULES = versions.table("native_promql", {
    "2.42": NativePromQL(points=True),
    "3.5": NativePromQL(points=False),
})


def applies(ctx) -> bool:
    return RULES[ctx.emulation].points


# -- values --------------------------------------------------------------------------------

def zeroed_vals(vals, hists, n: int) -> np.ndarray:
    """``V``: the floats with 0 where a histogram is."""
    vals = np.asarray(vals, dtype=np.float64)
    if hists is None:
        return vals
    return np.where(hist_mask(hists, n), 0.0, vals)


def as_floats(s: StepSeries) -> StepSeries:
    """``s`` as 2.42's float-only code sees it: every step present, histograms as 0."""
    if s.hists is None:
        return s
    return StepSeries(s.labels, zeroed_vals(s.vals, s.hists, len(s.present)), s.present,
                      s.sample_ts, s.drop_name, s.name_pending)


def as_float_range(rs: RangeSeries) -> RangeSeries:
    if rs.hists is None:
        return rs
    return RangeSeries(rs.labels, rs.ts, zeroed_vals(rs.vals, rs.hists, len(rs.ts)),
                       rs.lo, rs.hi)


def _object_hists(hists, n: int) -> np.ndarray:
    if isinstance(hists, HistogramColumn):
        return hists.to_objects()
    return hists


# -- functions -------------------------------------------------------------------------------

RATES = {"rate": (True, True), "increase": (True, False), "delta": (False, False)}
KEEP_POINTS = frozenset({"sort", "sort_desc"})


def call(fdef, ctx, args, e, impl) -> list:
    """``fdef`` on arguments holding native histograms, as 2.42 evaluates it;
    ``impl(args)`` runs the function's float implementation."""
    name = fdef.name
    if name == "histogram_quantile":
        return _per_histogram(ctx, args, 1, lambda i, h: quantile_2_42.histogram_quantile(
            float(args[0][i]), h), impl)
    if name == "histogram_fraction":
        return _per_histogram(ctx, args, 2, lambda i, h: quantile_2_42.histogram_fraction(
            float(args[0][i]), float(args[1][i]), h), impl)
    floats = [([as_float_range(a) for a in arg] if arg and isinstance(arg[0], RangeSeries)
               else [as_floats(a) for a in arg]) if isinstance(arg, list) and arg and
              hasattr(arg[0], "hists") else arg for arg in args]
    out = impl(floats)
    if name in RATES:
        return _rates(ctx, e, args[0], out)
    if name in KEEP_POINTS:
        by_labels = {s.labels: s.hists for s in args[0]}
        return [StepSeries(s.labels, s.vals, s.present, s.sample_ts, s.drop_name,
                           s.name_pending, by_labels.get(s.labels)) for s in out]
    return out


def _per_histogram(ctx, args, vi: int, fn, impl) -> list:
    """``histogram_quantile``/``histogram_fraction``: classic buckets by the float
    implementation, native histograms by ``fn(step, h)``."""
    vec = args[vi]
    plain = [StepSeries(s.labels, s.vals, s.present & ~hist_mask(s.hists, ctx.n),
                        s.sample_ts, s.drop_name, s.name_pending) if s.hists is not None
             else s for s in vec]
    out = impl(list(args[:vi]) + [plain] + list(args[vi + 1:]))
    for s in vec:
        if s.hists is None:
            continue
        steps = s.present & hist_mask(s.hists, ctx.n)
        if not steps.any():
            continue
        vals = np.full(ctx.n, np.nan)
        for i in np.flatnonzero(steps):
            vals[i] = fn(i, s.hists[i])
        out.append(StepSeries(s.labels, vals, steps))
    return out


def _rates(ctx, e, series, floats_out) -> list:
    """``extrapolatedRate`` of 2.42: a window whose first sample is a histogram gives the
    histogram rate when all its samples are histograms (else nothing); any other window
    the float rate of the ``V``s (histograms counting as 0)."""
    from mockprom.promql.functions_windows import range_bounds

    is_counter, is_rate = RATES[e.func]
    start, end, rng = range_bounds(ctx, e.args[0])
    by_labels = {s.labels: s for s in floats_out}
    out = []
    for rs in series:
        f = by_labels.get(rs.labels)
        if rs.hists is None:
            if f is not None:
                out.append(f)
            continue
        hm = hist_mask(rs.hists, len(rs.ts))
        vals = np.full(ctx.n, np.nan) if f is None else np.array(f.vals, dtype=np.float64)
        present = np.zeros(ctx.n, bool) if f is None else np.array(f.present)
        hists = np.full(ctx.n, None, dtype=object)
        objs = _object_hists(rs.hists, len(rs.ts))
        for i in range(ctx.n):
            lo, hi = int(rs.lo[i]), int(rs.hi[i])
            if hi - lo < 2 or not hm[lo]:
                continue
            present[i] = False
            if not hm[lo:hi].all():
                continue
            h = native.extrapolated_rate(rs.ts[lo:hi].tolist(), list(objs[lo:hi]),
                                         int(start[i]), int(end[i]), rng, is_counter,
                                         is_rate, "", [])
            if h is not None:
                hists[i], present[i] = h, True
        if present.any():
            out.append(StepSeries(rs.labels, vals, present,
                                  hists=hists if any(h is not None for h in hists) else None))
    return out


# -- aggregations ----------------------------------------------------------------------------

def aggregate(e, vec: list, param, ctx, float_aggregate, groups_of) -> list:
    """``sum`` adds histograms (a group mixing floats and histograms at a step has no
    value there); every other aggregation works on the ``V``s."""
    if e.op != "sum":
        return float_aggregate(e, [as_floats(s) for s in vec], param, ctx)
    # 3.5's sum does the same (a mixed step dropped, histograms added with schema
    # reduction); 2.42 words no annotations, which this line's rules leave out anyway.
    from mockprom.promql.aggregations_native import sum_avg

    return sum_avg(e, vec, param, ctx, float_aggregate, groups_of)


# -- binary operators ------------------------------------------------------------------------

def elementwise(op: str, lvals, lhists, rvals, rhists, steps, ctx, scalar_side: bool):
    """``(value, keep, valid, hists, bool_hists)`` as 2.42's ``VectorscalarBinop`` (the
    vector's point keeps its histogram whatever the operator, ``bool`` too) or
    ``VectorBinop`` (only ``+`` of two histograms gives one) compute them."""
    from mockprom.promql.binops import elem_op
    from mockprom.promql import nodes as n

    n_steps = len(steps)
    lv = zeroed_vals(lvals, lhists, n_steps)
    rv = zeroed_vals(rvals, rhists, n_steps)
    value, keep = elem_op(op, lv, rv)
    valid = np.ones(n_steps, dtype=bool)
    if scalar_side:
        vec_hists = lhists if lhists is not None else rhists
        if op in n.COMPARISON_OPS:
            value = lv if lhists is not None else rv
        return value, keep, valid, vec_hists, vec_hists
    if op != "+" or lhists is None or rhists is None:
        return value, keep, valid, None, None
    both = steps & hist_mask(lhists, n_steps) & hist_mask(rhists, n_steps)
    if not both.any():
        return value, keep, valid, None, None
    hists = np.full(n_steps, None, dtype=object)
    for i in np.flatnonzero(both):
        a, b = lhists[i], rhists[i]
        # the histogram added must have the larger schema (the finer resolution)
        hists[i] = (a.copy().add(b) if b.schema >= a.schema else b.copy().add(a)).compact(0)
    return value, keep, valid, hists, None


def negate(s: StepSeries) -> StepSeries:
    """Unary minus: ``V`` negated, the histogram kept as it is."""
    return StepSeries(s.labels, -zeroed_vals(s.vals, s.hists, len(s.present)), s.present,
                      None, s.drop_name, s.name_pending, s.hists)


__all__ = ["RULES", "aggregate", "applies", "as_floats", "call", "elementwise", "negate"]
