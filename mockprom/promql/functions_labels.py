"""Label functions (``label_replace``, ``label_join``, ``sort_by_label``/``_desc``) and
``absent``/``absent_over_time``.

These keep the metric name. Errors use Prometheus 2.42's wording and are evaluation
errors (422), raised as soon as the function is evaluated, whatever the data.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from mockprom.promql import nodes as n
from mockprom.promql.errors import EvalError
from mockprom.promql.functions import register
from mockprom.promql.series import valid_label_name
from mockprom.promql.steps import StepSeries
from mockprom import goregex
from mockprom.promql.syntax.golang import valid_utf8
from mockprom.promql.syntax.rows import SYNTAX
from mockprom.scenario.labels import METRIC_NAME, Labels, make_labels



def set_label(labels: Labels, name: str, value: str) -> Labels:
    """``labels.Builder`` semantics: an empty value deletes the label."""
    d = dict(labels)
    if value == "":
        d.pop(name, None)
    else:
        d[name] = value
    return make_labels(d)


# -- Go's regexp.Expand ---------------------------------------------------------------

def _extract(template: str):
    """Go's ``extract``: the name (or number) after a ``$``; None when malformed."""
    if not template:
        return None
    brace = template[0] == "{"
    s = template[1:] if brace else template
    i = 0
    while i < len(s) and (s[i].isalnum() or s[i] == "_"):
        i += 1
    if i == 0:
        return None
    name = s[:i]
    if brace:
        if i >= len(s) or s[i] != "}":
            return None
        i += 1
    num = 0
    for ch in name:
        if not ("0" <= ch <= "9") or num >= 100_000_000:
            num = -1
            break
        num = num * 10 + ord(ch) - ord("0")
    if name[0] == "0" and len(name) > 1:
        num = -1
    return name, num, s[i:]


def go_expand(template: str, match: goregex.Match) -> str:
    """Expand ``$1``, ``${1}``, ``$name``, ``${name}`` and ``$$`` as Go does: an unknown
    or unmatched group expands to nothing, a malformed reference stays literal."""
    out = []
    groups = match.re.groupindex
    while template:
        before, sep, after = template.partition("$")
        if not sep:
            break
        out.append(before)
        template = after
        if template.startswith("$"):
            out.append("$")
            template = template[1:]
            continue
        ext = _extract(template)
        if ext is None:
            out.append("$")
            continue
        name, num, template = ext
        if num >= 0:
            if num <= match.re.groups and match.group(num) is not None:
                out.append(match.group(num))
        elif name in groups and match.group(name) is not None:
            out.append(match.group(name))
    out.append(template)
    return "".join(out)


@register("label_replace", ("vector", "string", "string", "string", "string"))
def label_replace(ctx, args, call):
    vec, dst, repl, src, regex = args
    try:  # Prometheus 3 compiles "^(?s:" + regex + ")$": "." matches a newline
        compiled = goregex.label_replace_regex(regex, SYNTAX[ctx.emulation].regex)
    except goregex.RegexError:
        raise EvalError(f"invalid regular expression in label_replace(): {regex}") from None
    if not valid_label_name(dst, ctx.emulation):
        raise EvalError(f"invalid destination label name in label_replace(): {dst}")
    out = []
    for s in vec:
        m = compiled.submatch(dict(s.labels).get(src, ""))
        labels = s.labels
        if m is not None:
            # Prometheus 3 writes such bytes raw into JSON; mockprom keeps its JSON valid
            labels = set_label(labels, dst, valid_utf8(go_expand(repl, m)))
        out.append(StepSeries(labels, s.vals, s.present, None, False,
                              s.name_pending and not (m is not None and dst == METRIC_NAME),
                              s.hists))
    return out


@register("label_join", ("vector", "string", "string", "string"), variadic=True)
def label_join(ctx, args, call):
    vec, dst, sep = args[0], args[1], args[2]
    srcs = list(args[3:])
    for src in srcs:
        if not valid_label_name(src, ctx.emulation):
            raise EvalError(f"invalid source label name in label_join(): {src}")
    if not valid_label_name(dst, ctx.emulation):
        raise EvalError(f"invalid destination label name in label_join(): {dst}")
    out = []
    for s in vec:
        d = dict(s.labels)
        joined = valid_utf8(sep.join(d.get(src, "") for src in srcs))
        out.append(StepSeries(set_label(s.labels, dst, joined), s.vals, s.present, None,
                              False, s.name_pending and dst != METRIC_NAME, s.hists))
    return out


