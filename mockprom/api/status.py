"""Status endpoints: ``status/config``, ``flags``, ``buildinfo``, ``runtimeinfo``,
``tsdb``, ``walreplay``, and ``alertmanagers``; ``prometheus_build_info`` for ``/metrics``.
Where the emulated lines differ, ``mockprom.api.status_dialect`` says how."""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import Callable

from flask import Blueprint

from mockprom.api.context import get_state
from mockprom.api.dialect import dialect
from mockprom.api.envelope import bad_data, success
from mockprom.api.format import rfc3339_nano
from mockprom.api.status_dialect import status_dialect
from mockprom.api.tsdbstats import tsdb_stats

bp = Blueprint("status", __name__)


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
