"""No request can hang or exhaust the server (issue 8, "Must not hang or exhaust").

Each test reproduces an attack that held or blew up the server before, and checks the
answer Prometheus (or the Pushgateway) gives instead. Time bounds here are generous
"does not hang" limits, not speed measurements (those live in ``bench/``)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from mockprom.server import MockPrometheus

CATASTROPHIC = "(.+)+b"  # exponential for a backtracking engine on any long value


@pytest.fixture(scope="module")
def demo():
    """The embedded default scenario: long metric names, as the report used."""
    with MockPrometheus() as prom:
        yield prom


def _timed(fn):
    started = time.monotonic()
    result = fn()
    return result, time.monotonic() - started


# --- 1. catastrophic regexes, timeouts -------------------------------------------------

def test_catastrophic_regex_query_answers_and_health_stays_up(demo):
    results = {}

    def query():
        results["query"] = requests.get(demo.url + "/api/v1/query", params={
            "query": f'{{__name__=~"{CATASTROPHIC}",job="api"}}'}, timeout=30)

    worker = threading.Thread(target=query)
    worker.start()
    health = requests.get(demo.url + "/-/healthy", timeout=10)
    worker.join(30)
    assert health.status_code == 200
    assert results["query"].status_code == 200
    assert results["query"].json()["data"]["result"] == []


@pytest.mark.parametrize("path, params", [
    ("/api/v1/series", {"match[]": f'{{__name__=~"{CATASTROPHIC}"}}'}),
    ("/api/v1/labels", {"match[]": f'{{__name__=~"{CATASTROPHIC}"}}'}),
    ("/federate", {"match[]": f'{{__name__=~"{CATASTROPHIC}"}}'}),
    ("/api/v1/query", {"query": f'label_replace(up, "x", "$1", "job", "{CATASTROPHIC}")'}),
])
def test_every_regex_site_is_linear(demo, path, params):
    resp = requests.get(demo.url + path, params=params, timeout=30)
    assert resp.status_code == 200


def test_fault_expr_rules_are_linear(demo):
    demo.add_fault({"match": {"expr": "(x+x+)+y"}, "error": "unavailable"})
    try:
        resp = requests.get(demo.url + "/api/v1/query", params={"query": "x" * 5000},
                            timeout=30)
        assert resp.status_code == 200  # the rule does not match: no fault, no hang
    finally:
        demo.clear_faults()


def test_fixed_regexes_of_our_own_are_linear_too():
    """Bucket bounds (``le``, any label value a client writes) and histogram notation
    were read by regexes that backtracked quadratically (50,000 digits: minutes)."""
    from mockprom.histograms.notation import _NUMBER
    from mockprom.promql.functions_histogram import go_parse_float

    digits = "1" * 50_000
    finished = threading.Event()

    def parse():
        assert go_parse_float(digits + "x") is None
        assert go_parse_float("0x" + digits + "z") is None
        assert _NUMBER.fullmatch(digits + "x") is None
        finished.set()

    threading.Thread(target=parse, daemon=True).start()
    assert finished.wait(20)
    assert go_parse_float("1_000.5") == 1000.5 and go_parse_float("0x1p-2") == 0.25


def test_go_regex_syntax_over_http(demo):
    ok = requests.get(demo.url + "/api/v1/query", params={
        "query": r'up{job=~"\\p{L}+", instance=~"[[:alnum:]].*|\\Q*\\E"}'}, timeout=10)
    assert ok.status_code == 200 and ok.json()["data"]["result"]
    bad = requests.get(demo.url + "/api/v1/query", params={"query": 'up{job=~"a{1001}"}'},
                       timeout=10)
    assert bad.status_code == 400
    assert "error parsing regexp: invalid repeat count: `{1001}`" in bad.json()["error"]


def test_timeout_bounds_a_heavy_query(demo):
    """A day of 10 s subquery steps for every series, range query: minutes of work in
    per-series loops that never looked at the deadline; ``timeout=1s`` stops it as
    Prometheus does (503 timeout)."""
    now = time.time()
    resp, elapsed = _timed(lambda: requests.get(demo.url + "/api/v1/query_range", params={
        "query": 'stddev_over_time({__name__=~".+"}[1d:10s])', "start": now - 86400,
        "end": now, "step": 60, "timeout": "1s"}, timeout=120))
    assert resp.status_code == 503
    assert resp.json()["errorType"] == "timeout"
    assert elapsed < 20


# --- 2. decompression bombs ------------------------------------------------------------

def _gzip_bomb(decoded: int) -> bytes:
    """``decoded`` bytes of newlines, gzip-compressed (about 1000:1)."""
    import zlib

    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\n" * (1 << 20)
    return b"".join(z.compress(chunk) for _ in range(decoded >> 20)) + z.flush()


def test_gunzip_stops_at_its_limit():
    from mockprom import limits

    bomb = _gzip_bomb(64 << 20)
    assert len(bomb) < 200_000
    with pytest.raises(limits.TooLarge):
        limits.gunzip(bomb, limit=1 << 20)
    assert limits.gunzip(gzip_members(b"a 1\n", b"b 2\n")) == b"a 1\nb 2\n"
    for bad, words in [(b"", "EOF"), (b"not gzip", "gzip: invalid header"),
                       (bomb[:1000], "unexpected EOF")]:
        with pytest.raises(limits.Corrupt, match=words):
            limits.gunzip(bad)


def gzip_members(*parts: bytes) -> bytes:
    import gzip

    return b"".join(gzip.compress(p) for p in parts)


def test_gzip_bomb_push_is_refused(demo):
    resp = requests.put(demo.url + "/metrics/job/bomb", data=_gzip_bomb(64 << 20),
                        headers={"Content-Encoding": "gzip"}, timeout=60)
    assert resp.status_code == 413
    assert "exceeds the limit of 33554432 bytes" in resp.text
    bad = requests.put(demo.url + "/metrics/job/bomb", data=b"garbage",
                       headers={"Content-Encoding": "gzip"}, timeout=10)
    assert (bad.status_code, bad.text) == (400, "gzip: invalid header\n")
    ok = requests.put(demo.url + "/metrics/job/zipped", data=gzip_members(b"zipped_total 3\n"),
                      headers={"Content-Encoding": "gzip"}, timeout=10)
    assert ok.status_code == 200


def test_snappy_stream_push_as_the_pushgateway_reads_it(demo):
    import cramjam

    ok = requests.put(demo.url + "/metrics/job/snappy", timeout=10,
                      data=bytes(cramjam.snappy.compress(b"snappy_pushed 7\n")),
                      headers={"Content-Encoding": "snappy"})
    assert ok.status_code == 200
    got = requests.get(demo.url + "/api/v1/query", params={"query": "snappy_pushed"}).json()
    assert [r["value"][1] for r in got["data"]["result"]] == ["7"]
    bomb = bytes(cramjam.snappy.compress(b"\n" * (40 << 20)))
    resp = requests.put(demo.url + "/metrics/job/snappy", data=bomb, timeout=60,
                        headers={"Content-Encoding": "snappy"})
    assert resp.status_code == 413


def test_remote_write_announcing_gigabytes_is_refused_in_prometheus_words(demo):
    resp = requests.post(demo.url + "/api/v1/write", data=b"\xff\xff\xff\xff\x0f" + b"\0" * 20,
                         headers={"Content-Encoding": "snappy",
                                  "Content-Type": "application/x-protobuf"}, timeout=10)
    assert (resp.status_code, resp.text) == (
        400, "snappy: decoded length 4294967295 exceeds limit 33554432\n")


# --- 3. a linear push that holds no lock a remote write needs --------------------------

def test_a_push_adds_its_series_in_one_change_of_the_series_table():
    """Adding pushed series one by one copied the whole series table each time: a
    100k-line push took minutes under the ingest lock."""
    from mockprom.api.state import ServerState
    from mockprom.ingest.state import ingest_for

    state = ServerState({"series": []})
    gateway = ingest_for(state).pushgateway
    before = state.store.data_version()[0]
    text = "".join(f'pushed_metric{{i="{i}"}} {i}\n' for i in range(20_000))
    assert gateway.push({"job": "big"}, text, replace=False, now_ms=state.clock.now_ms()) == 20_000
    assert state.store.data_version()[0] - before == 1
    assert len(state.store) == 20_002  # and push_time_seconds, push_failure_time_seconds


def test_remote_write_does_not_wait_for_a_push(demo):
    from mockprom.ingest import remote_write as rw
    from mockprom.ingest.state import ingest_for

    gateway = ingest_for(demo.state).pushgateway
    now = demo.state.clock.now_ms()
    with gateway.lock:  # a push in progress
        resp = requests.post(demo.url + "/api/v1/write", timeout=10,
                             data=rw.encode([({"__name__": "during_push"}, [(now, 1.0)])]),
                             headers={"Content-Encoding": "snappy",
                                      "Content-Type": "application/x-protobuf"})
    assert resp.status_code == 204


# --- 4. body limits ----------------------------------------------------------------------

def test_form_bodies_past_go_limit_are_ignored_as_prometheus_ignores_them(demo):
    """Go's ParseForm refuses url-encoded bodies over 10 MiB and Prometheus then sees
    only the URL's parameters (a real 2.42 and 3.5.3 answer "no expression found")."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    small = requests.post(demo.url + "/api/v1/query", timeout=60, headers=form,
                          data="query=up&pad=" + "a" * (9 << 20))
    assert small.status_code == 200
    big = requests.post(demo.url + "/api/v1/query", timeout=60, headers=form,
                        data="query=up&pad=" + "a" * (11 << 20))
    assert big.status_code == 400
    assert "no expression found in input" in big.json()["error"]
    url_param = requests.post(demo.url + "/api/v1/query", params={"query": "up"}, timeout=60,
                              headers=form, data="pad=" + "a" * (17 << 20))
    assert url_param.status_code == 200


