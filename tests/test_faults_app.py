"""The fault layer inside the real server (MockPrometheus wraps its app in it): faults
shape real PromQL answers, the scenario's faults and timeline load with it, and a
scenario with a bad rule is refused."""

from __future__ import annotations

import json

import pytest
import requests
import urllib3

from mockprom.server import MockPrometheus

INSTANCES = 10
RANGE = {"query": "sum(http_requests_total)", "start": "2024-01-01T00:00:00Z",
         "end": "2024-01-01T00:10:00Z", "step": "60"}
SCENARIO = {
    "name": "faults-app", "seed": 42, "clock": "2024-01-01T01:00:00Z", "interval": "15s",
    "start": "2024-01-01T00:00:00Z",
    "series": [{"series": f'http_requests_total{{job="api", instance="i{i}"}}',
                "values": "0+1x300"} for i in range(INSTANCES)],
    "faults": [{"name": "cpu", "match": {"metric": "node_cpu_seconds_total"},
                "error": "execution"}],
    "timeline": [
        {"at": "0s", "faults": []},
        {"at": "2m", "faults": [{"match": {"endpoint": "query_range"}, "error": "unavailable"}]},
        {"at": "4m", "faults": []},
    ],
}


@pytest.fixture(scope="module")
def server():
    with MockPrometheus(SCENARIO) as prom:
        yield prom


@pytest.fixture
def prom(server):
    server.reset()
    requests.delete(f"{server.url}/-/mockprom/requests", timeout=5)
    return server


def query(prom, expr, timeout=5):
    return requests.get(f"{prom.url}/api/v1/query", params={"query": expr}, timeout=timeout)


def add(prom, rule):
    r = requests.post(f"{prom.url}/-/mockprom/faults", json=rule, timeout=5)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_drop_series_and_warnings_shape_a_real_answer(prom):
    real = query(prom, "http_requests_total").json()
    assert len(real["data"]["result"]) == INSTANCES
    add(prom, {"match": {"metric": "http_requests_total"}, "drop_series": 0.3,
               "warnings": ["store 2 unreachable"]})
    answer = query(prom, "http_requests_total").json()
    kept = answer["data"]["result"]
    assert len(kept) == INSTANCES - 3 and all(s in real["data"]["result"] for s in kept)
    assert answer["warnings"][-1] == "store 2 unreachable"
    assert "warnings" not in query(prom, "vector(1)").json()
    requests.delete(f"{prom.url}/-/mockprom/faults", timeout=5)
    span = dict(RANGE, query="http_requests_total")
    real_matrix = requests.get(f"{prom.url}/api/v1/query_range", params=span, timeout=5).json()
    add(prom, {"match": {"endpoint": "query_range"}, "drop_series": 0.5})
    matrix = requests.get(f"{prom.url}/api/v1/query_range", params=span, timeout=5).json()
    assert matrix["data"]["resultType"] == "matrix"
    assert len(matrix["data"]["result"]) == INSTANCES // 2
    assert all(s in real_matrix["data"]["result"] for s in matrix["data"]["result"])


def test_scenario_rule_matches_the_metric_an_expression_selects(prom):
    r = query(prom, 'sum by (mode) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))')
    assert r.status_code == 422 and r.json()["errorType"] == "execution"
    assert query(prom, "sum(http_requests_total)").status_code == 200
    entry = requests.get(f"{prom.url}/-/mockprom/requests", timeout=5).json()[0]
    assert entry["fault"] == "cpu" and entry["status"] == 422 and "node_cpu" in entry["expr"]


def test_timeline_follows_the_scenario_clock(prom):
    def range_status():
        return requests.get(f"{prom.url}/api/v1/query_range", params=RANGE, timeout=5).status_code

    assert range_status() == 200
    prom.advance("2m")
    assert range_status() == 503
    prom.advance("2m")
    assert range_status() == 200


def test_urllib3_retry_gets_through_after_two_unavailable(prom):
    add(prom, {"match": {"endpoint": "query_range"}, "error": "unavailable", "times": 2})
    retry = urllib3.Retry(total=3, status_forcelist=[503], backoff_factor=0,
                          allowed_methods=None)
    with urllib3.PoolManager(retries=retry) as http:
        r = http.request("POST", f"{prom.url}/api/v1/query_range", fields=RANGE,
                         encode_multipart=False)
    assert r.status == 200
    assert json.loads(r.data)["data"]["resultType"] == "matrix"
    journal = requests.get(f"{prom.url}/-/mockprom/requests",
                           params={"endpoint": "query_range"}, timeout=5).json()
    assert [e["status"] for e in journal] == [503, 503, 200]
    assert journal[0]["expr"] == RANGE["query"] and journal[0]["method"] == "POST"


def test_transport_faults_leave_the_server_answering(prom):
    for kind in ("reset", "empty"):
        add(prom, {"transport": kind, "times": 1})
        with pytest.raises(requests.ConnectionError):
            query(prom, "vector(1)")
        assert query(prom, "vector(1)").json()["data"]["result"][0]["value"][1] == "1"


def test_reset_clears_rules_added_through_the_api(prom):
    add(prom, {"error": "internal"})
    assert query(prom, "vector(1)").status_code == 500
    assert requests.post(f"{prom.url}/-/mockprom/reset", timeout=5).status_code == 200
    assert query(prom, "vector(1)").status_code == 200
    names = [r["name"] for r in requests.get(f"{prom.url}/-/mockprom/faults", timeout=5).json()]
    assert "cpu" in names


def test_a_scenario_with_a_bad_fault_rule_is_refused_and_the_old_one_stays(prom):
    bad = dict(SCENARIO, faults=[{"error": "unavailble", "tiems": 2}])
    r = requests.put(f"{prom.url}/-/mockprom/scenario", data=json.dumps(bad), timeout=5)
    assert r.status_code == 400
    assert "unavailble" in r.text and "tiems" in r.text
    assert query(prom, 'rate(node_cpu_seconds_total[5m])').status_code == 422
    assert len(query(prom, "http_requests_total").json()["data"]["result"]) == INSTANCES


def test_stopping_the_server_releases_a_hanging_request():
    import threading
    import time

    prom = MockPrometheus({"series": []})
    add(prom, {"transport": "hang", "hang": "30s"})
    outcome = []

    def client():
        started = time.monotonic()
        try:
            query(prom, "vector(1)", timeout=10)
        except requests.RequestException as exc:
            outcome.append((type(exc), time.monotonic() - started))

    thread = threading.Thread(target=client)
    thread.start()
    time.sleep(0.2)
    stop_started = time.monotonic()
    prom.stop()
    assert time.monotonic() - stop_started < 1.0
    thread.join(5)
    assert outcome and issubclass(outcome[0][0], requests.ConnectionError)
    assert outcome[0][1] < 2.0


def test_injected_faults_are_counted_in_the_mocks_own_metrics(prom):
    def injected() -> float:
        text = requests.get(prom.url + "/metrics").text
        lines = [l for l in text.splitlines() if l.startswith("mockprom_faults_injected_total")]
        return float(lines[0].split()[-1]) if lines else 0.0

    before = injected()
    prom.add_fault({"match": {"endpoint": "query"}, "error": "unavailable", "times": 2})
    codes = [requests.get(prom.url + "/api/v1/query", params={"query": "1"}).status_code
             for _ in range(3)]
    assert codes == [503, 503, 200]
    assert injected() == before + 2
