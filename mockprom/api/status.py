"""Status endpoints: ``status/config``, ``flags``, ``buildinfo``, ``runtimeinfo``,
``tsdb``, and ``alertmanagers``."""

from __future__ import annotations

import os
import threading
from collections import Counter, defaultdict

from flask import Blueprint

from mockprom.api.context import get_state
from mockprom.api.envelope import success
from mockprom.api.format import rfc3339_nano

bp = Blueprint("status", __name__)

# The flags a Prometheus 2.42 started with defaults reports (values as strings).
DEFAULT_FLAGS = {
    "alertmanager.notification-queue-capacity": "10000",
    "alertmanager.timeout": "",
    "config.file": "/etc/prometheus/prometheus.yml",
    "enable-feature": "",
    "log.format": "logfmt",
    "log.level": "info",
    "query.lookback-delta": "5m",
    "query.max-concurrency": "20",
    "query.max-samples": "50000000",
    "query.timeout": "2m",
    "rules.alert.for-grace-period": "10m",
    "rules.alert.for-outage-tolerance": "1h",
    "rules.alert.resend-delay": "1m",
    "scrape.adjust-timestamps": "true",
    "scrape.discovery-reload-interval": "5s",
    "scrape.timestamp-tolerance": "2ms",
    "storage.agent.path": "data-agent/",
    "storage.agent.retention.max-time": "0s",
    "storage.agent.retention.min-time": "0s",
    "storage.agent.use-lockfile": "false",
    "storage.agent.wal-compression": "true",
    "storage.agent.wal-segment-size": "0B",
    "storage.agent.wal-truncate-frequency": "0s",
    "storage.remote.flush-deadline": "1m",
    "storage.remote.read-concurrent-limit": "10",
    "storage.remote.read-max-bytes-in-frame": "1048576",
    "storage.remote.read-sample-limit": "50000000",
    "storage.tsdb.allow-overlapping-blocks": "true",
    "storage.tsdb.head-chunks-write-queue-size": "0",
    "storage.tsdb.max-block-chunk-segment-size": "0B",
    "storage.tsdb.max-block-duration": "1d12h",
    "storage.tsdb.min-block-duration": "2h",
    "storage.tsdb.path": "data/",
    "storage.tsdb.retention": "0s",
    "storage.tsdb.retention.size": "0B",
    "storage.tsdb.retention.time": "0s",
    "storage.tsdb.use-lockfile": "false",
    "storage.tsdb.wal-compression": "true",
    "storage.tsdb.wal-segment-size": "0B",
    "web.config.file": "",
    "web.console.libraries": "console_libraries",
    "web.console.templates": "consoles",
    "web.cors.origin": ".*",
    "web.enable-admin-api": "false",
    "web.enable-lifecycle": "false",
    "web.enable-remote-write-receiver": "true",
    "web.external-url": "",
    "web.listen-address": "0.0.0.0:9090",
    "web.max-connections": "512",
    "web.page-title": "Prometheus Time Series Collection and Processing Server",
    "web.read-timeout": "5m",
    "web.route-prefix": "/",
    "web.user-assets": "",
}


@bp.route("/api/v1/status/config", methods=("GET",))
def config():
    return success({"yaml": get_state().scenario.config_text()})


@bp.route("/api/v1/status/flags", methods=("GET",))
def flags():
    from mockprom.scenario.durations import format_duration_ms

    gen = get_state().current
    out = dict(DEFAULT_FLAGS)
    out["query.lookback-delta"] = format_duration_ms(gen.settings.lookback_ms)
    out["query.timeout"] = format_duration_ms(int(gen.settings.query_timeout_s * 1000))
    out["web.enable-admin-api"] = "true" if gen.settings.admin_api else "false"
    out.update(getattr(gen.scenario, "flags", None) or {})
    return success(dict(sorted(out.items())))


FLAVOURS = {
    # what Grafana reads to tell a Mimir/Cortex backend from a plain Prometheus
    "mimir": {"application": "Grafana Mimir",
              "features": {"ruler_config_api": "true", "alertmanager_config_api": "true",
                           "query_sharding": "false", "federated_rules": "false"}},
    "cortex": {"application": "Cortex"},
}


