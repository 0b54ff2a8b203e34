"""mockprom's own ``/metrics`` over real HTTP: ``mockprom_http_requests_total`` counts every
request sent, once, with the status it got, including those the fault layer answered
(an injected error, a dropped connection: code "0") or altered (an ``inconsistent`` 503
around a real body, a malformed 200)."""

from __future__ import annotations

import collections

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from mockprom.server import MockPrometheus

SCENARIO = {
    "name": "selfmetrics", "clock": "2024-01-01T01:00:00Z", "interval": "15s",
    "start": "2024-01-01T00:00:00Z",
    "series": [{"series": f'up{{job="api", instance="i{i}"}}', "values": "1x300"} for i in range(3)],
}
RANGE = {"query": "up", "start": "2024-01-01T00:00:00Z", "end": "2024-01-01T00:10:00Z", "step": "60"}


def _metrics(url: str) -> tuple[dict, float]:
    text = requests.get(url + "/metrics", timeout=5).text
    counts, faults = {}, None
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "mockprom_http_requests_total":
                counts[(s.labels["endpoint"], s.labels["code"])] = s.value
            elif s.name == "mockprom_faults_injected_total":
                faults = s.value
    return counts, faults


@pytest.fixture()
def prom():
    with MockPrometheus(SCENARIO) as p:
        yield p


def test_every_request_is_counted_once_with_the_status_it_got(prom):
    url = prom.url
    sent: collections.Counter = collections.Counter()

    def get(path, endpoint, code, **params):
        r = requests.get(url + path, params=params, timeout=5)
        assert r.status_code == code, (path, r.status_code, r.text)
        sent[(endpoint, str(code))] += 1

    def dropped(path, endpoint, **params):
        with pytest.raises(requests.ConnectionError):
            requests.get(url + path, params=params, timeout=5)
        sent[(endpoint, "0")] += 1

    def add_fault(rule):  # through the control API the fault layer serves itself
        r = requests.post(url + "/-/mockprom/faults", json=rule, timeout=5)
        assert r.status_code == 201, r.text
        sent[("/-/mockprom/faults", "201")] += 1
        return r.json()["id"]

    add_fault({"match": {"endpoint": "query"}, "error": "unavailable", "times": 2})
    get("/api/v1/query", "/api/v1/query", 503, query="up")
    get("/api/v1/query", "/api/v1/query", 503, query="up")
    get("/api/v1/query", "/api/v1/query", 200, query="up")  # the rule is spent

    add_fault({"match": {"endpoint": "query_range"}, "transport": "reset", "times": 1})
    dropped("/api/v1/query_range", "/api/v1/query_range", **RANGE)
    add_fault({"match": {"endpoint": "query_range"}, "transport": "empty", "times": 1})
    dropped("/api/v1/query_range", "/api/v1/query_range", **RANGE)
    get("/api/v1/query_range", "/api/v1/query_range", 200, **RANGE)

    # the app answers, the fault layer changes the status: counted once, as sent
    add_fault({"match": {"endpoint": "series"}, "error": "inconsistent", "times": 1})
    get("/api/v1/series", "/api/v1/series", 503, **{"match[]": "up"})
    add_fault({"match": {"endpoint": "label_values"}, "transport": "malformed", "times": 1})
    get("/api/v1/label/job/values", "/api/v1/label/<name>/values", 200)
    add_fault({"match": {"endpoint": "labels"}, "warnings": ["partial"], "times": 1})
    get("/api/v1/labels", "/api/v1/labels", 200)
    rid = add_fault({"match": {"endpoint": "federate"}, "error": "too_many_requests"})
    get("/federate", "/federate", 429, **{"match[]": "up"})
    r = requests.delete(f"{url}/-/mockprom/faults/{rid}", timeout=5)
    assert r.status_code in (200, 204), r.text
    sent[("/-/mockprom/faults/<id>", str(r.status_code))] += 1
    get("/federate", "/federate", 200, **{"match[]": "up"})

    get("/api/v1/nope", "other", 404)  # unrouted, not faulted: Flask counts it
    get("/-/mockprom/requests", "/-/mockprom/requests", 200)

    counts, faults = _metrics(url)
    assert counts == {k: float(v) for k, v in sent.items()}
    assert sum(counts.values()) == sum(sent.values()) == 21
    assert faults == 8  # every fired rule (2 + 1 + 1 + 1 + 1 + 1 + 1)

    # the scrape itself is counted once it has been answered
    counts, _ = _metrics(url)
    assert counts[("/metrics", "200")] == 1
