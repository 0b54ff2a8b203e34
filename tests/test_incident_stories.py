"""The incident stories of the scenario library (``mockprom/library/``): each is served by
name, its alerts go pending, fire and resolve at the times its YAML comments promise (with
both emulated versions), its key series behave as the story says, and a real Prometheus's
rule engine (``promtool test rules``, 2.42 and 3.5.3) computes the same alert states from
the same data."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from realprom import release, require_binaries, rule_groups  # noqa: F401  (a fixture)

from mockprom.scenario.build import build_store, scenario_now_ms
from mockprom.scenario.labels import Matcher
from mockprom.scenario.library import LIBRARY_DIR
from mockprom.scenario.loader import load_scenario
from mockprom.scenario.samples import is_stale
from mockprom.server import MockPrometheus

VERSIONS = ["3.5.3", "2.42.0"]
MIB = 2 ** 20
GIB = 2 ** 30


@dataclass(frozen=True)
class Story:
    """A story's promise: on ``day``, at each ``HH:MM`` of ``schedule``, the state of each
    alert (``"inactive"``, ``"pending since HH:MM"`` or ``"firing since HH:MM"``, the
    time being the alert's ``activeAt``). An alert is named ``Name`` or ``Name{l=v}``
    (the alerts of that name whose labels hold ``l="v"``)."""

    name: str
    day: str
    clock: str  # the scenario's own (fixed) clock
    end: str  # when its data ends
    schedule: dict = field(default_factory=dict)

    def at(self, hhmm: str) -> int:
        """Unix seconds of ``HH:MM[:SS]`` on the story's day (UTC)."""
        return int(dt.datetime.fromisoformat(f"{self.day}T{hhmm}+00:00").timestamp())

    def hhmm(self, unix: float) -> str:
        t = dt.datetime.fromtimestamp(unix, dt.timezone.utc)
        return t.strftime("%H:%M:%S") if t.second else t.strftime("%H:%M")


I = "inactive"

MEMORY_LEAK = Story("memory-leak", "2024-03-12", "11:05", "14:00", {
    "08:30": {"ContainerMemoryNearLimit": I, "PodOOMKilled": I},
    "09:48": {"ContainerMemoryNearLimit": I, "PodOOMKilled": I},
    "09:49": {"ContainerMemoryNearLimit": "pending since 09:49", "PodOOMKilled": I},
    "09:53": {"ContainerMemoryNearLimit": "pending since 09:49", "PodOOMKilled": I},
    "09:54": {"ContainerMemoryNearLimit": "firing since 09:49", "PodOOMKilled": I},
    "09:59": {"ContainerMemoryNearLimit": "firing since 09:49", "PodOOMKilled": I},
    "10:00": {"ContainerMemoryNearLimit": I, "PodOOMKilled": "firing since 10:00"},
    "10:09": {"ContainerMemoryNearLimit": I, "PodOOMKilled": "firing since 10:00"},
    "10:10": {"ContainerMemoryNearLimit": I, "PodOOMKilled": I},
    "10:49": {"ContainerMemoryNearLimit": "pending since 10:49", "PodOOMKilled": I},
    "10:54": {"ContainerMemoryNearLimit": "firing since 10:49", "PodOOMKilled": I},
    "11:00": {"ContainerMemoryNearLimit": I, "PodOOMKilled": "firing since 11:00"},
    "11:05": {"ContainerMemoryNearLimit": I, "PodOOMKilled": "firing since 11:00"},
    "12:54": {"ContainerMemoryNearLimit": "firing since 12:49", "PodOOMKilled": I},
    "13:00": {"ContainerMemoryNearLimit": I, "PodOOMKilled": "firing since 13:00"},
    "13:10": {"ContainerMemoryNearLimit": I, "PodOOMKilled": I},
})

FAST, SLOW = "ErrorBudgetBurn{long=1h}", "ErrorBudgetBurn{long=6h}"
ERROR_BUDGET_BURN = Story("error-budget-burn", "2024-04-08", "10:30", "14:00", {
    "05:59": {FAST: I, SLOW: I},
    "06:30": {FAST: I, SLOW: I},
    "09:52": {FAST: I, SLOW: I},
    "09:53": {FAST: I, SLOW: "pending since 09:53"},
    "10:07": {FAST: I, SLOW: "pending since 09:53"},
    "10:08": {FAST: I, SLOW: "firing since 09:53"},
    "10:30": {FAST: I, SLOW: "firing since 09:53"},
    "12:10": {FAST: I, SLOW: "firing since 09:53"},
    "12:11": {FAST: I, SLOW: I},
    "14:00": {FAST: I, SLOW: I},
})

CPU, THROTTLE_SEARCH, THROTTLE_RECO, LATENCY = ("NodeCPUSaturated", "CPUThrottlingHigh{container=search}",
                                                "CPUThrottlingHigh{container=recommendations}",
                                                "SearchLatencyHigh")


def _nn(cpu, search, reco, latency):
    return {CPU: cpu, THROTTLE_SEARCH: search, THROTTLE_RECO: reco, LATENCY: latency}


NOISY_NEIGHBOUR = Story("noisy-neighbour", "2024-05-14", "14:30", "17:00", {
    "13:59": _nn(I, I, I, I),
    "14:00": _nn(I, I, I, I),
    "14:01": _nn(I, I, I, "pending since 14:01"),
    "14:02": _nn(I, "pending since 14:02", "pending since 14:02", "pending since 14:01"),
    "14:04": _nn(I, "pending since 14:02", "pending since 14:02", "pending since 14:01"),
    "14:05": _nn("pending since 14:05", "pending since 14:02", "pending since 14:02",
                 "pending since 14:01"),
    "14:06": _nn("pending since 14:05", "pending since 14:02", "pending since 14:02",
                 "firing since 14:01"),
    "14:15": _nn("firing since 14:05", "pending since 14:02", "pending since 14:02",
                 "firing since 14:01"),
    "14:17": _nn("firing since 14:05", "firing since 14:02", "firing since 14:02",
                 "firing since 14:01"),
    "14:30": _nn("firing since 14:05", "firing since 14:02", "firing since 14:02",
                 "firing since 14:01"),
    "15:30": _nn("firing since 14:05", "firing since 14:02", "firing since 14:02",
                 "firing since 14:01"),
    "15:31": _nn(I, "firing since 14:02", "firing since 14:02", "firing since 14:01"),
    "15:33": _nn(I, "firing since 14:02", "firing since 14:02", "firing since 14:01"),
    "15:34": _nn(I, I, I, "firing since 14:01"),
    "15:35": _nn(I, I, I, I),
})

W24, C4 = "NodeFilesystemSpaceFillingUp{severity=warning}", "NodeFilesystemSpaceFillingUp{severity=critical}"
W5, C3 = "NodeFilesystemAlmostOutOfSpace{severity=warning}", "NodeFilesystemAlmostOutOfSpace{severity=critical}"


def _disk(w24, c4, w5, c3):
    return {W24: w24, C4: c4, W5: w5, C3: c3}


DISK_FILLING = Story("disk-filling", "2024-06-03", "11:30", "16:00", {
    "02:00": _disk(I, I, I, I),
    "10:20": _disk(I, I, I, I),
    "10:21": _disk("pending since 10:21", I, I, I),
    "11:20": _disk("pending since 10:21", I, I, I),
    "11:21": _disk("firing since 10:21", I, I, I),
    "11:30": _disk("firing since 10:21", I, I, I),
    "12:00": _disk("firing since 10:21", I, I, I),
    "12:01": _disk("firing since 10:21", "pending since 12:01", I, I),
    "13:01": _disk("firing since 10:21", "firing since 12:01", I, I),
    "13:40": _disk("firing since 10:21", "firing since 12:01", I, I),
    "13:41": _disk("firing since 10:21", "firing since 12:01", "pending since 13:41", I),
    "14:11": _disk("firing since 10:21", "firing since 12:01", "firing since 13:41", I),
    "14:21": _disk("firing since 10:21", "firing since 12:01", "firing since 13:41",
                   "pending since 14:21"),
    "14:51": _disk("firing since 10:21", "firing since 12:01", "firing since 13:41",
                   "firing since 14:21"),
    "15:40": _disk("firing since 10:21", "firing since 12:01", "firing since 13:41",
                   "firing since 14:21"),
})

BAD_DEPLOY = Story("bad-deploy", "2024-07-09", "14:30", "16:00", {
    "13:59": {"CheckoutLatencyHigh": I, "CheckoutErrorRateHigh": I},
    "14:02": {"CheckoutLatencyHigh": I, "CheckoutErrorRateHigh": I},
    "14:03": {"CheckoutLatencyHigh": "pending since 14:03",
              "CheckoutErrorRateHigh": "pending since 14:03"},
    "14:08": {"CheckoutLatencyHigh": "pending since 14:03",
              "CheckoutErrorRateHigh": "firing since 14:03"},
    "14:12": {"CheckoutLatencyHigh": "pending since 14:03",
              "CheckoutErrorRateHigh": "firing since 14:03"},
    "14:13": {"CheckoutLatencyHigh": "firing since 14:03",
              "CheckoutErrorRateHigh": "firing since 14:03"},
    "14:30": {"CheckoutLatencyHigh": "firing since 14:03",
              "CheckoutErrorRateHigh": "firing since 14:03"},
    "15:59": {"CheckoutLatencyHigh": "firing since 14:03",
              "CheckoutErrorRateHigh": "firing since 14:03"},
})

FLAPPING_TARGET = Story("flapping-target", "2024-08-20", "09:40", "12:00", {
    "09:29": {"TargetDown": I},
    "09:30": {"TargetDown": "pending since 09:30"},
    "09:31": {"TargetDown": "pending since 09:30"},
    "09:32": {"TargetDown": "firing since 09:30"},
    "09:34": {"TargetDown": "firing since 09:30"},  # up again: kept by keep_firing_for
    "09:36": {"TargetDown": "firing since 09:30"},
    "09:40": {"TargetDown": "firing since 09:30"},
    "09:43": {"TargetDown": "firing since 09:30"},
    "09:44": {"TargetDown": I},
    "09:55": {"TargetDown": "pending since 09:55"},
    "09:56": {"TargetDown": I},
    "10:10": {"TargetDown": "pending since 10:10"},
    "10:12": {"TargetDown": "firing since 10:10"},
    "10:19": {"TargetDown": "firing since 10:10"},
    "10:20": {"TargetDown": I},
    "10:40": {"TargetDown": "pending since 10:40"},
    "10:41": {"TargetDown": "pending since 10:40"},
    "10:42": {"TargetDown": I},
    "11:00": {"TargetDown": "pending since 11:00"},
    "11:02": {"TargetDown": "firing since 11:00"},
    "11:08": {"TargetDown": "firing since 11:00"},
    "11:09": {"TargetDown": I},
    "12:00": {"TargetDown": I},
})

STORIES = {s.name: s for s in (MEMORY_LEAK, ERROR_BUDGET_BURN, NOISY_NEIGHBOUR, DISK_FILLING,
                               BAD_DEPLOY, FLAPPING_TARGET)}
ALL_NAMES = list(STORIES) + ["kubernetes"]


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served():
    """``served(name, version)``: one MockPrometheus per story and version for the module."""
    servers: dict = {}

    def get(name: str, version: str = VERSIONS[0]) -> MockPrometheus:
        if (name, version) not in servers:
            servers[name, version] = MockPrometheus(scenario=name, version=version)
        return servers[name, version]

    yield get
    for prom in servers.values():
        prom.stop()


def api(prom, path: str, **params):
    r = requests.get(prom.url + path, params=params, timeout=60)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success", body
    return body["data"]


def query(prom, expr: str, t: int) -> list[dict]:
    return api(prom, "/api/v1/query", query=expr, time=t)["result"]


def scalar(prom, expr: str, t: int) -> float:
    """The value of an expression that gives exactly one sample."""
    result = query(prom, expr, t)
    assert len(result) == 1, (expr, result)
    return float(result[0]["value"][1])


def _key_parts(key: str) -> tuple[str, dict]:
    name, _, rest = key.partition("{")
    labels = dict(p.split("=", 1) for p in rest.rstrip("}").split(",")) if rest else {}
    return name, labels


def _matches(key: str, labels: dict) -> bool:
    name, want = _key_parts(key)
    return labels.get("alertname") == name and all(labels.get(k) == v for k, v in want.items())


def whole_story(served, story: Story) -> MockPrometheus:
    """The story's server with the clock at the end of its data (rules are evaluated up to
    the clock's now, so the recorded series of the whole story are there)."""
    prom = served(story.name)
    prom.set_time(story.at(story.end))
    return prom


def alert_states(story: Story, prom, keys) -> dict:
    """Each key's state from ``/api/v1/rules`` (the alerts of every rule), as the schedule
    writes it; and checks that the rules' own states agree with their alerts."""
    found = {k: set() for k in keys}
    for group in api(prom, "/api/v1/rules")["groups"]:
        for rule in group["rules"]:
            if rule["type"] != "alerting":
                continue
            states = {a["state"] for a in rule["alerts"]}
            expect = "firing" if "firing" in states else "pending" if states else "inactive"
            assert rule["state"] == expect, rule
            for a in rule["alerts"]:
                since = dt.datetime.fromisoformat(a["activeAt"].replace("Z", "+00:00"))
                for k in keys:
                    if _matches(k, a["labels"]):
                        found[k].add(f"{a['state']} since {story.hhmm(since.timestamp())}")
    out = {}
    for k, states in found.items():
        assert len(states) <= 1, (k, states)
        out[k] = states.pop() if states else I
    return out


# -- served by name; the schedule ------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_NAMES)
def test_story_is_in_the_library_with_a_description(name):
    from mockprom.scenario.library import entries

    entry = entries()[name]
    assert entry.path == LIBRARY_DIR / f"{name}.yaml"
    assert entry.description and "\n" not in entry.description
    text = entry.path.read_text()
    if name in STORIES:  # the file's comments promise the schedule and say the clock
        assert "Alert schedule" in text
        story = STORIES[name]
        said = re.search(r"The clock stands at (\d\d:\d\d)[;,] the data covers \d\d:\d\d to\s+#?\s*(\d\d:\d\d)",
                         text)
        assert said and said.groups() == (story.clock, story.end)


@pytest.mark.parametrize("name", list(STORIES))
@pytest.mark.parametrize("version", VERSIONS)
def test_alerts_follow_the_promised_schedule(served, name, version):
    story = STORIES[name]
    prom = served(name, version)
    prom.reset()
    assert prom.now_ms() == story.at(story.clock) * 1000  # the story's own clock
    keys = sorted({k for states in story.schedule.values() for k in states})
    seen = {}
    for hhmm in story.schedule:
        prom.set_time(story.at(hhmm))
        seen[hhmm] = alert_states(story, prom, keys)
    assert seen == story.schedule


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.mockprom(scenario=n))
                                  for n in ALL_NAMES])
