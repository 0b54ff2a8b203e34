"""Prometheus's expanding series notation, as promtool and the PromQL test files use it.

Follows Prometheus v2.42 ``promql/parser`` (``lex.go`` value sequences and the
``series_item`` rules of ``generated_parser.y``):

- items are separated by whitespace;
- ``a`` one value; ``a+bxn`` / ``a-bxn`` n+1 values a, a+b, ... (accumulated by repeated
  addition, as Go does); ``axn`` n+1 copies of a;
- ``_`` one omitted sample, ``_xn`` n omitted samples (n, not n+1);
- ``stale`` a staleness marker; ``Inf``/``NaN`` in any case, signed with ``+``/``-``;
- numbers are decimal or scientific; as in Go's ``ParseInt(s, 0, 64)`` a leading ``0``
  makes an integer octal (``010`` is 8); hexadecimal is not allowed;
- native histograms ``{{schema:0 sum:5 count:4 buckets:[1 2 1]}}`` with ``x``/``+``/``-``
  expansion (see ``mockprom.histograms.notation``): such slots hold a ``FloatHistogram``.

Also parses series selectors ``metric{a="b", c='d'}`` with Go string escapes.
"""

from __future__ import annotations

import re
from typing import Optional

from mockprom.histograms.notation import expand_histogram_item, split_items
from mockprom.scenario.samples import STALE_NAN

_KEYWORDS = {
    "and", "or", "unless", "atan2", "sum", "avg", "count", "min", "max", "group", "stddev",
    "stdvar", "topk", "bottomk", "count_values", "quantile", "offset", "by", "without", "on",
    "ignoring", "group_left", "group_right", "bool", "start", "end",
}

MAX_EXPANDED = 10_000_000  # a guard against "0x999999999999" eating the memory

_ADD, _SUB, _TIMES, _BLANK, _NUM, _IDENT, _KW = "+", "-", "x", "_", "number", "identifier", "keyword"


def _is_alpha(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_digit(c: str) -> bool:
    return "0" <= c <= "9"


def _is_alnum(c: str) -> bool:
    return _is_alpha(c) or _is_digit(c)


def _tokenize_item(text: str, offset: int) -> list[tuple[str, str, int]]:
    """Tokens of one whitespace-free item (Prometheus ``lexValueSequence``)."""
    toks = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        pos = offset + i
        if c == "+":
            toks.append((_ADD, c, pos)); i += 1
        elif c == "-":
            toks.append((_SUB, c, pos)); i += 1
        elif c == "x":
            toks.append((_TIMES, c, pos)); i += 1
        elif c == "_":
            toks.append((_BLANK, c, pos)); i += 1
        elif _is_digit(c) or (c == "." and i + 1 < n and _is_digit(text[i + 1])):
            j = i
            while j < n and _is_digit(text[j]):
                j += 1
            if j < n and text[j] == ".":
                j += 1
                while j < n and _is_digit(text[j]):
                    j += 1
            if j < n and text[j] in "eE":
                j += 1
                if j < n and text[j] in "+-":
                    j += 1
                while j < n and _is_digit(text[j]):
                    j += 1
            if j < n and text[j] != "x" and _is_alnum(text[j]):
                raise ValueError(f"bad number syntax: {text[i:j + 1]!r} at position {pos + 1}")
            toks.append((_NUM, text[i:j], pos)); i = j
        elif _is_alpha(c):
            j = i
            while j < n and (_is_alnum(text[j]) or text[j] == ":"):
                j += 1
            word = text[i:j]
            low = word.lower()
            if low in ("inf", "nan"):
                toks.append((_NUM, word, pos))
            elif low in _KEYWORDS:
                toks.append((_KW, word, pos))
            else:
                toks.append((_IDENT, word, pos))
            i = j
        else:
            raise ValueError(f"unexpected character in series sequence: {c!r} at position {pos + 1}")
    return toks


def _number(tok: tuple[str, str, int]) -> float:
    """Prometheus ``parser.number``: ParseInt(s, 0, 64), else ParseFloat."""
    s = tok[1]
    if re.fullmatch(r"0[0-7]+", s):
        v = int(s, 8)
        if v < 2**63:
            return float(v)
    if re.fullmatch(r"[0-9]+", s):
        return float(int(s))
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"error parsing number: {s!r} at position {tok[2] + 1}") from None


