"""Go's ways with text that Prometheus's parser inherits: ``%q`` quoting, number and
duration literals (``strconv``, ``model.ParseDuration``), string unquoting, positions."""

from __future__ import annotations

import math
import re

from mockprom.gostr import go_quote

__all__ = ["go_quote"]  # re-exported: the parser's modules import it from here


def is_rune_error(c: str) -> bool:
    """What Go decodes as ``utf8.RuneError``: U+FFFD itself (also what invalid UTF-8
    becomes when the request is decoded) and lone surrogates (bytes of a ``"\\xff"``
    escape that are not UTF-8)."""
    return c == "\ufffd" or "\ud800" <= c <= "\udfff"


def go_rune(c: str) -> str:
    """Go's ``%q`` of a rune (end of input, rune -1, prints as U+FFFD)."""
    return go_quote(c or "\ufffd", "'")


def go_unicode(c: str) -> str:
    """Go's ``%#U``."""
    if not c:
        return "U+FFFFFFFFFFFFFFFF"
    code = f"U+{ord(c):04X}"
    return f"{code} '{c}'" if c.isprintable() else code


def format_position(text: str, pos: int, empty_unknown: bool = False) -> str:
    """``line:col`` as Prometheus prints it (col counts bytes, from 1); Prometheus 3
    prints ``unknown position`` for an empty query (``empty_unknown``)."""
    if empty_unknown and text == "":
        return "unknown position"
    line = 1 + text.count("\n", 0, pos)
    last = text.rfind("\n", 0, pos)
    col = len(text[last + 1:pos].encode("utf-8", "surrogatepass")) + 1
    return f"{line}:{col}"


# -- durations ---------------------------------------------------------------------------

_DURATION_RE = re.compile(r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?"
                          r"(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?\Z")
_DURATION_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000,
                      1000, 1)
MAX_INT64 = (1 << 63) - 1


_UNIT_ORDER = {"y": (1, 365 * 86_400_000), "w": (2, 7 * 86_400_000),
               "d": (3, 86_400_000), "h": (4, 3_600_000), "m": (5, 60_000),
               "s": (6, 1000), "ms": (7, 1)}


def duration_ms(text: str, unit_errors: bool = False) -> int:
    """``model.ParseDuration`` (prometheus/common), in ms. Raises ValueError with
    Prometheus's wording; ``unit_errors``: the newer prometheus/common of Prometheus 3,
    which names an unknown unit (``unknown unit "ss" in duration "1ss"``)."""
    if text == "0":
        return 0
    if unit_errors:
        return _duration_ms_units(text)
    found = _DURATION_RE.match(text)
    if not found or not text:
        raise ValueError("not a valid duration string: " + go_quote(text))
    total_ns = 0
    for digits, unit in zip(found.groups(), _DURATION_UNITS_MS):
        if digits is None:
            continue
        count = int(digits)
        if count > MAX_INT64 // unit // 1_000_000:
            raise ValueError("duration out of range")
        total_ns += count * unit * 1_000_000
        if total_ns > MAX_INT64:
            raise ValueError("duration out of range")
    return total_ns // 1_000_000


def _duration_ms_units(text: str) -> int:
    if text == "":
        raise ValueError("empty duration string")
    invalid = "not a valid duration string: " + go_quote(text)
    rest, total_ns, last = text, 0, 0
    while rest:
        if not rest[0].isdigit() or not rest[0].isascii():
            raise ValueError(invalid)
        i = 0
        while i < len(rest) and "0" <= rest[i] <= "9":
            i += 1
        count = int(rest[:i])
        if count > (1 << 64) - 1:
            raise ValueError(invalid)
        rest = rest[i:]
        i = 0
        while i < len(rest) and not ("0" <= rest[i] <= "9"):
            i += 1
        if i == 0:
            raise ValueError(invalid)
        unit, rest = rest[:i], rest[i:]
        if unit not in _UNIT_ORDER:
            raise ValueError(f"unknown unit {go_quote(unit)} in duration {go_quote(text)}")
        pos, size_ms = _UNIT_ORDER[unit]
        if pos <= last:
            raise ValueError(invalid)
        last = pos
        mult = size_ms * 1_000_000
        if count > (1 << 63) // mult:
            raise ValueError("duration out of range")
        total_ns += count * mult
        if total_ns > MAX_INT64:
            raise ValueError("duration out of range")
    return total_ns // 1_000_000


_UNITS = (("y", 365 * 86_400_000), ("w", 7 * 86_400_000), ("d", 86_400_000),
          ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1))


