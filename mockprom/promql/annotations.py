"""PromQL annotations (``warnings`` and ``infos``) worded as Prometheus 3.5's
``util/annotations/annotations.go`` words them, and their API form.

The engine collects ``Annotation``s on the query's ``EvalContext`` (``ctx.warn`` /
``ctx.info``; lines whose ``EvalRules.annotations`` is off collect none). The API prints
each with the position of the node it is about, ``... (1:6)`` (``AsStrings``), at most
ten of each kind, then ``N more warning annotations omitted``.
"""

from __future__ import annotations

from typing import Iterable, Optional

from mockprom.gofloat import format_g
from mockprom.gostr import go_quote as _q

WARNING = "PromQL warning: "
INFO = "PromQL info: "
MAX_PER_KIND = 10  # the API's AsStrings(query, 10, 10)


def _for_metric(text: str, metric_name: str) -> str:
    """Prometheus 3.5 names the metric even when it has none (``for metric name ""``)."""
    return f"{text} for metric name {_q(metric_name)}"


# -- warnings -----------------------------------------------------------------------------

def invalid_quantile(q: float) -> str:
    return f"{WARNING}quantile value should be between 0 and 1, got {format_g(q)}"


def invalid_ratio(ratio: float, capped: float) -> str:
    return (f"{WARNING}ratio value should be between -1 and 1, got {format_g(ratio)}, "
            f"capping to {format_g(capped)}")


def bad_bucket_label(metric_name: str, label: str) -> str:
    return _for_metric(f'{WARNING}bucket label "le" is missing or has a malformed value '
                       f'of {_q(label)}', metric_name)


def mixed_floats_histograms(metric_name: str) -> str:
    return (f"{WARNING}encountered a mix of histograms and floats for metric name "
            f"{_q(metric_name)}")


# -- infos --------------------------------------------------------------------------------

def possible_non_counter(metric_name: str) -> str:
    return (f"{INFO}metric might not be a counter, name does not end in "
            f"_total/_sum/_count/_bucket: {_q(metric_name)}")


def possible_non_counter_label(metric_name: str, type_label: str) -> str:
    return (f'{INFO}metric might not be a counter, __type__ label is not set to "counter", '
            f'got {_q(type_label)}: {_q(metric_name)}')


def histogram_quantile_forced_monotonicity(metric_name: str) -> str:
    return _for_metric(f"{INFO}input to histogram_quantile needed to be fixed for "
                       "monotonicity (see https://prometheus.io/docs/prometheus/latest/"
                       "querying/functions/#histogram_quantile)", metric_name)


def arg_pos(call, i: int):
    """The position of argument ``i`` of a ``Call`` node (None when unknown). A subquery
    argument has none left: Prometheus evaluates it and puts a matrix selector without
    a position in its place, so what is about it shows at ``1:1``."""
    from mockprom.promql import nodes

    args = getattr(call, "args", ())
    if i >= len(args):
        return None
    a = args[i]
    while isinstance(a, nodes.ParenExpr):
        a = a.expr
    if isinstance(a, nodes.SubqueryExpr):
        return (0, 0)
    return getattr(args[i], "pos", None)


# -- the API form -------------------------------------------------------------------------

def position_text(query: str, start: int) -> str:
    """``PositionRange.StartPosInput``: ``line:column`` (1-based; the column counts
    bytes) of byte offset ``start`` in ``query``."""
    raw = query.encode("utf-8")
    if start > len(raw):
        return "unknown position"
    before = raw[:start]
    line = before.count(b"\n") + 1
    last_break = before.rfind(b"\n")
    return f"{line}:{start - last_break}"


def as_strings(annotations: Iterable, query: Optional[str], kind: str,
               limit: int = MAX_PER_KIND) -> list[str]:
    """The API texts of one ``kind`` (``"warning"`` or ``"info"``) of annotations: with
    ``(line:column)`` when the query text and the node's position are known; at most
    ``limit`` (0: all), then ``N more <kind> annotations omitted``."""
    out, skipped = [], 0
    for a in annotations:
        if limit and len(out) >= limit:
            skipped += 1
            continue
        text = a.message
        if query and a.pos is not None:
            text = f"{text} ({position_text(query, a.pos[0])})"
        out.append(text)
    if skipped:
        out.append(f"{skipped} more {kind} annotations omitted")
    return out
