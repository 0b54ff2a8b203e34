"""``/federate``: the latest sample of every selected series, in the text exposition format,
as Prometheus's ``web/federate.go`` writes it (2.42 and 3.5).

For each series matching any ``match[]`` selector: its newest sample in
``[now - lookback, now]`` (staleness markers dropped), families ordered by metric name,
each preceded by ``# TYPE <name> untyped`` (Prometheus federates without metadata), the
external label ``instance=""`` appended when the series has no instance, and the sample
timestamp in milliseconds. Values as Go's ``strconv`` ``'g'`` format.

Prometheus 3 escapes names that are not legacy names with the scheme the client asks for
in its ``Accept`` header (``escaping=underscores``, the default, ``dots``, ``values`` or
``allow-utf-8``, see ``mockprom.nameescaping``); with ``allow-utf-8`` such names are
written in double quotes, the metric name then inside the braces
(``{"my.metric","a.b"="c"}``). ``negotiate`` reads the header as ``expfmt.Negotiate``.
"""

from __future__ import annotations

from typing import Sequence

from mockprom.ingest.gofloat import format_go_g
from mockprom.nameescaping import SCHEMES, UNDERSCORES, escape_name, is_legacy_metric_name
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


def _accept_clauses(header: str) -> list[tuple[str, dict]]:
    """The media ranges of an Accept header with their parameters, best first (by
    quality, then specificity, as goautoneg sorts them)."""
    clauses = []
    for i, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        params = {}
        for f in fields[1:]:
            k, sep, v = f.partition("=")
            if sep:
                params[k.strip().lower()] = v.strip()
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 0.0
        wild = media.count("*")
        clauses.append(((-q, wild, -len(params), i), media, params))
    return [(media, params) for _, media, params in sorted(clauses)]


def negotiate(accept: str) -> tuple[str, str]:
    """``expfmt.Negotiate`` of Prometheus 3 for the text format: the content type and the
    escaping scheme (``underscores`` unless a clause asks for a known one)."""
    scheme = UNDERSCORES
    for media, params in _accept_clauses(accept or ""):
        if params.get("escaping") in SCHEMES:
            scheme = params["escaping"]
        if media == "text/plain" and params.get("version", "") in ("", "0.0.4"):
            break
    return CONTENT_TYPE + "; escaping=" + scheme, scheme


def _name(name: str) -> str:
    """``writeName``: a legacy name as it is, any other in double quotes."""
    return name if is_legacy_metric_name(name) else f'"{_escape(name)}"'


def federate(store, matcher_sets: Sequence[Sequence[Matcher]], now_ms: int,
             lookback_ms: int, scheme: str | None = None) -> str:
    """The federation body for ``matcher_sets`` at ``now_ms``; ``scheme`` escapes names
    as Prometheus 3 does (None: 2.42, names written as they are)."""
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
        pairs = [(k, val) for k, val in labels if k != METRIC_NAME]
        if not any(k == "instance" for k, _ in labels):
            pairs.append(("instance", ""))
        if scheme is None:
            head = name
            text_pairs = [f'{k}="{_escape(val)}"' for k, val in pairs]
        else:
            name = escape_name(name, scheme)
            head = name if is_legacy_metric_name(name) else ""
            text_pairs = [f'{_name(escape_name(k, scheme))}="{_escape(val)}"' for k, val in pairs]
            if not head:
                text_pairs.insert(0, _name(name))
        if name != last_name:
            out.append(f"# TYPE {name if scheme is None else _name(name)} untyped\n")
            last_name = name
        out.append(f"{head}{{{','.join(text_pairs)}}} {format_value(v)} {t}\n")
    return "".join(out)
