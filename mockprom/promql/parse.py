"""The PromQL parse adapter: query text -> mockprom's AST (``nodes.py``).

``parse(text)`` gives the tree the engine evaluates; ``format_expr(text)`` the prettified
text of ``/api/v1/format_query``; ``expr_string(text)`` the one-line ``Expr.String()``
form (a rule's ``query`` in ``/api/v1/rules``); ``check(text)`` Prometheus 2.42's verdict
alone (its error message, or None); ``parse_metric_selector(text)`` the matchers of a
``match[]`` series selector (2.42's ``parser.ParseMetricSelector``, no Rust parser).

This is the only module that imports ``promql_parser`` (a Rust parser with Python
bindings, which builds the tree). Around it:

- guards against its sharp edges: Rust panics (``BaseException``), a stack overflow on
  very deep input (a hard crash: refused up front by size, nesting and depth limits),
  extensions Prometheus 2.42 does not have (``or`` in matchers, quoted label names,
  ``fill()``, newer functions and aggregations) and two of its misreadings (escapes in
  raw strings, ``foo @ start() [1m]``);
- a port of Prometheus 2.42's lexer, grammar error rules and ``checkAST`` (section
  "Prometheus 2.42's verdict" below): it decides what 2.42 rejects and words every error
  exactly as 2.42 does, position included (``1:5: parse error: ...``).

Every failure raises ``ParseError`` (400 ``bad_data``). The API layer prefixes the
message with ``invalid parameter "query": `` as Prometheus does.
"""

from __future__ import annotations

import math
import re
import sys

import promql_parser as _pp

from mockprom.gofloat import format_g, format_prec
from mockprom.promql import nodes as n
from mockprom.promql.errors import ParseError
from mockprom.promql.syntax.rows import Syntax, syntax_of
from mockprom.promql.syntax.signatures import FUNCTIONS_V2_42
from mockprom.scenario.labels import Matcher

MAX_QUERY_BYTES = 64 * 1024
MAX_NESTING = 200  # brackets, braces and parentheses
MAX_OPERATORS = 1000  # binary/unary operators (each one nests the tree a level deeper)
MAX_DEPTH = 256  # levels of the expression tree: nodes.py and evaluators recurse on it

# A tree of MAX_DEPTH levels costs this checker up to 5 Python frames a level (and the
# evaluator a few more): make room for it. Only ever raised, never lowered.
if sys.getrecursionlimit() < 4000:
    sys.setrecursionlimit(4000)


def _register_missing_functions() -> None:
    """promql_parser 0.12 lacks ``holt_winters`` (renamed in Prometheus 3)."""
    try:
        _pp.register_extra_functions([_pp.Function(
            "holt_winters", [_pp.ValueType.Matrix, _pp.ValueType.Scalar,
                             _pp.ValueType.Scalar], _pp.ValueType.Vector)])
    except Exception:  # already registered, or known to a newer package
        pass


_register_missing_functions()


def parse(text: str, emulation=None) -> n.Expr:
    """Parse PromQL ``text`` into mockprom's AST as the Prometheus of ``emulation`` (a
    ``versions.Emulation``; None: the default version) reads it; raise ``ParseError``
    on any failure."""
    raw, checker = _parse_checked(text, emulation)
    return _Converter(checker.at_times, checker.syntax).convert(raw)


def format_expr(text: str, emulation=None) -> str:
    """The prettified form of ``text`` (``/api/v1/format_query``), as ``parser.Prettify``
    prints it."""
    raw, checker = _parse_checked(text, emulation)
    _Converter(checker.at_times, checker.syntax).convert(raw)  # the same checks as a query
    try:
        pretty = raw.prettify()
    except BaseException as exc:  # a Rust panic is a BaseException
        _reraise_panic(exc)
        raise
    return _unindent_subqueries(_go_numbers(pretty, checker.at_times), checker.syntax)


def expr_string(text: str, emulation=None) -> str:
    """``text`` as Prometheus's ``Expr.String()`` prints it (one line; what
    ``/api/v1/rules`` shows as a rule's ``query``): the prettified form, joined."""
    lines = [line.strip() for line in format_expr(text, emulation).split("\n")]
    out = lines[0]
    for line in lines[1:]:
        glue = "" if out.endswith("(") or line.startswith(")") else " "
        out += glue + line
    return out


def _parse_checked(text: str, emulation=None):
    """The package's tree for ``text`` and the checker's reading of it, once the
    emulated Prometheus would accept it."""
    if not isinstance(text, str):
        raise ParseError("1:1: parse error: query must be a string")
    _precheck(text)
    problem, checker = _check(text, syntax_of(emulation))
    if problem is not None:  # Prometheus 2.42's verdict wins over the package's
        raise ParseError(problem)
    return _parse_raw(_package_text(text, checker)), checker


def _unindent_subqueries(pretty: str, syntax: Syntax) -> str:
    """Prometheus 2.42 prints a subquery that fits on its line (100 characters) without
    indentation (its ``SubqueryExpr.Pretty`` forgets the indent)."""
    lines = pretty.split("\n")
    for i, line in enumerate(lines):
        content = line.lstrip(" ")
        if content == line:
            continue
        body = content[:-1] if content.endswith(",") else content
        if len(body) > 100:
            continue
        try:
            top = _Checker(body, syntax).run()
        except (_Fail, RecursionError):
            continue
        if top.kind == "subquery":
            lines[i] = content
    return "\n".join(lines)


def _go_numbers(pretty: str, at_times: list) -> str:
    """Print number literals as Go's ``fmt.Sprint(float64)`` does (``1e+06``, ``+Inf``)
    and ``@`` times as ``%.3f`` of the source's times (the package prints times before
    1970 as 0), as Prometheus's printer does."""
    tokens = [t for t in _Lexer(pretty).tokens() if t[0] not in ("EOF", "ERROR")]
    out, last = [], 0
    at_times = list(at_times)
    for i, (kind, pos, val) in enumerate(tokens):
        if kind != "NUMBER":
            continue
        before = [t[0] for t in tokens[max(i - 2, 0):i]]
        if before[-1:] == ["@"] or before in (["@", "-"], ["@", "+"]):
            if at_times:
                start = pos if before[-1:] == ["@"] else tokens[i - 1][1]
                out.append(pretty[last:start])
                out.append("%.3f" % (at_times.pop(0) / 1000))
                last = pos + len(val)
            continue
        try:
            value = _go_number(val)
        except ValueError:
            continue
        start = pos
        if i and tokens[i - 1][0] == "-" and tokens[i - 1][1] == pos - 1:
            value, start = -value, pos - 1  # a negative literal prints its own sign
        out.append(pretty[last:start])
        out.append(format_g(value))  # Go's %v
        last = pos + len(val)
    out.append(pretty[last:])
    return "".join(out)


# --- guards -----------------------------------------------------------------------------

_OP_CHARS = frozenset("+-*/%^<>=!")
_WORD_OPS = frozenset(("and", "or", "unless", "atan2"))


