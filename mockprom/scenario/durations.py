"""Durations, points in time and sample values as scenarios write them, and the pydantic
field types that parse them (shared by the model and the generator specs).

Durations are Prometheus durations (``1h30m``, ``15s``, ``100ms``, ``2d``) or plain
seconds as a number; they are kept as integer milliseconds. Points in time are RFC3339,
unix seconds, or relative to "now" (``-6h``, ``now-6h``, ``+5m``, ``now``).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass
from typing import Annotated, Optional

from pydantic import (BaseModel, BeforeValidator, ConfigDict, PlainSerializer, PlainValidator,
                      WithJsonSchema)

_DURATION_RE = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_duration_ms(value, *, allow_negative: bool = False) -> int:
    """A duration in ms from ``"1h30m"``, ``"100ms"``, ``15`` or ``"1.5"`` (seconds).

    Raises ``ValueError`` with a message that says what is accepted."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a duration: {value!r} (expected e.g. \"15s\", \"1h30m\" or seconds)")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"not a duration: {value!r}")
        ms = int(round(value * 1000))
    elif isinstance(value, str):
        text = value.strip()
        sign = 1
        if allow_negative and text.startswith("-"):
            sign, text = -1, text[1:]
        if _NUMBER_RE.match(text):
            ms = int(round(float(text) * 1000))
        else:
            m = _DURATION_RE.match(text)
            if not text or not m or not any(m.groups()):
                raise ValueError(
                    f"not a valid duration string: {value!r} (expected e.g. \"15s\", \"1h30m\", "
                    f"\"100ms\" or seconds)")
            ms = sum(int(g) * unit for g, unit in zip(m.groups(), _UNITS_MS) if g)
        ms *= sign
    else:
        raise ValueError(f"not a duration: {value!r}")
    if ms < 0 and not allow_negative:
        raise ValueError(f"duration must not be negative: {value!r}")
    return ms


def format_duration_ms(ms: int) -> str:
    """Prometheus's way of printing a duration (``model.Duration.String``)."""
    ms = int(ms)
    if ms == 0:
        return "0s"
    sign = "-" if ms < 0 else ""
    ms = abs(ms)
    out = ""
    for unit, mult, exact in (("y", _UNITS_MS[0], True), ("w", _UNITS_MS[1], True),
                              ("d", _UNITS_MS[2], False), ("h", _UNITS_MS[3], False),
                              ("m", _UNITS_MS[4], False), ("s", _UNITS_MS[5], False),
                              ("ms", 1, False)):
        if exact and ms % mult:
            continue
        v = ms // mult
        if v:
            out += f"{v}{unit}"
            ms -= v * mult
    return sign + out


