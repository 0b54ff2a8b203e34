"""Prometheus's ``checkAST`` (``parse.go``): type checks of a parsed tree, raising the
first error Prometheus reports (``tree.Fail``)."""

from __future__ import annotations

from mockprom.promql import nodes as n
from mockprom.promql.syntax.golang import go_quote
from mockprom.promql.syntax.regex import matches_empty
from mockprom.promql.syntax.tree import Fail, Node, Panic

_SPACE = " \t\n\r"
DOC_TYPES = {n.SCALAR: "scalar", n.VECTOR: "instant vector", n.MATRIX: "range vector",
             n.STRING: "string"}


class Checker:
    def __init__(self, text: str):
        self.text = text

    def check(self, node: Node) -> str:
        kind = node.kind
        if kind == "agg":
            self.expect_type(node.expr, n.VECTOR, "aggregation expression")
            if node.op in ("topk", "bottomk", "quantile", "limitk", "limit_ratio"):
                self.expect_type(node.param, n.SCALAR, "aggregation parameter")
            if node.op == "count_values":
                self.expect_type(node.param, n.STRING, "aggregation parameter")
        elif kind == "bin":
            self.check_binary(node)
        elif kind == "call":
            self.check_call(node)
        elif kind == "paren":
            self.check(node.expr)
        elif kind == "unary":
            inner = self.check(node.expr)
            if inner not in (n.SCALAR, n.VECTOR):
                raise Fail(node.start, "unary expression only allowed on expressions of "
                           "type scalar or instant vector, got "
                           + go_quote(DOC_TYPES[inner]))
        elif kind == "subquery":
            inner = self.check(node.expr)
            if inner != n.VECTOR:
                raise Fail(node.start, f"subquery is only allowed on instant vector, got "
                                       f"{inner} instead")
        elif kind == "matrix":
            self.check(node.vs)
        elif kind == "vs":
            self.check_selector(node)
        return node.type

    def expect_type(self, node: Node, want: str, context: str) -> None:
        got = self.check(node)
        if got != want:
            raise Fail(node.start, f"expected type {DOC_TYPES[want]} in {context}, "
                                   f"got {DOC_TYPES[got]}")

    def check_binary(self, node: Node) -> None:
        left, right = self.check(node.lhs), self.check(node.rhs)
        op_pos = node.lhs.end
        while op_pos < len(self.text) and self.text[op_pos] in _SPACE:
            op_pos += 1
        op = node.op
        if node.bool and op not in n.COMPARISON_OPS:
            raise Fail(op_pos, "bool modifier can only be used on comparison operators")
        if op in n.COMPARISON_OPS and not node.bool and left == right == n.SCALAR:
            raise Fail(op_pos, "comparisons between scalars must use BOOL modifier")
        if node.on:
            for label in node.labels:
                if label in node.include:
                    raise Fail(op_pos, f"label {go_quote(label)} must not occur in ON and "
                                       "GROUP clause at once")
        if left not in (n.SCALAR, n.VECTOR):
            raise Fail(node.lhs.start, "binary expression must contain only scalar and "
                                       "instant vector types")
        if right not in (n.SCALAR, n.VECTOR):
            raise Fail(node.rhs.start, "binary expression must contain only scalar and "
                                       "instant vector types")
        if left != n.VECTOR or right != n.VECTOR:
            if node.labels:
                raise Fail(node.start, "vector matching only allowed between instant "
                                       "vectors")
        elif op in n.SET_OPS and node.card != "one-to-one":
            raise Fail(node.start, f"no grouping allowed for {go_quote(op)} operation")
        if n.SCALAR in (left, right) and op in n.SET_OPS:
            raise Fail(node.start, f"set operator {go_quote(op)} not allowed in binary "
                                   "scalar expression")

    def check_call(self, node: Node) -> None:
        arg_types, variadic = node.sig.arg_types, node.sig.variadic
        name, args, wanted = go_quote(node.name), node.args, len(arg_types)
        if variadic == 0:
            if wanted != len(args):
                raise Fail(node.start, f"expected {wanted} argument(s) in call to "
                                       f"{name}, got {len(args)}")
        else:
            least = wanted - 1
            if least > len(args):
                raise Fail(node.start, f"expected at least {least} argument(s) in call "
                                       f"to {name}, got {len(args)}")
            if variadic > 0 and least + variadic < len(args):
                raise Fail(node.start, f"expected at most {least + variadic} "
                                       f"argument(s) in call to {name}, got {len(args)}")
        if node.name == "info" and len(args) > 1:
            self.check_info_selector(node, args[1])
        for i, arg in enumerate(args):
            if i >= wanted:
                if variadic == 0:
                    break
                i = wanted - 1
            self.expect_type(arg, arg_types[i], f"call to function {name}")

    def check_info_selector(self, node: Node, arg: Node) -> None:
        """``info(v, {...})``: label selectors only (Prometheus 3)."""
        if arg.kind != "vs":
            raise Panic()  # Prometheus's type assertion panics (after any type error)
        if arg.name:
            raise Fail(arg.start, "expected label selectors only, got vector selector "
                                  "instead")
        arg.bypass_empty_check = True

    def check_selector(self, node: Node) -> None:
        if node.name:
            for label, _, value, _ in node.matchers:
                if label == "__name__":
                    raise Fail(node.start, "metric name must not be set twice: "
                                           f"{go_quote(node.name)} or {go_quote(value)}")
            return
        if getattr(node, "bypass_empty_check", False):
            return
        for label, op, value, _ in node.matchers:
            if not matches_empty(op, value):
                return
        raise Fail(node.start, "vector selector must contain at least one non-empty "
                               "matcher")
