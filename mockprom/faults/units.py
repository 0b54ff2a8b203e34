"""Durations and times as fault rules write them ("2s", "100ms", "0.5s", 1.5, RFC3339).

Built on the scenario's parsers; rules also take a decimal with one unit ("0.5s",
"1.5m"), handy for short test latencies.
"""

from __future__ import annotations

import math
import re

from mockprom.scenario.durations import parse_duration_ms, parse_timestamp_ms

_DECIMAL_UNIT = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h|d|w|y)$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000,
            "w": 7 * 86_400_000, "y": 365 * 86_400_000}


def parse_duration_s(value: object) -> float:
    """Seconds from a duration ("1m30s", "250ms", "0.5s") or a number of seconds.

    Raises ValueError with a readable message."""
    if isinstance(value, str):
        decimal = _DECIMAL_UNIT.match(value.strip())
        if decimal:
            return float(decimal.group(1)) * _UNIT_MS[decimal.group(2)] / 1000.0
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return value  # keep sub-millisecond precision
    try:
        return parse_duration_ms(value) / 1000.0
    except ValueError:
        raise ValueError(f"expected a duration like '2s', '100ms' or seconds, got {value!r}") from None


def parse_time_ms(value: object) -> int:
    """Milliseconds since the epoch from unix seconds or an RFC3339 time."""
    try:
        return parse_timestamp_ms(value)
    except ValueError:
        raise ValueError(f"expected unix seconds or an RFC3339 time, got {value!r}") from None
