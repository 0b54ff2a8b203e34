"""Label sets and label matchers, shared by the store, the PromQL engine and the API.

A label set is a ``Labels``: a tuple of ``(name, value)`` pairs sorted by name, with no
empty values (Prometheus drops labels whose value is empty). It is hashable, ordered and
cheap to compare, so it serves as a series identity everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

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
    """A label matcher. Regexes are fully anchored, as Prometheus anchors them."""

    name: str
    op: str  # one of MATCH_OPS
    value: str
    regex: re.Pattern | None = field(default=None, compare=False, hash=False, repr=False)

    @staticmethod
    def of(name: str, op: str, value: str) -> "Matcher":
        """Build a matcher; raises ``re.error`` for an invalid regex."""
        if op not in MATCH_OPS:
            raise ValueError(f"unknown match operator {op!r}")
        regex = None
        if op in ("=~", "!~"):
            regex = compile_go_regex(value)
        return Matcher(name, op, value, regex)

    def matches(self, value: str) -> bool:
        """Whether a label value (``""`` for an absent label) satisfies this matcher."""
        op = self.op
        if op == "=":
            return value == self.value
        if op == "!=":
            return value != self.value
        hit = self.regex.fullmatch(value) is not None
        return hit if op == "=~" else not hit

    def matches_empty(self) -> bool:
        return self.matches("")

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{_escape(self.value)}"'


def compile_go_regex(pattern: str) -> re.Pattern:
    """Compile an RE2 pattern as Go's regexp would read it (Prometheus 2.42): ``.`` does
    not match a newline, ``\\d``/``\\w``/``\\s`` are ASCII classes. Callers anchor with
    ``fullmatch``. Raises ``re.error`` when Python cannot compile it."""
    return re.compile(convert_go_regex(pattern), re.ASCII)


def convert_go_regex(pattern: str) -> str:
    """Translate the few RE2 constructs Python spells differently (named groups ``(?P<x>``
    are the same; ``\\z`` is Python's ``\\Z``; inline flags ``(?i)`` anywhere become
    scoped groups ``(?i:...)``, as Python only allows global flags at the start)."""
    return _scope_inline_flags(pattern.replace("\\z", "\\Z"))


_INLINE_FLAGS = re.compile(r"\(\?([imsU]*(?:-[imsU]*)?)\)")


def _scope_inline_flags(p: str) -> str:
    """RE2 inline flags ``(?i)`` hold until the end of the enclosing group (across ``|``);
    rewrite each as ``(?i:`` closed where that scope ends."""
    if "(?" not in p:
        return p
    out = []
    stack = [[]]  # per open group: the flag scopes opened inside it
    i, n, in_class = 0, len(p), False
    while i < n:
        c = p[i]
        if c == "\\":
            out.append(p[i:i + 2])
            i += 2
            continue
        if in_class:
            out.append(c)
            in_class = c != "]"
            i += 1
            continue
        if c == "[":
            j = i + 1
            if j < n and p[j] == "^":
                j += 1
            if j < n and p[j] == "]":
                j += 1
            out.append(p[i:j])
            in_class = True
            i = j
            continue
        if c == "(":
            m = _INLINE_FLAGS.match(p, i)
            if m:
                flags = m.group(1).replace("U", "")
                if flags.endswith("-"):
                    flags = flags[:-1]
                stack[-1].append(flags)
                out.append(f"(?{flags}:")
                i = m.end()
                continue
            stack.append([])
            out.append(c)
            i += 1
            continue
        if c == ")" and len(stack) > 1:
            out.append(")" * len(stack.pop()) + ")")
            i += 1
            continue
        if c == "|" and stack[-1]:
            scopes = stack[-1]
            out.append(")" * len(scopes) + "|" + "".join(f"(?{f}:" for f in scopes))
            i += 1
            continue
        out.append(c)
        i += 1
    out.append(")" * len(stack[0]))
    return "".join(out)


def series_matches(labels: Labels, matchers: Iterable[Matcher]) -> bool:
    d = dict(labels)
    return all(m.matches(d.get(m.name, "")) for m in matchers)
