"""Go's float64 formatting (``strconv.FormatFloat``), the one copy in mockprom.

Prometheus prints floats with Go's rules, which differ from Python's ``repr``/``str``:

- ``format_f``: ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest round-trip digits,
  never an exponent (``1e-07`` -> ``0.0000001``, ``1e+21`` -> ``1000000000000000000000``);
- ``format_e``: ``strconv.FormatFloat(v, 'e', -1, 64)``: shortest digits, a signed
  exponent of at least two digits (``1e+00``, ``1.5e-07``, ``1e+100``);
- ``format_g``: ``strconv.FormatFloat(v, 'g', -1, 64)``, which is also ``fmt.Sprint`` and
  ``%v`` of a float64: the 'e' form when the decimal exponent is < -4 or >= 6 (Go decides
  with precision 6 when the digits are the shortest), else the 'f' form (``123456``,
  ``1.234567e+06``, ``0.0001``, ``1e-05``);
- ``format_prec``: ``strconv.FormatFloat(v, fmt, prec, 64)`` with a fixed precision, for
  fmt 'f' or 'e'; ``fmt.Sprintf("%f", v)`` is ``format_prec(v, 'f', 6)``.

All of them write ``NaN``, ``+Inf`` and ``-Inf`` for the special values (as Go does) and
keep the sign of a negative zero (``-0``, ``-0e+00``). Python's ``repr`` gives the same
shortest round-trip digits as Go's shortest formatting, so everything starts from it.

This module imports nothing from mockprom, so every layer may use it.
"""

from __future__ import annotations

__all__ = ["format_e", "format_f", "format_g", "format_prec"]

_INF = float("inf")


def _special(v: float) -> str:
    """NaN and ±Inf as strconv writes them."""
    if v != v:
        return "NaN"
    return "+Inf" if v > 0 else "-Inf"


def _digits(r: str) -> tuple[str, int]:
    """The shortest digits (no leading or trailing zeros) of a positive finite float's
    ``repr`` and the decimal exponent of the first digit."""
    if "e" in r:  # 'd.ddde±XX': the mantissa never has trailing zeros
        mant, _, e = r.partition("e")
        return mant.replace(".", ""), int(e)
    ip, _, fp = r.partition(".")
    if ip != "0":  # '123.45', '100.0'
        return (ip + fp).rstrip("0"), len(ip) - 1
    nz = len(fp) - len(fp.lstrip("0"))  # '0.00123'
    return fp[nz:].rstrip("0"), -nz - 1


def _parts(v: float):
    """``(sign, digits, exp)`` of a finite non-zero float (see ``_digits``); for the
    others the finished text: ``NaN``, ``+Inf``, ``-Inf``, ``0`` or ``-0``."""
    v = float(v)
    if v != v or v == _INF or v == -_INF:
        return _special(v)
    r = repr(v)
    sign = ""
    if r[0] == "-":
        sign, r = "-", r[1:]
    if v == 0:
        return sign + "0"
    return (sign, *_digits(r))


def _fixed(sign: str, digits: str, exp: int) -> str:
    """``digits`` with the first digit at decimal exponent ``exp``, without exponent."""
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if len(digits) <= exp + 1:
        return sign + digits + "0" * (exp + 1 - len(digits))
    return f"{sign}{digits[:exp + 1]}.{digits[exp + 1:]}"


def _sci(sign: str, digits: str, exp: int) -> str:
    mant = digits[0] + "." + digits[1:] if len(digits) > 1 else digits
    return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def format_f(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: the shortest digits that round-trip,
    never an exponent: ``1``, ``0.1``, ``-0``, ``0.0000001``, ``1000000000000000000000``,
    ``NaN``, ``+Inf``, ``-Inf``."""
    r = repr(float(v))
    if "e" not in r:
        if "n" in r:  # 'nan', 'inf', '-inf'
            return _special(float(v))
        return r[:-2] if r.endswith(".0") else r  # '123.45', '100.0'
    if r[0] == "-":
        digits, exp = _digits(r[1:])
        return _fixed("-", digits, exp)
    digits, exp = _digits(r)
    return _fixed("", digits, exp)


def format_e(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'e', -1, 64)``: the shortest digits that round-trip
    with a signed exponent of at least two digits: ``1e+00``, ``1.5e-07``, ``1e+21``,
    ``5e-324``, ``0e+00``, ``-0e+00``, ``NaN``, ``+Inf``, ``-Inf``."""
    parts = _parts(v)
    if isinstance(parts, str):
        return parts + "e+00" if parts in ("0", "-0") else parts
    return _sci(*parts)


def format_g(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'g', -1, 64)``, which is also ``fmt.Sprint(v)`` and
    ``%v``: the shortest digits, with an exponent when the decimal exponent is below -4
    or at least 6 (Go's choice for shortest 'g'): ``0``, ``-0``, ``0.0001``, ``1e-05``,
    ``123456``, ``1e+06``, ``1.234567e+06``, ``NaN``, ``+Inf``, ``-Inf``. The text
    exposition format, ``/federate`` and client libraries' ``le``/``quantile`` labels
    use it."""
    parts = _parts(v)
    if isinstance(parts, str):
        return parts
    sign, digits, exp = parts
    if exp < -4 or exp >= 6:
        return _sci(sign, digits, exp)
    return _fixed(sign, digits, exp)


def format_prec(v: float, fmt: str, prec: int) -> str:
    """Go's ``strconv.FormatFloat(v, fmt, prec, 64)`` with a fixed precision ``prec >= 0``
    for fmt ``'f'`` (``prec`` digits after the point) or ``'e'`` (``prec`` digits after
    the first, exponent of at least two digits); both round half to even on the exact
    binary value, as Go does. ``fmt.Sprintf("%f", v)`` is ``format_prec(v, 'f', 6)``
    (Go's fmt also writes ``NaN``, ``+Inf`` and ``-Inf`` there)."""
    if fmt not in ("f", "e"):
        raise ValueError(f"unsupported format {fmt!r}: only 'f' and 'e'")
    if prec < 0:
        raise ValueError("a negative precision is the shortest form: use format_f/format_e")
    v = float(v)
    if v != v or v == _INF or v == -_INF:
        return _special(v)
    return format(v, f".{int(prec)}{fmt}")


def format_json(v: float) -> str:
    """Go's ``encoding/json`` form of a finite float64 (JavaScript's number formatting:
    shortest digits, 'f' unless tiny or huge, ``1e-7`` rather than ``1e-07``)."""
    a = abs(v)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = format_e(v)
        if len(s) >= 4 and s[-4] == "e" and s[-3] == "-" and s[-2] == "0":
            s = s[:-2] + s[-1]
        return s
    return format_f(v)