def test_the_pytest_marker_serves_the_story_at_its_clock(mockprom, name):
    """The plugin's ``mockprom`` fixture with ``@pytest.mark.mockprom(scenario=<name>)``:
    /api/v1/alerts at the story's clock holds what the schedule says for that time."""
    alerts = api(mockprom, "/api/v1/alerts")["alerts"]
    if name == "kubernetes":  # a healthy cluster on the real clock
        assert alerts == []
        return
    story = STORIES[name]
    assert mockprom.now_ms() == story.at(story.clock) * 1000
    active = {k: v for k, v in story.schedule[story.clock].items() if v != I}
    assert len(alerts) == len(active)
    for key, state in active.items():
        (alert,) = [a for a in alerts if _matches(key, a["labels"])]
        assert alert["state"] == state.split()[0]
        assert alert["annotations"]["summary"]


# -- the story in the data -------------------------------------------------------------------


def test_memory_leak_grows_to_the_limit_and_restarts(served):
    s = MEMORY_LEAK
    prom = whole_story(served, s)
    sel = '{namespace="shop", pod="cart-7d9f8b6c5-x2x9k", container="cart"}'
    ws = f"container_memory_working_set_bytes{sel}"
    limit = scalar(prom, f'kube_pod_container_resource_limits{{resource="memory", pod="cart-7d9f8b6c5-x2x9k"}}', s.at("09:00"))
    assert limit == 512 * MIB
    assert 230 * MIB < scalar(prom, ws, s.at("08:30")) < 251 * MIB  # steady before the leak
    # From 09:00: +272MiB an hour (linear), up to 99.5% of the limit, back to 240MiB.
    assert scalar(prom, f"deriv({ws}[20m])", s.at("09:40")) == pytest.approx(272 * MIB / 3600)
    for hour in ("10:00", "11:00", "12:00", "13:00"):
        peak = scalar(prom, f"max_over_time({ws}[1h])", s.at(hour) - 1)
        assert 0.995 < peak / limit < 1
        assert scalar(prom, ws, s.at(hour)) == 240 * MIB
    restarts = f"kube_pod_container_status_restarts_total{sel}"
    assert [scalar(prom, restarts, s.at(t)) for t in ("09:59", "10:00", "11:00", "12:30", "13:59")] \
        == [0, 1, 2, 3, 4]
    assert scalar(prom, f"changes({restarts}[6h])", s.at("14:00")) == 4
    reason = f'kube_pod_container_status_last_terminated_reason{{pod="cart-7d9f8b6c5-x2x9k"}}'
    assert query(prom, reason, s.at("09:59")) == []
    (r,) = query(prom, reason, s.at("10:00"))
    assert r["metric"]["reason"] == "OOMKilled"
    assert scalar(prom, f'kube_pod_container_status_last_terminated_exitcode{sel}', s.at("12:00")) == 137
    # the neighbour stays well inside its limit and never restarts
    assert scalar(prom, 'max_over_time(container_memory_working_set_bytes{pod=~"catalog.*"}[5h])',
                  s.at("14:00")) < 0.4 * 1024 * MIB
    assert scalar(prom, 'kube_pod_container_status_restarts_total{pod=~"catalog.*"}', s.at("14:00")) == 0