def _precheck(text: str) -> None:
    """Refuse input that would make the Rust parser slow (it is quadratic in nesting)
    or overflow its stack (a crash that no ``except`` can catch)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_QUERY_BYTES:
        raise ParseError(f"1:1: parse error: query too long ({size} bytes, "
                         f"maximum {MAX_QUERY_BYTES})")
    depth = max_depth = operators = braces = 0
    i, length = 0, len(text)
    while i < length:
        c = text[i]
        if c in "\"'`":
            i = _skip_string(text, i)
            continue
        if c == "#":
            j = text.find("\n", i)
            i = length if j < 0 else j + 1
            continue
        if c in "([{":
            depth += 1
            braces += c == "{"
            max_depth = max(max_depth, depth)
        elif c in ")]}":
            depth -= 1
            braces -= c == "}"
        elif braces <= 0:
            if c in _OP_CHARS:  # two-character operators count twice: harmless
                operators += 1
            elif c.isalpha() or c == "_":
                j = i
                while j < length and (text[j].isalnum() or text[j] in "_:"):
                    j += 1
                if text[i:j].lower() in _WORD_OPS:
                    operators += 1
                i = j
                continue
        i += 1
    if max_depth > MAX_NESTING:
        raise ParseError(f"1:1: parse error: expression nested too deeply (more than "
                         f"{MAX_NESTING} levels of brackets)")
    if operators > MAX_OPERATORS:
        raise ParseError(f"1:1: parse error: expression too complex (more than "
                         f"{MAX_OPERATORS} operators)")


def _skip_string(text: str, i: int) -> int:
    quote, j, length = text[i], i + 1, len(text)
    while j < length:
        c = text[j]
        if c == "\\" and quote != "`":
            j += 2
            continue
        if c == quote or (c == "\n" and quote != "`"):
            return j + 1
        j += 1
    return length


def _check(text: str, syntax: Syntax):
    """The emulated Prometheus's verdict (its error message, or None when it accepts)
    and the checker that read ``text`` (its tokens, its @ times)."""
    checker = _Checker(text, syntax)
    try:
        checker.run()
    except _Fail as fail:
        return f"{format_position(text, fail.pos)}: parse error: {fail.msg}", checker
    except RecursionError:  # not expected within the limits above; never crash on it
        return (f"1:1: parse error: expression nested too deeply (maximum {MAX_DEPTH} "
                "levels)", checker)
    return None, checker


def _package_text(text: str, checker) -> str:
    """``text`` as promql_parser reads it the way Prometheus 2.42 does: it wrongly
    applies escapes inside back-quoted (raw) strings in matchers and arguments (those
    are re-quoted), and refuses two orders 2.42 accepts: the letter 2.42 reads as the
    colon of a subquery (``foo[5m x]``) and ``foo @ start()[1m]``."""
    edits = []
    for kind, pos, val in checker.toks:
        if kind == "STRING" and val[0] == "`" and any(c in val for c in '\\"\n\r'):
            body = val[1:-1].replace("\\", "\\\\").replace('"', '\\"')
            body = body.replace("\n", "\\n").replace("\r", "\\r")
            edits.append((pos, len(val), '"' + body + '"'))
        elif kind == ":" and val != ":":
            edits.append((pos, len(val), ":"))
    edits = sorted(edits + checker.package_edits)
    if not edits:
        return text
    out, last = [], 0
    for pos, length, replacement in edits:
        out.append(text[last:pos])
        out.append(replacement)
        last = pos + length
    out.append(text[last:])
    return "".join(out)


def _parse_raw(text: str):
    try:
        return _pp.parse(text)
    except ValueError as exc:
        raise ParseError(_translate_error(str(exc), text)) from None
    except BaseException as exc:
        _reraise_panic(exc)
        raise


def _reraise_panic(exc: BaseException) -> None:
    """Turn a ``pyo3_runtime.PanicException`` (a BaseException) into a ParseError."""
    if isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit)):
        return
    if type(exc).__name__ == "PanicException" or isinstance(exc, Exception):
        raise ParseError(f"1:1: parse error: {exc}") from None


_QUOTED = re.compile(r"'([^']*)'")
_TYPE_WORDS = {"vector": "instant vector", "matrix": "range vector"}


def _translate_error(message: str, text: str) -> str:
    """Word a promql_parser error like Prometheus, should the package ever refuse what
    the 2.42 check accepts."""
    msg = _QUOTED.sub(lambda m: '"' + m.group(1) + '"', message)
    msg = re.sub(r"\b(vector|matrix)\b(?! selector)",
                 lambda m: _TYPE_WORDS[m.group(1)], msg)
    if msg == "invalid promql query":
        msg = "unexpected end of input" if not text.strip() else "syntax error"
    return "1:1: parse error: " + msg


# --- conversion -------------------------------------------------------------------------

# the package's enums are unhashable: key them by their str()
_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~",
              "MatchOp.NotRe": "!~"}
_CARDS = {"VectorMatchCardinality.OneToOne": "one-to-one",
          "VectorMatchCardinality.ManyToOne": "many-to-one",
          "VectorMatchCardinality.OneToMany": "one-to-many",
          "VectorMatchCardinality.ManyToMany": "many-to-many"}


def _ms(delta) -> int:
    """A ``timedelta`` as integer milliseconds."""
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def _offset(delta) -> int:
    return _ms(delta) if delta is not None else 0


def _round_half_away(x: float) -> int:
    """Go's ``math.Round``."""
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def _matcher(name: str, op: str, value: str) -> Matcher:
    try:
        return Matcher.of(name, op, value)
    except re.error as exc:
        raise ParseError(f"1:1: parse error: error parsing regexp: {exc}: `{value}`") \
            from None


