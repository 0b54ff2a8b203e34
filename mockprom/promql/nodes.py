"""mockprom's own PromQL AST. The parse adapter (``parse.py``) builds these nodes; the
engine evaluates them. Times and durations are integer milliseconds, as inside Prometheus.

Every node has ``type``: one of ``"scalar"``, ``"vector"``, ``"matrix"``, ``"string"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

from mockprom.scenario.labels import Matcher

SCALAR, VECTOR, MATRIX, STRING = "scalar", "vector", "matrix", "string"


@dataclass(frozen=True)
class NumberLiteral:
    value: float
    duration: bool = False  # written as a duration (Prometheus 3: ``1m + 1``)
    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    type = SCALAR


@dataclass(frozen=True)
class DurationExpr:
    """Prometheus 3's duration arithmetic (``[5m + 1m]``, ``offset (1h * 2)``) in a
    range, step or offset, in seconds: ``op`` on ``lhs`` and ``rhs`` (NumberLiteral or
    DurationExpr; ``lhs`` None for unary minus). ``parse.resolve_durations`` computes
    it into the node's ``*_ms`` before evaluation."""

    op: str
    lhs: Optional["DurationExpr | NumberLiteral"]
    rhs: "DurationExpr | NumberLiteral"
    wrapped: bool = False
    # byte offsets in the query (Prometheus's errors name them: "4:10: ...")
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    type = SCALAR


@dataclass(frozen=True)
class StringLiteral:
    value: str
    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    type = STRING


@dataclass(frozen=True)
class VectorSelector:
    """``name{matchers} offset X @ T``. ``matchers`` includes ``__name__="name"`` when a
    name was given. ``at_ms`` is a fixed evaluation time; ``at_edge`` is ``"start"`` or
    ``"end"`` for ``@ start()`` / ``@ end()`` (resolved by the engine per query)."""

    name: Optional[str]
    matchers: Tuple[Matcher, ...]
    offset_ms: int = 0
    at_ms: Optional[int] = None
    at_edge: Optional[str] = None
    offset_expr: Optional[DurationExpr] = None  # unresolved duration arithmetic
    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    type = VECTOR


@dataclass(frozen=True)
class MatrixSelector:
    """``selector[range]``; offset and @ live on the inner ``VectorSelector``."""

    selector: VectorSelector
    range_ms: int
    range_expr: Optional[DurationExpr] = None  # unresolved duration arithmetic
    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    type = MATRIX


@dataclass(frozen=True)
class SubqueryExpr:
    """``expr[range:step] offset X @ T``; ``step_ms`` 0 means the default (the global
    evaluation interval, 1 minute in Prometheus's defaults)."""

    expr: "Expr"
    range_ms: int
    step_ms: int = 0
    offset_ms: int = 0
    at_ms: Optional[int] = None
    at_edge: Optional[str] = None
    range_expr: Optional[DurationExpr] = None  # unresolved duration arithmetic
    step_expr: Optional[DurationExpr] = None
    offset_expr: Optional[DurationExpr] = None
    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    type = MATRIX


@dataclass(frozen=True)
class ParenExpr:
    expr: "Expr"

    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    @property
    def type(self) -> str:
        return self.expr.type


@dataclass(frozen=True)
class UnaryExpr:
    op: str  # "-" or "+"
    expr: "Expr"

    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    @property
    def type(self) -> str:
        return self.expr.type


@dataclass(frozen=True)
class VectorMatching:
    """How the two sides of a vector/vector binary operation are matched.

    ``card``: ``"one-to-one"``, ``"many-to-one"`` (group_left), ``"one-to-many"``
    (group_right) or ``"many-to-many"`` (and/or/unless). ``on``: True for ``on(...)``,
    False for ``ignoring(...)`` (or no modifier, with ``labels`` empty). ``include``: the
    extra labels of ``group_left(...)`` / ``group_right(...)``."""

    card: str = "one-to-one"
    on: bool = False
    labels: Tuple[str, ...] = ()
    include: Tuple[str, ...] = ()


ARITHMETIC_OPS = ("+", "-", "*", "/", "%", "^", "atan2")
COMPARISON_OPS = ("==", "!=", ">", "<", ">=", "<=")
SET_OPS = ("and", "or", "unless")


@dataclass(frozen=True)
class BinaryExpr:
    op: str  # one of ARITHMETIC_OPS, COMPARISON_OPS, SET_OPS (lower case)
    lhs: "Expr"
    rhs: "Expr"
    return_bool: bool = False
    matching: Optional[VectorMatching] = None  # None unless both sides are vectors

    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    @property
    def type(self) -> str:
        if self.lhs.type == SCALAR and self.rhs.type == SCALAR:
            return SCALAR
        return VECTOR


AGGREGATE_OPS = ("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count",
                 "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio")


@dataclass(frozen=True)
class AggregateExpr:
    op: str  # one of AGGREGATE_OPS (limitk and limit_ratio: Prometheus 3)
    expr: "Expr"
    param: Optional["Expr"] = None  # k of topk/bottomk/limitk, phi of quantile, ratio of
    #                                 limit_ratio, label of count_values
    grouping: Tuple[str, ...] = ()
    without: bool = False
    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    type = VECTOR


@dataclass(frozen=True)
class Call:
    func: str
    args: Tuple["Expr", ...]
    return_type: str = VECTOR

    # (start, end) byte offsets of the node in the query text, when parsed from text
    # (annotations name the position: ``... (1:6)``); not part of the node's value
    pos: Optional[Tuple[int, int]] = field(default=None, compare=False, repr=False)
    @property
    def type(self) -> str:
        return self.return_type


Expr = Union[NumberLiteral, StringLiteral, VectorSelector, MatrixSelector, SubqueryExpr,
             ParenExpr, UnaryExpr, BinaryExpr, AggregateExpr, Call]
