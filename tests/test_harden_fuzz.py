"""A bounded, seeded fuzz of the whole server (issue 8, "How it is checked"): a few
thousand requests over every route of the app, the fault layer's control endpoints and
the console's files, with random methods, parameters, bodies, encodings and headers.

Every answer must be one Prometheus could give (no 5xx but its own kinds: timeouts and
``unavailable`` in its error envelope, remote read's plain-text 500s), none may take
longer than the query timeout allows, and the process's memory must stay bounded.
"""

from __future__ import annotations

import functools
import gzip
import json
import random
import re
import time
import zlib

import cramjam
import pytest
import requests

from mockprom.ingest import remote_write as rw
from mockprom.server import MockPrometheus

T0 = 1_700_000_000
QUERY_TIMEOUT_S = 2
SLACK_S = 4  # scheduling on a loaded 2-core machine; a hang is minutes, not seconds
REQUESTS_PER_SEED = 500
RSS_GROWTH_LIMIT = 400 << 20

BASELINE = f"""\
name: fuzz
clock: {T0}
seed: 3
interval: 15s
start: {T0 - 3600}
server: {{admin_api: true, query_timeout: {QUERY_TIMEOUT_S}s}}
series:
  - series: 'http_requests_total{{job="api", code="200"}}'
    values: "0+10x240"
  - series: 'up{{job="api", instance="a:1"}}'
    values: "1x240"
  - metric: gen_gauge
    labels: {{job: gen, pod: [a, b, c]}}
    generator: {{kind: sine, amplitude: 3, period: 10m}}
rules:
  - name: g
    rules:
      - alert: Up
        expr: up == 1
        annotations: {{summary: "{{{{ $labels.job }}}} is {{{{ $value }}}}"}}
"""

# (path, methods): every route the app registers (filled in below), the fault layer's
# own endpoints and the console's files
EXTRA_ROUTES = [
    ("/-/mockprom/faults", ["GET", "POST", "DELETE"]),
    ("/-/mockprom/faults/<id>", ["DELETE"]),
    ("/-/mockprom/requests", ["GET", "DELETE"]),
    ("/-/mockprom/timeline", ["GET"]),
    ("/query", ["GET"]), ("/graph", ["GET"]), ("/mockprom/scenario", ["GET"]),
    ("/mockprom/assets/x/console.css", ["GET"]), ("/nonexistent", ["GET", "POST"]),
]
STREAMS = {"/api/v1/notifications/live"}  # an event stream stays open by design

ATOMS = ["", " ", "0", "-1", "1e309", "NaN", "-Inf", "1.5", "9223372036854775807",
         "2024-01-01T00:00:00Z", "2024-13-45T99:99:99Z", "5m", "-5m", "0s", "1y", "0.5s",
         "up", "up{", "{}", '{job=""}', "sum(", "rate(up[5m])", "up[5m]", "up[5m:1s]",
         "(((((((((((up)))))))))))", "x" * 3000, "\u00e9\u2028\x00", "'", '"', "\\", "@",
         'label_replace(up, "a", "$1", "job", "(.+)+b")', 'up{job=~"(.+)+b"}',
         'up{job=~"\\\\p{L}+|[[:alpha:]]|\\\\Qa.b\\\\E"}', 'up{job=~"a{1001}"}',
         "up @ 1e18", "up[5m] @ 1e17", "count_values('le', up)", "topk(-1, up)",
         "absent(nonexistent)", "1/0", "--1", "http_requests_total offset 1d",
         'sum by (job) (rate(http_requests_total[5m]))', "gen_gauge > 1", "ALERTS",
         'histogram_quantile(0.9, up)', "time()", "vector(1) + on() group_left up"]
PARAMS = ["query", "time", "start", "end", "step", "timeout", "match[]", "limit", "metric",
          "limit_per_metric", "match_target", "state", "type", "lookback_delta", "stats",
          "format", "name", "since", "endpoint", "expr", "auth", "pass", "dedup"]
CONTENT_TYPES = ["application/json", "application/yaml", "text/yaml", "text/plain",
                 "application/x-www-form-urlencoded", "application/x-protobuf",
                 "text/plain; version=0.0.4", "multipart/form-data; boundary=x",
                 "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
                 "encoding=delimited", "garbage/;;;"]
ENCODINGS = ["gzip", "snappy", "deflate", "br", "identity", "gzip, snappy", "x"]


