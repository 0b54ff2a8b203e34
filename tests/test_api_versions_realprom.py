"""The HTTP API where Prometheus 2.42 and 3.5 differ, byte for byte against both real
servers: the same requests to a real Prometheus and to mockprom pinned to its version,
holding the same samples, must get the same status, Content-Type, Vary, CORS headers and
body. 2.42 ignores most of these parameters; 3.5 takes ``limit``, ``lookback_delta``,
UTF-8 label names (``U__`` escaping), rules filters and ``/federate`` escaping, words some
errors differently, and does not HTML-escape label sets (``mockprom.api.dialect``).

Cases marked with a line run against that release only (where the other answers at
random: ties in ``status/tsdb`` are ordered by Go's map iteration)."""

from __future__ import annotations

import time

import pytest
import requests

import realprom
from realprom import release  # noqa: F401  (a fixture)

pytestmark = pytest.mark.realprom

NOW = (int(time.time()) // 60) * 60  # the same in every xdist worker (test ids)
T = NOW - 20 * 60  # inside a fresh server's head; the last samples are at NOW (federate)

SERIES = [
    {"labels": {"__name__": "v_up", "job": "api", "instance": "a:1"},
     "samples": [[T + 15 * i, 1 if i % 7 else 0] for i in range(81)]},
    {"labels": {"__name__": "v_up", "job": "db", "instance": "b:2"},
     "samples": [[T + 15 * i, 1] for i in range(81)]},
    {"labels": {"__name__": "v_up", "job": "web", "instance": "c:3"},
     "samples": [[T + 15 * i, 0.5] for i in range(81)]},
    {"labels": {"__name__": "v.dotted", "a.b": "c", "job": "x<y"},
     "samples": [[T + 15 * i, i] for i in range(81)]},
    {"labels": {"__name__": "v_utf8", "sl/ash": "s", "sp ace": "v", "ünï": "ü",
                "under_score": "u", "co:lon": "k"},
     "samples": [[T + 15 * i, 2 * i] for i in range(81)]},
    {"labels": {"__name__": "1digit", "job": "api"},
     "samples": [[T + 15 * i, 0.25] for i in range(81)]},
    {"labels": {"__name__": "v_text", "note": "a<b & c>d \u2028 é"},
     "samples": [[T + 15 * i, 3] for i in range(81)]},
    # (one label with a value per series: no ties in status/tsdb's top lists)
    *({"labels": {"__name__": "v_special", "q": f'{i}: a"b\\c\nd\te\x01\u0085'},
       "samples": [[T + 15 * k, v] for k in range(81)]}
      for i, v in enumerate([1e-7, 1e21, "NaN", "+Inf", "-Inf", -0.0, 123456789.0, 2.5e-300])),
]

A = str(T + 600)  # an evaluation time inside the data
PROTO = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"
S, E = str(T + 300), str(T + 900)


def _cases():
    q, qr = "/api/v1/query", "/api/v1/query_range"
    out = [
        # limit on queries: checked first (before time, timeout, the query itself)
        ("GET", q, {"query": "sort_desc(v_up)", "time": A, "limit": "2"}),
        ("GET", q, {"query": "sort(v_up)", "time": A, "limit": "3"}),
        ("GET", q, {"query": "v_up", "time": A, "limit": "0"}),
        ("GET", q, {"query": "v_up[1m]", "time": str(T + 607), "limit": "1"}),
        ("GET", q, {"query": '"s"', "time": A, "limit": "1"}),
        ("GET", q, {"query": "1", "time": A, "limit": "1"}),
        ("GET", q, {"query": "v_up", "time": "x", "limit": "x"}),
        ("GET", q, {"query": "foo(", "time": A, "limit": "-1"}),
        ("GET", q, {"query": "v_up", "time": A, "limit": " 1"}),
        ("GET", q, {"query": "v_up", "time": A, "limit": "+1"}),
        ("GET", q, {"query": "v_up", "time": A, "limit": "99999999999999999999"}),
        ("POST", q, {"query": "sort(v_up)", "time": A, "limit": "1"}),
        ("GET", qr, {"query": "v_up", "start": S, "end": E, "step": "60", "limit": "2"}),
        ("GET", qr, {"query": "v_up", "start": "x", "end": E, "step": "60", "limit": "x"}),
        ("GET", qr, {"query": "v_up(", "start": S, "end": E, "step": "60"}),
        ("GET", qr, {"query": "v_up[5m]", "start": S, "end": E, "step": "60"}),
        # lookback_delta
        ("GET", q, {"query": "v_up", "time": str(T + 1230), "lookback_delta": "20s"}),
        ("GET", q, {"query": "v_up", "time": str(T + 1230), "lookback_delta": "1m"}),
        ("GET", q, {"query": "v_up", "time": A, "lookback_delta": "x"}),
        ("GET", q, {"query": "v_up", "time": A, "lookback_delta": "-1s"}),
        ("GET", q, {"query": "v_up", "time": A, "lookback_delta": "0"}),
        ("GET", q, {"query": "foo(", "time": A, "lookback_delta": "x"}),
        ("GET", q, {"query": "v_up", "time": "x", "lookback_delta": "x"}),
        ("GET", q, {"query": "v_up", "timeout": "x", "lookback_delta": "x"}),
        ("GET", qr, {"query": "v_up", "start": S, "end": E, "step": "60",
                     "lookback_delta": "x"}),
        # time errors are worded per version
        ("GET", q, {"query": "v_up", "time": "yesterday"}),
        ("GET", "/api/v1/labels", {"start": "then"}),
        # series, labels, label values: limit, UTF-8 names, unescaped label sets
        ("GET", "/api/v1/series", {"match[]": "v_up", "limit": "2"}),
        ("GET", "/api/v1/series", {"match[]": "v_up", "limit": "3"}),
        ("GET", "/api/v1/series", {"match[]": ["v_up", "v_text"], "limit": "2"}),
        ("GET", "/api/v1/series", {"match[]": '{__name__=~"v.*"}'}),
        ("GET", "/api/v1/series", {"match[]": '{job=~".+"}', "limit": "x", "start": "x"}),
        ("GET", "/api/v1/series", {"limit": "x"}),
        ("GET", "/api/v1/series", {"match[]": "v_text"}),
        ("GET", "/api/v1/labels", {"limit": "3"}),
        ("GET", "/api/v1/labels", {"limit": "-1"}),
        ("GET", "/api/v1/labels", {"match[]": "v_utf8"}),
        ("GET", "/api/v1/label/job/values", {"limit": "50"}),
        ("GET", "/api/v1/label/job/values", {"match[]": "v_up", "limit": "x"}),
        ("GET", "/api/v1/label/a.b/values", {}),
        ("GET", "/api/v1/label/U__a_2e_b/values", {}),
        ("GET", "/api/v1/label/U__a_2E_b/values", {}),
        ("GET", "/api/v1/label/U__sl_2f_ash/values", {}),
        ("GET", "/api/v1/label/U___fc_n_ef_/values", {}),
        ("GET", "/api/v1/label/U__under__score/values", {}),
        ("GET", "/api/v1/label/U__under_score/values", {}),
        ("GET", "/api/v1/label/U__a_0002e_b/values", {}),
        ("GET", "/api/v1/label/U__a_00002e_b/values", {}),
        ("GET", "/api/v1/label/U__a_2e_b_/values", {}),
        ("GET", "/api/v1/label/U__/values", {}),
        ("GET", "/api/v1/label/%FF/values", {}),
        ("GET", "/api/v1/label/%C3%BCn%C3%AF/values", {}),
        ("GET", "/api/v1/label/sp%20ace/values", {}),
        ("GET", "/api/v1/label/co:lon/values", {}),
        ("GET", "/api/v1/label/note/values", {}),
        ("GET", "/api/v1/label/job/values", {"match[]": '{__name__="v.dotted"}'}),
        ("GET", q, {"query": '{__name__=~"v.dotted|v_text"}', "time": A}),
        ("GET", qr, {"query": '{__name__="v.dotted"}', "start": S, "end": E, "step": "120"}),
        # metadata and status
        ("GET", "/api/v1/metadata", {"limit_per_metric": "x"}),
        ("GET", "/api/v1/metadata", {"limit": "x", "limit_per_metric": "x"}),
        ("GET", "/api/v1/metadata", {"limit_per_metric": "2", "limit": "-1"}),
        # rules: filters and pagination (no rules loaded: the parameter checks)
        ("GET", "/api/v1/rules", {"group_limit": "x"}),
        ("GET", "/api/v1/rules", {"group_limit": "-1"}),
        ("GET", "/api/v1/rules", {"group_limit": "1"}),
        ("GET", "/api/v1/rules", {"group_next_token": "abc"}),
        ("GET", "/api/v1/rules", {"group_limit": "1", "group_next_token": "abc"}),
        ("GET", "/api/v1/rules", {"exclude_alerts": "x"}),
        ("GET", "/api/v1/rules", {"exclude_alerts": "true"}),
        ("GET", "/api/v1/rules", {"match[]": "{"}),
        ("GET", "/api/v1/rules", {"match[]": '{a="b"}', "rule_name[]": "x"}),
        ("GET", "/api/v1/rules", {"type": "x", "group_limit": "x"}),
        # targets (none configured): 3.5 adds droppedTargetCounts, null unless dropped
        # targets are asked for
        ("GET", "/api/v1/targets", {}),
        ("GET", "/api/v1/targets", {"state": "active"}),
        ("GET", "/api/v1/targets", {"state": "DROPPED"}),
        ("GET", "/api/v1/targets", {"state": "x"}),
        ("GET", "/api/v1/targets", {"scrapePool": "x"}),
        ("GET", "/api/v1/scrape_pools", {}),
        ("POST", "/api/v1/scrape_pools", {}),
        # notifications (3.x)
        ("GET", "/api/v1/notifications", {}),
        ("POST", "/api/v1/notifications", {}),
        ("GET", "/api/v1/notifications/x", {}),
        # /federate: escaping negotiated by Accept (3.x)
        ("GET", "/federate", {"match[]": '{__name__=~"v.dotted|v_utf8|1digit"}'}, {}),
        ("GET", "/federate", {"match[]": '{__name__=~"v.dotted|v_utf8|1digit"}'},
         {"Accept": "text/plain;version=0.0.4;escaping=allow-utf-8"}),
        ("GET", "/federate", {"match[]": '{__name__=~"v.dotted|v_utf8|1digit"}'},
         {"Accept": "text/plain;version=1.0.0;escaping=dots"}),
        ("GET", "/federate", {"match[]": '{__name__=~"v.dotted|v_utf8|1digit"}'},
         {"Accept": "text/plain;version=0.0.4;escaping=values"}),
        ("GET", "/federate", {"match[]": '{__name__=~"v.dotted|v_utf8|1digit"}'},
         {"Accept": "text/plain;escaping=underscores"}),
        ("GET", "/federate", {"match[]": '{__name__=~"v.dotted|v_utf8|1digit"}'},
         {"Accept": "text/plain;escaping=bogus"}),
        ("GET", "/federate", {"match[]": '{__name__=~"v.dotted|v_text"}'},
         {"Accept": "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8,"
                    "text/plain;q=0.5"}),
        ("GET", "/federate", {"match[]": "v_up"}, {"Accept": "*/*"}),
        # ... and in the protobuf formats (delimited, and the text format whose style
        # changed between the versions)
        *(("GET", "/federate", {"match[]": '{__name__=~"v.dotted|v_utf8|v_text|1digit|v_special"}'},
           {"Accept": f"{PROTO};encoding={enc}{esc}"})
          for enc in ("delimited", "text", "compact-text")
          for esc in ("", ";escaping=allow-utf-8", ";escaping=values")),
        ("GET", "/federate", {"match[]": "v_up"},
         {"Accept": f"{PROTO};encoding=delimited;q=0.5,text/plain;version=0.0.4"}),
        # CORS
        ("GET", q, {"query": "1", "time": A}, {"Origin": "http://grafana.example"}),
        ("OPTIONS", q, {}, {"Origin": "http://grafana.example"}),
        ("GET", "/api/v1/labels", {}, {"Origin": "null"}),
    ]
    # tsdb statistics: 2.42 ignores limit and orders ties at random, so 3.5 only
    out += [("GET", "/api/v1/status/tsdb", {"limit": lim}, {}, "3.5")
            for lim in ("1", "x", "0", "-3")]
    return out


CASES = _cases()


_TIMES = {A: "A", S: "S", E: "E", str(T + 607): "T+607", str(T + 1230): "T+1230"}


def _id(case) -> str:
    """A test id without the run's timestamps (named A, S, E...)."""
    method, path, params = case[:3]
    shown = sorted((k, _TIMES.get(v, v) if isinstance(v, str) else v) for k, v in params.items())
    return f"{method} {path} {shown} {case[3] if len(case) > 3 else ''}"[:120]


@pytest.fixture(scope="module")
def servers(release):
    from mockprom.server import MockPrometheus

    with realprom.RealPrometheus(SERIES, line=release.line) as real, \
            MockPrometheus({"series": SERIES, "targets": []}, version=release.version) as mock:
        yield real.url, mock.url


def answer(base: str, method: str, path: str, params: dict, headers: dict):
    if method == "POST":
        r = requests.request(method, base + path, data=params, headers=headers, timeout=30)
    else:
        r = requests.request(method, base + path, params=params, headers=headers, timeout=30)
    h = r.headers
    return (r.status_code, h.get("Content-Type"), h.get("Allow"), h.get("Vary"),
            h.get("Access-Control-Allow-Origin"), h.get("Access-Control-Allow-Methods"),
            r.content)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_same_answer_as_real_prometheus(servers, release, case):
    method, path, params = case[:3]
    headers = case[3] if len(case) > 3 else {}
    if len(case) > 4 and case[4] != release.line:
        pytest.skip(f"compared with {case[4]} only (the other orders ties at random)")
    real_url, mock_url = servers
    want = answer(real_url, method, path, params, headers)
    got = answer(mock_url, method, path, params, headers)
    assert got == want, f"\n Prometheus: {want}\n mockprom:   {got}"


def test_notifications_live_stream_opens_as_a_real_prometheus(servers, release):
    """``/api/v1/notifications/live``: an event stream (3.x) with nothing to send yet, or
    404 (2.42)."""
    real_url, mock_url = servers
    got = []
    for base in (real_url, mock_url):
        with requests.get(base + "/api/v1/notifications/live", stream=True, timeout=5) as r:
            got.append((r.status_code, r.headers.get("Content-Type"),
                        r.headers.get("Cache-Control"),
                        r.raw.read(100) if r.status_code != 200 else b""))
    assert got[1] == got[0]