def test_error_budget_burn_ratios(served):
    s = ERROR_BUDGET_BURN
    prom = whole_story(served, s)

    def ratio(window, hhmm):
        return scalar(prom, f'job:slo_errors_per_request:ratio_rate{window}{{job="api"}}', s.at(hhmm))

    assert ratio("5m", "05:00") == pytest.approx(0.0005)
    assert ratio("5m", "08:00") == pytest.approx(0.009)
    assert ratio("5m", "13:00") == pytest.approx(0.0005)
    # the fast pair never trips: 0.9% < 14.4 x 0.1%
    assert scalar(prom, 'max_over_time(job:slo_errors_per_request:ratio_rate1h{job="api"}[14h])',
                  s.at("14:00")) < 0.0144
    # the slow pair: the 30m ratio crosses 0.6% at 06:20, the 6h one at 09:53
    assert ratio("30m", "06:19") < 0.006 < ratio("30m", "06:20")
    assert ratio("6h", "09:52") < 0.006 < ratio("6h", "09:53")
    # the recovery: the 30m ratio falls under 0.6% at 12:11, the 6h one stays above it
    assert ratio("30m", "12:10") > 0.006 > ratio("30m", "12:11")
    assert ratio("6h", "14:00") > 0.006
    total = 'sum(rate(http_requests_total{job="api"}[5m]))'
    assert scalar(prom, total, s.at("08:00")) == pytest.approx(200)


