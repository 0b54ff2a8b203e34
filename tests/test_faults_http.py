"""Fault effects and triggers observed over real HTTP, as a client sees them.

The fault layer wraps a small stand-in WSGI app (a Flask app answering like Prometheus)
served by mockprom's production server (``mockprom.serving``) on 127.0.0.1, port 0.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import urllib3
from flask import Flask, jsonify, request
from mockprom.faults import FaultEngine, FaultMiddleware, RequestJournal
from mockprom.serving import HttpServer

SERIES = 10


def standin_app() -> Flask:
    app = Flask("standin")

    @app.route("/api/v1/query", methods=["GET", "POST"])
    def query():
        expr = request.values.get("query", "")
        result = [{"metric": {"__name__": "up", "instance": f"host-{i}:9100"},
                   "value": [1704067200.5, str(i)]} for i in range(SERIES)]
        return jsonify({"status": "success",
                        "data": {"resultType": "vector", "result": result}, "echo": expr})

    @app.route("/api/v1/query_range", methods=["GET", "POST"])
    def query_range():
        return jsonify({"status": "success", "data": {"resultType": "matrix", "result": []}})

    @app.route("/api/v1/labels")
    def labels():
        return jsonify({"status": "success", "data": ["__name__", "instance"]})

    @app.route("/-/healthy")
    def healthy():
        return "Prometheus Server is Healthy.\n"

    return app


class FakeClock:
    def __init__(self):
        self.ms = 1_704_067_200_000

    def now_ms(self) -> int:
        return self.ms


class Served:
    def __init__(self):
        self.clock = FakeClock()
        self.engine = FaultEngine(seed=42, now_ms=self.clock.now_ms)
        self.journal = RequestJournal(maxlen=50)
        self.token = None
        self.fired = []
        app = standin_app()
        app.wsgi_app = FaultMiddleware(app.wsgi_app, self.engine, self.journal,
                                       authorize=self._authorize, on_fault=self.fired.append)
        self.server = HttpServer(app, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _authorize(self, environ) -> bool:
        return self.token is None or environ.get("HTTP_AUTHORIZATION") == f"Bearer {self.token}"

    def reset(self, faults=None, timeline=None, seed=42):
        self.clock.ms = 1_704_067_200_000
        self.token = None
        self.engine.load(faults or [], timeline or [], seed=seed)
        self.journal.clear()
        self.fired.clear()

    def add(self, rule: dict) -> str:
        r = requests.post(f"{self.url}/-/mockprom/faults", json=rule, timeout=5)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def query(self, expr="up", **kw):
        kw.setdefault("timeout", 5)
        return requests.get(f"{self.url}/api/v1/query", params={"query": expr}, **kw)

    def journal_entries(self, **params):
        return requests.get(f"{self.url}/-/mockprom/requests", params=params, timeout=5).json()

    def assert_healthy(self):
        """After any fault, a normal request answers correctly."""
        r = self.query("up")
        assert r.status_code == 200
        assert len(r.json()["data"]["result"]) == SERIES


@pytest.fixture(scope="module")
def served():
    s = Served()
    yield s
    s.engine.release()
    s.server.stop()


@pytest.fixture
def prom(served):
    served.reset()
    return served


def real_answer(prom, expr="up") -> dict:
    prom.engine.clear()
    answer = prom.query(expr).json()
    return answer


# --- errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,status", [
    ("bad_data", 400), ("execution", 422), ("timeout", 503), ("canceled", 503),
    ("unavailable", 503), ("internal", 500), ("too_many_requests", 429),
])
def test_error_answers_in_prometheus_dialect(prom, kind, status):
    prom.add({"error": kind})
    r = prom.query()
    assert r.status_code == status
    body = r.json()
    assert body["status"] == "error" and body["errorType"] == kind and body["error"]
    assert r.headers["Content-Type"] == "application/json"
    if status == 429:
        assert int(r.headers["Retry-After"]) >= 0
    prom.engine.clear()
    prom.assert_healthy()


def test_error_status_and_message_override(prom):
    prom.add({"error": "unavailable", "status": 502, "message": "query queue is full",
              "retry_after": "3s"})
    r = prom.query()
    assert r.status_code == 502
    assert r.json() == {"status": "error", "errorType": "unavailable",
                        "error": "query queue is full"}
    assert r.headers["Retry-After"] == "3"


def test_inconsistent_is_an_error_status_around_the_real_success_body(prom):
    expected = real_answer(prom)
    prom.add({"error": "inconsistent"})
    r = prom.query()
    assert r.status_code == 503
    assert r.json() == expected and expected["status"] == "success"
    prom.engine.clear()
    prom.assert_healthy()


def test_plain_text_endpoints_get_plain_text_errors(prom):
    prom.add({"match": {"endpoint": "health"}, "error": "unavailable"})
    r = requests.get(f"{prom.url}/-/healthy", timeout=5)
    assert r.status_code == 503 and r.headers["Content-Type"].startswith("text/plain")
    prom.assert_healthy()


# --- latency and dribble -----------------------------------------------------------------

def test_fixed_latency_delays_the_answer(prom):
    prom.add({"latency": "200ms", "times": 1})
    started = time.monotonic()
    r = prom.query()
    assert time.monotonic() - started >= 0.2
    assert r.status_code == 200 and len(r.json()["data"]["result"]) == SERIES
    started = time.monotonic()
    prom.assert_healthy()
    assert time.monotonic() - started < 0.2


def test_uniform_latency_stays_in_its_range(prom):
    prom.add({"latency": {"uniform": ["50ms", "150ms"]}, "times": 3})
    for _ in range(3):
        started = time.monotonic()
        assert prom.query().status_code == 200
        assert time.monotonic() - started >= 0.05
    durations = [e["duration_ms"] for e in prom.journal_entries()]
    assert all(45 <= d < 1000 for d in durations)


def test_dribbled_body_takes_its_duration_to_the_last_byte(prom):
    expected = real_answer(prom)
    prom.add({"dribble": {"chunks": 4, "over": "0.3s"}})
    started = time.monotonic()
    r = prom.query(stream=True)
    headers_after = time.monotonic() - started
    first_byte = r.raw.read(1)
    first_after = time.monotonic() - started
    rest = r.raw.read()
    total = time.monotonic() - started
    assert headers_after < 0.2, "headers go out at once, the body trickles"
    assert total >= 0.3
    assert total - first_after >= 0.15, "the body is spread over the duration"
    assert json.loads(first_byte + rest) == expected
    prom.engine.clear()
    prom.assert_healthy()


# --- notes and partial data --------------------------------------------------------------

def test_warnings_and_infos_are_added_to_the_real_answer(prom):
    expected = real_answer(prom)
    prom.add({"warnings": ["partial response: store 2 unreachable"], "infos": ["hint"]})
    body = prom.query().json()
    assert body["data"] == expected["data"]
    assert body["warnings"] == ["partial response: store 2 unreachable"]
    assert body["infos"] == ["hint"]


def test_drop_series_removes_a_seeded_share_with_a_warning(prom):
    expected = real_answer(prom)["data"]["result"]
    prom.add({"drop_series": 0.3})
    first = prom.query().json()
    second = prom.query().json()
    kept = first["data"]["result"]
    assert len(kept) == SERIES - 3
    assert all(series in expected for series in kept)
    assert second["data"]["result"] == kept, "the same series stay missing"
    assert any("3 of 10 series dropped" in w for w in first["warnings"])
    prom.reset(seed=7)
    prom.add({"drop_series": 0.3})
    other = prom.query().json()["data"]["result"]
    assert len(other) == SERIES - 3


# --- transport ---------------------------------------------------------------------------

def test_reset_raises_a_connection_error(prom):
    prom.add({"transport": "reset", "times": 1})
    with pytest.raises(requests.ConnectionError) as caught:
        prom.query()
    assert "reset" in repr(caught.value).lower()
    prom.assert_healthy()
    assert prom.journal_entries(endpoint="query")[0]["status"] is None


def test_empty_closes_without_a_byte(prom):
    prom.add({"transport": "empty", "times": 1})
    with socket.create_connection(("127.0.0.1", prom.server.port), timeout=5) as sock:
        sock.sendall(b"GET /api/v1/query?query=up HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024) == b""
    prom.add({"transport": "empty", "times": 1})
    with pytest.raises(requests.ConnectionError):
        prom.query()
    prom.assert_healthy()


def _raw_get(port: int, path: str) -> tuple[bytes, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head, body


def test_truncate_cuts_the_body_short_of_its_content_length(prom):
    prom.engine.clear()
    full = prom.query().content
    prom.add({"transport": "truncate", "times": 1})
    head, body = _raw_get(prom.server.port, "/api/v1/query?query=up")
    promised = int([line for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")][0].split(b":")[1])
    assert 0 < len(body) < promised
    assert promised == len(full) and full.startswith(body)
    with pytest.raises(ValueError):
        json.loads(body)
    prom.add({"transport": "truncate", "times": 1})
    with pytest.raises((requests.exceptions.ChunkedEncodingError, ValueError)):
        prom.query().json()
    prom.assert_healthy()


def test_malformed_is_invalid_json_with_200(prom):
    prom.add({"transport": "malformed", "times": 1})
    r = prom.query()
    assert r.status_code == 200
    with pytest.raises(ValueError):
        r.json()
    prom.assert_healthy()


def test_hang_holds_until_the_client_gives_up(prom):
    prom.add({"transport": "hang", "hang": "5s", "times": 1})
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        prom.query(timeout=0.3)
    assert time.monotonic() - started < 1.0
    prom.assert_healthy()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # the server notices the client went away
        entry = prom.journal_entries(endpoint="query")[0]
        if entry["duration_ms"] and entry["duration_ms"] < 2000 and entry["duration_ms"] >= 300:
            break
        time.sleep(0.05)
    assert 300 <= entry["duration_ms"] < 2000


def test_hang_is_capped_and_released_when_the_server_stops(prom):
    prom.add({"transport": "hang", "hang": "0.2s", "times": 1})
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        prom.query(timeout=5)
    assert 0.2 <= time.monotonic() - started < 2

    prom.add({"transport": "hang", "hang": "30s", "times": 1})
    threading.Timer(0.2, prom.engine.release).start()
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        prom.query(timeout=10)
    assert time.monotonic() - started < 2
    prom.reset()
    prom.assert_healthy()


# --- triggers ----------------------------------------------------------------------------

def statuses(prom, n, expr="up"):
    return [prom.query(expr).status_code for _ in range(n)]


def test_times_fails_twice_then_answers(prom):
    prom.add({"match": {"endpoint": "query"}, "error": "unavailable", "times": 2})
    assert statuses(prom, 4) == [503, 503, 200, 200]


def test_urllib3_retry_succeeds_after_times_2(prom):
    prom.add({"match": {"endpoint": "query"}, "error": "unavailable", "times": 2})
    retry = urllib3.Retry(total=3, status_forcelist=[503], backoff_factor=0,
                          respect_retry_after_header=False)
    with urllib3.PoolManager(retries=retry) as http:
        r = http.request("GET", f"{prom.url}/api/v1/query?query=up")
    assert r.status == 200 and json.loads(r.data)["status"] == "success"
    assert [e["status"] for e in prom.journal_entries()] == [503, 503, 200]


def test_after_and_every(prom):
    prom.add({"error": "internal", "after": 2})
    assert statuses(prom, 4) == [200, 200, 500, 500]
    prom.reset()
    prom.add({"error": "internal", "every": 3})
    assert statuses(prom, 6) == [200, 200, 500, 200, 200, 500]


def test_seeded_probability_repeats_its_sequence(prom):
    def run(seed):
        prom.reset(seed=seed)
        prom.add({"name": "flaky", "error": "unavailable", "probability": 0.3})
        return statuses(prom, 30)

    first, second, other = run(42), run(42), run(43)
    assert first == second
    assert first != other
    assert 0 < first.count(503) < 30


def test_probability_sequence_does_not_depend_on_other_traffic(prom):
    prom.reset(faults=[{"name": "flaky", "match": {"endpoint": "query"},
                        "error": "unavailable", "probability": 0.5}])
    alone = statuses(prom, 12)
    prom.reset(faults=[{"name": "flaky", "match": {"endpoint": "query"},
                        "error": "unavailable", "probability": 0.5}])
    mixed = []
    for _ in range(12):
        requests.get(f"{prom.url}/api/v1/labels", timeout=5)
        mixed.append(prom.query().status_code)
    assert alone == mixed


def test_window_of_wall_time_since_load(prom):
    prom.add({"error": "unavailable", "window": {"from": "0.5s", "to": "10s"}})
    assert prom.query().status_code == 200
    time.sleep(0.55)
    assert prom.query().status_code == 503


def test_window_of_scenario_time(prom):
    prom.add({"error": "unavailable",
              "window": {"start": "2024-01-01T00:05:00Z", "end": "2024-01-01T00:10:00Z"}})
    assert prom.query().status_code == 200
    prom.clock.ms += 5 * 60_000
    assert prom.query().status_code == 503
    prom.clock.ms += 5 * 60_000
    assert prom.query().status_code == 200


def test_timeline_scripts_an_outage(prom):
    prom.reset(
        faults=[{"name": "slow", "latency": "0.25s"}],
        timeline=[
            {"at": "0s", "faults": []},
            {"at": "2m", "faults": [{"match": {"endpoint": "query"}, "error": "unavailable"}]},
            {"at": "4m", "faults": ["slow"]},
            {"after_requests": 2, "faults": []},
        ],
    )
    assert statuses(prom, 2) == [200, 200]
    prom.clock.ms += 2 * 60_000
    assert statuses(prom, 2) == [503, 503]
    prom.clock.ms += 2 * 60_000
    started = time.monotonic()
    assert statuses(prom, 2) == [200, 200]
    assert time.monotonic() - started >= 0.5, "the slow step delays both requests"
    started = time.monotonic()
    assert statuses(prom, 2) == [200, 200]
    assert time.monotonic() - started < 0.25, "healthy again after 2 slow requests"
    state = requests.get(f"{prom.url}/-/mockprom/timeline", timeout=5).json()
    assert state["step"] == 3


def test_times_is_exact_under_concurrent_requests(prom):
    prom.add({"error": "unavailable", "times": 5})
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: prom.query().status_code, range(24)))
    assert codes.count(503) == 5 and codes.count(200) == 19


# --- matching ----------------------------------------------------------------------------

def test_match_fields_select_requests(prom):
    prom.add({"match": {"endpoint": "query", "method": "POST", "expr": r"rate\(",
                        "metric": "http_requests_total", "params": {"step": 15},
                        "headers": {"X-Scope-OrgID": "team-a"}},
              "error": "execution"})
    form = {"query": "rate(http_requests_total[5m])", "step": "15"}
    url = f"{prom.url}/api/v1/query"
    hdr = {"X-Scope-OrgID": "team-a"}
    assert requests.post(url, data=form, headers=hdr, timeout=5).status_code == 422
    assert requests.get(url, params=form, headers=hdr, timeout=5).status_code == 200
    assert requests.post(url, data=form, timeout=5).status_code == 200
    assert requests.post(url, data={**form, "step": "30"}, headers=hdr, timeout=5).status_code == 200
    other = {**form, "query": "rate(node_cpu_seconds_total[5m])"}
    assert requests.post(url, data=other, headers=hdr, timeout=5).status_code == 200
    # the app still reads the form body the fault layer inspected
    assert requests.post(url, data=other, headers=hdr, timeout=5).json()["echo"] == other["query"]


def test_metric_match_uses_the_parsed_expression(prom):
    prom.add({"match": {"metric": "up"}, "error": "bad_data"})
    assert prom.query('sum by (job) (rate(up{job="x"}[5m]))').status_code == 400
    assert prom.query('sum by (up) (rate(node_up[5m]))').status_code == 200
    assert prom.query('{__name__="up"}').status_code == 400
    assert prom.query('"up"').status_code == 200


def test_endpoint_any_and_lists(prom):
    prom.add({"match": {"endpoint": ["labels", "query_range"]}, "error": "internal"})
    assert requests.get(f"{prom.url}/api/v1/labels", timeout=5).status_code == 500
    assert prom.query().status_code == 200
    prom.add({"match": {"endpoint": "any"}, "error": "internal"})
    assert prom.query().status_code == 500


# --- journal -----------------------------------------------------------------------------

def test_journal_records_requests_oldest_first_without_credentials(prom):
    prom.add({"name": "boom", "match": {"expr": "boom"}, "error": "execution"})
    requests.get(f"{prom.url}/api/v1/query", params={"query": "up", "token": "s3cret"},
                 headers={"Authorization": "Bearer hunter2"}, timeout=5)
    requests.post(f"{prom.url}/api/v1/query", data={"query": "boom", "password": "pw"},
                  auth=("user", "hunter2"), timeout=5)
    requests.get(f"{prom.url}/api/v1/labels", timeout=5)
    entries = prom.journal_entries()
    assert [e["endpoint"] for e in entries] == ["query", "query", "labels"]
    first, second, third = entries
    assert first["method"] == "GET" and first["path"] == "/api/v1/query"
    assert first["expr"] == "up" and first["status"] == 200 and first["fault"] is None
    assert first["params"]["token"] == "<redacted>"
    assert second["params"] == {"query": "boom", "password": "<redacted>"}
    assert second["fault"] == "boom" and second["status"] == 422
    assert prom.fired == [{"fault": "boom", "endpoint": "query", "effects": ["error"]}]
    assert third["expr"] is None
    assert all(e["duration_ms"] is not None and e["time"] > 0 for e in entries)
    text = json.dumps(entries)
    assert "hunter2" not in text and "s3cret" not in text and "authorization" not in text.lower()
    assert "dXNlcjpodW50ZXIy" not in text  # basic auth, base64


def test_journal_filters_and_is_bounded(prom):
    for expr in ["up", "rate(x[5m])", "up"]:
        prom.query(expr)
    requests.get(f"{prom.url}/api/v1/labels", timeout=5)
    assert len(prom.journal_entries(expr="up")) == 2
    assert [e["endpoint"] for e in prom.journal_entries(endpoint="labels")] == ["labels"]
    assert [e["expr"] for e in prom.journal_entries(limit=2)] == ["up", "rate(x[5m])"]
    later = prom.journal_entries()[-1]["time"]
    assert all(e["time"] >= later for e in prom.journal_entries(since=later))
    assert prom.journal_entries(since=later + 3600) == []
    bad = requests.get(f"{prom.url}/-/mockprom/requests", params={"limit": "x"}, timeout=5)
    assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data"
    for _ in range(60):
        requests.get(f"{prom.url}/-/healthy", timeout=5)
    assert len(prom.journal_entries()) == 50  # maxlen
    assert requests.delete(f"{prom.url}/-/mockprom/requests", timeout=5).status_code == 200
    assert prom.journal_entries() == []


def test_control_endpoints_are_neither_faulted_nor_journaled(prom):
    prom.add({"error": "internal"})
    r = requests.get(f"{prom.url}/-/mockprom/faults", timeout=5)
    assert r.status_code == 200
    assert prom.journal_entries() == []


# --- control API -------------------------------------------------------------------------

def test_post_get_delete_rules(prom):
    first = prom.add({"name": "flaky-range", "match": {"endpoint": "query"},
                      "error": "unavailable", "times": 1})
    second = prom.add({"latency": "1ms"})
    prom.query()
    listed = requests.get(f"{prom.url}/-/mockprom/faults", timeout=5).json()
    assert [(r["id"], r["name"], r["hits"]) for r in listed] == [(first, "flaky-range", 1), (second, None, 0)]
    assert listed[0]["rule"]["error"] == "unavailable"
    r = requests.delete(f"{prom.url}/-/mockprom/faults/{first}", timeout=5)
    assert r.status_code == 200
    r = requests.delete(f"{prom.url}/-/mockprom/faults/{first}", timeout=5)
    assert r.status_code == 404 and r.json()["errorType"] == "not_found"
    assert requests.delete(f"{prom.url}/-/mockprom/faults", timeout=5).json() == {"deleted": 1}
    assert requests.get(f"{prom.url}/-/mockprom/faults", timeout=5).json() == []


def test_bad_rules_are_refused_with_every_problem(prom):
    r = requests.post(f"{prom.url}/-/mockprom/faults", timeout=5, json={
        "match": {"endpoint": "qurey", "methd": "GET"}, "error": "oops", "tiems": 2,
        "latency": "fast"})
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    problems = "\n".join(body["problems"])
    for needle in ["match.endpoint: unknown 'qurey'", "match.methd: unknown field",
                   "error: unknown 'oops'", "tiems: unknown field", "latency:"]:
        assert needle in problems
    r = requests.post(f"{prom.url}/-/mockprom/faults", data="{not json", timeout=5)
    assert r.status_code == 400 and r.json()["errorType"] == "bad_data"
    assert requests.get(f"{prom.url}/-/mockprom/faults", timeout=5).json() == []


def test_control_token_protects_the_fault_endpoints(prom):
    prom.token = "ctl"
    r = requests.post(f"{prom.url}/-/mockprom/faults", json={"error": "internal"}, timeout=5)
    assert r.status_code == 401 and r.json()["status"] == "error"
    assert requests.get(f"{prom.url}/-/mockprom/requests", timeout=5).status_code == 401
    r = requests.post(f"{prom.url}/-/mockprom/faults", json={"error": "internal"},
                      headers={"Authorization": "Bearer ctl"}, timeout=5)
    assert r.status_code == 201
    assert prom.query().status_code == 500


def test_a_list_of_rules_is_added_all_or_nothing(prom):
    url = f"{prom.url}/-/mockprom/faults"
    r = requests.post(url, json=[{"error": "internal", "times": 1}, {"error": "nope"}], timeout=5)
    assert r.status_code == 400 and "[1].error: unknown 'nope'" in r.json()["error"]
    assert requests.get(url, timeout=5).json() == []
    r = requests.post(url, json=[{"error": "internal", "times": 1}, {"latency": "1ms"}], timeout=5)
    assert r.status_code == 201 and len(r.json()["ids"]) == 2
    assert statuses(prom, 2) == [500, 200]
    r = requests.put(url, json={"error": "internal"}, timeout=5)
    assert r.status_code == 405 and "POST" in r.headers["Allow"]
