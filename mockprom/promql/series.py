"""Helpers on lists of ``StepSeries``: merging equal label sets (Prometheus's
"vector cannot contain metrics with the same labelset" check) and grouping by labels."""

from __future__ import annotations

import numpy as np

from mockprom.promql.errors import EvalError
from mockprom.promql.steps import StepSeries
from mockprom.scenario.labels import METRIC_NAME, Labels

DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"


def drop_name(labels: Labels) -> Labels:
    if labels and any(k == METRIC_NAME for k, _ in labels):
        return tuple(p for p in labels if p[0] != METRIC_NAME)
    return labels


def keep_labels(labels: Labels, names) -> Labels:
    """``labels.WithLabels(names...)``: only the named labels that are present."""
    return tuple(p for p in labels if p[0] in names)


def del_labels(labels: Labels, names) -> Labels:
    return tuple(p for p in labels if p[0] not in names)


def finalize(series: list[StepSeries], per_step: bool = True) -> list[StepSeries]:
    """Apply pending ``drop_name`` flags and merge series with equal labels.

    With ``per_step`` two series with the same labels are an error only where both have a
    value at the same step (Prometheus's ``rangeEval``); otherwise (matrix functions,
    unary minus) any two non-empty series with the same labels are an error."""
    out: dict[Labels, StepSeries] = {}
    order: list[Labels] = []
    for s in series:
        labels = drop_name(s.labels) if s.drop_name else s.labels
        if labels is not s.labels or s.drop_name:
            s = StepSeries(labels, s.vals, s.present, s.sample_ts, False)
        if not s.present.any():
            continue
        prev = out.get(labels)
        if prev is None:
            out[labels] = s
            order.append(labels)
            continue
        if not per_step or np.any(prev.present & s.present):
            raise EvalError(DUPLICATE_LABELSET)
        present = prev.present | s.present
        vals = np.where(s.present, s.vals, prev.vals)
        sample_ts = None
        if prev.sample_ts is not None and s.sample_ts is not None:
            sample_ts = np.where(s.present, s.sample_ts, prev.sample_ts)
        out[labels] = StepSeries(labels, vals, present, sample_ts)
    return [out[l] for l in order]


def needs_finalize(series: list[StepSeries]) -> bool:
    """Cheap test whether ``finalize`` has anything to do."""
    seen = set()
    for s in series:
        if s.drop_name:
            return True
        if s.labels in seen:
            return True
        seen.add(s.labels)
    return False