class _Converter:
    """Post-order, iterative conversion (no Python recursion on deep trees).

    ``at_times``: the ms of every ``@ <number>`` in source order, as the checker computed
    them from the text (Go's ``timestamp.FromFloatSeconds``); post-order meets the
    modifiers in the same order, since a modifier follows everything it applies to."""

    def __init__(self, at_times: list, syntax: Syntax):
        self.at_times = list(at_times)
        self.syntax = syntax

    def convert(self, root) -> n.Expr:
        out: list = []
        stack: list = [(root, None)]
        while stack:
            raw, kids = stack.pop()
            if kids is not None:
                count = len(kids)
                args = out[len(out) - count:] if count else []
                if count:
                    del out[len(out) - count:]
                out.append(self._build(raw, args))
                continue
            children = self._children(raw)
            stack.append((raw, children))
            for child in reversed(children):
                stack.append((child, None))
        return out[0]

    @staticmethod
    def _children(raw) -> list:
        kind = type(raw).__name__
        if kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
            return [raw.expr]
        if kind == "BinaryExpr":
            return [raw.lhs, raw.rhs]
        if kind == "AggregateExpr":
            return ([raw.param] if raw.param is not None else []) + [raw.expr]
        if kind == "Call":
            return list(raw.args)
        return []

    def _build(self, raw, kids: list) -> n.Expr:
        builder = getattr(self, "_build_" + type(raw).__name__, None)
        if builder is None:
            raise ParseError(f"1:1: parse error: unsupported expression "
                             f"{type(raw).__name__}")
        return builder(raw, kids)

    # leaves
    def _build_NumberLiteral(self, raw, kids):
        return n.NumberLiteral(float(raw.val))

    def _build_StringLiteral(self, raw, kids):
        return n.StringLiteral(raw.val)

    def _build_VectorSelector(self, raw, kids):
        name = raw.name
        found = raw.matchers
        if found.or_matchers:
            raise ParseError('1:1: parse error: unexpected identifier "or" in label '
                             'matching, expected "," or "}"')
        matchers = [_matcher(m.name, _MATCH_OPS[str(m.op)], m.value)
                    for m in found.matchers]
        if name is not None:
            matchers.insert(0, _matcher("__name__", "=", name))
        at_ms, at_edge = self._at(raw)
        return n.VectorSelector(name, tuple(matchers), _offset(raw.offset), at_ms, at_edge)

    def _build_MatrixSelector(self, raw, kids):
        return n.MatrixSelector(self._build_VectorSelector(raw.vector_selector, []),
                                _ms(raw.range))

    # inner nodes
    def _build_ParenExpr(self, raw, kids):
        return n.ParenExpr(kids[0])

    def _build_UnaryExpr(self, raw, kids):
        # promql_parser drops unary plus; what remains is negation
        return n.UnaryExpr("-", kids[0])

    def _build_SubqueryExpr(self, raw, kids):
        at_ms, at_edge = self._at(raw)
        step = raw.step
        return n.SubqueryExpr(kids[0], _ms(raw.range), _ms(step) if step else 0,
                              _offset(raw.offset), at_ms, at_edge)

    def _build_BinaryExpr(self, raw, kids):
        lhs, rhs = kids
        op = str(raw.op).lower()
        mod = raw.modifier
        return_bool = bool(mod.return_bool) if mod is not None else False
        matching = None
        if lhs.type == n.VECTOR and rhs.type == n.VECTOR:
            if mod is None:
                matching = n.VectorMatching(
                    "many-to-many" if op in n.SET_OPS else "one-to-one")
            else:
                lm = mod.matching
                on = lm is not None and str(lm.type) == "LabelModifierType.Include"
                labels = tuple(lm.labels) if lm is not None else ()
                card = _CARDS[str(mod.card)]
                if op in n.SET_OPS:
                    card = "many-to-many"
                matching = n.VectorMatching(card, on, labels, tuple(mod.group_labels or ()))
        return n.BinaryExpr(op, lhs, rhs, return_bool, matching)

    def _build_AggregateExpr(self, raw, kids):
        op = str(raw.op).lower()
        if op not in n.AGGREGATE_OPS:
            raise ParseError(f'1:1: parse error: unknown function with name "{op}"')
        param = kids[0] if len(kids) == 2 else None
        mod = raw.modifier
        grouping, without = (), False
        if mod is not None:
            grouping = tuple(mod.labels)
            without = str(mod.type) == "AggModifierType.Without"
        return n.AggregateExpr(op, kids[-1], param, grouping, without)

    def _build_Call(self, raw, kids):
        name = raw.func.name
        sig = self.syntax.functions.get(name)
        if sig is None:
            raise ParseError(f'1:1: parse error: unknown function with name "{name}"')
        return n.Call(name, tuple(kids), sig[2])

    # modifiers
    def _at(self, raw):
        at = raw.at
        if at is None:
            return None, None
        kind = str(at.type)
        if kind == "AtModifierType.Start":
            return None, "start"
        if kind == "AtModifierType.End":
            return None, "end"
        # (reading ``at.at`` would panic for times before 1970)
        if not self.at_times:
            raise ParseError("1:1: parse error: cannot read the @ modifier")
        return self.at_times.pop(0), None


# --- Prometheus 2.42's verdict ----------------------------------------------------------
#
# A port of v2.42's ``promql/parser``: the lexer (lex.go), the grammar with its error
# rules (generated_parser.y: which context an "unexpected ..." names), the grammar
# actions' checks (parser.go) and ``checkAST``. It builds no usable tree, only positions
# and types, so that every error reads exactly as Prometheus 2.42 writes it.

_AGGREGATORS = frozenset(n.AGGREGATE_OPS)
_AGG_WITH_PARAM = frozenset(("topk", "bottomk", "count_values", "quantile"))
_KEYWORDS = frozenset(("bool", "by", "group_left", "group_right", "ignoring", "offset",
                       "on", "without"))
_OPERATOR_WORDS = frozenset(("and", "or", "unless", "atan2"))
_PREPROCESSORS = frozenset(("start", "end"))
_SYMBOL_OPERATORS = frozenset(("+", "-", "*", "/", "%", "^", "==", "!=", "<=", "<", ">=",
                               ">", "=~", "!~", "@"))
_PRECEDENCE = {"or": 1, "and": 2, "unless": 2, "==": 3, "!=": 3, "<=": 3, "<": 3,
               ">=": 3, ">": 3, "+": 4, "-": 4, "*": 5, "/": 5, "%": 5, "atan2": 5,
               "^": 6}
_UNARY_PRECEDENCE = 5  # %prec MUL
_METRIC_IDENTIFIERS = (frozenset(("IDENT", "METRIC_IDENT", "by", "without", "offset",
                                  "and", "or", "unless", "start", "end")) | _AGGREGATORS)
_EXPR_STARTS = _METRIC_IDENTIFIERS | {"NUMBER", "STRING", "(", "{", "+", "-"}
_MAYBE_LABELS = _METRIC_IDENTIFIERS | _KEYWORDS | {"atan2"}
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
_DOC_TYPES = {n.SCALAR: "scalar", n.VECTOR: "instant vector", n.MATRIX: "range vector",
              n.STRING: "string"}


class _Fail(Exception):
    def __init__(self, pos: int, msg: str):
        super().__init__(msg)
        self.pos, self.msg = pos, msg


def format_position(text: str, pos: int) -> str:
    """``line:col`` as Prometheus prints it (col counts bytes, from 1)."""
    line = 1 + text.count("\n", 0, pos)
    last = text.rfind("\n", 0, pos)
    col = len(text[last + 1:pos].encode("utf-8", "surrogatepass")) + 1
    return f"{line}:{col}"


def check(text: str, emulation=None):
    """The emulated Prometheus's verdict on ``text``: None when it parses, else the
    error message it would give (``1:5: parse error: ...``)."""
    return _check(text, syntax_of(emulation))[0]


def parse_metric_selector(text: str, emulation=None) -> tuple[Matcher, ...]:
    """The matchers of a series selector (``up{job="api"}``), as Prometheus 2.42's
    ``parser.ParseMetricSelector`` reads every ``match[]``: a metric name and/or one
    ``{...}`` block, nothing else; raises ``ParseError`` worded and positioned as 2.42
    (``1:4: parse error: unexpected "("``).

    Its grammar (``START_METRIC_SELECTOR vector_selector``) and this module's port of the
    lexer and of the query grammar's matcher rules: keyword metric names (``sum``,
    ``offset``) are names, ``on``/``bool``/``nan`` are not. Unlike a query there is no
    ``checkAST``: ``{job=""}`` and ``{__name__="a",__name__="b"}`` parse (the API refuses
    the former itself; ``/federate`` takes both). The metric name, when given, comes first.
    """
    checker = _Checker(text, syntax_of(emulation))
    try:
        tok = checker.peek()
        name = None
        if tok[0] in _METRIC_IDENTIFIERS:
            name = checker.take()[2]
        found = []
        if checker.peek()[0] == "{":
            found = checker.label_matchers()
        elif name is None:
            checker.unexpected()
        if checker.peek()[0] != "EOF":
            checker.unexpected()
    except _Fail as fail:
        raise ParseError(f"{format_position(text, fail.pos)}: parse error: {fail.msg}") \
            from None
    matchers = [_matcher(label, op, value) for label, op, value, _ in found]
    if name is not None:
        matchers.insert(0, _matcher("__name__", "=", name))
    return tuple(matchers)


