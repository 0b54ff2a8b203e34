"""``/federate``: the latest sample of every selected series, in the text exposition format,
as Prometheus 2.42's ``web/federate.go`` writes it.

For each series matching any ``match[]`` selector: its newest sample in
``[now - lookback, now]`` (staleness markers dropped), families ordered by metric name,
each preceded by ``# TYPE <name> untyped`` (2.42 federates without metadata), the
external label ``instance=""`` appended when the series has no instance, and the sample
timestamp in milliseconds. Values as Go's ``strconv`` ``'g'`` format.
"""

from __future__ import annotations

from typing import Sequence

from mockprom.ingest.gofloat import format_go_g
from mockprom.promql.errors import ParseError
from mockprom.promql.parse import parse_metric_selector
from mockprom.scenario.labels import METRIC_NAME, Matcher
from mockprom.scenario.samples import is_stale

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SelectorError(ValueError):
    """A ``match[]`` value that is not a series selector (answered 400, plain text)."""


def parse_selector(text: str, emulation=None) -> tuple[Matcher, ...]:
    """The matchers of a series selector such as ``up{job="api"}``, as Prometheus 2.42's
    ``parser.ParseMetricSelector`` (which ``/federate`` uses) reads it; raises
    ``SelectorError`` with 2.42's message (``1:5: parse error: unexpected "("``).

    Unlike ``/api/v1/series``, ``/federate`` runs no non-empty check on the result, so
    selectors matching the empty label set (``{job=""}``, ``{}``) are accepted."""
    try:
        return parse_metric_selector(text, emulation)
    except ParseError as err:
        raise SelectorError(err.message) from None


def format_value(v: float) -> str:
    """Go expfmt's ``writeFloat``."""
    if v == 0:
        return "0"
    return format_go_g(v)


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def federate(store, matcher_sets: Sequence[Sequence[Matcher]], now_ms: int,
             lookback_ms: int) -> str:
    """The federation body for ``matcher_sets`` at ``now_ms``."""
    mint = now_ms - lookback_ms
    found = {}
    for matchers in matcher_sets:
        if not matchers:
            continue  # ``{}``: the TSDB selects nothing without a matcher
        for sd in store.select(matchers, mint, now_ms):
            if sd.labels not in found and len(sd.ts):
                found[sd.labels] = sd
    latest = []
    for labels in sorted(found):
        sd = found[labels]
        t, v = int(sd.ts[-1]), float(sd.vals[-1])
        if is_stale(v):
            continue
        name = dict(labels).get(METRIC_NAME, "")
        if not name:
            continue  # Prometheus ignores nameless metrics
        latest.append((name, labels, t, v))
    latest.sort(key=lambda x: x[0])  # stable: by name, then labels
    out = []
    last_name = None
    for name, labels, t, v in latest:
        if name != last_name:
            out.append(f"# TYPE {name} untyped\n")
            last_name = name
        pairs = [f'{k}="{_escape(val)}"' for k, val in labels if k != METRIC_NAME]
        if not any(k == "instance" for k, _ in labels):
            pairs.append('instance=""')
        out.append(f"{name}{{{','.join(pairs)}}} {format_value(v)} {t}\n")
    return "".join(out)
