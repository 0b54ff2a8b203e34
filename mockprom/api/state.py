"""The state of one server: its scenario, the store built from it, the clock, the engine.

Everything derived from a scenario lives in one immutable ``Generation``; a request takes
``state.current`` once and works on that snapshot. ``replace_scenario`` builds a complete
new generation first and swaps it in under a lock, so a bad scenario raises and the old
one stays; ``reset`` rebuilds from the current scenario (ingested data, deletes and clock
changes are gone).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional

from mockprom import limits, versions
from mockprom.clock import Clock
from mockprom.scenario.library import ScenarioLibrary, default_path
from mockprom.versions import Emulation

DEFAULT_SCENARIO = default_path()


@dataclass(frozen=True)
class Settings:
    """The scenario's ``server:`` block, resolved."""

    lookback_ms: int = 300_000
    max_points: int = 11_000
    admin_api: bool = False
    query_timeout_s: float = 120.0
    flavour: str = "prometheus"
    emulation: Emulation = field(default_factory=versions.resolve)
    control_token: Optional[str] = None

    @property
    def version(self) -> str:
        """The Prometheus version reported (``3.5.3``)."""
        return self.emulation.version

    @property
    def per_step_stats(self) -> bool:
        return self.emulation.has("promql-per-step-stats")

    @staticmethod
    def of(scenario, version: Optional[str] = None) -> "Settings":
        """The settings of ``scenario``; ``version`` (the server's own pin, from
        ``serve --prometheus-version`` or ``MockPrometheus(version=...)``) overrides
        the scenario's ``server.version``."""
        s = getattr(scenario, "server", None)
        if s is None:
            return Settings(emulation=versions.resolve(version))
        emulation = s.emulation()
        if version is not None:
            emulation = versions.resolve(version, emulation.features)
        return Settings(
            lookback_ms=int(s.lookback_delta),
            max_points=int(s.max_points_per_series),
            admin_api=bool(s.admin_api),
            query_timeout_s=int(s.query_timeout) / 1000.0,
            flavour=s.flavour,
            emulation=emulation,
            control_token=s.control_token or None,
        )


@dataclass(frozen=True)
class Generation:
    """Everything built from one scenario load."""

    scenario: Any
    store: Any
    engine: Any
    settings: Settings
    loaded_ms: int  # scenario time ("now") when this generation was built
    loaded_wall: float  # wall clock (time.time()) when it was built
    metadata: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)  # derived tables computed on first use
    rules: Any = None  # the scenario's rules (a ``RuleSet``, also a store series provider)

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        try:
            return self.cache[key]
        except KeyError:
            value = self.cache[key] = build()
            return value


def coerce_scenario(source):
    """A ``Scenario`` from a Scenario, dict, path, YAML/JSON text, or None (the embedded
    default). Raises ``ScenarioError`` listing every problem of a bad one: the model's,
    the rules' PromQL and the fault rules' (``mockprom.api.validation``), each with file,
    line and field path."""
    from mockprom.api.validation import load_checked

    return load_checked(DEFAULT_SCENARIO if source is None else source)


