"""Byte for byte against a real Prometheus (2.42 and 3.5.3): the same requests (good and
bad) to a real server and to mockprom holding the same samples, pinned to the same version,
must get the same status code, Content-Type and body."""

from __future__ import annotations

import time

import pytest
import requests

from realprom import release  # noqa: F401  (a fixture)

pytestmark = pytest.mark.realprom

NOW = (int(time.time()) // 60) * 60
T = NOW - 20 * 60  # samples in the last 20 minutes: inside a fresh server's head

SERIES = [
    {"labels": {"__name__": "wire_up", "job": "api", "instance": "a:1"},
     "samples": [[T + 15 * i, 1 if i % 7 else 0] for i in range(60)]},
    {"labels": {"__name__": "wire_up", "job": "db", "instance": "b:2"},
     "samples": [[T + 15 * i, 1] for i in range(30)]},
    {"labels": {"__name__": "wire_values", "kind": "tiny"},
     "samples": [[T + 15 * i, v] for i, v in enumerate(
         [1e-7, 0.00001, 1e21, 123456789012345678, -0.0, 1 / 3, 2.5e-300, 1e300, 42, -7.25])]},
    {"labels": {"__name__": "wire_text", "note": "a<b & c>d \u2028 é"},
     "samples": [[T, 1], [T + 15, 2]]},
]


def requests_to_compare():
    t = str(T + 300)
    return [
        ("GET", "/api/v1/query", {"query": "wire_up", "time": t}),
        ("POST", "/api/v1/query", {"query": "wire_values", "time": str(T + 135) + ".5"}),
        ("GET", "/api/v1/query", {"query": "wire_values[3m]", "time": str(T + 150)}),
        ("GET", "/api/v1/query", {"query": "wire_text", "time": str(T + 20)}),
        ("GET", "/api/v1/query", {"query": "vector(1e-7)", "time": "1000.001"}),
        ("GET", "/api/v1/query", {"query": "1e-7", "time": "-1000.25"}),
        ("GET", "/api/v1/query", {"query": "-Inf", "time": "1"}),
        ("GET", "/api/v1/query", {"query": '"<&>é\u2028"', "time": "1.5"}),
        ("GET", "/api/v1/query", {"query": "vector(1)", "time": "x"}),
        ("GET", "/api/v1/query", {"query": "vector(1)", "time": "1e15"}),
        ("GET", "/api/v1/query", {"query": "vector(1)", "time": "2015-07-01T20:10:51.781+02:00"}),
        ("GET", "/api/v1/query", {"query": "1", "timeout": "x"}),
        ("GET", "/api/v1/query", {"query": "rate(wire_up)"}),
        ("GET", "/api/v1/query_range", {"query": "wire_up", "start": str(T), "end": str(T + 900),
                                        "step": "1m"}),
        ("POST", "/api/v1/query_range", {"query": "sum by (job) (wire_up)", "start": str(T),
                                         "end": str(T + 900), "step": "90"}),
        ("GET", "/api/v1/query_range", {"query": "1", "start": "10", "end": "0", "step": "5"}),
        ("GET", "/api/v1/query_range", {"query": "1", "start": "0", "end": "10", "step": "0"}),
        ("GET", "/api/v1/query_range", {"query": "1", "start": "0", "end": "100000", "step": "1"}),
        ("GET", "/api/v1/query_range", {"query": "1", "start": "0", "end": "10", "step": "x"}),
        ("GET", "/api/v1/query_range", {"query": "1", "end": "10", "step": "1"}),
        ("GET", "/api/v1/query_range", {"query": "wire_up[5m]", "start": "0", "end": "10",
                                        "step": "1"}),
        ("GET", "/api/v1/series", {"match[]": "wire_up"}),
        ("POST", "/api/v1/series", {"match[]": ['wire_up{job="db"}', "wire_text"]}),
        ("GET", "/api/v1/series", {}),
        ("GET", "/api/v1/series", {"match[]": "{}"}),
        ("GET", "/api/v1/series", {"match[]": "wire_up[5m]"}),
        ("GET", "/api/v1/series", {"match[]": "sum(wire_up)"}),
        ("GET", "/api/v1/series", {"match[]": "wire_up", "start": "x"}),
        ("GET", "/api/v1/labels", {"match[]": "wire_up"}),
        ("POST", "/api/v1/labels", {"match[]": "wire_text"}),
        ("GET", "/api/v1/labels", {"match[]": "foo("}),
        ("GET", "/api/v1/label/job/values", {"match[]": "wire_up"}),
        ("GET", "/api/v1/label/note/values", {"match[]": "wire_text"}),
        ("GET", "/api/v1/label/1bad/values", {}),
        ("GET", "/api/v1/metadata", {"limit": "x"}),
        ("GET", "/api/v1/targets/metadata", {"match_target": "foo("}),
        ("GET", "/api/v1/rules", {"type": "x"}),
        ("GET", "/api/v1/query_exemplars", {"query": "wire_up", "start": "10", "end": "1"}),
        ("GET", "/api/v1/query_exemplars", {"query": "1"}),
        ("GET", "/api/v1/format_query", {"query": "sum(rate(x[5m]))by(job)"}),
        ("GET", "/api/v1/format_query", {"query": "foo("}),
        ("POST", "/api/v1/admin/tsdb/delete_series", {}),
        ("PUT", "/api/v1/admin/tsdb/snapshot", {"skip_head": "x"}),
        ("GET", "/api/v1/admin/tsdb/delete_series", {}),
        ("PUT", "/api/v1/query", {}),
        ("DELETE", "/api/v1/series", {}),
        ("OPTIONS", "/api/v1/query", {}),
        ("GET", "/api/v1/nope", {}),
        ("GET", "/-/healthy", {}),
        ("GET", "/-/ready", {}),
        ("HEAD", "/-/ready", {}),
        ("POST", "/-/healthy", {}),
        ("OPTIONS", "/-/healthy", {}),
        ("HEAD", "/api/v1/query", {}),
        ("HEAD", "/api/v1/series", {}),
        ("DELETE", "/api/v1/status/buildinfo", {}),
        ("PATCH", "/api/v1/admin/tsdb/clean_tombstones", {}),
    ]


@pytest.fixture(scope="module")
def servers(release):
    import realprom
    from mockprom.server import MockPrometheus

    with realprom.RealPrometheus(SERIES, line=release.line) as real:
        mock = MockPrometheus({"series": SERIES, "server": {"admin_api": True}},
                              version=release.version)
        try:
            yield real.url, mock.url
        finally:
            mock.stop()


def answer(base: str, method: str, path: str, params: dict):
    if method == "POST" or (method == "PUT" and path.startswith("/api/v1/admin")):
        r = requests.request(method, base + path, data=params)
    else:
        r = requests.request(method, base + path, params=params)
    return r.status_code, r.headers.get("Content-Type"), r.headers.get("Allow"), r.content


@pytest.mark.parametrize("method,path,params", requests_to_compare(),
                         ids=[f"{m} {p} {sorted(q.items())}"[:80]
                              for m, p, q in requests_to_compare()])
def test_same_answer_as_real_prometheus(servers, method, path, params):
    real_url, mock_url = servers
    assert answer(mock_url, method, path, params) == answer(real_url, method, path, params)
