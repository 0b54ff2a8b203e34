"""Bad input never breaks the server: seeded random parameters and bodies sent to every
endpoint get an answer in Prometheus's dialect (an error envelope or a plain-text error
where Prometheus answers one) and never an internal error, a traceback or a hang."""

from __future__ import annotations

import gzip
import random

import pytest
import requests

from mockprom.server import MockPrometheus

T0 = 1_700_000_000
SCENARIO = {
    "name": "robustness", "clock": T0, "seed": 7, "interval": "15s", "start": T0 - 3600,
    "series": [
        {"series": 'http_requests_total{job="api", code="200"}', "values": "0+10x240"},
        {"series": 'up{job="api", instance="a:1"}', "values": "1x240"},
        {"metric": "gen_gauge", "labels": {"job": "gen"}, "generator": {"kind": "sine", "amplitude": 3, "period": "10m"}},
    ],
    "server": {"admin_api": True},
}

GET_POST = ["/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels",
            "/api/v1/label/job/values", "/api/v1/label/__name__/values", "/api/v1/format_query",
            "/api/v1/query_exemplars", "/api/v1/metadata", "/api/v1/targets/metadata",
            "/api/v1/targets", "/api/v1/rules", "/api/v1/alerts", "/federate",
            "/api/v1/admin/tsdb/delete_series", "/api/v1/admin/tsdb/snapshot"]
BODY_PATHS = ["/api/v1/write", "/api/v1/prom/write", "/metrics/job/fuzz",
              "/metrics/job@base64/Zm9v/instance/x", "/-/mockprom/scenario", "/-/mockprom/clock",
              "/-/mockprom/faults"]
PARAMS = ["query", "time", "start", "end", "step", "timeout", "match[]", "limit", "metric",
          "limit_per_metric", "match_target", "state", "type", "lookback_delta", "stats",
          "query_id", "dedup"]
ATOMS = ["", " ", "0", "-1", "1e309", "NaN", "-Inf", "1.5", "9223372036854775807",
         "2024-01-01T00:00:00Z", "2024-13-45T99:99:99Z", "5m", "-5m", "0s", "1y", "99999999999d",
         "up", "up{", "{}", '{job=""}', "sum(", "rate(up[5m])", "up[5m]", "up[5m:1s]",
         "(((((((((((up)))))))))))", "x" * 5000, "\u00e9\u2028\x00", "'", '"', "\\", "@", "offset",
         "histogram_quantile(0.9, up)", "label_replace(up, 'a', '$1', 'job', '(')",
         "count_values('le', up)", "topk(-1, up)", "absent(nonexistent)", "1/0", "--1"]


def _value(rng: random.Random) -> str:
    parts = rng.sample(ATOMS, rng.randint(1, 2))
    return "".join(parts) if rng.random() < 0.3 else parts[0]


def _params(rng: random.Random) -> list[tuple[str, str]]:
    return [(rng.choice(PARAMS), _value(rng)) for _ in range(rng.randint(0, 5))]


def _body(rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))
    if kind == 1:
        return gzip.compress(_value(rng).encode("utf-8", "surrogatepass"))
    if kind == 2:
        return ("# TYPE x counter\nx{a=\"b\"} " + _value(rng) + "\n").encode("utf-8", "surrogatepass")
    if kind == 3:
        return ('{"now": "' + _value(rng).replace('"', "") + '"}').encode()
    return _value(rng).encode("utf-8", "surrogatepass")


def _acceptable(resp: requests.Response) -> bool:
    if resp.status_code < 500:
        return True
    # Prometheus's own 5xx answers carry its error envelope (timeouts, unavailable, ...)
    try:
        body = resp.json()
    except ValueError:
        return False
    return body.get("status") == "error" and body.get("errorType") in ("timeout", "unavailable")


@pytest.fixture(scope="module")
def prom():
    with MockPrometheus(SCENARIO) as server:
        yield server


@pytest.mark.parametrize("seed", range(10))
def test_random_parameters_never_cause_an_internal_error(prom, seed):
    rng = random.Random(seed)
    with requests.Session() as http:
        for _ in range(150):
            path = rng.choice(GET_POST)
            params = _params(rng)
            if rng.random() < 0.5:
                resp = http.get(prom.url + path, params=params, timeout=30)
            else:
                resp = http.post(prom.url + path, data=params, timeout=30)
            assert _acceptable(resp), (path, params, resp.status_code, resp.text[:300])
            if resp.headers.get("Content-Type", "").startswith("application/json"):
                resp.json()  # never a truncated or malformed body
        assert http.get(prom.url + "/-/ready", timeout=5).status_code == 200


@pytest.mark.parametrize("seed", range(6))
def test_random_bodies_never_cause_an_internal_error(prom, seed):
    rng = random.Random(100 + seed)
    with requests.Session() as http:
        for _ in range(100):
            path = rng.choice(BODY_PATHS)
            method = rng.choice(["POST", "PUT", "DELETE"])
            headers = {}
            if rng.random() < 0.3:
                headers["Content-Encoding"] = rng.choice(["gzip", "snappy", "br"])
            if rng.random() < 0.3:
                headers["Content-Type"] = rng.choice(["application/x-protobuf", "application/json",
                                                      "text/plain; version=0.0.4", "application/yaml"])
            resp = http.request(method, prom.url + path, data=_body(rng), headers=headers,
                                timeout=30)
            assert _acceptable(resp), (method, path, resp.status_code, resp.text[:300])
        prom.reset()
        answer = http.get(prom.url + "/api/v1/query", params={"query": "up"}, timeout=5).json()
        assert answer["status"] == "success" and answer["data"]["result"]
