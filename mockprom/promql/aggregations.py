"""Aggregation operators over all steps at once, with the float behaviour of Prometheus
2.42's ``aggregation()`` (sequential sums, incremental mean, Welford variance, NaN
handling of min/max/topk/bottomk/quantile)."""

from __future__ import annotations

import math
import re

import numpy as np

from mockprom.promql import nodes as n
from mockprom.promql.errors import EvalError
from mockprom.promql.selectors import TOO_MANY_SAMPLES
from mockprom.promql.steps import StepSeries
from mockprom.scenario.labels import METRIC_NAME

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
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
    op = e.op
    if op == "count_values":
        return count_values(e, vec, param, ctx)
    if op in ("topk", "bottomk"):
        return top_bottom(e, vec, param, ctx)
    keyf = group_key_fn(e.grouping, e.without)
    out = []
    for key, idx in _groups(vec, keyf).items():
        members = [vec[i] for i in idx]
        vals = np.stack([np.asarray(s.vals, dtype=np.float64) for s in members])
        present = np.stack([s.present for s in members])
        any_present = present.any(axis=0)
        if not any_present.any():
            continue
        if op == "quantile":
            value = _quantile(param, vals, present)
        else:
            value = _reduce(op, vals, present)
        out.append(StepSeries(key, value, any_present))
    return out


def _reduce(op: str, vals: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Fold the members of one group in input order, as Prometheus does per step."""
    m, steps = vals.shape
    with np.errstate(all="ignore"):
        if op == "count":
            return present.sum(axis=0).astype(np.float64)
        if op == "group":
            return np.ones(steps, dtype=np.float64)
        seen = np.zeros(steps, dtype=bool)
        value = np.zeros(steps, dtype=np.float64)
        mean = np.zeros(steps, dtype=np.float64)
        count = np.zeros(steps, dtype=np.float64)
        for j in range(m):
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
                value = np.where(first, 0.0, np.where(later, new_value, value))
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


def _quantile(q: np.ndarray, vals: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Prometheus's ``quantile()``: sort (NaN first), interpolate linearly between ranks."""
    m, steps = vals.shape
    filled = np.where(present, vals, np.inf)  # absent sort last, next to real +Inf
    ordered = -np.sort(-filled, axis=0)[::-1]  # ascending with NaN first
    cnt = present.sum(axis=0).astype(np.float64)
    with np.errstate(all="ignore"):
        rank = q * (cnt - 1)
        lower = np.maximum(0, np.floor(rank))
        upper = np.minimum(cnt - 1, lower + 1)
        weight = rank - np.floor(rank)
        li = np.clip(np.nan_to_num(lower), 0, m - 1).astype(np.int64)
        ui = np.clip(np.nan_to_num(upper), 0, m - 1).astype(np.int64)
        cols = np.arange(steps)
        res = ordered[li, cols] * (1 - weight) + ordered[ui, cols] * weight
    res = np.where(q < 0, -np.inf, np.where(q > 1, np.inf, res))
    res = np.where(np.isnan(q) | (cnt == 0), np.nan, res)
    return res


def _k_values(param: np.ndarray) -> np.ndarray:
    if np.any(~((param <= MAX_INT64) & (param >= MIN_INT64))):
        bad = param[~((param <= MAX_INT64) & (param >= MIN_INT64))][0]
        raise EvalError(f"Scalar value {_go_float(bad)} overflows int64")
    return np.trunc(param).astype(np.int64)


def top_bottom(e: n.AggregateExpr, vec: list[StepSeries], param, ctx) -> list[StepSeries]:
    """topk/bottomk: per step and group the k best samples, NaN ranked last; ties keep
    the earlier series. Output groups in order of first appearance, series within a group
    ordered as Prometheus lists them at the first step."""
    k = _k_values(param)
    if not vec:
        return []
    kmax = int(k.max()) if len(k) else 0
    if kmax < 1:
        return []
    keyf = group_key_fn(e.grouping, e.without)
    steps = len(k)
    out = []
    cols = np.arange(steps)
    for key, idx in _groups(vec, keyf).items():
        vals = np.stack([np.asarray(vec[i].vals, dtype=np.float64) for i in idx])
        present = np.stack([vec[i].present for i in idx])
        m = len(idx)
        isnan = np.isnan(vals)
        cls = np.where(~present, 2, np.where(isnan, 1, 0))
        sort_val = np.where(isnan | ~present, 0.0, -vals if e.op == "topk" else vals)
        order_idx = np.broadcast_to(np.arange(m)[:, None], (m, steps))
        # rank of each member per step: lexsort by (class, value, input order)
        order = np.lexsort((order_idx, sort_val, cls), axis=0)
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(m)[:, None], (m, steps)), axis=0)
        selected = present & (rank < k[None, :])
        first_rank = rank[:, 0]
        for j in np.argsort(first_rank, kind="stable"):
            if selected[j].any():
                s = vec[idx[j]]
                out.append(StepSeries(s.labels, s.vals, selected[j]))
    return out


def _go_float(v: float) -> str:
    """Go's ``%v`` of a float64 (enough for error messages)."""
    v = float(v)
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    r = repr(v)
    if "e" in r:
        mant, exp = r.split("e")
        sign = exp[0] if exp[0] in "+-" else "+"
        exp = exp.lstrip("+-").rjust(2, "0")
        mant = mant[:-2] if mant.endswith(".0") else mant
        return f"{mant}e{sign}{exp}"
    return r[:-2] if r.endswith(".0") else r


def format_value(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)``."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return np.format_float_positional(v, trim="-")


# count_values builds one dense series per output label set: refuse absurd fan-outs (a
# distinct value at every step of every series) instead of exhausting memory.
MAX_OUTPUT_CELLS = 20_000_000


def count_values(e: n.AggregateExpr, vec: list[StepSeries], label: str, ctx) -> list[StepSeries]:
    """count_values: per step, how many series of each group have each value (formatted
    as Go's ``strconv.FormatFloat(v, 'f', -1, 64)``) under the label ``label``."""
    if not isinstance(label, str) or not LABEL_NAME.match(label):
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
        key = tuple(sorted(base + ((label, format_value(v)),))) if keeps_label else base
        oid = keys.setdefault(key, len(order))
        if oid == len(order):
            order.append(key)
        out_ids[k] = oid
    if len(order) * steps > MAX_OUTPUT_CELLS:
        raise EvalError(TOO_MANY_SAMPLES)
    counts = np.zeros((len(order), steps), dtype=np.float64)
    np.add.at(counts, (out_ids[inverse], ts), 1.0)
    return [StepSeries(key, counts[i], counts[i] > 0) for i, key in enumerate(order)]


def _go_quote(s) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'
