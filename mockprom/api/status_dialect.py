"""What a server reports about itself where the emulated lines differ: the ``status``
behaviour table (``mockprom.versions``), one ``StatusDialect`` row per line: the default
flags, the runtime information fields, the configuration defaults, how the TSDB statistics
count label memory, and the labels of ``prometheus_build_info``. Compared with a real
2.42.0 and a real 3.5.3 (``tests/test_status_realprom.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from mockprom import versions
from mockprom.api.context import get_state

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


def label_bytes_2_42(name: str, values: Mapping[str, int]) -> int:
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
                          config_shape=_config_2_42, label_bytes=label_bytes_2_42,
                          build_info_tags=False),
    "3.5": StatusDialect(FLAGS_3_5, runtime_host_and_memlimit=True, gogc="75",
                         config_shape=_config_3_5, label_bytes=_label_bytes_3_5,
                         build_info_tags=True),
})


def status_dialect(gen=None) -> StatusDialect:
    gen = gen or get_state().current
    return STATUS[gen.settings.emulation]
