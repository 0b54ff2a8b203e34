"""The PromQL evaluator: evaluates a parsed expression over all the steps of a query at
once (an instant query is a range query of one step) and shapes the API result.

Internally a node evaluates to a float64 array (scalar), a list of ``StepSeries``
(instant vector), a list of ``RangeSeries`` (range vector) or a ``str``; see ``steps.py``.
Semantics follow Prometheus 2.42's ``promql/engine.go``.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from mockprom import versions
from mockprom.promql import deadline
from mockprom.promql import nodes as n
from mockprom.promql.aggregations import aggregate
from mockprom.promql.annotations import as_strings
from mockprom.promql.binops import binary
from mockprom.promql.errors import EvalError, ParseError, QueryTimeout
from mockprom.promql import functions_native, native, native_2_42
from mockprom.promql.functions import FUNCTIONS
from mockprom.promql.selectors import (MAX_SUBQUERY_STEPS, first_subquery_step,
                                       reference_times, select_instant, select_range,
                                       slide_at_windows,
                                       series_to_range, subquery_grid)
from mockprom.promql.series import (finalize, needs_finalize, remove_pending_names,
                                    without_name)
from mockprom.promql.stats import count_samples, is_step_invariant, step_invariant_nodes
from mockprom.promql.syntax.golang import valid_utf8
from mockprom.promql.steps import EvalContext, RangeSeries, StepSeries
from mockprom.promql.values import Matrix, Result, Sample, Scalar, Series, String, Vector

DEFAULT_SUBQUERY_STEP_MS = 60_000  # Prometheus's default global evaluation_interval

# The native-histogram functions: mockprom holds no native histograms yet (issue 10), so
# (unless the registry implements them) they evaluate their arguments and return nothing,
# as Prometheus does for float series.
NATIVE_HISTOGRAM_FUNCTIONS = ("histogram_count", "histogram_sum", "histogram_avg",
                              "histogram_stddev", "histogram_stdvar")

# Top-level expressions whose vector order is part of the answer of an instant query.
ORDERED_FUNCTIONS = ("sort", "sort_desc", "sort_by_label", "sort_by_label_desc")
ORDERED_AGGREGATIONS = ("topk", "bottomk")


class Engine:
    """Evaluates PromQL against a ``Store`` as the Prometheus of ``emulation`` does (a
    ``versions.Emulation``: its line's ``semantics.EvalRules`` and its feature flags).
    ``subquery_step_ms`` is the step of a subquery written without one (``x[5m:]``):
    Prometheus uses its global ``evaluation_interval``, 1 minute unless configured."""

    def __init__(self, store, *, lookback_ms: int = 300_000, timeout_s: float = 120.0,
                 subquery_step_ms: int = DEFAULT_SUBQUERY_STEP_MS,
                 emulation: Optional[versions.Emulation] = None):
        self.store = store
        # the Prometheus whose semantics queries follow (None: the default version)
        self.emulation = emulation if emulation is not None else versions.resolve()
        self.lookback_ms = lookback_ms
        self.timeout_s = timeout_s
        self.subquery_step_ms = int(subquery_step_ms) or DEFAULT_SUBQUERY_STEP_MS

    # -- public API -------------------------------------------------------------------
    def instant_query(self, query, t_ms: int, *, lookback_ms: Optional[int] = None,
                      timeout_s: Optional[float] = None, stats: bool = False) -> Result:
        """``stats``: also count samples as Prometheus's engine does (``result.stats``, a
        ``promql.stats.SampleStats``)."""
        expr = _resolve(_parse(query, self.emulation), 0)
        t_ms = int(t_ms)
        ctx = self.context(np.array([t_ms], dtype=np.int64), t_ms, t_ms, 0, lookback_ms)
        ev = Evaluator(self.store, self._deadline(timeout_s), self.subquery_step_ms)
        if stats:
            ev.start_recording(expr, t_ms, t_ms)
        with deadline.running(ev.deadline):
            val = ev.evaluate(expr, ctx)
        result = _result(_instant_value(expr, val, t_ms, ctx.rules), ctx, query)
        if stats:
            result.stats = count_samples(expr, ev.record, ctx)
        return result

    def range_query(self, query, start_ms: int, end_ms: int, step_ms: int, *,
                    lookback_ms: Optional[int] = None, timeout_s: Optional[float] = None,
                    stats: bool = False) -> Result:
        expr = _parse(query, self.emulation)
        if expr.type not in (n.SCALAR, n.VECTOR):
            kind = "range vector" if expr.type == n.MATRIX else expr.type
            raise ParseError(f'invalid expression type "{kind}" for range query, '
                             "must be Scalar or instant Vector")
        expr = _resolve(expr, step_ms)  # after the type check, as Prometheus's engine
        start_ms, end_ms, step_ms = int(start_ms), int(end_ms), int(step_ms)
        if step_ms <= 0:
            raise ParseError("zero or negative query resolution step widths are not accepted. "
                             "Try a positive integer")
        if end_ms < start_ms:
            raise ParseError("end timestamp must not be before start time")
        steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        ctx = self.context(steps, start_ms, end_ms, step_ms, lookback_ms)
        ev = Evaluator(self.store, self._deadline(timeout_s), self.subquery_step_ms)
        if stats:
            ev.start_recording(expr, start_ms, end_ms)
        with deadline.running(ev.deadline):
            val = ev.evaluate(expr, ctx)
        result = _result(_range_value(val, steps), ctx, query)
        if stats:
            result.stats = count_samples(expr, ev.record, ctx)
        return result

    # -- helpers ----------------------------------------------------------------------
    def context(self, steps: np.ndarray, start_ms: int, end_ms: int, interval_ms: int,
                lookback_ms: Optional[int] = None) -> EvalContext:
        """The evaluation context of a query over ``steps`` (as this engine emulates)."""
        return EvalContext(steps=steps, start_ms=int(start_ms), end_ms=int(end_ms),
                           interval_ms=int(interval_ms),
                           lookback_ms=self._lookback(lookback_ms), emulation=self.emulation)

    def _lookback(self, lookback_ms: Optional[int]) -> int:
        return int(lookback_ms) if lookback_ms else int(self.lookback_ms)

    def _deadline(self, timeout_s: Optional[float]) -> float:
        t = self.timeout_s if timeout_s is None else timeout_s
        return time.monotonic() + float(t)


def _result(value, ctx: EvalContext, query) -> Result:
    """The query's value and its annotations as the API words them."""
    text = query if isinstance(query, str) else None
    return Result(value, as_strings(ctx.warnings, text, "warning"),
                  as_strings(ctx.infos, text, "info"))


