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
from mockprom.scenario.labels import METRIC_NAME, Matcher
from mockprom.scenario.samples import is_stale

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SelectorError(ValueError):
    """A ``match[]`` value that is not a series selector (answered 400, plain text)."""


# Tokens ``metric_identifier`` takes in 2.42's grammar besides plain identifiers: a metric
# may be named ``sum`` or ``offset``, not ``on`` or ``bool`` (token kinds of the lexer port).
_NAME_KEYWORDS = frozenset({"avg", "bottomk", "by", "count", "count_values", "group", "and", "or",
                            "unless", "max", "min", "offset", "quantile", "stddev", "stdvar",
                            "sum", "topk", "without", "start", "end"})
_GUARD = "__mockprom_federate_guard__"
# checkAST's verdicts on a vector selector, which ParseMetricSelector does not make
_QUERY_ONLY_CHECKS = ("at least one non-empty matcher", "metric name must not be set twice")


def parse_selector(text: str) -> tuple[Matcher, ...]:
    """The matchers of a series selector such as ``up{job="api"}``, as Prometheus 2.42's
    ``parser.ParseMetricSelector`` (which ``/federate`` uses) reads it: a metric name
    and/or one ``{...}`` block; raises ``SelectorError`` with 2.42's message
    (``1:5: parse error: unexpected "("``).

    Unlike a query (and ``/api/v1/series``), 2.42 runs no AST check here, so selectors
    matching the empty label set (``{job=""}``, ``{}``) are accepted. Tokens come from the
    PromQL parse adapter's port of 2.42's lexer and the matchers (and every error inside
    the braces) from the adapter itself."""
    from mockprom.promql import nodes
    from mockprom.promql.errors import PromQLError
    from mockprom.promql.parse import _Lexer, _describe, format_position, parse

    def fail(pos: int, message: str) -> SelectorError:
        return SelectorError(f"{format_position(text, pos)}: parse error: {message}")

    toks = _Lexer(text).tokens()

    def tok(i: int):
        t = toks[min(i, len(toks) - 1)]
        if t[0] == "ERROR":
            raise fail(t[1], t[2])
        return t

    def unexpected(t) -> SelectorError:
        return fail(t[1], f"unexpected {_describe(t)}")

    i, name = 0, None
    first = tok(0)
    if first[0] in ("IDENT", "METRIC_IDENT") or first[0] in _NAME_KEYWORDS:
        name, i = first, 1
    if tok(i)[0] != "{":
        if name is None or tok(i)[0] != "EOF":
            raise unexpected(tok(i))
        return (Matcher.of(METRIC_NAME, "=", name[2]),)

    # The braces: 2.42's grammar there is the query grammar, so the adapter parses them,
    # with a keyword name replaced by a plain one of the same length (positions hold).
    close = next((k for k in range(i + 1, len(toks)) if toks[k][0] in ("}", "ERROR", "EOF")), None)
    closed = close is not None and toks[close][0] == "}"
    cut = toks[close][1] + 1 if closed else len(text)
    stand_in = None
    if name is not None and name[0] not in ("IDENT", "METRIC_IDENT"):
        stand_in = "x" * len(name[2])
        sub = text[:name[1]] + stand_in + text[name[1] + len(name[2]):cut]
    else:
        sub = text[:cut]
    extra = ()
    try:
        expr = parse(sub)
    except PromQLError as err:
        if not closed or not any(check in err.message for check in _QUERY_ONLY_CHECKS):
            raise SelectorError(err.message) from None
        # 2.42 checks these of queries only: parse the braces alone again, with a matcher
        # that keeps them selective, and add the name back
        if name is not None:
            sub = text[:name[1]] + " " * len(name[2]) + text[name[1] + len(name[2]):cut]
            extra, stand_in = (Matcher.of(METRIC_NAME, "=", name[2]),), None
        brace = toks[i][1] + 1
        expr = parse(f"{sub[:brace]}{_GUARD}=\"1\",{sub[brace:]}")
    if not closed:  # the adapter found nothing wrong before the end: as 2.42's lexer ends
        raise fail(toks[close][1] if close is not None else len(text),
                   "unexpected end of input inside braces")
    if tok(close + 1)[0] != "EOF":
        raise unexpected(tok(close + 1))
    if not isinstance(expr, nodes.VectorSelector):  # pragma: no cover - the grammar above
        raise fail(0, f"unexpected {type(expr).__name__}")
    matchers = [m for m in expr.matchers if m.name != _GUARD] + list(extra)
    if stand_in is not None:
        k = next(k for k, m in enumerate(matchers)
                 if m.name == METRIC_NAME and m.op == "=" and m.value == stand_in)
        matchers[k] = Matcher.of(METRIC_NAME, "=", name[2])
    return tuple(matchers)


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
