"""Pushgateway semantics: prometheus_client's push functions work against mockprom, and
pushed values are queryable as if Prometheus scraped a Pushgateway every interval."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import requests
from prometheus_client import (CollectorRegistry, Counter, Gauge, Histogram, Summary,
                               delete_from_gateway, generate_latest, push_to_gateway,
                               pushadd_to_gateway)
from prometheus_client.parser import text_string_to_metric_families

from mockprom.scenario.labels import Matcher, make_labels
from mockprom.scenario.samples import stale_mask
from test_ingest_support import Served

JOB = "batch/nightly"  # a "/" makes prometheus_client use job@base64
GROUPING = {"instance": "host/1"}  # ... and instance@base64


@pytest.fixture()
def served():
    with Served() as s:
        yield s


def _registry():
    reg = CollectorRegistry()
    Gauge("last_success_unixtime", "Last time the job succeeded.", registry=reg).set(1234.5)
    c = Counter("records_processed", "Records processed.", ["kind"], registry=reg)
    c.labels(kind="a").inc(3)
    c.labels(kind="b").inc(4)
    h = Histogram("job_duration_seconds", "Duration.", buckets=[0.5, 1, 5], registry=reg)
    for v in (0.2, 0.7, 3, 9):
        h.observe(v)
    s = Summary("payload_bytes", "Payload sizes.", registry=reg)
    s.observe(100)
    return reg


def _expected_series(reg, grouping) -> dict:
    """What a scrape of the gateway shows: every sample of the pushed text, grouping
    labels applied."""
    out = {}
    for fam in text_string_to_metric_families(generate_latest(reg).decode()):
        for s in fam.samples:
            out[make_labels({**s.labels, **grouping, "__name__": s.name})] = float(s.value)
    return out


def _at(state, t_ms, matchers=()):
    """Every series' value at exactly t_ms (staleness markers left out)."""
    out = {}
    for sd in state.store.select(list(matchers) or [Matcher.of("job", "=~", ".+")], t_ms, t_ms):
        if not stale_mask(sd.vals).all():
            out[sd.labels] = float(sd.vals[-1])
    return out


def test_push_to_gateway_makes_every_pushed_sample_queryable(served):
    reg = _registry()
    push_to_gateway(served.url, job=JOB, registry=reg, grouping_key=GROUPING)
    now = served.state.clock.now_ms()
    got = _at(served.state, now)
    grouping = {"job": JOB, **GROUPING}
    expected = _expected_series(reg, grouping)
    expected[make_labels({**grouping, "__name__": "push_time_seconds"})] = now / 1000
    expected[make_labels({**grouping, "__name__": "push_failure_time_seconds"})] = 0.0
    assert got == expected


def test_pushed_values_are_scraped_every_interval_from_the_push_on(served):
    reg = CollectorRegistry()
    Gauge("queue_depth", "Depth.", registry=reg).set(17)
    t0 = served.state.clock.now_ms()
    push_to_gateway(served.url, job="q", registry=reg)
    served.state.clock.advance(61_000)
    [sd] = served.state.store.select([Matcher.of("__name__", "=", "queue_depth")], t0 - 60_000, t0 + 61_000)
    interval = served.state.scenario.interval
    assert sd.ts.tolist() == list(range(t0, t0 + 61_000, interval))
    assert set(sd.vals.tolist()) == {17.0}
    assert sd.labels == make_labels({"__name__": "queue_depth", "job": "q"})


def test_pushadd_keeps_other_metrics_and_push_replaces_the_group(served):
    a, b = CollectorRegistry(), CollectorRegistry()
    Gauge("metric_a", "A.", registry=a).set(1)
    Gauge("metric_b", "B.", registry=b).set(2)
    push_to_gateway(served.url, job="g", registry=a)
    served.state.clock.advance(30_000)
    pushadd_to_gateway(served.url, job="g", registry=b)  # POST: metric_a stays
    t1 = served.state.clock.now_ms()
    names = {dict(l)["__name__"] for l in _at(served.state, t1)}
    assert {"metric_a", "metric_b"} <= names
    served.state.clock.advance(30_000)
    push_to_gateway(served.url, job="g", registry=b)  # PUT: metric_a goes
    t2 = served.state.clock.now_ms()
    names = {dict(l)["__name__"] for l in _at(served.state, t2)}
    assert "metric_b" in names and "metric_a" not in names
    # metric_a ends with a staleness marker at the replacing push, as a scrape would see
    [sd] = served.state.store.select([Matcher.of("__name__", "=", "metric_a")], t2, t2)
    assert sd.ts.tolist() == [t2] and stale_mask(sd.vals).tolist() == [True]


