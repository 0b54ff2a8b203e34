"""Native histograms pushed the way a real client pushes them: client_golang's protobuf
exposition (``encoding=delimited``; the Pushgateway takes it, and it is the only format in
which client_golang writes native histograms). The client here is a real Prometheus
3.5.3: its own ``/metrics`` in protobuf holds ``prometheus_http_request_duration_seconds``
with native buckets (schema 3) beside classic ones. Pushed to mockprom as is, mockprom
stores what a Prometheus with native histograms on stores when scraping a Pushgateway by
protobuf: a native histogram per series (no classic series beside it), queryable at once;
with native histograms off, the classic ``_bucket``/``_sum``/``_count`` series.

(Python's prometheus_client writes native histograms only in the OpenMetrics 2.0 text
draft, ``{count:...,positive_spans:[...]}``, which neither the Pushgateway nor Prometheus
3.5 reads; mockprom refuses it as they do, with a text format parsing error.)"""

from __future__ import annotations

import pytest
import requests

from mockprom.histograms.bounds import get_bound_exponential
from mockprom.server import MockPrometheus
from realprom import RealPrometheus, require_binaries
from test_native_histograms_metrics import PROTO, decode_delimited

HANDLER = "/api/v1/query"
FAMILY = "prometheus_http_request_duration_seconds"


@pytest.fixture(scope="module")
def exposition() -> bytes:
    """A real client_golang exposition with native histograms (Prometheus 3.5.3's own)."""
    require_binaries("3.5")
    with RealPrometheus([], loader="none", line="3.5",
                        extra_args=["--enable-feature=native-histograms"]) as real:
        for q in ("1", "up", "time()", "vector(2)"):
            requests.get(real.url + "/api/v1/query", params={"query": q}, timeout=30)
        r = requests.get(real.url + "/metrics", headers={"Accept": PROTO + "delimited"},
                         timeout=30)
    assert r.headers["Content-Type"].startswith(PROTO.replace(";", "; ") + "delimited")
    return r.content


def _pushed_histogram(exposition: bytes):
    (fam,) = [f for f in decode_delimited(exposition) if f.name == FAMILY]
    (m,) = [m for m in fam.metric if {(p.name, p.value) for p in m.label} == {("handler", HANDLER)}]
    return m.histogram


def _push(mock, body: bytes):
    return requests.put(mock.url + "/metrics/job/prometheus/instance/self", data=body,
                        headers={"Content-Type": PROTO + "delimited"}, timeout=30)


def _query(mock, q: str) -> list:
    r = requests.get(mock.url + "/api/v1/query", params={"query": q}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["data"]["result"]


def test_a_pushed_native_histogram_is_queryable_as_pushed(exposition):
    h = _pushed_histogram(exposition)
    assert h.schema == 3 and len(h.positive_span) > 0  # the client wrote native buckets
    scenario = {"series": [], "server": {"features": ["native-histograms"]}}
    with MockPrometheus(scenario) as mock:
        assert _push(mock, exposition).status_code == 200
        (s,) = _query(mock, f'{FAMILY}{{handler="{HANDLER}"}}')
        assert s["metric"] == {"__name__": FAMILY, "handler": HANDLER, "job": "prometheus",
                               "instance": "self"}
        got = s["histogram"][1]
        assert got["count"] == str(h.sample_count)
        assert float(got["sum"]) == h.sample_sum
        # every populated bucket of the pushed spans and deltas, at schema 3's bounds
        want, index, count = [], None, 0
        deltas = iter(h.positive_delta)
        for span in h.positive_span:
            index = span.offset if index is None else index + span.offset
            for _ in range(span.length):
                count += next(deltas)
                if count:
                    want.append((0, get_bound_exponential(index - 1, 3),
                                 get_bound_exponential(index, 3), count))
                index += 1
        assert [(r, float(lo), float(hi), int(c)) for r, lo, hi, c in got["buckets"]] == want
        # only the native histogram: no classic series of it, as a protobuf scrape stores
        assert _query(mock, f"{FAMILY}_bucket") == []
        # the families without native buckets are there as floats
        (total,) = _query(mock, f'prometheus_http_requests_total{{handler="{HANDLER}",code="200"}}')
        assert float(total["value"][1]) >= 4
        rate = _query(mock, f'histogram_count({FAMILY}{{handler="{HANDLER}"}})')
        assert rate[0]["value"][1] == str(h.sample_count)
        [group] = requests.get(mock.url + "/api/v1/metrics").json()["data"]
        assert group[FAMILY]["type"] == "HISTOGRAM"
        (m,) = [m for m in group[FAMILY]["metrics"] if m["labels"]["handler"] == HANDLER]
        assert m["count"] == str(h.sample_count)


def test_without_native_histograms_the_classic_buckets_are_stored(exposition):
    h = _pushed_histogram(exposition)
    with MockPrometheus({"series": []}) as mock:
        assert _push(mock, exposition).status_code == 200
        assert _query(mock, f'{FAMILY}{{handler="{HANDLER}"}}') == []
        buckets = {s["metric"]["le"]: s["value"][1]
                   for s in _query(mock, f'{FAMILY}_bucket{{handler="{HANDLER}"}}')}
        assert buckets["+Inf"] == str(h.sample_count)
        assert buckets["0.1"] == str(h.bucket[0].cumulative_count)
        (c,) = _query(mock, f'{FAMILY}_count{{handler="{HANDLER}"}}')
        assert c["value"][1] == str(h.sample_count)


def test_a_protobuf_push_with_timestamps_is_refused_as_a_text_one(exposition):
    from mockprom.ingest.protoexposition import _bytes_field, _varint

    fam = (_bytes_field(1, b"stamped") + b"\x18\x01" +  # a gauge with timestamp_ms
           _bytes_field(4, _bytes_field(2, b"\x09" + b"\x00" * 8) + b"\x30" + _varint(5)))
    with MockPrometheus({"series": []}) as mock:
        r = _push(mock, _varint(len(fam)) + fam)
        assert r.status_code == 400 and "must not have timestamps" in r.text


def test_prometheus_client_native_histograms_are_refused_as_the_pushgateway_does():
    from prometheus_client import CollectorRegistry
    from prometheus_client.core import BucketSpan, Metric, NativeHistogram
    from prometheus_client.openmetrics.exposition import generate_latest

    class Native:
        def collect(self):
            m = Metric("latency_seconds", "Latency.", "histogram")
            m.add_sample("latency_seconds", {}, None, native_histogram=NativeHistogram(
                24, 100, 0, 0.001, 4, (BucketSpan(0, 2), BucketSpan(1, 2)), (), (2, 1, -3, 3)))
            yield m

    reg = CollectorRegistry()
    reg.register(Native())
    body = generate_latest(reg, version="2.0.0")
    assert b"{count:24,sum:100,schema:0" in body
    with MockPrometheus({"series": []}) as mock:
        r = requests.put(mock.url + "/metrics/job/py", data=body, timeout=30,
                         headers={"Content-Type": "application/openmetrics-text; version=2.0.0"})
        assert r.status_code == 400 and r.text.startswith("text format parsing error")
        assert _query(mock, "latency_seconds") == []