def format_duration(ms: int) -> str:
    """``model.Duration.String()`` of a non-negative duration in ms (``1h30m``, ``0s``)."""
    if ms == 0:
        return "0s"
    out = []
    for unit, size in _UNITS:
        if unit in ("y", "w") and ms % size:
            continue  # years and weeks only when exact (90d, not 12w6d)
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)


# -- numbers -----------------------------------------------------------------------------

def _underscores_ok(s: str) -> bool:
    """Go's ``strconv.underscoreOK``: underscores only between digits (or after a base
    prefix)."""
    saw = "^"
    i = 0
    if len(s) >= 1 and s[0] in "+-":
        s = s[1:]
    hexa = False
    if len(s) >= 2 and s[0] == "0" and s[1].lower() in "bxo":
        i = 2
        saw = "0"
        hexa = s[1].lower() == "x"
    while i < len(s):
        c = s[i]
        if c.isdigit() or (hexa and c.lower() in "abcdef"):
            saw = "0"
        elif c == "_":
            if saw != "0":
                return False
            saw = "_"
        else:
            if saw == "_":
                return False
            saw = "!"
        i += 1
    return saw != "_"


def go_number(text: str) -> float:
    """``strconv.ParseInt(text, 0, 64)``, else ``strconv.ParseFloat(text, 64)``, as
    Prometheus's ``parser.number`` does. Raises ValueError with Go's wording."""
    clean = text
    if "_" in text:
        clean = text.replace("_", "") if _underscores_ok(text) else None
    try:
        if clean is None:
            raise ValueError
        if clean[:2] in ("0x", "0X"):
            value = int(clean[2:], 16)
        elif clean[:2] in ("0o", "0O"):
            value = int(clean[2:], 8)
        elif clean[:2] in ("0b", "0B"):
            value = int(clean[2:], 2)
        elif len(clean) > 1 and clean[0] == "0" and clean.isdigit():
            value = int(clean, 8)
        elif clean.isdigit():
            value = int(clean)
        else:
            raise ValueError
        if value <= MAX_INT64:
            return float(value)
    except ValueError:
        pass
    lower = text.lower()
    try:
        if clean is None or lower.startswith(("0x", "0o", "0b")) or "_" in clean:
            raise ValueError
        value = float(clean)
    except ValueError:
        raise ValueError(f"strconv.ParseFloat: parsing {go_quote(text)}: invalid syntax") \
            from None
    if math.isinf(value) and lower not in ("inf", "infinity", "+inf", "-inf"):
        raise ValueError(f"strconv.ParseFloat: parsing {go_quote(text)}: "
                         "value out of range")
    return value


def format_float_f(value: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: the shortest decimal, never an
    exponent."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if "e" not in text and "E" not in text:
        return text[:-2] if text.endswith(".0") else text
    mantissa, exp = text.split("e")
    exp = int(exp)
    sign = "-" if mantissa.startswith("-") else ""
    mantissa = mantissa.lstrip("-")
    whole, _, frac = mantissa.partition(".")
    digits = whole + frac
    point = len(whole) + exp
    if point <= 0:
        out = "0." + "0" * (-point) + digits
    elif point >= len(digits):
        out = digits + "0" * (point - len(digits))
    else:
        out = digits[:point] + "." + digits[point:]
    out = out.rstrip("0").rstrip(".") if "." in out else out
    return sign + out


# -- strings -----------------------------------------------------------------------------

_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def unquote(token: str) -> str:
    """The value of a (lexer-validated) string literal. As in Go, ``\\xNN`` and octal
    escapes are bytes: bytes that are not UTF-8 come back as surrogate escapes
    (``\\udcNN``; ``go_quote`` prints them ``\\xNN``, ``valid_utf8`` replaces them)."""
    if token[0] == "`":
        return token[1:-1]
    body, out, i = token[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out += c.encode("utf-8", "surrogatepass")
            i += 1
            continue
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[e].encode()
            i += 2
        elif e in "01234567":
            out.append(int(body[i + 1:i + 4], 8))
            i += 4
        elif e == "x":
            out.append(int(body[i + 2:i + 4], 16))
            i += 4
        else:
            width = 4 if e == "u" else 8
            out += chr(int(body[i + 2:i + 2 + width], 16)).encode("utf-8", "surrogatepass")
            i += 2 + width
    return out.decode("utf-8", "surrogateescape")


def valid_utf8(s: str) -> str:
    """``s`` with the bytes that are not UTF-8 as U+FFFD (what Go's JSON encoder and
    Prometheus's label handling see)."""
    if not any("\udc80" <= c <= "\udcff" for c in s):
        return s
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
