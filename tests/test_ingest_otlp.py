"""The OTLP receiver (``/api/v1/otlp/v1/metrics``): the OpenTelemetry Python SDK's OTLP/HTTP
exporter pushes counters, gauges and histograms and their exact values are queried back;
names, units, resource attributes and temporality are translated as Prometheus 3.5
translates them (``otlptranslator``; the Debian build of 3.5.3 has no OTLP receiver to
compare with, so expectations come from Prometheus's translation rules).
"""

from __future__ import annotations

import gzip
import json
import time

import pytest
import requests
from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2

from mockprom.ingest.otlp_names import COUNTER, GAUGE, OTHER, label_name, metric_name
from mockprom.server import MockPrometheus

PATH = "/api/v1/otlp/v1/metrics"
PB = {"Content-Type": "application/x-protobuf"}


def _attrs(**kv):
    return [common_pb2.KeyValue(key=k.replace("__", "."), value=common_pb2.AnyValue(string_value=v))
            for k, v in kv.items()]


def _request(*metrics, resource=None) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(resource if resource is not None else
                                  _attrs(service__name="shop", service__instance__id="i-1"))
    rm.scope_metrics.add().metrics.extend(metrics)
    return req


def _sum(name, t_ms, value, temporality=2, start_ms=None, unit=""):
    m = metrics_pb2.Metric(name=name, unit=unit)
    m.sum.is_monotonic, m.sum.aggregation_temporality = True, temporality
    m.sum.data_points.add(time_unix_nano=t_ms * 1_000_000, as_double=value,
                          start_time_unix_nano=(start_ms or t_ms - 1000) * 1_000_000)
    return m


def _gauge(name, t_ms, value, unit=""):
    m = metrics_pb2.Metric(name=name, unit=unit)
    m.gauge.data_points.add(time_unix_nano=t_ms * 1_000_000, as_double=value)
    return m


def _query(prom, expr, t=None):
    params = {"query": expr, **({"time": t / 1000} if t else {})}
    body = requests.get(prom.url + "/api/v1/query", params=params).json()
    assert body["status"] == "success", body
    return {tuple(sorted(s["metric"].items())): s["value"][1] for s in body["data"]["result"]}


@pytest.mark.parametrize("name, unit, kind, strategy, expected", [
    ("system.filesystem.usage", "By", GAUGE, "UnderscoreEscapingWithSuffixes", "system_filesystem_usage_bytes"),
    ("system.io", "By", COUNTER, "UnderscoreEscapingWithSuffixes", "system_io_bytes_total"),
    ("cpu.utilization", "1", GAUGE, "UnderscoreEscapingWithSuffixes", "cpu_utilization_ratio"),
    ("hits", "1", COUNTER, "UnderscoreEscapingWithSuffixes", "hits_total"),
    ("http.server.duration", "ms", OTHER, "UnderscoreEscapingWithSuffixes", "http_server_duration_milliseconds"),
    ("network.io", "By/s", GAUGE, "UnderscoreEscapingWithSuffixes", "network_io_bytes_per_second"),
    ("requests", "{request}/s", COUNTER, "UnderscoreEscapingWithSuffixes", "requests_per_second_total"),
    ("queue", "{item}", GAUGE, "UnderscoreEscapingWithSuffixes", "queue"),
    ("total.requests.total", "", COUNTER, "UnderscoreEscapingWithSuffixes", "requests_total"),
    ("memory_bytes", "By", GAUGE, "UnderscoreEscapingWithSuffixes", "memory_bytes"),
    ("2xx.responses", "", GAUGE, "UnderscoreEscapingWithSuffixes", "_2xx_responses"),
    ("weird..name--x", "", GAUGE, "UnderscoreEscapingWithSuffixes", "weird_name_x"),
    ("temp", "Cel", GAUGE, "UnderscoreEscapingWithSuffixes", "temp_celsius"),
    ("...", "", GAUGE, "UnderscoreEscapingWithSuffixes", ""),
    ("syst\u00e8me.io", "By", COUNTER, "NoUTF8EscapingWithSuffixes", "syst\u00e8me.io_bytes_total"),
    ("cpu.utilization", "1", GAUGE, "NoUTF8EscapingWithSuffixes", "cpu.utilization_ratio"),
    ("http.server.duration", "ms", OTHER, "NoTranslation", "http.server.duration"),
])
def test_metric_names_follow_prometheus_3_5_translation(name, unit, kind, strategy, expected):
    assert metric_name(name, unit, kind, strategy) == expected


