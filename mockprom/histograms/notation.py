"""The promqltest / promtool notation of native histograms.

A histogram sample is written ``{{schema:0 sum:5 count:4 buckets:[1 2 1]}}`` with the
keys ``schema``, ``sum``, ``count``, ``z_bucket`` (zero count), ``z_bucket_w`` (zero
threshold), ``buckets``/``offset`` (positive buckets and the index of the first),
``n_buckets``/``n_offset`` (negative), ``custom_values`` (bounds of schema -53) and
``counter_reset_hint`` (``unknown``, ``reset``, ``not_reset``, ``gauge``). ``{{}}`` is
the empty histogram.

In a value sequence, as Prometheus's series parser expands it:

- ``{{A}}xN`` is N+1 copies of A;
- ``{{A}}+{{B}}xN`` is A, A+B, A+2B, ... (N+1 values, each the previous plus B);
- ``{{A}}-{{B}}xN`` the same with subtraction.

``format_histogram`` writes a histogram back in this notation (Go's ``TestExpression``).
"""

from __future__ import annotations

import math
import re
from typing import List, Optional

from mockprom.gofloat import format_g
from mockprom.histograms.float_histogram import (HINT_NAMES, FloatHistogram,
                                                 HistogramError, UNKNOWN_COUNTER_RESET)

_HINTS = {name: value for value, name in HINT_NAMES.items()}
_KEYS = ("schema", "sum", "count", "z_bucket", "z_bucket_w", "buckets", "offset",
         "n_buckets", "n_offset", "custom_values", "counter_reset_hint")
_INT_KEYS = ("schema", "offset", "n_offset")
_LIST_KEYS = ("buckets", "n_buckets", "custom_values")
_KEY = re.compile(r"\s*([a-z_]+)\s*:\s*")
# (digits, then a fraction only after its dot: "\d+\.?\d*" backtracks quadratically)
_NUMBER = re.compile(r"[+-]?(?:inf(?:inity)?|nan|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)",
                     re.IGNORECASE)
_INT = re.compile(r"[+-]?\d+")

MAX_SERIES_HISTOGRAMS = 1_000_000  # a guard against "{{}}x999999999"


def _number(text: str, where: str) -> float:
    low = text.lower().lstrip("+-")
    if low in ("inf", "infinity"):
        return -math.inf if text.startswith("-") else math.inf
    if low == "nan":
        return math.nan
    if low.startswith("0x"):
        v = float(int(low, 16))
        return -v if text.startswith("-") else v
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"error parsing {where}: {text!r} is not a number") from None


def parse_histogram(text: str, start: int = 0) -> tuple[FloatHistogram, int]:
    """Parse one ``{{...}}`` description at ``text[start]``; returns the histogram and
    the position just after ``}}``. Raises ``ValueError`` naming the problem."""
    if not text.startswith("{{", start):
        raise ValueError(f"expected '{{{{' at position {start + 1}")
    end = text.find("}}", start + 2)
    if end < 0:
        raise ValueError(f"unterminated histogram description at position {start + 1}: "
                         "missing '}}'")
    body = text[start + 2:end]
    desc: dict = {}
    i = 0
    while i < len(body):
        if body[i].isspace():
            i += 1
            continue
        m = _KEY.match(body, i)
        if not m:
            raise ValueError(f"bad histogram description {text[start:end + 2]!r}: expected "
                             f"'key:value' at {body[i:i + 20]!r}")
        key = m.group(1)
        if key not in _KEYS:
            raise ValueError(f"unknown histogram field {key!r} in {text[start:end + 2]!r}: "
                             f"expected one of {', '.join(_KEYS)}")
        if key in desc:
            raise ValueError(f"histogram field {key!r} given twice in {text[start:end + 2]!r}")
        i = m.end()
        if key in _LIST_KEYS:
            if i >= len(body) or body[i] != "[":
                raise ValueError(f"histogram field {key!r} takes a list like [1 2 3]")
            close = body.find("]", i)
            if close < 0:
                raise ValueError(f"unterminated list in histogram field {key!r}")
            items = body[i + 1:close].replace(",", " ").split()
            desc[key] = [_number(x, key) for x in items]
            i = close + 1
            continue
        j = i
        while j < len(body) and not body[j].isspace():
            j += 1
        word = body[i:j]
        i = j
        if key == "counter_reset_hint":
            if word not in _HINTS:
                raise ValueError(f"unknown counter_reset_hint {word!r}: expected one of "
                                 f"{', '.join(_HINTS)}")
            desc[key] = _HINTS[word]
        elif key in _INT_KEYS:
            if not _INT.fullmatch(word):
                raise ValueError(f"error parsing {key} number: {word!r}")
            desc[key] = int(word)
        else:
            if not _NUMBER.fullmatch(word):
                raise ValueError(f"error parsing {key}: {word!r} is not a number")
            desc[key] = _number(word, key)
    return _build(desc), end + 2


