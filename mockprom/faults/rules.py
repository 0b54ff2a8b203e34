"""Fault rules: validated from dicts (a scenario's ``faults:`` or a POSTed JSON body).

Every problem is reported at once, each with its field path, and unknown keys are
refused, so a typo never silently disables a fault.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Optional

from mockprom import goregex
from mockprom.faults.endpoints import ENDPOINTS
from mockprom.faults.request import RequestInfo
from mockprom.faults.triggers import TRIGGER_KEYS, Trigger, parse_trigger, unit_draw
from mockprom.faults.units import parse_duration_s

ERRORS = {  # error kind -> (HTTP status, Prometheus errorType, default message)
    "bad_data": (400, "bad_data", 'invalid parameter "query": injected fault'),
    "execution": (422, "execution", "query processing would load too many samples into memory in query execution"),
    "timeout": (503, "timeout", "query timed out in expression evaluation"),
    "canceled": (503, "canceled", "query was canceled in expression evaluation"),
    "unavailable": (503, "unavailable", "Service Unavailable"),
    "internal": (500, "internal", "internal server error"),
    "too_many_requests": (429, "too_many_requests", "too many outstanding requests"),
    "inconsistent": (503, None, None),  # an error status around a success body
}
TRANSPORTS = ("reset", "empty", "malformed", "truncate", "hang")
SHORT_CIRCUIT = ("reset", "empty", "hang")  # no HTTP answer at all
METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH")
DEFAULT_HANG_S = 60.0

RULE_KEYS = ("name", "match", "error", "status", "message", "retry_after", "latency",
             "dribble", "warnings", "infos", "drop_series", "transport", "hang") + TRIGGER_KEYS
MATCH_KEYS = ("endpoint", "method", "expr", "metric", "params", "headers")
EFFECT_KEYS = ("error", "status", "latency", "dribble", "warnings", "infos", "drop_series",
               "transport")
_METRIC_NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
_STATUS_TYPES = {400: "bad_data", 422: "execution", 503: "unavailable", 429: "too_many_requests"}


class FaultRuleError(ValueError):
    """A fault rule or timeline is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("invalid fault rules: " + "; ".join(self.problems))


@dataclass(frozen=True)
class Match:
    """Every given field must match; none given matches every request."""

    endpoints: Optional[frozenset] = None
    methods: Optional[frozenset] = None
    expr: Optional[goregex.Regex] = None  # Go syntax, linear time
    metric: Optional[str] = None
    params: tuple = ()   # (name, value) pairs
    headers: tuple = ()  # (lower-case name, value) pairs

    def matches(self, req: RequestInfo) -> bool:
        if self.endpoints is not None and req.endpoint not in self.endpoints:
            return False
        if self.methods is not None and req.method not in self.methods:
            return False
        for name, value in self.params:
            if value not in req.params.get(name, ()):
                return False
        for name, value in self.headers:
            if req.headers.get(name) != value:
                return False
        if self.expr is not None and not any(self.expr.search(e) for e in req.exprs):
            return False
        if self.metric is not None and not req.selects_metric(self.metric):
            return False
        return True


@dataclass(frozen=True)
class Latency:
    """``fixed`` (a), ``uniform`` (a..b) or ``lognormal`` (median a, sigma b), seconds."""

    kind: str
    a: float
    b: float = 0.0

    def draw(self, seed: int, key: str, n: int) -> float:
        if self.kind == "fixed":
            return self.a
        u = unit_draw(seed, key, n, "latency")
        if self.kind == "uniform":
            return self.a + (self.b - self.a) * u
        z = NormalDist().inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
        return self.a * math.exp(self.b * z)


@dataclass(eq=False)
class FaultRule:
    id: str
    name: Optional[str]
    source: str  # "scenario", "timeline" or "api"
    spec: dict   # the rule as written
    match: Match
    trigger: Trigger
    error: Optional[str] = None
    status: Optional[int] = None
    message: Optional[str] = None
    retry_after: Optional[float] = None
    latency: Optional[Latency] = None
    dribble: Optional[tuple[int, float]] = None  # (chunks, over seconds)
    warnings: tuple = ()
    infos: tuple = ()
    drop_series: Optional[float] = None
    transport: Optional[str] = None
    hang_s: float = DEFAULT_HANG_S
    matched: int = field(default=0)  # matching requests seen
    hits: int = field(default=0)     # times the rule fired

    @property
    def label(self) -> str:
        """The name the journal shows: the rule's name, else its id."""
        return self.name or self.id

    @property
    def effects(self) -> list[str]:
        return [k for k in EFFECT_KEYS if self.spec.get(k) is not None]

    def error_reply(self) -> Optional[tuple[int, str, str]]:
        """(status, errorType, message) when the rule answers with an error envelope."""
        if self.error is None and self.status is None:
            return None
        if self.error == "inconsistent":
            return None
        if self.error is not None:
            status, error_type, message = ERRORS[self.error]
        else:
            status = self.status
            error_type = _STATUS_TYPES.get(status, "bad_data" if status < 500 else "internal")
            message = f"injected fault: HTTP {status}"
        return (self.status or status, error_type, self.message or message)

    def describe(self) -> dict:
        """What ``GET /-/mockprom/faults`` shows for this rule."""
        return {"id": self.id, "name": self.name, "source": self.source,
                "matched": self.matched, "hits": self.hits, "rule": self.spec}


