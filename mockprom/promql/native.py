"""PromQL over native histograms, sample by sample: the histogram halves of Prometheus
3.5's ``promql/functions.go`` and ``engine.go`` (rates, ``*_over_time``, ``resets``,
``changes``, aggregation, binary operators), on ``FloatHistogram`` values.

Every function takes plain Python values (a window's samples, a group's values) and
returns its result with the annotations it raises, as ``(kind, metric name)`` pairs;
``annotation_text`` words them as Prometheus does. The engine applies these per step
and per series; ``histograms.dense`` computes the common cases for many steps at once
with the same arithmetic.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

from mockprom.promql.syntax.golang import go_quote
from mockprom.histograms import (FloatHistogram, GAUGE_TYPE, IncompatibleBounds,
                                 IncompatibleSchema, NOT_COUNTER_RESET, COUNTER_RESET,
                                 UNKNOWN_COUNTER_RESET)
from mockprom.histograms.float_histogram import HistogramError

Annotation = Tuple[str, str]  # (kind, metric name or operator)

# kinds: warnings
MIXED_FLOATS_HISTOGRAMS = "mixed_floats_histograms"
MIXED_FLOATS_HISTOGRAMS_AGG = "mixed_floats_histograms_agg"
NOT_COUNTER = "not_counter"
NOT_GAUGE = "not_gauge"
MIXED_EXPONENTIAL_CUSTOM = "mixed_exponential_custom"
INCOMPATIBLE_CUSTOM_BUCKETS = "incompatible_custom_buckets"
INCOMPATIBLE_BUCKET_LAYOUT = "incompatible_bucket_layout"  # (binary operator)
MIXED_CLASSIC_NATIVE = "mixed_classic_native"
# kinds: infos
INCOMPATIBLE_TYPES = "incompatible_types"  # (binary operator: "lhs op rhs")
IGNORED_IN_AGGREGATION = "ignored_in_aggregation"  # (aggregation)
IGNORED_IN_MIXED_RANGE = "ignored_in_mixed_range"
QUANTILE_NAN_RESULT = "nan_result"
QUANTILE_NAN_SKEW = "nan_skew"
FRACTION_NANS = "fraction_nans"

_W = "PromQL warning: "
_I = "PromQL info: "


def _for_metric(text: str, name: str) -> str:
    return f"{text} for metric name {go_quote(name)}" if name else text


def annotation_text(kind: str, arg: str = "") -> str:
    """Prometheus 3.5's wording of an annotation (without its position)."""
    q = go_quote(arg)
    return {
        MIXED_FLOATS_HISTOGRAMS: f"{_W}encountered a mix of histograms and floats for metric name {q}",
        MIXED_FLOATS_HISTOGRAMS_AGG: f"{_W}encountered a mix of histograms and floats for aggregation",
        NOT_COUNTER: f"{_W}this native histogram metric is not a counter: {q}",
        NOT_GAUGE: f"{_W}this native histogram metric is not a gauge: {q}",
        MIXED_EXPONENTIAL_CUSTOM: (f"{_W}vector contains a mix of histograms with exponential and "
                                   f"custom buckets schemas for metric name {q}"),
        INCOMPATIBLE_CUSTOM_BUCKETS: (f"{_W}vector contains histograms with incompatible custom "
                                      f"buckets for metric name {q}"),
        INCOMPATIBLE_BUCKET_LAYOUT: f"{_W}incompatible bucket layout encountered for binary operator {arg}",
        MIXED_CLASSIC_NATIVE: _for_metric(f"{_W}vector contains a mix of classic and native "
                                          "histograms", arg),
        INCOMPATIBLE_TYPES: f"{_I}incompatible sample types encountered for binary operator {arg}",
        IGNORED_IN_AGGREGATION: f"{_I}ignored histogram in {arg} aggregation",
        IGNORED_IN_MIXED_RANGE: (f"{_I}ignored histograms in a range containing both floats and "
                                 f"histograms for metric name {q}"),
        QUANTILE_NAN_RESULT: _for_metric(f"{_I}input to histogram_quantile has NaN observations, "
                                         "result is NaN", arg),
        QUANTILE_NAN_SKEW: _for_metric(f"{_I}input to histogram_quantile has NaN observations, "
                                       "result is skewed higher", arg),
        FRACTION_NANS: _for_metric(f"{_I}input to histogram_fraction has NaN observations, which "
                                   "are excluded from all fractions", arg),
    }[kind]


