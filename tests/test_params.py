"""Times, durations and numbers in request parameters, parsed as Prometheus 2.42 does
(web/api/v1/api.go ``parseTime`` / ``parseDuration`` and Go's ``strconv.ParseFloat``)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from mockprom.api.params import (MAX_TIME, MIN_TIME, GoTime, go_parse_float,
                                 parse_duration_ns, parse_time)


def rfc3339_ms(text: str) -> int:
    d = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return round(d.timestamp() * 1000)


@pytest.mark.parametrize("text", ["0", "1000", "1000.5", "1.235", "-1000.25", "1e3",
                                  "1700000000.123", "0x10p0", "1_000"])
def test_unix_seconds_rounded_to_the_millisecond(text):
    f = float.fromhex(text) if text.startswith("0x") else float(text.replace("_", ""))
    assert parse_time(text).ms() == round(f * 1000)


def test_fractions_round_half_away_from_zero_like_go():
    assert parse_time("1.0005").ms() == 1000  # 0.0005 is 0.000499999... in binary
    assert parse_time("1.23456789").ms() == 1235
    assert parse_time("-1000.25") == GoTime(-1001, 750_000_000)


@pytest.mark.parametrize("text", ["2015-07-01T20:10:51.781Z", "2015-07-01T20:10:51Z",
                                  "2015-07-01T20:10:51+02:00", "2015-07-01T20:10:51.5-05:30",
                                  "2024-02-29T23:59:59.123456Z", "1969-12-31T23:59:59.5Z"])
def test_rfc3339_with_fractions_and_offsets(text):
    assert parse_time(text).ms() == rfc3339_ms(text)


def test_rfc3339_nanoseconds_truncate_to_the_millisecond():
    t = parse_time("2024-02-29T23:59:59.999999999Z")
    assert t.nsec == 999_999_999
    assert t.ms() == rfc3339_ms("2024-02-29T23:59:59Z") + 999


def test_rfc3339_comma_fraction_and_boundaries():
    assert parse_time("2015-07-01T20:10:51,5Z").ms() == rfc3339_ms("2015-07-01T20:10:51.5Z")
    assert parse_time("-292273086-05-16T16:47:06Z") == MIN_TIME
    assert parse_time("292277025-08-18T07:12:54.999999999Z") == MAX_TIME


@pytest.mark.parametrize("text", ["x", "", " 1", "1e400", "+nan", "2015-07-01T20:10:51",
                                  "2015-02-30T20:10:51Z", "2015-07-01T24:10:51Z",
                                  "2015-07-01t20:10:51Z", "2015-07-01T20:10:51.7812345678Z",
                                  "1__0", "_1"])
def test_invalid_times_are_refused_with_prometheus_wording(text):
    with pytest.raises(ValueError) as exc:
        parse_time(text)
    assert str(exc.value) == f'cannot parse "{text}" to a valid timestamp'


def test_times_beyond_int64_nanoseconds_wrap_like_the_go_engine():
    # what a real Prometheus 2.42 answers for time=1e15 / 9e15 / Inf
    assert parse_time("1e15").engine_ms() == 2003764205206
    assert parse_time("9e15").engine_ms() == -412866226847
    assert parse_time("Inf").engine_ms() == -9223372036854
    assert parse_time("1e20").engine_ms() == 0


@pytest.mark.parametrize("text,ns", [
    ("1.5", 1_500_000_000), ("15", 15 * 10**9), ("0.001", 10**6), ("1h30m", 5400 * 10**9),
    ("5m", 300 * 10**9), ("1d1h", 90_000 * 10**9), ("100ms", 10**8), ("1w", 604_800 * 10**9),
    ("1y", 365 * 86_400 * 10**9), ("0", 0), ("0s", 0), ("-1", -10**9), ("1e-9", 1)])
def test_durations(text, ns):
    assert parse_duration_ns(text) == ns


@pytest.mark.parametrize("text", ["x", "", "1h1d", "5M", "1e400", "1.5h", "-5m"])
def test_invalid_durations(text):
    with pytest.raises(ValueError) as exc:
        parse_duration_ns(text)
    assert str(exc.value) == f'cannot parse "{text}" to a valid duration'


def test_infinite_duration_overflows():
    with pytest.raises(ValueError) as exc:
        parse_duration_ns("Inf")
    assert str(exc.value) == 'cannot parse "Inf" to a valid duration. It overflows int64'


def test_go_parse_float_accepts_what_go_accepts():
    assert go_parse_float("1_000.5") == 1000.5
    assert go_parse_float("0x1p-2") == 0.25
    assert go_parse_float(".5") == 0.5
    assert go_parse_float("5.") == 5.0
    assert math.isnan(go_parse_float("NaN"))
    assert go_parse_float("-Infinity") == -math.inf
    for bad in ("1__0", "1_", "_1", " 1", "1 ", "+nan", "0x10", "1e", "", "--1", "1e400"):
        assert go_parse_float(bad) is None, bad
