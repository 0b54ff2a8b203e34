"""Aggregation operators over vectors holding native histograms, as Prometheus 3.5's
``aggregation()``/``aggregationK()``/``aggregationCountValues()`` treat them:

- ``sum``/``avg`` add histograms (schema reduction, zero-bucket reconciliation) and
  average them incrementally; a group mixing floats and histograms at a step has no
  value there (a warning), incompatible bucket layouts neither (a warning naming the
  metric);
- ``count``/``group`` count histogram samples like floats;
- ``min``/``max``/``stddev``/``stdvar``/``quantile``/``topk``/``bottomk`` leave
  histograms out, with an info;
- ``limitk``/``limit_ratio`` pass them through (``aggregations`` carries ``hists``);
- ``count_values`` labels a histogram with its ``String()``.

The float half of each group goes through ``aggregations``' own code unchanged.
"""

from __future__ import annotations

import numpy as np

from mockprom.histograms import HistogramColumn, dense
from mockprom.promql import deadline, native, native_2_42
from mockprom.promql import nodes as n
from mockprom.promql.steps import StepSeries, float_steps, has_histograms, hist_mask
from mockprom.scenario.labels import METRIC_NAME

IGNORING = frozenset({"min", "max", "stddev", "stdvar", "quantile"})
IGNORING_K = frozenset({"topk", "bottomk"})


def applies(vec) -> bool:
    return bool(vec) and has_histograms(vec)


def _pos(node):
    return getattr(node, "pos", None)


def _note(ctx, annos, pos) -> None:
    for kind, arg in annos:
        text = native.annotation_text(kind, arg)
        (ctx.warn if native.is_warning(kind) else ctx.info)(text, pos)


def aggregate(e: n.AggregateExpr, vec: list, param, ctx, float_aggregate, groups_of) -> list:
    """``e`` over ``vec`` (some series hold histograms). ``float_aggregate(e, vec,
    param, ctx)`` is the float implementation; ``groups_of(e, vec)`` the groups (key ->
    member indexes, in order of first appearance)."""
    if native_2_42.applies(ctx):
        return native_2_42.aggregate(e, vec, param, ctx, float_aggregate, groups_of)
    op = e.op
    if op in IGNORING or op in IGNORING_K:
        if any(s.present[hist_mask(s.hists, len(s.present))].any() for s in vec
               if s.hists is not None):
            pos = _pos(e) if op in IGNORING_K else _pos(e.expr)
            _note(ctx, [(native.IGNORED_IN_AGGREGATION, op)], pos)
        return float_aggregate(e, [float_steps(s) for s in vec], param, ctx)
    if op in ("sum", "avg"):
        return sum_avg(e, vec, param, ctx, float_aggregate, groups_of)
    if op == "count_values":
        return _count_values(e, vec, param, ctx, float_aggregate)
    # count, group, limitk, limit_ratio: histogram samples count as samples
    return float_aggregate(e, vec, param, ctx)


def sum_avg(e, vec, param, ctx, float_aggregate, groups_of) -> list:
    nsteps = ctx.n
    masks = [hist_mask(s.hists, nsteps) & s.present for s in vec]
    floats = [float_steps(s) for s in vec]
    float_out = {s.labels: s for s in float_aggregate(e, floats, param, ctx)}
    pos = _pos(e.expr)
    out = []
    for ri, (key, idx) in enumerate(groups_of(e, vec).items()):
        deadline.check()
        f_any = np.zeros(nsteps, dtype=bool)
        h_any = np.zeros(nsteps, dtype=bool)
        for i in idx:
            f_any |= floats[i].present
            h_any |= masks[i]
        if not h_any.any():
            if key in float_out:
                out.append(float_out[key])
            continue
        mixed = f_any & h_any
        if mixed.any():
            _note(ctx, [(native.MIXED_FLOATS_HISTOGRAMS_AGG, "")], pos)
        h_steps = h_any & ~f_any
        hists, present = _histogram_steps(e.op, [vec[i] for i in idx], [masks[i] for i in idx],
                                          h_steps, ctx, pos)
        f = float_out.get(key)
        vals = np.full(nsteps, np.nan)
        f_steps = f_any & ~h_any
        if f is not None:
            f_steps = f_steps & f.present
            vals = np.where(f_steps, f.vals, vals)
        else:
            f_steps = np.zeros(nsteps, dtype=bool)
        all_present = f_steps | present
        if not all_present.any():
            continue
        if isinstance(hists, HistogramColumn) and f_steps.any():
            hists = hists.to_objects()
        if isinstance(hists, np.ndarray):
            hists = np.where(present, hists, None)
        out.append(StepSeries(key, vals, all_present, None, False, vec[ri].name_pending,
                              hists=hists))
    return out


def _histogram_steps(op: str, members: list, masks: list, steps: np.ndarray, ctx, pos):
    """The group's histogram (sum or average) at each of ``steps``: (hists, present)."""
    nsteps = ctx.n
    with_hists = [s for s in members if s.hists is not None]
    if op == "sum" and all(isinstance(s.hists, HistogramColumn) for s in with_hists):
        parts = [(s.hists, mask & steps) for s, mask in zip(members, masks)
                 if s.hists is not None and (mask & steps).any()]
        got = dense.add(parts) if parts else None
        if got is not None:
            return got[0], got[1] & steps
    hists = np.full(nsteps, None, dtype=object)
    present = np.zeros(nsteps, dtype=bool)
    annos: list = []
    names = [dict(s.labels).get(METRIC_NAME, "") for s in members]
    for t in np.flatnonzero(steps):
        group = native.HistogramGroup(op)
        for s, mask, name in zip(members, masks, names):
            if mask[t]:
                group.add(s.hists[t], name, annos)
        h = group.result()
        if h is not None:
            hists[t], present[t] = h, True
    _note(ctx, annos, pos)
    return hists, present


def _count_values(e, vec, label, ctx, float_aggregate) -> list:
    """Floats as ``aggregations.count_values`` counts them; histograms by their
    ``String()`` in the same label."""
    from mockprom.promql.aggregations import group_key_fn

    out = float_aggregate(e, [float_steps(s) for s in vec], label, ctx)
    grouping = tuple(e.grouping)
    if not e.without:
        grouping = grouping + (label,)
    keyf = group_key_fn(grouping, e.without)
    keeps_label = not e.without or (label not in grouping and label != METRIC_NAME)
    counts: dict = {}
    for s in vec:
        if s.hists is None:
            continue
        base = keyf(tuple(p for p in s.labels if p[0] != label))
        for t in np.flatnonzero(s.present & hist_mask(s.hists, ctx.n)):
            text = s.hists[t].string()
            key = tuple(sorted(base + ((label, text),))) if keeps_label else base
            arr = counts.setdefault(key, np.zeros(ctx.n))
            arr[t] += 1
    if not counts:
        return out
    merged = {s.labels: s for s in out}
    for key, arr in counts.items():
        prev = merged.get(key)
        if prev is not None:
            arr = arr + np.where(prev.present, prev.vals, 0)
        merged[key] = StepSeries(key, arr, arr > 0)
    return list(merged.values())