def parse_timestamp_ms(value) -> int:
    """An absolute time in ms from unix seconds (number or numeric string), an RFC3339
    string or a ``datetime`` (naive means UTC, as YAML timestamps are)."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return _datetime_ms(value)
    if isinstance(value, _dt.date):
        return _datetime_ms(_dt.datetime(value.year, value.month, value.day, tzinfo=_dt.timezone.utc))
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ValueError(f"not a time: {value!r}")
        return int(round(value * 1000))
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER_RE.match(text):
            return int(round(float(text) * 1000))
        try:
            d = _dt.datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise ValueError(
                f"not a valid time: {value!r} (expected RFC3339 like \"2024-01-01T00:00:00Z\" "
                f"or unix seconds)") from None
        if d.tzinfo is None:
            d = d.replace(tzinfo=_dt.timezone.utc)
        return _datetime_ms(d)
    raise ValueError(f"not a time: {value!r}")


def _datetime_ms(d: _dt.datetime) -> int:
    delta = d - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def format_timestamp_ms(ms: int) -> str:
    """RFC3339 in UTC, with milliseconds only when needed."""
    d = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc) + _dt.timedelta(milliseconds=int(ms))
    if ms % 1000:  # Go's RFC3339Nano: the fraction without trailing zeros
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}".rstrip("0") + "Z"
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class TimeSpec:
    """A point in time: absolute (``absolute_ms``) or relative to now (``relative_ms``)."""

    absolute_ms: Optional[int] = None
    relative_ms: Optional[int] = None

    def resolve(self, now_ms: int) -> int:
        if self.absolute_ms is not None:
            return self.absolute_ms
        return int(now_ms) + int(self.relative_ms or 0)

    @property
    def is_relative(self) -> bool:
        return self.absolute_ms is None

    def __str__(self) -> str:
        if self.absolute_ms is not None:
            return format_timestamp_ms(self.absolute_ms)
        rel = int(self.relative_ms or 0)
        if rel == 0:
            return "now"
        return ("-" if rel < 0 else "+") + format_duration_ms(abs(rel))


_RELATIVE_RE = re.compile(r"^(now)?\s*([+-])\s*(.+)$")


def parse_time_spec(value) -> TimeSpec:
    """``"-6h"``, ``"now-6h"``, ``"+5m"``, ``"now"`` (relative), or an absolute time."""
    if isinstance(value, TimeSpec):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.lower() == "now":
            return TimeSpec(relative_ms=0)
        m = _RELATIVE_RE.match(text.lower())
        if m and not _NUMBER_RE.match(text):
            try:
                ms = parse_duration_ms(m.group(3).strip())
            except ValueError:
                raise ValueError(
                    f"not a valid time: {value!r} (expected RFC3339, unix seconds, or relative "
                    f"like \"-6h\" / \"now-6h\")") from None
            return TimeSpec(relative_ms=-ms if m.group(2) == "-" else ms)
    return TimeSpec(absolute_ms=parse_timestamp_ms(value))


# -- pydantic field types ------------------------------------------------------------------
# (kept here so that model.py and generators.py share them without importing each other)


DURATION_PATTERN = r"^-?(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$"
_DURATION_SCHEMA = {"anyOf": [{"type": "string", "pattern": DURATION_PATTERN},
                              {"type": "number", "minimum": 0}],
                    "description": "a Prometheus duration (\"15s\", \"1h30m\", \"100ms\") or seconds"}
_TIME_SCHEMA = {"anyOf": [{"type": "string"}, {"type": "number"}],
                "description": "RFC3339, unix seconds, or relative to now (\"-6h\", \"now-6h\")"}


class StrictModel(BaseModel):
    """Base of every scenario model: unknown fields are errors (typos are caught)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


def _duration_validator(v):
    return parse_duration_ms(v)


DurationMs = Annotated[int, BeforeValidator(_duration_validator),
                       PlainSerializer(format_duration_ms, return_type=str),
                       WithJsonSchema(_DURATION_SCHEMA)]
"""A duration, stored in ms; written as a Prometheus duration."""

TimeField = Annotated[TimeSpec, PlainValidator(parse_time_spec),
                      PlainSerializer(str, return_type=str), WithJsonSchema(_TIME_SCHEMA)]
"""A point in time (absolute or relative to now)."""

TimestampMs = Annotated[int, BeforeValidator(parse_timestamp_ms),
                        PlainSerializer(format_timestamp_ms, return_type=str),
                        WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}],
                                        "description": "RFC3339 or unix seconds"})]
"""An absolute time, stored in ms."""


def _sample_value(v):
    from mockprom.scenario.samples import parse_value
    try:
        return parse_value(v)
    except (TypeError, ValueError):
        raise ValueError(f"not a sample value: {v!r} (expected a number, \"NaN\", \"+Inf\", "
                         f"\"-Inf\" or \"stale\")") from None


def _format_sample_value(v: float):
    from mockprom.scenario.samples import is_stale
    if v != v:
        return "stale" if is_stale(v) else "NaN"
    if v in (math.inf, -math.inf):
        return "+Inf" if v > 0 else "-Inf"
    return v


SampleValue = Annotated[float, PlainValidator(_sample_value),
                        PlainSerializer(_format_sample_value),
                        WithJsonSchema({"anyOf": [{"type": "number"},
                                                  {"enum": ["NaN", "+Inf", "-Inf", "Inf", "stale"]}]})]
"""A sample value: a number, "NaN", "+Inf", "-Inf" or "stale" (a staleness marker)."""