def test_repushing_a_new_value_changes_it_from_the_push_time(served):
    reg = CollectorRegistry()
    g = Gauge("temp", "T.", registry=reg)
    g.set(1)
    push_to_gateway(served.url, job="t", registry=reg)
    t0 = served.state.clock.now_ms()
    served.state.clock.advance(20_000)
    g.set(2)
    push_to_gateway(served.url, job="t", registry=reg)
    t1 = served.state.clock.now_ms()
    [sd] = served.state.store.select([Matcher.of("__name__", "=", "temp")], t0, t1 + 15_000)
    assert sd.ts.tolist() == [t0, t0 + 15_000, t1, t1 + 15_000]
    assert sd.vals.tolist() == [1.0, 1.0, 2.0, 2.0]
    assert not stale_mask(sd.vals).any()


def test_delete_from_gateway_removes_the_group_with_stale_markers(served):
    reg = _registry()
    push_to_gateway(served.url, job=JOB, registry=reg, grouping_key=GROUPING)
    served.state.clock.advance(45_000)
    delete_from_gateway(served.url, job=JOB, grouping_key=GROUPING)
    t = served.state.clock.now_ms()
    at_delete = served.state.store.select([Matcher.of("job", "=", JOB)], t, t)
    assert at_delete and all(stale_mask(sd.vals).all() for sd in at_delete)
    assert served.state.store.select([Matcher.of("job", "=", JOB)], t + 1, t + 3_600_000) == []
    assert requests.get(served.url + "/api/v1/metrics").json() == {"status": "success", "data": []}


def test_delete_answers_202(served):
    r = requests.delete(served.url + "/metrics/job/nothing-here")
    assert r.status_code == 202


def test_groups_json_lists_groups_like_the_pushgateway_api(served):
    push_to_gateway(served.url, job=JOB, registry=_registry(), grouping_key=GROUPING)
    data = requests.get(served.url + "/api/v1/metrics").json()
    assert data["status"] == "success"
    [group] = data["data"]
    assert group["labels"] == {"job": JOB, **GROUPING}
    assert group["last_push_successful"] is True
    gauge = group["last_success_unixtime"]
    assert gauge["type"] == "GAUGE" and gauge["help"] == "Last time the job succeeded."
    assert gauge["metrics"] == [{"labels": {"job": JOB, **GROUPING}, "value": "1234.5"}]
    hist = group["job_duration_seconds"]
    assert hist["type"] == "HISTOGRAM"
    [m] = hist["metrics"]
    assert m["buckets"] == {"0.5": "1", "1": "2", "5": "3"} and m["count"] == "4"
    assert float(m["sum"]) == pytest.approx(12.9)
    assert group["push_time_seconds"]["metrics"][0]["value"] == "1.7e+09"
    assert group["push_time_seconds"]["time_stamp"].endswith("Z")


def test_wipe_removes_every_group(served):
    reg = CollectorRegistry()
    Gauge("w", "W.", registry=reg).set(1)
    push_to_gateway(served.url, job="one", registry=reg)
    push_to_gateway(served.url, job="two", registry=reg)
    assert requests.put(served.url + "/api/v1/admin/wipe").status_code == 202
    assert requests.get(served.url + "/api/v1/metrics").json()["data"] == []
    t = served.state.clock.now_ms()
    assert all(stale_mask(sd.vals).all() for sd in served.state.store.select(
        [Matcher.of("__name__", "=", "w")], t, t))


