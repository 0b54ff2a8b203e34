"""mockprom's own ``/metrics`` in the protobuf exposition, as Prometheus's own ``/metrics``
offers it: the ``Accept`` header negotiated to the same Content-Type as a real 3.5.3 and
2.42.0, the messages laid out as each line's client_golang lays them out, and (3.5)
``mockprom_http_request_duration_seconds`` carrying a native histogram (schema 3) beside
its classic buckets, as ``prometheus_http_request_duration_seconds`` does (2.42's had
classic buckets only, and no created timestamps). A real
Prometheus 3.5.3 scraping mockprom with the protobuf protocol stores it as a native
histogram; scraping the text format, as classic buckets."""

from __future__ import annotations

import re
import time

import pytest
import requests

from mockprom.histograms.bounds import get_bound_exponential
from mockprom.ingest.protobuild import build
from mockprom.server import MockPrometheus
from native_oracle import RealNativePrometheus
from realprom import RealPrometheus, binaries, require_binaries

PROTO = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding="
ACCEPTS = ["", "*/*", PROTO + "delimited", PROTO + "text", PROTO + "compact-text",
           "text/plain;version=0.0.4", "application/openmetrics-text;version=1.0.0",
           PROTO + "delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
           "text/plain;version=0.0.4;q=0.9," + PROTO + "delimited;q=0.3",
           PROTO + "delimited;escaping=dots"]
DURATION = "mockprom_http_request_duration_seconds"
QUERIES = 7

