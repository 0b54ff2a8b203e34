"""Aggregation operators over all steps at once, with the float behaviour of Prometheus's
``aggregation()``: 2.42's sequential sums and incremental mean, or 3.x's compensated
(Kahan) sums and mean (``EvalRules.compensated_sums``); Welford variance; the NaN
handling of min/max/topk/bottomk/quantile."""

from __future__ import annotations

import math

import numpy as np

from mockprom.gofloat import format_f, format_g
from mockprom.gostr import go_quote as _go_quote
from mockprom.promql import deadline
from mockprom.promql import aggregations_native, annotations
from mockprom.promql import nodes as n
from mockprom.promql.errors import EvalError
from mockprom.promql.functions_windows import kahan_inc
from mockprom.promql.quantile import interpolate
from mockprom.promql.selectors import TOO_MANY_SAMPLES
from mockprom.promql.series import valid_label_name
from mockprom.promql.steps import StepSeries
from mockprom.promql.xxhash64 import labels_hash
from mockprom.scenario.labels import METRIC_NAME

MAX_INT64 = 9223372036854774784.0
MIN_INT64 = -9223372036854775808.0


def group_key_fn(grouping, without: bool):
    names = frozenset(grouping)
    if without:
        dropped = names | {METRIC_NAME}
        return lambda labels: tuple(p for p in labels if p[0] not in dropped)
    return lambda labels: tuple(p for p in labels if p[0] in names)


def _groups(vec, keyf):
    """Groups in order of first appearance: key -> list of series indexes."""
    groups: dict = {}
    for i, s in enumerate(vec):
        groups.setdefault(keyf(s.labels), []).append(i)
    return groups


def aggregate(e: n.AggregateExpr, vec: list[StepSeries], param, ctx) -> list[StepSeries]:
    if aggregations_native.applies(vec):
        return aggregations_native.aggregate(e, vec, param, ctx, _aggregate, _groups_of)
    return _aggregate(e, vec, param, ctx)


def _groups_of(e: n.AggregateExpr, vec) -> dict:
    return _groups(vec, group_key_fn(e.grouping, e.without))


def _aggregate(e: n.AggregateExpr, vec: list[StepSeries], param, ctx) -> list[StepSeries]:
    op = e.op
    if op == "count_values":
        return count_values(e, vec, param, ctx)
    if op in ("topk", "bottomk"):
        return top_bottom(e, vec, param, ctx)
    if op == "limitk":
        return limit_k(e, vec, param, ctx)
    if op == "limit_ratio":
        return limit_ratio(e, vec, param, ctx)
    if op == "quantile":
        if ctx.rules.aggregation_params_summarised:
            # 3.x warns of the parameter's extremes over the whole query (NaN first: it
            # makes math.Min/Max NaN)
            if np.isnan(param).any():
                bad = [math.nan]
            else:
                bad = [q for q in (float(param.max()), float(param.min()))
                       if not 0 <= q <= 1] if len(param) else []
        else:
            bad = distinct(param[(param < 0) | (param > 1) | np.isnan(param)])
        for q in bad:
            ctx.warn(annotations.invalid_quantile(q), _pos(e.param))
    keyf = group_key_fn(e.grouping, e.without)
    out = []
    for ri, (key, idx) in enumerate(_groups(vec, keyf).items()):
        deadline.check()
        members = [vec[i] for i in idx]
        vals = np.stack([np.asarray(s.vals, dtype=np.float64) for s in members])
        present = np.stack([s.present for s in members])
        any_present = present.any(axis=0)
        if not any_present.any():
            continue
        if op == "quantile":
            value = _quantile(param, vals, present)
        else:
            value = _reduce(op, vals, present, ctx.rules)
        # Prometheus gives output group ri the pending name drop of *input* series ri
        # (``ss.DropName = inputMatrix[ri].DropName``): matters with delayed removal.
        out.append(StepSeries(key, value, any_present, None, False, vec[ri].name_pending))
    return out


