"""The syntax tree (``tree.Node``) as the engine's AST (``mockprom.promql.nodes``)."""

from __future__ import annotations

import dataclasses

from mockprom import goregex
from mockprom.promql import nodes as n
from mockprom.promql.errors import ParseError
from mockprom.promql.syntax.golang import valid_utf8 as _u
from mockprom.promql.syntax.tree import Node
from mockprom.scenario.labels import Matcher


def matcher(name: str, op: str, value: str,
            regex: goregex.Dialect = goregex.DEFAULT) -> Matcher:
    try:
        return Matcher.of(name, op, value, regex)
    except goregex.RegexError as exc:
        raise ParseError(f"1:1: parse error: {exc}") from None


class Builder:
    def __init__(self, text: str, regex: goregex.Dialect = goregex.DEFAULT):
        self.text = text
        self.regex = regex  # how the emulated Prometheus reads matcher regexes

    def byte_offset(self, pos: int) -> int:
        return len(self.text[:pos].encode("utf-8", "surrogatepass"))

    def build(self, node: Node):
        out = getattr(self, "_" + node.kind)(node)
        if getattr(out, "pos", False) is None:  # the node's place in the text
            out = dataclasses.replace(out, pos=(self.byte_offset(node.start),
                                                self.byte_offset(node.end)))
        return out

    def selector(self, node: Node) -> n.VectorSelector:
        matchers = [matcher(_u(label), op, _u(value), self.regex)
                    for label, op, value, _ in node.matchers]
        if node.name:
            matchers.insert(0, matcher("__name__", "=", node.name))
        return n.VectorSelector(node.name or None, tuple(matchers), node.offset_ms,
                                node.at_ms, node.at_edge, self.duration(node.offset_expr))

    def duration(self, node):
        """A duration arithmetic node (``dur``/``num``), or None."""
        if node is None:
            return None
        if node.kind == "num":
            return n.NumberLiteral(node.value, node.duration)
        return n.DurationExpr(node.op, self.duration(node.lhs), self.duration(node.rhs),
                              node.wrapped, self.byte_offset(node.start),
                              self.byte_offset(node.end))

    def _num(self, node):
        return n.NumberLiteral(float(node.value), bool(node.duration))

    def _str(self, node):
        # Go keeps the bytes of \xNN escapes that are not UTF-8 (surrogate escapes here):
        # count_values quotes them in its error; values that leave the engine are cleaned
        return n.StringLiteral(node.value)

    def _vs(self, node):
        return self.selector(node)

    def _matrix(self, node):
        return n.MatrixSelector(self.selector(node.vs), node.range_ms,
                                self.duration(node.range_expr))

    def _subquery(self, node):
        return n.SubqueryExpr(self.build(node.expr), node.range_ms, node.step_ms,
                              node.offset_ms, node.at_ms, node.at_edge,
                              self.duration(node.range_expr), self.duration(node.step_expr),
                              self.duration(node.offset_expr))

    def _paren(self, node):
        return n.ParenExpr(self.build(node.expr))

    def _unary(self, node):
        inner = self.build(node.expr)
        return n.UnaryExpr("-", inner) if node.op == "-" else inner

    def _bin(self, node):
        lhs, rhs = self.build(node.lhs), self.build(node.rhs)
        op = node.op.lower()
        matching = None
        if lhs.type == n.VECTOR and rhs.type == n.VECTOR:
            card = "many-to-many" if op in n.SET_OPS else node.card
            matching = n.VectorMatching(card, node.on, tuple(map(_u, node.labels)),
                                        tuple(map(_u, node.include)))
        return n.BinaryExpr(op, lhs, rhs, node.bool, matching)

    def _agg(self, node):
        param = self.build(node.param) if node.param is not None else None
        return n.AggregateExpr(node.op, self.build(node.expr), param,
                               tuple(map(_u, node.grouping)), node.without)

    def _call(self, node):
        return n.Call(node.name, tuple(self.build(a) for a in node.args),
                      node.sig.return_type)
