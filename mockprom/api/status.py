"""Status endpoints: ``status/config``, ``flags``, ``buildinfo``, ``runtimeinfo``,
``tsdb``, ``walreplay``, ``alertmanagers``, and ``notifications`` (3.x).

What a server reports about itself differs between the emulated lines: the ``status``
behaviour table (one ``StatusDialect`` row per line, compared with a real 2.42.0 and a
real 3.5.3) holds the default flags, the runtime information fields, the configuration
defaults and how the TSDB statistics count label memory."""

from __future__ import annotations

import math
import os
import socket
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Callable, Mapping, Optional

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound

from mockprom import versions
from mockprom.api.context import get_state
from mockprom.api.dialect import dialect
from mockprom.api.envelope import bad_data, success
from mockprom.api.format import rfc3339_nano

bp = Blueprint("status", __name__)

# The flags a Prometheus 2.42 started with defaults reports (values as strings).
FLAGS_2_42 = {
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

# The flags a Prometheus 3.5.3 started with defaults reports: the same names as a real
# 3.5.3 (flags removed in 3 gone: alertmanager.timeout, storage.tsdb.retention, the
# *.use-lockfile and allow-overlapping-blocks ones; new ones added), upstream's defaults.
FLAGS_3_5 = {k: v for k, v in FLAGS_2_42.items() if k not in {
    "alertmanager.timeout", "storage.agent.use-lockfile", "storage.tsdb.allow-overlapping-blocks",
    "storage.tsdb.retention", "storage.tsdb.use-lockfile"}}
FLAGS_3_5.update({
    "agent": "false",
    "alertmanager.drain-notification-queue-on-shutdown": "true",
    "alertmanager.notification-batch-size": "256",
    "auto-gomaxprocs": "true",
    "auto-gomemlimit": "true",
    "auto-gomemlimit.ratio": "0.9",
    "config.auto-reload-interval": "30s",
    "rules.max-concurrent-evals": "4",
    "storage.agent.no-lockfile": "false",
    "storage.agent.wal-compression-type": "snappy",
    "storage.tsdb.allow-overlapping-compaction": "true",
    "storage.tsdb.delayed-compaction.max-percent": "10",
    "storage.tsdb.no-lockfile": "false",
    "storage.tsdb.retention.time": "15d",
    "storage.tsdb.samples-per-chunk": "120",
    "storage.tsdb.wal-compression-type": "snappy",
    "web.max-notifications-subscribers": "16",
    "web.remote-write-receiver.accepted-protobuf-messages":
        "prometheus.WriteRequest,io.prometheus.write.v2.Request",
})
FLAGS_3_5 = dict(sorted(FLAGS_3_5.items()))

# 3.x reports its scrape protocols and these defaults in every configuration.
SCRAPE_PROTOCOLS = ["OpenMetricsText1.0.0", "OpenMetricsText0.0.1", "PrometheusText1.0.0",
                    "PrometheusText0.0.4"]


def _config_2_42(doc: dict, otlp=None) -> dict:
    return doc


def _config_3_5(doc: dict, otlp=None) -> dict:
    """A generated configuration as Prometheus 3.5 prints it: scrape protocols, the
    runtime and OTLP sections (``otlp``: the scenario's ``server.otlp``), and 3.x's scrape
    job fields."""
    glob = dict(doc.get("global") or {})
    g = {k: glob.pop(k) for k in ("scrape_interval", "scrape_timeout") if k in glob}
    g["scrape_protocols"] = list(SCRAPE_PROTOCOLS)
    g.update(glob)
    out = {"global": g, "runtime": {"gogc": 75}}
    jobs = []
    for job in doc.get("scrape_configs") or []:
        j = {"job_name": job["job_name"], "honor_timestamps": job.get("honor_timestamps", True),
             "track_timestamps_staleness": False,
             "scrape_interval": job.get("scrape_interval"), "scrape_timeout": job.get("scrape_timeout"),
             "scrape_protocols": list(SCRAPE_PROTOCOLS),
             "always_scrape_classic_histograms": False,
             "convert_classic_histograms_to_nhcb": False,
             "metrics_path": job.get("metrics_path", "/metrics"), "scheme": job.get("scheme", "http"),
             "enable_compression": True, "metric_name_validation_scheme": "utf8",
             "metric_name_escaping_scheme": "allow-utf-8", "follow_redirects": True,
             "enable_http2": True}
        jobs.append(j)
    if jobs:
        out["scrape_configs"] = jobs
    out["otlp"] = _otlp_section(otlp)
    return out


def _otlp_section(otlp) -> dict:
    """The ``otlp:`` block as 3.5 prints it: the translation strategy, and the settings
    that differ from their defaults."""
    if otlp is None:
        return {"translation_strategy": "UnderscoreEscapingWithSuffixes"}
    defaults = type(otlp)()
    out = {k: v for k, v in otlp.model_dump().items() if v != getattr(defaults, k)}
    out["translation_strategy"] = otlp.translation_strategy
    return out


def _label_bytes_2_42(name: str, values: Mapping[str, int]) -> int:
    """memoryInBytesByLabelName of 2.42: the length of each distinct value."""
    return sum(len(v.encode()) for v in values)


def _label_bytes_3_5(name: str, values: Mapping[str, int]) -> int:
    """memoryInBytesByLabelName of 3.5: name and value (and their two length bytes) for
    every series holding the pair (measured against a real 3.5.3)."""
    n = len(name.encode())
    return sum((n + len(v.encode()) + 2) * count for v, count in values.items())


@dataclass(frozen=True)
class StatusDialect:
    flags: Mapping[str, str]
    # runtimeinfo: 3.x adds hostname, serverTime and GOMEMLIMIT, and reports GOGC
    # (its runtime.gogc configuration, 75 by default)
    runtime_host_and_memlimit: bool
    gogc: str
    config_shape: Callable[..., dict]  # (generated config, server.otlp) -> as printed
    label_bytes: Callable[[str, Mapping[str, int]], int]
    # prometheus_build_info in /metrics carries a "tags" label (3.x)
    build_info_tags: bool


STATUS = versions.table("status", {
    "2.42": StatusDialect(FLAGS_2_42, runtime_host_and_memlimit=False, gogc="",
                          config_shape=_config_2_42, label_bytes=_label_bytes_2_42,
                          build_info_tags=False),
    "3.5": StatusDialect(FLAGS_3_5, runtime_host_and_memlimit=True, gogc="75",
                         config_shape=_config_3_5, label_bytes=_label_bytes_3_5,
                         build_info_tags=True),
})


def status_dialect(gen=None) -> StatusDialect:
    gen = gen or get_state().current
    return STATUS[gen.settings.emulation]


@bp.route("/api/v1/status/config", methods=("GET",))
def config():
    import yaml

    gen = get_state().current
    doc = gen.scenario.config_doc()
    if doc is None:
        return success({"yaml": gen.scenario.config_text()})
    otlp = getattr(getattr(gen.scenario, "server", None), "otlp", None)
    doc = status_dialect(gen).config_shape(doc, otlp)
    return success({"yaml": yaml.safe_dump(doc, sort_keys=False)})


@bp.route("/api/v1/status/flags", methods=("GET",))
def flags():
    from mockprom.scenario.durations import format_duration_ms

    gen = get_state().current
    out = dict(status_dialect(gen).flags)
    out["enable-feature"] = ",".join(sorted(gen.settings.emulation.features))
    out["query.lookback-delta"] = format_duration_ms(gen.settings.lookback_ms)
    out["query.timeout"] = format_duration_ms(int(gen.settings.query_timeout_s * 1000))
    out["web.enable-admin-api"] = "true" if gen.settings.admin_api else "false"
    accepted = "web.remote-write-receiver.accepted-protobuf-messages"
    rw = getattr(getattr(gen.scenario, "server", None), "remote_write", None)
    if accepted in out and rw is not None:
        out[accepted] = ",".join(rw.accepted_protobuf_messages)
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


class BuildInfoCollector:
    """``prometheus_build_info`` for the server's own ``/metrics``: what it emulates, with
    the labels the emulated version's client_golang gives it (3.x adds ``tags``)."""

    def __init__(self, current: Callable[[], object]):
        self.current = current

    def collect(self):
        import platform

        from prometheus_client.core import GaugeMetricFamily

        try:
            gen = self.current()
        except Exception:  # no state yet (app starting): report nothing rather than fail
            return
        info = build_info(gen)
        machine = platform.machine().lower()
        labels = {"branch": info.get("branch", ""),
                  "goarch": {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine),
                  "goos": "linux", "goversion": info.get("goVersion", ""),
                  "revision": info.get("revision", "")}
        if status_dialect(gen).build_info_tags:
            labels["tags"] = "netgo,builtinassets,stringlabels"
        labels["version"] = info.get("version", "")
        family = GaugeMetricFamily(
            "prometheus_build_info", "A metric with a constant '1' value labeled by version, "
            "revision, branch, goversion from which prometheus was built, and the goos and "
            "goarch for the build.", labels=list(labels))
        family.add_metric(list(labels.values()), 1)
        yield family


@bp.route("/api/v1/status/buildinfo", methods=("GET",))
def buildinfo():
    return success(build_info(get_state().current))


def _memory_limit() -> int:
    """GOMEMLIMIT as Prometheus 3 sets it by default: 90% of the machine's memory (Go's
    "no limit", the largest int64, when it cannot be read)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(int(line.split()[1]) * 1024 * 0.9)
    except (OSError, ValueError, IndexError):
        pass
    return 2**63 - 1


@bp.route("/api/v1/status/runtimeinfo", methods=("GET",))
def runtimeinfo():
    state = get_state()
    gen = state.current
    row = status_dialect(gen)
    info = {"startTime": rfc3339_nano(int(state.started_wall * 1000)), "CWD": os.getcwd()}
    if row.runtime_host_and_memlimit:
        info["hostname"] = socket.gethostname()
        info["serverTime"] = rfc3339_nano(int(time.time() * 1000))
    info.update({
        "reloadConfigSuccess": True,
        "lastConfigTime": rfc3339_nano(int(gen.loaded_wall) * 1000),
        "corruptionCount": 0,
        "goroutineCount": threading.active_count(),
        "GOMAXPROCS": os.cpu_count() or 1,
    })
    if row.runtime_host_and_memlimit:
        info["GOMEMLIMIT"] = _memory_limit()
    info.update({"GOGC": row.gogc, "GODEBUG": "", "storageRetention": "15d"})
    return success(info)


def _top(counter: dict, n: int = 10) -> list[dict]:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"name": k, "value": int(v)} for k, v in items]


CHUNK_RANGE_MS = 2 * 3_600_000  # the head's chunk range (the block range)
SAMPLES_PER_CHUNK = 120


def _head_chunks(ts) -> int:
    """How many chunks Prometheus's head cuts for these sample times (``memSeries``'s
    append): a new chunk at each 2 h range boundary, at twice the samples per chunk, and
    at the end time it estimates once a chunk is a quarter full, so as to spread the
    range's samples over chunks of about 120 (``computeChunkEndTime``)."""
    chunks = 0
    start = next_at = 0
    count = 0
    for t in ts:
        t = int(t)
        if chunks == 0 or t >= next_at or count >= 2 * SAMPLES_PER_CHUNK:
            chunks += 1
            start, count = t, 0
            next_at = (t // CHUNK_RANGE_MS + 1) * CHUNK_RANGE_MS
        count += 1
        if count == SAMPLES_PER_CHUNK // 4:
            n = (next_at - start) / ((t - start + 1) * 4)
            if n > 1:
                next_at = int(start + (next_at - start) / math.floor(n))
    return chunks


def tsdb_stats(store, now_ms: int, limit: int = 10,
               label_bytes: Callable[[str, Mapping[str, int]], int] = _label_bytes_2_42) -> dict:
    """Head statistics and the top-``limit`` cardinality lists, computed from the store
    (ties, which Prometheus orders at random, by name)."""
    all_labels = store.all_labels()
    by_metric = Counter()
    values_by_name: dict = defaultdict(Counter)
    pairs = Counter()
    for labels in all_labels:
        for k, v in labels:
            values_by_name[k][v] += 1
            pairs[f"{k}={v}"] += 1
            if k == "__name__":
                by_metric[v] += 1
    mint, maxt = None, None
    chunks = 0
    for labels in all_labels:
        series_lo, series_hi = None, None
        for src in store._series.get(labels, ()):
            b = src.bounds()
            if b is None:
                continue
            lo, hi = b
            if hi > now_ms:
                hi = now_ms
            if lo < now_ms - CHUNK_RANGE_MS and hi >= now_ms - CHUNK_RANGE_MS:
                lo = now_ms - CHUNK_RANGE_MS  # an endless generator: the head's window
            if lo > hi:
                continue
            series_lo = lo if series_lo is None else min(series_lo, lo)
            series_hi = hi if series_hi is None else max(series_hi, hi)
        if series_lo is None:
            chunks += 1
            continue
        mint = series_lo if mint is None else min(mint, series_lo)
        maxt = series_hi if maxt is None else max(maxt, series_hi)
        ts, _ = store._merged(store._series.get(labels, ()), series_lo, series_hi)
        chunks += max(1, _head_chunks(ts))
    head = {
        "numSeries": len(all_labels),
        "numLabelPairs": len(pairs),
        "chunkCount": chunks,
        "minTime": mint if mint is not None else 9223372036854775807,
        "maxTime": maxt if maxt is not None else -9223372036854775808,
    }
    return {
        "headStats": head,
        "seriesCountByMetricName": _top(by_metric, limit),
        "labelValueCountByLabelName": _top({k: len(v) for k, v in values_by_name.items()},
                                           limit),
        "memoryInBytesByLabelName": _top({k: label_bytes(k, v)
                                          for k, v in values_by_name.items()}, limit),
        "seriesCountByLabelValuePair": _top(pairs, limit),
    }


def _tsdb_limit() -> int:
    """``status/tsdb?limit=`` (3.x): a positive integer, 10 when absent."""
    from mockprom.api.params import form_value, go_atoi

    val = form_value("limit")
    if not dialect().tsdb_limit_param or val == "":
        return 10
    try:
        limit = go_atoi(val)
    except ValueError:
        limit = 0
    if limit < 1:
        raise bad_data("limit must be a positive number")
    return limit


@bp.route("/api/v1/status/tsdb", methods=("GET",))
def tsdb():
    state = get_state()
    limit = _tsdb_limit()
    return success(tsdb_stats(state.store, state.clock.now_ms(), limit,
                              status_dialect(state.current).label_bytes))


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
