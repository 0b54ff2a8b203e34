"""Binary operators over all steps at once: arithmetic, comparisons (filtering and
``bool``), set operators, and vector matching (``on``/``ignoring``, ``group_left``/
``group_right``), with Prometheus's errors (``promql/engine.go``). Which operators drop
the metric name, and which labels go with it, is the emulated line's
(``EvalRules.name_dropping_ops``, ``name_labels``); with delayed name removal a dropped
name stays until the end of the query (``name_pending``) except in vector/vector
arithmetic, which Prometheus always strips at once."""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from mockprom.promql import binops_native, deadline
from mockprom.promql import nodes as n
from mockprom.promql.errors import EvalError
from mockprom.promql.series import del_labels, drop_name, finalize, keep_labels, without_name
from mockprom.promql.steps import StepSeries
from mockprom.scenario.labels import METRIC_NAME, _escape

_ARITH = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide,
    "%": np.fmod,  # Go's math.Mod: sign of the dividend
    "^": lambda a, b: np.power(np.asarray(a, dtype=np.float64), b),
    "atan2": np.arctan2,
}
_COMPARE = {
    "==": np.equal, "!=": np.not_equal, ">": np.greater, "<": np.less,
    ">=": np.greater_equal, "<=": np.less_equal,
}


def _apply(table: dict, op: str, lhs, rhs):
    fn = table.get(op)
    if fn is None:
        raise EvalError(f"operator {op!r} not allowed for this operation")
    with np.errstate(all="ignore"):
        return fn(lhs, rhs)


def arith(op: str, lhs, rhs):
    """The value of ``lhs op rhs`` elementwise (numpy arrays or floats), Go semantics."""
    return _apply(_ARITH, op, lhs, rhs)


def compare(op: str, lhs, rhs):
    """Boolean result of a comparison (NaN compares false, except ``!=``)."""
    return _apply(_COMPARE, op, lhs, rhs)


def elem_op(op: str, lv, rv):
    """``vectorElemBinop``: (value, keep) arrays for lhs/rhs values."""
    if op in n.COMPARISON_OPS:
        return np.asarray(lv, dtype=np.float64), compare(op, lv, rv)
    v = arith(op, lv, rv)
    return v, np.ones(np.shape(v), dtype=bool)


def binary(e: n.BinaryExpr, lhs, rhs, ctx):
    l_scalar = isinstance(lhs, np.ndarray)
    r_scalar = isinstance(rhs, np.ndarray)
    if l_scalar and r_scalar:
        return scalar_binop(e.op, lhs, rhs)
    if e.op in n.SET_OPS:
        if l_scalar or r_scalar:
            raise EvalError("set operator not allowed in binary scalar expression")
        return set_op(e.op, lhs, rhs, e.matching or n.VectorMatching(card="many-to-many"))
    pos = getattr(e, "pos", None)
    if l_scalar:
        return vector_scalar(e.op, rhs, lhs, swap=True, return_bool=e.return_bool, ctx=ctx,
                             pos=pos)
    if r_scalar:
        return vector_scalar(e.op, lhs, rhs, swap=False, return_bool=e.return_bool, ctx=ctx,
                             pos=pos)
    return vector_vector(e.op, lhs, rhs, e.matching or n.VectorMatching(), e.return_bool,
                         ctx, pos)