def _reduce(op: str, vals: np.ndarray, present: np.ndarray, rules) -> np.ndarray:
    """Fold the members of one group in input order, as Prometheus does per step."""
    m, steps = vals.shape
    with np.errstate(all="ignore"):
        if op == "count":
            return present.sum(axis=0).astype(np.float64)
        if op == "group":
            return np.ones(steps, dtype=np.float64)
        if rules.compensated_sums and op in ("sum", "avg"):
            return _compensated(op, vals, present)
        seen = np.zeros(steps, dtype=bool)
        value = np.zeros(steps, dtype=np.float64)
        mean = np.zeros(steps, dtype=np.float64)
        count = np.zeros(steps, dtype=np.float64)
        for j in range(m):
            deadline.check()
            v = vals[j]
            p = present[j]
            first = p & ~seen
            later = p & seen
            if op == "sum":
                value = np.where(first, v, np.where(later, value + v, value))
            elif op == "max":
                upd = later & ((value < v) | np.isnan(value))
                value = np.where(first | upd, v, value)
            elif op == "min":
                upd = later & ((value > v) | np.isnan(value))
                value = np.where(first | upd, v, value)
            elif op == "avg":
                count = count + p
                mean_inf = np.isinf(mean)
                v_inf = np.isinf(v)
                skip = later & mean_inf & (
                    (v_inf & ((mean > 0) == (v > 0))) | (~v_inf & ~np.isnan(v)))
                upd = later & ~skip
                new_mean = mean + (v / count - mean / count)
                mean = np.where(first, v, np.where(upd, new_mean, mean))
            elif op in ("stddev", "stdvar"):
                count = count + p
                delta = v - mean
                new_mean = mean + delta / count
                new_value = value + delta * (v - new_mean)
                mean = np.where(first, v, np.where(later, new_mean, mean))
                start = 0.0
                if rules.nonfinite_stddev_is_nan:  # 3.x: a NaN or ±Inf first value
                    start = np.where(np.isfinite(v), 0.0, np.nan)
                value = np.where(first, start, np.where(later, new_value, value))
            else:
                raise EvalError(f"unknown aggregation operator {op!r}")
            seen |= p
        if op == "avg":
            return mean
        if op == "stdvar":
            return value / np.where(count == 0, 1, count)
        if op == "stddev":
            return np.sqrt(value / np.where(count == 0, 1, count))
        return value


def _compensated(op: str, vals: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Prometheus 3's ``sum`` (Kahan-Neumaier) and ``avg`` (the compensated sum divided
    at the end; once the sum would overflow, an incremental compensated mean)."""
    m, steps = vals.shape
    if op == "sum" and present.all():
        # every member at every step (the usual case): the same sums without the masks
        total, c = vals[0].copy(), np.zeros(steps)
        for j in range(1, m):
            total, c = kahan_inc(vals[j], total, c, inf_resets=True)
        return total + c
    seen = np.zeros(steps, dtype=bool)
    total = np.zeros(steps)
    c = np.zeros(steps)
    mean = np.zeros(steps)
    count = np.zeros(steps)
    incremental = np.zeros(steps, dtype=bool)
    for j in range(m):
        v, p = vals[j], present[j]
        first, later = p & ~seen, p & seen
        seen |= p
        count = count + p
        total = np.where(first, v, total)
        mean = np.where(first, v, mean)
        c = np.where(first, 0.0, c)
        if not later.any():
            continue
        if op == "sum":
            t, nc = kahan_inc(v, total, c, inf_resets=True)
            total, c = np.where(later, t, total), np.where(later, nc, c)
            continue
        summing = later & ~incremental
        t, nc = kahan_inc(v, total, c, inf_resets=True)
        keep_sum = summing & ~np.isinf(t)
        total, c = np.where(keep_sum, t, total), np.where(keep_sum, nc, c)
        switch = summing & np.isinf(t)  # the sum would overflow: mean from here on
        mean = np.where(switch, total / (count - 1), mean)
        c = np.where(switch, c / (count - 1), c)
        incremental |= switch
        step = later & incremental
        mean_inf = np.isinf(mean)
        skip = mean_inf & ((np.isinf(v) & ((mean > 0) == (v > 0)))
                           | (~np.isinf(v) & ~np.isnan(v)))
        upd = step & ~skip
        current = mean + c
        t, nc = kahan_inc(v / count - current / count, mean, c, inf_resets=True)
        mean, c = np.where(upd, t, mean), np.where(upd, nc, c)
    if op == "sum":
        return total + c
    return np.where(incremental, mean + c, (total + c) / np.where(count == 0, 1, count))


def _quantile(q: np.ndarray, vals: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Prometheus's ``quantile()``: sort (NaN first), interpolate linearly between ranks."""
    filled = np.where(present, vals, np.inf)  # absent sort last, next to real +Inf
    ordered = -np.sort(-filled, axis=0)[::-1]  # ascending with NaN first
    cnt = present.sum(axis=0).astype(np.float64)
    res = interpolate(ordered.T, q, cnt)
    res = np.where(np.isnan(q) | (cnt == 0), np.nan, res)
    return res


