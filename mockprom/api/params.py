"""Request parameters parsed exactly as Prometheus 2.42 parses them.

- form values: ``r.FormValue`` semantics: a POST/PUT/PATCH form body first, then the
  URL query; repeated names (``match[]``) from both;
- times: Go ``strconv.ParseFloat`` seconds (rounded to the millisecond) or RFC3339 with
  optional fraction (up to 9 digits) and offset, plus Prometheus's two boundary strings;
- durations: float seconds or a Prometheus duration (``1h30m``, ``5m``, ``100ms``);
- series selectors for ``match[]``.

Parsed times are kept as Go keeps them (seconds and nanoseconds) so the two ways
Prometheus turns them into milliseconds can both be reproduced, overflow included.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

from flask import request

from mockprom.api.envelope import ApiError, bad_data, invalid_param
from mockprom.gostr import go_quote, go_quote_bytes  # noqa: F401 (go_quote_bytes: for the endpoints)
from mockprom.promql.errors import ParseError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
NS = 1_000_000_000


def wrap64(x: int) -> int:
    """Two's-complement int64 overflow, as Go arithmetic does."""
    return ((x + 2**63) % 2**64) - 2**63


def go_int64(f: float) -> int:
    """Go's float64 -> int64 conversion on amd64: truncation; NaN and out of range give
    the minimum int64."""
    if f != f or f >= 2.0**63 or f < -(2.0**63):
        return INT64_MIN
    return int(f)