# io.prometheus.client (metrics.proto) for decoding, built from the field numbers alone
CLIENT = build("test_client_model.proto", "io.prometheus.client", {
    "LabelPair": [("name", 1, "string"), ("value", 2, "string")],
    "Gauge": [("value", 1, "double")],
    "Timestamp": [("seconds", 1, "int64"), ("nanos", 2, "int32")],
    "Counter": [("value", 1, "double"), ("created_timestamp", 3, "Timestamp")],
    "Bucket": [("cumulative_count", 1, "uint64"), ("upper_bound", 2, "double")],
    "BucketSpan": [("offset", 1, "sint32"), ("length", 2, "uint32")],
    "Histogram": [("sample_count", 1, "uint64"), ("sample_sum", 2, "double"),
                  ("bucket", 3, "Bucket", "repeated"), ("schema", 5, "sint32"),
                  ("zero_threshold", 6, "double"), ("zero_count", 7, "uint64"),
                  ("negative_span", 9, "BucketSpan", "repeated"),
                  ("negative_delta", 10, "sint64", "repeated"),
                  ("positive_span", 12, "BucketSpan", "repeated"),
                  ("positive_delta", 13, "sint64", "repeated"),
                  ("created_timestamp", 15, "Timestamp")],
    "Metric": [("label", 1, "LabelPair", "repeated"), ("gauge", 2, "Gauge"),
               ("counter", 3, "Counter"), ("timestamp_ms", 6, "int64"),
               ("histogram", 7, "Histogram")],
    "MetricFamily": [("name", 1, "string"), ("help", 2, "string"), ("type", 3, "int32"),
                     ("metric", 4, "Metric", "repeated")],
})


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = data[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def decode_delimited(data: bytes) -> list:
    out, pos = [], 0
    while pos < len(data):
        n, pos = _varint(data, pos)
        out.append(CLIENT.MetricFamily.FromString(data[pos:pos + n]))
        pos += n
    return out


def _busy_mock(version: str) -> MockPrometheus:
    mock = MockPrometheus({"series": [], "server": {"version": version}}).__enter__()
    for _ in range(QUERIES):
        requests.get(mock.url + "/api/v1/query", params={"query": "1"}, timeout=30)
    return mock


@pytest.mark.parametrize("line,version", [("3.5", "3.5.3"), ("2.42", "2.42.0")])
def test_metrics_negotiates_as_the_real_server(line, version):
    if binaries(line) is None:
        pytest.skip(f"Prometheus {line} not installed")
    with RealPrometheus([], loader="none", line=line) as real:
        with MockPrometheus({"series": [], "server": {"version": version}}) as mock:
            for accept in ACCEPTS:
                headers = {"Accept": accept} if accept else {}
                want = requests.get(real.url + "/metrics", headers=headers, timeout=30)
                got = requests.get(mock.url + "/metrics", headers=headers, timeout=30)
                assert (got.status_code, got.headers["Content-Type"]) == (
                    want.status_code, want.headers["Content-Type"]), accept


def _shape(text: str, family: str) -> list[str]:
    """The field names of a family's first metric in the protobuf text format, values
    and label names left out (the layout: which fields, in which order, how nested)."""
    block = re.split(rf'^name: +"{family}"', text, flags=re.M)[1]
    block = block.split("\n\n")[0]
    first = block.split("\nmetric:")[1].split("\nmetric:")[0]
    names = [m.group(1) for m in re.finditer(r"^\s*(\w+):", first, re.M)]
    return [n for i, n in enumerate(names) if n not in ("name", "value") or names[i - 1:i] != ["label"]]


@pytest.mark.parametrize("line,version", [("3.5", "3.5.3"), ("2.42", "2.42.0")])
def test_the_text_encodings_lay_out_a_histogram_as_client_golang(line, version):
    """Field order and nesting of a classic-plus-native histogram and of a counter, in
    the ``text`` encoding of each line, as the real server writes its own."""
    if binaries(line) is None:
        pytest.skip(f"Prometheus {line} not installed")
    with RealPrometheus([], loader="none", line=line,
                        extra_args=["--enable-feature=native-histograms"]) as real:
        for _ in range(3):
            requests.get(real.url + "/api/v1/query", params={"query": "1"}, timeout=30)
        want = requests.get(real.url + "/metrics", headers={"Accept": PROTO + "text"},
                            timeout=30).text
    mock = _busy_mock(version)
    try:
        got = requests.get(mock.url + "/metrics", headers={"Accept": PROTO + "text"},
                           timeout=30).text
    finally:
        mock.__exit__(None, None, None)
    real_hist = _shape(want, "prometheus_http_request_duration_seconds")
    mock_hist = _shape(got, DURATION)
    native = line == "3.5"  # 2.42's own histograms had classic buckets only
    assert ("schema" in real_hist and "positive_span" in real_hist) == native
    squeeze = lambda names: list(dict.fromkeys(names))  # each field at its first place
    assert squeeze(mock_hist) == squeeze(real_hist)
    assert squeeze(_shape(got, "mockprom_http_requests_total")) == squeeze(
        _shape(want, "prometheus_http_requests_total"))
    if line == "2.42":
        assert "metric: <" in got and "metric:  {" not in got
    else:
        assert "metric:  {" in got


def test_the_duration_histogram_is_native_and_classic_alike():
    mock = _busy_mock("3.5.3")
    try:
        r = requests.get(mock.url + "/metrics", headers={"Accept": PROTO + "delimited"},
                         timeout=30)
    finally:
        mock.__exit__(None, None, None)
    families = decode_delimited(r.content)
    names = [f.name for f in families]
    assert names == sorted(names) and DURATION in names
    assert "mockprom_http_requests_total" in names and "mockprom_series" in names
    (fam,) = [f for f in families if f.name == DURATION]
    assert fam.type == 4 and fam.help == "Histogram of latencies for HTTP requests."
    (m,) = [m for m in fam.metric if {(p.name, p.value) for p in m.label}
            == {("endpoint", "/api/v1/query")}]
    h = m.histogram
    assert h.sample_count == QUERIES and 0 < h.sample_sum < 60
    assert [b.upper_bound for b in h.bucket] == [0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120]
    assert h.bucket[-1].cumulative_count == QUERIES
    assert h.schema == 3 and h.zero_threshold == 2.938735877055719e-39
    # the native buckets: deltas add up to counts that add up to sample_count, and the
    # populated buckets hold the sum (each observation lies within its bucket)
    counts, index, count, low, high = [], None, 0, 0.0, 0.0
    deltas = iter(h.positive_delta)
    for span in h.positive_span:
        index = span.offset if index is None else index + span.offset
        for _ in range(span.length):
            count += next(deltas)
            counts.append((index, count))
            index += 1
    assert sum(c for _, c in counts) + h.zero_count == QUERIES
    for i, c in counts:
        low += c * get_bound_exponential(i - 1, 3)
        high += c * get_bound_exponential(i, 3)
    assert low <= h.sample_sum <= high
    assert m.histogram.created_timestamp.seconds > 1_600_000_000


def test_real_prometheus_scrapes_a_native_histogram_from_metrics():
    require_binaries("3.5")
    with MockPrometheus({"series": []}) as mock:
        for _ in range(QUERIES):
            requests.get(mock.url + "/api/v1/query", params={"query": "1"}, timeout=30)
        jobs = ""
        for job, protocol in (("proto", "PrometheusProto"), ("text", "PrometheusText0.0.4")):
            jobs += (f"  - job_name: {job}\n    scrape_protocols: [{protocol}]\n"
                     f"    static_configs: [{{targets: ['127.0.0.1:{mock.port}']}}]\n")
        config = "global: {scrape_interval: 1s}\nscrape_configs:\n" + jobs
        with RealNativePrometheus([], config=config) as real:
            query = f'{DURATION}{{job="proto", endpoint="/api/v1/query"}}'
            classic = f'{DURATION}_bucket{{job="text", endpoint="/api/v1/query", le="+Inf"}}'
            deadline = time.monotonic() + 30
            native = buckets = []
            while time.monotonic() < deadline and not (native and buckets):
                time.sleep(1)
                native = requests.get(real.url + "/api/v1/query",
                                      params={"query": query}).json()["data"]["result"]
                buckets = requests.get(real.url + "/api/v1/query",
                                       params={"query": classic}).json()["data"]["result"]
            assert native, "no native histogram scraped from mockprom's /metrics"
            (s,) = native
            h = s["histogram"][1]
            assert int(h["count"]) == QUERIES and "value" not in s
            for rule, lower, upper, _ in h["buckets"]:
                assert rule == 0  # (lower, upper]: positive exponential buckets
                ratio = float(upper) / float(lower)
                assert ratio == pytest.approx(2 ** (1 / 8))  # schema 3
            assert buckets and buckets[0]["value"][1] == str(QUERIES)
            # the proto scrape stored no classic series beside the native histogram
            none = requests.get(real.url + "/api/v1/query", params={
                "query": f'{DURATION}_bucket{{job="proto"}}'}).json()["data"]["result"]
            assert none == []
