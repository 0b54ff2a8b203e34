"""The fault engine: holds the rules of a server, decides which one a request triggers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

from mockprom.faults.request import RequestInfo
from mockprom.faults.rules import FaultRule, FaultRuleError, read_rule
from mockprom.faults.timeline import Timeline, parse_timeline


@dataclass(frozen=True)
class Firing:
    """A rule that fired for one request, with its seeded draws."""

    rule: FaultRule
    match_no: int
    latency_s: float
    seed: int

    @property
    def key(self) -> str:
        return self.rule.label


def _wall_now_ms() -> int:
    return int(time.time() * 1000)


class FaultEngine:
    """One per server. Rules are tried in order: rules added through the API, then the
    active timeline step's, then the scenario's; the first that matches and fires wins.

    Thread-safe. ``release()`` (call it when the server stops) ends every latency, dribble
    and hang at once.
    """

    def __init__(self, seed: int = 0, now_ms: Optional[Callable[[], int]] = None,
                 *, hang_max_s: float = 60.0):
        self.seed = int(seed or 0)
        self.hang_max_s = hang_max_s
        self._now_ms = now_ms or _wall_now_ms
        self._lock = threading.RLock()
        self._released = threading.Event()
        self._scenario_rules: list[FaultRule] = []
        self._api_rules: list[FaultRule] = []
        self._timeline = Timeline()
        self._next_id = 1
        self._loaded_wall = time.monotonic()
        self._loaded_ms = self._now_ms()

    # --- loading and editing ------------------------------------------------------------

    def load_scenario(self, scenario) -> None:
        """``load`` from a ``Scenario`` (its faults, timeline, seed and fixed clock); fits
        ``ServerState.on_load``, which runs before the new clock is set."""
        fixed = scenario.fixed_clock_ms() if hasattr(scenario, "fixed_clock_ms") else None
        loaded = fixed if fixed is not None else _wall_now_ms()
        self.load(scenario.faults, scenario.timeline, seed=scenario.seed, loaded_ms=loaded)

    def load(self, faults: Optional[list] = None, timeline: Optional[list] = None,
             *, seed: Optional[int] = None, loaded_ms: Optional[int] = None) -> None:
        """Replace every rule (the API-added ones too) and restart counters and the
        timeline. Raises FaultRuleError listing every problem; the old rules then stay.

        ``loaded_ms`` is the scenario time the timeline's ``at`` offsets count from
        (default: the clock's now)."""
        problems: list[str] = []
        next_id = [1]

        def new_id() -> str:
            value = str(next_id[0])
            next_id[0] += 1
            return value

        rules: list[FaultRule] = []
        if faults is not None and not isinstance(faults, list):
            problems.append("faults: expected a list of fault rules")
            faults = []
        for i, raw in enumerate(faults or []):
            rule = read_rule(raw, new_id(), "scenario", f"faults[{i}]", problems)
            if rule is not None:
                rules.append(rule)
        named: dict[str, FaultRule] = {}
        for rule in rules:
            if rule.name is not None:
                if rule.name in named:
                    problems.append(f"faults: two rules are named {rule.name!r}")
                named[rule.name] = rule
        line, referenced = parse_timeline(timeline, named, new_id, problems)
        if problems:
            raise FaultRuleError(problems)
        with self._lock:
            if seed is not None:
                self.seed = int(seed)
            self._scenario_rules = [r for r in rules if r.name not in referenced]
            self._api_rules = []
            self._timeline = line
            self._next_id = next_id[0]
            self._loaded_wall = time.monotonic()
            self._loaded_ms = self._now_ms() if loaded_ms is None else int(loaded_ms)
            self._released.clear()

    def add(self, raw: object) -> FaultRule:
        """Validate and append a rule (as ``POST /-/mockprom/faults`` does)."""
        with self._lock:
            rule_id = str(self._next_id)
            problems: list[str] = []
            rule = read_rule(raw, rule_id, "api", "", problems)
            if rule is None:
                raise FaultRuleError(problems)
            self._next_id += 1
            self._api_rules.append(rule)
            return rule

    def add_many(self, raws: list) -> list[FaultRule]:
        """Validate every rule first; add all of them or none."""
        with self._lock:
            problems: list[str] = []
            rules = []
            for i, raw in enumerate(raws):
                rule = read_rule(raw, str(self._next_id + i), "api", f"[{i}]", problems)
                rules.append(rule)
            if problems:
                raise FaultRuleError(problems)
            self._next_id += len(rules)
            self._api_rules.extend(rules)
            return rules

    def now_ms(self) -> int:
        """Scenario time, from the clock the engine was given."""
        return self._now_ms()

    def remove(self, rule_id: str) -> bool:
        """Remove one rule by id (from any source); False when there is none."""
        with self._lock:
            for bucket in (self._api_rules, self._scenario_rules):
                for i, rule in enumerate(bucket):
                    if rule.id == rule_id:
                        del bucket[i]
                        return True
            for step in self._timeline.steps:
                for i, rule in enumerate(step.rules):
                    if rule.id == rule_id:
                        del step.rules[i]
                        return True
            return False

    def clear(self) -> int:
        """Remove every rule and the timeline; returns how many rules went."""
        with self._lock:
            count = len(self.rules())
            self._api_rules, self._scenario_rules = [], []
            self._timeline = Timeline()
            return count

    def rules(self) -> list[FaultRule]:
        """Every rule, in the order they are tried (timeline steps all included)."""
        with self._lock:
            out = list(self._api_rules)
            for step in self._timeline.steps:
                out.extend(r for r in step.rules if r not in out)
            out.extend(r for r in self._scenario_rules if r not in out)
            return out

    def describe(self) -> list[dict]:
        """The rules as ``GET /-/mockprom/faults`` lists them, with ``active`` flags."""
        with self._lock:
            self._advance_by_time()
            active = set(map(id, self._active_rules()))
            out = []
            for rule in self.rules():
                entry = rule.describe()
                entry["active"] = id(rule) in active
                out.append(entry)
            return out

    def timeline_state(self) -> dict:
        with self._lock:
            self._advance_by_time()
            return self._timeline.describe()

    # --- deciding -----------------------------------------------------------------------

    def decide(self, req: RequestInfo) -> Optional[Firing]:
        """Count the request (it advances the timeline) and return the rule that fires."""
        with self._lock:
            self._advance_by_time()
            self._timeline.requests_in_step += 1
            wall_elapsed = time.monotonic() - self._loaded_wall
            now_ms = self._now_ms()
            for rule in self._active_rules():
                if not rule.match.matches(req):
                    continue
                rule.matched += 1
                if not rule.trigger.fires(seed=self.seed, key=rule.label, match_no=rule.matched,
                                          hits=rule.hits, wall_elapsed_s=wall_elapsed,
                                          scenario_now_ms=now_ms):
                    continue
                rule.hits += 1
                latency = rule.latency.draw(self.seed, rule.label, rule.matched) if rule.latency else 0.0
                return Firing(rule, rule.matched, latency, self.seed)
            return None

    def _active_rules(self) -> list[FaultRule]:
        return self._api_rules + self._timeline.active_rules() + self._scenario_rules

    def _advance_by_time(self) -> None:
        now = self._now_ms()
        # requests_in_step counts the requests already answered in the current step, so
        # an ``after_requests: N`` step starts with the (N+1)th request.
        self._timeline.advance(now - self._loaded_ms, now)

    # --- waiting ------------------------------------------------------------------------

    def sleep(self, seconds: float) -> bool:
        """Wait, unless released first; True when the full time passed."""
        if seconds <= 0:
            return not self._released.is_set()
        return not self._released.wait(seconds)

    def release(self) -> None:
        """End every pending latency, dribble and hang now (the server is stopping)."""
        self._released.set()

    @property
    def released(self) -> bool:
        return self._released.is_set()


def validate_faults(faults: Optional[list], timeline: Optional[list]) -> list[str]:
    """Every problem of a scenario's ``faults`` and ``timeline``, each starting with its
    field path (``faults[2].match.endpoint: ...``); empty when both are valid."""
    try:
        FaultEngine().load(faults, timeline)
    except FaultRuleError as exc:
        return exc.problems
    return []
