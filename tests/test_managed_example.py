"""The managed-service example: ``managed-service`` (basic auth: account id
and token) and ``managed-bearer`` (the token as a bearer token) behave like
a managed Prometheus: credentials on every API, remote write on ``/api/v1/prom/write``,
Pushgateway pushes, open health endpoints. The clients of ``docs/managed-service.md`` are
run against them."""

from __future__ import annotations

import base64
import re
import time
import urllib.error
from pathlib import Path

import pytest
import requests
import yaml

from mockprom.ingest.remote_write import encode
from mockprom.scenario.loader import load_scenario
from mockprom.server import MockPrometheus

ROOT = Path(__file__).resolve().parents[1]
BASIC_FILE = ROOT / "mockprom" / "library" / "managed-service.yaml"
BEARER_FILE = ROOT / "mockprom" / "library" / "managed-bearer.yaml"
DOC = ROOT / "docs" / "managed-service.md"

# The credentials as the example files document them (never repeated here).
BASIC = yaml.safe_load(BASIC_FILE.read_text())["auth"]
BEARER = yaml.safe_load(BEARER_FILE.read_text())["auth"]
ACCOUNT, TOKEN = BASIC["username"], BASIC["password"]

# The API a managed service documents: (method, path, params).
MANAGED_API = [
    ("GET", "/api/v1/query", {"query": "up"}),
    ("POST", "/api/v1/query", {"query": "up"}),
    ("GET", "/api/v1/query_range", {"query": "up", "start": "-5m", "end": "now", "step": "1m"}),
    ("GET", "/api/v1/series", {"match[]": "up"}),
    ("GET", "/api/v1/labels", {}),
    ("GET", "/api/v1/label/job/values", {}),
    ("POST", "/api/v1/prom/write", None),
    ("PUT", "/metrics/job/nightly", None),
]


def call(url: str, method: str, path: str, params, **kwargs) -> requests.Response:
    params = dict(params or {})
    if params.get("start") == "-5m":  # a window ending at the server's real-time now
        now = time.time()
        params.update(start=now - 300, end=now)
    if method == "GET":
        return requests.get(url + path, params=params, timeout=10, **kwargs)
    if path.endswith("/write"):
        return requests.post(url + path, data=encode([]), timeout=10, **kwargs)
    if path.startswith("/metrics/job/"):
        return requests.request(method, url + path, data=b"", timeout=10, **kwargs)
    return requests.request(method, url + path, data=params, timeout=10, **kwargs)


def data(r: requests.Response):
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", (r.status_code, body)
    return body["data"]


def basic_header(user: str, password: str) -> dict:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture(scope="module")
def managed():
    with MockPrometheus(scenario=str(BASIC_FILE)) as prom:
        yield prom


@pytest.fixture(scope="module")
def managed_bearer():
    with MockPrometheus(scenario=str(BEARER_FILE)) as prom:
        yield prom


def test_both_examples_validate_and_hold_the_same_data():
    basic, bearer = load_scenario(BASIC_FILE), load_scenario(BEARER_FILE)
    assert (basic.auth.type, bearer.auth.type) == ("basic", "bearer")
    assert bearer.auth.token == basic.auth.password  # one instance token, two ways to send it
    assert basic.series == bearer.series


WRONG_BASIC = {
    "no credentials": {},
    "wrong token": basic_header(ACCOUNT, TOKEN + "x"),
    "wrong account": basic_header("1300000002", TOKEN),
    "token as bearer": {"Authorization": f"Bearer {TOKEN}"},
    "garbage": {"Authorization": "Basic %%%"},
}


@pytest.mark.parametrize("method, path, params", MANAGED_API)
@pytest.mark.parametrize("who", list(WRONG_BASIC))
def test_wrong_credentials_get_401_and_the_json_envelope(managed, method, path, params, who):
    r = call(managed.url, method, path, params, headers=WRONG_BASIC[who])
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    body = r.json()
    assert body["status"] == "error" and body["errorType"] == "unauthorized"
    assert body["error"] and TOKEN not in body["error"]