# Parsed queries by (text, emulation): dashboards repeat the same few expressions, and
# the tree (frozen nodes) is never changed by an evaluation. Errors are not kept.
_PARSED: dict = {}
_PARSED_MAX = 512
_PARSED_TEXT_MAX = 4096


def _parse(query, emulation=None):
    if isinstance(query, str):
        key = (query, emulation)
        expr = _PARSED.get(key)
        if expr is None:
            from mockprom.promql.parse import parse  # the adapter; imported late on purpose
            expr = parse(query, emulation)
            if len(query) <= _PARSED_TEXT_MAX:
                if len(_PARSED) >= _PARSED_MAX:
                    _PARSED.clear()
                _PARSED[key] = expr
        return expr
    return query


def _resolve(expr, step_ms: int):
    """Prometheus 3's duration arithmetic (``x[5m+1m]``) computed, as its engine's
    ``PreprocessExpr`` does before evaluation (errors are the query's: bad_data)."""
    from mockprom.promql.parse import resolve_durations

    return resolve_durations(expr, int(step_ms))


def unwrap_parens(expr):
    while isinstance(expr, n.ParenExpr):
        expr = expr.expr
    return expr


class Evaluator:
    """Evaluates nodes for one query; checks the deadline at every node."""

    def __init__(self, store, deadline: float,
                 subquery_step_ms: int = DEFAULT_SUBQUERY_STEP_MS):
        self.store = store
        self.deadline = deadline
        self.subquery_step_ms = subquery_step_ms

    def check_timeout(self) -> None:
        if time.monotonic() > self.deadline:
            raise QueryTimeout(deadline.MESSAGE)

    # Sample counting (``count_samples``), when started: every node's value and context
    # by node id; the nodes Prometheus evaluates as step invariant; and a stack of
    # (first step, end) of the evaluator Prometheus would be in (the end of a subquery's
    # grid is its evaluator's end, not its last step).
    record = None
    wrapped: frozenset = frozenset()
    sliding: frozenset = frozenset()  # 2.42: subqueries with @ whose windows slide
    frames: list = []

    def start_recording(self, expr, start_ms: int, end_ms: int) -> None:
        self.record = {}
        self.wrapped = frozenset(step_invariant_nodes(expr))
        self.frames = [(int(start_ms), int(end_ms))]

    def evaluate(self, expr, ctx: EvalContext):
        """The value of a whole query: ``eval`` and, with delayed name removal, the
        removal of the names still pending (``cleanupMetricLabels``)."""
        val = self.eval(expr, ctx)
        if ctx.delayed_names and isinstance(val, list) and val and \
                isinstance(val[0], StepSeries):
            val = remove_pending_names(val, ctx.rules.name_labels)
        return val

    def eval(self, expr, ctx: EvalContext):
        self.check_timeout()
        method = getattr(self, "eval_" + type(expr).__name__, None)
        if method is None:
            raise EvalError(f"unhandled expression of type: {type(expr).__name__}")
        if self.record is None:
            return method(expr, ctx)
        pushed = id(expr) in self.wrapped and not isinstance(
            unwrap_parens(expr), (n.NumberLiteral, n.StringLiteral, n.MatrixSelector,
                                  n.SubqueryExpr))
        if pushed:  # a step-invariant part: Prometheus evaluates it at the first step only
            first = self.frames[-1][0]
            self.frames.append((first, first))
        try:
            val = method(expr, ctx)
        finally:
            if pushed:
                self.frames.pop()
        self.record[id(expr)] = (val, ctx)
        return val

    def _mark_sliding(self, arg, call: n.Call, ctx) -> None:
        """2.42 (``EvalRules.at_windows_slide``): a range selector or subquery with ``@``
        as the argument of ``call`` evaluated step by step (not step invariant) gets
        windows that move with the step; it is marked in ``sliding`` before it is
        evaluated."""
        sel = _at_selector(arg)
        if sel is not None and ctx.n > 1 and not is_step_invariant(call):
            self.sliding = self.sliding | {id(sel)}

    # -- leaves -----------------------------------------------------------------------
    def eval_NumberLiteral(self, e: n.NumberLiteral, ctx):
        return np.full(ctx.n, float(e.value), dtype=np.float64)

    def eval_StringLiteral(self, e: n.StringLiteral, ctx):
        return e.value

    def eval_ParenExpr(self, e: n.ParenExpr, ctx):
        return self.eval(e.expr, ctx)

    def eval_VectorSelector(self, e: n.VectorSelector, ctx):
        refs = reference_times(ctx, e.offset_ms, e.at_ms, e.at_edge)
        return select_instant(self.store, e.matchers, refs, ctx.lookback_ms, self.check_timeout,
                              ctx.rules.left_open, not ctx.rules.series_in_creation_order,
                              _fetch_end(ctx, e))

    def eval_MatrixSelector(self, e: n.MatrixSelector, ctx):
        vs = e.selector
        refs = reference_times(ctx, vs.offset_ms, vs.at_ms, vs.at_edge)
        out = select_range(self.store, vs.matchers, refs, e.range_ms, self.check_timeout,
                           ctx.rules.left_open, not ctx.rules.series_in_creation_order,
                           _fetch_end(ctx, vs))
        if id(e) in self.sliding:  # 2.42, see _mark_sliding
            out = slide_at_windows(out, refs, e.range_ms, ctx.steps.astype(np.int64),
                                   ctx.rules.left_open)
        return out

    def eval_SubqueryExpr(self, e: n.SubqueryExpr, ctx):
        refs = reference_times(ctx, e.offset_ms, e.at_ms, e.at_edge)
        step = e.step_ms or self.subquery_step_ms
        strictly_after = ctx.rules.subquery_strictly_after
        # With @, Prometheus asks its storage for the inner data up to the @ time (less
        # the offsets) only: what the inner expression sees at points past it (the stats'
        # evaluation past the last step, 2.42's sliding windows)
        if e.at_ms is not None or e.at_edge is not None:
            fetch_end = int(refs[0]) if len(refs) else None
        elif ctx.fetch_end_ms is not None:
            fetch_end = ctx.fetch_end_ms - e.offset_ms
        else:
            fetch_end = None
        window_refs = refs
        if id(e) in self.sliding and len(refs) > 1:
            # 2.42 (see _mark_sliding): the window moves on with the step, over points the
            # inner expression has up to the last step's
            window_refs = refs + (ctx.steps.astype(np.int64) - np.int64(ctx.steps[0]))
        grid = subquery_grid(window_refs, e.range_ms, step, strictly_after)
        frame = None
        if self.record is not None and len(refs):
            # Prometheus evaluates the inner expression up to its evaluator's end minus
            # the offset: past the last step (extra points no window uses, but counted).
            first, end = self.frames[-1]
            prom_end = int(refs[0]) + (end - first)
            lo = first_subquery_step(int(refs.min()) - e.range_ms, step, strictly_after)
            hi = max(prom_end, int(refs.max()))
            if (hi - lo) // step + 1 <= MAX_SUBQUERY_STEPS:
                grid = np.arange(lo, hi + 1, step, dtype=np.int64)
            frame = (int(grid[0]) if len(grid) else lo, prom_end)
        inner = ctx.inner(grid, step)
        inner.fetch_end_ms = fetch_end
        if frame is not None:
            self.frames.append(frame)
        try:
            val = self.eval(e.expr, inner) if len(grid) else []
        finally:
            if frame is not None:
                self.frames.pop()
        if isinstance(val, np.ndarray):
            val = [StepSeries((), val, np.ones(len(grid), dtype=bool))]
        return series_to_range(val, grid, window_refs, e.range_ms, ctx.rules.left_open)

    # -- operators --------------------------------------------------------------------
    def eval_UnaryExpr(self, e: n.UnaryExpr, ctx):
        val = self.eval(e.expr, ctx)
        if e.op != "-":
            return val
        if isinstance(val, np.ndarray):
            return -val
        if native_2_42.applies(ctx):
            out = [without_name(native_2_42.negate(s), ctx) for s in val]
        else:
            out = [without_name(StepSeries(s.labels, -s.vals, s.present,
                                           hists=_negated(s.hists)), ctx) for s in val]
        return finalize(out, per_step=False, names=ctx.rules.name_labels)

    def eval_BinaryExpr(self, e: n.BinaryExpr, ctx):
        lhs = self.eval(e.lhs, ctx)
        rhs = self.eval(e.rhs, ctx)
        return binary(e, lhs, rhs, ctx)

    def eval_AggregateExpr(self, e: n.AggregateExpr, ctx):
        param = None
        if e.param is not None:
            param = self.eval(e.param, ctx)
        vec = self.eval(e.expr, ctx)
        return aggregate(e, vec, param, ctx)

    # -- functions --------------------------------------------------------------------
    def eval_Call(self, e: n.Call, ctx):
        fdef = None if e.func in ctx.rules.missing_functions else FUNCTIONS.get(e.func)
        if fdef is None and e.func in NATIVE_HISTOGRAM_FUNCTIONS and \
                e.func not in ctx.rules.missing_functions:
            for arg in e.args:
                self.eval(arg, ctx)
            return []
        if fdef is None:
            raise ParseError(f'unknown function with name "{e.func}"')
        args = []
        has_matrix = False
        for i, arg in enumerate(e.args):
            if i < len(fdef.arg_types):
                want = fdef.arg_types[i]
            elif fdef.variadic and fdef.arg_types:
                want = fdef.arg_types[-1]
            else:
                raise ParseError(f'wrong number of arguments for function "{e.func}"')
            if i in fdef.raw_args:
                args.append(arg)
                continue
            if want == "matrix" and ctx.rules.at_windows_slide:
                self._mark_sliding(arg, e, ctx)
            val = self.eval(arg, ctx)
            if want == "matrix":
                has_matrix = True
            args.append(_coerce_arg(val, want, e.func))
            self.check_timeout()
        if functions_native.applies(e.func, args):
            out = functions_native.call(fdef, ctx, args, e, self)
        elif fdef.uses_storage:
            out = fdef.impl(ctx, args, e, self)
        else:
            out = fdef.impl(ctx, args, e)
        if isinstance(out, np.ndarray) or fdef.return_type == "scalar":
            return np.asarray(out, dtype=np.float64)
        if fdef.drops_name:
            out = [without_name(s, ctx) for s in out]
        if has_matrix:
            return finalize(out, per_step=False, names=ctx.rules.name_labels)
        if needs_finalize(out):
            return finalize(out, names=ctx.rules.name_labels)
        return out


