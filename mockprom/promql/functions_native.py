"""PromQL functions over native histograms (Prometheus 3.5's ``promql/functions.go``).

The ``histogram_*`` functions are registered here. Every other function meets native
histograms through ``call``, which the engine uses when an argument holds some
(``applies``): the float part of the input goes through the function's own float
implementation, the histogram part through ``promql.native`` (or, for whole columns,
``histograms.dense``), and the two are merged step by step as Prometheus decides for
that function (a window mixing floats and histograms: a warning for ``rate``, the floats
alone with an info for ``max_over_time``...). Functions that only read values of floats
(``abs``, ``sort``...) drop histogram samples silently, as Prometheus's ``simpleFunc``.
"""

from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np

from mockprom.histograms import FloatHistogram, HistogramColumn, dense
from mockprom.histograms.quantile import (histogram_fraction as frac_of,
                                          histogram_quantile as quantile_of,
                                          histogram_variance)
from mockprom.promql import annotations, native, native_2_42
from mockprom.promql.functions import FUNCTIONS, register
from mockprom.promql.functions_windows import go_seconds, range_bounds
from mockprom.promql.steps import (RangeSeries, StepSeries, float_samples, float_steps,
                                   has_histograms, hist_mask)
from mockprom.scenario.labels import METRIC_NAME

BUCKET_LABEL = "le"

# Vector functions that keep histogram samples as they are (labels, order, time).
PASS_THROUGH = frozenset({"timestamp", "label_replace", "label_join", "sort_by_label",
                          "sort_by_label_desc", "absent", "info"})
# Range functions that count or time samples of both kinds.
ALL_SAMPLES = frozenset({"count_over_time", "present_over_time", "absent_over_time"})
# Range functions of floats only: histograms left out, an info when a window has both.
FLOATS_WITH_INFO = frozenset({"min_over_time", "max_over_time", "stddev_over_time",
                              "stdvar_over_time", "quantile_over_time", "mad_over_time",
                              "ts_of_min_over_time", "ts_of_max_over_time"})
# ... and those that need two floats (an info also when one float meets histograms).
TWO_FLOATS_WITH_INFO = frozenset({"deriv", "predict_linear", "double_exponential_smoothing",
                                  "holt_winters"})
RATES = {"rate": (True, True), "increase": (True, False), "delta": (False, False)}


def applies(name: str, args) -> bool:
    """Whether ``call`` must handle this call: a histogram function, or an argument
    holding native histograms."""
    if name in _OWN:
        return False  # registered implementations handle histograms themselves
    return any(isinstance(a, list) and a and hasattr(a[0], "hists") and has_histograms(a)
               for a in args)


def _metric(labels) -> str:
    return dict(labels).get(METRIC_NAME, "")


def _note(ctx, annos, pos) -> None:
    for kind, arg in annos:
        text = native.annotation_text(kind, arg)
        (ctx.warn if native.is_warning(kind) else ctx.info)(text, pos)


def _steps_hist(s: StepSeries, i: int):
    """The histogram of ``s`` at step ``i`` (None when a float or absent)."""
    if s.hists is None or not s.present[i]:
        return None
    return s.hists[i]


def _sample_hist(rs: RangeSeries, j: int):
    if rs.hists is None:
        return None
    return rs.hists[j]


def _histogram_steps(labels, n: int, values: dict) -> StepSeries:
    """A series of histogram results: ``values`` maps step -> FloatHistogram."""
    hists = np.full(n, None, dtype=object)
    present = np.zeros(n, dtype=bool)
    for i, h in values.items():
        hists[i] = h
        present[i] = True
    return StepSeries(labels, np.full(n, np.nan), present, hists=hists)


def _merge(labels, n: int, floats: Optional[StepSeries], keep_float: np.ndarray,
           hist_values: dict, float_values: dict = None) -> Optional[StepSeries]:
    """One output series: the float result where ``keep_float``, histograms (and extra
    floats) at the steps of ``hist_values`` (``float_values``)."""
    vals = np.full(n, np.nan)
    present = np.zeros(n, dtype=bool)
    if floats is not None:
        use = keep_float & floats.present
        vals = np.where(use, floats.vals, vals)
        present |= use
    for i, v in (float_values or {}).items():
        vals[i], present[i] = v, True
    hists = None
    if hist_values:
        hists = np.full(n, None, dtype=object)
        for i, h in hist_values.items():
            hists[i] = h
            present[i] = True
    if not present.any():
        return None
    return StepSeries(labels, vals, present, hists=hists)


# -- the engine's entry point -------------------------------------------------------------

