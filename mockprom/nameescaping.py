"""Metric and label names under Prometheus 3's UTF-8 rules, and their escaping schemes
(prometheus/common ``model``: ``EscapeName``, ``UnescapeName``; see
``prometheus-3.5/specs/utf8.md``).

Any non-empty UTF-8 string is a valid name in Prometheus 3. Where a consumer only knows
legacy names (``[a-zA-Z_:][a-zA-Z0-9_:]*``), a name that is not one is escaped:

- ``underscores``: every character that is not legal there becomes ``_``;
- ``dots``: ``_`` becomes ``__``, ``.`` becomes ``_dot_``, anything else illegal ``__``;
- ``values``: ``U__`` then ``_`` as ``__`` and anything illegal as ``_<hex code point>_``;
- ``allow-utf-8``: no escaping.

Legacy names are never escaped. A leaf module: it imports nothing from mockprom.
"""

from __future__ import annotations

import re

ALLOW_UTF8 = "allow-utf-8"
UNDERSCORES = "underscores"
DOTS = "dots"
VALUES = "values"
SCHEMES = (ALLOW_UTF8, UNDERSCORES, DOTS, VALUES)

_LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def is_legacy_metric_name(name: str) -> bool:
    """``model.IsValidLegacyMetricName``: ``[a-zA-Z_:][a-zA-Z0-9_:]*``."""
    return _LEGACY_METRIC.fullmatch(name) is not None


def is_legacy_label_name(name: str) -> bool:
    """A label name valid before Prometheus 3: ``[a-zA-Z_][a-zA-Z0-9_]*``."""
    return _LEGACY_LABEL.fullmatch(name) is not None


def _legacy_rune(ch: str, byte_index: int) -> bool:
    """``isValidLegacyRune``: digits are legal anywhere but at byte 0."""
    return ("a" <= ch <= "z" or "A" <= ch <= "Z" or ch in "_:"
            or ("0" <= ch <= "9" and byte_index > 0))


def _runes(name: str):
    """(byte index, character) pairs, as Go's ``for i, r := range name``."""
    i = 0
    for ch in name:
        yield i, ch
        i += len(ch.encode("utf-8", "surrogatepass"))


def escape_name(name: str, scheme: str) -> str:
    """``model.EscapeName`` as ``EscapeMetricFamily`` applies it: legacy names (and the
    ``allow-utf-8`` scheme) leave the name as it is."""
    if not name or scheme == ALLOW_UTF8 or is_legacy_metric_name(name):
        return name
    out = []
    if scheme == UNDERSCORES:
        for i, ch in _runes(name):
            out.append(ch if _legacy_rune(ch, i) else "_")
    elif scheme == DOTS:
        for i, ch in _runes(name):
            if ch == "_":
                out.append("__")
            elif ch == ".":
                out.append("_dot_")
            else:
                out.append(ch if _legacy_rune(ch, i) else "__")
    elif scheme == VALUES:
        out.append("U__")
        for i, ch in _runes(name):
            if ch == "_":
                out.append("__")
            elif _legacy_rune(ch, i):
                out.append(ch)
            else:
                out.append(f"_{ord(ch):x}_")
    else:
        raise ValueError(f"unknown escaping scheme {scheme!r}")
    return "".join(out)


def unescape_values(name: str) -> str:
    """``model.UnescapeName(name, ValueEncodingEscaping)``: ``U__a_2e_b`` is ``a.b``. A
    name without the prefix, or one that does not decode (an unclosed or over-long code,
    a non-hex digit, an invalid code point), is returned as it is."""
    if not name.startswith("U__"):
        return name
    s = name[3:]
    out = []
    i, n = 0, len(s)
    while i < n:
        ch = s[i]
        if ch != "_":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= n:
            return name
        if s[i] == "_":
            out.append("_")
            i += 1
            continue
        value, digits = 0, 0
        while True:
            if i >= n or digits >= 6:
                return name
            c = s[i].lower()
            if c == "_":
                if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                    return name
                out.append(chr(value))
                i += 1
                break
            if not ("0" <= c <= "9" or "a" <= c <= "f"):
                return name
            value = value * 16 + int(c, 16)
            digits += 1
            i += 1
    return "".join(out)