def scalar_binop(op: str, lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    if op in n.COMPARISON_OPS:
        return compare(op, lhs, rhs).astype(np.float64)
    return np.asarray(arith(op, lhs, rhs), dtype=np.float64)


def vector_scalar(op: str, vec: list[StepSeries], scalar: np.ndarray, swap: bool,
                  return_bool: bool, ctx, pos=None) -> list[StepSeries]:
    """``vectorScalarBinop``: the vector's own value is kept by a filtering comparison
    whichever side the scalar is on (native histograms: ``binops_native``)."""
    out = []
    drop = op in ctx.rules.name_dropping_ops or return_bool
    for s in vec:
        deadline.check()
        lv, rv = (scalar, s.vals) if swap else (s.vals, scalar)
        value, keep = elem_op(op, lv, rv)
        if op in n.COMPARISON_OPS:
            value = s.vals
        present = s.present
        hists = None
        if s.hists is not None:
            lh, rh = (None, s.hists) if swap else (s.hists, None)
            value, keep, valid, hists, bool_hists = binops_native.elementwise(
                op, lv, lh, rv, rh, present, value, keep, ctx, pos, scalar_side=True)
            present = present & valid
        if return_bool:
            value, hists = keep.astype(np.float64), (None if s.hists is None else bool_hists)
        else:
            present = present & keep
        res = StepSeries(s.labels, np.asarray(value, dtype=np.float64), present, None, False,
                         s.name_pending, hists)
        out.append(without_name(res, ctx) if drop else res)
    return finalize(out, names=ctx.rules.name_labels)


def signature_fn(matching: n.VectorMatching):
    names = frozenset(matching.labels)
    if matching.on:
        return lambda labels: tuple(p for p in labels if p[0] in names)
    dropped = names | {METRIC_NAME}
    return lambda labels: tuple(p for p in labels if p[0] not in dropped)


def _any_present(groups: dict, n_steps: int) -> dict:
    out = {}
    for sig, members in groups.items():
        acc = np.zeros(n_steps, dtype=bool)
        for s in members:
            acc |= s.present
        out[sig] = acc
    return out


def set_op(op: str, lhs: list[StepSeries], rhs: list[StepSeries], matching) -> list[StepSeries]:
    sigf = signature_fn(matching)
    n_steps = len(lhs[0].present) if lhs else (len(rhs[0].present) if rhs else 0)
    if op == "and" or op == "unless":
        groups = defaultdict(list)
        for s in rhs:
            groups[sigf(s.labels)].append(s)
        rhs_any = _any_present(groups, n_steps)
        out = []
        none = np.zeros(n_steps, dtype=bool)
        for s in lhs:
            other = rhs_any.get(sigf(s.labels), none)
            mask = s.present & (other if op == "and" else ~other)
            out.append(StepSeries(s.labels, s.vals, mask, None, s.drop_name, s.name_pending,
                                  s.hists))
        return finalize(out)
    # or
    groups = defaultdict(list)
    for s in lhs:
        groups[sigf(s.labels)].append(s)
    lhs_any = _any_present(groups, n_steps)
    none = np.zeros(n_steps, dtype=bool)
    out = [StepSeries(s.labels, s.vals, s.present, None, s.drop_name, s.name_pending, s.hists)
           for s in lhs]
    for s in rhs:
        other = lhs_any.get(sigf(s.labels), none)
        out.append(StepSeries(s.labels, s.vals, s.present & ~other, None, s.drop_name,
                              s.name_pending, s.hists))
    return finalize(out)


def _match_labels_str(labels, matching) -> str:
    names = set(matching.labels)
    if matching.on:
        sub = tuple(p for p in labels if p[0] in names)
    else:
        sub = tuple(p for p in labels if p[0] not in names and p[0] != METRIC_NAME)
    return _labels_str(sub)


def _labels_str(labels) -> str:
    """Go's ``labels.Labels.String()``: ``{a="b", c="d"}`` including ``__name__``."""
    return "{" + ", ".join(f'{k}="{_escape(v)}"' for k, v in labels) + "}"


def result_labels(ls_labels, rs_labels, op: str, matching: n.VectorMatching,
                  return_bool: bool, ctx):
    """``resultMetric``: arithmetic drops the name (and its metadata labels) at once;
    ``bool`` drops it as the line does (at once, or at the end: the caller's flag)."""
    labels = ls_labels
    if op in ctx.rules.name_dropping_ops or (return_bool and not ctx.delayed_names):
        labels = drop_name(labels, ctx.rules.name_labels)
    if matching.card == "one-to-one":
        if matching.on:
            labels = keep_labels(labels, set(matching.labels))
        else:
            labels = del_labels(labels, set(matching.labels))
    if matching.include:
        d = dict(labels)
        rd = dict(rs_labels)
        for name in matching.include:
            v = rd.get(name, "")
            if v:
                d[name] = v
            else:
                d.pop(name, None)
        labels = tuple(sorted(d.items()))
    return labels


def vector_vector(op: str, lhs: list[StepSeries], rhs: list[StepSeries],
                  matching: n.VectorMatching, return_bool: bool, ctx,
                  pos=None) -> list[StepSeries]:
    """``VectorBinop`` for one-to-one, many-to-one and one-to-many matching."""
    if matching.card == "many-to-many":
        raise EvalError("many-to-many only allowed for set operators")
    if not lhs or not rhs:
        return []
    n_steps = len(lhs[0].present)
    swapped = matching.card == "one-to-many"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    sigf = signature_fn(matching)
    many_any = np.zeros(n_steps, dtype=bool)
    for s in many:
        many_any |= s.present

    one_groups = defaultdict(list)
    for s in one:
        one_groups[sigf(s.labels)].append(s)
    # The "one" side must be unique per signature at every step where the other side
    # has samples at all (Prometheus short-circuits empty sides).
    for sig, members in one_groups.items():
        if len(members) < 2:
            continue
        counts = np.zeros(n_steps, dtype=np.int64)
        for s in members:
            counts += s.present
        bad = (counts > 1) & many_any
        if bad.any():
            step = int(np.argmax(bad))
            dup = [s for s in members if s.present[step]]
            side = "left" if swapped else "right"
            raise EvalError(
                f"found duplicate series for the match group "
                f"{_match_labels_str(dup[1].labels, matching)} on the {side} hand-side of the "
                f"operation: [{_labels_str(dup[1].labels)}, {_labels_str(dup[0].labels)}]"
                ";many-to-many matching not allowed: matching labels must be unique on one side")

    out: list[StepSeries] = []
    out_sigs: list = []
    many_by_sig = defaultdict(list)
    for s in many:
        deadline.check()
        sig = sigf(s.labels)
        members = one_groups.get(sig)
        if not members:
            continue
        many_by_sig[sig].append(s)
        for rs in members:
            mask = s.present & rs.present
            if not mask.any():
                continue
            vl, vr = (rs.vals, s.vals) if swapped else (s.vals, rs.vals)
            value, keep = elem_op(op, vl, vr)
            hists = None
            if s.hists is not None or rs.hists is not None:
                hl, hr = (rs.hists, s.hists) if swapped else (s.hists, rs.hists)
                value, keep, valid, hists, _ = binops_native.elementwise(
                    op, vl, hl, vr, hr, mask, value, keep, ctx, pos)
                mask = mask & valid
            if return_bool:
                value, hists = keep.astype(np.float64), None
            else:
                mask = mask & keep
            labels = result_labels(s.labels, rs.labels, op, matching, return_bool, ctx)
            # the result's DropName is ``bool``'s alone (an input's pending drop is lost)
            out.append(StepSeries(labels, np.asarray(value, dtype=np.float64), mask, None,
                                  False, return_bool and ctx.delayed_names, hists))
            out_sigs.append(sig)

    # Prometheus's per-step checks on the matched signatures.
    if matching.card == "one-to-one":
        counts = defaultdict(lambda: np.zeros(n_steps, dtype=np.int64))
        for s, sig in zip(out, out_sigs):
            counts[sig] += s.present
        for c in counts.values():
            if np.any(c > 1):
                raise EvalError("multiple matches for labels: many-to-one matching must be "
                                "explicit (group_left/group_right)")
    else:
        seen = {}
        for s, sig in zip(out, out_sigs):
            key = (sig, s.labels)
            prev = seen.get(key)
            if prev is not None:
                if np.any(prev & s.present):
                    raise EvalError("multiple matches for labels: grouping labels must ensure "
                                    "unique matches")
                seen[key] = prev | s.present
            else:
                seen[key] = s.present
    return finalize(out, names=ctx.rules.name_labels)