def _go_div(a: int, b: int) -> int:
    """Go integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


# -- Go's ParseFloat -----------------------------------------------------------------

_DEC_RE = re.compile(r"[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?")
_HEX_RE = re.compile(r"[+-]?0[xX](?:_?[0-9a-fA-F])*(?:\.[0-9a-fA-F]*)?[pP][+-]?\d+")
_SPECIAL_RE = re.compile(r"[+-]?(?:inf|infinity)|nan", re.IGNORECASE)


def go_parse_float(s: str) -> Optional[float]:
    """``strconv.ParseFloat(s, 64)``; None where Go returns an error (also for values
    out of range, which Go reports as ErrRange)."""
    if _SPECIAL_RE.fullmatch(s):
        return float(s)
    if _DEC_RE.fullmatch(s):
        v = float(s.replace("_", ""))
    elif _HEX_RE.fullmatch(s):
        try:
            v = float.fromhex(s.replace("_", ""))
        except (OverflowError, ValueError):
            return None
    else:
        return None
    if math.isinf(v):
        return None
    return v


# -- times ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GoTime:
    """A point in time as Go's ``time.Time`` holds it: Unix seconds plus nanoseconds
    in [0, 1e9)."""

    sec: int
    nsec: int

    @staticmethod
    def unix(sec: int, nsec: int) -> "GoTime":
        """``time.Unix`` normalisation (with Go's int64 wrap-around)."""
        if nsec < 0 or nsec >= NS:
            n = _go_div(nsec, NS)
            sec = wrap64(sec + n)
            nsec -= n * NS
            if nsec < 0:
                nsec += NS
                sec = wrap64(sec - 1)
        return GoTime(sec, nsec)

    def ms(self) -> int:
        """``timestamp.FromTime``: used by series, labels, label values, deletes."""
        return wrap64(self.sec * 1000 + self.nsec // 1_000_000)

    def engine_ms(self) -> int:
        """The engine's ``timeMilliseconds``: ``UnixNano() / 1e6`` (wraps past 2262)."""
        return _go_div(wrap64(self.sec * NS + self.nsec), 1_000_000)

    def before(self, other: "GoTime") -> bool:
        return (self.sec, self.nsec) < (other.sec, other.nsec)

    def sub_ns(self, other: "GoTime") -> int:
        """``t.Sub(u)`` in ns, saturating like Go's."""
        d = (self.sec - other.sec) * NS + (self.nsec - other.nsec)
        return max(INT64_MIN, min(INT64_MAX, d))


MIN_TIME = GoTime(INT64_MIN // 1000 + 1 + 62135596801, 0)  # math.MinInt64/1000 truncates
MAX_TIME = GoTime(INT64_MAX // 1000 - 62135596801, 999_999_999)
MIN_TIME_FORMATTED = "-292273086-05-16T16:47:06Z"
MAX_TIME_FORMATTED = "292277025-08-18T07:12:54.999999999Z"

_RFC3339_RE = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:\d{2})")
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _parse_rfc3339(s: str) -> Optional[GoTime]:
    m = _RFC3339_RE.fullmatch(s)
    if not m:
        return None
    y, mo, d, h, mi, se = (int(m.group(i)) for i in range(1, 7))
    if not 1 <= mo <= 12 or h > 23 or mi > 59 or se > 59:
        return None
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    if not 1 <= d <= _DAYS[mo - 1] + (1 if mo == 2 and leap else 0):
        return None
    frac = m.group(7) or ""
    nsec = int((frac + "000000000")[:9]) if frac else 0
    offset = 0
    tz = m.group(8)
    if tz != "Z":
        oh, om = int(tz[1:3]), int(tz[4:6])
        if oh > 23 or om > 59:
            return None
        offset = (oh * 3600 + om * 60) * (1 if tz[0] == "+" else -1)
    sec = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset
    return GoTime(sec, nsec)


def parse_time(s: str) -> GoTime:
    """Prometheus's ``parseTime``; raises ``ValueError`` with Prometheus's message."""
    f = go_parse_float(s)
    if f is not None:
        whole = math.trunc(f) if math.isfinite(f) else f
        frac = f - whole if math.isfinite(f) else math.nan
        if f != f:
            whole = frac = math.nan
        frac = _go_round(frac * 1000) / 1000
        return GoTime.unix(go_int64(whole), go_int64(frac * NS))
    t = _parse_rfc3339(s)
    if t is not None:
        return t
    if s == MIN_TIME_FORMATTED:
        return MIN_TIME
    if s == MAX_TIME_FORMATTED:
        return MAX_TIME
    raise ValueError(f"cannot parse {go_quote(s)} to a valid timestamp")


def _go_round(x: float) -> float:
    """Go's ``math.Round``: half away from zero."""
    if x != x or math.isinf(x):
        return x
    r = math.floor(abs(x) + 0.5)
    return math.copysign(r, x)


# -- durations -----------------------------------------------------------------------

_PROM_DURATION_RE = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_UNIT_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)


def parse_duration_ns(s: str) -> int:
    """Prometheus's ``parseDuration`` (web API): float seconds or a Prometheus duration,
    in nanoseconds; raises ``ValueError`` with Prometheus's message."""
    f = go_parse_float(s)
    if f is not None:
        ns = f * 1e9
        if ns > float(INT64_MAX) or ns < float(INT64_MIN):
            raise ValueError(f"cannot parse {go_quote(s)} to a valid duration. It overflows int64")
        return go_int64(ns)
    if _SPECIAL_RE.fullmatch(s):  # ±Inf: ParseFloat accepted it
        raise ValueError(f"cannot parse {go_quote(s)} to a valid duration. It overflows int64")
    if s == "0":
        return 0
    m = _PROM_DURATION_RE.fullmatch(s)
    if s and m:
        ms = sum(int(g) * u for g, u in zip(m.groups(), _UNIT_MS) if g)
        if ms * 1_000_000 <= INT64_MAX:
            return ms * 1_000_000
    raise ValueError(f"cannot parse {go_quote(s)} to a valid duration")




# -- request access ------------------------------------------------------------------

_BODY_METHODS = ("POST", "PUT", "PATCH")


def form_value(name: str, default: str = "") -> str:
    """Go's ``r.FormValue``: the first value from the form body, else the URL query."""
    if request.method in _BODY_METHODS:
        vals = request.form.getlist(name)
        if vals:
            return vals[0]
    return request.args.get(name, default)


def form_values(name: str) -> list[str]:
    """Go's ``r.Form[name]``: body values first, then URL query values."""
    vals = []
    if request.method in _BODY_METHODS:
        vals.extend(request.form.getlist(name))
    vals.extend(request.args.getlist(name))
    return vals


def has_form_value(name: str) -> bool:
    return bool(form_values(name))


def time_param(name: str, default: GoTime) -> GoTime:
    """``parseTimeParam``: an absent/empty value gives ``default``."""
    from mockprom.api.dialect import dialect

    val = form_value(name)
    if val == "":
        return default
    try:
        return parse_time(val)
    except ValueError as exc:
        raise invalid_param(name, dialect().time_value_error.format(name=name, err=exc)) \
            from None


def required_time(name: str) -> GoTime:
    """``parseTime(r.FormValue(name))`` as query_range uses it (empty is an error)."""
    try:
        return parse_time(form_value(name))
    except ValueError as exc:
        raise invalid_param(name, str(exc)) from None


def duration_param(name: str) -> Optional[int]:
    """An optional duration in ns (None when absent)."""
    val = form_value(name)
    if val == "":
        return None
    try:
        return parse_duration_ns(val)
    except ValueError as exc:
        raise invalid_param(name, str(exc)) from None


def go_atoi(val: str) -> int:
    """Go's ``strconv.Atoi``; raises ``ValueError`` with its message
    (``strconv.Atoi: parsing "x": invalid syntax``, ``... value out of range``)."""
    if not re.fullmatch(r"[+-]?\d+", val):
        raise ValueError(f"strconv.Atoi: parsing {go_quote(val)}: invalid syntax")
    if not INT64_MIN <= int(val) <= INT64_MAX:
        raise ValueError(f"strconv.Atoi: parsing {go_quote(val)}: value out of range")
    return int(val)


def int_param(name: str, message: str = "limit must be a number") -> Optional[int]:
    """Go ``strconv.Atoi`` of an optional parameter."""
    val = form_value(name)
    if val == "":
        return None
    try:
        return go_atoi(val)
    except ValueError:
        raise bad_data(message) from None


def limit_param() -> Optional[int]:
    """``limit`` as Prometheus 3's ``parseLimitParam`` reads it on query, query_range,
    series, labels and label values: absent is None (no limit, as 0 is), not an integer
    or negative is refused as invalid parameter "limit". None where the emulated version
    has no such parameter (2.42 ignores it)."""
    from mockprom.api.dialect import dialect

    val = form_value("limit")
    if not dialect().limit_param or val == "":
        return None
    try:
        limit = go_atoi(val)
    except ValueError as exc:
        raise invalid_param("limit", str(exc)) from None
    if limit < 0:
        raise invalid_param("limit", "limit must be non-negative")
    return limit or None


TRUNCATED = "results truncated due to limit"


def truncate(items: list, limit: Optional[int]) -> tuple[list, list[str]]:
    """``items`` cut to ``limit`` (None: no limit), with Prometheus's warning when cut."""
    if limit is not None and len(items) > limit:
        return items[:limit], [TRUNCATED]
    return items, []


def time_to_store_ms(t: GoTime) -> int:
    """``timestamp.FromTime`` clamped to the store's range."""
    from mockprom.scenario.store import MAX_TIME_MS, MIN_TIME_MS

    return max(MIN_TIME_MS, min(MAX_TIME_MS, t.ms()))


# -- selectors -----------------------------------------------------------------------

def parse_selector(text: str):
    """``parser.ParseMetricSelector``: a series selector's matchers; raises ParseError."""
    from mockprom.api.selector import parse_metric_selector

    return parse_metric_selector(text)


def matcher_sets(values: list[str], *, param: Optional[str] = None) -> list[list]:
    """``parseMatchersParam``: every ``match[]`` as a matcher list; an all-empty-matching
    selector is refused as Prometheus refuses it. ``param`` wraps errors as
    ``invalid parameter "<param>": ...`` (series does, labels and label values don't)."""
    def fail(msg: str) -> ApiError:
        return invalid_param(param, msg) if param else bad_data(msg)

    out = []
    for s in values:  # every selector is parsed before any is checked, as in 2.42
        try:
            out.append(parse_selector(s))
        except ParseError as exc:
            raise fail(exc.message) from None
    for ms in out:
        if all(m.matches("") for m in ms):
            raise fail("match[] must contain at least one non-empty matcher")
    return out


LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def check_label_name(name: str) -> None:
    if not LABEL_NAME_RE.fullmatch(name):
        raise bad_data(f"invalid label name: {go_quote(name)}")


__all__ = ["ApiError", "GoTime", "parse_time", "parse_duration_ns", "form_value",
           "form_values", "time_param", "required_time", "duration_param", "int_param",
           "matcher_sets", "check_label_name", "MIN_TIME", "MAX_TIME"]
