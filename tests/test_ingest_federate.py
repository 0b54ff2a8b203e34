"""The scrape faces: ``/federate`` as Prometheus 2.42 and 3.5 write it (checked byte for
byte against real ones), and mockprom's own ``/metrics``."""

from __future__ import annotations

import math
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from mockprom.ingest import remote_write as rw
from mockprom.ingest.gofloat import format_go_g
from mockprom.scenario.labels import make_labels
from mockprom.scenario.samples import STALE_NAN
from mockprom.scenario.store import StaticSource
from test_ingest_support import Served, StandInState

import realprom
from realprom import release  # noqa: F401  (a fixture)

NOW = 1_700_000_000_000


@pytest.fixture()
def served():
    with Served(StandInState(now_ms=NOW)) as s:
        yield s


def _add(state, labels: dict, samples):
    state.store.add(make_labels(labels), StaticSource([t for t, _ in samples], [v for _, v in samples]))


def test_latest_sample_in_the_lookback_with_its_timestamp(served):
    st = served.state
    _add(st, {"__name__": "up", "job": "api", "instance": "a:1"}, [(NOW - 30_000, 0), (NOW - 15_000, 1)])
    _add(st, {"__name__": "up", "job": "api", "instance": "b:1"}, [(NOW - 400_000, 1)])  # too old
    _add(st, {"__name__": "up", "job": "db"}, [(NOW - 1000, 1), (NOW, STALE_NAN)])  # went stale
    _add(st, {"__name__": "http_requests_total", "job": "api"}, [(NOW - 5000, 12.5), (NOW + 5000, 99)])
    r = requests.get(served.url + "/federate", params={"match[]": ["up", '{job="api"}']})
    assert r.status_code == 200
    # 3.x names the escaping of names that are not legacy ones (none here)
    assert r.headers["Content-Type"] == ("text/plain; version=0.0.4; charset=utf-8; "
                                         "escaping=underscores")
    assert r.text == (
        "# TYPE http_requests_total untyped\n"
        f'http_requests_total{{job="api",instance=""}} 12.5 {NOW - 5000}\n'
        "# TYPE up untyped\n"
        f'up{{instance="a:1",job="api"}} 1 {NOW - 15_000}\n')


def test_federation_serves_remote_written_series_and_parses_back(served):
    samples = [(NOW - 1000, 0.1), (NOW - 500, 2.5e-7)]
    body = rw.encode([({"__name__": "rw_metric", "k": 'quote"and\\back'}, samples)])
    assert requests.post(served.url + "/api/v1/write", data=body).status_code == 204
    r = requests.get(served.url + "/federate", params={"match[]": "rw_metric"})
    [fam] = text_string_to_metric_families(r.text)
    [s] = fam.samples
    assert s.labels == {"k": 'quote"and\\back', "instance": ""}
    assert s.value == samples[-1][1] and s.timestamp * 1000 == pytest.approx(samples[-1][0])


def test_no_match_gives_an_empty_body_and_a_bad_selector_a_400(served):
    r = requests.get(served.url + "/federate")
    assert r.status_code == 200 and r.text == ""
    for bad in ("rate(up[5m])", "up{", "up offset 5m"):
        r = requests.get(served.url + "/federate", params={"match[]": bad})
        assert r.status_code == 400, bad
        assert r.text.strip() and "Traceback" not in r.text


@pytest.mark.parametrize("v", [1, 0, -1, 0.1, 0.25, 1e6, 123456, 1234567, 1e-5, 1.5e-7, 1e21,
                               3.141592653589793, 2.0**53, 1e-300, 5e-324, -2.5e-9, 100, 1e5])
def test_go_float_format_round_trips(v):
    text = format_go_g(float(v))
    assert float(text) == float(v)
    assert "e" not in text or text.split("e")[1][0] in "+-"


def test_own_metrics_count_requests_and_series(served):
    requests.get(served.url + "/federate")
    requests.get(served.url + "/federate")
    requests.post(served.url + "/api/v1/write", data=b"")
    _add(served.state, {"__name__": "one"}, [(NOW, 1)])
    text = requests.get(served.url + "/metrics").text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert samples[("mockprom_http_requests_total", (("code", "200"), ("endpoint", "/federate")))] == 2
    assert samples[("mockprom_http_requests_total", (("code", "400"), ("endpoint", "/api/v1/write")))] == 1
    assert samples[("mockprom_series", ())] == len(served.state.store)
    assert samples[("mockprom_faults_injected_total", ())] == 0


def test_self_metrics_are_per_app():
    with Served() as a, Served() as b:
        requests.get(a.url + "/federate")
        text = requests.get(b.url + "/metrics").text
        assert "/federate" not in text


class _RealClock:
    def now_ms(self) -> int:
        return int(time.time() * 1000)