def _fetch_end(ctx, vs: n.VectorSelector):
    """The last sample time a selector fetches (``EvalContext.fetch_end_ms``), or None."""
    if ctx.fetch_end_ms is None or vs.at_ms is not None or vs.at_edge is not None:
        return None
    return ctx.fetch_end_ms - vs.offset_ms


def _at_selector(arg):
    """``arg`` (parentheses removed) when it is a range selector with ``@``, else None."""
    while isinstance(arg, n.ParenExpr):
        arg = arg.expr
    if isinstance(arg, n.MatrixSelector) and (arg.selector.at_ms is not None
                                              or arg.selector.at_edge is not None):
        return arg
    if isinstance(arg, n.SubqueryExpr) and (arg.at_ms is not None or arg.at_edge is not None):
        return arg
    return None


def _negated(hists):
    """Unary minus of a series' histograms (``h.Copy().Mul(-1)``)."""
    if hists is None:
        return None
    out = np.empty(len(hists), dtype=object)
    out[:] = [None if h is None else native.negate(h) for h in hists]
    return out


def _coerce_arg(val, want: str, func: str):
    if want == "scalar" and not isinstance(val, np.ndarray):
        raise ParseError(f'expected type scalar in call to function "{func}"')
    if want == "vector" and not isinstance(val, list):
        raise ParseError(f'expected type instant vector in call to function "{func}"')
    if want == "matrix" and not (isinstance(val, list) and (not val or isinstance(val[0], RangeSeries))):
        raise ParseError(f'expected type range vector in call to function "{func}"')
    if want == "string" and not isinstance(val, str):
        raise ParseError(f'expected type string in call to function "{func}"')
    return val