class ServerState:
    """One per server. ``on_load`` hooks (``hook(scenario)``) run after a new generation is
    built and before it is swapped in; one that raises aborts the load (the faults engine
    validates its rules this way)."""

    def __init__(self, scenario=None, *, clock: Optional[Clock] = None,
                 version: Optional[str] = None, control_token: Optional[str] = None):
        self._lock = threading.RLock()
        # the server's control token: given (serve --control-token) or the first
        # scenario's server.control_token; no later scenario changes it
        self.control_token: Optional[str] = control_token or None
        self._token_fixed = control_token is not None
        # the server's own version pin (overrides every scenario's server.version)
        self.version = None if version is None else versions.resolve(version).version
        self.clock = clock or Clock()
        self.started_wall = time.time()
        self.on_load: List[Callable[[Any], None]] = []
        self.ingest = None  # ingestion state, created lazily by mockprom.ingest
        # named scenarios to switch to: the packaged library and a scenario directory's
        self.library: Mapping = ScenarioLibrary()
        self.notifications = None  # status notifications (mockprom.api.notifications)
        # the largest scenario PUT /-/mockprom/scenario takes (serve --max-scenario-size)
        self.max_scenario_bytes: int = limits.MAX_SCENARIO_BYTES
        self._current: Optional[Generation] = None
        self.replace_scenario(scenario)

    # -- reading ----------------------------------------------------------------------
    @property
    def current(self) -> Generation:
        return self._current

    @property
    def scenario(self):
        return self._current.scenario

    @property
    def store(self):
        return self._current.store

    @property
    def engine(self):
        return self._current.engine

    @property
    def settings(self) -> Settings:
        return self._current.settings

    def now_ms(self) -> int:
        return self.clock.now_ms()

    # -- changing ---------------------------------------------------------------------
    def replace_scenario(self, source) -> Generation:
        """Load ``source`` (anything ``coerce_scenario`` takes) and swap it in atomically.
        Raises ``ScenarioError`` (or a hook's error) and keeps the old scenario."""
        scenario = coerce_scenario(source)
        with self._lock:
            self._check_control_token(scenario)
            return self._install(scenario)

    def _check_control_token(self, scenario) -> None:
        """The first scenario may set the server's control token; a later one may repeat
        it or leave it out, never change it (a PUT could otherwise lock the owner out or
        let itself in)."""
        server = getattr(scenario, "server", None)
        token = getattr(server, "control_token", None) or None
        if self._current is None and not self._token_fixed:
            self.control_token = token
            return
        if token is not None and token != self.control_token:
            from mockprom.scenario.loader import Problem, ScenarioError

            raise ScenarioError([Problem(None, None, "server.control_token",
                                         "a running server's control token cannot be changed "
                                         "by a scenario; leave server.control_token out (or "
                                         "equal to the server's), or restart the server with "
                                         "--control-token")])

    def reset(self) -> Generation:
        """Rebuild everything from the current scenario."""
        with self._lock:
            return self._install(self._current.scenario)

    def _install(self, scenario) -> Generation:
        fixed = scenario.fixed_clock_ms()
        now = fixed if fixed is not None else int(time.time() * 1000)
        gen = build_generation(scenario, now, clock=self.clock, version=self.version)
        for hook in list(self.on_load):
            hook(scenario)
        if fixed is not None:
            self.clock.set(fixed)
        else:
            self.clock.release()
        self.ingest = None
        self._current = gen
        return gen


def build_generation(scenario, now_ms: int, clock: Optional[Clock] = None,
                     version: Optional[str] = None) -> Generation:
    """Build the store, engine and derived tables of ``scenario`` at scenario time
    ``now_ms`` (relative starts resolve against it). Rules are evaluated up to the
    ``clock``'s now (``now_ms`` when no clock is given). ``version`` overrides the
    scenario's ``server.version``."""
    from mockprom.promql.engine import Engine
    from mockprom.promql.rules import RuleSet, default_interval_ms
    from mockprom.scenario.build import build_store, scenario_metadata

    settings = Settings.of(scenario, version)
    store = build_store(scenario, now_ms)
    # A subquery without a step uses the global evaluation_interval, as in Prometheus.
    engine = Engine(store, lookback_ms=settings.lookback_ms, timeout_s=settings.query_timeout_s,
                    subquery_step_ms=default_interval_ms(scenario),
                    emulation=settings.emulation)
    now_fn = clock.now_ms if clock is not None else (lambda: int(now_ms))
    rules = RuleSet.from_scenario(scenario, engine, now_fn)
    if rules:
        store.add_provider(rules)
    return Generation(scenario=scenario, store=store, engine=engine, settings=settings,
                      loaded_ms=int(now_ms), loaded_wall=time.time(),
                      metadata=scenario_metadata(scenario), rules=rules)
