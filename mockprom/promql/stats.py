"""Sample statistics of a query, counted as Prometheus's engine counts them (the
``samples`` part of ``stats=all``: ``util/stats/query_stats.go``, ``promql/engine.go``).

mockprom evaluates every node once over all steps; Prometheus evaluates node by node,
step by step, keeping a running ``currentSamples`` count whose maximum is
``peakSamples``, and adding to ``totalQueryableSamples`` the samples its selectors load.
``count_samples`` replays Prometheus's bookkeeping over the expression tree, in
Prometheus's order, from the values the evaluator recorded for every node:

- a vector selector loads one sample per series and step where it finds one;
- a range function loads, per series and step, the samples in the window (a subquery
  argument's own inner samples are not counted, only its points in the windows);
- a top-level range selector or subquery (instant queries) counts its points / the
  inner samples;
- a step-invariant part (``@``, literals: Prometheus's ``PreprocessExpr``) is evaluated
  once at the first step; its count repeats at every step;
- ``currentSamples`` follows ``rangeEval`` (inputs of a step plus every output so far),
  the per-series loop of range functions and the vector selectors; in 3.x an aggregation
  (but ``count_values``) adds only its result to what its input left (``rangeEvalAgg``),
  and ``label_replace``/``label_join`` relabel their input in place (``lean_stats`` in
  the ``promql_eval`` table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from mockprom.promql import nodes as n
from mockprom.promql.steps import RangeSeries

# Functions Prometheus never treats as step invariant (engine.go AtModifierUnsafeFunctions).
AT_MODIFIER_UNSAFE = frozenset((
    "days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour", "minute",
    "month", "year", "predict_linear", "time", "timestamp"))


@dataclass
class SampleStats:
    """``totalQueryableSamples``, ``peakSamples`` and the per-step totals (by step time,
    ms) of one query."""

    total: int = 0
    peak: int = 0
    steps_ms: list = field(default_factory=list)
    per_step: list = field(default_factory=list)


class _Acc:
    """Prometheus's ``QuerySamples``: a total, and per-step totals for the top level."""

    def __init__(self, n_steps: Optional[int]):
        self.total = 0
        self.per_step = None if n_steps is None else np.zeros(n_steps, dtype=np.int64)

    def add(self, sel: np.ndarray, counts: np.ndarray) -> None:
        self.total += int(counts.sum())
        if self.per_step is not None and len(sel):
            np.add.at(self.per_step, sel, counts.astype(np.int64))

    def add_each(self, sel: np.ndarray, count: int) -> None:
        self.total += int(count) * len(sel)
        if self.per_step is not None and len(sel):
            self.per_step[sel] += int(count)

    def add_at(self, step: int, count: int) -> None:
        self.total += int(count)
        if self.per_step is not None:
            self.per_step[step] += int(count)


def count_samples(expr, record: dict, ctx) -> SampleStats:
    """The sample statistics of ``expr`` evaluated over ``ctx`` (the query's steps), from
    ``record`` (node id -> (value, context)) filled by the evaluator."""
    sim = _Sim(record, step_invariant_nodes(expr), ctx.rules.lean_stats,
               not ctx.rules.series_in_creation_order)
    acc = _Acc(ctx.n)
    sim.sim(expr, np.arange(ctx.n), acc)
    return SampleStats(acc.total, sim.peak, [int(t) for t in ctx.steps],
                       [int(c) for c in acc.per_step])


def _unwrap(expr):
    while isinstance(expr, n.ParenExpr):
        expr = expr.expr
    return expr


def step_invariant_nodes(expr) -> set:
    """Ids of the nodes Prometheus wraps in a ``StepInvariantExpr`` (PreprocessExpr)."""
    wrapped: set = set()
    if _prep(expr, wrapped):
        wrapped.add(id(expr))
    return wrapped


def is_step_invariant(e) -> bool:
    """Whether Prometheus evaluates ``e`` once for all steps (it or an enclosing node is
    wrapped in a ``StepInvariantExpr``)."""
    return _prep(e, set())