def build_info(gen) -> dict:
    version = gen.settings.version
    flavour = FLAVOURS.get((gen.settings.flavour or "").lower())
    if flavour is not None:
        info = {"application": flavour["application"], "version": version,
                "revision": "mockprom", "branch": "HEAD", "goVersion": "go1.20.5"}
        if "features" in flavour:
            info["features"] = dict(flavour["features"])
        info.update(getattr(gen.scenario, "buildinfo", None) or {})
        return info
    line = gen.settings.emulation.line
    info = {
        "version": version,
        "revision": "mockprom",
        "branch": "HEAD",
        "buildUser": "mockprom",
        "buildDate": line.build_date,
        "goVersion": line.go_version,
    }
    info.update(getattr(gen.scenario, "buildinfo", None) or {})
    return info


@bp.route("/api/v1/status/buildinfo", methods=("GET",))
def buildinfo():
    return success(build_info(get_state().current))


@bp.route("/api/v1/status/runtimeinfo", methods=("GET",))
def runtimeinfo():
    state = get_state()
    gen = state.current
    return success({
        "startTime": rfc3339_nano(int(state.started_wall * 1000)),
        "CWD": os.getcwd(),
        "reloadConfigSuccess": True,
        "lastConfigTime": rfc3339_nano(int(gen.loaded_wall) * 1000),
        "corruptionCount": 0,
        "goroutineCount": threading.active_count(),
        "GOMAXPROCS": os.cpu_count() or 1,
        "GOGC": "",
        "GODEBUG": "",
        "storageRetention": "15d",
    })


def _top(counter: dict, n: int = 10) -> list[dict]:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"name": k, "value": int(v)} for k, v in items]


def tsdb_stats(store, now_ms: int) -> dict:
    """Head statistics and the top-10 cardinality lists, computed from the store."""
    all_labels = store.all_labels()
    by_metric = Counter()
    values_by_name = defaultdict(set)
    pairs = Counter()
    for labels in all_labels:
        for k, v in labels:
            values_by_name[k].add(v)
            pairs[f"{k}={v}"] += 1
            if k == "__name__":
                by_metric[v] += 1
    mint, maxt = None, None
    for labels in all_labels:
        for src in store._series.get(labels, ()):
            b = src.bounds()
            if b is None:
                continue
            lo, hi = b
            if hi > now_ms:
                hi = now_ms
            if lo < now_ms - 2 * 3_600_000 and hi >= now_ms - 2 * 3_600_000:
                lo = now_ms - 2 * 3_600_000  # an endless generator: the head's window
            if lo > hi:
                continue
            mint = lo if mint is None else min(mint, lo)
            maxt = hi if maxt is None else max(maxt, hi)
    head = {
        "numSeries": len(all_labels),
        "numLabelPairs": len(pairs),
        "chunkCount": len(all_labels),
        "minTime": mint if mint is not None else 9223372036854775807,
        "maxTime": maxt if maxt is not None else -9223372036854775808,
    }
    return {
        "headStats": head,
        "seriesCountByMetricName": _top(by_metric),
        "labelValueCountByLabelName": _top({k: len(v) for k, v in values_by_name.items()}),
        "memoryInBytesByLabelName": _top({k: sum(len(x.encode()) for x in v)
                                          for k, v in values_by_name.items()}),
        "seriesCountByLabelValuePair": _top(pairs),
    }


@bp.route("/api/v1/status/tsdb", methods=("GET",))
def tsdb():
    state = get_state()
    return success(tsdb_stats(state.store, state.clock.now_ms()))


@bp.route("/api/v1/status/walreplay", methods=("GET",))
def walreplay():
    return success({"min": 0, "max": 0, "current": 0})


@bp.route("/api/v1/alertmanagers", methods=("GET",))
def alertmanagers():
    am = getattr(get_state().scenario, "alertmanagers", None)
    active = list(getattr(am, "active", None) or [])
    dropped = list(getattr(am, "dropped", None) or [])
    return success({
        "activeAlertmanagers": [{"url": u} for u in active],
        "droppedAlertmanagers": [{"url": u} for u in dropped],
    })
