"""Real clients against mockprom.

- A real Prometheus 2.42 remote-writes into mockprom (its own metrics and a small
  exporter's, staleness markers included when the exporter vanishes), and scrapes
  mockprom's ``/federate`` and ``/metrics``; what one side holds is found on the other.
- promtool's ``query instant|range|series|labels`` print what mockprom's API answers.
- prometheus_client's ``push_to_gateway``/``pushadd_to_gateway``/``delete_from_gateway``
  push into mockprom, and the pushed values are queried back over HTTP.
- prometheus-api-client's ``PrometheusConnect`` reads series, label values and ranges.

Expected answers come from mockprom's own API or from the data the test put in.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
import threading
import time
from decimal import Decimal
from types import SimpleNamespace
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import requests

import realprom
from realprom import release  # noqa: F401  (a fixture)
from conftest import T0, basic_scenario
from mockprom.server import MockPrometheus

WAIT_S = 20.0  # bound on every wait for a real Prometheus to scrape or send


# -- helpers ------------------------------------------------------------------------------

def api(url: str, path: str, **params) -> dict:
    """``data`` of a successful API answer."""
    r = requests.get(url + path, params=params, timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", (r.status_code, body)
    return body["data"]


def wait_for(what: str, probe, timeout_s: float = WAIT_S):
    """Poll ``probe()`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = probe()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout_s:.0f}s for {what}")
        time.sleep(0.2)


def key(metric: dict) -> tuple:
    return tuple(sorted(metric.items()))


class ConfiguredPrometheus(realprom.RealPrometheus):
    """A real Prometheus on a free 127.0.0.1 port, started with the configuration that
    ``config_for(own_port)`` returns (so it can scrape itself)."""

    def __init__(self, config_for, line: str = "2.42"):
        super().__init__(line=line)
        self.config_for = config_for

    def start(self) -> None:
        config = os.path.join(self.workdir, "prometheus.yml")
        data = os.path.join(self.workdir, "data")
        for _attempt in range(3):
            port = realprom.free_port()
            self.url = f"http://127.0.0.1:{port}"
            with open(config, "w") as f:
                f.write(self.config_for(port))
            with open(os.path.join(self.workdir, "prometheus.log"), "w") as log:
                self.proc = subprocess.Popen(
                    [self.prometheus, f"--config.file={config}", f"--storage.tsdb.path={data}",
                     f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
                     *self.extra_args],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            if self._wait_ready(30):
                return
            self._kill()
        raise RuntimeError(f"prometheus did not become ready: {self.log_tail()}")


# -- a real Prometheus writing into mockprom and scraping it --------------------------------

SENSORS = {
    "name": "sensors", "seed": 3, "interval": "1s", "start": "-10m", "clock": "real",
    "series": [{"metric": "lab_temperature_celsius", "type": "gauge",
                "labels": {"job": "sensors", "instance": ["sensor-1", "sensor-2"]},
                "generator": {"kind": "sine", "amplitude": 2.5, "offset": 21.25,
                              "period": "47s"}},
               {"metric": "lab_odd_reading", "type": "gauge",
                "labels": {"job": "sensors", "instance": "sensor-3"},
                "generator": {"kind": "sequence",
                              "values": ["NaN", "+Inf", 1e-7, "-Inf", 1e21]}}],
}
SELF_JOB = "prometheus"
EXPORTER_JOB = "exporter"


class Exporter:
    """A small exposition server (prometheus_client's WSGI app) on 127.0.0.1."""

    def __init__(self):
        from prometheus_client import CollectorRegistry, Gauge, make_wsgi_app

        self.registry = CollectorRegistry()
        Gauge("exporter_queue_length", "Items waiting.", ["queue"],
              registry=self.registry).labels(queue="mail").set(3.25)
        self.httpd = make_server("127.0.0.1", 0, make_wsgi_app(self.registry),
                                 handler_class=QuietHandler)
        self.port = self.httpd.server_port
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


def prometheus_config(receiver: MockPrometheus, scraped: MockPrometheus, exporter: Exporter):
    """Scrape itself and ``exporter`` (both remote-written to ``receiver``), and
    ``scraped``'s federation endpoint and own metrics."""

    def config_for(port: int) -> str:
        return f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: {SELF_JOB}
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
  - job_name: federate
    honor_labels: true
    metrics_path: /federate
    params: {{"match[]": ['{{job="sensors"}}']}}
    static_configs: [{{targets: ["127.0.0.1:{scraped.port}"]}}]
  - job_name: mockprom
    static_configs: [{{targets: ["127.0.0.1:{scraped.port}"]}}]
  - job_name: {EXPORTER_JOB}
    static_configs: [{{targets: ["127.0.0.1:{exporter.port}"]}}]
remote_write:
  - url: http://127.0.0.1:{receiver.port}/api/v1/write
    queue_config: {{batch_send_deadline: 200ms, min_shards: 1, max_shards: 1,
                   min_backoff: 50ms, max_backoff: 500ms}}
    write_relabel_configs:
      [{{source_labels: [job], regex: "{SELF_JOB}|{EXPORTER_JOB}", action: keep}}]
    metadata_config: {{send_interval: 1s}}
"""
    return config_for


@pytest.fixture(scope="module")
def live(release):
    """``.receiver`` and ``.scraped`` mockprom servers, an ``.exporter``, and the ``.real``
    Prometheus (2.42, then 3.5.3; the mocks emulate the same) that connects them, all in
    real time."""
    receiver = MockPrometheus({"name": "receiver", "clock": "real", "series": []},
                              version=release.version)
    scraped = MockPrometheus(SENSORS, version=release.version)
    exporter = Exporter()
    real = ConfiguredPrometheus(prometheus_config(receiver, scraped, exporter), line=release.line)
    try:
        real.start()
        yield SimpleNamespace(receiver=receiver, scraped=scraped, exporter=exporter, real=real)
    finally:
        real.stop()
        exporter.stop()
        receiver.stop()
        scraped.stop()


def test_remote_write_from_a_real_prometheus_is_queryable(live):
    receiver, real = live.receiver, live.real

    def received_up():
        res = api(receiver.url, "/api/v1/query", query=f'timestamp(up{{job="{SELF_JOB}"}})')
        return res["result"]

    up = wait_for("the real Prometheus's `up` to arrive by remote write", received_up)
    t = up[0]["value"][1]  # the newest `up` sample mockprom holds (seconds)

    # At that time, mockprom answers what the real Prometheus answers, for every series.
    # (One shard sends in WAL order, and `up` is appended after its scrape's samples.)
    everything = f'{{job="{SELF_JOB}"}}'
    raw = f'{{job="{SELF_JOB}", __name__=~"up|prometheus_build_info|scrape_samples_scraped"}}[1m]'
    for expr in (everything, f"count({everything})", raw):
        want = api(real.url, "/api/v1/query", query=expr, time=t)
        got = api(receiver.url, "/api/v1/query", query=expr, time=t)
        assert want["result"], expr
        assert realprom.compare_result(want, got) == [], expr
        if expr == everything:
            assert len(got["result"]) > 100  # histograms, summaries (NaN quantiles), ...
    build = api(receiver.url, "/api/v1/query", query="prometheus_build_info", time=t)["result"]
    assert build[0]["metric"]["version"].startswith(live.real.line)
    # Only what passes the write relabelling arrives.
    assert set(api(receiver.url, "/api/v1/label/job/values")) <= {SELF_JOB, EXPORTER_JOB}

    # Every write (samples, and metadata-only requests every second) is accepted.
    def three_writes():  # answered ones: a write still in flight has no status yet
        writes = [e for e in receiver.requests()
                  if e["path"] == "/api/v1/write" and e["status"] is not None]
        return writes if len(writes) >= 3 else None

    writes = wait_for("three remote-write requests", three_writes)
    assert {e["status"] for e in writes} == {204}


def test_real_prometheus_federates_mockprom_series(live):
    scraped, real = live.scraped, live.real
    sensors = api(scraped.url, "/api/v1/series", **{"match[]": '{job="sensors"}'})
    expected = {key(m) for m in sensors}
    assert len(expected) == 3

    def scraped_enough():
        res = api(real.url, "/api/v1/query", query='{job="sensors"}[1m]')["result"]
        return res if len(res) == 3 and all(len(s["values"]) >= 3 for s in res) else None

    res = wait_for("the real Prometheus to federate 3 samples per series", scraped_enough)
    # honor_labels keeps the series' own labels: the same label sets as in mockprom.
    assert {key(s["metric"]) for s in res} == expected
    for s in res:
        sel = "{" + ",".join(f'{k}="{v}"' for k, v in sorted(s["metric"].items())) + "}"
        for t, v in s["values"]:
            # Each federated sample carries mockprom's timestamp and value.
            mine = api(scraped.url, "/api/v1/query", query=f"timestamp({sel})", time=t)["result"]
            assert float(mine[0]["value"][1]) == float(t)
            at = api(scraped.url, "/api/v1/query", query=sel, time=t)["result"]
            assert at[0]["value"][1] == v, (sel, t)
    odd = [v for s in res if s["metric"]["__name__"] == "lab_odd_reading" for _t, v in s["values"]]
    assert {"NaN", "+Inf", "-Inf"} & set(odd), odd  # special values survive federation


def test_real_prometheus_scrapes_mockprom_metrics(live):
    scraped, real = live.scraped, live.real

    def federations_counted():
        expr = ('mockprom_http_requests_total{job="mockprom", endpoint="/federate", code="200"}'
                " > 0")
        res = api(real.url, "/api/v1/query", query=expr)
        return res["result"]

    wait_for("mockprom's /metrics to show a federation request", federations_counted)
    ups = api(real.url, "/api/v1/query", query='up{job=~"mockprom|federate"}')["result"]
    assert sorted((s["metric"]["job"], s["value"][1]) for s in ups) == [("federate", "1"),
                                                                        ("mockprom", "1")]
    series = api(real.url, "/api/v1/query", query='mockprom_series{job="mockprom"}')["result"]
    assert float(series[0]["value"][1]) == len(scraped.store)


def test_a_vanished_target_goes_stale_in_mockprom_as_in_prometheus(live):
    receiver, real = live.receiver, live.real
    expr = 'exporter_queue_length{queue="mail"}'

    def exported():
        return api(receiver.url, "/api/v1/query", query=expr)["result"]

    [sample] = wait_for("the exporter's gauge to arrive by remote write", exported)
    assert sample["value"][1] == "3.25"

    live.exporter.stop()  # the next scrape fails: Prometheus writes staleness markers

    def gone():
        down = api(receiver.url, "/api/v1/query", query=f'up{{job="{EXPORTER_JOB}"}} == 0')
        return down["result"] and not exported()

    wait_for("the failed scrape and its staleness markers to arrive", gone)
    t = api(receiver.url, "/api/v1/query",
            query=f'timestamp(up{{job="{EXPORTER_JOB}"}})')["result"][0]["value"][1]
    # Both servers agree, at the failed scrape, on the series that are gone and the raw
    # samples before it (the API shows no staleness markers).
    for e in (expr, f"{expr}[1m]", f'{{job="{EXPORTER_JOB}"}}', f'count({{job="{EXPORTER_JOB}"}})'):
        want = api(real.url, "/api/v1/query", query=e, time=t)
        got = api(receiver.url, "/api/v1/query", query=e, time=t)
        assert realprom.compare_result(want, got) == [], e


# -- promtool -------------------------------------------------------------------------------

def go_float(f: float) -> str:
    """Go's ``strconv.FormatFloat(f, 'f', -1, 64)``, as client_golang prints values."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return format(Decimal(repr(f)).normalize(), "f")


def go_quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def show_metric(m: dict) -> str:
    """client_golang's ``model.Metric.String()``."""
    name = m.get("__name__", "")
    pairs = sorted(f"{k}={go_quote(v)}" for k, v in m.items() if k != "__name__")
    if not pairs:
        return name or "{}"
    return f"{name}{{{', '.join(pairs)}}}"


def show_labelset(m: dict) -> str:
    """client_golang's ``model.LabelSet.String()`` (the name as a label)."""
    return "{" + ", ".join(f"{k}={go_quote(m[k])}" for k in sorted(m)) + "}"


def show_point(p) -> str:
    t, v = p
    return f"{go_float(float(v))} @[{go_float(round(float(t) * 1000) / 1000)}]"


def show_result(data: dict) -> str:
    """What ``promql`` format promtool prints for a query answer's ``data``."""
    rtype, res = data["resultType"], data["result"]
    if rtype == "scalar":
        return f"scalar: {show_point(res)}"
    if rtype == "vector":
        return "\n".join(f"{show_metric(s['metric'])} => {show_point(s['value'])}" for s in res)
    return "\n".join(show_metric(s["metric"]) + " =>\n" + "\n".join(map(show_point, s["values"]))
                     for s in res)


@pytest.fixture(scope="module")
def promtool(prom, release):
    """``promtool(command, *flags, arg=...)`` runs ``promtool query command flags <url> arg``
    against the module's server, with 2.42's promtool and then 3.5's."""
    _prometheus, tool = realprom.require_binaries(release.line)

    def run(command: str, *flags: str, arg: str | None = None, expect_ok: bool = True):
        argv = [tool, "query", command, *flags, prom.url] + ([arg] if arg is not None else [])
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if expect_ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


@pytest.mark.parametrize("expr, at", [
    ("up", T0),
    ("sum by (job) (up)", T0),
    ("up[3m]", T0),
    ("odd_values[1m]", T0),  # NaN, +Inf, 1e-07 and 1e-05 as Go prints them
    ("rate(http_requests_total[5m]) * 60", T0 - 90.5),
    ("scalar(sum(up)) / 3", T0),
    ("nothing_here", T0),
])
def test_promtool_query_instant_prints_mockprom_answer(prom, promtool, expr, at):
    proc = promtool("instant", f"--time={at}", arg=expr)
    data = api(prom.url, "/api/v1/query", query=expr, time=at)
    assert proc.stdout == show_result(data) + "\n"


def test_promtool_query_instant_json_is_the_api_result(prom, promtool):
    import json

    for expr in ("up", "up[2m]", "scalar(up{job='api'})"):
        proc = promtool("instant", f"--time={T0}", "-o", "json", arg=expr)
        data = api(prom.url, "/api/v1/query", query=expr, time=T0)
        assert json.loads(proc.stdout) == data["result"], expr


def test_promtool_query_range_prints_mockprom_answer(prom, promtool):
    params = dict(start=T0 - 600, end=T0, step="60")
    for expr in ('up{job="db"}', "sum(http_requests_total) by (job)", "vector(1) + 0.5"):
        proc = promtool("range", f"--start={params['start']}", f"--end={params['end']}",
                        "--step=1m", arg=expr)
        data = api(prom.url, "/api/v1/query_range", query=expr, **params)
        assert data["resultType"] == "matrix" and data["result"]
        assert proc.stdout == show_result(data) + "\n"


def test_promtool_query_series_and_labels(prom, promtool):
    window = (f"--start={T0 - 3600}", f"--end={T0}")
    proc = promtool("series", "--match=up", "--match=odd_values", *window)
    series = api(prom.url, "/api/v1/series", **{"match[]": ["up", "odd_values"]},
                 start=T0 - 3600, end=T0)
    assert len(series) == 3
    assert proc.stdout == "".join(show_labelset(s) + "\n" for s in series)

    for name in ("job", "__name__"):
        proc = promtool("labels", *window, arg=name)
        values = api(prom.url, f"/api/v1/label/{name}/values", start=T0 - 3600, end=T0)
        assert values and proc.stdout == "".join(v + "\n" for v in values)


def test_promtool_reports_mockprom_errors_in_prometheus_dialect(prom, promtool):
    for expr in ("rate(up)", "sum(", "1 +"):
        proc = promtool("instant", f"--time={T0}", arg=expr, expect_ok=False)
        r = requests.get(prom.url + "/api/v1/query", params={"query": expr, "time": T0})
        body = r.json()
        assert r.status_code == 400 and proc.returncode == 1
        assert proc.stderr == f"query error: {body['errorType']}: {body['error']}\n"


def test_promtool_check_metrics_accepts_mockprom_own_metrics(prom, release):
    _prometheus, tool = realprom.require_binaries(release.line)
    requests.get(prom.url + "/api/v1/query", params={"query": "up"}, timeout=10)
    text = requests.get(prom.url + "/metrics", timeout=10).text
    assert "mockprom_http_requests_total" in text
    proc = subprocess.run([tool, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- prometheus_client: the Pushgateway functions --------------------------------------------

JOB = "batch/nightly"              # a "/" makes prometheus_client use job@base64
GROUPING = {"instance": "host/1"}  # ... and instance@base64


def query_vector(url: str, expr: str) -> dict:
    """``{labels: value}`` of an instant query at the server's now."""
    res = api(url, "/api/v1/query", query=expr)
    assert res["resultType"] == "vector"
    return {key(s["metric"]): float(s["value"][1]) for s in res["result"]}


def pushed(registry, grouping: dict) -> dict:
    """What a scrape of the gateway shows for ``registry`` pushed under ``grouping``."""
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for fam in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in fam.samples:
            out[key({**s.labels, **grouping, "__name__": s.name})] = float(s.value)
    return out


def batch_registry(records: float):
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

    reg = CollectorRegistry()
    Gauge("batch_last_success_unixtime", "Last success.", registry=reg).set(T0 - 42.5)
    c = Counter("batch_records", "Records processed.", ["kind"], registry=reg)
    c.labels(kind="insert").inc(records)
    c.labels(kind="update").inc(records / 4)
    h = Histogram("batch_duration_seconds", "Duration.", buckets=[1, 10, 60], registry=reg)
    for v in (0.5, 7, 30, 90):
        h.observe(v)
    return reg


def test_push_to_gateway_then_query_back(serve):
    from prometheus_client import push_to_gateway

    prom = serve(basic_scenario())
    reg = batch_registry(12)
    push_to_gateway(prom.url, job=JOB, registry=reg, grouping_key=GROUPING)
    assert any("@base64" in e["path"] for e in prom.requests()), "client did not use @base64"

    grouping = {"job": JOB, **GROUPING}
    want = pushed(reg, grouping)
    got = query_vector(prom.url, '{job="batch/nightly", __name__!~"push_.*"}')
    assert got == want
    assert query_vector(prom.url, "push_time_seconds") == {
        key({"__name__": "push_time_seconds", **grouping}): prom.now_ms() / 1000}
    # PromQL over pushed data works like over scraped data.
    assert query_vector(prom.url, 'sum(batch_records_total{instance="host/1"})') == {(): 15.0}


def test_pushadd_adds_push_replaces_delete_removes(serve):
    from prometheus_client import (CollectorRegistry, Gauge, delete_from_gateway,
                                   pushadd_to_gateway, push_to_gateway)

    prom = serve(basic_scenario())
    grouping = {"job": JOB, **GROUPING}
    first = batch_registry(3)
    push_to_gateway(prom.url, job=JOB, registry=first, grouping_key=GROUPING)

    prom.advance("15s")
    extra = CollectorRegistry()
    Gauge("batch_queue_depth", "Queue depth.", registry=extra).set(7)
    pushadd_to_gateway(prom.url, job=JOB, registry=extra, grouping_key=GROUPING)
    names = 'job="batch/nightly", __name__!~"push_.*"'
    assert query_vector(prom.url, "{" + names + "}") == {**pushed(first, grouping),
                                                          **pushed(extra, grouping)}

    prom.advance("15s")
    push_to_gateway(prom.url, job=JOB, registry=extra, grouping_key=GROUPING)  # replaces
    assert query_vector(prom.url, "{" + names + "}") == pushed(extra, grouping)

    prom.advance("15s")
    delete_from_gateway(prom.url, job=JOB, grouping_key=GROUPING)
    assert query_vector(prom.url, '{job="batch/nightly"}') == {}
    assert api(prom.url, "/api/v1/metrics") == []
    # Before the delete, the data is still there: history is kept.
    res = api(prom.url, "/api/v1/query", query="batch_queue_depth",
              time=prom.now_ms() / 1000 - 1)["result"]
    assert [s["value"][1] for s in res] == ["7"]


# -- prometheus-api-client --------------------------------------------------------------------

def scenario_series(name: str, **labels) -> list[dict]:
    return [s for s in basic_scenario()["series"] if s["labels"]["__name__"] == name
            and all(s["labels"].get(k) == v for k, v in labels.items())]


@pytest.fixture(scope="module")
def connect(prom):
    from prometheus_api_client import PrometheusConnect

    client = PrometheusConnect(url=prom.url, disable_ssl=True)
    yield client
    client.close()


def test_api_client_current_value_and_custom_query(connect):
    got = connect.get_current_metric_value("up", label_config={"job": "db"})
    [want] = scenario_series("up", job="db")
    assert [s["metric"] for s in got] == [want["labels"]]
    assert got[0]["value"] == [T0, str(want["samples"][-1][1])]

    res = connect.custom_query("sum by (job) (up)")
    expected = {s["labels"]["job"]: s["samples"][-1][1] for s in scenario_series("up")}
    assert {s["metric"]["job"]: float(s["value"][1]) for s in res} == expected

    res = connect.custom_query("http_requests_total", params={"time": T0 - 120})
    [want] = scenario_series("http_requests_total")
    assert float(res[0]["value"][1]) == dict(want["samples"])[T0 - 120]


def test_api_client_range_query(connect):
    start = dt.datetime.fromtimestamp(T0 - 600, tz=dt.timezone.utc)
    end = dt.datetime.fromtimestamp(T0, tz=dt.timezone.utc)
    res = connect.custom_query_range('up{job="db"}', start_time=start, end_time=end, step="60")
    [want] = scenario_series("up", job="db")
    assert len(res) == 1
    got = [(t, float(v)) for t, v in res[0]["values"]]
    assert got == [(t, float(v)) for t, v in want["samples"]]


def test_api_client_label_values_and_all_metrics(connect):
    series = basic_scenario()["series"]
    jobs = sorted({s["labels"]["job"] for s in series if "job" in s["labels"]})
    names = sorted({s["labels"]["__name__"] for s in series})
    assert connect.get_label_values("job") == jobs  # no window: all time, as Prometheus
    assert connect.all_metrics() == names
    assert connect.get_label_names() == sorted({k for s in series for k in s["labels"]})
    window = {"start": T0 - 3600, "end": T0}
    assert connect.get_label_values("job", params=window) == jobs
    assert connect.get_label_values("job", params={"start": T0 + 60, "end": T0 + 120}) == []


def test_api_client_post_method_answers_like_get(prom, connect):
    from prometheus_api_client import PrometheusConnect

    with PrometheusConnect(url=prom.url, method="POST") as post:
        for expr in ("up", 'sum by (job) (rate(http_requests_total[5m]))', "odd_values"):
            assert post.custom_query(expr) == connect.custom_query(expr)
    assert any(e["method"] == "POST" for e in prom.requests(endpoint="query"))


def test_api_client_raises_on_a_bad_query(connect):
    from prometheus_api_client import PrometheusApiClientException

    with pytest.raises(PrometheusApiClientException, match="400.*bad_data"):
        connect.custom_query("sum(rate(up[5m])")
