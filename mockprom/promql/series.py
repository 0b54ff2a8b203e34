"""Helpers on lists of ``StepSeries``: merging equal label sets (Prometheus's
"vector cannot contain metrics with the same labelset" check) and grouping by labels."""

from __future__ import annotations

import re

import numpy as np

from mockprom.promql.errors import EvalError
from mockprom.promql.steps import StepSeries
from mockprom.scenario.labels import METRIC_NAME, Labels

DUPLICATE_LABELSET = "vector cannot contain metrics with the same labelset"


NAME_ONLY = (METRIC_NAME,)


def drop_name(labels: Labels, names=NAME_ONLY) -> Labels:
    """``labels`` without the metric name (and the other ``names``: the metadata labels
    Prometheus 3 removes with it, ``EvalRules.name_labels``)."""
    if labels and any(k in names for k, _ in labels):
        return tuple(p for p in labels if p[0] not in names)
    return labels


def without_name(s: StepSeries, ctx) -> StepSeries:
    """``s`` with its metric name dropped as the query's Prometheus does it: at once
    (flagged for ``finalize``, which removes it and checks for duplicates), or, with
    delayed name removal, when the result is complete (``name_pending``)."""
    if ctx.delayed_names:
        return StepSeries(s.labels, s.vals, s.present, None, False, True, s.hists)
    return StepSeries(s.labels, s.vals, s.present, None, True, hists=s.hists)


def remove_pending_names(series: list, names) -> list:
    """Delayed name removal's last step (``cleanupMetricLabels``): drop the names still
    pending; then two series with the same labels are an error."""
    out = [StepSeries(drop_name(s.labels, names), s.vals, s.present, hists=s.hists)
           if s.name_pending else s for s in series]
    seen = set()
    for s in out:
        if s.present.any():
            if s.labels in seen:
                raise EvalError(DUPLICATE_LABELSET)
            seen.add(s.labels)
    return out


LEGACY_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def valid_label_name(name: str, emulation) -> bool:
    """Whether ``name`` is a label name for the emulated Prometheus: 2.42's
    ``[a-zA-Z_][a-zA-Z0-9_]*``, or any non-empty valid UTF-8 where the grammar takes
    quoted UTF-8 names (3.x)."""
    from mockprom.promql.syntax.golang import is_rune_error
    from mockprom.promql.syntax.rows import SYNTAX

    if not SYNTAX[emulation].quoted_names:
        return bool(LEGACY_LABEL_NAME.match(name))
    # invalid: a byte that is not UTF-8 (a "\xff" escape) and U+FFFD (Go ranges over runes)
    return name != "" and not any(map(is_rune_error, name))


def keep_labels(labels: Labels, names) -> Labels:
    """``labels.WithLabels(names...)``: only the named labels that are present."""
    return tuple(p for p in labels if p[0] in names)


def del_labels(labels: Labels, names) -> Labels:
    return tuple(p for p in labels if p[0] not in names)


def finalize(series: list[StepSeries], per_step: bool = True,
             names=NAME_ONLY) -> list[StepSeries]:
    """Apply ``drop_name`` flags (removing the labels ``names``) and merge series with
    equal labels.

    With ``per_step`` two series with the same labels are an error only where both have a
    value at the same step (Prometheus's ``rangeEval``); otherwise (matrix functions,
    unary minus) any two non-empty series with the same labels are an error."""
    out: dict[Labels, StepSeries] = {}
    order: list[Labels] = []
    for s in series:
        labels = drop_name(s.labels, names) if s.drop_name else s.labels
        if labels is not s.labels or s.drop_name:
            s = StepSeries(labels, s.vals, s.present, s.sample_ts, False, s.name_pending,
                           s.hists)
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
        hists = None
        if prev.hists is not None or s.hists is not None:
            n = len(present)
            hists = np.where(s.present, as_object_steps(s.hists, n),
                             as_object_steps(prev.hists, n))
        out[labels] = StepSeries(labels, vals, present, sample_ts, False,
                                 prev.name_pending or s.name_pending, hists)
    return [out[l] for l in order]


def as_object_steps(hists, n: int) -> np.ndarray:
    """``hists`` (None, an object array or a HistogramColumn) as an object array."""
    from mockprom.scenario.store import as_objects

    return as_objects(hists, n)


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
