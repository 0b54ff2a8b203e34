"""``/federate``: the latest sample of every selected series, in the text exposition format,
as Prometheus's ``web/federate.go`` writes it (2.42 and 3.5).

For each series matching any ``match[]`` selector: its newest sample in
``[now - lookback, now]`` (staleness markers dropped), families ordered by metric name,
each preceded by ``# TYPE <name> untyped`` (Prometheus federates without metadata), the
external label ``instance=""`` appended when the series has no instance, and the sample
timestamp in milliseconds. Values as Go's ``strconv`` ``'g'`` format. Native histograms
are federated in the protobuf formats only (``protoexposition``).

Prometheus 3 escapes names that are not legacy names with the scheme the client asks for
in its ``Accept`` header (``escaping=underscores``, the default, ``dots``, ``values`` or
``allow-utf-8``, see ``mockprom.nameescaping``); with ``allow-utf-8`` such names are
written in double quotes, the metric name then inside the braces
(``{"my.metric","a.b"="c"}``). ``negotiate`` reads the header as ``expfmt.Negotiate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from mockprom import versions
from mockprom.histograms import GAUGE_TYPE, FloatHistogram

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


PROTO_TYPE = "application/vnd.google.protobuf"
PROTO_CONTENT_TYPE = (PROTO_TYPE + "; proto=io.prometheus.client.MetricFamily; encoding=")
PROTO_ENCODINGS = ("delimited", "text", "compact-text")


@dataclass(frozen=True)
class Federation:
    """How the emulated version answers ``/federate``: whether names are escaped as the
    ``Accept`` header asks (3.x; the scheme is named in the Content-Type), and the style
    of its protobuf text format (``mockprom.ingest.protoexposition``)."""

    escaping: bool
    prototext: str


FEDERATION = versions.table("federation", {
    "2.42": Federation(escaping=False, prototext="v1"),
    "3.5": Federation(escaping=True, prototext="v2"),
})


def negotiate(accept: str, escaping: bool = True) -> tuple[str, str, str | None]:
    """``expfmt.Negotiate``: ``(content type, format, scheme)``; the format is ``text``
    or a protobuf encoding (``delimited``, ``text``, ``compact-text``, as
    ``proto-<encoding>``), the scheme the escaping asked for (``underscores`` unless a
    clause names a known one; None without ``escaping``, as 2.42)."""
    scheme = UNDERSCORES if escaping else None
    fmt = "text"
    for media, params in _accept_clauses(accept or ""):
        if escaping and params.get("escaping") in SCHEMES:
            scheme = params["escaping"]
        if (media == PROTO_TYPE and params.get("proto") == "io.prometheus.client.MetricFamily"
                and params.get("encoding") in PROTO_ENCODINGS):
            fmt = "proto-" + params["encoding"]
            break
        if media == "text/plain" and params.get("version", "") in ("", "0.0.4"):
            break
    ctype = CONTENT_TYPE if fmt == "text" else PROTO_CONTENT_TYPE + fmt[len("proto-"):]
    return (ctype + "; escaping=" + scheme if scheme else ctype), fmt, scheme


def _name(name: str) -> str:
    """``writeName``: a legacy name as it is, any other in double quotes."""
    return name if is_legacy_metric_name(name) else f'"{_escape(name)}"'


def latest_samples(store, matcher_sets: Sequence[Sequence[Matcher]], now_ms: int,
                   lookback_ms: int, scheme: str | None = None,
                   histograms: bool = False) -> list:
    """The federated families: ``[(name, [(label pairs, t_ms, value), ...]), ...]`` in
    metric name order, each series' newest sample in the lookback window (stale ones
    left out), ``instance=""`` added where missing; names escaped with ``scheme``.

    With ``histograms`` (the protobuf formats) a native histogram sample is a value too
    (a ``FloatHistogram``), and a family ends where the kind of sample changes (float,
    histogram, gauge histogram), as ``web/federate.go`` cuts them; without, native
    histograms are left out, as the text format cannot carry them."""
    mint = now_ms - lookback_ms
    found = {}
    for matchers in matcher_sets:
        if not matchers:
            continue  # ``{}``: the TSDB selects nothing without a matcher
        for sd in store.select(matchers, mint, now_ms, histograms=histograms):
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
    families: list = []
    last = None
    for name, labels, t, v in latest:
        pairs = [(k, val) for k, val in labels if k != METRIC_NAME]
        if not any(k == "instance" for k, _ in labels):
            pairs.append(("instance", ""))
        if scheme is not None:
            name = escape_name(name, scheme)
            pairs = [(escape_name(k, scheme), val) for k, val in pairs]
        key = (name, sample_kind(v))
        if key != last:
            families.append((name, []))
            last = key
        families[-1][1].append((pairs, t, v))
    return families


def sample_kind(value) -> str:
    """``untyped`` (a float), ``histogram`` or ``gauge_histogram``."""
    if not isinstance(value, FloatHistogram):
        return "untyped"
    return "gauge_histogram" if value.counter_reset_hint == GAUGE_TYPE else "histogram"


def text_format(families, quoting: bool) -> str:
    """The text exposition format 0.0.4; ``quoting``: names that are not legacy ones in
    double quotes (3.x, ``allow-utf-8``), the metric name then inside the braces."""
    out = []
    for name, metrics in families:
        out.append(f"# TYPE {_name(name) if quoting else name} untyped\n")
        for pairs, t, v in metrics:
            if quoting:
                head = name if is_legacy_metric_name(name) else ""
                text_pairs = [f'{_name(k)}="{_escape(val)}"' for k, val in pairs]
                if not head:
                    text_pairs.insert(0, _name(name))
            else:
                head = name
                text_pairs = [f'{k}="{_escape(val)}"' for k, val in pairs]
            out.append(f"{head}{{{','.join(text_pairs)}}} {format_value(v)} {t}\n")
    return "".join(out)


def federate(store, matcher_sets: Sequence[Sequence[Matcher]], now_ms: int,
             lookback_ms: int, scheme: str | None = None) -> str:
    """The text federation body for ``matcher_sets`` at ``now_ms``; ``scheme`` escapes
    names as Prometheus 3 does (None: 2.42, names written as they are)."""
    families = latest_samples(store, matcher_sets, now_ms, lookback_ms, scheme)
    return text_format(families, quoting=scheme is not None)


def federation_answer(store, matcher_sets, now_ms: int, lookback_ms: int, accept: str,
                      emulation) -> tuple[bytes, str]:
    """The body and Content-Type of ``/federate`` for the ``Accept`` header, as the
    emulated version negotiates and writes them."""
    from mockprom.ingest import protoexposition

    style = FEDERATION[emulation]
    ctype, fmt, scheme = negotiate(accept, style.escaping)
    families = latest_samples(store, matcher_sets, now_ms, lookback_ms, scheme,
                              histograms=fmt != "text")
    if fmt == "text":
        return text_format(families, quoting=scheme is not None).encode("utf-8"), ctype
    if fmt == "proto-delimited":
        return protoexposition.delimited(families), ctype
    return protoexposition.text(families, style.prototext, fmt == "proto-compact-text"), ctype