# Go's fmt verbs, as Prometheus's messages use them ------------------------------------

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", "\\": "\\\\"}


def _go_quote(s: str, quote: str = '"') -> str:
    """Go's ``%q``."""
    out = []
    for c in s:
        if c == quote:
            out.append("\\" + c)
        elif c in _GO_ESCAPES:
            out.append(_GO_ESCAPES[c])
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x10000:
            out.append(f"\\x{ord(c):02x}" if ord(c) < 0x80 else f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return quote + "".join(out) + quote


def _go_rune(c: str) -> str:
    """Go's ``%q`` of a rune (end of input, rune -1, prints as U+FFFD)."""
    return _go_quote(c or "\ufffd", "'")


def _go_unicode(c: str) -> str:
    """Go's ``%#U``."""
    if not c:
        return "U+FFFFFFFFFFFFFFFF"
    code = f"U+{ord(c):04X}"
    return f"{code} '{c}'" if c.isprintable() else code


# lexer (lex.go) --------------------------------------------------------------------------

_SPACE = " \t\n\r"
_DIGITS = "0123456789"
_HEX = "0123456789abcdefABCDEF"


def _is_alpha(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_alnum(c: str) -> bool:
    return _is_alpha(c) or ("0" <= c <= "9")


def _is_rune_error(c: str) -> bool:
    """What Go decodes as ``utf8.RuneError``: U+FFFD itself (also what invalid UTF-8
    becomes when the request is decoded) and lone surrogates."""
    return c == "\ufffd" or "\ud800" <= c <= "\udfff"


class _Lexer:
    """Prometheus 2.42's lexer; ``tokens()`` ends with an EOF or an ERROR token.
    A token is ``(kind, pos, value)``; keyword kinds are lower case, values keep case."""

    def __init__(self, text: str):
        self.s = text
        self.pos = self.start = 0
        self.width = 0
        self.paren_depth = 0
        self.brace_open = self.bracket_open = self.got_colon = False
        self.out: list = []

    # cursor
    def next(self) -> str:
        if self.pos >= len(self.s):
            self.width = 0
            return ""
        self.width = 1
        self.pos += 1
        return self.s[self.pos - 1]

    def peek(self) -> str:
        return self.s[self.pos] if self.pos < len(self.s) else ""

    def backup(self) -> None:
        self.pos -= self.width

    def accept(self, valid: str) -> bool:
        c = self.next()
        if c and c in valid:
            return True
        self.backup()
        return False

    def accept_run(self, valid: str) -> None:
        while self.accept(valid):
            pass

    def emit(self, kind: str) -> None:
        self.out.append((kind, self.start, self.s[self.start:self.pos]))
        self.start = self.pos

    def error(self, msg: str) -> None:
        self.out.append(("ERROR", self.start, msg))
        raise StopIteration

    def tokens(self) -> list:
        try:
            while True:
                if self.brace_open:
                    self.inside_braces()
                else:
                    self.statements()
        except StopIteration:
            return self.out

    def skip_comment(self) -> None:
        while self.pos < len(self.s) and self.s[self.pos] != "\n":
            self.pos += 1
        self.start = self.pos  # comments never reach the parser

    def statements(self) -> None:
        if self.s.startswith("#", self.pos):
            return self.skip_comment()
        c = self.next()
        if c == "":
            if self.paren_depth != 0:
                self.error("unclosed left parenthesis")
            if self.bracket_open:
                self.error("unclosed left bracket")
            self.emit("EOF")
            raise StopIteration
        if c == ",":
            return self.emit(",")
        if c in _SPACE:
            return self.space()
        if c in "*/%+-^":
            return self.emit(c)
        if c == "=":
            t = self.peek()
            if t == "=":
                self.next()
                return self.emit("==")
            if t == "~":
                self.error(f"unexpected character after '=': {_go_rune(t)}")
            return self.emit("=")
        if c == "!":
            t = self.next()
            if t != "=":
                self.error(f"unexpected character after '!': {_go_rune(t)}")
            return self.emit("!=")
        if c in "<>":
            if self.peek() == "=":
                self.next()
                return self.emit(c + "=")
            return self.emit(c)
        if c in _DIGITS or (c == "." and self.peek() and self.peek() in _DIGITS):
            self.backup()
            return self.number_or_duration()
        if c in "\"'":
            return self.string(c)
        if c == "`":
            return self.raw_string()
        if _is_alpha(c) or c == ":":
            if not self.bracket_open:
                self.backup()
                return self.keyword_or_identifier()
            if self.got_colon:
                self.error(f"unexpected colon {_go_rune(c)}")
            self.got_colon = True
            return self.emit(":")
        if c == "(":
            self.paren_depth += 1
            return self.emit("(")
        if c == ")":
            self.emit(")")
            self.paren_depth -= 1
            if self.paren_depth < 0:
                self.out.pop()
                self.error(f"unexpected right parenthesis {_go_rune(c)}")
            return
        if c == "{":
            self.brace_open = True
            return self.emit("{")
        if c == "[":
            if self.bracket_open:
                self.error(f"unexpected left bracket {_go_rune(c)}")
            self.got_colon = False
            self.emit("[")
            while self.peek() and self.peek() in _SPACE:
                self.next()
            self.start = self.pos
            self.bracket_open = True
            return self.duration()
        if c == "]":
            if not self.bracket_open:
                self.error(f"unexpected right bracket {_go_rune(c)}")
            self.bracket_open = False
            return self.emit("]")
        if c == "@":
            return self.emit("@")
        self.error(f"unexpected character: {_go_rune(c)}")

    def inside_braces(self) -> None:
        if self.s.startswith("#", self.pos):
            return self.skip_comment()
        c = self.next()
        if c == "":
            self.error("unexpected end of input inside braces")
        if c in _SPACE:
            return self.space()
        if _is_alpha(c):
            while _is_alnum(self.peek()):
                self.next()
            return self.emit("IDENT")
        if c == ",":
            return self.emit(",")
        if c in "\"'":
            return self.string(c)
        if c == "`":
            return self.raw_string()
        if c == "=":
            if self.next() == "~":
                return self.emit("=~")
            self.backup()
            return self.emit("=")
        if c == "!":
            t = self.next()
            if t == "~":
                return self.emit("!~")
            if t == "=":
                return self.emit("!=")
            self.error(f"unexpected character after '!' inside braces: {_go_rune(t)}")
        if c == "{":
            self.error(f"unexpected left brace {_go_rune(c)}")
        if c == "}":
            self.brace_open = False
            return self.emit("}")
        self.error(f"unexpected character inside braces: {_go_rune(c)}")

    def space(self) -> None:
        while self.peek() and self.peek() in _SPACE:
            self.next()
        self.start = self.pos

    def keyword_or_identifier(self) -> None:
        while True:
            c = self.next()
            if not (_is_alnum(c) or c == ":") or c == "":
                break
        self.backup()
        word = self.s[self.start:self.pos]
        low = word.lower()
        if low in ("inf", "nan"):
            return self.emit("NUMBER")
        if (low in _AGGREGATORS or low in _KEYWORDS or low in _OPERATOR_WORDS
                or low in _PREPROCESSORS):
            return self.emit(low)
        return self.emit("METRIC_IDENT" if ":" in word else "IDENT")

    def scan_number(self) -> bool:
        digits = _DIGITS
        if self.accept("0") and self.accept("xX"):
            digits = _HEX
        self.accept_run(digits)
        if self.accept("."):
            self.accept_run(digits)
        if self.accept("eE"):
            self.accept("+-")
            self.accept_run(_DIGITS)
        return not _is_alnum(self.peek())

    def accept_remaining_duration(self) -> bool:
        if not self.accept("smhdwy"):
            return False
        self.accept("s")
        while self.accept(_DIGITS):
            self.accept_run(_DIGITS)
            if not self.accept("smhdw"):
                return False
            self.accept("s")
        return not _is_alnum(self.next())

    def number_or_duration(self) -> None:
        if self.scan_number():
            return self.emit("NUMBER")
        if self.accept_remaining_duration():
            self.backup()
            return self.emit("DURATION")
        self.error("bad number or duration syntax: "
                   + _go_quote(self.s[self.start:self.pos]))

    def duration(self) -> None:
        if self.scan_number():
            self.error("missing unit character in duration")
        if not self.accept_remaining_duration():
            self.error("bad duration syntax: " + _go_quote(self.s[self.start:self.pos]))
        self.backup()
        self.emit("DURATION")

    def string(self, quote: str) -> None:
        while True:
            c = self.next()
            if c == "\\":
                self.escape(quote)
            elif _is_rune_error(c):
                self.error("invalid UTF-8 rune")
            elif c == "" or c == "\n":
                self.error("unterminated quoted string")
            elif c == quote:
                return self.emit("STRING")

    def escape(self, quote: str) -> None:
        c = self.next()
        if c and c in "abfnrtv\\" + quote:
            return
        if c == "":
            self.error("escape sequence not terminated")
        if c in "01234567":
            count, base, limit = 3, 8, 255
        elif c == "x":
            c, count, base, limit = self.next(), 2, 16, 255
        elif c == "u":
            c, count, base, limit = self.next(), 4, 16, 0x10FFFF
        elif c == "U":
            c, count, base, limit = self.next(), 8, 16, 0x10FFFF
        else:
            self.error(f"unknown escape sequence {_go_unicode(c)}")
        value = 0
        while count > 0:
            digit = int(c, 16) if c and c in _HEX else 16
            if digit >= base:
                if c == "":
                    self.error("escape sequence not terminated")
                self.error(f"illegal character {_go_unicode(c)} in escape sequence")
            value = value * base + digit
            count -= 1
            if count > 0:
                c = self.next()
        if value > limit or 0xD800 <= value < 0xE000:
            self.error("escape sequence is an invalid Unicode code point")

    def raw_string(self) -> None:
        while True:
            c = self.next()
            if _is_rune_error(c):
                self.error("invalid UTF-8 rune")
            if c == "":
                self.error("unterminated raw string")
            if c == "`":
                return self.emit("STRING")


# values of literals (parser.go, prometheus/common model) --------------------------------

_DURATION_RE = re.compile(r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?"
                          r"(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?\Z")
_DURATION_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000,
                      1000, 1)
_MAX_INT64 = (1 << 63) - 1


def _duration_ms(text: str) -> int:
    """``model.ParseDuration`` (prometheus/common as of Prometheus 2.42), in ms.
    Raises ValueError with Prometheus's wording."""
    if text == "0":
        return 0
    found = _DURATION_RE.match(text)
    if not found:
        raise ValueError("not a valid duration string: " + _go_quote(text))
    total_ns = 0
    for digits, unit in zip(found.groups(), _DURATION_UNITS_MS):
        if digits is None:
            continue
        count = int(digits)
        if count > _MAX_INT64 // unit // 1_000_000:
            raise ValueError("duration out of range")
        total_ns += count * unit * 1_000_000
        if total_ns > _MAX_INT64:
            raise ValueError("duration out of range")
    return total_ns // 1_000_000


def _go_number(text: str) -> float:
    """``strconv.ParseInt(text, 0, 64)``, else ``strconv.ParseFloat(text, 64)``, as
    Prometheus's ``parser.number`` does. Raises ValueError with Go's wording."""
    try:
        if text[:2] in ("0x", "0X"):
            value = int(text[2:], 16)
        elif len(text) > 1 and text[0] == "0" and text.isdigit():
            value = int(text, 8)
        elif text.isdigit():
            value = int(text)
        else:
            raise ValueError
        if value <= _MAX_INT64:
            return float(value)
    except ValueError:
        pass
    lower = text.lower()
    try:
        if lower.startswith("0x"):
            raise ValueError
        value = float(text)
    except ValueError:
        raise ValueError(f"strconv.ParseFloat: parsing {_go_quote(text)}: invalid syntax") \
            from None
    if math.isinf(value) and lower not in ("inf", "infinity"):
        raise ValueError(f"strconv.ParseFloat: parsing {_go_quote(text)}: "
                         "value out of range")
    return value


def _unquote(token: str) -> str:
    """The value of a (lexer-validated) string literal."""
    if token[0] == "`":
        return token[1:-1]
    body, out, i = token[1:-1], [], 0
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
              "v": "\v", "\\": "\\", "'": "'", '"': '"'}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e in "01234567":
            out.append(chr(int(body[i + 1:i + 4], 8)))
            i += 4
        else:
            width = {"x": 2, "u": 4, "U": 8}[e]
            out.append(chr(int(body[i + 2:i + 2 + width], 16)))
            i += 2 + width
    return "".join(out)