def call(fdef, ctx, args, e, evaluator=None) -> list:
    """``fdef`` applied to arguments that hold native histograms, as Prometheus does."""
    if native_2_42.applies(ctx):
        return native_2_42.call(fdef, ctx, args, e, lambda a: _impl(fdef, ctx, a, e, evaluator))
    name = fdef.name
    matrix_i = next((i for i, t in enumerate(fdef.arg_types) if t == "matrix"), None)
    if matrix_i is not None and matrix_i < len(args):
        return _range_call(fdef, ctx, args, e, matrix_i, evaluator)
    if name in PASS_THROUGH:
        return _impl(fdef, ctx, args, e, evaluator)
    if name == "histogram_quantile":
        return _histogram_quantile(fdef, ctx, args, e)
    if name == "histogram_fraction":
        return _histogram_fraction(fdef, ctx, args, e)
    stripped = [[float_steps(s) for s in a] if isinstance(a, list) and a and
                isinstance(a[0], StepSeries) else a for a in args]
    return _impl(fdef, ctx, stripped, e, evaluator)


def _impl(fdef, ctx, args, e, evaluator):
    return fdef.impl(ctx, args, e, evaluator) if fdef.uses_storage else fdef.impl(ctx, args, e)


def _range_call(fdef, ctx, args, e, mi: int, evaluator) -> list:
    name = fdef.name
    series = args[mi]
    plain = [rs for rs in series if rs.hists is None]
    mixed = [rs for rs in series if rs.hists is not None]

    def run(rs_list):
        a = list(args)
        a[mi] = rs_list
        return _impl(fdef, ctx, a, e, evaluator) if rs_list else []

    if name in ALL_SAMPLES:
        return run(series)
    out = run(plain)
    pos = annotations.arg_pos(e, 0)
    n = ctx.n
    for rs in mixed:
        hm = hist_mask(rs.hists, len(rs.ts))
        before = np.concatenate([[0], np.cumsum(hm)])
        nh = before[rs.hi] - before[rs.lo]  # histograms per window
        nf = (rs.hi - rs.lo) - nh
        floats = run([float_samples(rs)]) if (nf > 0).any() else []
        f = floats[0] if floats else None
        res = _RANGE.get(name, _floats_only)(ctx, e, args, rs, f, nh, nf, pos)
        if res is not None:
            out.append(res)
    return out


def _floats_only(ctx, e, args, rs, f, nh, nf, pos):
    """A function of floats with no histogram rule: histograms are left out."""
    return f


def _floats_with_info(ctx, e, args, rs, f, nh, nf, pos):
    if ((nf > 0) & (nh > 0)).any() and f is not None:
        _note(ctx, [(native.IGNORED_IN_MIXED_RANGE, _metric(rs.labels))], pos)
    return f


def _two_floats_with_info(ctx, e, args, rs, f, nh, nf, pos):
    if ((nf > 0) & (nh > 0)).any():
        _note(ctx, [(native.IGNORED_IN_MIXED_RANGE, _metric(rs.labels))], pos)
    return f


def _rate(ctx, e, args, rs, f, nh, nf, pos):
    is_counter, is_rate = RATES[e.func]
    start, end, rng = range_bounds(ctx, e.args[0])
    name = _metric(rs.labels)
    n = ctx.n
    mixed = (nh > 0) & (nf > 0)
    only_h = (nh > 0) & (nf == 0)
    if mixed.any():
        _note(ctx, [(native.MIXED_FLOATS_HISTOGRAMS, name)], pos)
    if isinstance(rs.hists, HistogramColumn):
        got = dense.rate(rs.hists, rs.ts, rs.lo, rs.hi, start, end, rng, is_counter, is_rate)
        if got is not None:
            col, present = got
            present = present & only_h
            vals = np.full(n, np.nan)
            return StepSeries(rs.labels, vals, present, hists=col) if present.any() else None
    values, annos = {}, []
    for i in np.flatnonzero(only_h & (nh >= 2)):
        lo, hi = int(rs.lo[i]), int(rs.hi[i])
        h = native.extrapolated_rate(rs.ts[lo:hi].tolist(), list(rs.hists[lo:hi]),
                                     int(start[i]), int(end[i]), rng, is_counter, is_rate,
                                     name, annos)
        if h is not None:
            values[i] = h
    _note(ctx, annos, pos)
    return _merge(rs.labels, n, f, nh == 0, values)


def _window_items(rs: RangeSeries, i: int) -> tuple[list, list]:
    lo, hi = int(rs.lo[i]), int(rs.hi[i])
    items = [rs.hists[j] if rs.hists[j] is not None else float(rs.vals[j])
             for j in range(lo, hi)] if isinstance(rs.hists, np.ndarray) else \
        [rs.hists[j] for j in range(lo, hi)]
    return rs.ts[lo:hi].tolist(), items