@pytest.mark.parametrize("method, path, params", MANAGED_API)
def test_account_id_and_token_are_accepted(managed, method, path, params):
    r = call(managed.url, method, path, params, auth=(ACCOUNT, TOKEN))
    assert r.status_code in (200, 204), (r.status_code, r.text)


def test_queries_answer_the_example_series(managed):
    auth = (ACCOUNT, TOKEN)
    scenario = yaml.safe_load(BASIC_FILE.read_text())
    names = sorted({s["metric"] for s in scenario["series"]})
    got = data(requests.get(managed.url + "/api/v1/label/__name__/values", auth=auth))
    assert [n for n in got if n in names] == names
    up = data(requests.get(managed.url + "/api/v1/query", params={"query": "up"}, auth=auth))
    assert sorted(s["metric"]["instance"] for s in up["result"]) == [
        "checkout-0:8080", "checkout-1:8080", "checkout-2:8080"]
    rate = data(requests.post(managed.url + "/api/v1/query", auth=auth, data={
        "query": 'sum by (code) (rate(http_requests_total{job="checkout"}[5m]))'}))
    assert {s["metric"]["code"] for s in rate["result"]} == {"200", "500"}


def test_health_endpoints_are_open(managed, managed_bearer):
    for prom in (managed, managed_bearer):
        for path in ("/-/healthy", "/-/ready"):
            assert requests.get(prom.url + path, timeout=10).status_code == 200


def test_remote_write_on_the_managed_path(managed):
    now_ms = int(time.time() * 1000)
    labels = {"__name__": "edge_requests_total", "job": "edge", "region": "ap-guangzhou"}
    body = encode([(labels, [(now_ms - 2000, 41.0), (now_ms - 1000, 42.0)])])
    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
    url = managed.url + "/api/v1/prom/write"

    refused = requests.post(url, data=body, headers=headers, timeout=10)
    assert refused.status_code == 401
    query = {"query": "edge_requests_total", "time": now_ms / 1000}
    assert data(requests.get(managed.url + "/api/v1/query", params=query,
                             auth=(ACCOUNT, TOKEN)))["result"] == []

    r = requests.post(url, data=body, headers=headers, auth=(ACCOUNT, TOKEN), timeout=10)
    assert r.status_code == 204, r.text
    res = data(requests.get(managed.url + "/api/v1/query", params=query, auth=(ACCOUNT, TOKEN)))
    assert [(s["metric"], s["value"][1]) for s in res["result"]] == [(labels, "42")]


def test_push_with_basic_auth_handler(managed):
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
    from prometheus_client.exposition import basic_auth_handler

    registry = CollectorRegistry()
    Gauge("nightly_rows_exported", "Rows exported.", registry=registry).set(1234)

    with pytest.raises(urllib.error.HTTPError) as refused:
        push_to_gateway(managed.url, job="nightly-export", registry=registry)
    assert refused.value.code == 401

    def handler(url, method, timeout, headers, data):  # as docs/managed-service.md shows
        return basic_auth_handler(url, method, timeout, headers, data, ACCOUNT, TOKEN)

    push_to_gateway(managed.url, job="nightly-export", registry=registry, handler=handler)
    res = data(requests.get(managed.url + "/api/v1/query", auth=(ACCOUNT, TOKEN),
                            params={"query": 'nightly_rows_exported{job="nightly-export"}'}))
    assert [s["value"][1] for s in res["result"]] == ["1234"]


# -- the bearer variant ----------------------------------------------------------------------

def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("headers", [{}, bearer(BEARER["token"] + "x"),
                                     basic_header(ACCOUNT, TOKEN)],
                         ids=["none", "wrong token", "basic auth"])
def test_bearer_example_refuses_other_credentials(managed_bearer, headers):
    for method, path, params in MANAGED_API:
        r = call(managed_bearer.url, method, path, params, headers=headers)
        assert r.status_code == 401, path
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert r.json()["errorType"] == "unauthorized"


