"""No request can hang or exhaust the server (issue 8, "Must not hang or exhaust").

Each test reproduces an attack that held or blew up the server before, and checks the
answer Prometheus (or the Pushgateway) gives instead. Time bounds here are generous
"does not hang" limits, not speed measurements (those live in ``bench/``)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from mockprom.server import MockPrometheus

CATASTROPHIC = "(.+)+b"  # exponential for a backtracking engine on any long value


@pytest.fixture(scope="module")
def demo():
    """The embedded default scenario: long metric names, as the report used."""
    with MockPrometheus() as prom:
        yield prom


def _timed(fn):
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


# --- 1. catastrophic regexes, timeouts -------------------------------------------------

def test_catastrophic_regex_query_answers_and_health_stays_up(demo):
    results = {}

    def query():
        results["query"] = requests.get(demo.url + "/api/v1/query", params={
            "query": f'{{__name__=~"{CATASTROPHIC}",job="api"}}'}, timeout=30)

    worker = threading.Thread(target=query)
    worker.start()
    health = requests.get(demo.url + "/-/healthy", timeout=10)
    worker.join(30)
    assert health.status_code == 200
    assert results["query"].status_code == 200
    assert results["query"].json()["data"]["result"] == []


@pytest.mark.parametrize("path, params", [
    ("/api/v1/series", {"match[]": f'{{__name__=~"{CATASTROPHIC}"}}'}),
    ("/api/v1/labels", {"match[]": f'{{__name__=~"{CATASTROPHIC}"}}'}),
    ("/federate", {"match[]": f'{{__name__=~"{CATASTROPHIC}"}}'}),
    ("/api/v1/query", {"query": f'label_replace(up, "x", "$1", "job", "{CATASTROPHIC}")'}),
])
def test_every_regex_site_is_linear(demo, path, params):
    resp = requests.get(demo.url + path, params=params, timeout=30)
    assert resp.status_code == 200


def test_fault_expr_rules_are_linear(demo):
    demo.add_fault({"match": {"expr": "(x+x+)+y"}, "error": "unavailable"})
    try:
        resp = requests.get(demo.url + "/api/v1/query", params={"query": "x" * 5000},
                            timeout=30)
        assert resp.status_code == 200  # the rule does not match: no fault, no hang
    finally:
        demo.clear_faults()


def test_go_regex_syntax_over_http(demo):
    ok = requests.get(demo.url + "/api/v1/query", params={
        "query": r'up{job=~"\\p{L}+", instance=~"[[:alnum:]].*|\\Q*\\E"}'}, timeout=10)
    assert ok.status_code == 200 and ok.json()["data"]["result"]
    bad = requests.get(demo.url + "/api/v1/query", params={"query": 'up{job=~"a{1001}"}'},
                       timeout=10)
    assert bad.status_code == 400
    assert "error parsing regexp: invalid repeat count: `{1001}`" in bad.json()["error"]


def test_timeout_bounds_a_heavy_query(demo):
    """A day of 10 s subquery steps for every series, range query: about 80 s of work;
    ``timeout=1s`` stops it as Prometheus does (503 timeout)."""
    now = time.time()
    resp, elapsed = _timed(lambda: requests.get(demo.url + "/api/v1/query_range", params={
        "query": 'quantile_over_time(0.5, {__name__=~".+"}[1d:10s])', "start": now - 86400,
        "end": now, "step": 60, "timeout": "1s"}, timeout=120))
    assert resp.status_code == 503
    assert resp.json()["errorType"] == "timeout"
    assert elapsed < 20