@pytest.mark.parametrize("name, strategy, expected", [
    ("http.method", "UnderscoreEscapingWithSuffixes", "http_method"),
    ("2nd", "UnderscoreEscapingWithSuffixes", "key_2nd"),
    ("_private", "UnderscoreEscapingWithSuffixes", "key_private"),
    ("__reserved", "UnderscoreEscapingWithSuffixes", "__reserved"),
    ("a-b", "UnderscoreEscapingWithSuffixes", "a_b"),
    ("http.method", "NoUTF8EscapingWithSuffixes", "http.method"),
])
def test_attribute_names_become_label_names(name, strategy, expected):
    assert label_name(name, strategy) == expected


def test_the_opentelemetry_sdk_exporter_pushes_counters_gauges_and_histograms():
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    with MockPrometheus({"series": []}) as prom:
        exporter = OTLPMetricExporter(endpoint=prom.url + PATH)
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        provider = MeterProvider(metric_readers=[reader], resource=Resource.create(
            {"service.name": "shop", "service.namespace": "eu", "service.instance.id": "i-1",
             "region": "west"}))
        meter = provider.get_meter("checkout.meter", "0.1")
        orders = meter.create_counter("orders.placed", unit="{order}", description="Orders.")
        orders.add(5, {"kind": "web"})
        orders.add(3, {"kind": "web"})
        meter.create_gauge("queue.size", unit="1").set(42, {"queue": "mail"})
        latency = meter.create_histogram("checkout.duration", unit="s")
        for v in (0.003, 0.2, 7.0):
            latency.record(v, {"route": "/pay"})
        try:
            assert provider.force_flush()
        finally:
            provider.shutdown()
        ident = {"instance": "i-1", "job": "eu/shop"}
        [(labels, value)] = _query(prom, "orders_placed_total").items()
        assert (dict(labels), value) == ({"__name__": "orders_placed_total", **ident, "kind": "web"}, "8")
        [(labels, value)] = _query(prom, "queue_size_ratio").items()
        assert (dict(labels), value) == ({"__name__": "queue_size_ratio", **ident, "queue": "mail"}, "42")
        buckets = _query(prom, "checkout_duration_seconds_bucket")
        by_le = {dict(k)["le"]: v for k, v in buckets.items()}
        assert by_le["0"] == "0" and by_le["5"] == "2" and by_le["10"] == "3" and by_le["+Inf"] == "3"
        assert list(_query(prom, "checkout_duration_seconds_count").values()) == ["3"]
        assert list(_query(prom, "checkout_duration_seconds_sum").values()) == ["7.203"]
        [info] = _query(prom, "target_info")
        assert dict(info)["region"] == "west" and dict(info)["job"] == "eu/shop"
        meta = requests.get(prom.url + "/api/v1/metadata").json()["data"]
        assert meta["orders_placed_total"] == [{"type": "counter", "help": "Orders.", "unit": ""}]
        assert [(e["endpoint"], e["status"]) for e in prom.requests()][0] == ("otlp", 200)


def test_json_and_gzip_bodies_and_errors_in_prometheus_words():
    with MockPrometheus({"series": []}) as prom:
        now = prom.now_ms()
        body = json_format.MessageToJson(_request(_gauge("json.gauge", now, 2.5, unit="s")))
        r = requests.post(prom.url + PATH, data=body, headers={"Content-Type": "application/json"})
        assert (r.status_code, r.text) == (200, "")
        gz = gzip.compress(_request(_gauge("gz.gauge", now, 1.5)).SerializeToString())
        r = requests.post(prom.url + PATH, data=gz, headers={**PB, "Content-Encoding": "gzip"})
        assert r.status_code == 200
        assert set(_query(prom, "json_gauge_seconds").values()) == {"2.5"}
        assert set(_query(prom, "gz_gauge").values()) == {"1.5"}
        r = requests.post(prom.url + PATH, data=b"x", headers={"Content-Type": "text/plain"})
        assert (r.status_code, r.text) == (400, "unsupported content type: text/plain, supported: "
                                                "[application/json, application/x-protobuf]\n")
        r = requests.post(prom.url + PATH, data=b"x", headers={**PB, "Content-Encoding": "br"})
        assert r.status_code == 400 and r.text.startswith("unsupported compression: br.")
        old = _request(_gauge("old.gauge", now - 3 * 3_600_000, 1.0)).SerializeToString()
        r = requests.post(prom.url + PATH, data=old, headers=PB)
        assert (r.status_code, r.text) == (400, "out of bounds\n")
        assert requests.post(prom.url + PATH, data=b"\xff\xff", headers=PB).status_code == 400
        bomb = gzip.compress(b"\0" * (33 * 1024 * 1024))  # decompresses past the 32 MiB limit
        r = requests.post(prom.url + PATH, data=bomb, headers={**PB, "Content-Encoding": "gzip"})
        assert r.status_code == 413 and "exceeds the limit" in r.text


