"""``/federate``: the latest sample of every selected series, in the text exposition format,
as Prometheus's ``web/federate.go`` writes it (2.42 and 3.5).

For each series matching any ``match[]`` selector: its newest sample in
``[now - lookback, now]`` (staleness markers dropped), families ordered by metric name,
each preceded by ``# TYPE <name> untyped`` (Prometheus federates without metadata), the
external label ``instance=""`` appended when the series has no instance, and the sample
timestamp in milliseconds. Values as Go's ``strconv`` ``'g'`` format.

Native histograms are only federated in the protobuf format (``protoexpo``), which a
scraper gets by asking for it in its ``Accept`` header; the text format leaves them out.

Prometheus 3 escapes names that are not legacy names with the scheme the client asks for
in its ``Accept`` header (``escaping=underscores``, the default, ``dots``, ``values`` or
``allow-utf-8``, see ``mockprom.nameescaping``); with ``allow-utf-8`` such names are
written in double quotes, the metric name then inside the braces
(``{"my.metric","a.b"="c"}``). ``negotiate`` reads the header as ``expfmt.Negotiate``.
"""

from __future__ import annotations

from typing import Sequence

from mockprom.histograms import FloatHistogram
from mockprom.ingest import protoexpo
from mockprom.ingest.gofloat import format_go_g
from mockprom.nameescaping import ALLOW_UTF8, SCHEMES, UNDERSCORES, escape_name, is_legacy_metric_name
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


def negotiate(accept: str, escaping: bool = True) -> tuple[str, str, str]:
    """``expfmt.Negotiate``: the content type, the format (``text`` or ``delimited``,
    protobuf) and, with ``escaping`` (Prometheus 3), the escaping scheme
    (``underscores`` unless a clause asks for a known one; None without)."""
    scheme = UNDERSCORES
    fmt, content_type = "text", CONTENT_TYPE
    for media, params in _accept_clauses(accept or ""):
        if params.get("escaping") in SCHEMES:
            scheme = params["escaping"]
        if (media == protoexpo.MEDIA and params.get("proto") == protoexpo.PROTOCOL
                and params.get("encoding") == "delimited"):
            fmt, content_type = "delimited", protoexpo.CONTENT_TYPE
            break
        if media == "text/plain" and params.get("version", "") in ("", "0.0.4"):
            break
    if not escaping:
        return content_type, fmt, None
    return content_type + "; escaping=" + scheme, fmt, scheme


def _name(name: str) -> str:
    """``writeName``: a legacy name as it is, any other in double quotes."""
    return name if is_legacy_metric_name(name) else f'"{_escape(name)}"'


def latest_samples(store, matcher_sets: Sequence[Sequence[Matcher]], now_ms: int,
                   lookback_ms: int) -> list[tuple]:
    """``(name, labels, t_ms, value)`` of the newest sample of every selected series in
    ``[now - lookback, now]``, ordered by name (then labels); ``value`` is a float or a
    ``FloatHistogram``. Staleness markers and nameless series are left out."""
    mint = now_ms - lookback_ms
    found = {}
    for matchers in matcher_sets:
        if not matchers:
            continue  # ``{}``: the TSDB selects nothing without a matcher
        for sd in store.select(matchers, mint, now_ms, histograms=True):
            if sd.labels not in found and len(sd.ts):
                found[sd.labels] = sd
    latest = []
    for labels in sorted(found):
        sd = found[labels]
        t, v = int(sd.ts[-1]), float(sd.vals[-1])
        h = sd.hists[len(sd.ts) - 1] if sd.hists is not None else None
        if h is None and is_stale(v):
            continue
        name = dict(labels).get(METRIC_NAME, "")
        if not name:
            continue  # Prometheus ignores nameless metrics
        latest.append((name, labels, t, v if h is None else h))
    latest.sort(key=lambda x: x[0])  # stable: by name, then labels
    return latest


def _pairs(labels) -> list:
    pairs = [(k, val) for k, val in labels if k != METRIC_NAME]
    if not any(k == "instance" for k, _ in labels):
        pairs.append(("instance", ""))
    return pairs


def federate(store, matcher_sets: Sequence[Sequence[Matcher]], now_ms: int,
             lookback_ms: int, scheme: str | None = None, fmt: str = "text"):
    """The federation body for ``matcher_sets`` at ``now_ms`` in ``fmt`` (``text``: a
    str; ``delimited``: protobuf bytes); ``scheme`` escapes names as Prometheus 3 does
    (None: 2.42, names written as they are)."""
    latest = latest_samples(store, matcher_sets, now_ms, lookback_ms)
    if fmt == "delimited":
        return _protobuf(latest, scheme)
    out = []
    last_name = None
    for name, labels, t, v in latest:
        if isinstance(v, FloatHistogram):
            continue  # the text format cannot carry native histograms
        pairs = _pairs(labels)
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


def _protobuf(latest: list, scheme) -> bytes:
    """Families as ``web/federate.go`` cuts them: a new one whenever the name, the kind
    of sample (float or histogram) or the kind of histogram (counter or gauge) changes."""
    out = []
    family = None  # (name, type, [metric bytes])
    for name, labels, t, v in latest:
        if scheme is not None:
            name = escape_name(name, scheme)
        mtype = protoexpo.family_type(v)
        if family is None or family[0] != name or family[1] != mtype:
            if family is not None:
                out.append(protoexpo.encode_family(*family))
            family = (name, mtype, [])
        pairs = _pairs(labels)
        if scheme is not None:
            pairs = [(escape_name(k, scheme), val) for k, val in pairs]
        family[2].append(protoexpo.encode_metric(pairs, t, v))
    if family is not None:
        out.append(protoexpo.encode_family(*family))
    return b"".join(out)
