"""``/federate`` with native histograms: a scraper that asks for a protobuf exposition
(``application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
encoding=delimited|text|compact-text``) gets them as ``histogram`` / ``gauge_histogram``
families (the text format leaves them out), byte for byte as a real Prometheus 3.5.3 and
2.42.0 write them; and a real Prometheus 3.5.3 scraping mockprom's ``/federate`` stores
the histograms mockprom generates."""

from __future__ import annotations

import time

import pytest
import requests

from mockprom.api.format import sample_value
from mockprom.histograms.wire import histogram_dict
from mockprom.scenario.labels import Matcher
from mockprom.server import MockPrometheus
from native_oracle import RealNativePrometheus, remote_write_native
from realprom import RealPrometheus, binaries

PROTO = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding="
HIST = ("{{schema:1 count:5 sum:2.5 z_bucket:1 z_bucket_w:0.01 buckets:[1 0 2] offset:-1 "
        "n_buckets:[1]}}")
GAUGE = "{{schema:0 count:2 sum:-1 n_buckets:[2] counter_reset_hint:gauge}}"
ACCEPTS = [None, PROTO + "delimited", PROTO + "text", PROTO + "compact-text",
           PROTO + "delimited;q=0.7,text/plain;version=0.0.4;q=0.3",
           "text/plain;version=0.0.4;q=0.9," + PROTO + "delimited;q=0.3"]
# One native histogram per answer: a real server (2.42 and 3.5.3 alike) writes the last
# histogram it federates into every histogram of an answer (it reuses one histogram
# buffer), which mockprom does not copy.
MATCHES = ['{__name__=~"f|h"}', '{__name__=~"f|g|z"}', '{__name__="m",a=~"1|2|5"}',
           '{__name__="m",a=~"3|5"}']


def data(now_s: int) -> list[dict]:
    at = now_s - 10
    return [{"labels": {"__name__": "f", "job": "a"}, "samples": [[at, 1.5]]},
            {"labels": {"__name__": "h", "job": "a"}, "samples": [[at, HIST]]},
            {"labels": {"__name__": "g", "job": "b"}, "samples": [[at, GAUGE]]},
            {"labels": {"__name__": "z", "job": "b"}, "samples": [[at, 7]]},
            {"labels": {"__name__": "m", "a": "1"}, "samples": [[at, 1]]},
            {"labels": {"__name__": "m", "a": "2"}, "samples": [[at, HIST]]},
            {"labels": {"__name__": "m", "a": "3"}, "samples": [[at, GAUGE]]},
            {"labels": {"__name__": "m", "a": "5"}, "samples": [[at, 3]]}]


def fetch(url: str, match: str, accept: str | None) -> tuple[int, str, bytes]:
    r = requests.get(url + "/federate", params={"match[]": match},
                     headers={"Accept": accept} if accept else {}, timeout=30)
    return r.status_code, r.headers.get("Content-Type"), r.content


@pytest.mark.parametrize("line", ["3.5", "2.42"])
def test_federation_formats_answer_as_the_real_server(line):
    if binaries(line) is None:
        pytest.skip(f"Prometheus {line} not installed")
    now_s = int(time.time())
    series = data(now_s)
    with RealPrometheus([], loader="none", line=line,
                        extra_args=["--enable-feature=native-histograms"]) as real:
        remote_write_native(real.url, series)
        version = "3.5.3" if line == "3.5" else "2.42.0"
        with MockPrometheus({"series": series, "clock": str(now_s),
                             "server": {"version": version}}) as mock:
            checked = 0
            for match in MATCHES:
                for accept in ACCEPTS:
                    want = fetch(real.url, match, accept)
                    assert want[0] == 200 and want[2], (match, accept)
                    assert fetch(mock.url, match, accept) == want, (match, accept, want)
                    checked += 1
            assert checked == len(MATCHES) * len(ACCEPTS)


def test_the_text_format_leaves_histograms_out_of_a_family():
    series = data(1000)
    with MockPrometheus({"series": series, "clock": "1000"}) as mock:
        status, _, body = fetch(mock.url, '{__name__="m"}', None)
    assert status == 200
    assert body.decode().splitlines() == [
        "# TYPE m untyped", 'm{a="1",instance=""} 1 990000', 'm{a="5",instance=""} 3 990000']


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
