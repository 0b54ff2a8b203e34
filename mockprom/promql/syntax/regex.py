"""Regex checks of label matchers: Go's ``regexp`` error for a matcher's pattern, as the
emulated Prometheus reports it (``mockprom.goregex``: 2.42 compiled ``^(?:<re>)$``, 3.x
parses the raw pattern), and whether a matcher matches the empty string."""

from __future__ import annotations

from mockprom import goregex
from mockprom.scenario.labels import Matcher


def matches_empty(op: str, value: str, regex: goregex.Dialect = goregex.DEFAULT) -> bool:
    if op == "=":
        return value == ""
    if op == "!=":
        return value != ""
    try:
        hit = Matcher.of("x", "=~", value, regex).matches("")
    except ValueError:
        return False  # an invalid regex is reported on its own
    return hit if op == "=~" else not hit


def regex_error(value: str, syntax):
    """Go's ``regexp`` error for a matcher's regex (None when valid), as the Prometheus
    of ``syntax`` (a ``rows.Syntax``) reports it."""
    return goregex.syntax_error(value, syntax.regex)
