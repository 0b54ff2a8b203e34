"""Remote write 1.0 and 2.0 through the whole server: the head follows the scenario clock,
scenario settings (strict checks, accepted messages, feature flags) change what is
accepted, and what 2.0 carries besides samples (metadata, created timestamps) shows."""

from __future__ import annotations

import requests

from mockprom.ingest import remote_write as rw
from mockprom.ingest import remote_write_v2 as rw2
from mockprom.server import MockPrometheus

CLOCK = "2024-01-01T00:00:00Z"
NOW = 1704067200_000
HOUR = 3_600_000
V2 = {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
      "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "2.0.0"}


def _scenario(**server):
    return {"clock": CLOCK, "series": [], "server": server}


def _write(prom, series, headers=None):
    return requests.post(prom.url + "/api/v1/write", data=rw.encode(series), headers=headers)


def _values(prom, expr, at_ms):
    r = requests.get(prom.url + "/api/v1/query", params={"query": expr, "time": at_ms / 1000})
    return [(s["metric"], s["value"][1]) for s in r.json()["data"]["result"]]


def test_the_head_ends_at_the_scenario_clock_or_the_newest_sample():
    with MockPrometheus(_scenario()) as prom:
        # a fixed clock in the past: writing "now" of the scenario is fine, 3 h before is not
        assert _write(prom, [({"__name__": "h"}, [(NOW - 50 * 60_000, 1), (NOW, 2)])]).status_code == 204
        r = _write(prom, [({"__name__": "h2"}, [(NOW - 3 * HOUR, 1)])])
        assert (r.status_code, r.text) == (400, "out of bounds\n")
        # the clock moves on: the head follows it
        prom.advance("2h")
        r = _write(prom, [({"__name__": "h3"}, [(NOW, 1)])])
        assert (r.status_code, r.text) == (400, "out of bounds\n")
        # a sample written ahead of the clock moves the head too (3.5: at most 10 min ahead)
        later = NOW + 2 * HOUR + 9 * 60_000
        assert _write(prom, [({"__name__": "h4"}, [(later, 1)])]).status_code == 204
        r = _write(prom, [({"__name__": "h5"}, [(later - HOUR - 1, 1)])])
        assert (r.status_code, r.text) == (400, "out of bounds\n")
        r = _write(prom, [({"__name__": "h6"}, [(later + 10 * 60_000, 1)])])
        assert r.text == "out of bounds: timestamp is too far in the future\n"
        # a reset forgets the written samples, and with them the head's end
        prom.reset()
        assert _write(prom, [({"__name__": "h7"}, [(NOW - 50 * 60_000, 1)])]).status_code == 204


def test_strict_mode_is_a_scenario_setting():
    bad = [({"__name__": "ok_metric"}, [(NOW, 1)]), ({"job": "no-name"}, [(NOW, 1)])]
    with MockPrometheus(_scenario(remote_write={"strict": True})) as prom:
        r = _write(prom, bad)
        assert r.status_code == 400 and "no __name__ label" in r.text
        assert _values(prom, "ok_metric", NOW) == []
    with MockPrometheus(_scenario(version="2.42.0")) as prom:  # 2.42 stores both
        assert _write(prom, bad).status_code == 204
        assert _values(prom, '{job="no-name"}', NOW) == [({"job": "no-name"}, "1")]
    with MockPrometheus(_scenario()) as prom:  # 3.5 drops the series without a name
        assert _write(prom, bad).status_code == 204
        assert _values(prom, '{job="no-name"}', NOW) == []
        assert _values(prom, "ok_metric", NOW) == [({"__name__": "ok_metric"}, "1")]


def test_remote_write_2_metadata_reaches_the_metadata_api_and_samples_are_queryable():
    body = rw2.encode([
        ({"__name__": "rpc_duration_seconds_bucket", "le": "0.5"}, [(NOW, 4)],
         {"metadata": ("histogram", "RPC latency.", "seconds")}),
        ({"__name__": "jobs_done_total", "queue": "mail"}, [(NOW - 1000, 7), (NOW, 9)],
         {"metadata": ("counter", "Jobs done.", ""),
          "exemplars": [({"trace_id": "4bf92f35"}, 1.0, NOW)]}),
    ])
    with MockPrometheus(_scenario()) as prom:
        r = requests.post(prom.url + "/api/v1/write", data=body, headers=V2)
        assert r.status_code == 204, r.text
        assert r.headers["X-Prometheus-Remote-Write-Samples-Written"] == "3"
        assert r.headers["X-Prometheus-Remote-Write-Exemplars-Written"] == "1"
        assert _values(prom, "jobs_done_total", NOW) == [
            ({"__name__": "jobs_done_total", "queue": "mail"}, "9")]
        meta = requests.get(prom.url + "/api/v1/metadata").json()["data"]
        assert meta["rpc_duration_seconds"] == [{"type": "histogram", "help": "RPC latency.",
                                                 "unit": "seconds"}]
        assert meta["jobs_done_total"] == [{"type": "counter", "help": "Jobs done.", "unit": ""}]
        entry = [e for e in prom.requests() if e["path"] == "/api/v1/write"][-1]
        assert entry["endpoint"] == "write" and entry["status"] == 204


def test_created_timestamps_become_zero_samples_with_the_feature_flag():
    body = rw2.encode([({"__name__": "ct_total"}, [(NOW, 5)], {"created_ms": NOW - 10_000})])
    for features, want in (([], [(NOW, "5")]),
                           (["created-timestamp-zero-ingestion"], [(NOW - 10_000, "0"), (NOW, "5")])):
        with MockPrometheus(_scenario(features=features)) as prom:
            assert requests.post(prom.url + "/api/v1/write", data=body, headers=V2).status_code == 204
            r = requests.get(prom.url + "/api/v1/query", params={"query": "ct_total[1m]",
                                                                  "time": NOW / 1000})
            [s] = r.json()["data"]["result"]
            assert [(round(float(t) * 1000), v) for t, v in s["values"]] == want


def test_native_histograms_by_remote_write_2():
    from mockprom.ingest.prompb import V2 as pb

    h = pb.Histogram(count_int=3, sum=1.5, schema=0, zero_threshold=1e-128, zero_count_int=1,
                     timestamp=NOW)
    h.positive_spans.add(offset=0, length=2)
    h.positive_deltas.extend([1, 0])
    body = rw2.encode([({"__name__": "nh"}, [], {"histograms": [h]}),
                       ({"__name__": "plain"}, [(NOW, 1)])])
    with MockPrometheus(_scenario()) as prom:  # as 3.5.3 without the feature flag
        r = requests.post(prom.url + "/api/v1/write", data=body, headers=V2)
        assert (r.status_code, r.text) == (500, "native histograms are disabled\n")
        assert _values(prom, "plain", NOW) == []
    with MockPrometheus(_scenario(features=["native-histograms"])) as prom:
        r = requests.post(prom.url + "/api/v1/write", data=body, headers=V2)
        assert r.status_code == 204, r.text
        assert r.headers["X-Prometheus-Remote-Write-Histograms-Written"] == "1"
        assert r.headers["X-Prometheus-Remote-Write-Samples-Written"] == "1"
        from mockprom.scenario.labels import Matcher

        [sd] = prom.store.select([Matcher.of("__name__", "=", "nh")], NOW - 1, NOW, histograms=True)
        [stored] = list(sd.hists)
        assert (sd.ts.tolist(), stored.count, stored.sum, stored.zero_count) == ([NOW], 3.0, 1.5, 1.0)
        assert list(stored.positive_buckets) == [1.0, 1.0]
        assert _values(prom, "plain", NOW) == [({"__name__": "plain"}, "1")]


def test_accepted_messages_restrict_as_prometheus_flag_does():
    body = rw2.encode([({"__name__": "only_v1"}, [(NOW, 1)])])
    scenario = _scenario(remote_write={"accepted_protobuf_messages": ["prometheus.WriteRequest"]})
    with MockPrometheus(scenario) as prom:
        r = requests.post(prom.url + "/api/v1/write", data=body, headers=V2)
        # 3.5.3 answers 415 and then goes on to write the request all the same
        assert r.status_code == 415
        assert r.text == ("io.prometheus.write.v2.Request protobuf message is not accepted by "
                          "this server; accepted [prometheus.WriteRequest]\n")
        assert _values(prom, "only_v1", NOW) == [({"__name__": "only_v1"}, "1")]
