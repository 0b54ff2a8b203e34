"""OpenTelemetry metric and attribute names as Prometheus 3.5 translates them (its
``otlptranslator`` package): ``http.server.duration`` in seconds becomes
``http_server_duration_seconds``, a monotonic sum gets ``_total``, a gauge of unit ``1``
gets ``_ratio``, attribute ``http.method`` becomes label ``http_method``.

``translation_strategy`` (the ``otlp:`` block): ``UnderscoreEscapingWithSuffixes``
(escape to the legacy character set, add suffixes), ``NoUTF8EscapingWithSuffixes`` (keep
UTF-8 names, add suffixes), ``NoTranslation`` (names as sent).
"""

from __future__ import annotations

import re

GAUGE, COUNTER, OTHER = "gauge", "counter", "other"  # what the suffix rules look at

UNITS = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds",
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
    "TiBy": "tibibytes", "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
    "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}
PER_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month",
             "y": "year"}

_NOT_METRIC_CHAR = re.compile(r"[^a-zA-Z0-9:]")
_NOT_LABEL_CHAR = re.compile(r"[^a-zA-Z0-9_]")
_UNDERSCORES = re.compile(r"__+")


def _unit_suffixes(unit: str) -> tuple[str, str]:
    """``buildUnitSuffixes``: the main unit's and the "per" unit's words."""
    tokens = unit.split("/", 1)
    main = per = ""
    main_otel = tokens[0].strip()
    if main_otel and "{" not in main_otel and "}" not in main_otel:
        main = UNITS.get(main_otel, main_otel)
    if len(tokens) > 1 and tokens[1]:
        per_otel = tokens[1].strip()
        if per_otel and "{" not in per_otel and "}" not in per_otel:
            per = PER_UNITS.get(per_otel, per_otel)
        if per:
            per = "per_" + per
    return main, per


def _clean_unit(unit: str) -> str:
    return _UNDERSCORES.sub("_", _NOT_METRIC_CHAR.sub("_", unit)).removeprefix("_")


def _tokens(name: str) -> list[str]:
    return [t for t in _NOT_METRIC_CHAR.split(name) if t]


def _escaped(name: str, unit: str, kind: str) -> str:
    """``normalizeName``: legacy characters, unit words, ``_total``, ``_ratio``."""
    tokens = _tokens(name)
    main, per = _clean_unit(_unit_suffixes(unit)[0]), _clean_unit(_unit_suffixes(unit)[1])
    if main in tokens:
        main = ""
    if per == "per_":
        per = ""
    else:
        per = per.removesuffix("_")
        if per in tokens:
            per = ""
    if per:
        main = main.removesuffix("_")
    if main:
        tokens.append(main)
    if per:
        tokens.append(per)
    if kind == COUNTER:
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == GAUGE:
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    out = "_".join(tokens)
    if out and out[0].isdigit():
        out = "_" + out
    return out


def _trim(name: str, suffix: str) -> str:
    if name.endswith(suffix) and len(name) > len(suffix) + 1:
        return name[:-(len(suffix) + 1)]
    return name


def _utf8(name: str, unit: str, kind: str) -> str:
    """``buildMetricName`` with suffixes and UTF-8 kept."""
    tail = ""
    if unit == "1" and kind == GAUGE:
        name, tail = _trim(name, "ratio"), "_ratio" + tail
    if kind == COUNTER:
        name, tail = _trim(name, "total"), "_total" + tail
    main, per = _unit_suffixes(unit)
    if per:
        name, tail = _trim(name, per), "_" + per + tail
    if main and not name.endswith(main):
        name = name + "_" + main
    return name + tail


def metric_name(name: str, unit: str, kind: str, strategy: str) -> str:
    """The Prometheus metric name of an OTLP metric (``""`` when nothing is left)."""
    if strategy == "NoTranslation":
        return name
    if strategy == "NoUTF8EscapingWithSuffixes":
        return _utf8(name, unit, kind)
    out = _escaped(name, unit, kind)
    if out != name and out and set(out) == {"_"}:
        return ""
    return out


def label_name(name: str, strategy: str) -> str:
    """``LabelNamer.Build``: an attribute's label name."""
    if not name:
        return ""
    if strategy == "UnderscoreEscapingWithSuffixes":
        name = _NOT_LABEL_CHAR.sub("_", name)
    if name[0].isdigit():
        return "key_" + name
    if name.startswith("_") and not name.startswith("__"):
        return "key" + name
    return name


def unit_label(unit: str, strategy: str) -> str:
    """``UnitNamer.Build``: the unit as a word (``By/s`` -> ``bytes_per_second``)."""
    main, per = _unit_suffixes(unit)
    if strategy == "UnderscoreEscapingWithSuffixes":
        main, per = _clean_unit(main), _clean_unit(per)
    u = f"{main}_{per}" if main and per else (main or per)
    return u.removeprefix("_").removesuffix("_")