def _instant(ctx, e, args, rs, f, nh, nf, pos):
    is_rate = e.func == "irate"
    name = _metric(rs.labels)
    values, floats, annos = {}, {}, []
    for i in np.flatnonzero(nh > 0):
        ts, items = _window_items(rs, i)
        v = native.instant_value(ts, items, is_rate, name, annos)
        if isinstance(v, FloatHistogram):
            values[i] = v
        elif v is not None:
            floats[i] = v
    _note(ctx, annos, pos)
    return _merge(rs.labels, ctx.n, f, nh == 0, values, floats)


def _counting(fn: Callable):
    def run(ctx, e, args, rs, f, nh, nf, pos):
        floats = {}
        for i in np.flatnonzero(nh > 0):
            floats[i] = float(fn(_window_items(rs, i)[1]))
        return _merge(rs.labels, ctx.n, f, nh == 0, {}, floats)
    return run


def _over_time(fn: Callable):
    """``sum_over_time``/``avg_over_time``: histograms alone are summed/averaged; a mix
    is a warning and no value."""
    def run(ctx, e, args, rs, f, nh, nf, pos):
        name = _metric(rs.labels)
        if ((nh > 0) & (nf > 0)).any():
            _note(ctx, [(native.MIXED_FLOATS_HISTOGRAMS, name)], pos)
        values, annos = {}, []
        for i in np.flatnonzero((nh > 0) & (nf == 0)):
            h = fn(_window_items(rs, i)[1], name, annos)
            if h is not None:
                values[i] = h
        _note(ctx, annos, pos)
        return _merge(rs.labels, ctx.n, f, nh == 0, values)
    return run


def _last(ctx, e, args, rs, f, nh, nf, pos):
    values, floats = {}, {}
    for i in np.flatnonzero(rs.hi > rs.lo):
        j = int(rs.hi[i]) - 1
        h = rs.hists[j]
        if h is not None:
            values[i] = h
        else:
            floats[i] = float(rs.vals[j])
    return _merge(rs.labels, ctx.n, None, np.zeros(ctx.n, bool), values, floats)


def _ts_of_last(ctx, e, args, rs, f, nh, nf, pos):
    """``ts_of_last_over_time``: the last float's time when the window has floats (as a
    real 3.5.3 answers), else the last histogram's."""
    floats = {}
    for i in np.flatnonzero((nh > 0) & (nf == 0)):
        floats[i] = float(rs.ts[int(rs.hi[i]) - 1]) / 1000
    return _merge(rs.labels, ctx.n, f, nf > 0, {}, floats)


_RANGE = {
    "ts_of_last_over_time": _ts_of_last,
    "rate": _rate, "increase": _rate, "delta": _rate,
    "irate": _instant, "idelta": _instant,
    "resets": _counting(native.resets), "changes": _counting(native.changes),
    "sum_over_time": _over_time(native.sum_over_time),
    "avg_over_time": _over_time(native.avg_over_time),
    "last_over_time": _last,
    **{name: _floats_with_info for name in FLOATS_WITH_INFO},
    **{name: _two_floats_with_info for name in TWO_FLOATS_WITH_INFO},
}


# -- histogram_quantile, histogram_fraction ------------------------------------------------

def _classic_conflicts(ctx, vec, e, arg_i: int) -> tuple[list, dict]:
    """Native series and the steps at which a classic histogram of the same labels (its
    buckets' labels without ``le``) is present too: those steps give no result for
    either, with Prometheus's warning."""
    classic: dict = {}
    for s in vec:
        if BUCKET_LABEL not in dict(s.labels):
            continue
        key = tuple(p for p in s.labels if p[0] != BUCKET_LABEL)
        classic[key] = classic.get(key, np.zeros(ctx.n, bool)) | float_steps(s).present
    natives = [s for s in vec if s.hists is not None]
    clashes = {}
    for s in natives:
        both = classic.get(s.labels, np.zeros(ctx.n, bool)) & s.present & \
            hist_mask(s.hists, ctx.n)
        if both.any():
            clashes[s.labels] = both
            _note(ctx, [(native.MIXED_CLASSIC_NATIVE, _metric(s.labels))],
                  annotations.arg_pos(e, arg_i))
    return natives, clashes


def _drop_clashes(out: list, clashes: dict) -> list:
    """The classic results without the steps their native namesakes clashed at (the
    classic output keeps the labels without ``le``, the name still on)."""
    if not clashes:
        return out
    kept = []
    for s in out:
        bad = clashes.get(s.labels)
        if bad is not None:
            s = StepSeries(s.labels, s.vals, s.present & ~bad, s.sample_ts, s.drop_name,
                           s.name_pending, s.hists)
        kept.append(s)
    return kept