# grammar (generated_parser.y) and actions (parser.go) -------------------------------------


class _Node:
    """A checked node: kind, start/end positions, type and the fields checkAST reads."""

    def __init__(self, kind: str, start: int, end: int, **fields):
        self.kind, self.start, self.end = kind, start, end
        self.offset = self.at = False
        self.__dict__.update(fields)

    @property
    def type(self) -> str:
        kind = self.kind
        if kind == "num":
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
        return self.return_type  # call


def _describe(tok) -> str:
    """How Prometheus names a token in "unexpected ..." (``Item.desc``)."""
    kind, _, val = tok
    if kind == "EOF":
        return "end of input"
    shown = _go_quote(val) if len(val) <= 10 else _go_quote(val[:10]) + "..."
    if kind == "IDENT":
        return "identifier " + _go_quote(val)
    if kind == "METRIC_IDENT":
        return "metric identifier " + _go_quote(val)
    if kind == "NUMBER":
        return "number " + shown
    if kind == "STRING":
        return "string " + shown
    if kind == "DURATION":
        return "duration " + shown
    if kind in _KEYWORDS:
        return f"<{val}>"
    if kind == "@":  # AT has no entry in Go's ItemTypeStr, hence the odd description
        return f'"<Item 57385>" <op:{val}>'
    if kind in _SYMBOL_OPERATORS or kind in _OPERATOR_WORDS:
        return f"<op:{val}>"
    if kind in _AGGREGATORS:
        return f"<aggr:{val}>"
    return shown


