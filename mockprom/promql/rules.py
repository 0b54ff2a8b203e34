"""Recording and alerting rules of a scenario, evaluated against its own series.

A group is evaluated at every multiple of its interval (unix epoch aligned, so the
schedule is the same in every process), up to the clock's "now": the mock behaves as a
Prometheus that has always been running. Rules are evaluated lazily, on demand:

- ``RuleSet`` is a *series provider* of the ``Store``: a query that selects a recording
  rule's name, ``ALERTS`` or ``ALERTS_FOR_STATE`` makes it evaluate the rule over the
  requested window, on the group's grid, with the engine (the steps of one range query
  are the rule's evaluations). A rule sees the output of the rules before it in its group
  and of other groups, never its own or a later rule's (that would recurse). Series that
  disappear get a staleness marker at the next evaluation, as Prometheus writes them.
- An alerting rule's state machine is replayed over its evaluations: an alert is
  *pending* from the first evaluation of an unbroken run of activity (its ``activeAt``),
  *firing* once ``for`` has elapsed, resolved at the first evaluation where it is absent
  unless ``keep_firing_for`` holds it. A run is followed back at most ``MAX_LOOKBACK_MS``.
- ``RuleSet.groups_at(now_ms)`` gives the API's view (``/api/v1/rules``, ``/alerts``).

Group ``limit``s fail evaluations over them as Prometheus does; ``@ start()`` / ``end()``
in a rule mean each evaluation's time. Alert rule labels are expanded at every evaluation,
as Prometheus does: labels that use ``$value`` make a new alert (pending again) whenever
the expanded value changes, and the alert of the old value resolves.
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from mockprom.gofloat import format_g
from mockprom.promql.engine import Evaluator
from mockprom.promql.errors import EvalError, ParseError, PromQLError
from mockprom.promql.series import finalize, needs_finalize
from mockprom.promql.steps import StepSeries
from mockprom.scenario.labels import METRIC_NAME, Labels, make_labels, without_name
from mockprom.scenario.samples import STALE_BITS
from mockprom.scenario.store import SeriesData

DEFAULT_INTERVAL_MS = 60_000  # Prometheus's default evaluation_interval
MAX_GRID_STEPS = 50_000  # evaluations per rule and window (the most recent are kept)
MAX_LOOKBACK_MS = 86_400_000  # how far back an alert's unbroken run is followed
LABEL_SETS_STEPS = 1_000  # evaluations looked at to list a window's label sets
CACHE_SIZE = 256

ALERTS = "ALERTS"
ALERTS_FOR_STATE = "ALERTS_FOR_STATE"
PENDING, FIRING = 1, 2
STATE_NAMES = {PENDING: "pending", FIRING: "firing"}

DUP_RECORDING = "vector contains metrics with the same labelset after applying rule labels"
DUP_ALERT = "vector contains metrics with the same labelset after applying alert labels"


# -- the rules ---------------------------------------------------------------------------


@dataclass
class CompiledRule:
    """One rule of a group, with its parsed expression."""

    key: str  # "<group index>/<rule index>"
    group: str
    group_index: int
    index: int
    interval_ms: int
    kind: str  # "recording" or "alerting"
    name: str
    expr_text: str
    expr: object = None  # the parsed expression (None when it does not parse)
    parse_error: str = ""
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    limit: int = 0  # the group's limit of series (recording) or alerts; 0: none
    per_step: bool = False  # uses @ start()/end(): evaluated one evaluation at a time

    def static_labels(self) -> list[dict]:
        """Labels every output series of this rule carries, one dict per output family
        (used to skip rules a selector cannot match without evaluating them)."""
        fixed = {k: v for k, v in self.labels.items() if "{{" not in v and v != ""}
        if self.kind == "recording":
            return [{**fixed, METRIC_NAME: self.name}]
        base = {**fixed, "alertname": self.name}
        return [{**base, METRIC_NAME: ALERTS}, {**base, METRIC_NAME: ALERTS_FOR_STATE}]


@dataclass
class RuleGroupSpec:
    name: str
    file: str
    interval_ms: int
    limit: int
    rules: list


def _uses_start_or_end(expr) -> bool:
    """Whether ``expr`` holds ``@ start()`` or ``@ end()`` (which, in a rule, mean the
    evaluation's own time)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        if getattr(node, "at_edge", None):
            return True
        for value in vars(node).values() if hasattr(node, "__dict__") else ():
            if isinstance(value, list):
                stack.extend(v for v in value if hasattr(v, "__dict__"))
            elif hasattr(value, "__dict__") and not isinstance(value, type):
                stack.append(value)
    return False


def default_interval_ms(scenario) -> int:
    """A group's interval when it names none: the ``global.evaluation_interval`` of the
    scenario's ``config`` when it sets one, else Prometheus's default of 1 minute."""
    config = getattr(scenario, "config", None)
    if isinstance(config, str):
        import yaml

        try:
            config = yaml.safe_load(config)
        except yaml.YAMLError:
            config = None
    value = ((config or {}).get("global") or {}).get("evaluation_interval") \
        if isinstance(config, dict) else None
    if value:
        from mockprom.scenario.durations import parse_duration_ms

        try:
            ms = int(parse_duration_ms(str(value)))
            if ms > 0:
                return ms
        except ValueError:
            pass
    return DEFAULT_INTERVAL_MS


def compile_groups(groups: Sequence, default_interval_ms: int = DEFAULT_INTERVAL_MS,
                   emulation=None) -> list[RuleGroupSpec]:
    """``RuleGroupSpec``s from a scenario's ``rules:`` (model ``RuleGroup`` objects)."""
    from mockprom.promql.parse import parse

    out = []
    for gi, grp in enumerate(groups or []):
        interval = int(grp.interval or default_interval_ms)
        rules = []
        for ri, r in enumerate(grp.rules):
            cr = CompiledRule(key=f"{gi}/{ri}", group=grp.name, group_index=gi, index=ri,
                              interval_ms=interval, kind=r.kind, name=r.name,
                              expr_text=r.expr.strip(), for_ms=int(r.for_ or 0),
                              keep_firing_for_ms=int(r.keep_firing_for or 0),
                              labels=dict(r.labels), annotations=dict(r.annotations),
                              limit=int(getattr(grp, "limit", 0) or 0))
            try:
                cr.expr = parse(cr.expr_text, emulation)
                cr.per_step = _uses_start_or_end(cr.expr)
            except ParseError as exc:
                cr.parse_error = str(exc)
            rules.append(cr)
        out.append(RuleGroupSpec(grp.name, grp.file, interval, int(getattr(grp, "limit", 0) or 0),
                                 rules))
    return out


def rule_problems(scenario) -> list[str]:
    """Every rule expression of ``scenario`` that does not parse, or does not give an
    instant vector or a scalar, as ``rules[i].rules[j].expr: <problem>`` (for
    ``mockprom validate``; the server itself reports such rules with health "err")."""
    from mockprom.promql import nodes as n

    problems = []
    server = getattr(scenario, "server", None)
    emulation = server.emulation() if server is not None else None
    groups = compile_groups(getattr(scenario, "rules", None) or [], emulation=emulation)
    for gi, grp in enumerate(groups):
        for rule in grp.rules:
            where = f"rules[{gi}].rules[{rule.index}].expr"
            if rule.expr is None:
                problems.append(f"{where}: {rule.parse_error}")
            elif getattr(rule.expr, "type", None) not in (n.SCALAR, n.VECTOR):
                problems.append(f"{where}: rule result is not a vector or scalar")
    return problems


# -- API view ------------------------------------------------------------------------------


@dataclass
class Alert:
    labels: dict
    annotations: dict
    state: str  # "pending" or "firing"
    active_at_ms: int
    value: float
    keep_firing_since_ms: Optional[int] = None
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


@dataclass
class GroupState:
    name: str
    file: str
    interval_ms: int
    limit: int
    rules: list  # RuleState
    last_evaluation_ms: int
    evaluation_time_s: float


def last_evaluation(now_ms: int, interval_ms: int) -> int:
    """The most recent scheduled evaluation at or before ``now_ms``."""
    return (now_ms // interval_ms) * interval_ms


def pseudo_duration_s(key: str) -> float:
    """A small, deterministic "evaluation time" (answers stay byte-identical)."""
    h = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=4).digest(), "big")
    return round(0.0001 + (h % 4000) / 1e7, 9)


