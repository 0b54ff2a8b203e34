"""Date functions (``year``, ``month``, ``day_of_month``, ``day_of_week``,
``day_of_year``, ``days_in_month``, ``hour``, ``minute``) in UTC.

With no argument they read the evaluation time (``hour()`` is ``hour(vector(time()))``).
A sample value is converted as Go converts ``time.Unix(int64(v), 0).UTC()``: truncated
toward zero, NaN/±Inf/out-of-range values become the minimum int64 (amd64), and the
calendar is computed with Go's own unsigned arithmetic, so even absurd values answer
what Prometheus answers.
"""

from __future__ import annotations

import numpy as np

from mockprom.promql.functions import register
from mockprom.promql.steps import StepSeries

_U = np.uint64
SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86400
SECONDS_PER_WEEK = 7 * SECONDS_PER_DAY
DAYS_PER_400Y = 365 * 400 + 97
DAYS_PER_100Y = 365 * 100 + 24
DAYS_PER_4Y = 365 * 4 + 1
ABSOLUTE_ZERO_YEAR = -292277022399
# unixToInternal + internalToAbsolute in Go's time package.
UNIX_TO_ABSOLUTE = 62135596800 + 9223371966579724800
DAYS_BEFORE = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365],
                       dtype=np.int64)
MIN_INT64 = np.iinfo(np.int64).min


def go_unix_seconds(vals: np.ndarray) -> np.ndarray:
    """``int64(v)`` as Go compiles it on amd64."""
    vals = np.asarray(vals, dtype=np.float64)
    ok = np.isfinite(vals) & (vals > -9.223372036854775808e18) & (vals < 9.223372036854775808e18)
    out = np.full(vals.shape, MIN_INT64, dtype=np.int64)
    out[ok] = np.trunc(vals[ok]).astype(np.int64)
    return out


def _abs_seconds(sec: np.ndarray) -> np.ndarray:
    return sec.astype(np.int64).view(np.uint64) + _U(UNIX_TO_ABSOLUTE)


def _is_leap(year: np.ndarray) -> np.ndarray:
    return (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))


def civil(sec: np.ndarray):
    """Go's ``absDate``: (year, month 1-12, day of month, day of year 0-based)."""
    with np.errstate(over="ignore"):
        d = _abs_seconds(sec) // _U(SECONDS_PER_DAY)
        n = d // _U(DAYS_PER_400Y)
        y = _U(400) * n
        d = d - _U(DAYS_PER_400Y) * n
        n = d // _U(DAYS_PER_100Y)
        n = n - (n >> _U(2))
        y = y + _U(100) * n
        d = d - _U(DAYS_PER_100Y) * n
        n = d // _U(DAYS_PER_4Y)
        y = y + _U(4) * n
        d = d - _U(DAYS_PER_4Y) * n
        n = d // _U(365)
        n = n - (n >> _U(2))
        y = y + n
        d = d - _U(365) * n
        year = y.view(np.int64) + np.int64(ABSOLUTE_ZERO_YEAR)
    yday = d.astype(np.int64)
    day = yday.copy()
    leap = _is_leap(year)
    leap_day = leap & (day == 31 + 29 - 1)
    day = np.where(leap & (day > 31 + 29 - 1), day - 1, day)
    month = day // 31
    end = DAYS_BEFORE[month + 1]
    after = day >= end
    begin = np.where(after, end, DAYS_BEFORE[month])
    month = month + after + 1
    mday = day - begin + 1
    month = np.where(leap_day, 2, month)
    mday = np.where(leap_day, 29, mday)
    return year, month, mday, yday


def _days_in_month(year, month):
    base = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month]
    return base + ((month == 2) & _is_leap(year))


def _year(sec):
    return civil(sec)[0]


def _month(sec):
    return civil(sec)[1]


def _day_of_month(sec):
    return civil(sec)[2]


def _day_of_year(sec):
    return civil(sec)[3] + 1


def _days_in(sec):
    year, month, _, _ = civil(sec)
    return _days_in_month(year, month)


def _day_of_week(sec):
    with np.errstate(over="ignore"):
        s = (_abs_seconds(sec) + _U(1 * SECONDS_PER_DAY)) % _U(SECONDS_PER_WEEK)
    return (s // _U(SECONDS_PER_DAY)).astype(np.int64)


def _hour(sec):
    return (_abs_seconds(sec) % _U(SECONDS_PER_DAY)).astype(np.int64) // SECONDS_PER_HOUR


def _minute(sec):
    return (_abs_seconds(sec) % _U(SECONDS_PER_HOUR)).astype(np.int64) // SECONDS_PER_MINUTE


DATE_FUNCTIONS = {
    "year": _year,
    "month": _month,
    "day_of_month": _day_of_month,
    "day_of_year": _day_of_year,
    "day_of_week": _day_of_week,
    "days_in_month": _days_in,
    "hour": _hour,
    "minute": _minute,
}


def _make_date(fn):
    def impl(ctx, args, call):
        if not args:
            sec = np.asarray(ctx.steps, dtype=np.int64)
            sec = np.where(sec < 0, -((-sec) // 1000), sec // 1000)  # Go truncates
            return [StepSeries((), fn(sec).astype(np.float64), np.ones(ctx.n, bool))]
        out = []
        for s in args[0]:
            vals = fn(go_unix_seconds(s.vals)).astype(np.float64)
            out.append(StepSeries(s.labels, vals, s.present))
        return out

    return impl


for _name, _fn in DATE_FUNCTIONS.items():
    register(_name, ("vector",), optional_args=1, drops_name=True)(_make_date(_fn))