def distinct(values: np.ndarray) -> list:
    """The distinct values, in order of first appearance (NaN once)."""
    out, seen_nan = [], False
    for v in values.tolist():
        if v != v:
            if not seen_nan:
                out.append(v)
            seen_nan = True
        elif v not in out:
            out.append(v)
    return out


def _pos(node):
    return getattr(node, "pos", None)


def limit_k(e: n.AggregateExpr, vec: list[StepSeries], param, ctx) -> list[StepSeries]:
    """``limitk``: per group and step, the first k series present, in input order."""
    k = _k_values(param, vec, ctx)
    if k is None:
        return []
    keyf = group_key_fn(e.grouping, e.without)
    taken: dict = {}
    out = []
    for s in vec:
        key = keyf(s.labels)
        count = taken.setdefault(key, np.zeros(len(k), dtype=np.int64))
        sel = s.present & (count < k)
        count += sel
        if sel.any():
            out.append(StepSeries(s.labels, s.vals, sel, None, False, s.name_pending,
                                  s.hists))
    return out


MAX_UINT64 = float((1 << 64) - 1)


def limit_ratio(e: n.AggregateExpr, vec: list[StepSeries], param, ctx) -> list[StepSeries]:
    """``limit_ratio``: the series whose label hash, as a fraction of 2⁶⁴, is below the
    ratio (above ``1 + ratio`` for a negative one), as Prometheus's ``HashRatioSampler``
    picks them; ratios beyond ±1 are capped, with a warning."""
    ratio = np.asarray(param, dtype=np.float64)
    if ctx.rules.aggregation_params_summarised:
        # 3.x: nothing when the ratio is 0 throughout; a warning for each capped extreme
        # of the whole query; NaN is refused at a step with input only
        nan = np.isnan(ratio).any()
        hi = math.nan if nan else float(ratio.max())
        lo = math.nan if nan else float(ratio.min())
        if hi == 0 and lo == 0:
            return []
        if hi > 1:
            ctx.warn(annotations.invalid_ratio(hi, 1.0), _pos(e.param))
        if lo < -1:
            ctx.warn(annotations.invalid_ratio(lo, -1.0), _pos(e.param))
        if (np.isnan(ratio) & _steps_with_input(vec, len(ratio))).any():
            raise EvalError("Ratio value NaN is NaN")
    else:
        if np.isnan(ratio).any():
            raise EvalError("Ratio value NaN is NaN")
        for r in distinct(ratio[np.abs(ratio) > 1]):
            ctx.warn(annotations.invalid_ratio(r, 1.0 if r > 1 else -1.0), _pos(e.param))
    ratio = np.clip(ratio, -1.0, 1.0)
    out = []
    for s in vec:
        offset = float(labels_hash(s.labels)) / MAX_UINT64
        take = ((ratio >= 0) & (offset < ratio)) | ((ratio < 0) & (offset >= 1.0 + ratio))
        sel = s.present & take
        if sel.any():
            out.append(StepSeries(s.labels, s.vals, sel, None, False, s.name_pending,
                                  s.hists))
    return out