def _build(desc: dict) -> FloatHistogram:
    """Prometheus's ``buildHistogramFromMap``: one span per side, at the offset."""
    h = FloatHistogram(schema=desc.get("schema", 0), sum=desc.get("sum", 0.0),
                       count=desc.get("count", 0.0), zero_count=desc.get("z_bucket", 0.0),
                       zero_threshold=desc.get("z_bucket_w", 0.0),
                       custom_values=desc.get("custom_values"),
                       counter_reset_hint=desc.get("counter_reset_hint",
                                                   UNKNOWN_COUNTER_RESET))
    pos = desc.get("buckets") or []
    if pos:
        h.positive_spans = [[desc.get("offset", 0), len(pos)]]
        h.positive_buckets = list(pos)
    neg = desc.get("n_buckets") or []
    if neg:
        h.negative_spans = [[desc.get("n_offset", 0), len(neg)]]
        h.negative_buckets = list(neg)
    return h


def expand_histogram_item(item: str, room: int = MAX_SERIES_HISTOGRAMS) -> List[FloatHistogram]:
    """Expand one histogram item of a value sequence: ``{{A}}``, ``{{A}}xN``,
    ``{{A}}+{{B}}xN`` or ``{{A}}-{{B}}xN``."""
    base, i = parse_histogram(item, 0)
    rest = item[i:]
    if not rest:
        return [base]
    if rest[0] == "x":
        n = _times(rest[1:], item, room)
        return [base] + [base.copy() for _ in range(n)]
    if rest[0] in "+-":
        if not rest.startswith("{{", 1):
            raise ValueError(f"expected a histogram after {rest[0]!r} in {item!r}")
        inc, j = parse_histogram(rest, 1)
        tail = rest[j:]
        if not tail.startswith("x"):
            raise ValueError(f"expected 'x' and a count after the increment in {item!r}")
        n = _times(tail[1:], item, room)
        out = [base]
        cur = base
        for _ in range(n):
            if cur.schema > inc.schema:
                raise ValueError(f"error combining histograms: cannot merge from schema "
                                 f"{inc.schema} to {cur.schema}")
            try:
                cur = cur.copy().add(inc) if rest[0] == "+" else cur.copy().sub(inc)
            except HistogramError as err:
                raise ValueError(f"error combining histograms in {item!r}: {err}") from None
            out.append(cur)
        return out
    raise ValueError(f"unexpected {rest!r} after the histogram in {item!r}: expected "
                     "'x', '+' or '-'")


def _times(text: str, item: str, room: int) -> int:
    if not re.fullmatch(r"[0-9]+", text):
        raise ValueError(f"invalid repetition in series values: expected a whole number "
                         f"after 'x' in {item!r}")
    n = int(text)
    if n >= room:
        raise ValueError(f"too many samples: {item!r} would expand past {room} values")
    return n


def split_items(values: str) -> List[tuple[str, int]]:
    """Split a value sequence into items at whitespace outside ``{{...}}``; returns
    ``(item, offset)`` pairs."""
    out = []
    i, n = 0, len(values)
    while i < n:
        if values[i] in " \t\r\n":
            i += 1
            continue
        start = i
        while i < n and values[i] not in " \t\r\n":
            if values.startswith("{{", i):
                close = values.find("}}", i + 2)
                if close < 0:
                    raise ValueError(f"unterminated histogram description at position "
                                     f"{i + 1}: missing '}}}}'")
                i = close + 2
            else:
                i += 1
        out.append((values[start:i], start))
    return out


def format_histogram(h: FloatHistogram) -> str:
    """The notation of ``h`` (Go's ``TestExpression``): zero fields left out, buckets as
    one dense span per side."""
    parts = []
    if h.schema != 0:
        parts.append(f"schema:{h.schema}")
    if h.count != 0:
        parts.append(f"count:{format_g(h.count)}")
    if h.sum != 0:
        parts.append(f"sum:{format_g(h.sum)}")
    if h.zero_count != 0:
        parts.append(f"z_bucket:{format_g(h.zero_count)}")
    if h.zero_threshold != 0:
        parts.append(f"z_bucket_w:{format_g(h.zero_threshold)}")
    if h.uses_custom_buckets():
        parts.append("custom_values:[" + " ".join(format_g(v) for v in h.custom_values) + "]")
    if h.counter_reset_hint != UNKNOWN_COUNTER_RESET:
        parts.append(f"counter_reset_hint:{HINT_NAMES[h.counter_reset_hint]}")
    for key, okey, spans, buckets in (("buckets", "offset", h.positive_spans, h.positive_buckets),
                                      ("n_buckets", "n_offset", h.negative_spans,
                                       h.negative_buckets)):
        first, dense = _dense(spans, buckets)
        if first is not None and first != 0:
            parts.append(f"{okey}:{first}")
        if dense:
            parts.append(f"{key}:[" + " ".join(format_g(b) for b in dense) + "]")
    return "{{" + " ".join(parts) + "}}"


def _dense(spans, buckets) -> tuple[Optional[int], list]:
    """The buckets as one run from the first to the last non-empty one."""
    items = []
    idx = bi = 0
    for offset, length in spans:
        idx += offset
        for _ in range(length):
            items.append((idx, buckets[bi]))
            idx += 1
            bi += 1
    items = [(i, c) for i, c in items if c != 0]
    if not items:
        return None, []
    first, last = items[0][0], items[-1][0]
    dense = [0.0] * (last - first + 1)
    for i, c in items:
        dense[i - first] = c
    return first, dense