def test_noisy_neighbour_saturates_the_node_and_throttles_its_neighbours(served):
    s = NOISY_NEIGHBOUR
    prom = whole_story(served, s)

    def util(node, hhmm):
        return scalar(prom, f'instance:node_cpu_utilisation:rate5m{{instance="{node}"}}', s.at(hhmm))

    assert util("worker-3", "13:30") == pytest.approx(0.3)
    assert util("worker-3", "14:30") == pytest.approx(0.97)
    assert util("worker-3", "16:30") == pytest.approx(0.3)
    assert util("worker-2", "14:30") == pytest.approx(0.25)
    cpu = 'sum by (pod) (rate(container_cpu_usage_seconds_total{namespace="reports"}[5m]))'
    assert query(prom, cpu, s.at("13:30")) == []
    (batch,) = query(prom, cpu, s.at("14:30"))
    assert batch["metric"]["pod"].startswith("report-builder-") and \
        float(batch["value"][1]) == pytest.approx(6.9)
    throttled = ('sum by (container) (rate(container_cpu_cfs_throttled_periods_total[5m]))'
                 ' / sum by (container) (rate(container_cpu_cfs_periods_total[5m]))')

    def shares(hhmm):
        return {r["metric"]["container"]: round(float(r["value"][1]), 4)
                for r in query(prom, throttled, s.at(hhmm))}

    assert shares("13:30") == {"search": 0.02, "recommendations": 0.04}
    assert shares("14:30") == {"search": 0.55, "recommendations": 0.62}
    p99 = 'job:http_request_duration_seconds:p99_rate5m{job="search"}'
    assert scalar(prom, p99, s.at("13:30")) == pytest.approx(0.2426, abs=1e-4)
    assert scalar(prom, p99, s.at("14:30")) == pytest.approx(1.5625)
    psi = 'rate(node_pressure_cpu_waiting_seconds_total{instance="worker-3"}[5m])'
    assert scalar(prom, psi, s.at("14:30")) > 10 * scalar(prom, psi, s.at("13:30"))
    phase = 'kube_pod_status_phase{namespace="reports"} == 1'
    assert [r["metric"]["phase"] for r in query(prom, phase, s.at("15:00"))] == ["Running"]
    assert [r["metric"]["phase"] for r in query(prom, phase, s.at("15:45"))] == ["Succeeded"]


