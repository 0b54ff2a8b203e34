"""Prometheus's PromQL grammar (``generated_parser.y`` and the actions of ``parse.go``),
for each release line: builds the syntax tree (``tree.Node``) and raises ``tree.Fail``
at the first error Prometheus would report, worded and positioned as it does (which
error rule's context an "unexpected ..." names, which check fires first).

A precedence-climbing parser without recursion on long operator chains; the grammar's
error rules are kept as a stack of contexts (the innermost one names the failure)."""

from __future__ import annotations

import math
import re

from mockprom.gofloat import format_prec
from mockprom.promql.syntax.golang import (duration_ms, go_number, go_quote, unquote,
                                           valid_utf8)
from mockprom.promql.syntax.lexer import KEYWORDS, Lexer, OPERATOR_WORDS, PREPROCESSORS
from mockprom.promql.syntax.regex import regex_error
from mockprom.promql.syntax.rows import Dialect
from mockprom.promql.syntax.tree import Fail, Node, Panic

SYMBOL_OPERATORS = frozenset(("+", "-", "*", "/", "%", "^", "==", "!=", "<=", "<", ">=",
                              ">", "=~", "!~", "@"))
PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3,
              ">=": 3, ">": 3, "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5,
              "^": 6}
_UNARY_PRECEDENCE = 5  # %prec MUL
_DURATION_OPS = {"+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "^": 6}
_LITERALS = ("NUMBER", "DURATION")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_MAX_DURATION_S = float(1 << 63) / 1e9  # Go: 1<<63/1e9


def _round_half_away(x: float) -> int:
    """Go's ``math.Round``."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def seconds_to_ms(seconds: float) -> int:
    """``time.Duration(math.Round(s * 1e9))`` in whole ms, as Prometheus keeps ranges."""
    return _round_half_away(seconds * 1e9) // 1_000_000


class Parser:
    def __init__(self, text: str, dialect: Dialect):
        self.text = text
        self.dialect = dialect
        self.syntax = syntax = dialect.syntax
        self.toks = Lexer(text, syntax).tokens()
        self.i = 0
        self.context: list = []  # innermost grammar error rule: (context, expected)
        self.nesting: list = []  # open "call", "paren" and "agg" bodies, innermost last
        self.last_end = 0
        self.aggregators = syntax.aggregators
        self.metric_identifiers = (frozenset(("IDENT", "METRIC_IDENT", "by", "without",
                                              "offset", "and", "or", "unless", "start",
                                              "end")) | syntax.aggregators)
        self.expr_starts = self.metric_identifiers | {"NUMBER", "STRING", "(", "{", "+",
                                                      "-"}
        if syntax.durations:
            self.expr_starts = self.expr_starts | {"DURATION"}
        self.maybe_labels = self.metric_identifiers | KEYWORDS | {"atan2"}

    # tokens
    def peek(self, ahead: int = 0):
        tok = self.toks[min(self.i + ahead, len(self.toks) - 1)]
        if tok[0] == "ERROR":
            raise Fail(tok[1], tok[2])
        return tok

    def peek_kind(self, ahead: int) -> str:
        """The kind of a token further ahead, without raising on a lexer error."""
        return self.toks[min(self.i + ahead, len(self.toks) - 1)][0]

    def take(self):
        tok = self.peek()
        self.i += 1
        self.last_end = tok[1] + len(tok[2])
        return tok

    def describe(self, tok) -> str:
        """How Prometheus names a token in "unexpected ..." (``Item.desc``)."""
        kind, _, val = tok
        if kind == "EOF":
            return "end of input"
        shown = go_quote(val) if len(val) <= 10 else go_quote(val[:10]) + "..."
        if kind == "IDENT":
            return "identifier " + go_quote(val)
        if kind == "METRIC_IDENT":
            return "metric identifier " + go_quote(val)
        if kind == "NUMBER":
            return "number " + shown
        if kind == "STRING":
            return "string " + shown
        if kind == "DURATION":
            return "duration " + shown
        if kind in KEYWORDS:
            return f"<{val}>"
        if kind == "@":  # AT has no entry in Go's ItemTypeStr, hence the odd description
            return f'"<Item {self.syntax.at_item}>" <op:{val}>'
        if kind in SYMBOL_OPERATORS or kind in OPERATOR_WORDS:
            return f"<op:{val}>"
        if kind in self.aggregators:
            return f"<aggr:{val}>"
        return shown

    def unexpected(self, tok=None):
        tok = tok or self.peek()
        if tok[0] == ")" and self.context and self.context[-1][0] == "aggregation":
            self._closing_paren_panic()
        msg = "unexpected " + self.describe(tok)
        if self.context:
            where, expected = self.context[-1]
            msg += " in " + where
            if expected:
                msg += ", expected " + expected
        raise Fail(tok[1], msg)

    def _closing_paren_panic(self) -> None:
        """Prometheus 3 panics (``unexpected error``) when its error rule for an
        aggregation consumes the ``)`` that a function call or parenthesis around the
        aggregation then needs (its ``closingParens`` bookkeeping runs dry)."""
        if not self.syntax.durations:  # (2.42 keeps no such list)
            return
        inner = len(self.nesting) - 1 - self.nesting[::-1].index("agg")
        if inner > 0 and self.nesting[inner - 1] in ("call", "paren"):
            raise Panic()

    def expect(self, kind: str):
        if self.peek()[0] != kind:
            self.unexpected()
        return self.take()

    # entry points
    def parse_expr(self) -> Node:
        """``START_EXPRESSION expr EOF``."""
        if self.peek()[0] == "EOF":
            raise Fail(0, "no expression found in input")
        expr = self.expr()
        if self.peek()[0] != "EOF":
            self.unexpected()
        return expr

    def parse_metric_selector(self) -> Node:
        """``START_METRIC_SELECTOR vector_selector``: a metric name and/or one ``{...}``."""
        tok = self.peek()
        name = ""
        if tok[0] in self.metric_identifiers:
            name = self.take()[2]
        matchers = []
        if self.peek()[0] == "{":
            matchers = self.label_matchers()
        elif not name:
            self.unexpected()
        if self.peek()[0] != "EOF":
            self.unexpected()
        return Node("vs", tok[1], self.last_end, name=name, matchers=matchers)

    # expressions: operators by precedence, without recursion on long chains
    def expr(self) -> Node:
        operands: list = []
        ops: list = []
        while True:
            while self.peek()[0] in ("+", "-"):
                ops.append(("unary", self.take()))
            operands.append(self.postfix())
            tok = self.peek()
            prec = PRECEDENCE.get(tok[0])
            if prec is None:
                break
            while ops and self._reduces_first(ops[-1], prec, tok[0] == "^"):
                self._reduce(operands, ops)
            self.take()
            ops.append(("binary", tok, prec, self.bin_modifier()))
        while ops:
            self._reduce(operands, ops)
        return operands[0]

    @staticmethod
    def _reduces_first(top, prec: int, right_assoc: bool) -> bool:
        if top[0] == "unary":
            return prec <= _UNARY_PRECEDENCE
        return top[2] > prec or (top[2] == prec and not right_assoc)

    @staticmethod
    def _reduce(operands: list, ops: list) -> None:
        entry = ops.pop()
        if entry[0] == "unary":
            tok, inner = entry[1], operands.pop()
            if inner.kind == "num":  # Prometheus folds the sign into the literal
                if tok[0] == "-":
                    inner.value = -inner.value
                inner.start = tok[1]
                operands.append(inner)
            else:
                operands.append(Node("unary", tok[1], inner.end, op=tok[0], expr=inner))
            return
        _, tok, _, mod = entry
        rhs, lhs = operands.pop(), operands.pop()
        operands.append(Node("bin", lhs.start, rhs.end, op=tok[0], lhs=lhs, rhs=rhs, **mod))

    def bin_modifier(self) -> dict:
        mod = {"bool": False, "on": False, "labels": [], "card": "one-to-one",
               "include": [], "matching": False}
        if self.peek()[0] == "bool":
            self.take()
            mod["bool"] = True
        if self.peek()[0] in ("on", "ignoring"):
            mod["on"] = self.take()[0] == "on"
            mod["matching"] = True
            mod["labels"] = self.grouping_labels()
            if self.peek()[0] in ("group_left", "group_right"):
                left = self.take()[0] == "group_left"
                mod["card"] = "many-to-one" if left else "one-to-many"
                if self.peek()[0] == "(" or self.peek()[0] not in self.expr_starts:
                    mod["include"] = self.grouping_labels()
        return mod

    def grouping_labels(self) -> list:
        self.context.append(("grouping opts", '"("'))
        self.expect("(")
        self.context[-1] = ("grouping opts", "label")
        labels: list = []
        if self.peek()[0] != ")":
            while True:
                labels.append(self.grouping_label())
                self.context[-1] = ("grouping opts", '"," or ")"')
                kind = self.peek()[0]
                if kind == ",":
                    self.take()
                    self.context[-1] = ("grouping opts", "label")
                    if self.peek()[0] == ")":
                        break
                    continue
                if kind == ")":
                    break
                self.unexpected()
        self.take()
        self.context.pop()
        return labels

    def grouping_label(self) -> str:
        tok = self.peek()
        if tok[0] == "STRING" and self.syntax.quoted_names:
            self.take()
            name = unquote(tok[2])
            if not name:
                raise Fail(tok[1], f"invalid label name for grouping: {go_quote(name)}")
            return name
        if tok[0] not in self.maybe_labels:
            self.unexpected()
        self.take()
        if not self.syntax.quoted_names and not _LABEL_NAME.match(tok[2]):
            self.unexpected(tok)
        return tok[2]

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            kind = self.peek()[0]
            if kind == "[":
                node = self.range_or_subquery(node)
            elif kind == "offset":
                node = self.offset(node)
            elif kind == "@":
                node = self.at(node)
            else:
                return node

    def number_literal(self) -> Node:
        """``number_duration_literal``: a number, or (Prometheus 3) a duration in s."""
        tok = self.take()
        if tok[0] == "DURATION":
            try:
                seconds = duration_ms(tok[2], self.syntax.duration_unit_errors) / 1000
            except ValueError as exc:
                raise Fail(tok[1], str(exc)) from None
            return Node("num", tok[1], self.last_end, value=seconds, duration=True)
        try:
            value = go_number(tok[2])
        except ValueError as exc:
            raise Fail(tok[1], f"error parsing number: {exc}") from None
        return Node("num", tok[1], self.last_end, value=value, duration=False)

    def primary(self) -> Node:
        tok = self.peek()
        kind = tok[0]
        if kind == "NUMBER" or (kind == "DURATION" and self.syntax.durations):
            return self.number_literal()
        if kind == "STRING":
            self.take()
            return Node("str", tok[1], self.last_end, value=unquote(tok[2]))
        if kind == "(":
            self.take()
            self.nesting.append("paren")
            inner = self.expr()
            self.expect(")")
            self.nesting.pop()
            return Node("paren", tok[1], self.last_end, expr=inner)
        if kind == "{":
            return self.selector("", tok[1])
        if kind in self.aggregators and self.peek(1)[0] in ("(", "by", "without"):
            return self.aggregate()
        if kind == "IDENT" and self.peek(1)[0] == "(":
            return self.call()
        if kind in self.metric_identifiers:
            self.take()
            return self.selector(tok[2], tok[1])
        self.unexpected()

    def selector(self, name: str, start: int) -> Node:
        matchers: list = []
        if self.peek()[0] == "{":
            matchers = self.label_matchers()
        return Node("vs", start, self.last_end, name=name, matchers=matchers)

    def label_matchers(self) -> list:
        self.take()
        self.context.append(("label matching", 'identifier or "}"'))
        matchers: list = []
        quoted = self.syntax.quoted_names
        if self.peek()[0] != "}":
            while True:
                label = self.peek()
                if label[0] == "STRING" and quoted:
                    self.take()
                    name = unquote(label[2])
                    if self.peek()[0] not in ("=", "!=", "=~", "!~"):
                        # a lone quoted name is the metric name
                        matchers.append(("__name__", "=", name, label[1]))
                        self.matcher_list_next(matchers)
                        if self.peek()[0] == "}":
                            break
                        continue
                else:
                    self.expect("IDENT")
                    name = label[2]
                    self.context[-1] = ("label matching", "label matching operator")
                op = self.peek()[0]
                if op not in ("=", "!=", "=~", "!~"):
                    self.unexpected()
                self.take()
                self.context[-1] = ("label matching", "string")
                value = unquote(self.expect("STRING")[2])
                if op in ("=~", "!~"):
                    problem = regex_error(value, self.syntax)  # bytes as Go sees them
                    if problem:  # shown as Go's JSON shows bytes that are no UTF-8
                        raise Fail(label[1], valid_utf8(problem))
                matchers.append((name, op, value, label[1]))
                self.matcher_list_next(matchers)
                if self.peek()[0] == "}":
                    break
        self.take()
        self.context.pop()
        return matchers

    def matcher_list_next(self, matchers: list) -> None:
        """After a matcher: ``,`` (then another matcher or ``}``) or ``}``."""
        self.context[-1] = ("label matching", '"," or "}"')
        kind = self.peek()[0]
        if kind == ",":
            self.take()
            self.context[-1] = ("label matching", 'identifier or "}"')
        elif kind != "}":
            self.unexpected()

    def call_body(self) -> list:
        self.expect("(")
        args: list = []
        if self.peek()[0] != ")":
            while True:
                args.append(self.expr())
                tok = self.peek()
                if tok[0] == ",":
                    self.take()
                    if self.peek()[0] not in self.expr_starts:  # yacc reduces by default
                        raise Fail(tok[1], "trailing commas not allowed in function call args")
                    continue
                if tok[0] == ")":
                    break
                self.unexpected()
        self.take()
        return args

    def call(self) -> Node:
        name = self.take()
        self.nesting.append("call")
        args = self.call_body()
        self.nesting.pop()
        sig = self.syntax.functions.get(name[2])
        if sig is None:
            raise Fail(name[1], f"unknown function with name {go_quote(name[2])}")
        if sig.experimental and not self.dialect.experimental:
            raise Fail(name[1], f"function {go_quote(name[2])} is not enabled")
        return Node("call", name[1], self.last_end, name=name[2], args=args, sig=sig)

    def aggregate(self) -> Node:
        op = self.take()
        self.context.append(("aggregation", ""))
        self.nesting.append("agg")
        grouping, without, modified = [], False, False
        if self.peek()[0] in ("by", "without"):
            without = self.take()[0] == "without"
            grouping = self.grouping_labels()
            modified = True
        args = self.call_body()
        if not modified and self.peek()[0] in ("by", "without"):
            without = self.take()[0] == "without"
            grouping = self.grouping_labels()
        self.context.pop()
        self.nesting.pop()
        if not args:
            raise Fail(op[1], "no arguments for aggregate expression provided")
        name = op[0]
        wanted = 1
        if name in self.syntax.param_aggregators:
            if name in self.syntax.experimental_aggregators and not self.dialect.experimental:
                raise Fail(op[1], f"{name}() is experimental and must be enabled with "
                                  "--enable-feature=promql-experimental-functions")
            wanted = 2
        if len(args) != wanted:
            raise Fail(op[1], "wrong number of arguments for aggregate expression "
                              f"provided, expected {wanted}, got {len(args)}")
        return Node("agg", op[1], self.last_end, op=name, expr=args[-1],
                    param=args[0] if wanted == 2 else None, grouping=grouping,
                    without=without)

    # ranges, subqueries, offset, @
    def duration_2_42(self, tok) -> int:
        try:
            ms = duration_ms(tok[2], self.syntax.duration_unit_errors)
        except ValueError as exc:
            raise Fail(tok[1], str(exc)) from None
        if ms == 0:
            raise Fail(tok[1], "duration must be greater than 0")
        return ms

    def range_or_subquery(self, node: Node) -> Node:
        bracket = self.take()
        self.context.append(("subquery selector", self._expected("duration")))
        range_ms, range_expr = self.bracket_duration()
        self.context[-1] = ("subquery or range", '":" or "]"')
        if self.peek()[0] == "]":
            self.take()
            self.context.pop()
            problem = None
            if node.kind != "vs":
                problem = "ranges only allowed for vector selectors"
            elif node.offset_ms != 0 or node.offset_expr is not None:
                problem = "no offset modifiers allowed before range"
            elif node.at_ms is not None:  # Prometheus lets ``@ start()`` through
                problem = "no @ modifiers allowed before range"
            if problem:
                raise Fail(bracket[1], problem)
            return Node("matrix", node.start, self.last_end, vs=node, range_ms=range_ms,
                        range_expr=range_expr)
        self.expect(":")
        self.context[-1] = ("subquery selector", self._expected("duration") + ' or "]"')
        step_ms, step_expr = 0, None
        if self.peek()[0] != "]" and (self.syntax.durations
                                      or self.peek()[0] == "DURATION"):
            step_ms, step_expr = self.bracket_duration()
            self.context[-1] = ("subquery selector", '"]"')
        self.expect("]")
        self.context.pop()
        return Node("subquery", node.start, self.last_end, expr=node, range_ms=range_ms,
                    range_expr=range_expr, step_ms=step_ms, step_expr=step_expr)

    def _expected(self, what: str) -> str:
        return "number or duration" if self.syntax.durations else what

    def bracket_duration(self):
        """A range or step: (ms, None) for a literal, (0, expression) for Prometheus 3's
        duration arithmetic (resolved before evaluation)."""
        if not self.syntax.durations:
            return self.duration_2_42(self.expect("DURATION")), None
        value = self.duration_expr()
        if value.kind == "num":  # positive_duration_expr
            if value.value <= 0:
                raise Fail(value.start, "duration must be greater than 0")
            return seconds_to_ms(value.value), None
        return 0, value

    # Prometheus 3's duration_expr: + - * / % ^ on numbers and durations
    def duration_literal(self) -> Node:
        node = self.number_literal()
        self._duration_in_range(node, node.start)
        return node

    def _duration_in_range(self, node: Node, pos: int) -> None:
        if node.value > _MAX_DURATION_S or node.value < -_MAX_DURATION_S:
            raise Fail(pos, "duration out of range")

    def duration_operand(self) -> Node:
        tok = self.peek()
        if tok[0] in _LITERALS:
            return self.duration_literal()
        if tok[0] == "(":
            self.take()
            inner = self.duration_expr()
            if self.peek()[0] != ")":
                self.unexpected()
            self.take()
            self._gate(inner)
            if inner.kind == "dur":
                inner.wrapped = True  # (its position stays its operands')
            return inner
        self.unexpected()

    def duration_expr(self) -> Node:
        operands: list = []
        ops: list = []
        while True:
            while self.peek()[0] in ("+", "-"):
                ops.append(("unary", self.take()))
            operands.append(self.duration_operand())
            tok = self.peek()
            prec = _DURATION_OPS.get(tok[0])
            if prec is None:
                break
            while ops and self._reduces_first(ops[-1], prec, tok[0] == "^"):
                self._reduce_duration(operands, ops)
            self.take()
            ops.append(("binary", tok, prec))
        while ops:
            self._reduce_duration(operands, ops)
        return operands[0]

    def _reduce_duration(self, operands: list, ops: list) -> None:
        entry = ops.pop()
        if entry[0] == "unary":
            tok, inner = entry[1], operands.pop()
            if inner.kind == "num":
                if tok[0] == "-":
                    inner.value = -inner.value
                self._duration_in_range(inner, tok[1])
                inner.start = tok[1]
                operands.append(inner)
            elif tok[0] == "-":
                operands.append(Node("dur", tok[1], inner.end, op="-", lhs=None, rhs=inner,
                                     wrapped=False))
            else:
                operands.append(inner)
            return
        tok = entry[1]
        rhs, lhs = operands.pop(), operands.pop()
        self._gate(lhs)
        if tok[0] in ("/", "%") and rhs.kind == "num" and rhs.value == 0:
            raise Fail(tok[1], "division by zero" if tok[0] == "/" else "modulo by zero")
        operands.append(Node("dur", lhs.start, rhs.end, op=tok[0], lhs=lhs, rhs=rhs,
                             wrapped=False))

    def _gate(self, node: Node) -> None:
        """``experimentalDurationExpr``: arithmetic needs promql-duration-expr."""
        if not self.dialect.duration_exprs:
            raise Fail(node.start, "experimental duration expression is not enabled")

    def offset_value(self):
        """The offset in ms and, for duration arithmetic, its expression."""
        if not self.syntax.durations:
            negative = False
            if self.peek()[0] == "-":
                self.take()
                negative = True
            ms = self.duration_2_42(self.expect("DURATION"))
            return (-ms if negative else ms), None
        tok = self.peek()
        # offset_duration_expr: a (signed) literal binds tighter than any operator
        if tok[0] in _LITERALS:
            node = self.duration_literal()
            return seconds_to_ms(node.value), None
        if tok[0] in ("+", "-") and self.peek_kind(1) in _LITERALS:
            self.take()
            node = self.number_literal()
            if tok[0] == "-":
                node.value = -node.value
            self._duration_in_range(node, tok[1])
            return seconds_to_ms(node.value), None
        if tok[0] not in ("+", "-", "("):
            self.unexpected()
        node = self.duration_expr()
        if node.kind == "num":
            return seconds_to_ms(node.value), None
        return 0, node

    def _modified(self, node: Node, what: str) -> Node:
        """The node that carries offset/@ (a matrix selector's is its selector)."""
        if node.kind in ("vs", "subquery"):
            return node
        if node.kind == "matrix":
            return node.vs
        raise Fail(node.start, f"{what} modifier must be preceded by an instant vector "
                               "selector or range vector selector or a subquery")

    def offset(self, node: Node) -> Node:
        self.take()
        self.context.append(("offset", self._expected("duration")))
        ms, expr = self.offset_value()
        self.context.pop()
        target = self._modified(node, "offset")
        if target.offset_ms != 0 or target.offset_expr is not None:
            raise Fail(node.start, "offset may not be set multiple times")
        target.offset_ms, target.offset_expr = ms, expr
        node.end = self.last_end
        return node

    def at(self, node: Node) -> Node:
        self.take()
        self.context.append(("@", "timestamp"))
        edge, at_ms = None, None
        if self.peek()[0] in PREPROCESSORS:
            edge = self.take()[0]
            self.expect("(")
            self.expect(")")
        else:
            sign = 1.0
            if self.peek()[0] in ("+", "-"):
                sign = -1.0 if self.take()[0] == "-" else 1.0
            kinds = _LITERALS if self.syntax.durations else ("NUMBER",)
            if self.peek()[0] not in kinds:
                self.unexpected()
            value = sign * self.number_literal().value
            if math.isinf(value) or math.isnan(value) or abs(value) >= 2.0 ** 63:
                raise Fail(node.start, "timestamp out of bounds for @ modifier: "
                           + format_prec(value, "f", 6))  # Go's %f
            at_ms = _round_half_away(value * 1000)
            if not -(1 << 63) <= at_ms < (1 << 63):
                at_ms = -(1 << 63)  # Go's int64(float) beyond int64 (amd64): MinInt64
        self.context.pop()
        target = self._modified(node, "@")
        if target.at:
            raise Fail(node.start, "@ <timestamp> may not be set multiple times")
        target.at = True
        target.at_ms, target.at_edge = at_ms, edge
        node.end = self.last_end
        return node