def parse_rule(raw: object, *, rule_id: str, source: str, where: str = "") -> FaultRule:
    """Validate one rule dict; raises FaultRuleError listing every problem."""
    problems: list[str] = []
    rule = read_rule(raw, rule_id, source, where, problems)
    if problems or rule is None:
        raise FaultRuleError(problems)
    return rule


def read_rule(raw: object, rule_id: str, source: str, where: str,
              problems: list[str]) -> Optional[FaultRule]:
    """Like ``parse_rule`` but appends problems (prefixed with ``where``) and returns
    None, so a caller can collect the problems of many rules."""
    at = f"{where}." if where else ""
    if not isinstance(raw, dict):
        problems.append(f"{where or 'rule'}: expected a mapping (a fault rule), got {type(raw).__name__}")
        return None
    start = len(problems)
    for key in raw:
        if key not in RULE_KEYS:
            problems.append(f"{at}{key}: unknown field, expected one of {', '.join(RULE_KEYS)}")
    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        problems.append(f"{at}name: expected a non-empty string, got {name!r}")
    match = _parse_match(raw.get("match"), f"{at}match", problems)
    trigger = parse_trigger(raw, at, problems)
    rule = FaultRule(rule_id, name if isinstance(name, str) else None, source, dict(raw),
                     match or Match(), trigger)
    _parse_effects(raw, rule, at, problems)
    if len(problems) > start:
        return None
    return rule


def _parse_match(raw: object, where: str, problems: list[str]) -> Optional[Match]:
    if raw is None:
        return Match()
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping of {', '.join(MATCH_KEYS)}")
        return None
    for key in raw:
        if key not in MATCH_KEYS:
            problems.append(f"{where}.{key}: unknown field, expected one of {', '.join(MATCH_KEYS)}")
    endpoints = _choices(raw.get("endpoint"), ENDPOINTS + ("any",), f"{where}.endpoint", problems)
    if endpoints is not None and "any" in endpoints:
        endpoints = None
    methods = _choices(raw.get("method"), METHODS, f"{where}.method", problems, upper=True)
    expr = None
    if raw.get("expr") is not None:
        if not isinstance(raw["expr"], str):
            problems.append(f"{where}.expr: expected a regular expression string")
        else:
            try:
                expr = goregex.compile_search(raw["expr"])
            except goregex.RegexError as exc:
                problems.append(f"{where}.expr: invalid regular expression {raw['expr']!r}: {exc}")
    metric = raw.get("metric")
    if metric is not None and (not isinstance(metric, str) or not _METRIC_NAME.match(metric)):
        problems.append(f"{where}.metric: expected a metric name, got {metric!r}")
        metric = None
    params = _string_map(raw.get("params"), f"{where}.params", problems)
    headers = tuple((k.lower(), v) for k, v in _string_map(raw.get("headers"), f"{where}.headers", problems))
    return Match(endpoints, methods, expr, metric, params, headers)


def _choices(raw: object, allowed: tuple, where: str, problems: list[str],
             upper: bool = False) -> Optional[frozenset]:
    if raw is None:
        return None
    items = raw if isinstance(raw, list) else [raw]
    out = set()
    for item in items:
        value = item.upper() if upper and isinstance(item, str) else item
        if value not in allowed:
            problems.append(f"{where}: unknown {item!r}, expected one of {', '.join(allowed)}")
        else:
            out.add(value)
    if not items:
        problems.append(f"{where}: expected at least one value")
    return frozenset(out)


def _string_map(raw: object, where: str, problems: list[str]) -> tuple:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping of names to values")
        return ()
    pairs = []
    for key, value in raw.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        if isinstance(value, (int, float)):
            value = repr(value) if isinstance(value, float) else str(value)
        if not isinstance(key, str) or not isinstance(value, str):
            problems.append(f"{where}.{key}: expected a string value, got {value!r}")
            continue
        pairs.append((key, value))
    return tuple(pairs)