def test_disk_filling_declines_linearly_until_full(served):
    s = DISK_FILLING
    prom = whole_story(served, s)
    data = 'node_filesystem_avail_bytes{instance="db-1", mountpoint="/var/lib/postgresql"}'
    free = f'{data} / node_filesystem_size_bytes{{instance="db-1", mountpoint="/var/lib/postgresql"}}'
    assert scalar(prom, free, s.at("01:00")) == pytest.approx(0.40, abs=0.001)
    assert scalar(prom, f"deriv({data}[1h])", s.at("06:00")) == pytest.approx(-4473924)  # 15GiB/h
    levels = [scalar(prom, free, s.at(t)) for t in ("02:00", "06:00", "10:00", "12:00", "14:00", "15:20")]
    assert levels == sorted(levels, reverse=True) and 0 < levels[-1] < 0.001
    assert scalar(prom, data, s.at("15:20:30")) == 0 == scalar(prom, data, s.at("15:59"))
    # predict_linear sees the end coming: at 11:30, empty in 3.84 hours (at 15:20)
    assert scalar(prom, f"predict_linear({data}[6h], 3.8 * 3600)", s.at("11:30")) > 0
    assert scalar(prom, f"predict_linear({data}[6h], 3.9 * 3600)", s.at("11:30")) < 0
    # the cause: archiving stopped at 02:00, failures climb
    archived = 'increase(pg_stat_archiver_archived_count{instance="db-1:9187"}[1h])'
    assert scalar(prom, archived, s.at("01:30")) > 900 and scalar(prom, archived, s.at("05:00")) == 0
    assert scalar(prom, 'increase(pg_stat_archiver_failed_count{instance="db-1:9187"}[1h])',
                  s.at("05:00")) == pytest.approx(60, abs=0.1)
    # every other filesystem is fine
    others = ('node_filesystem_avail_bytes / node_filesystem_size_bytes < 0.3 unless '
              'on (instance, mountpoint) node_filesystem_avail_bytes{instance="db-1", mountpoint="/var/lib/postgresql"}')
    assert query(prom, others, s.at("15:00")) == []


