"""Series selectors as ``match[]`` / ``match_target`` take them: Prometheus's
``parser.ParseMetricSelector``, a stricter grammar than a query (a metric name and/or
one ``{...}`` block, nothing else). Structural errors are worded and positioned as
Prometheus 2.42 words them (``1:4: parse error: unexpected "("``); the matchers
themselves come from the PromQL parse adapter."""

from __future__ import annotations

import re

from mockprom.promql.errors import ParseError

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NUMBER = re.compile(r"(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
                     r"(?:[a-zA-Z]+\d*)*")
_OP_WORDS = {"and", "or", "unless", "atan2"}
_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "offset", "bool"}
_OPS = ("==", "!=", "<=", ">=", "=~", "!~", "+", "-", "*", "/", "%", "^", "<", ">", "=")
_PUNCT = "()[],{"


def _skip_space(text: str, i: int) -> int:
    n = len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        else:
            break
    return i


def _position(text: str, i: int) -> str:
    before = text[:i].encode("utf-8")
    line = before.count(b"\n") + 1
    col = len(before) - (before.rfind(b"\n") + 1) + 1
    return f"{line}:{col}"


def _go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _end_of_string(text: str, i: int) -> int:
    quote = text[i]
    j = i + 1
    while j < len(text):
        c = text[j]
        if c == "\\" and quote != "`":
            j += 2
            continue
        if c == quote:
            return j + 1
        j += 1
    return len(text)


def _unexpected(text: str, i: int) -> ParseError:
    """The error for the token starting at ``i``."""
    rest = text[i:]
    where = _position(text, i)
    m = _NAME.match(rest)
    if m:
        word = m.group(0)
        if word.lower() in _OP_WORDS:
            desc = f"<op:{word.lower()}>"
        elif word.lower() in _KEYWORDS:
            desc = f"<{word.lower()}>"
        else:
            desc = f"identifier {_go_quote(word)}"
        return ParseError(f"{where}: parse error: unexpected {desc}")
    m = _NUMBER.match(rest)
    if m:
        return ParseError(f"{where}: parse error: unexpected number {_go_quote(m.group(0))}")
    if rest[0] in "\"'`":
        token = rest[: _end_of_string(rest, 0)]
        return ParseError(f"{where}: parse error: unexpected string {_go_quote(token)}")
    if rest[0] == "@":
        return ParseError(f'{where}: parse error: unexpected "<Item 57385>" <op:@>')
    for op in _OPS:
        if rest.startswith(op):
            return ParseError(f"{where}: parse error: unexpected <op:{op}>")
    if rest[0] in _PUNCT:
        return ParseError(f'{where}: parse error: unexpected "{rest[0]}"')
    return ParseError(f"{where}: parse error: unexpected character: '{rest[0]}'")


def _end_of_braces(text: str, i: int) -> int:
    """Index after the ``}`` closing the ``{`` at ``i``, or -1 when unclosed."""
    j = i + 1
    while j < len(text):
        c = text[j]
        if c in "\"'`":
            j = _end_of_string(text, j)
            continue
        if c == "}":
            return j + 1
        j += 1
    return -1


def parse_metric_selector(text: str) -> list:
    """The matchers of a series selector; raises ``ParseError`` worded as Prometheus."""
    from mockprom.promql import nodes
    from mockprom.promql.parse import parse

    i = _skip_space(text, 0)
    if i >= len(text):
        raise ParseError(f"{_position(text, i)}: parse error: unexpected end of input")
    name = None
    m = _NAME.match(text, i)
    if m:
        name = m.group(0)
        i = _skip_space(text, m.end())
    elif text[i] != "{":
        raise _unexpected(text, i)
    inner = None
    if i < len(text) and text[i] == "{":
        end = _end_of_braces(text, i)
        if end < 0:
            parse(text)  # the adapter words errors inside the braces
            raise ParseError(f"{_position(text, len(text))}: parse error: unexpected end of "
                             "input inside braces")
        inner = text[i + 1:end - 1]
        i = _skip_space(text, end)
    if i < len(text):
        raise _unexpected(text, i)
    try:
        expr = parse(text)
    except ParseError:
        if name is None:
            raise
        # a keyword used as a metric name (``sum``, ``offset``): select it by __name__
        rest = f", {inner}" if inner and inner.strip() else ""
        expr = parse(f'{{__name__="{name}"{rest}}}')
    if not isinstance(expr, nodes.VectorSelector):
        raise ParseError(f"1:1: parse error: unexpected {type(expr).__name__}")
    return list(expr.matchers)
