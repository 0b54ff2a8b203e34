"""Label sets and label matchers, shared by the store, the PromQL engine and the API.

A label set is a ``Labels``: a tuple of ``(name, value)`` pairs sorted by name, with no
empty values (Prometheus drops labels whose value is empty). It is hashable, ordered and
cheap to compare, so it serves as a series identity everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from mockprom import goregex

Labels = tuple  # tuple[tuple[str, str], ...], sorted by name

METRIC_NAME = "__name__"


def make_labels(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> Labels:
    """Build a canonical label set: sorted by name, empty values dropped."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(sorted((str(k), str(v)) for k, v in items if v != ""))


def labels_dict(labels: Labels) -> dict[str, str]:
    return dict(labels)


def get_label(labels: Labels, name: str) -> str:
    """The value of ``name`` in ``labels``, or "" when absent (as Prometheus does)."""
    for k, v in labels:
        if k == name:
            return v
    return ""


def metric_name(labels: Labels) -> str:
    return get_label(labels, METRIC_NAME)


def without_name(labels: Labels) -> Labels:
    return tuple(p for p in labels if p[0] != METRIC_NAME)


def format_labels(labels: Labels) -> str:
    """Prometheus's text form: ``name{a="b", c="d"}``."""
    name = metric_name(labels)
    rest = ", ".join(f'{k}="{_escape(v)}"' for k, v in labels if k != METRIC_NAME)
    if not rest:
        return name if name else "{}"
    return f"{name}{{{rest}}}"


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


MATCH_OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True)
class Matcher:
    """A label matcher. Regexes are Go's (linear time, ``mockprom.goregex``) and fully
    anchored, as Prometheus anchors them."""

    name: str
    op: str  # one of MATCH_OPS
    value: str
    regex: goregex.Regex | None = field(default=None, compare=False, hash=False, repr=False)

    @staticmethod
    def of(name: str, op: str, value: str,
           dialect: goregex.Dialect = goregex.DEFAULT) -> "Matcher":
        """Build a matcher; raises ``goregex.RegexError`` (a ``ValueError``, Go's message)
        for an invalid regex. ``dialect``: how the emulated Prometheus reads regexes."""
        if op not in MATCH_OPS:
            raise ValueError(f"unknown match operator {op!r}")
        regex = None
        if op in ("=~", "!~"):
            regex = goregex.compile_matcher(value, dialect)
        return Matcher(name, op, value, regex)

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` for an absent label) satisfies this matcher."""
        op = self.op
        if op == "=":
            return value == self.value
        if op == "!=":
            return value != self.value
        hit = self.regex.matches(value)
        return hit if op == "=~" else not hit

    def matches_empty(self) -> bool:
        return self.matches("")

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{_escape(self.value)}"'


def series_matches(labels: Labels, matchers: Iterable[Matcher]) -> bool:
    d = dict(labels)
    return all(m.matches(d.get(m.name, "")) for m in matchers)
