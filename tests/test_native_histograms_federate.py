"""``/federate`` in the protobuf exposition format: a scraper that asks for
``application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
encoding=delimited`` gets native histograms (the text format leaves them out), byte for
byte as a real Prometheus writes them; and a real Prometheus 3.5.3 scraping mockprom's
``/federate`` stores the histograms mockprom holds."""

from __future__ import annotations

import time

import pytest
import requests

from mockprom.api.format import sample_value
from mockprom.histograms import parse_histogram
from mockprom.histograms.wire import histogram_dict
from mockprom.ingest import protoexpo
from mockprom.scenario.labels import Matcher
from mockprom.server import MockPrometheus
from native_oracle import RealNativePrometheus
from realprom import RealPrometheus, binaries, free_port

PROTO = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
         "encoding=delimited")
HIST = ("{{schema:1 count:5 sum:2.5 z_bucket:1 z_bucket_w:0.01 buckets:[1 0 2] offset:-1 "
        "n_buckets:[1]}}")


def data(now_s: int) -> list[dict]:
    return [{"labels": {"__name__": "f", "job": "a"}, "samples": [[now_s - 10, 1.5]]},
            {"labels": {"__name__": "h", "job": "a"}, "samples": [[now_s - 10, HIST]]},
            {"labels": {"__name__": "z", "job": "b"}, "samples": [[now_s - 10, 7]]}]


def fetch(url: str, accept: str | None) -> tuple[int, str, bytes]:
    r = requests.get(url + "/federate", params={"match[]": '{__name__=~".+"}'},
                     headers={"Accept": accept} if accept else {})
    return r.status_code, r.headers.get("Content-Type"), r.content


@pytest.mark.parametrize("line", ["3.5", "2.42"])
def test_federation_formats_answer_as_the_real_server(line):
    if binaries(line) is None:
        pytest.skip(f"Prometheus {line} not installed")
    now_s = int(time.time())
    series = data(now_s)
    with RealPrometheus([], loader="none", line=line,
                        extra_args=["--enable-feature=native-histograms"]) as real:
        from native_oracle import remote_write_native
        remote_write_native(real.url, series)
        version = "3.5.3" if line == "3.5" else "2.42.0"
        with MockPrometheus({"series": series, "clock": str(now_s),
                             "server": {"version": version}}) as mock:
            for accept in (None, PROTO, PROTO + ";q=0.7,text/plain;version=0.0.4;q=0.3",
                           "text/plain;version=0.0.4;q=0.9," + PROTO + ";q=0.3"):
                assert fetch(mock.url, accept) == fetch(real.url, accept), accept


def test_families_split_by_sample_and_histogram_kind():
    series = [
        {"labels": {"__name__": "m", "a": "1"}, "samples": [[100, 1]]},
        {"labels": {"__name__": "m", "a": "2"}, "samples": [[100, "{{count:1 buckets:[1]}}"]]},
        {"labels": {"__name__": "m", "a": "3"},
         "samples": [[100, "{{count:2 buckets:[2] counter_reset_hint:gauge}}"]]},
        {"labels": {"__name__": "m", "a": "4"}, "samples": [[100, "{{count:3 buckets:[3]}}"]]},
    ]
    with MockPrometheus({"series": series, "clock": "200"}) as mock:
        status, ctype, body = fetch(mock.url, PROTO)
    assert status == 200 and ctype == protoexpo.CONTENT_TYPE + "; escaping=underscores"
    families = protoexpo.decode_families(body)
    assert [(f["name"], f["type"], [m["labels"]["a"] for m in f["metrics"]])
            for f in families] == [("m", protoexpo.UNTYPED, ["1"]),
                                   ("m", protoexpo.HISTOGRAM, ["2"]),
                                   ("m", protoexpo.GAUGE_HISTOGRAM, ["3"]),
                                   ("m", protoexpo.HISTOGRAM, ["4"])]
    h = families[1]["metrics"][0]["histogram"]
    assert h.equals(parse_histogram("{{count:1 buckets:[1]}}")[0])
    assert families[0]["metrics"][0]["value"] == 1.0


def test_real_prometheus_scrapes_native_histograms_from_federate():
    if binaries("3.5") is None:
        pytest.skip("Prometheus 3.5 not installed")
    scenario = {"seed": 3, "interval": "1s", "series": [
        {"metric": "lat", "type": "histogram", "labels": {"job": "api", "instance": "i1"},
         "generator": {"kind": "native_histogram", "rate": 50, "schema": 2}},
        {"metric": "up_like", "labels": {"job": "api", "instance": "i1"},
         "generator": {"kind": "constant", "value": 1}}]}
    with MockPrometheus(scenario) as mock:
        config = ("global: {scrape_interval: 1s}\nscrape_configs:\n"
                  "  - job_name: federate\n    honor_labels: true\n"
                  "    metrics_path: /federate\n"
                  "    params: {'match[]': ['{job=\"api\"}']}\n"
                  "    scrape_protocols: [PrometheusProto]\n"
                  f"    static_configs: [{{targets: ['127.0.0.1:{mock.port}']}}]\n")
        with RealNativePrometheus([], config=config) as real:
            deadline = time.monotonic() + 30
            got = []
            while time.monotonic() < deadline and len(got) < 3:
                time.sleep(1)
                r = requests.get(real.url + "/api/v1/query", params={"query": "lat[1m]"})
                result = r.json()["data"]["result"]
                got = result[0]["histograms"] if result else []
            assert len(got) >= 3, "no native histograms scraped"
            store = mock.state.store
            for t, hist in got:
                t_ms = int(round(float(t) * 1000))
                sd = store.select([Matcher.of("__name__", "=", "lat")], t_ms, t_ms,
                                  histograms=True)[0]  # the sample of that time
                assert hist == histogram_dict(sd.hists[0], sample_value)