def is_warning(kind: str) -> bool:
    return annotation_text(kind).startswith(_W)


def _incompatible(err: HistogramError, name: str) -> Annotation:
    if isinstance(err, IncompatibleSchema):
        return (MIXED_EXPONENTIAL_CUSTOM, name)
    return (INCOMPATIBLE_CUSTOM_BUCKETS, name)


def _go_div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


# -- rate, increase, delta ---------------------------------------------------------------

def histogram_rate(points: Sequence, is_counter: bool, name: str,
                   annos: List[Annotation]) -> Optional[FloatHistogram]:
    """Go's ``histogramRate``: ``points`` are the window's histograms (None for a float
    among them); returns the increase (before extrapolation) or None."""
    prev = points[0]
    last = points[-1]
    if last is None:
        annos.append((MIXED_FLOATS_HISTOGRAMS, name))
        return None
    using_custom = prev.uses_custom_buckets()
    if is_counter and (prev.counter_reset_hint == GAUGE_TYPE
                       or last.counter_reset_hint == GAUGE_TYPE):
        annos.append((NOT_COUNTER, name))
    if is_counter and len(points) > 1:
        second = points[1]
        if second is not None and second.detect_reset(prev):
            prev = FloatHistogram(schema=second.schema, custom_values=second.custom_values)
            using_custom = second.uses_custom_buckets()
    if last.uses_custom_buckets() != using_custom:
        annos.append((MIXED_EXPONENTIAL_CUSTOM, name))
        return None
    min_schema = min(last.schema, prev.schema)
    for curr in points[1:-1]:
        if curr is None:
            annos.append((MIXED_FLOATS_HISTOGRAMS, name))
            return None
        if not is_counter:
            continue
        if curr.counter_reset_hint == GAUGE_TYPE:
            annos.append((NOT_COUNTER, name))
        if curr.schema < min_schema:
            min_schema = curr.schema
        if curr.uses_custom_buckets() != using_custom:
            annos.append((MIXED_EXPONENTIAL_CUSTOM, name))
            return None
    h = last.copy_to_schema(min_schema)
    try:
        h.sub(prev)
    except HistogramError as err:
        annos.append(_incompatible(err, name))
        return None
    if is_counter:
        for curr in points[1:]:
            if curr.detect_reset(prev):
                try:
                    h.add(prev)
                except HistogramError as err:
                    annos.append(_incompatible(err, name))
                    return None
            prev = curr
    elif points[0].counter_reset_hint != GAUGE_TYPE or points[-1].counter_reset_hint != GAUGE_TYPE:
        annos.append((NOT_GAUGE, name))
    h.counter_reset_hint = GAUGE_TYPE
    return h.compact(0)