def _parse_effects(raw: dict, rule: FaultRule, at: str, problems: list[str]) -> None:
    error = raw.get("error")
    if error is not None:
        if error not in ERRORS:
            problems.append(f"{at}error: unknown {error!r}, expected one of {', '.join(ERRORS)}")
        else:
            rule.error = error
    status = raw.get("status")
    if status is not None:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
            problems.append(f"{at}status: expected an HTTP status code from 100 to 599, got {status!r}")
        else:
            rule.status = status
    for key in ("message",):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            problems.append(f"{at}{key}: expected a string")
    rule.message = raw.get("message") if isinstance(raw.get("message"), str) else None
    if rule.message is not None and error is None and status is None:
        problems.append(f"{at}message: only with error or status (it is the error's text)")
    if raw.get("retry_after") is not None:
        try:
            rule.retry_after = parse_duration_s(raw["retry_after"])
        except ValueError as exc:
            problems.append(f"{at}retry_after: {exc}")
    if raw.get("latency") is not None:
        rule.latency = _parse_latency(raw["latency"], f"{at}latency", problems)
    if raw.get("dribble") is not None:
        rule.dribble = _parse_dribble(raw["dribble"], f"{at}dribble", problems)
    for key in ("warnings", "infos"):
        value = raw.get(key)
        if value is None:
            continue
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            problems.append(f"{at}{key}: expected a list of strings")
        else:
            setattr(rule, key, tuple(items))
    share = raw.get("drop_series")
    if share is not None:
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            problems.append(f"{at}drop_series: expected a share from 0 to 1, got {share!r}")
        else:
            rule.drop_series = float(share)
    transport = raw.get("transport")
    if transport is not None:
        if transport not in TRANSPORTS:
            problems.append(f"{at}transport: unknown {transport!r}, expected one of {', '.join(TRANSPORTS)}")
        else:
            rule.transport = transport
    if raw.get("hang") is not None:
        try:
            rule.hang_s = parse_duration_s(raw["hang"])
        except ValueError as exc:
            problems.append(f"{at}hang: {exc}")
        if rule.transport not in (None, "hang") or transport is None:
            problems.append(f"{at}hang: only with transport: hang (it caps how long the request is held)")
    if not any(raw.get(k) is not None for k in EFFECT_KEYS):
        problems.append(f"{at[:-1] or 'rule'}: no effect given, expected at least one of {', '.join(EFFECT_KEYS)}")
    if rule.transport in SHORT_CIRCUIT:
        clash = [k for k in ("error", "status", "dribble", "warnings", "infos", "drop_series")
                 if raw.get(k) is not None]
        if clash:
            problems.append(f"{at}transport: {rule.transport!r} sends no answer, so it cannot be combined with {', '.join(clash)}")
    if rule.drop_series is not None and rule.error_reply() is not None:
        problems.append(f"{at}drop_series: needs a real answer, so it cannot be combined with an error")


def _parse_latency(raw: object, where: str, problems: list[str]) -> Optional[Latency]:
    try:
        if isinstance(raw, dict):
            if len(raw) != 1 or next(iter(raw)) not in ("uniform", "lognormal"):
                raise ValueError("expected a duration, {uniform: [min, max]} or {lognormal: {median: 200ms, sigma: 0.5}}")
            kind, spec = next(iter(raw.items()))
            if kind == "uniform":
                if not isinstance(spec, list) or len(spec) != 2:
                    raise ValueError("uniform: expected [min, max], e.g. [100ms, 2s]")
                low, high = parse_duration_s(spec[0]), parse_duration_s(spec[1])
                if high < low:
                    raise ValueError("uniform: max must not be below min")
                return Latency("uniform", low, high)
            if not isinstance(spec, dict) or set(spec) != {"median", "sigma"}:
                raise ValueError("lognormal: expected {median: 200ms, sigma: 0.5}")
            sigma = spec["sigma"]
            if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not 0 <= sigma <= 10:
                raise ValueError(f"lognormal: sigma must be a number from 0 to 10, got {sigma!r}")
            return Latency("lognormal", parse_duration_s(spec["median"]), float(sigma))
        return Latency("fixed", parse_duration_s(raw))
    except ValueError as exc:
        problems.append(f"{where}: {exc}")
        return None


def _parse_dribble(raw: object, where: str, problems: list[str]) -> Optional[tuple[int, float]]:
    if not isinstance(raw, dict) or set(raw) - {"chunks", "over"} or "over" not in raw:
        problems.append(f"{where}: expected {{chunks: N, over: 2s}}")
        return None
    chunks = raw.get("chunks", 10)
    if isinstance(chunks, bool) or not isinstance(chunks, int) or not 1 <= chunks <= 10_000:
        problems.append(f"{where}.chunks: expected an integer from 1 to 10000, got {chunks!r}")
        return None
    try:
        return chunks, parse_duration_s(raw["over"])
    except ValueError as exc:
        problems.append(f"{where}.over: {exc}")
        return None