@pytest.mark.realprom
def test_federation_body_is_byte_identical_to_a_real_prometheus(release):
    now_s = time.time()
    values = [1, 0, -1, 0.1, 1e6, 123456, 1234567, 1e-5, 1.5e-7, math.nan, math.inf, -math.inf,
              1e21, 3.141592653589793, 2.0**53, 1e-300, -2.5e-9]
    series = [{"labels": {"__name__": f"fmt_{i:02d}", "job": "f", **({"instance": "x"} if i % 2 else {})},
               "samples": [[round(now_s - 100, 3), 7], [round(now_s - 20, 3), "NaN" if v != v else v]]}
              for i, v in enumerate(values)]
    series.append({"labels": {"__name__": "gone", "job": "f"},
                   "samples": [[round(now_s - 50, 3), 1], [round(now_s - 10, 3), "stale"]]})
    state = StandInState(version=release.version)
    state.clock = _RealClock()
    with realprom.RealPrometheus(series, line=release.line) as real, Served(state) as mock:
        realprom.remote_write(mock.url, series)
        params = {"match[]": ['{job="f"}']}
        want = requests.get(real.url + "/federate", params=params)
        got = requests.get(mock.url + "/federate", params=params)
    assert got.status_code == want.status_code == 200
    assert got.text == want.text
    assert got.headers["Content-Type"] == want.headers["Content-Type"]
    assert want.text.count("# TYPE") == len(values)  # every series but the stale one


# Selectors /federate takes or refuses, each answered by a real 2.42 (ParseMetricSelector:
# no AST check, so selectors matching the empty label set are accepted there, unlike in
# /api/v1/series; keyword metric names; errors worded and positioned as 2.42 words them).
# test_match_selectors.py sends the same list to the API endpoints.
SELECTORS = [
    # accepted
    '{job=""}', "{}", '{job=~".*"}', '{__name__=~".*"}', '{a=~""}', '{job!=""}', "up",
    "  up  ", "up # comment", "up\n", 'up{job="a",}', 'up{job!~"a"}', 'up{instance=""}',
    'up{__name__="up"}', 'up{__name__="on"}', '{__name__="up",__name__="on"}', "offset",
    'sum{job="a"}', "by", "without", "end", 'start{a="b"}', 'and{a="b"}', "foo:bar",
    'foo:bar{job=~"a|b"}', '{on="x"}', '{sum="x", by="y"}', "up{a='b'}", "up{a=`b`}",
    'up\n{job="b"}', 'up{job="a"} # trailing', 'up{a="b",c!~"d",e=~"f.*"}', '{__name__="on"}',
    # refused
    "", " ", "up{", "rate(up[5m])", "up offset 5m", "up[5m]", "up @ 10", 'on{x="y"}', "bool",
    'ON{a="b"}', "ignoring{}", "group_left", "atan2", "@", "up @", 'up{job="a" or}',
    'SUM{job="a" or}', '{"up"}', '{job="a"} or up', "sum(up)", "1", "-up", "(up)", "nan",
    "Inf{}", 'up{job=~"("}', 'sum{job=~"("}', '{job=~"("}', 'up{job="a"', '{job=""',
    '{job="" or}', "up}", 'up{job="a"}{x="y"}', "up sum", "up foo:bar", "up start",
    'up{job="a"} offset 5m', 'up{job="a"}[5m]', 'up{job="\\q"}', 'up{job="a}', "up{job=}",
    "up{=}", 'up{job~"a"}', "up{,}", "{,}", 'up{job="a" job="b"}', "x{}{}", '{a="b"} @ 1',
    'offset{a="b"} offset 5m', 'up{\u00e9="x"}', "\u00e9",
]


# how many of SELECTORS each release accepts (3.5 also takes quoted and UTF-8 names)
ACCEPTED = {"2.42": 33, "3.5": 34}


@pytest.mark.realprom
def test_federate_takes_and_refuses_selectors_exactly_as_a_real_prometheus(release):
    now_s = time.time()

    def s(labels, v):
        return {"labels": labels, "samples": [[round(now_s - 30, 3), v - 1], [round(now_s - 15, 3), v]]}

    series = [s({"__name__": "up", "job": "a", "instance": "i:1"}, 1),
              s({"__name__": "up", "job": "b"}, 2), s({"__name__": "up"}, 3),
              s({"__name__": "on", "x": "y"}, 4), s({"__name__": "sum", "job": "a"}, 5),
              s({"__name__": "offset", "job": "c"}, 6), s({"__name__": "foo:bar", "job": "b"}, 7),
              s({"__name__": "start", "a": "b"}, 8), s({"__name__": "and", "a": "b"}, 9)]
    state = StandInState(version=release.version)
    state.clock = _RealClock()
    with realprom.RealPrometheus(series, line=release.line) as real, Served(state) as mock:
        realprom.remote_write(mock.url, series)
        diffs, accepted = [], 0
        for sel in SELECTORS:
            want = requests.get(real.url + "/federate", params={"match[]": sel})
            got = requests.get(mock.url + "/federate", params={"match[]": sel})
            accepted += want.status_code == 200
            if (got.status_code, got.text) != (want.status_code, want.text):
                diffs.append((sel, want.status_code, want.text, got.status_code, got.text))
        # several selectors at once: the union, each series once
        params = {"match[]": ['{job=""}', "up", '{__name__=~"s.*"}']}
        want = requests.get(real.url + "/federate", params=params)
        got = requests.get(mock.url + "/federate", params=params)
    assert diffs == []
    assert len(SELECTORS) == 84 and accepted == ACCEPTED[release.line]
    assert got.status_code == want.status_code == 200 and got.text == want.text
    # {job=""}: and, on, start, up{}; up: 3 series; s.*: start, sum (once each)
    assert want.text.count("# TYPE") == 5 and want.text.count("\n") == 5 + 7
