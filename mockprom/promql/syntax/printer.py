"""Prometheus's printer (``printer.go``: ``Expr.String()``) and prettifier
(``prettier.go``: ``Prettify``, what ``/api/v1/format_query`` answers), over the syntax
tree as ``checkAST`` leaves it, for each release line."""

from __future__ import annotations

import re

from mockprom.gofloat import format_g
from mockprom.promql import nodes as n
from mockprom.promql.syntax.golang import format_duration, format_float_f, go_quote
from mockprom.promql.syntax.rows import Syntax
from mockprom.promql.syntax.tree import Node

MAX_CHARACTERS_PER_LINE = 100
_LEGACY_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")


def _quote_label_name(name: str) -> bool:
    """``Matcher.shouldQuoteName`` (Prometheus 3)."""
    for i, c in enumerate(name):
        if c == "_" or "a" <= c <= "z" or "A" <= c <= "Z" or (i > 0 and "0" <= c <= "9"):
            continue
        return True
    return name == ""


def _duration_seconds(seconds: float) -> str:
    """``model.Duration(seconds * 1e9).String()``."""
    ns = seconds * 1e9
    ms = int(ns) // 1_000_000 if abs(ns) < 2.0 ** 63 else -(1 << 63) // 1_000_000
    return format_duration(ms) if ms >= 0 else "0s"


class Printer:
    def __init__(self, syntax: Syntax):
        self.syntax = syntax

    # -- String() --------------------------------------------------------------------
    def string(self, node: Node) -> str:
        return getattr(self, "_s_" + node.kind)(node)

    def _s_num(self, node: Node) -> str:
        v = node.value
        if self.syntax.number_style == "g":
            return format_g(v)
        if node.duration:
            return "-" + _duration_seconds(-v) if v < 0 else _duration_seconds(v)
        return format_float_f(v)

    def _s_str(self, node: Node) -> str:
        return go_quote(node.value)

    def _s_paren(self, node: Node) -> str:
        return "(" + self.string(node.expr) + ")"

    def _s_unary(self, node: Node) -> str:
        return node.op + self.string(node.expr)

    def _s_dur(self, node: Node) -> str:
        if node.lhs is None:
            text = node.op + self.string(node.rhs)
        else:
            text = f"{self.string(node.lhs)} {node.op} {self.string(node.rhs)}"
        return f"({text})" if node.wrapped else text

    def _s_call(self, node: Node) -> str:
        return node.name + "(" + ", ".join(self.string(a) for a in node.args) + ")"

    def join_labels(self, names) -> str:
        if not self.syntax.quote_names_in_print:
            return ", ".join(names)
        return ", ".join(name if _LEGACY_NAME.match(name) else go_quote(name)
                         for name in names)

    def agg_op(self, node: Node) -> str:
        text = node.op
        if node.without:
            text += f" without ({self.join_labels(node.grouping)}) "
        elif node.grouping:
            text += f" by ({self.join_labels(node.grouping)}) "
        return text

    def _s_agg(self, node: Node) -> str:
        text = self.agg_op(node) + "("
        if node.param is not None:
            text += self.string(node.param) + ", "
        return text + self.string(node.expr) + ")"

    def matching(self, node: Node) -> str:
        vector = node.lhs.type == n.VECTOR and node.rhs.type == n.VECTOR
        if not vector or not (node.labels or node.on):
            return ""
        text = f" {'on' if node.on else 'ignoring'} ({', '.join(node.labels)})"
        card = node.card
        if node.op.lower() in n.SET_OPS:
            card = "many-to-many"
        if card in ("many-to-one", "one-to-many"):
            side = "left" if card == "many-to-one" else "right"
            text += f" group_{side} ({', '.join(node.include)})"
        return text

    def _s_bin(self, node: Node) -> str:
        return (f"{self.string(node.lhs)} {node.op.lower()}{' bool' if node.bool else ''}"
                f"{self.matching(node)} {self.string(node.rhs)}")

    def modifiers(self, node: Node) -> str:
        """`` @ t offset d`` of a selector or subquery."""
        at = ""
        if node.at_ms is not None:
            at = " @ %.3f" % (node.at_ms / 1000.0)
        elif node.at_edge:
            at = f" @ {node.at_edge}()"
        offset = ""
        if node.offset_expr is not None:
            offset = " offset " + self.string(node.offset_expr)
        elif node.offset_ms > 0:
            offset = " offset " + format_duration(node.offset_ms)
        elif node.offset_ms < 0:
            offset = " offset -" + format_duration(-node.offset_ms)
        return at + offset

    def matcher(self, label: str, op: str, value: str) -> str:
        name = label
        if self.syntax.quote_names_in_print and _quote_label_name(label):
            name = go_quote(label)
        return name + op + go_quote(value)

    def selector(self, node: Node) -> str:
        matchers = [(label, op, value) for label, op, value, _ in node.matchers]
        if node.name:
            matchers.append(("__name__", "=", node.name))
        strict = self.syntax.quote_names_in_print  # 3.x keeps an explicit empty name
        shown = sorted(self.matcher(*m) for m in matchers
                       if not (m[0] == "__name__" and m[1] == "=" and m[2] == node.name
                               and (m[2] != "" or not strict)))
        if not shown:
            return node.name
        return node.name + "{" + ",".join(shown) + "}"

    def _s_vs(self, node: Node) -> str:
        return self.selector(node) + self.modifiers(node)

    def range_text(self, ms: int, expr) -> str:
        return self.string(expr) if expr is not None else format_duration(ms)

    def _s_matrix(self, node: Node) -> str:
        return (self.selector(node.vs) + "[" + self.range_text(node.range_ms, node.range_expr)
                + "]" + self.modifiers(node.vs))

    def subquery_suffix(self, node: Node) -> str:
        step = ""
        if node.step_ms:
            step = format_duration(node.step_ms)
        elif node.step_expr is not None:
            step = self.string(node.step_expr)
        return (f"[{self.range_text(node.range_ms, node.range_expr)}:{step}]"
                + self.modifiers(node))

    def _s_subquery(self, node: Node) -> str:
        return self.string(node.expr) + self.subquery_suffix(node)

    # -- Pretty() --------------------------------------------------------------------
    def needs_split(self, node: Node) -> bool:
        return len(self.string(node).encode("utf-8", "surrogatepass")) > MAX_CHARACTERS_PER_LINE

    def pretty(self, node: Node, level: int = 0) -> str:
        indent = "  " * level
        kind = node.kind
        if kind == "subquery":
            if not self.needs_split(node):
                return self.string(node)  # (Prometheus forgets the indent here)
            return self.pretty(node.expr, level) + self.subquery_suffix(node)
        if kind == "unary":
            return indent + node.op + self.pretty(node.expr, level).strip()
        if kind not in ("agg", "bin", "call", "paren") or not self.needs_split(node):
            return indent + self.string(node)
        if kind == "agg":
            text = indent + self.agg_op(node) + "(\n"
            if node.param is not None:
                text += self.pretty(node.param, level + 1) + ",\n"
            return text + self.pretty(node.expr, level + 1) + "\n" + indent + ")"
        if kind == "bin":
            return (self.pretty(node.lhs, level + 1) + "\n" + indent + node.op.lower()
                    + (" bool" if node.bool else "") + self.matching(node) + "\n"
                    + self.pretty(node.rhs, level + 1))
        if kind == "call":
            args = ",\n".join(self.pretty(a, level + 1) for a in node.args)
            return indent + node.name + "(\n" + args + "\n" + indent + ")"
        return indent + "(\n" + self.pretty(node.expr, level + 1) + "\n" + indent + ")"