def _prep(e, wrapped: set) -> bool:
    if isinstance(e, n.VectorSelector):
        return e.at_ms is not None or e.at_edge is not None
    if isinstance(e, n.AggregateExpr):
        return _prep(e.expr, wrapped)  # the parameter is not looked at
    if isinstance(e, n.BinaryExpr):
        lhs, rhs = _prep(e.lhs, wrapped), _prep(e.rhs, wrapped)
        if lhs and rhs:
            return True
        if lhs:
            wrapped.add(id(e.lhs))
        if rhs:
            wrapped.add(id(e.rhs))
        return False
    if isinstance(e, n.Call):
        flags = [_prep(a, wrapped) for a in e.args]
        if e.func not in AT_MODIFIER_UNSAFE and all(flags):
            return True
        for a, f in zip(e.args, flags):
            if f:
                wrapped.add(id(a))
        return False
    if isinstance(e, n.MatrixSelector):
        return _prep(e.selector, wrapped)
    if isinstance(e, n.SubqueryExpr):
        if _prep(e.expr, wrapped):
            wrapped.add(id(e.expr))
        return e.at_ms is not None or e.at_edge is not None
    if isinstance(e, (n.ParenExpr, n.UnaryExpr)):
        return _prep(e.expr, wrapped)
    return True  # number and string literals