# -- result shaping -------------------------------------------------------------------
def _keeps_order(expr) -> bool:
    expr = unwrap_parens(expr)
    if isinstance(expr, n.Call):
        return expr.func in ORDERED_FUNCTIONS
    if isinstance(expr, n.AggregateExpr):
        return expr.op in ORDERED_AGGREGATIONS
    return False


def _instant_value(expr, val, t_ms: int, rules=None):
    if isinstance(val, str):
        return String(t_ms, valid_utf8(val))
    if isinstance(val, np.ndarray):
        return Scalar(t_ms, float(val[0]))
    if val and isinstance(val[0], RangeSeries):
        series = []
        for rs in val:
            lo, hi = int(rs.lo[0]), int(rs.hi[0])
            if hi > lo:
                series.append(_points(rs.labels, rs.ts[lo:hi], rs.vals[lo:hi],
                                      _slice(rs.hists, lo, hi)))
        series.sort(key=lambda s: s.labels)
        return Matrix(series)
    if isinstance(expr.type, str) and expr.type == n.MATRIX:
        return Matrix([])
    samples = [Sample(s.labels, t_ms, float(s.vals[0]), _at(s.hists, 0))
               for s in val if s.present[0]]
    if not _keeps_order(expr) and not (rules and rules.series_in_creation_order):
        samples.sort(key=lambda s: s.labels)  # 2.42: series come by labels
    return Vector(samples)