def _uint(tok: Optional[tuple[str, str, int]], item: str, room: int = 0) -> int:
    if tok is None or tok[0] != _NUM or not re.fullmatch(r"[0-9]+", tok[1]):
        got = "end of item" if tok is None else repr(tok[1])
        raise ValueError(f"invalid repetition in series values: expected a whole number after 'x' "
                         f"in {item!r}, got {got}")
    n = int(tok[1])
    if n >= room:
        raise ValueError(f"too many samples: {item!r} would expand past {MAX_EXPANDED} values")
    return n


def _parse_item(item: str, offset: int, room: int = MAX_EXPANDED) -> list[Optional[float]]:
    toks = _tokenize_item(item, offset)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        tok = peek()
        pos += 1
        return tok

    def unexpected(tok, expected):
        what = "end of item" if tok is None else f"{tok[0]} {tok[1]!r}"
        where = "" if tok is None else f" at position {tok[2] + 1}"
        return ValueError(f"unexpected {what} in series values{where}, expected {expected}")

    def signed_number():
        sign = take()
        num = take()
        if num is None or num[0] != _NUM:
            raise unexpected(num, "number")
        v = _number(num)
        return -v if sign[0] == _SUB else v

    first = peek()
    if first is not None and first[0] == _BLANK:
        take()
        if peek() is None:
            return [None]
        if peek()[0] != _TIMES:
            raise unexpected(peek(), "'x' or a space")
        take()
        n = _uint(take(), item, room)
        if peek() is not None:
            raise unexpected(peek(), "a space")
        return [None] * n

    # series_value
    tok = peek()
    if tok is None:
        return []
    if tok[0] == _IDENT:
        if tok[1] != "stale":
            raise unexpected(tok, 'number or "stale"')
        take()
        value = STALE_NAN
    elif tok[0] == _NUM:
        take()
        value = _number(tok)
    elif tok[0] in (_ADD, _SUB):
        value = signed_number()
    else:
        raise unexpected(tok, 'number, "stale" or "_"')

    nxt = peek()
    if nxt is None:
        return [value]
    if nxt[0] == _TIMES:
        take()
        n = _uint(take(), item, room)
        if peek() is not None:
            raise unexpected(peek(), "a space")
        return [value] * (n + 1)
    if nxt[0] in (_ADD, _SUB):
        delta = signed_number()
        t = take()
        if t is None or t[0] != _TIMES:
            raise unexpected(t, "'x'")
        n = _uint(take(), item, room)
        if peek() is not None:
            raise unexpected(peek(), "a space")
        out = []
        for _ in range(n + 1):
            out.append(value)
            value += delta
        return out
    raise unexpected(nxt, "'x', '+', '-' or a space")


def expand(values: str) -> list:
    """Expand a value sequence: one entry per sample slot, ``None`` for an omitted
    sample (``_``), ``STALE_NAN`` for ``stale``, a ``FloatHistogram`` for a native
    histogram sample, else a float. Raises ``ValueError``."""
    if not isinstance(values, str):
        raise ValueError(f"values must be a string, got {type(values).__name__}")
    out: list = []
    for item, offset in split_items(values):
        if item.startswith("{{"):
            out.extend(expand_histogram_item(item, MAX_EXPANDED - len(out)))
        else:
            out.extend(_parse_item(item, offset, MAX_EXPANDED - len(out)))
    return out


# -- series selectors --------------------------------------------------------------------

_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SIMPLE_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
               "\\": "\\", "'": "'", '"': '"'}


