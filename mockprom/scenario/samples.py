"""Sample values: Prometheus's staleness marker and helpers around it.

Prometheus marks a series stale with a special NaN (bit pattern 0x7ff0000000000002).
mockprom keeps that exact bit pattern in its float64 arrays, so that remote-written stale
markers and scenario ``"stale"`` values are the same thing.
"""

from __future__ import annotations

import math
import struct

import numpy as np

STALE_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_BITS))[0]


def is_stale(v: float) -> bool:
    return v != v and struct.unpack("<Q", struct.pack("<d", v))[0] == STALE_BITS


def stale_mask(values: np.ndarray) -> np.ndarray:
    """Boolean mask of the staleness markers in a float64 array."""
    return values.view(np.uint64) == np.uint64(STALE_BITS)


def parse_value(v) -> float:
    """A sample value from a scenario: a number, "NaN", "+Inf", "-Inf", "Inf" or "stale"."""
    if isinstance(v, bool):
        raise ValueError(f"not a sample value: {v!r}")
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        low = s.lower()
        if low == "stale":
            return STALE_NAN
        if low == "nan":
            return math.nan
        if low in ("inf", "+inf"):
            return math.inf
        if low == "-inf":
            return -math.inf
        return float(s)
    raise ValueError(f"not a sample value: {v!r}")