class _Checker:
    def __init__(self, text: str, syntax: Syntax):
        self.text = text
        self.syntax = syntax
        self.toks = _Lexer(text).tokens()
        self.i = 0
        self.context: list = []  # innermost grammar error rule: (context, expected)
        self.last_end = 0
        self.at_times: list = []  # ms of every ``@ <number>``, in source order
        self.package_edits: list = []  # (pos, length, replacement) for promql_parser

    # tokens
    def peek(self, ahead: int = 0):
        tok = self.toks[min(self.i + ahead, len(self.toks) - 1)]
        if tok[0] == "ERROR":
            raise _Fail(tok[1], tok[2])
        return tok

    def take(self):
        tok = self.peek()
        self.i += 1
        self.last_end = tok[1] + len(tok[2])
        return tok

    def unexpected(self, tok=None):
        tok = tok or self.peek()
        msg = "unexpected " + _describe(tok)
        if self.context:
            where, expected = self.context[-1]
            msg += " in " + where
            if expected:
                msg += ", expected " + expected
        raise _Fail(tok[1], msg)

    def expect(self, kind: str):
        if self.peek()[0] != kind:
            self.unexpected()
        return self.take()

    # entry
    def run(self) -> None:
        if self.peek()[0] == "EOF":
            raise _Fail(0, "no expression found in input")
        expr = self.expr()
        if self.peek()[0] != "EOF":
            self.unexpected()
        depth = _tree_depth(expr)
        if depth > MAX_DEPTH:
            raise _Fail(0, f"expression nested too deeply ({depth} levels, maximum "
                           f"{MAX_DEPTH})")
        self.check_ast(expr)
        return expr

    # expressions: operators by precedence, without recursion on long chains
    def expr(self) -> _Node:
        operands: list = []
        ops: list = []
        while True:
            while self.peek()[0] in ("+", "-"):
                ops.append(("unary", self.take()))
            operands.append(self.postfix())
            tok = self.peek()
            prec = _PRECEDENCE.get(tok[0])
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
                inner.start = tok[1]
                operands.append(inner)
            else:
                operands.append(_Node("unary", tok[1], inner.end, op=tok[0], expr=inner))
            return
        _, tok, _, mod = entry
        rhs, lhs = operands.pop(), operands.pop()
        operands.append(_Node("bin", lhs.start, rhs.end, op=tok[0], lhs=lhs, rhs=rhs,
                              **mod))

    def bin_modifier(self) -> dict:
        mod = {"bool": False, "on": False, "labels": [], "card": "one-to-one",
               "include": []}
        if self.peek()[0] == "bool":
            self.take()
            mod["bool"] = True
        if self.peek()[0] in ("on", "ignoring"):
            mod["on"] = self.take()[0] == "on"
            mod["labels"] = self.grouping_labels()
            if self.peek()[0] in ("group_left", "group_right"):
                left = self.take()[0] == "group_left"
                mod["card"] = "many-to-one" if left else "one-to-many"
                if self.peek()[0] == "(" or self.peek()[0] not in _EXPR_STARTS:
                    mod["include"] = self.grouping_labels()
        return mod

    def grouping_labels(self) -> list:
        self.context.append(("grouping opts", '"("'))
        self.expect("(")
        self.context[-1] = ("grouping opts", "label")
        labels: list = []
        if self.peek()[0] != ")":
            while True:
                tok = self.peek()
                if tok[0] not in _MAYBE_LABELS:
                    self.unexpected()
                self.take()
                if not _LABEL_NAME.match(tok[2]):
                    self.unexpected(tok)
                labels.append(tok[2])
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

    def postfix(self) -> _Node:
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

    def primary(self) -> _Node:
        tok = self.peek()
        kind = tok[0]
        if kind == "NUMBER":
            self.take()
            try:
                _go_number(tok[2])
            except ValueError as exc:
                raise _Fail(tok[1], f"error parsing number: {exc}") from None
            return _Node("num", tok[1], self.last_end)
        if kind == "STRING":
            self.take()
            return _Node("str", tok[1], self.last_end, value=_unquote(tok[2]))
        if kind == "(":
            self.take()
            inner = self.expr()
            self.expect(")")
            return _Node("paren", tok[1], self.last_end, expr=inner)
        if kind == "{":
            return self.selector(None, tok[1])
        if kind in _AGGREGATORS and self.peek(1)[0] in ("(", "by", "without"):
            return self.aggregate()
        if kind == "IDENT" and self.peek(1)[0] == "(":
            return self.call()
        if kind in _METRIC_IDENTIFIERS:
            self.take()
            return self.selector(tok[2], tok[1])
        self.unexpected()

    def selector(self, name, start: int) -> _Node:
        matchers: list = []
        if self.peek()[0] == "{":
            matchers = self.label_matchers()
        return _Node("vs", start, self.last_end, name=name, matchers=matchers)

    def label_matchers(self) -> list:
        self.take()
        self.context.append(("label matching", 'identifier or "}"'))
        matchers: list = []
        if self.peek()[0] != "}":
            while True:
                label = self.expect("IDENT")
                self.context[-1] = ("label matching", "label matching operator")
                op = self.peek()[0]
                if op not in ("=", "!=", "=~", "!~"):
                    self.unexpected()
                self.take()
                self.context[-1] = ("label matching", "string")
                value = _unquote(self.expect("STRING")[2])
                if op in ("=~", "!~"):
                    problem = _regex_error(value)
                    if problem:
                        raise _Fail(label[1], problem)
                matchers.append((label[2], op, value, label[1]))
                self.context[-1] = ("label matching", '"," or "}"')
                kind = self.peek()[0]
                if kind == ",":
                    self.take()
                    self.context[-1] = ("label matching", 'identifier or "}"')
                    if self.peek()[0] == "}":
                        break
                    continue
                if kind == "}":
                    break
                self.unexpected()
        self.take()
        self.context.pop()
        return matchers

    def call_body(self) -> list:
        self.expect("(")
        args: list = []
        if self.peek()[0] != ")":
            while True:
                args.append(self.expr())
                tok = self.peek()
                if tok[0] == ",":
                    self.take()
                    if self.peek()[0] not in _EXPR_STARTS:  # yacc reduces by default
                        raise _Fail(tok[1], "trailing commas not allowed in function call args")
                    continue
                if tok[0] == ")":
                    break
                self.unexpected()
        self.take()
        return args

    def call(self) -> _Node:
        name = self.take()
        args = self.call_body()
        sig = self.syntax.functions.get(name[2])
        if sig is None:
            raise _Fail(name[1], f"unknown function with name {_go_quote(name[2])}")
        return _Node("call", name[1], self.last_end, name=name[2], args=args,
                     return_type=sig.return_type)

    def aggregate(self) -> _Node:
        op = self.take()
        self.context.append(("aggregation", ""))
        modified = False
        if self.peek()[0] in ("by", "without"):
            self.take()
            self.grouping_labels()
            modified = True
        args = self.call_body()
        if not modified and self.peek()[0] in ("by", "without"):
            self.take()
            self.grouping_labels()
        self.context.pop()
        if not args:
            raise _Fail(op[1], "no arguments for aggregate expression provided")
        wanted = 2 if op[0] in _AGG_WITH_PARAM else 1
        if len(args) != wanted:
            raise _Fail(op[1], "wrong number of arguments for aggregate expression "
                               f"provided, expected {wanted}, got {len(args)}")
        return _Node("agg", op[1], self.last_end, op=op[0], expr=args[-1],
                     param=args[0] if wanted == 2 else None)

    def duration(self, tok) -> int:
        try:
            ms = _duration_ms(tok[2])
        except ValueError as exc:
            raise _Fail(tok[1], str(exc)) from None
        if ms == 0:
            raise _Fail(tok[1], "duration must be greater than 0")
        return ms

    def range_or_subquery(self, node: _Node) -> _Node:
        bracket = self.take()
        self.context.append(("subquery selector", "duration"))
        self.duration(self.expect("DURATION"))
        self.context[-1] = ("subquery or range", '":" or "]"')
        if self.peek()[0] == "]":
            self.take()
            self.context.pop()
            problem = None
            if node.kind != "vs":
                problem = "ranges only allowed for vector selectors"
            elif node.offset:
                problem = "no offset modifiers allowed before range"
            elif node.at == "number":  # 2.42 lets ``@ start()`` through (a quirk)
                problem = "no @ modifiers allowed before range"
            if problem:
                raise _Fail(bracket[1], problem)
            if node.at:  # promql_parser refuses that order: hand it ``foo[1m] @ start()``
                start, end = node.at_span
                self.package_edits.append((start, end - start, ""))
                self.package_edits.append((self.last_end, 0, " " + self.text[start:end]))
            return _Node("matrix", node.start, self.last_end, vs=node)
        self.expect(":")
        self.context[-1] = ("subquery selector", 'duration or "]"')
        if self.peek()[0] == "DURATION":
            self.duration(self.take())
            self.context[-1] = ("subquery selector", '"]"')
        self.expect("]")
        self.context.pop()
        return _Node("subquery", node.start, self.last_end, expr=node)

    def _modified(self, node: _Node, what: str) -> _Node:
        """The node that carries offset/@ (a matrix selector's is its selector)."""
        if node.kind in ("vs", "subquery"):
            return node
        if node.kind == "matrix":
            return node.vs
        raise _Fail(node.start, f"{what} modifier must be preceded by an instant vector "
                                "selector or range vector selector or a subquery")

    def offset(self, node: _Node) -> _Node:
        self.take()
        self.context.append(("offset", "duration"))
        if self.peek()[0] == "-":
            self.take()
        self.duration(self.expect("DURATION"))
        self.context.pop()
        target = self._modified(node, "offset")
        if target.offset:
            raise _Fail(node.start, "offset may not be set multiple times")
        target.offset = True
        node.end = self.last_end
        return node

    def at(self, node: _Node) -> _Node:
        at_pos = self.take()[1]
        self.context.append(("@", "timestamp"))
        kind = "preprocessor"
        if self.peek()[0] in _PREPROCESSORS:
            self.take()
            self.expect("(")
            self.expect(")")
        else:
            kind = "number"
            sign = 1.0
            if self.peek()[0] in ("+", "-"):
                sign = -1.0 if self.take()[0] == "-" else 1.0
            tok = self.expect("NUMBER")
            try:
                value = sign * _go_number(tok[2])
            except ValueError as exc:
                raise _Fail(tok[1], f"error parsing number: {exc}") from None
            if math.isinf(value) or math.isnan(value) or abs(value) >= 2.0 ** 63:
                raise _Fail(node.start, "timestamp out of bounds for @ modifier: "
                            + format_prec(value, "f", 6))  # Go's %f
            self.at_times.append(_round_half_away(value * 1000))
        self.context.pop()
        target = self._modified(node, "@")
        if target.at:
            raise _Fail(node.start, "@ <timestamp> may not be set multiple times")
        target.at = kind
        target.at_span = (at_pos, self.last_end)
        node.end = self.last_end
        return node

    # checkAST (parser.go)
    def check_ast(self, node: _Node) -> str:
        kind = node.kind
        if kind == "agg":
            self.expect_type(node.expr, n.VECTOR, "aggregation expression")
            if node.op in ("topk", "bottomk", "quantile"):
                self.expect_type(node.param, n.SCALAR, "aggregation parameter")
            if node.op == "count_values":
                self.expect_type(node.param, n.STRING, "aggregation parameter")
        elif kind == "bin":
            self.check_binary(node)
        elif kind == "call":
            self.check_call(node)
        elif kind == "paren":
            self.check_ast(node.expr)
        elif kind == "unary":
            inner = self.check_ast(node.expr)
            if inner not in (n.SCALAR, n.VECTOR):
                raise _Fail(node.start, "unary expression only allowed on expressions of "
                            "type scalar or instant vector, got "
                            + _go_quote(_DOC_TYPES[inner]))
        elif kind == "subquery":
            inner = self.check_ast(node.expr)
            if inner != n.VECTOR:
                raise _Fail(node.start, f"subquery is only allowed on instant vector, got "
                                        f"{inner} instead")
        elif kind == "matrix":
            self.check_ast(node.vs)
        elif kind == "vs":
            self.check_selector(node)
        return node.type

    def expect_type(self, node: _Node, want: str, context: str) -> None:
        got = self.check_ast(node)
        if got != want:
            raise _Fail(node.start, f"expected type {_DOC_TYPES[want]} in {context}, "
                                    f"got {_DOC_TYPES[got]}")

    def check_binary(self, node: _Node) -> None:
        left, right = self.check_ast(node.lhs), self.check_ast(node.rhs)
        op_pos = node.lhs.end
        while op_pos < len(self.text) and self.text[op_pos] in _SPACE:
            op_pos += 1
        op = node.op
        if node.bool and op not in n.COMPARISON_OPS:
            raise _Fail(op_pos, "bool modifier can only be used on comparison operators")
        if op in n.COMPARISON_OPS and not node.bool and left == right == n.SCALAR:
            raise _Fail(op_pos, "comparisons between scalars must use BOOL modifier")
        if node.on:
            for label in node.labels:
                if label in node.include:
                    raise _Fail(op_pos, f"label {_go_quote(label)} must not occur in ON "
                                        "and GROUP clause at once")
        if left not in (n.SCALAR, n.VECTOR):
            raise _Fail(node.lhs.start, "binary expression must contain only scalar and "
                                        "instant vector types")
        if right not in (n.SCALAR, n.VECTOR):
            raise _Fail(node.rhs.start, "binary expression must contain only scalar and "
                                        "instant vector types")
        if left != n.VECTOR or right != n.VECTOR:
            if node.labels:
                raise _Fail(node.start, "vector matching only allowed between instant "
                                        "vectors")
        elif op in n.SET_OPS and node.card != "one-to-one":
            raise _Fail(node.start, f"no grouping allowed for {_go_quote(op)} operation")
        if n.SCALAR in (left, right) and op in n.SET_OPS:
            raise _Fail(node.start, f"set operator {_go_quote(op)} not allowed in binary "
                                    "scalar expression")

    def check_call(self, node: _Node) -> None:
        arg_types, variadic = self.syntax.functions[node.name][:2]
        name, args, wanted = _go_quote(node.name), node.args, len(arg_types)
        if variadic == 0:
            if wanted != len(args):
                raise _Fail(node.start, f"expected {wanted} argument(s) in call to "
                                        f"{name}, got {len(args)}")
        else:
            least = wanted - 1
            if least > len(args):
                raise _Fail(node.start, f"expected at least {least} argument(s) in call "
                                        f"to {name}, got {len(args)}")
            if variadic > 0 and least + variadic < len(args):
                raise _Fail(node.start, f"expected at most {least + variadic} "
                                        f"argument(s) in call to {name}, got {len(args)}")
        for i, arg in enumerate(args):
            if i >= wanted:
                if variadic == 0:
                    break
                i = wanted - 1
            self.expect_type(arg, arg_types[i], f"call to function {name}")

    def check_selector(self, node: _Node) -> None:
        if node.name is not None:
            for label, _, value, _ in node.matchers:
                if label == "__name__":
                    raise _Fail(node.start, "metric name must not be set twice: "
                                            f"{_go_quote(node.name)} or {_go_quote(value)}")
            return
        for label, op, value, _ in node.matchers:
            if not _matches_empty(op, value):
                return
        raise _Fail(node.start, "vector selector must contain at least one non-empty "
                                "matcher")


