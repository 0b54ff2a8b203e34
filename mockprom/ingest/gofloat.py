"""Go's shortest ``%g`` float formatting (``strconv.FormatFloat(v, 'g', -1, 64)``, which is
also ``fmt.Sprint(float64)``), as the text exposition format and the Pushgateway print
values: ``1``, ``0.25``, ``123456``, ``1e+06``, ``1.5e-07``, ``NaN``, ``+Inf``, ``-Inf``.

Go picks the exponent form when the decimal exponent is < -4 or >= 6 (the precision of a
shortest ``%g``), with at least two exponent digits.
"""

from __future__ import annotations

import math
from decimal import Decimal


def format_go_g(v: float) -> str:
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    sign = "-" if v < 0 else ""
    # repr gives the shortest digits that round-trip, as Go's shortest formatting does.
    _, digit_tuple, exponent = Decimal(repr(abs(v))).as_tuple()
    digits = "".join(map(str, digit_tuple)).lstrip("0")
    exponent += len(digits) - len(digits.rstrip("0"))
    digits = digits.rstrip("0")
    exp = exponent + len(digits) - 1  # decimal exponent of the first digit
    if exp < -4 or exp >= 6:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{digits}"
    if len(digits) <= exp + 1:
        return f"{sign}{digits}{'0' * (exp + 1 - len(digits))}"
    return f"{sign}{digits[:exp + 1]}.{digits[exp + 1:]}"