def _steps_with_input(vec: list[StepSeries], steps: int) -> np.ndarray:
    out = np.zeros(steps, dtype=bool)
    for s in vec:
        out |= s.present
    return out


def _k_values(param: np.ndarray, vec: list[StepSeries], ctx):
    """k per step, or None when 3.x gives nothing at all (every k below 1). A k that does
    not fit an int64 is refused: at every step in 2.42, at steps with input in 3.x."""
    param = np.asarray(param, dtype=np.float64)
    ok = (param <= MAX_INT64) & (param >= MIN_INT64)
    if ctx.rules.aggregation_params_summarised:
        if len(param) and not np.isnan(param).any() and param.max() < 1:
            return None
        bad = ~ok & _steps_with_input(vec, len(param))
    else:
        bad = ~ok
    if bad.any():
        v = param[bad][0]
        raise EvalError(f"Scalar value {format_g(v)} overflows int64")  # Go's %v
    return np.trunc(np.where(ok, param, 0.0)).astype(np.int64)


def top_bottom(e: n.AggregateExpr, vec: list[StepSeries], param, ctx) -> list[StepSeries]:
    """topk/bottomk as Prometheus's ``aggregation()`` computes them per step: each group
    keeps a ``container/heap`` of up to k samples fed in input order (how a full heap
    takes a better sample: ``EvalRules.topk_fixes_heap``), then ``sort.Sort(sort.Reverse(
    heap))`` orders it. Steps whose values are distinct and not NaN take a vectorised
    path with the same result. Output: groups in order of first appearance at the first
    step, series within a group in the heap's sorted order at the first step."""
    k = _k_values(param, vec, ctx)
    if k is None or not vec:
        return []
    kmax = int(k.max()) if len(k) else 0
    if kmax < 1:
        return []
    keyf = group_key_fn(e.grouping, e.without)
    steps = len(k)
    topk = e.op == "topk"
    fix_heap = ctx.rules.topk_fixes_heap
    xorshift = ctx.rules.go_sort_xorshift
    groups = _groups(vec, keyf)
    selected_by_series: dict = {}
    first_step_order: list = []  # (group first position at step 0, heap order) pairs
    for key, idx in groups.items():
        vals = np.stack([np.asarray(vec[i].vals, dtype=np.float64) for i in idx])
        present = np.stack([vec[i].present for i in idx])
        m = len(idx)
        isnan = np.isnan(vals)
        cls = np.where(~present, 2, np.where(isnan, 1, 0))
        sort_val = np.where(isnan | ~present, 0.0, -vals if topk else vals)
        order_idx = np.broadcast_to(np.arange(m)[:, None], (m, steps))
        # rank of each member per step: lexsort by (class, value, input order)
        order = np.lexsort((order_idx, sort_val, cls), axis=0)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(m)[:, None], (m, steps)), axis=0)
        selected = present & (rank < k[None, :])
        # Steps where the heap may choose other series than a plain ranking: more than k
        # samples and a NaN among them or a tie across the k-th place.
        need = _heap_steps(vals, present, isnan, k, topk)
        one = need & (k == 1)
        if one.any():  # k = 1: the heap is one slot, replaced in place (vectorised)
            cols = np.nonzero(one)[0]
            win = _k1_winner(vals[:, cols], present[:, cols], topk, fix_heap)
            selected[:, cols] = False
            ok = win >= 0
            selected[win[ok], cols[ok]] = True
        heap_at_first = None
        for t in np.nonzero(need & (k > 1))[0].tolist():
            deadline.check()
            heap = _heap_select([j for j in range(m) if present[j, t]], vals[:, t].tolist(),
                                int(k[t]), topk, fix_heap, xorshift)
            selected[:, t] = False
            selected[heap, t] = True
            if t == 0:
                heap_at_first = heap
        if steps and k[0] >= 1 and heap_at_first is None and m > 1:
            col = vals[:, 0][present[:, 0]]
            if np.isnan(col).any() or len(np.unique(col)) < len(col):
                # ties or NaN: the order of the first step's output is the heap's
                heap_at_first = _heap_select([j for j in range(m) if present[j, 0]],
                                             vals[:, 0].tolist(), int(k[0]), topk, fix_heap,
                                             xorshift)
        for j in range(m):
            selected_by_series[idx[j]] = selected[j]
        if steps and k[0] >= 1 and present[:, 0].any():
            if heap_at_first is None:
                heap_at_first = [j for j in order[:, 0].tolist() if selected[j, 0]]
            first = min(j for j in range(m) if present[j, 0])
            first_step_order.append((idx[first], [idx[j] for j in heap_at_first]))
    out = []
    emitted = set()
    for _, members in sorted(first_step_order, key=lambda p: p[0]):
        for i in members:
            out.append(StepSeries(vec[i].labels, vec[i].vals, selected_by_series[i], None,
                                  False, vec[i].name_pending))
            emitted.add(i)
    for i, s in enumerate(vec):
        sel = selected_by_series.get(i)
        if i not in emitted and sel is not None and sel.any():
            out.append(StepSeries(s.labels, s.vals, sel, None, False, s.name_pending))
    return out


