"""The example fault scenarios (``mockprom/library/faults-*.yaml``), each telling its story over
real HTTP: an outage with an alert going pending, firing and resolving (checked against
promtool's own rule evaluation), a seeded flaky upstream, dribbled dashboard queries, and
authentication failures."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from mockprom.api.format import rfc3339_nano
from mockprom.server import MockPrometheus, to_ms
from realprom import release, require_binaries  # noqa: F401  (a fixture)

SCENARIOS = Path(__file__).resolve().parent.parent / "mockprom" / "library"
OUTAGE = SCENARIOS / "faults-outage.yaml"
DAY = "2024-05-01T"


def at(hhmm: str) -> str:
    return f"{DAY}{hhmm}:00Z"


@pytest.fixture(scope="module")
def outage():
    server = MockPrometheus(OUTAGE)
    yield server
    server.stop()


@pytest.fixture
def fresh_outage(outage):
    outage.reset()  # the timeline moves forward only: start each test at 11:55 again
    return outage


def alerts(prom) -> list[dict]:
    r = requests.get(prom.url + "/api/v1/alerts")
    assert r.status_code == 200
    return r.json()["data"]["alerts"]


def query(prom, expr: str, **params) -> requests.Response:
    return requests.get(prom.url + "/api/v1/query", params={"query": expr, **params})


def first_breach(prom) -> int:
    """Unix seconds of the first evaluation where the alert's condition holds, computed
    from the raw data (recorded series exist only up to the clock's now)."""
    doc = yaml.safe_load(OUTAGE.read_text())
    ratio = doc["rules"][0]["rules"][0]["expr"]
    r = requests.get(prom.url + "/api/v1/query_range", params={
        "query": f"({ratio}) > 0.05", "start": at("11:30"), "end": at("12:40"), "step": 60})
    assert r.status_code == 200, r.text
    (series,) = r.json()["data"]["result"]
    return int(series["values"][0][0])


def test_outage_alert_schedule(fresh_outage):
    prom = fresh_outage
    assert alerts(prom) == []  # 11:55: all is well
    breach = first_breach(prom)
    assert to_ms(at("12:00")) < breach * 1000 <= to_ms(at("12:02"))
    prom.set_time(breach + 30)
    (alert,) = alerts(prom)
    assert alert["state"] == "pending"
    assert alert["activeAt"] == rfc3339_nano(breach * 1000)
    assert alert["labels"] == {"alertname": "CheckoutErrorSpike", "job": "checkout",
                               "severity": "page"}
    assert alert["annotations"]["summary"].startswith("checkout: ")
    prom.set_time(breach + 5 * 60 - 1)  # `for: 5m` not yet elapsed
    assert [a["state"] for a in alerts(prom)] == ["pending"]
    prom.set_time(breach + 5 * 60)
    assert [a["state"] for a in alerts(prom)] == ["firing"]
    prom.set_time(at("12:23"))
    assert [a["state"] for a in alerts(prom)] == ["firing"]
    # Errors stopped at 12:20. Prometheus 3's 5m window (12:19, 12:24] holds recovered
    # samples only: resolved at 12:24 (2.42's closed window [12:19, 12:24], at 12:25).
    prom.set_time(at("12:24"))
    assert alerts(prom) == []
    prom.set_time(at("12:30"))
    assert alerts(prom) == []
    rules = requests.get(prom.url + "/api/v1/rules").json()["data"]["groups"][0]["rules"]
    assert [r["health"] for r in rules] == ["ok", "ok"]
    assert rules[1]["state"] == "inactive"


def test_outage_queries_fail_with_503_inside_the_window_only(fresh_outage):
    prom = fresh_outage
    assert query(prom, "up").status_code == 200
    prom.set_time(at("12:06"))
    for r in (query(prom, "up"), requests.get(prom.url + "/api/v1/query_range", params={
            "query": "up", "start": at("12:00"), "end": at("12:06"), "step": 60})):
        assert r.status_code == 503
        assert r.json() == {"status": "error", "errorType": "unavailable",
                            "error": "prometheus is unavailable (scripted outage)"}
    # Rules and alerts are other endpoints: an alerting client still sees the alert.
    assert [a["state"] for a in alerts(prom)] == ["firing"]
    assert requests.get(prom.url + "/api/v1/labels").status_code == 200
    prom.set_time(at("12:15"))
    r = query(prom, "up")
    assert r.status_code == 200 and r.json()["data"]["result"]
    failed = prom.requests(endpoint="query")
    assert [e["status"] for e in failed] == [200, 503, 200]
    assert failed[1]["fault"] == "outage"


def test_outage_error_spike_is_in_the_data(fresh_outage):
    prom = fresh_outage
    prom.set_time(at("12:30"))
    def rate_at(t):
        r = query(prom, 'rate(http_requests_total{code="500"}[2m])', time=at(t))
        return float(r.json()["data"]["result"][0]["value"][1])
    assert rate_at("11:50") == pytest.approx(0.1)
    assert rate_at("12:10") == pytest.approx(5)
    assert rate_at("12:28") == pytest.approx(0.1)


def test_outage_alerts_agree_with_promtool(release, tmp_path):
    """promtool evaluates the same rules over the same series (time shifted to 0) and
    checks the firing alerts mockprom, emulating that promtool's version, reports at several
    times."""
    _, promtool = require_binaries(release.line)
    with MockPrometheus(OUTAGE, version=release.version) as outage:
        _outage_alerts_agree(outage, promtool, tmp_path)


def _outage_alerts_agree(outage, promtool, tmp_path):
    doc = yaml.safe_load(OUTAGE.read_text())
    start = to_ms(doc["start"]) // 1000
    (rules_file := tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [
        {"name": g["name"], "interval": g["interval"], "rules": g["rules"]} for g in doc["rules"]]}))
    outage.reset()
    tests = []
    for hhmm in ("12:00", "12:03", "12:06", "12:07", "12:15", "12:24", "12:25", "12:40"):
        outage.set_time(at(hhmm))
        firing = [{"exp_labels": a["labels"], "exp_annotations": a["annotations"]}
                  for a in alerts(outage) if a["state"] == "firing"]
        minutes = (to_ms(at(hhmm)) // 1000 - start) // 60
        tests.append({"eval_time": f"{minutes}m", "alertname": "CheckoutErrorSpike",
                      "exp_alerts": firing})
    assert any(t["exp_alerts"] for t in tests) and any(not t["exp_alerts"] for t in tests)
    unit = {"rule_files": [str(rules_file)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": s["series"], "values": s["values"]} for s in doc["series"]],
        "alert_rule_test": tests}]}
    (test_file := tmp_path / "test.yml").write_text(yaml.safe_dump(unit))
    proc = subprocess.run([promtool, "test", "rules", str(test_file)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_flaky_upstream_fails_30_percent_deterministically():
    with MockPrometheus(SCENARIOS / "faults-flaky-upstream.yaml") as prom:
        def run() -> list[int]:
            with requests.Session() as s:
                return [s.get(prom.url + "/api/v1/query", params={"query": "up"}).status_code
                        for _ in range(60)]
        first = run()
        assert set(first) == {200, 503}
        assert 0.15 <= first.count(503) / len(first) <= 0.45
        journal = prom.requests(endpoint="query")
        assert {e["fault"] for e in journal if e["status"] == 503} == {"flaky-503"}
        assert {e["fault"] for e in journal if e["status"] == 200} == {"slow-answer"}
        assert all(e["fault_latency_ms"] > 0 for e in journal)
        assert all(e["fault_latency_ms"] >= 5 for e in journal if e["status"] == 503)
        prom.reset()
        assert run() == first  # same seed, same dice


def test_slow_dashboards_dribble_range_queries_only():
    with MockPrometheus(SCENARIOS / "faults-slow-dashboards.yaml") as prom:
        params = {"query": "sum by (handler) (rate(http_requests_total[5m]))",
                  "start": at("11:00"), "end": at("12:00"), "step": 60}
        t0 = time.monotonic()
        with requests.get(prom.url + "/api/v1/query_range", params=params, stream=True) as r:
            headers_after = time.monotonic() - t0
            body = r.raw.read()
            elapsed = time.monotonic() - t0
        assert r.status_code == 200
        assert headers_after < 0.3  # the headers come at once, the body trickles
        assert elapsed >= 0.5  # 8 chunks over 600 ms
        data = json.loads(body)
        assert len(data["data"]["result"]) == 3  # the full, correct answer
        t0 = time.monotonic()
        assert requests.get(prom.url + "/api/v1/query", params={"query": "up"}).status_code == 200
        assert time.monotonic() - t0 < 0.4
        (entry,) = prom.requests(endpoint="query_range")
        assert entry["fault"] == "slow-panels"


def test_auth_requires_the_bearer_token_and_shows_401s():
    with MockPrometheus(SCENARIOS / "faults-auth.yaml") as prom:
        url = prom.url + "/api/v1/query"
        good = {"Authorization": "Bearer demo-token-1"}
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic eDp5"}):
            r = requests.get(url, params={"query": "up"}, headers=headers)
            assert r.status_code == 401
            body = r.json()
            assert body["status"] == "error" and body["error"]
            assert "demo-token-1" not in r.text
        assert requests.get(prom.url + "/-/ready").status_code == 200
        journal = prom.requests(endpoint="query")
        assert [e["status"] for e in journal] == [401, 401, 401]


def test_auth_token_expires_twice_then_works_again():
    with MockPrometheus(SCENARIOS / "faults-auth.yaml") as prom:
        url = prom.url + "/api/v1/query"
        good = {"Authorization": "Bearer demo-token-1"}
        statuses = [requests.get(url, params={"query": "up"}, headers=good).status_code
                    for _ in range(5)]
        assert statuses == [200, 200, 401, 401, 200]  # a client must re-authenticate
        expired = prom.requests(endpoint="query")[2]
        assert expired["fault"] == "token-expired"
        r = requests.get(url, params={"query": "up"}, headers=good)
        assert r.status_code == 200 and len(r.json()["data"]["result"]) == 2
        journal = prom.requests(endpoint="query")
        assert all("demo-token-1" not in str(e) for e in journal)