class _Sim:
    def __init__(self, record: dict, wrapped: set, lean_aggregations: bool = False,
                 by_labels: bool = True):
        self.record = record
        self.wrapped = wrapped
        self.lean = lean_aggregations
        # a range vector's series come by labels (2.42), or in the order evaluated (3.x:
        # the head's creation order), which decides what a step's peak already holds
        self.by_labels = by_labels
        self.cur = 0
        self.peak = 0

    # -- recorded values ----------------------------------------------------------------
    def _value(self, node):
        return self.record.get(id(node), (None, None))

    def counts(self, node, sel: np.ndarray) -> np.ndarray:
        """Output points of ``node`` at the steps ``sel`` of its context."""
        val, ctx = self._value(node)
        if isinstance(val, np.ndarray):
            return np.ones(len(sel), dtype=np.int64)
        if not val or isinstance(val, str) or isinstance(val[0], RangeSeries):
            return np.zeros(len(sel), dtype=np.int64)
        out = np.zeros(len(sel), dtype=np.int64)
        for s in val:
            out += s.present[sel]
        return out

    def windows(self, node, sel: np.ndarray) -> list:
        """(labels, points per step at ``sel``) of a recorded range vector, in the order
        Prometheus goes through its series (``by_labels``)."""
        val, _ = self._value(node)
        out = []
        for rs in val or []:
            if isinstance(rs, RangeSeries):
                out.append((rs.labels, (rs.hi - rs.lo)[sel]))
        if self.by_labels:
            out.sort(key=lambda p: p[0])
        return out

    def _steps_of(self, node) -> np.ndarray:
        _, ctx = self._value(node)
        return np.arange(ctx.n) if ctx is not None else np.zeros(0, dtype=np.int64)

    def update_peak(self, v: int) -> None:
        if v > self.peak:
            self.peak = int(v)

    # -- the walk -----------------------------------------------------------------------
    def sim(self, node, sel: np.ndarray, acc: _Acc) -> None:
        if id(node) in self.wrapped and not isinstance(node, (n.NumberLiteral, n.StringLiteral)):
            return self._step_invariant(node, sel, acc)
        return self._node(node, sel, acc)

    def _step_invariant(self, node, sel, acc):
        """Evaluated once at the first step by a child evaluator, then repeated."""
        if len(sel) == 0:
            return
        child = _Acc(None)
        first = sel[:1]
        self._node(node, first, child)
        acc.add_each(sel, child.total)
        if isinstance(node, (n.MatrixSelector, n.SubqueryExpr)):
            return
        size = int(self.counts(node, first).sum())
        self.cur += size * (len(sel) - 1)
        self.update_peak(self.cur)

    def _node(self, node, sel, acc):
        if isinstance(node, n.NumberLiteral):
            self.cur += len(sel)
            self.update_peak(self.cur)
        elif isinstance(node, n.StringLiteral):
            return
        elif isinstance(node, (n.ParenExpr, n.UnaryExpr)):
            self.sim(node.expr, sel, acc)
        elif isinstance(node, n.VectorSelector):
            c = self.counts(node, sel)
            acc.add(sel, c)
            self.cur += int(c.sum())
            self.update_peak(self.cur)
        elif isinstance(node, n.MatrixSelector):
            w = [c for _, c in self.windows(node, sel)]
            total = np.sum(w, axis=0) if w else np.zeros(len(sel), dtype=np.int64)
            acc.add(sel, total)
            self.cur += int(total.sum())
            self.update_peak(self.cur)
        elif isinstance(node, n.SubqueryExpr):
            child = _Acc(None)
            self.sim(node.expr, self._steps_of(node.expr), child)
            if len(sel):
                acc.add_at(sel[-1], child.total)
        elif isinstance(node, n.AggregateExpr) and self.lean and node.op != "count_values":
            # 3.x rangeEvalAgg: the parameter and the input are evaluated, then only the
            # result is held (no per-step input plus output)
            orig = self.cur
            if node.param is not None:
                self.sim(node.param, sel, acc)
            self.sim(node.expr, sel, acc)
            self.cur = orig + int(self.counts(node, sel).sum())
            self.update_peak(self.cur)
        elif isinstance(node, n.AggregateExpr):
            exprs = [node.expr]
            if node.param is not None and not isinstance(_unwrap(node.param), n.StringLiteral):
                exprs = [node.param, node.expr]
            self._range_eval(node, exprs, sel, acc)
        elif isinstance(node, n.BinaryExpr):
            self._range_eval(node, [node.lhs, node.rhs], sel, acc)
        elif isinstance(node, n.Call):
            self._call(node, sel, acc)

    def _range_eval(self, node, exprs, sel, acc):
        orig = self.cur
        inputs = np.zeros(len(sel), dtype=np.int64)
        for e in exprs:
            self.sim(e, sel, acc)
            if e.type != n.STRING:
                inputs += self.counts(e, sel)
        out = self.counts(node, sel)
        if len(sel):
            self.update_peak(self.cur + int((np.cumsum(out) + inputs).max()))
        self.cur = orig + int(out.sum())
        self.update_peak(self.cur)

    def _call(self, node: n.Call, sel, acc):
        args = list(node.args)
        if self.lean and node.func in ("label_replace", "label_join"):
            # 3.x evalLabelReplace/evalLabelJoin relabel the evaluated input in place
            self.sim(args[0], sel, acc)
            return
        if node.func == "info":
            return self._info(node, sel, acc)
        if node.func == "timestamp" and args and isinstance(_unwrap(args[0]), n.VectorSelector):
            vs = _unwrap(args[0])
            c = self.counts(vs, sel)
            acc.add(sel, c)
            out = self.counts(node, sel)
            if len(sel):
                self.update_peak(self.cur + int((np.cumsum(out) + c).max()))
            self.cur += int(out.sum())
            self.update_peak(self.cur)
            return
        mi = None
        for i, a in enumerate(args):
            if isinstance(_unwrap(a), (n.MatrixSelector, n.SubqueryExpr)):
                mi = i
                break
        if mi is None:
            self._range_eval(node, [a for a in args if a.type != n.STRING], sel, acc)
            return
        matrix = _unwrap(args[mi])
        sub_size = 0
        if isinstance(matrix, n.SubqueryExpr):
            # evaluated first, into a child whose total is dropped
            before = self.cur
            inner = matrix.expr
            self.sim(inner, self._steps_of(inner), _Acc(None))
            sub_size = self.cur - before
        for i, a in enumerate(args):
            if i != mi:
                self.sim(a, sel, acc)
        base = self.cur
        outputs = self._outputs_by_labels(node, sel)
        keep_name = node.func == "last_over_time"
        out_sum = 0
        last_window = 0
        for labels, w in self.windows(matrix, sel):
            acc.add(sel, w)
            if len(w):  # matrixIterSlice updates the peak at every step
                self.update_peak(base + out_sum + int(w.max()))
            if node.func == "absent_over_time":  # one point per step with samples, at first
                out_sum += int((w > 0).sum())
            else:
                own = outputs.get(labels)  # delayed name removal keeps the name
                out_sum += own if own is not None and not keep_name else \
                    outputs.get(labels if keep_name else _drop_name(labels), 0)
            last_window = int(w[-1]) if len(w) else 0
            self.update_peak(base + out_sum + last_window)
        self.cur = base + out_sum - sub_size

    def _info(self, node: n.Call, sel, acc):
        """``evalInfo``: the input, then the info series (``evalSeries``: loaded samples),
        then step by step (``combineWithInfoSeries``, as ``rangeEval``) the samples of
        both gathered at the step plus every output so far."""
        base = node.args[0]
        self.sim(base, sel, acc)
        present = self.record.get(("info", id(node)), [])
        infos = np.zeros(len(sel), dtype=np.int64)
        for p in present:
            infos += p[sel]
        acc.add(sel, infos)
        self.cur += int(infos.sum())
        self.update_peak(self.cur)
        out = self.counts(node, sel)
        if len(sel):
            inputs = self.counts(base, sel) + infos
            self.update_peak(self.cur + int((np.cumsum(out) + inputs).max()))
        self.cur += int(out.sum())
        self.update_peak(self.cur)

    def _outputs_by_labels(self, node, sel) -> dict:
        val, _ = self._value(node)
        if not isinstance(val, list):
            return {}
        return {s.labels: int(s.present[sel].sum()) for s in val}


def _drop_name(labels):
    return tuple(p for p in labels if p[0] != "__name__")
