"""The packaged scenarios (``mockprom/library/``): the embedded default demo and the
examples validate, build, and hold the data they promise."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import pytest

from realprom import release  # noqa: F401  (a fixture)

from mockprom.scenario.build import build_store, scenario_metadata, scenario_now_ms, scenario_targets
from mockprom.scenario.labels import Matcher
from mockprom.scenario.loader import load_scenario, load_scenarios_dir
from mockprom.scenario.model import GeneratedSeries

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "mockprom" / "library"
DEFAULT = LIBRARY / "default.yaml"
EXAMPLES = ["checkout.yaml", "node-fleet.yaml", "slo-burn.yaml", "exact-data.json", "autoscaler.yaml"]
# the incident stories (tests/test_incident_stories.py checks what they promise)
STORIES = ["memory-leak.yaml", "error-budget-burn.yaml", "noisy-neighbour.yaml", "disk-filling.yaml",
           "bad-deploy.yaml", "flapping-target.yaml", "kubernetes.yaml"]
MIN = 60_000


@pytest.fixture(scope="module")
def default():
    sc = load_scenario(DEFAULT)
    now = int(time.time() * 1000)
    return sc, build_store(sc, now), now


def sel(store, lo, hi, **eq):
    return store.select([Matcher.of(k, "=", v) for k, v in eq.items()], lo, hi)


@pytest.mark.parametrize("name", EXAMPLES + STORIES)
def test_example_validates_and_builds(name):
    sc = load_scenario(LIBRARY / name)
    store = build_store(sc, scenario_now_ms(sc))
    assert len(store) > 0
    now = scenario_now_ms(sc)
    # Every series has data somewhere in the scenario's window.
    start = sc.start.resolve(now)
    assert store.series_in_range([], min(start, 1704067200000), now + 3600_000)


def test_scenario_directory_loads_with_unique_names():
    found = load_scenarios_dir(LIBRARY)
    for name in ("checkout", "node-fleet", "slo-burn", "exact-data", "autoscaler",
                 *(Path(n).stem for n in STORIES)):
        assert name in found


def test_exact_data_is_the_bare_shape():
    data = json.loads((LIBRARY / "exact-data.json").read_text())
    assert set(data) == {"series"}
    assert all(set(s) == {"labels", "samples"} for s in data["series"])


def test_default_has_the_promised_series(default):
    sc, store, now = default
    names = {dict(l)["__name__"] for l in store.all_labels()}
    for n in ("node_cpu_seconds_total", "node_memory_MemTotal_bytes",
              "node_memory_MemAvailable_bytes", "node_filesystem_size_bytes",
              "node_filesystem_avail_bytes", "node_load1", "http_requests_total",
              "http_request_duration_seconds_bucket", "http_request_duration_seconds_sum",
              "http_request_duration_seconds_count", "up", "kube_pod_info",
              "kube_pod_status_phase", "container_cpu_usage_seconds_total",
              "container_memory_working_set_bytes"):
        assert n in names, n
    cpu = {tuple(sorted(k for k, _ in l)) for l in store.all_labels()
           if dict(l)["__name__"] == "node_cpu_seconds_total"}
    assert all({"mode", "cpu", "instance"} <= set(c) for c in cpu)
    fs = [dict(l) for l in store.all_labels() if dict(l)["__name__"] == "node_filesystem_avail_bytes"]
    assert all({"mountpoint", "fstype", "device"} <= set(l) for l in fs)
    http = [dict(l) for l in store.all_labels() if dict(l)["__name__"] == "http_requests_total"]
    assert all({"method", "code", "handler"} <= set(l) for l in http)
    assert sc.clock == "real"
    kinds = [r.kind for g in sc.rules for r in g.rules]
    assert kinds.count("recording") >= 1 and kinds.count("alerting") >= 2


def test_default_counters_increase_at_plausible_rates(default):
    sc, store, now = default
    counters = {s.metric for s in sc.series if isinstance(s, GeneratedSeries) and s.type == "counter"}
    counters |= {"http_request_duration_seconds_count", "http_request_duration_seconds_sum"}
    checked = 0
    for name in counters:
        for s in sel(store, now - 10 * MIN, now, __name__=name):
            d = np.diff(s.vals)
            assert np.sum(d < 0) <= 1, s.labels  # at most one reset in 10 minutes
            d = d[d >= 0]
            rate = d.sum() / (len(d) * sc.interval / 1000)
            assert 0 < rate < 1e7, (s.labels, rate)
            checked += 1
    assert checked > 50
    # CPU modes of one CPU add up to about one second per second.
    cpu = sel(store, now - 10 * MIN, now, __name__="node_cpu_seconds_total", instance="node-1:9100", cpu="0")
    total = sum((s.vals[-1] - s.vals[0]) / ((s.ts[-1] - s.ts[0]) / 1000) for s in cpu)
    assert total == pytest.approx(1.0, abs=0.1)


def test_default_gauges_are_plausible(default):
    sc, store, now = default
    mem_total = {dict(s.labels)["instance"]: s.vals[-1]
                 for s in sel(store, now - MIN, now, __name__="node_memory_MemTotal_bytes")}
    for s in sel(store, now - 60 * MIN, now, __name__="node_memory_MemAvailable_bytes"):
        assert np.all((s.vals > 0) & (s.vals < mem_total[dict(s.labels)["instance"]]))
    size = {(dict(s.labels)["instance"], dict(s.labels)["mountpoint"]): s.vals[-1]
            for s in sel(store, now - MIN, now, __name__="node_filesystem_size_bytes")}
    for s in sel(store, now - 60 * MIN, now, __name__="node_filesystem_avail_bytes"):
        l = dict(s.labels)
        assert np.all((s.vals > 0) & (s.vals <= size[(l["instance"], l["mountpoint"])]))
    for s in sel(store, now - 60 * MIN, now, __name__="kube_pod_status_phase"):
        assert set(np.unique(s.vals)) <= {0.0, 1.0}
    running = sel(store, now - MIN, now, __name__="kube_pod_status_phase", phase="Running")
    assert running and all(s.vals[-1] == 1 for s in running)


def test_default_histogram_is_coherent(default):
    sc, store, now = default
    buckets = sel(store, now - 5 * MIN, now, __name__="http_request_duration_seconds_bucket",
                  instance="api-0:8080", handler="/api/orders")
    buckets.sort(key=lambda s: float(dict(s.labels)["le"]))
    matrix = np.vstack([s.vals for s in buckets])
    assert np.all(np.diff(matrix, axis=0) >= 0)
    (count,) = sel(store, now - 5 * MIN, now, __name__="http_request_duration_seconds_count",
                   instance="api-0:8080", handler="/api/orders")
    np.testing.assert_array_equal(matrix[-1], count.vals)


def test_default_targets_metadata_and_one_flapping_up(default):
    sc, store, now = default
    targets = scenario_targets(sc, store, now)
    ups = {(dict(s.labels)["job"], dict(s.labels)["instance"]): s
           for s in sel(store, now - 24 * 60 * MIN, now, __name__="up")}
    assert {(t["labels"]["job"], t["labels"]["instance"]) for t in targets} == set(ups)
    flapping = [k for k, s in ups.items() if len(np.unique(s.vals)) > 1]
    assert flapping == [("api", "api-1:8080")]
    meta = scenario_metadata(sc)
    for s in sc.series:
        assert meta[s.metric][0]["help"], s.metric
    assert meta["http_request_duration_seconds"][0]["type"] == "histogram"


def test_slo_burn_errors_jump_on_schedule():
    sc = load_scenario(LIBRARY / "slo-burn.yaml")
    now = scenario_now_ms(sc)
    assert now == 1704067200000 + 2 * 3600_000
    store = build_store(sc, now)

    def ratio(t):
        r = {}
        for code in ("200", "500"):
            (s,) = sel(store, t - 5 * MIN, t, __name__="http_requests_total", code=code)
            r[code] = (s.vals[-1] - s.vals[0]) / ((s.ts[-1] - s.ts[0]) / 1000)
        return r["500"] / (r["200"] + r["500"])

    t0 = 1704067200000
    assert ratio(t0 + 50 * MIN) < 0.05 < ratio(t0 + 70 * MIN)
    (up,) = sel(store, t0, now + 60 * MIN, __name__="up")
    # "1x90 0x10 1x20": 91 ones, 11 zeros, 21 ones (axn is n+1 values).
    assert up.vals[:91].tolist() == [1] * 91 and up.vals[91:102].tolist() == [0] * 11
    assert math.isclose(up.vals[102], 1) and len(up.vals) == 91 + 11 + 21


@pytest.mark.realprom
@pytest.mark.parametrize("path", [DEFAULT] + [LIBRARY / n for n in EXAMPLES + STORIES])
def test_rules_of_shipped_scenarios_pass_promtool_check(release, path, tmp_path):
    """Every rule group of a shipped scenario is a valid Prometheus rule file, for 2.42's
    promtool and 3.5's."""
    import subprocess

    import yaml
    from realprom import require_binaries, rule_groups

    _, promtool = require_binaries(release.line)
    sc = load_scenario(path)
    if not sc.rules:
        return
    groups = rule_groups(sc)
    f = tmp_path / "rules.yaml"
    f.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    res = subprocess.run([promtool, "check", "rules", str(f)], capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"SUCCESS: {sum(len(g['rules']) for g in groups)} rules found" in res.stdout
