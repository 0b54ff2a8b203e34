"""Prometheus 3's duration arithmetic resolved before evaluation (``promql/durations.go``,
run by the engine's ``PreprocessExpr``): ``x[5m + 1m]`` becomes a 6 minute range."""

from __future__ import annotations

import dataclasses
import math

from mockprom.promql import nodes as n
from mockprom.promql.errors import ParseError


def _value(expr) -> float:
    """``evaluateDurationExpr``, in seconds."""
    if isinstance(expr, n.NumberLiteral):
        return expr.value
    lhs = _value(expr.lhs) if expr.lhs is not None else 0.0
    rhs = _value(expr.rhs)
    op = expr.op
    if op == "+":
        return lhs + rhs
    if op == "-":
        return -rhs if expr.lhs is None else lhs - rhs
    if op == "*":
        return lhs * rhs
    if op == "/":
        if rhs == 0:
            raise ParseError(f"{expr.start}:{expr.end}: division by zero")
        return lhs / rhs
    if op == "%":
        if rhs == 0:
            raise ParseError(f"{expr.start}:{expr.end}: modulo by zero")
        return math.fmod(lhs, rhs)
    try:
        return math.pow(lhs, rhs)
    except (OverflowError, ValueError):
        return math.inf if lhs > 0 or rhs == int(rhs) else math.nan


def _ms(expr, negative_ok: bool) -> int:
    """``calculateDuration``: whole ms, as ``time.Duration(d*1000) * time.Millisecond``."""
    seconds = _value(expr)
    start, end = getattr(expr, "start", 0), getattr(expr, "end", 0)
    if seconds <= 0 and not negative_ok:
        raise ParseError(f"{start}:{end}: duration must be greater than 0")
    if seconds > (1 << 63) - 1 or seconds < -(1 << 63):
        raise ParseError(f"{start}:{end}: duration is out of range")
    ms = seconds * 1000
    if not math.isfinite(ms) or abs(ms) >= 2.0 ** 63:
        return -(1 << 63)  # Go's conversion of an out-of-range float
    return int(ms)


def resolve_durations(expr, step_ms=None):
    """``expr`` with every duration arithmetic computed into its range, step or offset
    (``step_ms``, the query's step, is for ``step()``, which Prometheus 3.5 does not have
    yet). Raises ``ParseError`` worded as Prometheus (``4:10: duration must be greater
    than 0``). Trees without duration arithmetic come back unchanged."""
    if isinstance(expr, n.VectorSelector):
        if expr.offset_expr is not None:
            return dataclasses.replace(expr, offset_ms=_ms(expr.offset_expr, True))
        return expr
    if isinstance(expr, n.MatrixSelector):
        selector = resolve_durations(expr.selector, step_ms)
        if expr.range_expr is not None:
            return dataclasses.replace(expr, selector=selector,
                                       range_ms=_ms(expr.range_expr, False))
        return expr if selector is expr.selector else dataclasses.replace(
            expr, selector=selector)
    if isinstance(expr, n.SubqueryExpr):
        changes = {}
        inner = resolve_durations(expr.expr, step_ms)
        if inner is not expr.expr:
            changes["expr"] = inner
        if expr.offset_expr is not None:
            changes["offset_ms"] = _ms(expr.offset_expr, True)
        if expr.step_expr is not None:
            changes["step_ms"] = _ms(expr.step_expr, False)
        if expr.range_expr is not None:
            changes["range_ms"] = _ms(expr.range_expr, False)
        return dataclasses.replace(expr, **changes) if changes else expr
    if isinstance(expr, (n.ParenExpr, n.UnaryExpr)):
        inner = resolve_durations(expr.expr, step_ms)
        return expr if inner is expr.expr else dataclasses.replace(expr, expr=inner)
    if isinstance(expr, n.BinaryExpr):
        lhs, rhs = resolve_durations(expr.lhs, step_ms), resolve_durations(expr.rhs, step_ms)
        if lhs is expr.lhs and rhs is expr.rhs:
            return expr
        return dataclasses.replace(expr, lhs=lhs, rhs=rhs)
    if isinstance(expr, n.AggregateExpr):
        param = resolve_durations(expr.param, step_ms) if expr.param is not None else None
        inner = resolve_durations(expr.expr, step_ms)
        if param is expr.param and inner is expr.expr:
            return expr
        return dataclasses.replace(expr, param=param, expr=inner)
    if isinstance(expr, n.Call):
        args = tuple(resolve_durations(a, step_ms) for a in expr.args)
        if all(a is b for a, b in zip(args, expr.args)):
            return expr
        return dataclasses.replace(expr, args=args)
    return expr