# -- evaluation ----------------------------------------------------------------------------


@dataclass
class _Eval:
    """A rule's expression over a grid: per output label set, values and presence."""

    steps: np.ndarray
    series: dict  # Labels -> (vals float64[n], present bool[n])
    error: str = ""


@dataclass
class _AlertTrack:
    """One alert (label set) over a grid of evaluations."""

    labels: Labels  # the alert's labels (alertname and rule labels included)
    source: Labels  # the expression's output labels (templates' $labels)
    state: np.ndarray  # int8: 0 none, 1 pending, 2 firing
    active_at: np.ndarray  # int64 ms
    value: np.ndarray  # float64 (the last value seen while active)
    keep_since: np.ndarray  # int64 ms, -1 when not held by keep_firing_for


@dataclass
class _AlertEval:
    steps: np.ndarray
    tracks: list
    failed: np.ndarray  # bool: evaluations that failed (alert labels collided)
    over_limit: np.ndarray  # int: alerts counted where an evaluation exceeded the limit, else 0


class RuleSet:
    """The rules of a scenario bound to a store and engine; a ``Store`` series provider."""

    def __init__(self, groups: list[RuleGroupSpec], engine, now_ms: Callable[[], int]):
        self.groups = groups
        self.engine = engine
        self.now_ms = now_ms
        self.rules = [r for g in groups for r in g.rules]
        self._local = threading.local()
        self._cache: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_scenario(cls, scenario, engine, now_ms: Callable[[], int]) -> "RuleSet":
        return cls(compile_groups(getattr(scenario, "rules", None) or [],
                                  default_interval_ms(scenario),
                                  emulation=getattr(engine, "emulation", None)),
                   engine, now_ms)

    def __bool__(self) -> bool:
        return bool(self.rules)

    # -- the provider interface ------------------------------------------------------------
    def select(self, matchers, mint_ms: int, maxt_ms: int) -> list[SeriesData]:
        """Output series of the rules that ``matchers`` can select, with their samples
        (and staleness markers) in ``[mint_ms, maxt_ms]``."""
        out: list[SeriesData] = []
        for rule in self._candidates(matchers):
            for sd in self._outputs(rule, mint_ms, maxt_ms):
                if _matches(sd.labels, matchers):
                    out.append(sd)
        return out

    def label_sets(self, mint_ms: Optional[int] = None, maxt_ms: Optional[int] = None,
                   matchers=None) -> list[Labels]:
        """Label sets of the rules' output series with samples in the window (the most
        recent ``LABEL_SETS_STEPS`` evaluations of it; the last hour when not given)."""
        now = self.now_ms()
        maxt = now if maxt_ms is None else min(maxt_ms, now)
        mint = maxt - 3_600_000 if mint_ms is None else mint_ms
        found = set()
        for rule in self._candidates(matchers or ()):
            lo = max(mint, maxt - LABEL_SETS_STEPS * rule.interval_ms)
            for sd in self._outputs(rule, lo, maxt):
                if len(sd.ts) and not (matchers and not _matches(sd.labels, matchers)):
                    if not np.all(sd.vals.view(np.uint64) == np.uint64(STALE_BITS)):
                        found.add(sd.labels)
        return sorted(found)

    # -- the API view ------------------------------------------------------------------------
    def groups_at(self, now_ms: int) -> list[GroupState]:
        """Every group as it stands after its last evaluation at or before ``now_ms``."""
        out = []
        for grp in self.groups:
            t = last_evaluation(now_ms, grp.interval_ms)
            states = [self._rule_state(rule, t) for rule in grp.rules]
            out.append(GroupState(grp.name, grp.file, grp.interval_ms, grp.limit, states, t,
                                  round(sum(s.evaluation_time_s for s in states), 9)))
        return out

    def _rule_state(self, rule: CompiledRule, t: int) -> RuleState:
        st = RuleState(kind=rule.kind, name=rule.name, query=rule.expr_text,
                       duration_s=rule.for_ms / 1000, keep_firing_for_s=rule.keep_firing_for_ms / 1000,
                       labels=dict(rule.labels), annotations=dict(rule.annotations),
                       last_evaluation_ms=t, evaluation_time_s=pseudo_duration_s(rule.key))
        if rule.kind == "recording":
            ev = self._evaluate(rule, t, t)
            if ev.error:
                st.health, st.last_error = "err", ev.error
            return st
        ae = self._alert_eval(rule, t, t)
        error = self._evaluate(rule, t, t).error
        if not error and len(ae.failed) and ae.failed[-1]:
            error = DUP_ALERT
        if not error and len(ae.over_limit) and ae.over_limit[-1]:
            error = f"exceeded limit of {rule.limit} with {int(ae.over_limit[-1])} alerts"
        if error:
            st.health, st.last_error = "err", error
        i = len(ae.steps) - 1
        for tr in ae.tracks:
            s = int(tr.state[i]) if i >= 0 else 0
            if not s:
                continue
            value = float(tr.value[i])
            source = dict(tr.source)
            ks = int(tr.keep_since[i])
            st.alerts.append(Alert(
                labels=dict(tr.labels),
                annotations={k: expand_template(v, source, value)
                             for k, v in sorted(rule.annotations.items())},
                state=STATE_NAMES[s], active_at_ms=int(tr.active_at[i]), value=value,
                keep_firing_since_ms=ks if ks >= 0 else None))
        st.alerts.sort(key=lambda a: sorted(a.labels.items()))
        return st

    # -- outputs over a window -----------------------------------------------------------------
    def _candidates(self, matchers) -> list[CompiledRule]:
        blocked = self._blocked()
        out = []
        for rule in self.rules:
            if rule.key in blocked or rule.expr is None:
                continue
            if any(_could_match(fixed, matchers) for fixed in rule.static_labels()):
                out.append(rule)
        return out

    def _grid(self, rule: CompiledRule, mint_ms: int, maxt_ms: int) -> Optional[tuple[int, int]]:
        iv = rule.interval_ms
        maxt = min(int(maxt_ms), self.now_ms())
        a = -((-int(mint_ms)) // iv) * iv
        b = (maxt // iv) * iv
        if b < a:
            return None
        if (b - a) // iv + 1 > MAX_GRID_STEPS:
            a = b - (MAX_GRID_STEPS - 1) * iv
        return a, b

    def _outputs(self, rule: CompiledRule, mint_ms: int, maxt_ms: int) -> list[SeriesData]:
        grid = self._grid(rule, mint_ms, maxt_ms)
        if grid is None:
            return []
        a, b = grid
        iv = rule.interval_ms
        if rule.kind == "recording":
            ev = self._evaluate(rule, a - iv, b)
            return [_emit(labels, ev.steps, vals, present)
                    for labels, (vals, present) in ev.series.items()]
        ae = self._alert_eval(rule, a - iv, b)
        out = []
        for tr in ae.tracks:
            base = list(tr.labels)
            for code, name in STATE_NAMES.items():
                present = tr.state == code
                if present.any():
                    labels = make_labels(base + [(METRIC_NAME, ALERTS), ("alertstate", name)])
                    out.append(_emit(labels, ae.steps, np.ones(len(ae.steps)), present))
            present = tr.state > 0
            if present.any():
                labels = make_labels(base + [(METRIC_NAME, ALERTS_FOR_STATE)])
                secs = np.floor_divide(tr.active_at, 1000).astype(np.float64)
                out.append(_emit(labels, ae.steps, secs, present))
        return [sd for sd in out if len(sd.ts)]

    # -- evaluating an expression on a rule's grid ---------------------------------------------
    def _evaluate(self, rule: CompiledRule, a: int, b: int) -> _Eval:
        """The rule's output series over the grid ``a..b`` (recording-rule labels applied
        for recording rules; for alerting rules the expression's own labels)."""
        key = ("eval", rule.key, a, b, self._version(), self._blocked())
        hit = self._cache_get(key)
        if hit is not None:
            return hit
        steps = np.arange(a, b + 1, rule.interval_ms, dtype=np.int64)
        with self._evaluating(rule):
            try:
                if rule.expr is None:
                    raise ParseError(rule.parse_error)
                raw = self._run(rule, steps)
                error = ""
            except PromQLError as exc:
                raw, error = [], str(exc)
            except Exception as exc:  # never let one rule break a query or the API
                raw, error = [], f"{type(exc).__name__}: {exc}"
        if rule.kind == "recording":
            series, dup = _apply_recording_labels(raw, rule, len(steps))
            if dup and not error:
                error = DUP_RECORDING
            if rule.limit > 0 and series:
                count = np.sum([p for _, p in series.values()], axis=0)
                over = count > rule.limit
                if over.any():
                    for _, p in series.values():
                        p &= ~over
                    if over[-1] and not error:
                        error = f"exceeded limit of {rule.limit} with {int(count[-1])} series"
        else:
            series = {labels: (vals, present) for labels, vals, present in raw}
        ev = _Eval(steps, series, error)
        self._cache_put(key, ev)
        return ev

    def _run(self, rule: CompiledRule, steps: np.ndarray) -> list[tuple]:
        if not rule.per_step or len(steps) == 1:
            return self._run_steps(rule, steps)
        n = len(steps)
        merged: dict = {}
        for i in range(n):
            for labels, vals, present in self._run_steps(rule, steps[i:i + 1]):
                if labels not in merged:
                    merged[labels] = (np.full(n, np.nan), np.zeros(n, dtype=bool))
                merged[labels][0][i] = vals[0]
                merged[labels][1][i] = present[0]
        return [(labels, v, p) for labels, (v, p) in merged.items()]

    def _run_steps(self, rule: CompiledRule, steps: np.ndarray) -> list[tuple]:
        engine = self.engine
        ctx = engine.context(steps, int(steps[0]), int(steps[-1]), rule.interval_ms)
        ev = Evaluator(engine.store, time.monotonic() + float(engine.timeout_s),
                       engine.subquery_step_ms)
        val = ev.evaluate(rule.expr, ctx)
        if isinstance(val, np.ndarray):
            return [((), val.astype(np.float64), np.ones(len(steps), dtype=bool))]
        if not isinstance(val, list) or not all(isinstance(s, StepSeries) for s in val):
            raise EvalError("rule result is not a vector or scalar")  # Prometheus's words
        if val and needs_finalize(val):
            val = finalize(val)
        out = []
        for s in val:
            present = np.asarray(s.present, dtype=bool)
            if present.any():
                out.append((s.labels, np.asarray(s.vals, dtype=np.float64), present))
        return out

    # -- alerting --------------------------------------------------------------------------------
    def _alert_eval(self, rule: CompiledRule, a: int, b: int) -> _AlertEval:
        key = ("alert", rule.key, a, b, self._version(), self._blocked())
        hit = self._cache_get(key)
        if hit is not None:
            return hit
        iv = rule.interval_ms
        span = 2 * (rule.for_ms + rule.keep_firing_for_ms) + 10 * iv
        floor_ms = ((a - MAX_LOOKBACK_MS) // MAX_LOOKBACK_MS) * MAX_LOOKBACK_MS
        floor_ms = -((-floor_ms) // iv) * iv
        lo = max(a - (span // iv) * iv, floor_ms)
        ev = self._evaluate(rule, lo, b)
        parts = [ev]
        # Follow unbroken runs back to where they began (or the floor).
        while lo > floor_ms and any(p[0] for _, p in parts[0].series.values()):
            span *= 2
            new_lo = max(lo - (span // iv) * iv, floor_ms)
            parts.insert(0, self._evaluate(rule, new_lo, lo - iv))
            lo = new_lo
        steps = np.concatenate([p.steps for p in parts])
        n = len(steps)
        series: dict = {}
        offset = 0
        for p in parts:
            m = len(p.steps)
            for labels, (vals, present) in p.series.items():
                if labels not in series:
                    series[labels] = (np.full(n, np.nan), np.zeros(n, dtype=bool))
                sv, sp = series[labels]
                sv[offset:offset + m] = vals
                sp[offset:offset + m] = present
            offset += m
        tracks, failed, over = _alert_tracks(series, rule, steps)
        keep = steps >= a
        for tr in tracks:
            tr.state, tr.active_at = tr.state[keep], tr.active_at[keep]
            tr.value, tr.keep_since = tr.value[keep], tr.keep_since[keep]
        tracks = [tr for tr in tracks if tr.state.any()]
        tracks.sort(key=lambda tr: tr.labels)
        ae = _AlertEval(steps[keep], tracks, failed[keep], over[keep])
        self._cache_put(key, ae)
        return ae

    # -- recursion guard and cache ---------------------------------------------------------------
    def _blocked(self) -> frozenset:
        return getattr(self._local, "blocked", frozenset())

    def _evaluating(self, rule: CompiledRule):
        """While ``rule`` is evaluated it and the later rules of its group are hidden."""
        rs = self

        class _Guard:
            def __enter__(self):
                self.saved = rs._blocked()
                group = rs.groups[rule.group_index].rules
                rs._local.blocked = self.saved | {r.key for r in group[rule.index:]}

            def __exit__(self, *exc):
                rs._local.blocked = self.saved

        return _Guard()

    def _version(self):
        store = self.engine.store
        version = getattr(store, "data_version", None)
        return version() if version else None

    def _cache_get(self, key):
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
            return hit

    def _cache_put(self, key, value) -> None:
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)


def _could_match(fixed: dict, matchers) -> bool:
    """Whether a series with the fixed labels ``fixed`` (others unknown) can match."""
    for m in matchers:
        if m.name in fixed and not m.matches(fixed[m.name]):
            return False
    return True


def _matches(labels: Labels, matchers) -> bool:
    d = dict(labels)
    return all(m.matches(d.get(m.name, "")) for m in matchers)


def _emit(labels: Labels, steps: np.ndarray, vals: np.ndarray, present: np.ndarray) -> SeriesData:
    """Samples where ``present`` and a staleness marker at the first step after each run;
    the first step (the one before the window) only informs staleness."""
    prev = np.zeros(len(present), dtype=bool)
    prev[1:] = present[:-1]
    stale = prev & ~present
    keep = present | stale
    keep[0] = False
    out_vals = np.array(vals, dtype=np.float64, copy=True)
    out_vals.view(np.uint64)[stale] = np.uint64(STALE_BITS)
    return SeriesData(labels, steps[keep], out_vals[keep])


def _set_label(d: dict, name: str, value: str) -> None:
    if value == "":
        d.pop(name, None)
    else:
        d[name] = value


def _apply_recording_labels(raw: list, rule: CompiledRule, n: int) -> tuple[dict, bool]:
    """Output labels of a recording rule (name set, rule labels applied); steps where two
    series end up with the same labels fail (no output there)."""
    grouped: dict = {}
    for labels, vals, present in raw:
        d = dict(labels)
        d[METRIC_NAME] = rule.name
        for k, v in rule.labels.items():
            _set_label(d, k, v)
        grouped.setdefault(make_labels(d), []).append((vals, present))
    bad = np.zeros(n, dtype=bool)
    for members in grouped.values():
        if len(members) > 1:
            count = np.sum([p for _, p in members], axis=0)
            bad |= count > 1
    out = {}
    for labels, members in grouped.items():
        vals = np.array(members[0][0], dtype=np.float64, copy=True)
        present = np.array(members[0][1], dtype=bool, copy=True)
        for v, p in members[1:]:
            vals[p] = v[p]
            present |= p
        present &= ~bad
        out[labels] = (vals, present)
    return out, bool(bad.any())


_VALUE_REF = re.compile(r"\$value|\.Value")


def _alert_labels(base: dict, source: dict, rule: CompiledRule, value: float) -> Labels:
    """An alert's labels: the expression's output labels (``base``, without the name),
    the rule's labels expanded (an empty one removes the label), and ``alertname``."""
    d = dict(base)
    for k, v in rule.labels.items():
        _set_label(d, k, expand_template(v, source, value))
    d["alertname"] = rule.name
    return make_labels(d)


def _alert_tracks(series: dict, rule: CompiledRule, steps: np.ndarray) -> tuple[list, np.ndarray]:
    """Replay the alert state machine for every alert label set; also returns the
    evaluations that failed because two series got the same alert labels."""
    grouped: dict = {}
    n = len(steps)
    per_value = any(_VALUE_REF.search(v) for v in rule.labels.values())
    for source, (vals, present) in series.items():
        if not present.any():
            continue
        src = dict(source)
        base = dict(without_name(source))
        if not per_value:
            first = int(np.argmax(present))
            labels = _alert_labels(base, src, rule, float(vals[first]))
            grouped.setdefault(labels, []).append((source, vals, present))
            continue
        # Labels that use the value are expanded at every evaluation (Prometheus hashes
        # the expanded labels: another value is another alert).
        masks: dict = {}
        memo: dict = {}
        bits = np.ascontiguousarray(vals, dtype=np.float64).view(np.uint64)
        for i in np.flatnonzero(present).tolist():
            b = int(bits[i])
            labels = memo.get(b)
            if labels is None:
                labels = memo[b] = _alert_labels(base, src, rule, float(vals[i]))
            mask = masks.get(labels)
            if mask is None:
                mask = masks[labels] = np.zeros(n, dtype=bool)
            mask[i] = True
        for labels, mask in masks.items():
            grouped.setdefault(labels, []).append((source, vals, mask))
    bad = np.zeros(n, dtype=bool)
    for members in grouped.values():
        if len(members) > 1:
            bad |= np.sum([p for _, _, p in members], axis=0) > 1
    items = []
    for labels, members in grouped.items():
        source, vals, present = members[0]
        vals = np.array(vals, dtype=np.float64, copy=True)
        present = np.array(present, dtype=bool, copy=True)
        for _, v, p in members[1:]:
            vals[p] = v[p]
            present |= p
        items.append((labels, source, vals, present))
    tracks = [_replay(labels, source, steps, vals, present, bad, rule)
              for labels, source, vals, present in items]
    over = np.zeros(n, dtype=np.int64)
    if rule.limit > 0 and tracks:
        count = np.sum([tr.state > 0 for tr in tracks], axis=0)
        if (count > rule.limit).any():
            tracks, over = _replay_limited(items, steps, bad, rule)
    return tracks, bad, over


def _replay_limited(items: list, steps: np.ndarray, failed: np.ndarray,
                    rule: CompiledRule) -> tuple[list, np.ndarray]:
    """The state machine of all alerts of a rule at once, with the group's limit: an
    evaluation with more active alerts than the limit fails and forgets every alert
    (Prometheus: "exceeded limit of N with M alerts")."""
    n, k = len(steps), len(items)
    state = np.zeros((k, n), dtype=np.int8)
    active_at = np.zeros((k, n), dtype=np.int64)
    value = np.full((k, n), np.nan)
    keep_since = np.full((k, n), -1, dtype=np.int64)
    over = np.zeros(n, dtype=np.int64)
    s, at, v, since = [0] * k, [0] * k, [math.nan] * k, [-1] * k
    present = [p.tolist() for _, _, _, p in items]
    vals = [x.tolist() for _, _, x, _ in items]
    for i, t in enumerate(steps.tolist()):
        if not failed[i]:
            for j in range(k):
                if present[j][i]:
                    if s[j] == 0:
                        s[j], at[j] = PENDING, t
                    since[j], v[j] = -1, vals[j][i]
                    if s[j] == PENDING and t - at[j] >= rule.for_ms:
                        s[j] = FIRING
                elif s[j]:
                    held = False
                    if s[j] == FIRING and rule.keep_firing_for_ms > 0:
                        if since[j] < 0:
                            since[j] = t
                        held = t - since[j] < rule.keep_firing_for_ms
                    if not held:
                        s[j], since[j] = 0, -1
            count = sum(1 for x in s if x)
            if count > rule.limit:
                over[i] = count
                s, since = [0] * k, [-1] * k
        for j in range(k):
            state[j, i], active_at[j, i], value[j, i], keep_since[j, i] = s[j], at[j], v[j], since[j]
    tracks = [_AlertTrack(labels, source, state[j], active_at[j], value[j], keep_since[j])
              for j, (labels, source, _, _) in enumerate(items)]
    return tracks, over


def _replay(labels: Labels, source: Labels, steps: np.ndarray, vals: np.ndarray,
            present: np.ndarray, failed: np.ndarray, rule: CompiledRule) -> _AlertTrack:
    n = len(steps)
    for_ms, kff = rule.for_ms, rule.keep_firing_for_ms
    if kff <= 0 and not failed.any():
        # Vectorised: an alert lives exactly while the expression returns it.
        idx = np.arange(n)
        starts = present.copy()
        starts[1:] &= ~present[:-1]
        start_idx = np.maximum.accumulate(np.where(starts, idx, 0))
        active_at = np.where(present, steps[start_idx], 0)
        firing = present & (steps - active_at >= for_ms)
        state = np.where(firing, FIRING, np.where(present, PENDING, 0)).astype(np.int8)
        value = np.where(present, vals, np.nan)
        return _AlertTrack(labels, source, state, active_at.astype(np.int64), value,
                           np.full(n, -1, dtype=np.int64))
    state = np.zeros(n, dtype=np.int8)
    active_at = np.zeros(n, dtype=np.int64)
    value = np.full(n, np.nan)
    keep_since = np.full(n, -1, dtype=np.int64)
    s, at, v, since = 0, 0, math.nan, -1
    steps_l, present_l, vals_l, failed_l = steps.tolist(), present.tolist(), vals.tolist(), failed.tolist()
    for i in range(n):
        t = steps_l[i]
        if failed_l[i]:
            pass  # a failed evaluation changes nothing
        elif present_l[i]:
            if s == 0:
                s, at = PENDING, t
            since, v = -1, vals_l[i]
            if s == PENDING and t - at >= for_ms:
                s = FIRING
        elif s:
            held = False
            if s == FIRING and kff > 0:
                if since < 0:
                    since = t
                held = t - since < kff
            if not held:
                s, since = 0, -1
        state[i], active_at[i], value[i], keep_since[i] = s, at, v, since
    return _AlertTrack(labels, source, state, active_at, value, keep_since)


# -- templates ------------------------------------------------------------------------------

NO_VALUE = ""  # Prometheus expands a missing label to ""
_LABEL_REF = re.compile(r'^(?:\$labels|\.Labels)\.([A-Za-z_][A-Za-z0-9_]*)$'
                        r'|^index (?:\$labels|\.Labels) "([^"]*)"$')
_PRINTF = re.compile(r'^printf\s+"((?:[^"\\]|\\.)*)"(?:\s+(.*))?$')


def expand_template(text: str, labels: dict, value: float) -> str:
    """Expand the Go-template forms alert rules commonly use: ``{{ $labels.x }}``,
    ``{{ .Labels.x }}``, ``{{ index $labels "x" }}``, ``{{ $value }}``, ``{{ .Value }}``,
    pipes into ``humanize``, ``humanize1024``, ``humanizePercentage``,
    ``humanizeDuration`` or ``printf "<fmt>"``, and ``{{ printf "<fmt>" $value }}``.
    Anything else is left as written; a missing label expands to "" (as Prometheus)."""
    if "{{" not in text:
        return text

    def repl(whole: str, inner: str) -> str:
        parts = [p.strip() for p in inner.split("|")]
        out = _template_head(parts[0], labels, value)
        if out is None:
            return whole
        for pipe in parts[1:]:
            out = _apply_pipe(pipe, out)
            if out is None:
                return whole
        return go_print(out)

    out, last = [], 0
    for start, end, inner in _actions(text):
        out.append(text[last:start])
        out.append(repl(text[start:end], inner))
        last = end
    out.append(text[last:])
    return "".join(out)


def _actions(text: str):
    """``(start, end, inner)`` of each ``{{ ... }}`` action, trimmed as
    ``{{-?\\s*(.*?)\\s*-?}}`` would trim it, in linear time (that regex backtracks
    quadratically on a long run of ``{{``)."""
    pos = 0
    while True:
        start = text.find("{{", pos)
        close = text.find("}}", start + 2) if start >= 0 else -1
        if close < 0:
            return
        lo = start + 2
        if lo < close and text[lo] == "-":
            lo += 1
        while lo < close and text[lo].isspace():
            lo += 1
        hi = close
        if hi - 1 >= lo and text[hi - 1] == "-":
            hi -= 1
        while hi - 1 >= lo and text[hi - 1].isspace():
            hi -= 1
        yield start, close + 2, text[lo:hi]
        pos = close + 2


def _template_head(head: str, labels: dict, value: float):
    if head in ("$value", ".Value"):
        return float(value)
    lm = _LABEL_REF.match(head)
    if lm:
        return labels.get(lm.group(1) or lm.group(2), NO_VALUE)
    pm = _PRINTF.match(head)
    if pm:
        if pm.group(2) is None:
            return _printf(pm.group(1), None)
        inner = _template_head(pm.group(2).strip(), labels, value)
        return None if inner is None else _printf(pm.group(1), inner)
    if len(head) >= 2 and head[0] == head[-1] == '"':
        return head[1:-1]
    return None


def _apply_pipe(name: str, v):
    pm = _PRINTF.match(name)
    if pm:
        return _printf(pm.group(1), v)
    fn = PIPES.get(name)
    if fn is None:
        return None
    try:
        return fn(float(v))
    except (TypeError, ValueError):
        return None


def _printf(fmt: str, arg) -> str:
    py = fmt.replace("%v", "%s")
    try:
        if arg is None:
            return py
        if isinstance(arg, float) and "%s" in py:
            arg = go_print(arg)
        return py % (arg,)
    except (TypeError, ValueError):
        return fmt


def go_print(v) -> str:
    """A value as Go's ``fmt`` prints it with ``%v``."""
    return format_g(v) if isinstance(v, float) else str(v)


def _fmt4g(v: float) -> str:
    """Go's ``%.4g``."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.4g}"


def humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _fmt4g(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return _fmt4g(v) + prefix
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _fmt4g(v) + prefix


def humanize1024(v: float) -> str:
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _fmt4g(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return _fmt4g(v) + prefix


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _fmt4g(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        secs, mins = int(v) % 60, int(v) // 60 % 60
        hours, days = int(v) // 3600 % 24, int(v) // 86400
        if days:
            return f"{sign}{days}d {hours}h {mins}m {secs}s"
        if hours:
            return f"{sign}{hours}h {mins}m {secs}s"
        if mins:
            return f"{sign}{mins}m {secs}s"
        return f"{sign}{v:.4g}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{v:.4g}{prefix}s"


PIPES = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizePercentage": lambda v: _fmt4g(v * 100) + "%",
    "humanizeDuration": humanize_duration,
}
