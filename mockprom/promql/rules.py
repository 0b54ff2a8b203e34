"""Recording and alerting rules of a scenario, evaluated against its own series.

Alert state follows from the data on a fixed schedule: a group is evaluated at every
multiple of its interval (unix epoch aligned, so the schedule is the same in every
process). At each evaluation an alerting rule's expression yields the label sets that are
active; an alert becomes *pending* at the first evaluation of an unbroken run of
activity (its ``activeAt``) and *firing* once ``for`` has elapsed since then. It is
resolved at the first evaluation where it is absent, unless ``keep_firing_for`` holds it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional

from mockprom.promql.values import Matrix
from mockprom.scenario.labels import Labels, without_name

MAX_HISTORY_STEPS = 10_000


@dataclass
class Alert:
    labels: dict
    annotations: dict
    state: str  # "pending" or "firing"
    active_at_ms: int
    value: float
    fired_at_ms: Optional[int] = None


@dataclass
class RuleState:
    kind: str  # "alerting" or "recording"
    name: str
    query: str
    duration_s: float = 0.0
    keep_firing_for_s: float = 0.0
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    alerts: list = field(default_factory=list)
    health: str = "ok"
    last_error: str = ""
    last_evaluation_ms: int = 0
    evaluation_time_s: float = 0.0

    @property
    def state(self) -> str:
        if self.kind != "alerting":
            return ""
        if any(a.state == "firing" for a in self.alerts):
            return "firing"
        if self.alerts:
            return "pending"
        return "inactive"


def last_evaluation(now_ms: int, interval_ms: int) -> int:
    """The most recent scheduled evaluation at or before ``now_ms``."""
    return (now_ms // interval_ms) * interval_ms


def evaluate_alerting_rule(engine, expr: str, *, for_ms: int, keep_firing_for_ms: int,
                           interval_ms: int, now_ms: int, rule_labels: dict,
                           annotations: dict) -> list[Alert]:
    """The alerts of one alerting rule as they stand at ``now_ms``: the rule's state
    machine is replayed over its recent scheduled evaluations (enough of them to cover
    ``for`` and ``keep_firing_for`` twice over, at least an hour)."""
    end = last_evaluation(now_ms, interval_ms)
    history = max(2 * (for_ms + keep_firing_for_ms) + 10 * interval_ms, 3_600_000)
    steps = int(min(MAX_HISTORY_STEPS, history // interval_ms + 1))
    start = end - (steps - 1) * interval_ms
    result = engine.range_query(expr, start, end, interval_ms).value
    if not isinstance(result, Matrix):
        return []
    by_time: dict[int, list] = {}
    for series in result.series:
        for t, v in series.points:
            by_time.setdefault(t, []).append((series.labels, v))
    active: dict[Labels, Alert] = {}
    last_seen: dict[Labels, int] = {}
    for i in range(steps):
        t = start + i * interval_ms
        present = set()
        for labels, v in by_time.get(t, ()):
            present.add(labels)
            alert = active.get(labels)
            if alert is None:
                alert = active[labels] = Alert({}, {}, "pending", t, v)
            alert.value = v
            last_seen[labels] = t
            if alert.state == "pending" and t - alert.active_at_ms >= for_ms:
                alert.state, alert.fired_at_ms = "firing", t
        for labels in [l for l in active if l not in present]:
            alert = active[labels]
            if alert.state == "firing" and t - last_seen[labels] < keep_firing_for_ms:
                continue
            del active[labels]
    alerts = []
    for labels, alert in active.items():
        series_labels = dict(labels)
        out_labels = dict(without_name(labels))
        out_labels.update({k: expand_template(v, series_labels, alert.value)
                           for k, v in rule_labels.items()})
        alert.labels = out_labels
        alert.annotations = {k: expand_template(v, series_labels, alert.value)
                             for k, v in annotations.items()}
        alerts.append(alert)
    alerts.sort(key=lambda a: sorted(a.labels.items()))
    return alerts


_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_LABEL_REF = re.compile(r"^\$labels\.([A-Za-z_][A-Za-z0-9_]*)$|^index \$labels \"([^\"]*)\"$")


def expand_template(text: str, labels: dict, value: float) -> str:
    """Expand the common Go-template forms of rule annotations: ``{{ $labels.x }}``,
    ``{{ index $labels "x" }}``, ``{{ $value }}`` and ``{{ $value | humanize }}``.
    Anything else is left as written."""

    def repl(m: re.Match) -> str:
        body = m.group(1)
        parts = [p.strip() for p in body.split("|")]
        head, pipes = parts[0], parts[1:]
        if head == "$value":
            out: object = value
        else:
            lm = _LABEL_REF.match(head)
            if not lm:
                return m.group(0)
            out = labels.get(lm.group(1) or lm.group(2), "")
        for p in pipes:
            out = _apply_pipe(p, out)
        if isinstance(out, float):
            return _go_float(out)
        return str(out)

    return _TEMPLATE.sub(repl, text)


def _apply_pipe(name: str, v: object) -> object:
    if not isinstance(v, (int, float)):
        try:
            v = float(v)
        except (TypeError, ValueError):
            return v
    if name == "humanize":
        return _humanize(float(v))
    if name == "humanizePercentage":
        return _trim(float(v) * 100) + "%"
    if name == "printf \"%.2f\"":
        return f"{float(v):.2f}"
    return v


def _humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _go_float(v)
    if abs(v) >= 1:
        prefixes = ["", "k", "M", "G", "T", "P", "E", "Z", "Y"]
        i = 0
        while abs(v) >= 1000 and i < len(prefixes) - 1:
            v /= 1000
            i += 1
        return f"{v:.4g}{prefixes[i]}"
    prefixes = ["", "m", "u", "n", "p", "f", "a", "z", "y"]
    i = 0
    while abs(v) < 1 and i < len(prefixes) - 1:
        v *= 1000
        i += 1
    return f"{v:.4g}{prefixes[i]}"


def _trim(v: float) -> str:
    return f"{v:.4g}"


def _go_float(v: float) -> str:
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    return repr(v)