def extrapolated_rate(ts: Sequence[int], hists: Sequence, range_start: int, range_end: int,
                      range_ms: int, is_counter: bool, is_rate: bool, name: str,
                      annos: List[Annotation], zero_point: bool = False
                      ) -> Optional[FloatHistogram]:
    """``extrapolatedRate`` for a window of histograms only (``ts`` ms, ``hists`` with
    None for floats): the extrapolated increase, per second with ``is_rate``.
    ``zero_point``: a counter's extrapolation stops where its count would reach zero
    (as for floats)."""
    if len(hists) < 2:
        return None
    h = histogram_rate(hists, is_counter, name, annos)
    if h is None:
        return None
    n1 = len(hists) - 1
    first_t, last_t = ts[0], ts[n1]
    duration_to_start = (first_t - range_start) / 1000
    duration_to_end = (range_end - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    average = sampled / n1
    threshold = average * 1.1
    if duration_to_start >= threshold:
        duration_to_start = average / 2
    if is_counter and zero_point and h.count > 0 and hists[0].count >= 0:
        to_zero = sampled * (hists[0].count / h.count)
        if to_zero < duration_to_start:
            duration_to_start = to_zero
    if duration_to_end >= threshold:
        duration_to_end = average / 2
    extrapolate_to = sampled + duration_to_start + duration_to_end
    factor = extrapolate_to / sampled
    if is_rate:
        factor /= range_ms / 1000
    return h.mul(factor)


def instant_value(ts: Sequence[int], items: Sequence, is_rate: bool, name: str,
                  annos: List[Annotation]):
    """``instantValue`` (``irate``/``idelta``) over a window mixing floats and histograms
    (``items`` holds floats and ``FloatHistogram``s). Returns a float, a histogram or
    None (no value)."""
    if len(items) < 2:
        return None
    floats = [(t, v) for t, v in zip(ts, items) if not isinstance(v, FloatHistogram)]
    hists = [(t, v) for t, v in zip(ts, items) if isinstance(v, FloatHistogram)]
    ss = floats[-2:]
    for s in hists[-2:]:
        if not ss:
            ss = [s]
        elif len(ss) == 1:
            ss = [s] + ss if s[0] < ss[0][0] else ss + [s]
        elif s[0] < ss[0][0]:
            pass
        elif s[0] > ss[1][0]:
            ss = [ss[1], s]
        else:
            ss = [s, ss[1]]
    (t0, v0), (t1, v1) = ss
    interval = t1 - t0
    if interval == 0:
        return None
    h0, h1 = isinstance(v0, FloatHistogram), isinstance(v1, FloatHistogram)
    if not h0 and not h1:
        result = v1 - v0 if (not is_rate or not (v1 < v0)) else v1
        return _go_div(result, interval / 1000) if is_rate else result
    if h0 != h1:
        annos.append((MIXED_FLOATS_HISTOGRAMS, name))
        return None
    out = v1.copy()
    if is_rate and (v1.counter_reset_hint == GAUGE_TYPE or v0.counter_reset_hint == GAUGE_TYPE):
        annos.append((NOT_COUNTER, name))
    if not is_rate and (v1.counter_reset_hint != GAUGE_TYPE or v0.counter_reset_hint != GAUGE_TYPE):
        annos.append((NOT_GAUGE, name))
    if not is_rate or not v1.detect_reset(v0):
        try:
            out.sub(v0)
        except HistogramError as err:
            annos.append(_incompatible(err, name))
            return None
    out.counter_reset_hint = GAUGE_TYPE
    out.compact(0)
    if is_rate:
        out.div(interval / 1000)
    return out


# -- *_over_time, resets, changes -------------------------------------------------------

def sum_over_time(hists: Sequence[FloatHistogram], name: str,
                  annos: List[Annotation]) -> Optional[FloatHistogram]:
    total = hists[0].copy()
    for h in hists[1:]:
        try:
            total.add(h)
        except HistogramError as err:
            annos.append(_incompatible(err, name))
            return None
    return total


def avg_over_time(hists: Sequence[FloatHistogram], name: str,
                  annos: List[Annotation]) -> Optional[FloatHistogram]:
    """The incremental mean Prometheus computes (``mean += h/n - mean/n``)."""
    mean = hists[0].copy()
    count = 1
    for h in hists[1:]:
        count += 1
        left = h.copy().div(count)
        right = mean.copy().div(count)
        try:
            to_add = left.sub(right)
            mean.add(to_add)
        except HistogramError as err:
            annos.append(_incompatible(err, name))
            return None
    return mean


def resets(items: Sequence) -> int:
    """``resets`` over a window mixing floats and histograms (time order)."""
    n = 0
    for prev, cur in zip(items, items[1:]):
        ph, ch = isinstance(prev, FloatHistogram), isinstance(cur, FloatHistogram)
        if not ph and not ch:
            n += cur < prev
        elif ph != ch:
            n += 1
        elif cur.detect_reset(prev):
            n += 1
    return n


def changes(items: Sequence) -> int:
    """``changes`` over a window mixing floats and histograms (time order)."""
    n = 0
    for prev, cur in zip(items, items[1:]):
        ph, ch = isinstance(prev, FloatHistogram), isinstance(cur, FloatHistogram)
        if not ph and not ch:
            n += cur != prev and not (cur != cur and prev != prev)
        elif ph != ch:
            n += 1
        elif not cur.equals(prev):
            n += 1
    return n


# -- aggregation --------------------------------------------------------------------------

class HistogramGroup:
    """The histogram half of a ``sum``/``avg`` group at one step (``engine.go``'s
    ``groupedAggregation``): add values in input order, then ``result()``."""

    __slots__ = ("op", "value", "count", "incompatible")

    def __init__(self, op: str):
        self.op = op
        self.value: Optional[FloatHistogram] = None
        self.count = 0
        self.incompatible = False

    def add(self, h: FloatHistogram, name: str, annos: List[Annotation]) -> None:
        if self.incompatible:
            return
        self.count += 1
        if self.value is None:
            self.value = h.copy()
            return
        try:
            if self.op == "sum":
                self.value.add(h)
            else:
                left = h.copy().div(self.count)
                right = self.value.copy().div(self.count)
                self.value.add(left.sub(right))
        except HistogramError as err:
            annos.append(_incompatible(err, name))
            self.incompatible = True

    def result(self) -> Optional[FloatHistogram]:
        if self.incompatible or self.value is None:
            return None
        return self.value.compact(0)


# -- binary operators ------------------------------------------------------------------------

def elem_binop(op: str, lhs, rhs, annos: List[Annotation]):
    """``vectorElemBinop`` when a histogram is involved: ``lhs``/``rhs`` are floats or
    ``FloatHistogram``s. Returns ``(value, keep)``; value a float or a histogram."""
    lh, rh = isinstance(lhs, FloatHistogram), isinstance(rhs, FloatHistogram)
    if not lh and rh:
        if op == "*":
            return rhs.copy().mul(lhs).compact(0), True
        annos.append((INCOMPATIBLE_TYPES, f'"{op}": float {op} histogram'))
        return None, False
    if lh and not rh:
        if op == "*":
            return lhs.copy().mul(rhs).compact(0), True
        if op == "/":
            return lhs.copy().div(rhs).compact(0), True
        annos.append((INCOMPATIBLE_TYPES, f'"{op}": histogram {op} float'))
        return None, False
    if op in ("+", "-"):
        try:
            res = lhs.copy().add(rhs) if op == "+" else lhs.copy().sub(rhs)
        except HistogramError:
            annos.append((INCOMPATIBLE_BUCKET_LAYOUT, op))
            return None, False
        return res.compact(0), True
    if op == "==":
        return lhs, lhs.equals(rhs)
    if op == "!=":
        return lhs, not lhs.equals(rhs)
    annos.append((INCOMPATIBLE_TYPES, f'"{op}": histogram {op} histogram'))
    return None, False


def negate(h: FloatHistogram) -> FloatHistogram:
    """Unary minus of a histogram (``h.Copy().Mul(-1)``)."""
    return h.copy().mul(-1)


def drop_hint_for_subquery(h: FloatHistogram) -> FloatHistogram:
    """A subquery's histograms lose their ``CounterReset``/``NotCounterReset`` hints."""
    if h.counter_reset_hint in (NOT_COUNTER_RESET, COUNTER_RESET):
        h = h.copy()
        h.counter_reset_hint = UNKNOWN_COUNTER_RESET
    return h