def test_gzip_bodies_are_accepted(served):
    body = gzip.compress(b"# TYPE zipped gauge\nzipped 5\n")
    r = requests.put(served.url + "/metrics/job/z", data=body, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 200, r.text
    assert list(_at(served.state, served.state.clock.now_ms(),
                    [Matcher.of("__name__", "=", "zipped")]).values()) == [5.0]


def test_grouping_labels_override_pushed_labels_and_empty_instance_is_dropped(served):
    r = requests.put(served.url + "/metrics/job/real/instance@base64/=",
                     data='x{job="fake",instance="i1",k="v"} 1\n')
    assert r.status_code == 200
    got = _at(served.state, served.state.clock.now_ms(), [Matcher.of("__name__", "=", "x")])
    assert list(got) == [make_labels({"__name__": "x", "job": "real", "k": "v"})]


def test_histogram_is_completed_as_the_gateway_exposes_it(served):
    body = ("# TYPE lat histogram\n"
            'lat_bucket{le="0.1"} 2\nlat_bucket{le="1"} 5\nlat_count 7\n')
    assert requests.put(served.url + "/metrics/job/h", data=body).status_code == 200
    got = _at(served.state, served.state.clock.now_ms(), [Matcher.of("__name__", "=~", "lat_.*")])
    by = {(dict(l)["__name__"], dict(l).get("le")): v for l, v in got.items()}
    assert by[("lat_bucket", "+Inf")] == by[("lat_count", None)] == 7.0
    assert by[("lat_sum", None)] == 0.0


@pytest.mark.parametrize("path, body, expected, status", [
    ("/metrics/job/t", "m 1 1700000000000\n", "pushed metrics must not have timestamps", 400),
    ("/metrics/job/t", "ok 1\nm{a=\"1\" 2\n", "line 2", 400),
    ("/metrics/job/t", "# TYPE m gauge\n# TYPE m counter\nm 1\n", "second TYPE line", 400),
    ("/metrics/job/t", "# TYPE m histogram\nm_bucket{le=\"x\"} 1\n", "expected float as value for 'le'", 400),
    ("/metrics/job/t", "m{a=\"1\"} 1\nm{a=\"1\"} 2\n", "was collected before with the same name and label values", 400),
    ("/metrics/job/t", "m not-a-number\n", "expected float as value", 400),
    ("/metrics/job/t/bad-label/x", "m 1\n", "improper label name 'bad-label'", 400),
    ("/metrics/job/t/odd", "m 1\n", "odd number of components", 400),
    ("/metrics/job@base64/!!!", "m 1\n", "invalid base64 encoding in job name", 400),
    ("/metrics/job/t/instance@base64/%25%25", "m 1\n", "invalid base64 encoding for label instance", 400),
], ids=["timestamp", "syntax", "type-twice", "bad-le", "duplicate-series", "bad-value",
        "bad-label-name", "odd-path", "bad-base64-job", "bad-base64-label"])
def test_refused_pushes_get_400_with_the_problem(served, path, body, expected, status):
    r = requests.put(served.url + path, data=body)
    assert r.status_code == status, r.text
    assert expected in r.text and "Traceback" not in r.text
    ok = requests.put(served.url + "/metrics/job/after", data="fine 1\n")
    assert ok.status_code == 200


def test_inconsistent_type_across_groups_is_refused_and_records_the_failure(served):
    assert requests.put(served.url + "/metrics/job/a", data="# TYPE shared counter\nshared 1\n").status_code == 200
    served.state.clock.advance(1000)
    r = requests.put(served.url + "/metrics/job/b", data="# TYPE shared gauge\nshared 1\n")
    assert r.status_code == 400 and "has type GAUGE but should have COUNTER" in r.text
    [group_b] = [g for g in requests.get(served.url + "/api/v1/metrics").json()["data"]
                 if g["labels"]["job"] == "b"]
    assert group_b["last_push_successful"] is False
    now = served.state.clock.now_ms()
    got = _at(served.state, now, [Matcher.of("__name__", "=", "push_failure_time_seconds"),
                                  Matcher.of("job", "=", "b")])
    assert list(got.values()) == [now / 1000]


def test_a_broken_protobuf_push_is_refused_clearly(served):
    ctype = ("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
             "encoding=delimited")
    r = requests.put(served.url + "/metrics/job/p", data=b"\x05\x0a\x01", headers={
        "Content-Type": ctype})
    assert r.status_code == 400 and r.text == "unexpected EOF\n"
    r = requests.put(served.url + "/metrics/job/p", data=b"\x02\xff\xff", headers={
        "Content-Type": ctype})
    assert r.status_code == 400 and "invalid wire-format" in r.text


def test_an_empty_put_empties_the_group_but_keeps_push_time(served):
    assert requests.put(served.url + "/metrics/job/e", data="gone 1\n").status_code == 200
    served.state.clock.advance(15_000)
    assert requests.put(served.url + "/metrics/job/e", data="").status_code == 200
    now = served.state.clock.now_ms()
    got = _at(served.state, now, [Matcher.of("job", "=", "e")])
    assert {dict(l)["__name__"]: v for l, v in got.items()} == {
        "push_time_seconds": now / 1000, "push_failure_time_seconds": 0.0}
    [group] = requests.get(served.url + "/api/v1/metrics").json()["data"]
    assert "gone" not in group and "push_time_seconds" in group


def test_other_methods_are_not_allowed(served):
    r = requests.get(served.url + "/metrics/job/x")
    assert r.status_code == 405 and r.text == "Method Not Allowed\n"


def test_escapes_and_special_values_in_pushed_text(served):
    body = ('# HELP esc A help with \\\\ and \\n.\n# TYPE esc gauge\n'
            'esc{v="q\\"b\\\\s\\nl",k="1"} NaN\nesc{k="2"} +Inf\nesc{k="3"} -Inf\nesc{k="4"} 1e-3\n')
    assert requests.put(served.url + "/metrics/job/esc", data=body).status_code == 200
    got = {}
    now = served.state.clock.now_ms()
    for sd in served.state.store.select([Matcher.of("__name__", "=", "esc")], now, now):
        got[dict(sd.labels)["k"]] = (dict(sd.labels).get("v"), float(sd.vals[-1]))
    assert got["1"][0] == 'q"b\\s\nl' and np.isnan(got["1"][1])
    assert not stale_mask(np.array([got["1"][1]])).any()  # a pushed NaN is not a staleness marker
    assert got["2"][1] == float("inf") and got["3"][1] == float("-inf") and got["4"][1] == 0.001
    [group] = requests.get(served.url + "/api/v1/metrics").json()["data"]
    assert group["esc"]["help"] == "A help with \\ and \n."
