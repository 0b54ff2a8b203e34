"""Per-store ingestion state (the ingest lock, the TSDB head's time, the pushed groups and
the metadata written), kept on the server's state object as ``state.ingest`` and rebuilt
whenever the state's store is replaced (a scenario reload or reset starts with no pushed
groups, as it starts with a new store). Also the settings a write reads from the state:
the emulated version (``emulation_of``) and the scenario's ``server`` block."""

from __future__ import annotations

import threading

from mockprom import versions
from mockprom.ingest.acceptance import Head
from mockprom.ingest.otlp import DeltaState
from mockprom.ingest.pushgateway import PushGateway

DEFAULT_INTERVAL_MS = 15_000
DEFAULT_LOOKBACK_MS = 300_000

_attach_lock = threading.Lock()


class IngestState:
    def __init__(self, store, interval_ms: int):
        self.store = store
        self.lock = threading.Lock()  # serialises remote write appends to this store
        self.pushgateway = PushGateway(store, interval_ms)  # with its own lock
        self.head = Head()  # the newest sample time written (acceptance.Head)
        self.metadata: dict[str, dict] = {}  # metric family -> {type, help, unit} written
        self.exemplars: dict = {}  # Labels -> [(labels, value, t_ms), ...] written
        self.deltas = DeltaState()  # OTLP delta streams summed (otlp-deltatocumulative)


def ingest_for(state) -> IngestState:
    """The IngestState of ``state``'s current store (created on first use)."""
    store = state.store
    ing = getattr(state, "ingest", None)
    if ing is not None and ing.store is store:
        return ing
    with _attach_lock:
        ing = getattr(state, "ingest", None)
        if ing is None or ing.store is not store:
            ing = IngestState(store, scenario_interval_ms(getattr(state, "scenario", None)))
            state.ingest = ing
        return ing


def scenario_interval_ms(scenario) -> int:
    """The scenario's sample interval in ms (``Scenario.interval``), 15 s by default."""
    iv = getattr(scenario, "interval", None)
    if isinstance(iv, (int, float)) and iv > 0:
        return int(iv)
    return DEFAULT_INTERVAL_MS


def scenario_lookback_ms(scenario) -> int:
    """``server.lookback_delta`` of the scenario in ms, 5 m by default."""
    server = getattr(scenario, "server", None)
    lb = getattr(server, "lookback_delta", None)
    if isinstance(lb, (int, float)) and lb > 0:
        return int(lb)
    return DEFAULT_LOOKBACK_MS


def emulation_of(state) -> versions.Emulation:
    """The emulated version of ``state`` (the default when it has no settings)."""
    settings = getattr(state, "settings", None)
    em = getattr(settings, "emulation", None)
    return em if isinstance(em, versions.Emulation) else versions.resolve()


def server_settings(state):
    """The scenario's ``server`` block (a default one when the state has none)."""
    server = getattr(getattr(state, "scenario", None), "server", None)
    if server is None or not hasattr(server, "remote_write"):
        from mockprom.scenario.model import ServerSettings

        server = ServerSettings()
    return server
