"""The timeline: a small state machine of fault sets that scenario time or requests advance.

```yaml
timeline:
  - {at: 0s, faults: []}                              # healthy
  - {at: 2m, faults: [{error: unavailable}]}          # 503s from 2 minutes after load
  - {at: 4m, faults: [{latency: 1s}]}                 # then slow
  - {after_requests: 20, faults: []}                  # healthy after 20 more requests
```

``at`` is scenario time since the scenario loaded (a duration) or an absolute time
(RFC3339); ``after_requests: N`` moves on after N requests in the previous step. Steps are
taken in order. A string in ``faults`` names a rule of the scenario's ``faults:`` list,
which is then active only while its step is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from mockprom.faults.rules import FaultRule, read_rule
from mockprom.faults.units import parse_duration_s, parse_time_ms

STEP_KEYS = ("at", "after_requests", "faults", "name")


@dataclass
class Step:
    rules: list[FaultRule]
    at_offset_ms: Optional[int] = None
    at_time_ms: Optional[int] = None
    after_requests: Optional[int] = None
    name: Optional[str] = None

    def reached(self, elapsed_ms: int, now_ms: int, requests_in_step: int) -> bool:
        if self.at_offset_ms is not None:
            return elapsed_ms >= self.at_offset_ms
        if self.at_time_ms is not None:
            return now_ms >= self.at_time_ms
        return requests_in_step >= (self.after_requests or 0)

    def describe(self, index: int) -> dict:
        out: dict = {"index": index, "name": self.name,
                     "faults": [rule.id for rule in self.rules]}
        if self.at_offset_ms is not None:
            out["at_ms"] = self.at_offset_ms
        if self.at_time_ms is not None:
            out["at_time_ms"] = self.at_time_ms
        if self.after_requests is not None:
            out["after_requests"] = self.after_requests
        return out


@dataclass
class Timeline:
    steps: list[Step] = field(default_factory=list)
    index: int = -1              # -1: before the first step (no timeline faults)
    requests_in_step: int = 0

    def advance(self, elapsed_ms: int, now_ms: int) -> None:
        """Take every step whose condition now holds, in order."""
        while self.index + 1 < len(self.steps):
            if not self.steps[self.index + 1].reached(elapsed_ms, now_ms, self.requests_in_step):
                return
            self.index += 1
            self.requests_in_step = 0

    def active_rules(self) -> list[FaultRule]:
        return self.steps[self.index].rules if self.index >= 0 else []

    def describe(self) -> dict:
        return {"step": self.index, "requests_in_step": self.requests_in_step,
                "steps": [step.describe(i) for i, step in enumerate(self.steps)]}


def parse_timeline(raw: object, named: dict[str, FaultRule], new_id, problems: list[str],
                   where: str = "timeline") -> tuple[Timeline, set[str]]:
    """Build the timeline; returns it and the names of scenario rules it references."""
    referenced: set[str] = set()
    if raw is None:
        return Timeline(), referenced
    if not isinstance(raw, list):
        problems.append(f"{where}: expected a list of steps")
        return Timeline(), referenced
    steps = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{at}: expected a mapping with at or after_requests, and faults")
            continue
        for key in item:
            if key not in STEP_KEYS:
                problems.append(f"{at}.{key}: unknown field, expected one of {', '.join(STEP_KEYS)}")
        step = Step([], name=item.get("name") if isinstance(item.get("name"), str) else None)
        given = [k for k in ("at", "after_requests") if item.get(k) is not None]
        if len(given) != 1:
            problems.append(f"{at}: expected exactly one of at or after_requests")
        if item.get("at") is not None:
            _parse_at(item["at"], step, f"{at}.at", problems)
        if item.get("after_requests") is not None:
            n = item["after_requests"]
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                problems.append(f"{at}.after_requests: expected an integer >= 0, got {n!r}")
            else:
                step.after_requests = n
        faults = item.get("faults", [])
        if not isinstance(faults, list):
            problems.append(f"{at}.faults: expected a list of fault rules or rule names")
            faults = []
        for j, spec in enumerate(faults):
            if isinstance(spec, str):
                if spec not in named:
                    problems.append(f"{at}.faults[{j}]: no rule named {spec!r} in faults")
                else:
                    referenced.add(spec)
                    step.rules.append(named[spec])
                continue
            rule = read_rule(spec, new_id(), "timeline", f"{at}.faults[{j}]", problems)
            if rule is not None:
                step.rules.append(rule)
        steps.append(step)
    return Timeline(steps), referenced


def _parse_at(value: object, step: Step, where: str, problems: list[str]) -> None:
    try:
        step.at_offset_ms = int(round(parse_duration_s(value) * 1000))
        return
    except ValueError:
        pass
    try:
        step.at_time_ms = parse_time_ms(value)
    except ValueError:
        problems.append(f"{where}: expected a duration since load (like 2m) or an RFC3339 time, got {value!r}")