def test_bearer_example_accepts_the_token_for_query_write_and_push(managed_bearer):
    from prometheus_client import CollectorRegistry, Gauge, push_to_gateway
    from prometheus_client.exposition import default_handler

    auth = bearer(BEARER["token"])
    for method, path, params in MANAGED_API:
        r = call(managed_bearer.url, method, path, params, headers=auth)
        assert r.status_code in (200, 204), (path, r.status_code, r.text)

    now_ms = int(time.time() * 1000)
    labels = {"__name__": "bearer_written", "job": "w"}
    r = requests.post(managed_bearer.url + "/api/v1/prom/write", headers=auth, timeout=10,
                      data=encode([(labels, [(now_ms, 7.0)])]))
    assert r.status_code == 204

    registry = CollectorRegistry()
    Gauge("bearer_pushed", "Pushed with a bearer token.", registry=registry).set(3)

    def handler(url, method, timeout, headers, data):  # as docs/managed-service.md shows
        return default_handler(url, method, timeout,
                               headers + [("Authorization", auth["Authorization"])], data)

    push_to_gateway(managed_bearer.url, job="b", registry=registry, handler=handler)
    res = data(requests.get(managed_bearer.url + "/api/v1/query", headers=auth,
                            params={"query": "bearer_written or bearer_pushed",
                                    "time": now_ms / 1000 + 1}))
    assert {s["metric"]["__name__"]: s["value"][1] for s in res["result"]} == {
        "bearer_written": "7", "bearer_pushed": "3"}


# -- the documentation ----------------------------------------------------------------------

def doc_block(lang: str, containing: str) -> str:
    blocks = re.findall(rf"```{lang}\n(.*?)```", DOC.read_text(), flags=re.S)
    found = [b for b in blocks if containing in b]
    assert found, f"no ```{lang} block with {containing!r} in {DOC.name}"
    return found[0]


def test_doc_uses_the_example_credentials():
    text = DOC.read_text()
    assert f"-u {ACCOUNT}:{TOKEN}" in text
    assert f"Bearer {BEARER['token']}" in text
    for block in (doc_block("yaml", "basicAuthUser"), doc_block("yaml", "remote_write")):
        assert ACCOUNT in block and TOKEN in block
    push = doc_block("python", "push_to_gateway")
    assert f'"{ACCOUNT}", "{TOKEN}"' in push


def test_doc_push_example_runs(managed):
    code = doc_block("python", "push_to_gateway").replace('"localhost:9090"', repr(managed.url))
    assert managed.url in code
    exec(compile(code, str(DOC), "exec"), {})
    res = data(requests.get(managed.url + "/api/v1/query", auth=(ACCOUNT, TOKEN),
                            params={"query": 'job_last_success_unixtime{job="nightly"}'}))
    assert len(res["result"]) == 1 and abs(float(res["result"][0]["value"][1]) - time.time()) < 60


@pytest.mark.parametrize("line", ["2.42", "3.5"])
def test_doc_remote_write_config_works_in_a_real_prometheus(managed, line):
    """The ``remote_write`` block of the doc, pointed at the example server, in a real
    Prometheus (2.42 and 3.5.3) that scrapes itself: its samples become queryable with the
    credentials."""
    import realprom
    from test_real_clients import ConfiguredPrometheus, wait_for

    realprom.require_binaries(line)
    block = doc_block("yaml", "remote_write").replace("http://localhost:9090", managed.url)
    assert managed.url in block

    def config_for(port: int) -> str:
        return ("global: {scrape_interval: 1s}\n"
                "scrape_configs:\n"
                "  - job_name: doc-example\n"
                f"    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
                + block.rstrip("\n")
                + "\n    queue_config: {batch_send_deadline: 200ms, min_backoff: 50ms}\n")

    real = ConfiguredPrometheus(config_for, line=line)
    try:
        real.start()

        def arrived():
            r = requests.get(managed.url + "/api/v1/query", auth=(ACCOUNT, TOKEN),
                             params={"query": 'up{job="doc-example"}'}, timeout=10)
            return data(r)["result"]

        [up] = wait_for("remote write with basic_auth to reach /api/v1/prom/write", arrived)
        assert up["value"][1] == "1"
    finally:
        real.stop()
    writes = [e for e in managed.requests() if e["path"] == "/api/v1/prom/write"
              and e["status"] == 204]
    assert writes