def _unterminated_class(rest: str) -> str:
    """Go reads on into the anchoring ``)$``: a range there may be invalid first."""
    i = 2 if rest.startswith("[^") else 1
    while i + 2 < len(rest):
        if rest[i] == "\\":
            i += 2
            continue
        if rest[i + 1] == "-" and rest[i + 2] != "]" and rest[i + 2] < rest[i]:
            return f"invalid character class range: `{rest[i:i + 3]}`"
        i += 1
    return f"missing closing ]: `{rest}`"


def _tree_depth(root: _Node) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        for name in ("expr", "lhs", "rhs", "param", "vs"):
            child = getattr(node, name, None)
            if isinstance(child, _Node):
                stack.append((child, depth + 1))
        for child in getattr(node, "args", ()):
            stack.append((child, depth + 1))
    return deepest


def _matches_empty(op: str, value: str) -> bool:
    if op == "=":
        return value == ""
    if op == "!=":
        return value != ""
    try:
        hit = Matcher.of("x", "=~", value).matches("")
    except (re.error, ValueError):
        return False  # an invalid regex is reported on its own
    return hit if op == "=~" else not hit


_RE2_UNSUPPORTED = re.compile(r"\(\?(?:<=|<!|=|!|<|>|P=|P>|#)")
_POSIX_CLASS = re.compile(r"\[:\^?[a-z]+:\]")
_BAD_FLAG = re.compile(r"\(\?[imsU-]*(?!P<)[^imsU\-:)]")
_POSSESSIVE = re.compile(r"(?<!\\)[*+?}]\+")


