"""How PromQL's grammar differs between the release lines mockprom emulates: one row per
line in the ``promql_syntax`` version table. The lexer, grammar, checks and printer read
their row; nothing compares version strings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from mockprom import goregex, versions
from mockprom.promql.syntax.signatures import FUNCTIONS_V2_42, FUNCTIONS_V3_5, Signature

_AGGREGATORS_2_42 = frozenset(("sum", "min", "max", "avg", "group", "stddev", "stdvar",
                               "count", "count_values", "bottomk", "topk", "quantile"))


@dataclass(frozen=True)
class Syntax:
    """The grammar of one release line."""

    functions: Mapping[str, Signature]
    aggregators: frozenset  # aggregation keywords
    param_aggregators: frozenset  # those taking a parameter first (topk(3, x))
    experimental_aggregators: frozenset  # refused unless experimental functions are on
    # the feature flag that turns experimental functions on (None: the line has none)
    experimental_flag: Optional[str]
    # UTF-8 names: quoted metric and label names in selectors ({"a.b"="c"}, {"m"}) and
    # in grouping (by ("a.b"), on("x")); any non-empty UTF-8 label name is valid
    quoted_names: bool
    # Prometheus 3's durations: a number is a duration in seconds ([5], offset 5), a
    # duration is a number (1m + 1), @ takes a duration, and duration arithmetic
    # ([5m+1m], offset (1h*2)) behind ``duration_flag``
    durations: bool
    duration_flag: Optional[str]
    # Prometheus 3's number lexer: digit separators (1_000), stricter forms
    number_underscores: bool
    # Prometheus 3's duration parser names a bad unit (unknown unit "ss" in duration ...)
    duration_unit_errors: bool
    # an empty query's error position reads "unknown position" (2.42: 1:1)
    unknown_empty_position: bool
    # how matchers read regexes (``goregex.Dialect``): Prometheus 2.42 compiled
    # "^(?:" + re + ")$" (errors quote that), Prometheus 3 parses the raw pattern and
    # compiles "^(?s:" + re + ")$" ("." matches a newline); Go's syntax of each build
    regex: goregex.Dialect
    # the number Go prints for the "@" token in "unexpected" errors ("<Item 57385>")
    at_item: int
    # printer: numbers as Go's %v (1e+06) or strconv 'f' (1000000); quoted label names
    number_style: str
    quote_names_in_print: bool


SYNTAX_2_42 = Syntax(
    functions=FUNCTIONS_V2_42,
    aggregators=_AGGREGATORS_2_42,
    param_aggregators=frozenset(("topk", "bottomk", "count_values", "quantile")),
    experimental_aggregators=frozenset(),
    experimental_flag=None,
    quoted_names=False,
    durations=False,
    duration_flag=None,
    number_underscores=False,
    duration_unit_errors=False,
    unknown_empty_position=False,
    regex=goregex.PROMETHEUS_2,
    at_item=57385,
    number_style="g",
    quote_names_in_print=False,
)

SYNTAX_3_5 = Syntax(
    functions=FUNCTIONS_V3_5,
    aggregators=_AGGREGATORS_2_42 | {"limitk", "limit_ratio"},
    param_aggregators=frozenset(("topk", "bottomk", "count_values", "quantile", "limitk",
                                 "limit_ratio")),
    experimental_aggregators=frozenset(("limitk", "limit_ratio")),
    experimental_flag="promql-experimental-functions",
    quoted_names=True,
    durations=True,
    duration_flag="promql-duration-expr",
    number_underscores=True,
    duration_unit_errors=True,
    unknown_empty_position=True,
    regex=goregex.PROMETHEUS_3,
    at_item=57400,
    number_style="f",
    quote_names_in_print=True,
)

SYNTAX = versions.table("promql_syntax", {"2.42": SYNTAX_2_42, "3.5": SYNTAX_3_5})


@dataclass(frozen=True)
class Dialect:
    """A line's grammar with the emulation's feature flags applied."""

    syntax: Syntax
    experimental: bool  # experimental functions and aggregations allowed
    duration_exprs: bool  # duration arithmetic allowed


def dialect_of(emulation=None) -> Dialect:
    """The grammar ``emulation`` reads (None: the default version, ``versions.resolve()``)."""
    if emulation is None:
        emulation = versions.resolve()
    syntax = SYNTAX[emulation]
    return Dialect(syntax,
                   bool(syntax.experimental_flag and emulation.has(syntax.experimental_flag)),
                   bool(syntax.duration_flag and emulation.has(syntax.duration_flag)))
