"""Element-wise PromQL functions on instant vectors and scalars: math, trigonometry,
rounding and clamping, ``scalar``/``vector``/``time``/``pi``, ``timestamp`` and
``sort``/``sort_desc``. Semantics follow Prometheus 2.42's ``promql/functions.go``:
every function here that maps a vector drops the metric name."""

from __future__ import annotations

import math

import numpy as np

from mockprom.promql import gosort
from mockprom.promql.functions import register
from mockprom.promql.functions_gomath import (
    go_acos, go_acosh, go_asin, go_asinh, go_atan, go_atanh, go_cos, go_cosh, go_exp, go_log,
    go_log2, go_log10, go_sin, go_sinh, go_tan, go_tanh)
from mockprom.promql.steps import StepSeries


def map_vector(series: list[StepSeries], fn) -> list[StepSeries]:
    """Apply ``fn`` (float64 array -> float64 array, element-wise, broadcasting over a
    leading series axis) to every series at once (Prometheus's ``simpleFunc``; the
    engine drops the name)."""
    if not series:
        return []
    with np.errstate(all="ignore"):
        stacked = np.stack([np.asarray(s.vals, dtype=np.float64) for s in series])
        vals = np.asarray(fn(stacked), dtype=np.float64)
    return [StepSeries(s.labels, vals[i], s.present) for i, s in enumerate(series)]


def go_max(a, b):
    """Go's ``math.Max``: +Inf wins over NaN, otherwise NaN wins; +0 beats -0."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    res = np.fmax(a, b)  # ignores NaN
    res = np.where(np.isnan(a) | np.isnan(b), np.nan, res)
    res = np.where((a == np.inf) | (b == np.inf), np.inf, res)
    both_zero = (a == 0) & (b == 0)
    res = np.where(both_zero, np.where(np.signbit(a) & np.signbit(b), -0.0, 0.0), res)
    return res


def go_min(a, b):
    """Go's ``math.Min``: -Inf wins over NaN, otherwise NaN wins; -0 beats +0."""
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    res = np.fmin(a, b)
    res = np.where(np.isnan(a) | np.isnan(b), np.nan, res)
    res = np.where((a == -np.inf) | (b == -np.inf), -np.inf, res)
    both_zero = (a == 0) & (b == 0)
    res = np.where(both_zero, np.where(np.signbit(a) | np.signbit(b), -0.0, 0.0), res)
    return res


def _sgn(v: np.ndarray) -> np.ndarray:
    return np.where(v < 0, -1.0, np.where(v > 0, 1.0, v))


SIMPLE = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": go_exp,
    "sqrt": np.sqrt,
    "ln": go_log,
    "log2": go_log2,
    "log10": go_log10,
    "sgn": _sgn,
    "sin": go_sin,
    "cos": go_cos,
    "tan": go_tan,
    "asin": go_asin,
    "acos": go_acos,
    "atan": go_atan,
    "sinh": go_sinh,
    "cosh": go_cosh,
    "tanh": go_tanh,
    "asinh": go_asinh,
    "acosh": go_acosh,
    "atanh": go_atanh,
    "rad": lambda v: v * math.pi / 180,
    "deg": lambda v: v * 180 / math.pi,
}


def _make_simple(fn):
    def impl(ctx, args, call):
        return map_vector(args[0], fn)

    return impl


for _name, _fn in SIMPLE.items():
    register(_name, ("vector",), drops_name=True)(_make_simple(_fn))


@register("round", ("vector", "scalar"), optional_args=1, drops_name=True)
def round_(ctx, args, call):
    """``floor(v * (1/to_nearest) + 0.5) / (1/to_nearest)``: ties round up."""
    to_nearest = args[1] if len(args) > 1 else np.ones(ctx.n)
    with np.errstate(all="ignore"):
        inverse = 1.0 / np.asarray(to_nearest, dtype=np.float64)
    return map_vector(args[0], lambda v: np.floor(v * inverse + 0.5) / inverse)


@register("clamp", ("vector", "scalar", "scalar"), drops_name=True)
def clamp(ctx, args, call):
    """``max(min, min(max, v))``; no output at steps where ``max < min``."""
    lo, hi = np.asarray(args[1], np.float64), np.asarray(args[2], np.float64)
    ok = ~(hi < lo)
    out = map_vector(args[0], lambda v: go_max(lo, go_min(hi, v)))
    for s in out:
        s.present = s.present & ok
    return out


@register("clamp_max", ("vector", "scalar"), drops_name=True)
def clamp_max(ctx, args, call):
    hi = np.asarray(args[1], np.float64)
    return map_vector(args[0], lambda v: go_min(hi, v))


@register("clamp_min", ("vector", "scalar"), drops_name=True)
def clamp_min(ctx, args, call):
    lo = np.asarray(args[1], np.float64)
    return map_vector(args[0], lambda v: go_max(lo, v))


@register("time", (), return_type="scalar")
def time_(ctx, args, call):
    return ctx.steps.astype(np.float64) / 1000


@register("pi", (), return_type="scalar")
def pi(ctx, args, call):
    return np.full(ctx.n, math.pi)


@register("vector", ("scalar",))
def vector(ctx, args, call):
    return [StepSeries((), np.asarray(args[0], np.float64).copy(), np.ones(ctx.n, bool))]


@register("scalar", ("vector",), return_type="scalar")
def scalar(ctx, args, call):
    """The value of the only series present at a step, NaN where there are 0 or 2+."""
    count = np.zeros(ctx.n, dtype=np.int64)
    value = np.full(ctx.n, np.nan)
    for s in args[0]:
        count += s.present
        value = np.where(s.present, s.vals, value)
    return np.where(count == 1, value, np.nan)


@register("timestamp", ("vector",), drops_name=True)
def timestamp(ctx, args, call):
    """The sample's timestamp for a plain selector, else the evaluation time."""
    out = []
    for s in args[0]:
        t = s.sample_ts if s.sample_ts is not None else ctx.steps
        vals = np.asarray(t, dtype=np.int64).astype(np.float64) / 1000
        out.append(StepSeries(s.labels, vals, s.present))
    return out


def _sort(ctx, series: list[StepSeries], descending: bool) -> list[StepSeries]:
    """Prometheus orders the vector of an instant query with Go's ``sort.Sort``
    (pdqsort: not stable) on ``sort.Reverse(vectorByReverseValueHeap)`` for ``sort`` and
    ``sort.Reverse(vectorByValueHeap)`` for ``sort_desc``, starting from the order the
    series come in; NaN ends up last. Done here at the first step (instant queries have
    one); series absent there follow in input order."""
    # fresh series: the sample timestamps of a selector do not survive a function call
    series = [StepSeries(s.labels, s.vals, s.present) for s in series]
    if ctx.n == 0 or not series:
        return series
    present = [s for s in series if s.present[0]]
    rest = [s for s in series if not s.present[0]]
    base = gosort.value_heap_less if descending else gosort.reverse_value_heap_less
    keyed = [(float(s.vals[0]), i) for i, s in enumerate(present)]
    gosort.sort(keyed, gosort.reverse(lambda x, y: base(x[0], y[0])), ctx.rules.go_sort_xorshift)
    return [present[i] for _, i in keyed] + rest


@register("sort", ("vector",))
def sort(ctx, args, call):
    return _sort(ctx, args[0], descending=False)


@register("sort_desc", ("vector",))
def sort_desc(ctx, args, call):
    return _sort(ctx, args[0], descending=True)
