"""The PromQL parse adapter: query text -> mockprom's AST (``nodes.py``), for the
Prometheus a ``versions.Emulation`` names (None: the default version).

- ``parse(text, emulation)``: the tree the engine evaluates (Prometheus 3's duration
  arithmetic still unresolved: ``resolve_durations(tree, step_ms)`` computes it, as
  Prometheus's engine does before evaluating);
- ``check(text, emulation)``: the verdict alone (the error message, or None);
- ``format_expr(text, emulation)``: ``/api/v1/format_query`` (``parser.Prettify``);
- ``expr_string(text, emulation)``: the one-line ``Expr.String()`` form;
- ``ast_json(text, emulation)``: ``/api/v1/parse_query``'s tree;
- ``parse_metric_selector(text, emulation)``: the matchers of a ``match[]`` selector
  (``parser.ParseMetricSelector``).

The parser is a port of Prometheus's own (``promql/parser``: lexer, grammar with its
error rules, ``checkAST``, printer) for each release line, in ``mockprom.promql.syntax``;
the ``promql_syntax`` version table (``syntax/rows.py``) says how the lines differ. It
decides what Prometheus rejects and words every error exactly as Prometheus does,
position included (``1:5: parse error: ...``). Nothing else imports ``syntax``.

Every failure raises ``ParseError`` (400 ``bad_data``). The API layer prefixes the
message with ``invalid parameter "query": `` as Prometheus does.
"""

from __future__ import annotations

import sys

from mockprom.promql import nodes as n
from mockprom.promql.errors import ParseError
from mockprom.promql.syntax.ast_json import ast_json as _ast_json
from mockprom.promql.syntax.build import Builder
from mockprom.promql.syntax.checks import Checker
from mockprom.promql.syntax.durations import resolve_durations
from mockprom.promql.syntax.golang import format_position, go_quote  # noqa: F401 (go_quote: Go's %q for other layers)
from mockprom.promql.syntax.grammar import Parser
from mockprom.promql.syntax.printer import Printer
from mockprom.promql.syntax.regex import regex_error as _regex_error
from mockprom.promql.syntax.rows import dialect_of
from mockprom.promql.syntax.signatures import FUNCTIONS_V2_42, FUNCTIONS_V3_5  # noqa: F401
from mockprom.promql.syntax.tree import Fail, Panic, tree_depth
from mockprom.scenario.labels import Matcher

__all__ = ["parse", "check", "format_expr", "expr_string", "ast_json",
           "parse_metric_selector", "resolve_durations", "regex_error", "ParseError",
           "go_quote"]

MAX_QUERY_BYTES = 64 * 1024
MAX_NESTING = 200  # brackets, braces and parentheses
MAX_OPERATORS = 1000  # binary/unary operators (each one nests the tree a level deeper)
MAX_DEPTH = 256  # levels of the expression tree: the checks and evaluators recurse on it

# A tree of MAX_DEPTH levels costs the checks and printer a few Python frames a level
# (and the evaluator a few more): make room for it. Only ever raised, never lowered.
if sys.getrecursionlimit() < 4000:
    sys.setrecursionlimit(4000)


def parse(text: str, emulation=None) -> n.Expr:
    """Parse PromQL ``text`` into mockprom's AST as the Prometheus of ``emulation``
    reads it; raise ``ParseError`` on any failure."""
    tree, dialect = _checked(text, emulation)
    return Builder(text, dialect.syntax.regex).build(tree)


def check(text: str, emulation=None):
    """The emulated Prometheus's verdict on ``text``: None when it parses, else the
    error message it would give (``1:5: parse error: ...``)."""
    try:
        _checked(text, emulation)
    except ParseError as exc:
        return exc.message
    return None


def format_expr(text: str, emulation=None) -> str:
    """The prettified form of ``text`` (``/api/v1/format_query``), as ``Prettify``
    prints it."""
    tree, dialect = _checked(text, emulation)
    return Printer(dialect.syntax).pretty(tree)


def expr_string(text: str, emulation=None) -> str:
    """``text`` as Prometheus's ``Expr.String()`` prints it (one line; what
    ``/api/v1/rules`` shows as a rule's ``query``)."""
    tree, dialect = _checked(text, emulation)
    return Printer(dialect.syntax).string(tree)


def ast_json(text: str, emulation=None):
    """``/api/v1/parse_query``'s answer for ``text``: the tree as JSON-ready dicts."""
    return _ast_json(_checked(text, emulation)[0])


def parse_metric_selector(text: str, emulation=None) -> tuple[Matcher, ...]:
    """The matchers of a series selector (``up{job="api"}``), as Prometheus's
    ``parser.ParseMetricSelector`` reads every ``match[]``: a metric name and/or one
    ``{...}`` block, nothing else; raises ``ParseError`` worded and positioned as
    Prometheus (``1:4: parse error: unexpected "("``).

    Unlike a query there is no ``checkAST``: ``{job=""}`` and
    ``{__name__="a",__name__="b"}`` parse (the API refuses the former itself;
    ``/federate`` takes both). The metric name, when given, comes first."""
    dialect = dialect_of(emulation)
    try:
        node = Parser(text, dialect).parse_metric_selector()
    except Fail as fail:
        raise ParseError(_message(text, fail, dialect)) from None
    return Builder(text, dialect.syntax.regex).selector(node).matchers


def regex_error(value: str, emulation=None):
    """Go's error for a label matcher's regex (``error parsing regexp: ...``) as the
    emulated Prometheus words it, or None when the regex is valid."""
    return _regex_error(value, dialect_of(emulation).syntax)


def _message(text: str, fail: Fail, dialect) -> str:
    if isinstance(fail, Panic):
        return fail.msg
    where = format_position(text, fail.pos, dialect.syntax.unknown_empty_position)
    return f"{where}: parse error: {fail.msg}"


def _checked(text: str, emulation=None):
    """The syntax tree of ``text`` once the emulated Prometheus accepts it, and the
    dialect that read it."""
    if not isinstance(text, str):
        raise ParseError("1:1: parse error: query must be a string")
    _precheck(text)
    dialect = dialect_of(emulation)
    try:
        tree = Parser(text, dialect).parse_expr()
        depth = tree_depth(tree)
        if depth > MAX_DEPTH:
            raise Fail(0, f"expression nested too deeply ({depth} levels, maximum "
                          f"{MAX_DEPTH})")
        Checker(text).check(tree)
    except Fail as fail:
        raise ParseError(_message(text, fail, dialect)) from None
    except RecursionError:  # not expected within the limits; never crash on it
        raise ParseError(f"1:1: parse error: expression nested too deeply (maximum "
                         f"{MAX_DEPTH} levels)") from None
    return tree, dialect


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