def test_bad_deploy_changes_version_latency_and_errors(served):
    s = BAD_DEPLOY
    prom = whole_story(served, s)
    versions = 'count by (version) (checkout_build_info{job="checkout"})'

    def by_version(hhmm):
        return {r["metric"]["version"]: float(r["value"][1]) for r in query(prom, versions, s.at(hhmm))}

    assert by_version("13:59") == {"1.8.2": 3}
    assert by_version("14:00:30") == {"1.8.2": 2, "1.9.0": 1}  # the rollout, a pod a minute
    assert by_version("14:01:30") == {"1.8.2": 1, "1.9.0": 2}
    assert by_version("14:03") == {"1.9.0": 3}  # the old pods' series are stale
    generation = 'kube_deployment_status_observed_generation{deployment="checkout"}'
    assert scalar(prom, generation, s.at("13:59")) == 41 and scalar(prom, generation, s.at("14:00")) == 42
    assert scalar(prom, f"changes({generation}[3h])", s.at("16:00")) == 1
    updated = 'kube_deployment_status_replicas_updated{deployment="checkout"}'
    assert [scalar(prom, updated, s.at(t)) for t in ("13:59", "14:00", "14:01", "14:02")] == [3, 1, 2, 3]
    p99 = 'job:http_request_duration_seconds:p99_rate5m{job="checkout"}'
    before = [scalar(prom, p99, s.at(f"{h}:{m:02d}")) for h in ("12", "13") for m in range(10, 60, 10)]
    after = [scalar(prom, p99, s.at(f"{h}:{m:02d}")) for h in ("14", "15") for m in range(10, 60, 10)]
    assert max(before) < 0.25 and min(after) > 0.6
    errors = 'job:http_requests_errors:ratio_rate5m{job="checkout"}'
    assert scalar(prom, errors, s.at("13:00")) < 0.002
    assert scalar(prom, errors, s.at("15:00")) == pytest.approx(0.025, abs=0.003)
    traffic = 'sum(rate(http_requests_total{job="checkout"}[5m]))'
    assert scalar(prom, traffic, s.at("13:00")) == pytest.approx(100, rel=0.03)
    assert scalar(prom, traffic, s.at("15:00")) == pytest.approx(100, rel=0.03)