def _routes(prom) -> list[tuple[str, list[str]]]:
    out = []
    for rule in prom.app.url_map.iter_rules():
        if rule.rule in STREAMS:
            continue
        out.append((rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"}) or ["GET"]))
    return out + EXTRA_ROUTES


def _text(rng: random.Random) -> str:
    parts = rng.sample(ATOMS, rng.randint(1, 2))
    return "".join(parts) if rng.random() < 0.3 else parts[0]


def _fill(path: str, rng: random.Random) -> str:
    fillers = ["job", "__name__", "fuzz", "x%2Fy", "a@base64", "Zm9v", "", "é", "..",
               "instance/a", "a" * 300, "%00", "le/%2B"]
    return re.sub(r"<(?:path:)?\w+>", lambda m: rng.choice(fillers) or "x", path)


def _laughs(levels: int) -> str:
    text = 'l0: &l0 ["lol", "lol", "lol"]\n'
    for i in range(1, levels + 1):
        text += f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
    return text + "name: laughs\n"


def _scenario_body(rng: random.Random) -> bytes:
    lines = BASELINE.splitlines(keepends=True)
    kind = rng.randrange(9)
    if kind == 0:
        return BASELINE.encode()
    if kind == 1:  # a line dropped
        del lines[rng.randrange(len(lines))]
        return "".join(lines).encode()
    if kind == 2:  # a line's characters shuffled
        i = rng.randrange(len(lines))
        chars = list(lines[i])
        rng.shuffle(chars)
        lines[i] = "".join(chars)
        return "".join(lines).encode()
    if kind == 3:
        return _laughs(rng.choice([6, 9, 12])).encode()
    if kind == 4:
        return rng.choice(['{"name":"\\ud800","series":[]}', '{"series": [' * 5000,
                           "a: &a [*a]\n", "- [" * 3000, "/etc/passwd", "scenarios",
                           "name: x\nauth: {type: basic, username: u, password: 42}\n",
                           "name: x\nserver: {control_token: other}\n"]).encode()
    if kind == 5:
        return json.dumps({"name": "exact", "series": [
            {"labels": {"__name__": "exact", "i": str(i)},
             "samples": [[T0 - 60 * j, rng.random()] for j in range(5)]}
            for i in range(rng.randint(0, 20))]}).encode()
    if kind == 6:
        return rng.randbytes(rng.randint(0, 300))
    if kind == 7:
        return (BASELINE + "\n#" + "x" * rng.choice([10, 100_000, 2_000_000])).encode()
    return b""


@functools.lru_cache(maxsize=1)
def _gzip_bomb() -> bytes:
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(z.compress(b"\n" * (1 << 20)) for _ in range(40)) + z.flush()


def _body(path: str, rng: random.Random) -> tuple[object, dict]:
    """A body and the headers that go with it."""
    headers = {}
    now_ms = T0 * 1000
    kind = rng.randrange(12)
    if path.endswith("/scenario"):
        body = _scenario_body(rng)
        headers["Content-Type"] = rng.choice(["application/yaml", "application/json",
                                              "text/plain", "application/yaml"])
    elif kind == 0:
        body = None
    elif kind == 1:
        body = "&".join(f"{rng.choice(PARAMS)}={requests.utils.quote(_text(rng))}"
                        for _ in range(rng.randint(0, 5)))
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif kind == 2:
        body = rng.randbytes(rng.randint(0, 400))
    elif kind == 3:
        body = gzip.compress(f'fuzz_metric{{a="{rng.random()}"}} {rng.random()}\n'.encode())
        headers["Content-Encoding"] = "gzip"
    elif kind == 4:  # a small gzip bomb (40 MiB of newlines)
        body = _gzip_bomb()
        headers["Content-Encoding"] = "gzip"
    elif kind == 5:
        body = rw.encode([({"__name__": "fuzz_rw", "i": str(rng.randrange(5))},
                           [(now_ms + rng.randrange(-600_000, 600_000), rng.random())])])
        headers.update({"Content-Encoding": "snappy",
                        "Content-Type": "application/x-protobuf"})
    elif kind == 6:
        body = bytes(cramjam.snappy.compress(b"fuzz_snappy 1\n" * rng.randint(1, 50)))
        headers["Content-Encoding"] = "snappy"
    elif kind == 7:  # a snappy block announcing gigabytes
        body = b"\xff\xff\xff\xff\x0f" + rng.randbytes(20)
        headers["Content-Encoding"] = "snappy"
    elif kind == 8:
        body = json.dumps(rng.choice([
            {"now": rng.choice([T0, 1e17, "2024-01-01T00:00:00Z", "nope", None, -1e20])},
            {"advance": rng.choice(["5m", "-1h", "100000000y", 1e300, "x", 30])},
            {"match": {"endpoint": "query"}, "error": "unavailable", "times": 1},
            {"match": {"expr": "(x+x+)+y"}, "latency": "1000000h"},
            {"error": "nope"}, [1, 2, 3], "string", None]))
        headers["Content-Type"] = rng.choice(["application/json", "text/plain", ""])
    elif kind == 9:  # chunked, no length
        payload = rng.randbytes(rng.randint(0, 2000))
        body = iter([payload[:1000], payload[1000:]])
    elif kind == 10:
        body = "# TYPE x counter\nx{a=\"b\"} " + _text(rng) + "\n"
        headers["Content-Type"] = "text/plain; version=0.0.4"
    else:
        body = "x" * rng.choice([10, 1000, 3_000_000])
    return body, headers


def _headers(rng: random.Random, prom) -> dict:
    out = {}
    if rng.random() < 0.3:
        out["Content-Type"] = rng.choice(CONTENT_TYPES)
    if rng.random() < 0.2:
        out["Content-Encoding"] = rng.choice(ENCODINGS)
    if rng.random() < 0.3:
        out["Accept-Encoding"] = rng.choice(["gzip", "deflate", "br", "gzip;q=0", "*", "x"])
    if rng.random() < 0.2:
        out["Authorization"] = rng.choice(["Bearer fuzz", "Basic !!!", "Basic dTpw",
                                           "Bearer " + "x" * 5000, "Negotiate x", ""])
    if rng.random() < 0.15:
        out["Origin"] = rng.choice(["http://evil.example", prom.url, "null", "::::"])
    if rng.random() < 0.1:
        out["Host"] = rng.choice(["evil.example", "localhost", f"127.0.0.1:{prom.port}",
                                  "[::1]", "a" * 300])
    if rng.random() < 0.2:
        out[rng.choice(["Grafana-Auth", "X-Api-Key", "X-Scope-OrgID", "Cookie",
                        "X-Prometheus-Remote-Write-Version", "Accept",
                        "X-Forwarded-For"])] = rng.choice(["1.0", "2.0.0", "x" * 4000, "é",
                                                           "application/json"])
    return out


def _prometheus_kind(path: str, resp: requests.Response) -> bool:
    """A 5xx Prometheus gives itself: its envelope with a timeout, canceled or
    unavailable error (2.42 answers ``unavailable`` with 500), ``DELETE /api/v1/series``'s
    "not implemented", or remote read's plain-text 500 for a matcher it cannot build."""
    if resp.status_code < 500:
        return True
    try:
        body = resp.json()
    except ValueError:
        return path == "/api/v1/read" and "Traceback" not in resp.text \
            and "internal error" not in resp.text
    if body == {"status": "error", "errorType": "internal", "error": "not implemented"}:
        return path == "/api/v1/series"  # Prometheus's DELETE /api/v1/series
    return body.get("status") == "error" and body.get("errorType") in (
        "timeout", "canceled", "unavailable")


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


@pytest.fixture(scope="module")
def prom():
    with MockPrometheus(BASELINE, version="3.5.3") as server:
        yield server


@pytest.mark.parametrize("seed", range(6))
def test_fuzz_every_endpoint(prom, seed):
    rng = random.Random(seed)
    routes = _routes(prom)
    rss_before = _rss()
    peak = rss_before
    slowest = (0.0, None)
    with requests.Session() as http:
        for i in range(REQUESTS_PER_SEED):
            template, methods = rng.choice(routes)
            path = _fill(template, rng)
            method = rng.choice(methods) if rng.random() < 0.85 else rng.choice(
                ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
            params = [(rng.choice(PARAMS), _text(rng)) for _ in range(rng.randint(0, 4))]
            headers = _headers(rng, prom)
            body = None
            if method in ("POST", "PUT", "PATCH", "DELETE") and rng.random() < 0.8:
                body, body_headers = _body(path, rng)
                headers.update(body_headers)
            started = time.monotonic()
            resp = http.request(method, prom.url + path, params=params, data=body,
                                headers=headers, timeout=120, allow_redirects=False)
            elapsed = time.monotonic() - started
            where = (method, path, params, headers.get("Content-Type"),
                     headers.get("Content-Encoding"), resp.status_code, resp.text[:300])
            assert _prometheus_kind(path, resp), where
            assert "Traceback" not in resp.text, where
            assert elapsed < QUERY_TIMEOUT_S + SLACK_S, (elapsed, where)
            slowest = max(slowest, (elapsed, where[:3]), key=lambda p: p[0])
            if path.startswith("/-/mockprom/faults") and method == "POST":
                prom.clear_faults()  # a rule the fuzz added must not delay what follows
            if i % 50 == 0:
                peak = max(peak, _rss())
                if prom.scenario.name != "fuzz" and rng.random() < 0.5:
                    prom.load_scenario(BASELINE)
        prom.clear_faults()
        prom.load_scenario(BASELINE)
        ready = http.get(prom.url + "/-/ready", timeout=10)
        answer = http.get(prom.url + "/api/v1/query", params={"query": "up"}, timeout=10)
    assert ready.status_code == 200 and answer.json()["status"] == "success"
    assert peak - rss_before < RSS_GROWTH_LIMIT, (peak - rss_before) >> 20
