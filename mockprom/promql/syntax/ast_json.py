"""The syntax tree as ``/api/v1/parse_query`` answers it (Prometheus's
``web/api/v1/translate_ast.go``, the tree view of the web UI). Keys sort as Go's JSON
encoder sorts a map's."""

from __future__ import annotations

from mockprom.promql import nodes as n
from mockprom.promql.syntax.golang import format_float_f, valid_utf8 as _u
from mockprom.promql.syntax.tree import Node


def _matchers(node: Node) -> list:
    found = [(label, op, value) for label, op, value, _ in node.matchers]
    if node.name:
        found.append(("__name__", "=", node.name))
    return [{"name": _u(label), "type": op, "value": _u(value)}
            for label, op, value in found]


def _at(node: Node) -> dict:
    return {"offset": node.offset_ms, "timestamp": node.at_ms,
            "startOrEnd": node.at_edge}


def ast_json(node: Node):
    """A JSON-ready dict of ``node`` (None stays None)."""
    if node is None:
        return None
    kind = node.kind
    if kind == "agg":
        out = {"type": "aggregation", "op": node.op, "expr": ast_json(node.expr),
               "param": ast_json(node.param), "grouping": list(map(_u, node.grouping)),
               "without": node.without}
    elif kind == "bin":
        matching = None
        if node.lhs.type == n.VECTOR and node.rhs.type == n.VECTOR:
            card = "many-to-many" if node.op.lower() in n.SET_OPS else node.card
            matching = {"card": card, "include": list(map(_u, node.include)),
                        "labels": list(map(_u, node.labels)), "on": node.on}
        out = {"type": "binaryExpr", "op": node.op.lower(), "lhs": ast_json(node.lhs),
               "rhs": ast_json(node.rhs), "matching": matching, "bool": node.bool}
    elif kind == "call":
        sig = node.sig
        out = {"type": "call",
               "func": {"argTypes": list(sig.arg_types), "name": node.name,
                        "returnType": sig.return_type, "variadic": sig.variadic},
               "args": [ast_json(a) for a in node.args]}
    elif kind == "matrix":
        vs = node.vs
        out = {"type": "matrixSelector", "name": vs.name, "range": node.range_ms,
               "matchers": _matchers(vs), **_at(vs)}
    elif kind == "subquery":
        out = {"type": "subquery", "expr": ast_json(node.expr), "range": node.range_ms,
               "step": node.step_ms, **_at(node)}
    elif kind == "num":
        out = {"type": "numberLiteral", "val": format_float_f(node.value)}
    elif kind == "paren":
        out = {"type": "parenExpr", "expr": ast_json(node.expr)}
    elif kind == "str":
        out = {"type": "stringLiteral", "val": _u(node.value)}
    elif kind == "unary":
        out = {"type": "unaryExpr", "op": node.op, "expr": ast_json(node.expr)}
    else:  # vs
        out = {"type": "vectorSelector", "name": node.name, "matchers": _matchers(node),
               **_at(node)}
    return dict(sorted(out.items()))