def _heap_steps(vals, present, isnan, k, topk: bool) -> np.ndarray:
    """Per step: does the heap's choice need simulating (more than k samples, and a NaN
    among them or equal values at the k-th and (k+1)-th place)?"""
    m, steps = vals.shape
    cnt = present.sum(axis=0)
    more = (cnt > k) & (k >= 1)
    if m < 2 or not more.any():
        return np.zeros(steps, dtype=bool)
    need = more & (isnan & present).any(axis=0)
    with np.errstate(invalid="ignore"):
        key = np.where(present, -vals if topk else vals, np.inf)
    ordered = np.sort(key, axis=0)
    kk = np.clip(k, 1, m - 1).astype(np.int64)
    cols = np.arange(steps)
    tie = ordered[kk - 1, cols] == ordered[kk, cols]
    return need | (more & tie)


def _k1_winner(vals, present, topk: bool, fix_heap: bool = False) -> np.ndarray:
    """topk/bottomk with k = 1, per step: the series a one-slot heap keeps (a later
    sample replaces the kept one when better, or when the kept one is NaN and, in 3.x
    (``fix_heap``), the new one is not); -1: none."""
    m, steps = vals.shape
    win = np.full(steps, -1, dtype=np.int64)
    top = np.zeros(steps, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        for j in range(m):
            deadline.check()
            v = vals[j]
            better = (top < v) if topk else (top > v)
            nan_top = np.isnan(top) & ~np.isnan(v) if fix_heap else np.isnan(top)
            upd = present[j] & ((win < 0) | better | nan_top)
            win = np.where(upd, j, win)
            top = np.where(upd, v, top)
    return win


def _heap_select(members: list, vals: np.ndarray, k: int, topk: bool,
                 fix_heap: bool = False, xorshift: tuple = None) -> list:
    """The members (indexes into ``vals``, in input order) Prometheus keeps for one group
    at one step, in the order it outputs them: 2.42 pops the root of a full heap and
    pushes the newcomer; 3.x (``fix_heap``) overwrites the root and fixes the heap, and
    replaces a NaN root only with a number (engine.go ``aggregation[K]()``)."""
    from mockprom.promql import gosort

    base_less = gosort.value_heap_less if topk else gosort.reverse_value_heap_less

    def less(x, y):
        return base_less(vals[x], vals[y])

    heap: list = []
    for j in members:
        v = vals[j]
        if not heap:
            heap.append(j)
            continue
        top = vals[heap[0]]
        better = top < v if topk else top > v
        nan_top = math.isnan(top) and not (fix_heap and math.isnan(v))
        if len(heap) < k or better or nan_top:
            if len(heap) == k and fix_heap:
                heap[0] = j
                if k > 1:
                    gosort.heap_fix(heap, 0, less)
                continue
            if len(heap) == k:
                if k == 1:  # replaced in situ
                    heap[0] = j
                    continue
                gosort.heap_pop(heap, less)
            gosort.heap_push(heap, j, less)
    if len(heap) > 1:
        gosort.sort(heap, gosort.reverse(less), xorshift or gosort.XORSHIFT_GO_1_19)
    return heap


# count_values builds one dense series per output label set: refuse absurd fan-outs (a
# distinct value at every step of every series) instead of exhausting memory.
MAX_OUTPUT_CELLS = 20_000_000


def count_values(e: n.AggregateExpr, vec: list[StepSeries], label: str, ctx) -> list[StepSeries]:
    """count_values: per step, how many series of each group have each value (formatted
    as Go's ``strconv.FormatFloat(v, 'f', -1, 64)``) under the label ``label``."""
    if not isinstance(label, str) or not valid_label_name(label, ctx.emulation):
        raise EvalError(f"invalid label name {_go_quote(label)}")
    grouping = tuple(e.grouping)
    if not e.without:
        grouping = grouping + (label,)
    keyf = group_key_fn(grouping, e.without)
    keeps_label = not e.without or (label not in grouping and label != METRIC_NAME)
    steps = len(ctx.steps)
    base_ids: dict = {}
    bases = []
    g_parts, v_parts, t_parts = [], [], []
    for s in vec:
        deadline.check()
        idx = np.nonzero(s.present)[0]
        if len(idx) == 0:
            continue
        base = keyf(tuple(p for p in s.labels if p[0] != label))
        g = base_ids.setdefault(base, len(bases))
        if g == len(bases):
            bases.append(base)
        g_parts.append(np.full(len(idx), g, dtype=np.int64))
        v_parts.append(np.asarray(s.vals, dtype=np.float64)[idx])
        t_parts.append(idx)
    if not g_parts:
        return []
    gs = np.concatenate(g_parts)
    vals = np.concatenate(v_parts)
    vals = np.where(np.isnan(vals), np.nan, vals)  # one NaN, whatever its bits
    ts = np.concatenate(t_parts)
    # distinct (group, value bits) pairs; bits, so that -0 and 0 differ as in Go
    vbits, vinv = np.unique(vals.view(np.uint64), return_inverse=True)
    pair_keys, inverse = np.unique(gs * len(vbits) + vinv.reshape(-1), return_inverse=True)
    inverse = inverse.reshape(-1)
    pair_g = (pair_keys // len(vbits)).tolist()
    pair_v = vbits[pair_keys % len(vbits)].view(np.float64).tolist()
    # output label set of each distinct (group, value); several may coincide
    out_ids = np.empty(len(pair_g), dtype=np.int64)
    keys: dict = {}
    order = []
    for k, (g, v) in enumerate(zip(pair_g, pair_v)):
        base = bases[g]
        key = tuple(sorted(base + ((label, format_f(v)),))) if keeps_label else base
        oid = keys.setdefault(key, len(order))
        if oid == len(order):
            order.append(key)
        out_ids[k] = oid
    if len(order) * steps > MAX_OUTPUT_CELLS:
        raise EvalError(TOO_MANY_SAMPLES)
    counts = np.zeros((len(order), steps), dtype=np.float64)
    np.add.at(counts, (out_ids[inverse], ts), 1.0)
    return [StepSeries(key, counts[i], counts[i] > 0) for i, key in enumerate(order)]
