"""Ingestion through the real server: remote-written and pushed series answer
``/api/v1/query``, ``series`` and label values at once, beside the scenario's series."""

from __future__ import annotations

import pytest
import requests
from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from mockprom.ingest import remote_write as rw
from mockprom.server import MockPrometheus

CLOCK = "2024-01-01T00:00:00Z"
NOW_S = 1704067200
SCENARIO = {"clock": CLOCK, "interval": "15s",
            "series": [{"labels": {"__name__": "scenario_metric", "job": "scn"},
                        "samples": [[NOW_S - 60, 1], [NOW_S - 30, 2]]}]}


@pytest.fixture()
def prom():
    with MockPrometheus(SCENARIO) as p:
        p.base = f"http://127.0.0.1:{p.port}"
        yield p


def _query(prom, q, **params):
    r = requests.get(prom.base + "/api/v1/query", params={"query": q, **params})
    assert r.status_code == 200, r.text
    return r.json()["data"]["result"]


def test_remote_written_series_are_queryable_at_once(prom):
    now = NOW_S * 1000
    samples = [(now - 20_000, 10.0), (now - 5_000, 12.5)]
    r = requests.post(prom.base + "/api/v1/write",
                      data=rw.encode([({"__name__": "rw_metric", "job": "remote"}, samples)]))
    assert r.status_code == 204, r.text
    [res] = _query(prom, "rw_metric")
    assert res["metric"] == {"__name__": "rw_metric", "job": "remote"}
    assert float(res["value"][1]) == samples[-1][1]
    [rng] = _query(prom, "rw_metric[1m]")
    assert [(round(t * 1000), float(v)) for t, v in rng["values"]] == samples
    series = requests.get(prom.base + "/api/v1/series", params={"match[]": "rw_metric"}).json()
    assert series["data"] == [{"__name__": "rw_metric", "job": "remote"}]
    jobs = requests.get(prom.base + "/api/v1/label/job/values").json()["data"]
    assert {"remote", "scn"} <= set(jobs)
    # the scenario's own series are untouched
    assert float(_query(prom, "scenario_metric")[0]["value"][1]) == 2.0


def test_pushed_metrics_are_queryable_with_job_and_push_time(prom):
    reg = CollectorRegistry()
    Gauge("backup_size_bytes", "Size.", ["db"], registry=reg).labels(db="main").set(4096)
    push_to_gateway(prom.base, job="backup", registry=reg, grouping_key={"instance": "nightly/1"})
    [res] = _query(prom, "backup_size_bytes")
    assert res["metric"] == {"__name__": "backup_size_bytes", "job": "backup",
                             "instance": "nightly/1", "db": "main"}
    assert float(res["value"][1]) == 4096
    [pt] = _query(prom, 'push_time_seconds{job="backup"}')
    assert float(pt["value"][1]) == NOW_S
    # a scrape every interval from the push on: still there 10 minutes later
    later = NOW_S + 600
    [res] = _query(prom, "backup_size_bytes", time=later)
    assert res["value"] == [later, "4096"]


def test_reset_forgets_ingested_data(prom):
    now = NOW_S * 1000
    requests.post(prom.base + "/api/v1/write", data=rw.encode([({"__name__": "gone_soon"}, [(now, 1)])]))
    requests.put(prom.base + "/metrics/job/j", data="pushed_soon 1\n")
    assert _query(prom, "gone_soon") and _query(prom, "pushed_soon")
    prom.reset()
    assert _query(prom, "gone_soon") == [] and _query(prom, "pushed_soon") == []
    assert requests.get(prom.base + "/api/v1/metrics").json()["data"] == []
    # and ingestion works again on the new store
    r = requests.post(prom.base + "/api/v1/write", data=rw.encode([({"__name__": "gone_soon"}, [(now, 2)])]))
    assert r.status_code == 204
    assert float(_query(prom, "gone_soon")[0]["value"][1]) == 2.0


def test_federate_and_own_metrics_on_the_real_app(prom):
    r = requests.get(prom.base + "/federate", params={"match[]": "scenario_metric"})
    assert r.status_code == 200
    assert r.text == ("# TYPE scenario_metric untyped\n"
                      f'scenario_metric{{job="scn",instance=""}} 2 {(NOW_S - 30) * 1000}\n')
    _query(prom, "up")
    text = requests.get(prom.base + "/metrics").text
    assert 'mockprom_http_requests_total{code="200",endpoint="/api/v1/query"}' in text
    assert "mockprom_series " in text