def _read_string(text: str, i: int) -> tuple[str, int]:
    """Read a quoted string starting at ``text[i]`` (a quote); Go escapes."""
    quote = text[i]
    i += 1
    out = []
    while True:
        if i >= len(text):
            raise ValueError("unterminated quoted string")
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if quote == "`":
            out.append(c); i += 1
            continue
        if c == "\n":
            raise ValueError("unterminated quoted string")
        if c != "\\":
            out.append(c); i += 1
            continue
        i += 1
        if i >= len(text):
            raise ValueError("escape sequence not terminated")
        e = text[i]
        if e in _SIMPLE_ESC and (e not in "'\"" or e == quote):
            out.append(_SIMPLE_ESC[e]); i += 1
        elif e in "01234567":
            digits = text[i:i + 3]
            if not re.fullmatch(r"[0-7]{3}", digits) or int(digits, 8) > 255:
                raise ValueError(f"invalid octal escape \\{digits}")
            out.append(chr(int(digits, 8))); i += 3
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = text[i + 1:i + 1 + width]
            if not re.fullmatch(r"[0-9a-fA-F]{%d}" % width, digits):
                raise ValueError(f"invalid escape \\{e}{digits}")
            cp = int(digits, 16)
            if cp > 0x10FFFF or 0xD800 <= cp < 0xE000:
                raise ValueError("escape sequence is an invalid Unicode code point")
            out.append(chr(cp)); i += 1 + width
        else:
            raise ValueError(f"unknown escape sequence \\{e}")


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def parse_selector_prefix(text: str) -> tuple[dict[str, str], int]:
    """Parse ``metric{a="b", ...}`` (name optional, braces optional, only ``=``) at the
    start of ``text``; returns the labels (with ``__name__``) and where parsing stopped."""
    labels: dict[str, str] = {}
    i = _skip_ws(text, 0)
    m = _NAME_RE.match(text, i)
    if m:
        labels["__name__"] = m.group(0)
        i = m.end()
    if i < len(text) and text[i] == "{":
        i += 1
        while True:
            i = _skip_ws(text, i)
            if i < len(text) and text[i] == "}":
                i += 1
                break
            lm = _LABEL_RE.match(text, i)
            if not lm:
                raise ValueError(f"expected a label name at position {i + 1} of {text!r}")
            name = lm.group(0)
            i = _skip_ws(text, lm.end())
            if i >= len(text) or text[i] != "=" or text[i + 1:i + 2] in ("~",):
                raise ValueError(f"expected '=' after label {name!r} in {text!r} "
                                 f"(a series takes exact label values only)")
            i = _skip_ws(text, i + 1)
            if i >= len(text) or text[i] not in "\"'`":
                raise ValueError(f"expected a quoted value for label {name!r} in {text!r}")
            value, i = _read_string(text, i)
            if name in labels:
                raise ValueError(f"label {name!r} given twice in {text!r}")
            labels[name] = value
            i = _skip_ws(text, i)
            if i < len(text) and text[i] == ",":
                i += 1
                continue
            if i < len(text) and text[i] == "}":
                i += 1
                break
            raise ValueError(f"expected ',' or '}}' at position {i + 1} of {text!r}")
    elif not m:
        raise ValueError(f"expected a metric name or '{{' in {text!r}")
    return labels, i


def parse_selector(text: str) -> dict[str, str]:
    """Parse a whole series selector ``metric{a="b"}`` into a label dict."""
    labels, i = parse_selector_prefix(text)
    if _skip_ws(text, i) != len(text):
        raise ValueError(f"unexpected {text[i:].strip()!r} after the series selector {text!r}")
    return labels


def parse_series_line(line: str) -> tuple[dict[str, str], list]:
    """A promtool/promqltest ``load`` line: ``metric{a="b"} 0+1x10 _ stale``."""
    labels, i = parse_selector_prefix(line)
    rest = line[i:]
    if rest and rest[0] not in " \t\r\n":
        raise ValueError(f"expected a space between the series and its values in {line!r}")
    return labels, expand(rest)
