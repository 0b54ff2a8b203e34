"""When a matching rule fires: always, times, after, every, seeded probability, window.

Every random choice is a counter-based hash of (seed, rule key, match number, purpose),
never a shared RNG, so the same seed and rule give the same outcomes in every run
whatever other requests or threads do.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

from mockprom.faults.units import parse_duration_s, parse_time_ms

TRIGGER_KEYS = ("times", "after", "every", "probability", "window")


def unit_draw(seed: int, key: str, n: int, purpose: str = "") -> float:
    """A uniform number in [0, 1) fixed by its arguments."""
    text = f"{seed}\x1f{key}\x1f{n}\x1f{purpose}".encode()
    digest = hashlib.blake2b(text, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True)
class Window:
    """``{from, to}``: wall seconds since the scenario loaded; ``{start, end}``: scenario
    time in ms (either bound may be open)."""

    from_s: Optional[float] = None
    to_s: Optional[float] = None
    start_ms: Optional[int] = None
    end_ms: Optional[int] = None

    def contains(self, wall_elapsed_s: float, scenario_now_ms: int) -> bool:
        if self.from_s is not None and wall_elapsed_s < self.from_s:
            return False
        if self.to_s is not None and wall_elapsed_s >= self.to_s:
            return False
        if self.start_ms is not None and scenario_now_ms < self.start_ms:
            return False
        if self.end_ms is not None and scenario_now_ms >= self.end_ms:
            return False
        return True


@dataclass(frozen=True)
class Trigger:
    """All given conditions must hold; none given means always.

    ``times``: at most N firings; ``after``: only after the first N matching requests;
    ``every``: every Nth matching request; ``probability``: seeded share of matches.
    """

    times: Optional[int] = None
    after: Optional[int] = None
    every: Optional[int] = None
    probability: Optional[float] = None
    window: Optional[Window] = None

    def fires(self, *, seed: int, key: str, match_no: int, hits: int,
              wall_elapsed_s: float, scenario_now_ms: int) -> bool:
        """``match_no`` is 1 for the rule's first matching request; ``hits`` counts
        earlier firings."""
        if self.times is not None and hits >= self.times:
            return False
        if self.after is not None and match_no <= self.after:
            return False
        if self.every is not None and match_no % self.every != 0:
            return False
        if self.window is not None and not self.window.contains(wall_elapsed_s, scenario_now_ms):
            return False
        if self.probability is not None:
            return unit_draw(seed, key, match_no, "probability") < self.probability
        return True

    def describe(self) -> dict:
        out = {k: getattr(self, k) for k in ("times", "after", "every", "probability")
               if getattr(self, k) is not None}
        if self.window is not None:
            out["window"] = {k: v for k, v in vars(self.window).items() if v is not None}
        return out


def _count(raw: dict, key: str, where: str, problems: list[str], minimum: int) -> Optional[int]:
    if key not in raw or raw[key] is None:
        return None
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        problems.append(f"{where}{key}: expected an integer >= {minimum}, got {value!r}")
        return None
    return value


def parse_trigger(raw: dict, where: str, problems: list[str]) -> Trigger:
    """Read the trigger keys of a rule dict, appending readable problems."""
    times = _count(raw, "times", where, problems, 1)
    after = _count(raw, "after", where, problems, 0)
    every = _count(raw, "every", where, problems, 1)
    probability = None
    if raw.get("probability") is not None:
        p = raw["probability"]
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            problems.append(f"{where}probability: expected a number from 0 to 1, got {p!r}")
        else:
            probability = float(p)
    window = None
    if raw.get("window") is not None:
        window = parse_window(raw["window"], f"{where}window", problems)
    return Trigger(times, after, every, probability, window)


def parse_window(raw: object, where: str, problems: list[str]) -> Optional[Window]:
    if not isinstance(raw, dict) or not raw:
        problems.append(f"{where}: expected {{from: 30s, to: 2m}} or {{start: <time>, end: <time>}}")
        return None
    unknown = sorted(set(raw) - {"from", "to", "start", "end"})
    for key in unknown:
        problems.append(f"{where}.{key}: unknown field, expected from, to, start or end")
    values: dict = {}
    for key, parse in (("from", parse_duration_s), ("to", parse_duration_s),
                       ("start", parse_time_ms), ("end", parse_time_ms)):
        if raw.get(key) is None:
            continue
        try:
            values[key] = parse(raw[key])
        except ValueError as exc:
            problems.append(f"{where}.{key}: {exc}")
    window = Window(values.get("from"), values.get("to"), values.get("start"), values.get("end"))
    if window.from_s is not None and window.to_s is not None and window.to_s <= window.from_s:
        problems.append(f"{where}: 'to' must be after 'from'")
    if window.start_ms is not None and window.end_ms is not None and window.end_ms <= window.start_ms:
        problems.append(f"{where}: 'end' must be after 'start'")
    return window