def _native_results(ctx, natives, clashes, compute) -> list:
    out = []
    for s in natives:
        bad = clashes.get(s.labels, np.zeros(ctx.n, bool))
        steps = s.present & hist_mask(s.hists, ctx.n) & ~bad
        got = compute(s, steps)
        if got is not None:
            out.append(got)
    return out


def _histogram_quantile(fdef, ctx, args, e) -> list:
    q = np.asarray(args[0], dtype=np.float64)
    vec = args[1]
    natives, clashes = _classic_conflicts(ctx, vec, e, 1)
    out = _drop_clashes(fdef.impl(ctx, [args[0], [float_steps(s) for s in vec]], e), clashes)
    pos = annotations.arg_pos(e, 0)  # Prometheus places these infos at the first argument

    def compute(s, steps):
        if not steps.any():
            return None
        vals = np.full(ctx.n, np.nan)
        if isinstance(s.hists, HistogramColumn):
            got = dense.quantile(q, s.hists, steps)
            if got is not None:
                return StepSeries(s.labels, got[0], steps)
        annos = []
        for i in np.flatnonzero(steps):
            v, infos = quantile_of(float(q[i]), s.hists[i])
            vals[i] = v
            annos += [(kind, _metric(s.labels)) for kind in infos]
        _note(ctx, annos, pos)
        return StepSeries(s.labels, vals, steps)

    return out + _native_results(ctx, natives, clashes, compute)


def _histogram_fraction(fdef, ctx, args, e) -> list:
    lower = np.asarray(args[0], dtype=np.float64)
    upper = np.asarray(args[1], dtype=np.float64)
    vec = args[2]
    natives, clashes = _classic_conflicts(ctx, vec, e, 2)
    out = _drop_clashes(fdef.impl(ctx, [args[0], args[1], [float_steps(s) for s in vec]], e),
                        clashes)
    pos = annotations.arg_pos(e, 0)  # (as for histogram_quantile)

    def compute(s, steps):
        if not steps.any():
            return None
        vals = np.full(ctx.n, np.nan)
        annos = []
        for i in np.flatnonzero(steps):
            v, infos = frac_of(float(lower[i]), float(upper[i]), s.hists[i])
            vals[i] = v
            annos += [(kind, _metric(s.labels)) for kind in infos]
        _note(ctx, annos, pos)
        return StepSeries(s.labels, vals, steps)

    return out + _native_results(ctx, natives, clashes, compute)


# -- the histogram_* functions -------------------------------------------------------------

def _per_histogram(fn: Callable, vector_fn: Optional[Callable] = None):
    """A function of each histogram sample (floats are left out): ``fn(h)`` per sample
    or ``vector_fn(column)`` for a whole column."""
    def impl(ctx, args, call):
        out = []
        for s in args[0]:
            if s.hists is None:
                continue
            steps = s.present & hist_mask(s.hists, ctx.n)
            if not steps.any():
                continue
            if vector_fn is not None and isinstance(s.hists, HistogramColumn):
                with np.errstate(all="ignore"):
                    vals = np.asarray(vector_fn(s.hists), dtype=np.float64)
            else:
                vals = np.full(ctx.n, np.nan)
                for i in np.flatnonzero(steps):
                    vals[i] = fn(s.hists[i])
            out.append(StepSeries(s.labels, vals, steps))
        return out
    return impl


def _div(a: float, b: float) -> float:
    return native._go_div(a, b)


register("histogram_count", ("vector",), drops_name=True)(
    _per_histogram(lambda h: h.count, lambda c: c.count))
register("histogram_sum", ("vector",), drops_name=True)(
    _per_histogram(lambda h: h.sum, lambda c: c.sum))
register("histogram_avg", ("vector",), drops_name=True)(
    _per_histogram(lambda h: _div(h.sum, h.count), lambda c: c.sum / c.count))
register("histogram_stdvar", ("vector",), drops_name=True)(
    _per_histogram(histogram_variance))
def _sqrt(v: float) -> float:
    """Go's ``math.Sqrt``: NaN for a negative number."""
    return math.sqrt(v) if v >= 0 else (v if v != v else math.nan)


register("histogram_stddev", ("vector",), drops_name=True)(
    _per_histogram(lambda h: _sqrt(histogram_variance(h))))

_OWN = frozenset({"histogram_count", "histogram_sum", "histogram_avg", "histogram_stdvar",
                  "histogram_stddev"})

__all__ = ["applies", "call", "FUNCTIONS"]