def test_delta_temporality_is_dropped_unless_a_feature_flag_converts_or_keeps_it():
    def push(prom, *values):
        t = prom.now_ms() - 10_000
        for i, v in enumerate(values):
            body = _request(_sum("jobs.done", t + i * 1000, v, temporality=1,
                                 start_ms=t + i * 1000 - 1000)).SerializeToString()
            assert requests.post(prom.url + PATH, data=body, headers=PB).status_code == 200

    with MockPrometheus({"series": []}) as prom:  # 3.5.3 drops deltas (and answers 200)
        push(prom, 2, 3)
        assert _query(prom, "jobs_done_total") == {}
    with MockPrometheus({"series": [], "server": {"features": ["otlp-deltatocumulative"]}}) as prom:
        push(prom, 2, 3, 4)
        assert list(_query(prom, "jobs_done_total").values()) == ["9"]
    with MockPrometheus({"series": [], "server": {"features": ["otlp-native-delta-ingestion"]}}) as prom:
        push(prom, 2, 3, 4)
        assert list(_query(prom, "jobs_done_total").values()) == ["4"]


def test_resource_attributes_are_promoted_as_configured():
    resource = _attrs(service__name="shop", service__instance__id="i-1", cloud__region="eu",
                      host__name="h1")
    scenario = {"series": [], "server": {"otlp": {"promote_resource_attributes": ["cloud.region"]}}}
    with MockPrometheus(scenario) as prom:
        body = _request(_gauge("temp", prom.now_ms(), 21.5, unit="Cel"), resource=resource)
        assert requests.post(prom.url + PATH, data=body.SerializeToString(), headers=PB).status_code == 200
        [labels] = _query(prom, "temp_celsius")
        assert dict(labels) == {"__name__": "temp_celsius", "cloud_region": "eu", "job": "shop",
                                "instance": "i-1"}
        [info] = _query(prom, "target_info")
        assert dict(info) == {"__name__": "target_info", "cloud_region": "eu", "host_name": "h1",
                              "job": "shop", "instance": "i-1"}
    scenario["server"]["otlp"] = {"promote_all_resource_attributes": True,
                                  "ignore_resource_attributes": ["host.name"],
                                  "keep_identifying_resource_attributes": True,
                                  "translation_strategy": "NoUTF8EscapingWithSuffixes"}
    with MockPrometheus(scenario) as prom:
        body = _request(_gauge("temp", prom.now_ms(), 21.5, unit="Cel"), resource=resource)
        assert requests.post(prom.url + PATH, data=body.SerializeToString(), headers=PB).status_code == 200
        [labels] = _query(prom, "{__name__=\"temp_celsius\"}")
        assert dict(labels)["cloud.region"] == "eu" and "host.name" not in dict(labels)
        [info] = _query(prom, "target_info")
        assert dict(info)["service.name"] == "shop" and dict(info)["host.name"] == "h1"


def test_exponential_histograms_are_refused_clearly():
    m = metrics_pb2.Metric(name="latency", unit="s")
    m.exponential_histogram.aggregation_temporality = 2
    with MockPrometheus({"series": []}) as prom:
        m.exponential_histogram.data_points.add(time_unix_nano=prom.now_ms() * 1_000_000, count=1,
                                                sum=0.5, scale=0, zero_count=1)
        body = _request(m, _gauge("beside", prom.now_ms(), 1.0)).SerializeToString()
        r = requests.post(prom.url + PATH, data=body, headers=PB)
        assert (r.status_code, r.text) == (500, "native histograms are disabled\n")  # as 3.5
        assert _query(prom, "beside") == {}
    with MockPrometheus({"series": [], "server": {"features": ["native-histograms"]}}) as prom:
        r = requests.post(prom.url + PATH, data=body, headers=PB)
        assert r.status_code == 400 and "exponential histograms from OTLP are not supported" in r.text


def test_2_42_has_no_otlp_receiver_and_faults_and_auth_apply():
    with MockPrometheus({"series": []}, version="2.42.0") as prom:
        r = requests.post(prom.url + PATH, data=b"", headers=PB)
        assert (r.status_code, r.text) == (404, "404 page not found\n")
    scenario = {"series": [], "auth": {"type": "basic", "username": "acct", "password": "tok"}}
    with MockPrometheus(scenario) as prom:
        body = _request(_gauge("authed", prom.now_ms(), 1.0)).SerializeToString()
        assert requests.post(prom.url + PATH, data=body, headers=PB).status_code == 401
        prom.add_fault({"name": "otlp-429", "match": {"endpoint": "otlp"},
                        "error": "too_many_requests", "times": 1})
        auth = ("acct", "tok")
        assert requests.post(prom.url + PATH, data=body, headers=PB, auth=auth).status_code == 429
        assert requests.post(prom.url + PATH, data=body, headers=PB, auth=auth).status_code == 200
        assert [(e["status"], e["fault"]) for e in prom.requests(endpoint="otlp")] == [
            (401, None), (429, "otlp-429"), (200, None)]