def test_control_bodies_have_limits_with_clear_413s(demo):
    big_scenario = "name: big\nseries: []\n#" + "x" * (33 << 20)
    resp = requests.put(demo.url + "/-/mockprom/scenario", data=big_scenario, timeout=60,
                        headers={"Content-Type": "application/yaml"})
    assert resp.status_code == 413
    assert resp.json()["error"].startswith("scenario body too large")
    resp = requests.post(demo.url + "/-/mockprom/faults", timeout=30,
                         data='{"name": "' + "x" * (2 << 20) + '"}',
                         headers={"Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.json()["status"] == "error"
    assert demo.scenario.name != "big"


def test_bodies_over_the_server_limit_are_refused_before_they_are_read(demo):
    resp = requests.post(demo.url + "/api/v1/write", data=b"\0" * (65 << 20), timeout=60)
    assert resp.status_code == 413


def test_journal_keeps_bounded_entries(demo):
    demo.clear_requests()
    for _ in range(5):
        requests.post(demo.url + "/api/v1/query", timeout=60,
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      data="query=up&pad=" + "p" * (8 << 20))
    resp = requests.get(demo.url + "/-/mockprom/requests", timeout=30)
    assert len(resp.content) < 200_000
    pads = [e["params"]["pad"] for e in resp.json() if "pad" in e["params"]]
    assert len(pads) == 5
    assert all(p.startswith("pppp") and p.endswith(f"…({(8 << 20) - 1024} more)") for p in pads)


# --- 5. YAML alias bombs -----------------------------------------------------------------

def _laughs(levels: int) -> str:
    text = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for i in range(1, levels + 1):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
    return text + "name: laughs\nseries: []\n"


@pytest.mark.parametrize("text", [_laughs(9), _laughs(12), "a: &a [*a]\nname: loop\n"],
                         ids=["9-levels", "12-levels", "recursive"])
def test_yaml_alias_bombs_are_refused_at_once(demo, text):
    resp, elapsed = _timed(lambda: requests.put(
        demo.url + "/-/mockprom/scenario", data=text, timeout=60,
        headers={"Content-Type": "application/yaml"}))
    assert resp.status_code == 400
    assert "YAML alias" in resp.json()["error"]
    assert elapsed < 10
    assert demo.scenario.name != "laughs"


def test_yaml_anchors_within_the_budget_still_work():
    from mockprom.api.validation import load_checked
    from mockprom.scenario.loader import ScenarioText

    text = ("name: anchors\nseries:\n  - labels: &d {__name__: m, job: api, env: prod}\n"
            "    samples: &s [[0, 1], [15, 2]]\n"
            + "".join(f"  - labels: {{<<: *d, __name__: m{i}}}\n    samples: *s\n"
                      for i in range(200)))
    assert len(load_checked(ScenarioText(text)).series) == 201


# --- 6. no 500s ----------------------------------------------------------------------------

@pytest.mark.parametrize("version", ["2.42.0", "3.5.3"])
def test_far_timestamps_answer_as_prometheus(version):
    """A real 2.42 and 3.5.3 answer these 200 with an empty result."""
    with MockPrometheus(version=version) as prom:
        for query, kind in [("up @ 1e18", "vector"), ("up[5m] @ 1e17", "matrix"),
                            ("up @ -1e18", "vector"), ("up[5m:1m] @ 1e17", "matrix"),
                            ("timestamp(up @ 1e17)", "vector")]:
            resp = requests.get(prom.url + "/api/v1/query", params={"query": query}, timeout=30)
            assert resp.status_code == 200, (query, resp.text)
            assert resp.json()["data"] == {"resultType": kind, "result": []}


def test_clock_out_of_range_is_a_clear_400_and_changes_nothing(demo):
    before = requests.get(demo.url + "/-/mockprom/clock", timeout=10).json()["data"]
    for body in ({"now": 1e17}, {"advance": "100000000y"}, {"advance": 1e300},
                 {"now": 1700000000, "advance": "-3000y"}):
        resp = requests.put(demo.url + "/-/mockprom/clock", json=body, timeout=10)
        assert resp.status_code == 400, body
        assert "clock out of range" in resp.json()["error"]
    after = requests.get(demo.url + "/-/mockprom/clock", timeout=10).json()["data"]
    assert after["mode"] == before["mode"]
    assert abs(after["now_ms"] - before["now_ms"]) < 60_000


def test_lone_surrogate_scenario_is_refused_and_never_installed(demo):
    name = demo.scenario.name
    resp = requests.put(demo.url + "/-/mockprom/scenario", timeout=10,
                        data='{"name":"\\ud800","series":[]}',
                        headers={"Content-Type": "application/json"})
    assert resp.status_code == 400
    assert "lone surrogate" in resp.json()["error"]
    assert demo.scenario.name == name
    assert requests.get(demo.url + "/-/mockprom/scenario", timeout=10).status_code == 200
