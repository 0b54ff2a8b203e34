"""Classify a request path into the endpoint names fault rules and the journal use."""

from __future__ import annotations

CONTROL_PREFIX = "/-/mockprom/"

ENDPOINTS = (
    "query", "query_range", "series", "labels", "label_values", "metadata", "targets",
    "targets_metadata", "rules", "alerts", "alertmanagers", "status_config",
    "status_flags", "status_buildinfo", "status_runtimeinfo", "status_tsdb",
    "status_walreplay", "query_exemplars", "format_query", "parse_query", "scrape_pools",
    "notifications", "admin", "write", "read", "otlp", "push", "federate",
    "metrics",
    "health", "ready", "other",
)

_API_V1 = {
    "query": "query",
    "query_range": "query_range",
    "series": "series",
    "labels": "labels",
    "metadata": "metadata",
    "targets": "targets",
    "targets/metadata": "targets_metadata",
    "rules": "rules",
    "alerts": "alerts",
    "alertmanagers": "alertmanagers",
    "status/config": "status_config",
    "status/flags": "status_flags",
    "status/buildinfo": "status_buildinfo",
    "status/runtimeinfo": "status_runtimeinfo",
    "status/tsdb": "status_tsdb",
    "status/walreplay": "status_walreplay",
    "parse_query": "parse_query",
    "scrape_pools": "scrape_pools",
    "notifications": "notifications",
    "notifications/live": "notifications",
    "query_exemplars": "query_exemplars",
    "format_query": "format_query",
    "write": "write",
    "prom/write": "write",
    "read": "read",
    "otlp/v1/metrics": "otlp",
    "metrics": "push",  # the Pushgateway's own API lists pushed groups here
}

_PLAIN = {
    "/federate": "federate",
    "/metrics": "metrics",
    "/-/healthy": "health",
    "/-/ready": "ready",
}


def is_control(path: str) -> bool:
    """True for mockprom's own control API, which is never faulted nor journaled."""
    return path.startswith(CONTROL_PREFIX) or path == CONTROL_PREFIX.rstrip("/")


def classify(path: str) -> str:
    """The endpoint name of a request path (``other`` when it is none of the known ones).

    A prefix before ``/api/v1/`` (``/prometheus``, ``/workspaces/ws-1``) is ignored, as
    managed services put one there.
    """
    if path in _PLAIN:
        return _PLAIN[path]
    if path.startswith("/metrics/job"):
        return "push"
    marker = path.find("/api/v1/")
    if marker < 0:
        return "other"
    rest = path[marker + len("/api/v1/"):].rstrip("/")
    if rest in _API_V1:
        return _API_V1[rest]
    if rest.startswith("label/") and rest.endswith("/values"):
        return "label_values"
    if rest.startswith("admin/"):
        return "admin"
    return "other"
