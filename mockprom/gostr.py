"""Go's quoting of strings (``strconv.Quote``, ``%q``), the copy every layer may use.

A leaf module: it imports nothing from mockprom.
"""

from __future__ import annotations

__all__ = ["go_quote", "go_quote_bytes"]

_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\v": "\\v", "\\": "\\\\"}


def go_quote(s: str, quote: str = '"') -> str:
    """Go's ``%q`` of ``s``: printable characters as they are, the usual escapes, others
    as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``. Bytes that are not UTF-8, carried as
    surrogate escapes (``\\udcNN``, Python's ``surrogateescape``), print as ``\\xNN``."""
    out = []
    for c in str(s):
        if c == quote:
            out.append("\\" + c)
        elif c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif "\udc80" <= c <= "\udcff":
            out.append(f"\\x{ord(c) - 0xdc00:02x}")
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x80:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return quote + "".join(out) + quote


def go_quote_bytes(b: bytes) -> str:
    """``strconv.Quote`` of bytes that may not be UTF-8: invalid bytes as ``\\xff``."""
    return go_quote(b.decode("utf-8", "surrogateescape"))
