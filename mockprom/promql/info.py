"""``info(v [, {data label selector}])`` (Prometheus 3, experimental; ``promql/info.go``):
every series of ``v`` gains the data labels of the info series that share its
identifying labels (``instance`` and ``job``) at each step: ``target_info`` unless the
selector names other info metrics by ``__name__``. With data label matchers, only those
labels are added, and a series no info series matches is dropped unless every matcher
matches the empty string. Series that are themselves info series pass unchanged.
"""

from __future__ import annotations

import numpy as np

from mockprom.promql import nodes as n
from mockprom.promql.errors import EvalError
from mockprom.promql.functions import register
from mockprom.promql.selectors import _select, reference_times
from mockprom.promql.series import DUPLICATE_LABELSET
from mockprom.promql.steps import StepSeries
from mockprom.scenario.labels import METRIC_NAME, Matcher, format_labels, make_labels
from mockprom.scenario.samples import stale_mask

TARGET_INFO = "target_info"
IDENTIFYING_LABELS = ("instance", "job")
_META = set("\\.+*?()|[]{}^$")


def quote_meta(s: str) -> str:
    """Go's ``regexp.QuoteMeta``."""
    return "".join("\\" + c if c in _META else c for c in s)


def _first_selector(expr):
    """The first vector selector of ``expr`` in Prometheus's ``Inspect`` order."""
    todo = [expr]
    while todo:
        node = todo.pop(0)
        if isinstance(node, n.VectorSelector):
            return node
        if isinstance(node, n.MatrixSelector):
            return node.selector
        kids = []
        for name in ("expr", "param", "lhs", "rhs"):
            kid = getattr(node, name, None)
            if kid is not None:
                kids.append(kid)
        kids.extend(getattr(node, "args", ()) or ())
        todo = kids + todo
    return None


def _info_samples(evaluator, ctx, base_expr, matchers):
    """The info series at every step (``evalSeries`` with the sample's own timestamp as
    value), loaded from the range Prometheus's select hints give."""
    vs = _first_selector(base_expr)
    start, end = int(ctx.start_ms), int(ctx.end_ms)
    offset = 0
    if vs is not None:
        at = reference_times(ctx, 0, vs.at_ms, vs.at_edge)
        if vs.at_ms is not None or vs.at_edge is not None:
            start = end = int(at[0])
        offset = vs.offset_ms
    mint = start - (ctx.lookback_ms - 1) - offset
    maxt = end - offset
    steps = ctx.steps.astype(np.int64)
    window_start = steps - np.int64(ctx.lookback_ms)
    out = []
    for sd in _select(evaluator.store, matchers, mint, maxt):
        ts, vals = sd.ts, sd.vals
        idx = np.searchsorted(ts, steps, side="right") - 1
        found = idx >= 0
        idx = np.maximum(idx, 0)
        t = ts[idx]
        inside = (t > window_start) if ctx.rules.left_open else (t >= window_start)
        present = found & inside & ~stale_mask(vals[idx])
        if present.any():
            out.append((sd.labels, t, present))
    return out


def _matches_all(matchers, value: str) -> bool:
    return all(m.matches(value) for m in matchers)


@register("info", ("vector", "vector"), optional_args=1, raw_args=(1,), uses_storage=True)
def info(ctx, args, call, evaluator) -> list[StepSeries]:
    """``evalInfo`` for every step at once (a Python loop over the steps); the data
    label selector is not evaluated (``raw_args``)."""
    base = args[0]
    data: dict = {}
    name_matchers = []
    if len(call.args) > 1:
        for m in call.args[1].matchers:
            data.setdefault(m.name, []).append(m)
            if m.name == METRIC_NAME:
                name_matchers.append(m)
    else:
        name_matchers = [Matcher.of(METRIC_NAME, "=", TARGET_INFO)]
    ignore = {i for i, s in enumerate(base)
              if name_matchers and _matches_all(name_matchers, dict(s.labels).get(METRIC_NAME, ""))}
    id_values: dict = {}
    for i, s in enumerate(base):
        if i in ignore:
            continue
        d = dict(s.labels)
        for label in IDENTIFYING_LABELS:
            if d.get(label, ""):
                id_values.setdefault(label, set()).add(d[label])
    all_data = [m for ms in data.values() for m in ms]
    data = {k: [m for m in ms if m.name != METRIC_NAME] for k, ms in data.items()}
    data = {k: ms for k, ms in data.items() if ms}
    info = []
    if id_values:
        matchers = [Matcher.of(label, "=~", "|".join(quote_meta(v) for v in sorted(vals)))
                    for label, vals in id_values.items()] + all_data
        if not any(m.name == METRIC_NAME for m in all_data):
            matchers = [Matcher.of(METRIC_NAME, "=", TARGET_INFO)] + matchers
        info = _info_samples(evaluator, ctx, call.args[0], matchers)
    if evaluator.record is not None:  # the info matrix, for the query's sample statistics
        evaluator.record[("info", id(call))] = [present for _, _, present in info]
    names = sorted({dict(labels)[METRIC_NAME] for labels, _, _ in info})

    def sig(labels, name):
        d = dict(labels)
        return (name,) + tuple((label, d[label]) for label in IDENTIFYING_LABELS
                               if label in d)

    out: dict = {}
    order: list = []
    for step in range(ctx.n):
        evaluator.check_timeout()
        chosen: dict = {}
        for labels, t, present in info:
            if not present[step]:
                continue
            key = sig(labels, dict(labels)[METRIC_NAME])
            prev = chosen.get(key)
            if prev is None or int(prev[1]) < int(t[step]):
                chosen[key] = (labels, t[step])
            elif int(prev[1]) == int(t[step]):
                raise EvalError(f"found duplicate series for info metric: existing "
                                f"{format_labels(prev[0])} @ {int(prev[1])}, new "
                                f"{format_labels(labels)} @ {int(t[step])}")
        seen_here = set()
        for i, s in enumerate(base):
            if not s.present[step]:
                continue
            labels = s.labels
            if i not in ignore:
                base_labels = dict(s.labels)
                added: dict = {}
                matched = 0
                for name in names:
                    hit = chosen.get(sig(s.labels, name))
                    if hit is None:
                        continue
                    matched += 1
                    for k, v in hit[0]:
                        if k == METRIC_NAME or (data and k not in data):
                            continue
                        if added.get(k, "") not in ("", v):
                            raise EvalError(f"conflicting label: {k}")
                        if k not in base_labels:
                            added[k] = v
                if not matched and any(not m.matches("") for ms in data.values() for m in ms):
                    continue
                if added:
                    labels = make_labels({**base_labels, **added})
            if labels in seen_here:
                raise EvalError(DUPLICATE_LABELSET)
            seen_here.add(labels)
            entry = out.get(labels)
            if entry is None:
                entry = out[labels] = (np.zeros(ctx.n), np.zeros(ctx.n, dtype=bool),
                                       np.full(ctx.n, None, dtype=object))
                order.append(labels)
            entry[0][step] = s.vals[step]
            entry[1][step] = True
            if s.hists is not None:  # a native histogram keeps its value
                entry[2][step] = s.hists[step]
    return [StepSeries(labels, vals, present,
                       hists=hists if any(h is not None for h in hists) else None)
            for labels in order for vals, present, hists in (out[labels],)]