def test_flapping_target_flaps_and_the_alert_keeps_firing_between(served):
    s = FLAPPING_TARGET
    prom = whole_story(served, s)
    up = 'up{instance="10.0.3.17:8080"}'
    assert scalar(prom, f"changes({up}[3h])", s.at("12:00")) == 12  # six outages
    assert scalar(prom, f"count_over_time(({up} == 0)[3h:15s])", s.at("12:00")) == 68
    assert [float(r["value"][1]) for r in query(prom, 'min_over_time(up{instance!="10.0.3.17:8080"}[3h])',
                                                s.at("12:00"))] == [1, 1]
    assert scalar(prom, f'max_over_time(scrape_duration_seconds{{instance="10.0.3.17:8080"}}[5m])',
                  s.at("09:33")) == 10  # the scrape timeout
    # /api/v1/targets follows `up`
    def health(hhmm):
        prom.set_time(s.at(hhmm))
        (t,) = [t for t in api(prom, "/api/v1/targets")["activeTargets"]
                if t["labels"]["instance"] == "10.0.3.17:8080"]
        return t["health"]

    assert [health(t) for t in ("09:29", "09:31", "09:34")] == ["up", "down", "up"]
    # keep_firing_for: up again at 09:34:30, the alert still fires and says since when
    prom.set_time(s.at("09:34:30"))
    (alert,) = api(prom, "/api/v1/alerts")["alerts"]
    assert alert["state"] == "firing" and alert["keepFiringSince"] == "2024-08-20T09:34:00Z"
    (rule,) = [r for g in api(prom, "/api/v1/rules")["groups"] for r in g["rules"]]
    assert rule["duration"] == 120 and rule["keepFiringFor"] == 300


def test_kubernetes_cluster_is_complete_and_quiet(served):
    prom = served("kubernetes")
    now = prom.now_ms() // 1000
    assert abs(now - dt.datetime.now(dt.timezone.utc).timestamp()) < 600  # the real clock
    pods = query(prom, "kube_pod_info", now)
    assert len(pods) == 10 and {p["metric"]["node"] for p in pods} == {"worker-1", "worker-2", "worker-3"}
    assert {p["metric"]["namespace"] for p in pods} == {"kube-system", "monitoring", "shop", "payments"}
    running = query(prom, 'sum(kube_pod_status_phase{phase="Running"})', now)
    assert float(running[0]["value"][1]) == 10
    mismatch = 'kube_deployment_spec_replicas != kube_deployment_status_replicas_available'
    assert query(prom, mismatch, now) == [] and len(query(prom, "kube_deployment_spec_replicas", now)) == 5
    ready = 'kube_node_status_condition{condition="Ready", status="true"} == 1'
    assert len(query(prom, ready, now)) == 3
    # the mixin's recording rules join cAdvisor to kube-state-metrics: a node per container
    cpu = query(prom, "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_irate", now)
    assert len(cpu) == 10 and all(r["metric"]["node"].startswith("worker-") for r in cpu)
    assert all(0 < float(r["value"][1]) < 1 for r in cpu)
    owners = query(prom, "namespace_workload_pod:kube_pod_owner:relabel", now)
    assert {r["metric"]["workload"] for r in owners} == {"coredns", "kube-state-metrics", "frontend",
                                                          "cart", "payments-api"}
    requests_ = {r["metric"]["namespace"]: float(r["value"][1])
                 for r in query(prom, "namespace_cpu:kube_pod_container_resource_requests:sum", now)}
    assert requests_ == pytest.approx({"kube-system": 0.2, "monitoring": 0.1, "shop": 1.15, "payments": 1.0})
    util = query(prom, "instance:node_cpu_utilisation:rate5m", now)
    assert len(util) == 3 and all(0.05 < float(r["value"][1]) < 0.3 for r in util)
    # the standard alerts stay silent, now and over the past day
    for t in (now, now - 6 * 3600, now - 86400):
        prom.set_time(t)
        rules = [r for g in api(prom, "/api/v1/rules")["groups"] for r in g["rules"]]
        assert {r["health"] for r in rules} == {"ok"}
        assert [r["state"] for r in rules if r["type"] == "alerting"] == ["inactive"] * 5