def _range_value(val, steps: np.ndarray) -> Matrix:
    if isinstance(val, np.ndarray):
        return Matrix([Series.from_arrays((), steps, np.asarray(val, dtype=np.float64))])
    series = []
    for s in val:
        present = s.present
        if present.all():  # the whole grid: its array is shared (the API formats it once)
            hists = s.hists
            series.append(_points(s.labels, steps, np.asarray(s.vals, dtype=np.float64), hists))
            continue
        if not present.any():
            continue
        hists = None if s.hists is None else s.hists[present]
        series.append(_points(s.labels, steps[present], np.asarray(s.vals)[present], hists))
    series.sort(key=lambda s: s.labels)
    return Matrix(series)


def _at(hists, i: int):
    return None if hists is None else hists[i]


def _slice(hists, lo: int, hi: int):
    return None if hists is None else hists[lo:hi]


def _points(labels, ts: np.ndarray, vals: np.ndarray, hists) -> Series:
    """A result series: float points, and histogram points where ``hists`` has them."""
    if hists is None:
        return Series.from_arrays(labels, ts, vals)
    floats, histograms = [], []
    for i, t in enumerate(ts.tolist()):
        h = hists[i]
        if h is None:
            floats.append((t, float(vals[i])))
        else:
            histograms.append((t, h))
    return Series(labels, floats, histograms)
