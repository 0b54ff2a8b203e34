"""TSDB admin endpoints: disabled as Prometheus answers when disabled; when enabled,
delete_series really removes data from later answers."""

from __future__ import annotations

import pytest

from conftest import T0, basic_scenario

ADMIN = ["/api/v1/admin/tsdb/snapshot", "/api/v1/admin/tsdb/delete_series",
         "/api/v1/admin/tsdb/clean_tombstones"]


@pytest.mark.parametrize("path", ADMIN)
def test_disabled_by_default(prom, http, path):
    for method in ("POST", "PUT"):
        r = http.request(method, prom.url + path, params={"match[]": "up"})
        assert r.status_code == 500  # Prometheus 2.42 answers "unavailable" with 500
        assert r.json() == {"status": "error", "errorType": "unavailable",
                            "error": "admin APIs disabled"}
    r = http.get(prom.url + path)
    assert r.status_code == 405
    assert r.headers["Allow"] == "OPTIONS, POST, PUT"


@pytest.fixture
def admin_prom(serve):
    return serve(basic_scenario(server={"admin_api": True}))


def values_of(http, prom, query):
    r = http.get(prom.url + "/api/v1/query_range",
                 params={"query": query, "start": T0 - 600, "end": T0, "step": 60})
    return {tuple(sorted(s["metric"].items())): s["values"] for s in r.json()["data"]["result"]}


def test_delete_series_removes_data(admin_prom, http):
    prom = admin_prom
    before = values_of(http, prom, "up")
    assert len(before) == 2
    r = http.post(prom.url + "/api/v1/admin/tsdb/delete_series",
                  data={"match[]": 'up{job="db"}'})
    assert r.status_code == 204 and r.content == b""
    after = values_of(http, prom, "up")
    assert list(after) == [k for k in before if ("job", "api") in k]
    series = http.get(prom.url + "/api/v1/series", params={"match[]": "up"}).json()["data"]
    assert [s["job"] for s in series] == ["api"]


def test_delete_series_time_range(admin_prom, http):
    prom = admin_prom
    r = http.put(prom.url + "/api/v1/admin/tsdb/delete_series",
                 params={"match[]": "http_requests_total", "start": T0 - 300, "end": T0 - 120})
    assert r.status_code == 204
    vals = next(iter(values_of(http, prom, "http_requests_total{}[1m:1m]"
                               if False else "http_requests_total").values()))
    times = [t for t, _ in vals]
    # samples in [T0-300, T0-120] are gone; the lookback still shows older ones at
    # those steps, so check the raw samples through a range selector
    r = http.get(prom.url + "/api/v1/query", params={"query": "http_requests_total[10m]",
                                                    "time": T0})
    raw = [t for t, _ in r.json()["data"]["result"][0]["values"]]
    assert not any(T0 - 300 <= t <= T0 - 120 for t in raw)
    assert T0 in raw and T0 - 360 in raw
    assert times[-1] == T0


def test_reset_brings_deleted_data_back(admin_prom, http):
    prom = admin_prom
    http.post(prom.url + "/api/v1/admin/tsdb/delete_series", data={"match[]": "up"})
    assert values_of(http, prom, "up") == {}
    prom.reset()
    assert len(values_of(http, prom, "up")) == 2


def test_delete_series_errors(admin_prom, http):
    prom = admin_prom
    r = http.post(prom.url + "/api/v1/admin/tsdb/delete_series")
    assert r.status_code == 400
    assert r.json()["error"] == "no match[] parameter provided"
    r = http.post(prom.url + "/api/v1/admin/tsdb/delete_series",
                  params={"match[]": "up", "start": "x"})
    assert r.json()["error"] == ('invalid parameter "start": invalid time value for \'start\': '
                                 'cannot parse "x" to a valid timestamp')  # 3.5; 2.42: Invalid
    r = http.post(prom.url + "/api/v1/admin/tsdb/delete_series", params={"match[]": "foo("})
    assert r.status_code == 400
    assert r.json()["error"].startswith('invalid parameter "match[]": ')


def test_snapshot_and_clean_tombstones(admin_prom, http):
    prom = admin_prom
    r = http.post(prom.url + "/api/v1/admin/tsdb/snapshot")
    name = r.json()["data"]["name"]
    stamp, suffix = name.split("-")
    assert stamp == "20231114T221320Z"  # T0 in Go's 20060102T150405Z0700 layout
    assert len(suffix) == 16 and int(suffix, 16) >= 0
    r = http.put(prom.url + "/api/v1/admin/tsdb/snapshot", params={"skip_head": "x"})
    assert r.status_code == 400
    assert r.json()["error"] == ('invalid parameter "skip_head": unable to parse boolean: '
                                 'strconv.ParseBool: parsing "x": invalid syntax')
    r = http.post(prom.url + "/api/v1/admin/tsdb/clean_tombstones")
    assert r.status_code == 204