def _regex_error(value: str):
    """Go's ``regexp.Compile`` error for a matcher's regex (None when valid), as
    Prometheus reports it; constructs Python's ``re`` cannot run are refused too."""
    anchored = "^(?:" + value + ")$"
    i = 0
    while i < len(value) - 1:  # RE2 has octal escapes (\\0, \\12, \\130) but no backreferences
        if value[i] == "\\":
            digit, after = value[i + 1], value[i + 2:i + 3]
            if digit in "89" or (digit in "1234567" and not (after and after in "01234567")):
                return f"error parsing regexp: invalid escape sequence: `{value[i:i + 2]}`"
            if digit in "01234567":  # neither promql_parser nor Python read it as RE2 does
                octal = re.match(r"[0-7]{1,3}", value[i + 1:]).group(0)
                return (f"error parsing regexp: `\\{octal}` is valid RE2 but not "
                        "supported by mockprom")
            i += 2
            continue
        i += 1
    found = _RE2_UNSUPPORTED.search(value) or None
    if found:
        return f"error parsing regexp: invalid or unsupported Perl syntax: `{found.group(0)}`"
    found = _POSIX_CLASS.search(value)
    if found:  # Python's re would read it as a plain set: refuse, never answer wrongly
        return (f"error parsing regexp: `{found.group(0)}` is valid RE2 but not supported "
                "by mockprom")
    found = _BAD_FLAG.search(value)
    if found:
        return f"error parsing regexp: invalid or unsupported Perl syntax: `{found.group(0)}`"
    found = _POSSESSIVE.search(value)
    if found:
        return f"error parsing regexp: invalid nested repetition operator: `{found.group(0)}`"
    try:
        Matcher.of("x", "=~", value)
        return None
    except re.error as exc:
        msg, pos = exc.msg, exc.pos or 0
    if msg.startswith("missing ), unterminated subpattern"):
        detail = f"missing closing ): `{anchored}`"
    elif msg.startswith("unbalanced parenthesis"):
        detail = f"unexpected ): `{anchored}`"
    elif msg.startswith("unterminated character set"):
        detail = _unterminated_class(value[pos:] + ")$")
    elif msg.startswith("nothing to repeat"):
        detail = f"missing argument to repetition operator: `{value[pos:pos + 1]}`"
    elif msg.startswith("multiple repeat"):
        detail = f"invalid nested repetition operator: `{value[max(pos - 1, 0):pos + 1]}`"
    elif msg.startswith("bad escape") and value[pos + 1:pos + 2] in tuple("pPQEC"):
        # valid RE2 (Unicode classes, quoting) that Python's re cannot run
        detail = f"`{value[pos:pos + 2]}` is valid RE2 but not supported by mockprom"
    elif msg.startswith("bad escape"):
        detail = f"invalid escape sequence: `{value[pos:pos + 2]}`"
    elif msg.startswith("bad character range "):
        detail = f"invalid character class range: `{msg[len('bad character range '):]}`"
    elif msg.startswith("min repeat greater than max repeat"):
        brace = value.rfind("{", 0, pos + 1)
        close = value.find("}", pos)
        detail = f"invalid repeat count: `{value[brace:close + 1]}`"
    elif msg.startswith(("unknown extension", "unknown flag", "missing -, : or )")):
        detail = f"invalid or unsupported Perl syntax: `{value[pos:pos + 3]}`"
    else:
        detail = f"{msg} (not supported by mockprom): `{value}`"
    return "error parsing regexp: " + detail