# -- absent ---------------------------------------------------------------------------

def absent_labels(arg) -> Labels:
    """The labels ``absent`` reports: those fixed by exactly one equality matcher of a
    plain selector argument (Prometheus's ``createLabelsForAbsentFunction``)."""
    while isinstance(arg, n.ParenExpr):
        arg = arg.expr
    if isinstance(arg, n.MatrixSelector):
        arg = arg.selector
    if not isinstance(arg, n.VectorSelector):
        return ()
    found: dict[str, str] = {}
    dropped = []
    for m in arg.matchers:
        if m.name == METRIC_NAME:
            continue
        if m.op == "=" and m.name not in found:
            if m.value != "":
                found[m.name] = m.value
        else:
            dropped.append(m.name)
    for name in dropped:
        found.pop(name, None)
    return make_labels(found)


def _absent_where(ctx, covered: np.ndarray, call) -> list[StepSeries]:
    missing = ~covered
    if not missing.any():
        return []
    labels = absent_labels(call.args[0]) if call.args else ()
    return [StepSeries(labels, np.ones(ctx.n), missing)]


@register("absent", ("vector",))
def absent(ctx, args, call):
    covered = np.zeros(ctx.n, dtype=bool)
    for s in args[0]:
        covered |= s.present
    return _absent_where(ctx, covered, call)


@register("absent_over_time", ("matrix",))
def absent_over_time(ctx, args, call):
    covered = np.zeros(ctx.n, dtype=bool)
    for rs in args[0]:
        covered |= rs.hi > rs.lo
    return _absent_where(ctx, covered, call)


# -- sort_by_label ----------------------------------------------------------------------

def _digit_run(s: bytes, pos: int):
    """natsort's numeric mode: skip leading zeros (moving ``pos``), then the length of
    the run of digits; returns ``(pos, length)``."""
    lead, n = s[pos], 1
    while pos + n < len(s):
        c = s[pos + n]
        if lead == 48:
            pos += 1
            lead = c
            continue
        if 48 <= c <= 57:
            n += 1
        else:
            break
    return pos, n


def natural_less(a: str, b: str) -> bool:
    """``github.com/facette/natsort.Compare``: does ``a`` come before ``b`` in natural
    order (runs of digits compared as numbers, leading zeros skipped; bytes otherwise)?"""
    x, y = a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    la, lb = len(x), len(y)
    pa = pb = 0
    while True:
        if la <= pa:
            return lb > pb
        if lb <= pb:
            return False
        av, bv = x[pa], y[pb]
        if 48 <= av <= 57 and 48 <= bv <= 57:
            pa, na = _digit_run(x, pa)
            pb, nb = _digit_run(y, pb)
            if nb != na:
                return nb > na
            da, db = x[pa:pa + na], y[pb:pb + nb]
            if da != db:
                return da < db
            pa += na
            pb += nb
            continue
        if av == bv:
            pa += 1
            pb += 1
            continue
        return av < bv


def _by_labels(series: list, names, descending: bool) -> list:
    """``sort_by_label(_desc)``: natural order of the given labels' values, then of the
    whole label sets (``labels.Compare``)."""
    sign = -1 if descending else 1

    def cmp(a, b):
        da, db = dict(a.labels), dict(b.labels)
        for name in names:
            va, vb = da.get(name, ""), db.get(name, "")
            if va == vb:
                continue
            return -sign if natural_less(va, vb) else sign
        return sign * ((a.labels > b.labels) - (a.labels < b.labels))

    return [StepSeries(s.labels, s.vals, s.present, None, False, s.name_pending, s.hists)
            for s in sorted(series, key=functools.cmp_to_key(cmp))]


@register("sort_by_label", ("vector", "string"), variadic=True)
def sort_by_label(ctx, args, call):
    return _by_labels(args[0], args[1:], descending=False)


@register("sort_by_label_desc", ("vector", "string"), variadic=True)
def sort_by_label_desc(ctx, args, call):
    return _by_labels(args[0], args[1:], descending=True)