# -- a real Prometheus computes the same -----------------------------------------------------


def _selector(labels: dict) -> str:
    inner = ", ".join(f'{k}={json.dumps(v)}' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{labels.get('__name__', '')}{{{inner}}}"


def _input_series(sc, t0_ms: int, t1_ms: int) -> list[dict]:
    """Every series of the scenario in [t0, t1], on its interval grid from t0, in the
    promtool notation (``_`` where a series has no sample, ``stale`` for markers)."""
    store = build_store(sc, scenario_now_ms(sc))
    step = sc.interval
    n = (t1_ms - t0_ms) // step + 1
    out = []
    for labels in store.all_labels():
        (data,) = store.select([Matcher.of(k, "=", v) for k, v in labels], t0_ms, t1_ms)
        values = ["_"] * n
        for t, v in zip(data.ts.tolist(), data.vals.tolist()):
            assert (t - t0_ms) % step == 0, (labels, t)  # on the grid
            values[(t - t0_ms) // step] = "stale" if is_stale(v) else repr(float(v))
        if any(v != "_" for v in values):
            out.append({"series": _selector(dict(labels)), "values": " ".join(values)})
    return out


@pytest.mark.realprom
@pytest.mark.parametrize("name", list(STORIES))
def test_promtool_computes_the_same_alerts(release, name, tmp_path):
    """The story's series exported (time shifted so that the scenario's start is 0) and
    its rule file, run by ``promtool test rules`` of the release mockprom emulates: at
    every time of the schedule, the ALERTS series (alert labels and state),
    ALERTS_FOR_STATE (activeAt) and the firing alerts' labels and annotations are those
    mockprom reports on /api/v1/rules."""
    _, promtool = require_binaries(release.line)
    story = STORIES[name]
    sc = load_scenario(LIBRARY_DIR / f"{name}.yaml")
    t0 = sc.start.resolve(scenario_now_ms(sc))
    times = sorted(story.at(h) * 1000 for h in story.schedule)
    alertnames = sorted({r.alert for g in sc.rules for r in g.rules if r.alert})
    expr_tests, alert_tests, states = [], [], set()
    with MockPrometheus(scenario=name, version=release.version) as prom:
        for t in times:
            prom.set_time(t // 1000)
            alerts = [a for g in api(prom, "/api/v1/rules")["groups"] for r in g["rules"]
                      if r["type"] == "alerting" for a in r["alerts"]]
            states |= {a["state"] for a in alerts}
            at = f"{(t - t0) // 1000}s"
            expr_tests.append({"expr": "ALERTS", "eval_time": at, "exp_samples": [
                {"labels": _selector({**a["labels"], "__name__": "ALERTS", "alertstate": a["state"]}),
                 "value": 1} for a in alerts]})
            expr_tests.append({"expr": "ALERTS_FOR_STATE", "eval_time": at, "exp_samples": [
                {"labels": _selector({**a["labels"], "__name__": "ALERTS_FOR_STATE"}),
                 "value": dt.datetime.fromisoformat(a["activeAt"].replace("Z", "+00:00")).timestamp()
                 - t0 / 1000} for a in alerts]})
            for alertname in alertnames:
                alert_tests.append({"eval_time": at, "alertname": alertname, "exp_alerts": [
                    {"exp_labels": a["labels"], "exp_annotations": a["annotations"]}
                    for a in alerts if a["state"] == "firing" and a["labels"]["alertname"] == alertname]})
    assert states == {"pending", "firing"}  # the comparison covers both states
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": rule_groups(sc)}, sort_keys=False))
    unit = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": f"{sc.interval // 1000}s",
        "input_series": _input_series(sc, t0, times[-1]),
        "promql_expr_test": expr_tests,
        "alert_rule_test": alert_tests}]}
    (tmp_path / "test.yml").write_text(yaml.safe_dump(unit, sort_keys=False, width=1 << 30))
    out = subprocess.run([promtool, "test", "rules", "test.yml"], capture_output=True, text=True,
                         cwd=tmp_path, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-6000:]
    assert "SUCCESS" in out.stdout + out.stderr
