"""The syntax tree the grammar builds: every node with its source positions and all that
Prometheus's AST holds (the checks, the printer, ``parse_query`` and the conversion to
the engine's ``nodes.py`` read it)."""

from __future__ import annotations

from mockprom.promql import nodes as n


class Fail(Exception):
    """A parse error at a character position, worded as Prometheus words it."""

    def __init__(self, pos: int, msg: str):
        super().__init__(msg)
        self.pos, self.msg = pos, msg


class Panic(Fail):
    """What Prometheus reports when its parser panics: ``unexpected error``, no position."""

    def __init__(self):
        super().__init__(0, "unexpected error")


class Node:
    """kind: num, str, vs, matrix, subquery, paren, unary, bin, agg, call, dur.

    vs: name ("" when none), matchers [(label, op, value, pos)] in source order;
    vs and subquery: offset_ms, offset_expr (a ``dur``/``num`` node of Prometheus 3's
    duration arithmetic), at_ms, at_edge ("start"/"end"); matrix: vs, range_ms,
    range_expr; subquery: expr, range_ms, range_expr, step_ms, step_expr;
    num: value, duration (written as a duration); dur: op, lhs (None: unary minus),
    rhs, wrapped (in parentheses)."""

    def __init__(self, kind: str, start: int, end: int, **fields):
        self.kind, self.start, self.end = kind, start, end
        self.offset = self.at = False  # set by a modifier (checks of repeated modifiers)
        self.offset_ms = 0
        self.offset_expr = None
        self.at_ms = None
        self.at_edge = None
        self.__dict__.update(fields)

    @property
    def type(self) -> str:
        kind = self.kind
        if kind in ("num", "dur"):
            return n.SCALAR
        if kind == "str":
            return n.STRING
        if kind in ("vs", "agg"):
            return n.VECTOR
        if kind in ("matrix", "subquery"):
            return n.MATRIX
        if kind in ("paren", "unary"):
            return self.expr.type
        if kind == "bin":
            both = self.lhs.type == n.SCALAR and self.rhs.type == n.SCALAR
            return n.SCALAR if both else n.VECTOR
        return self.sig.return_type  # call

    def children(self) -> list:
        kind = self.kind
        if kind in ("paren", "unary", "subquery"):
            return [self.expr]
        if kind == "bin":
            return [self.lhs, self.rhs]
        if kind == "agg":
            return ([self.param] if self.param is not None else []) + [self.expr]
        if kind == "call":
            return list(self.args)
        if kind == "matrix":
            return [self.vs]
        return []


def tree_depth(root: Node) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for child in node.children():
            stack.append((child, depth + 1))
    return deepest
