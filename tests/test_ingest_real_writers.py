"""Real senders writing into mockprom, and what they wrote queried back exactly:

- a real Prometheus 3.5.3 remote-writing 2.0 (``protobuf_message:
  io.prometheus.write.v2.Request``) its own metrics, with their metadata;
- remote write 1.0 clients, prometheus-remote-writer (PyPI) and prometheus-remote-write
  (npm, installed in ``tests/js`` by ``.ci/run``): values round-trip, and out-of-bounds,
  out-of-order and badly named series are answered as each emulated version answers them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import requests

import realprom
from mockprom.server import MockPrometheus
from test_real_clients import ConfiguredPrometheus, api, wait_for


def _rw2_config(receiver: MockPrometheus):
    def config_for(port: int) -> str:
        return f"""
global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: self
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
remote_write:
  - url: {receiver.url}/api/v1/write
    protobuf_message: io.prometheus.write.v2.Request
    queue_config: {{batch_send_deadline: 200ms, min_shards: 1, max_shards: 1,
                   min_backoff: 50ms, max_backoff: 500ms}}
"""
    return config_for


@pytest.mark.realprom
def test_prometheus_3_5_writes_remote_write_2_into_mockprom():
    realprom.require_binaries("3.5")
    with MockPrometheus({"name": "receiver", "clock": "real", "series": []}) as receiver:
        real = ConfiguredPrometheus(_rw2_config(receiver), line="3.5")
        real.extra_args = ["--enable-feature=metadata-wal-records"]  # 2.0 then sends metadata
        try:
            real.start()

            def received_up():
                return api(receiver.url, "/api/v1/query", query='timestamp(up{job="self"})')["result"]

            def same_as_real():
                # at the newest `up` mockprom holds, it holds what the real Prometheus holds
                up = received_up()
                if not up:
                    return None
                t = up[0]["value"][1]
                for expr in ('{job="self"}', 'count({job="self"})',
                             '{job="self", __name__=~"up|prometheus_build_info|scrape_samples_scraped"}[1m]'):
                    want = api(real.url, "/api/v1/query", query=expr, time=t)
                    got = api(receiver.url, "/api/v1/query", query=expr, time=t)
                    if not want["result"] or realprom.compare_result(want, got):
                        return None
                return t

            t = wait_for("mockprom to hold what Prometheus wrote by remote write 2.0", same_as_real)
            build = api(receiver.url, "/api/v1/query", query="prometheus_build_info", time=t)
            assert build["result"][0]["metric"]["version"].startswith("3.5")
            # 2.0 carries metadata with every series: it reaches /api/v1/metadata
            meta = api(receiver.url, "/api/v1/metadata", metric="prometheus_http_requests_total")
            assert meta["prometheus_http_requests_total"][0]["type"] == "counter"
            assert meta["prometheus_http_requests_total"][0]["help"]
            writes = [e for e in receiver.requests() if e["path"] == "/api/v1/write"]
            assert writes and {e["status"] for e in writes} == {204}
        finally:
            real.stop()


# -- remote write 1.0 clients: prometheus-remote-writer (PyPI), prometheus-remote-write (npm) --

JS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
HOUR_MS = 3_600_000


def _scenario(version):
    return {"series": [], "clock": "real", "server": {"version": version}}


def _range(prom, expr, t_ms):
    data = api(prom.url, "/api/v1/query", query=expr, time=t_ms / 1000)
    return {tuple(sorted(s["metric"].items())): [(round(float(t) * 1000), v) for t, v in s["values"]]
            for s in data["result"]}


@pytest.fixture(scope="module")
def npm_client():
    """``node tests/js/push.js`` with the npm package installed (``npm ci`` in tests/js
    when it is not yet: .ci/run installs it)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "node/npm not installed (apt-get install nodejs npm): the npm client test needs them"
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: a missing client is a failure)")
        pytest.skip(reason)
    if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "prometheus-remote-write")):
        proc = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            reason = f"npm ci in tests/js failed: {proc.stderr.strip()[-300:]}"
            if os.environ.get("CI"):
                pytest.fail(reason)
            pytest.skip(reason)

    def push(url: str, timeseries: list) -> dict:
        spec = {"url": url + "/api/v1/write", "timeseries": timeseries}
        proc = subprocess.run([node, "push.js", json.dumps(spec)], cwd=JS_DIR,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    return push


@pytest.mark.parametrize("version", ["3.5.3", "2.42.0"])
def test_prometheus_remote_writer_round_trip_and_refusals(version):
    from prometheus_remote_writer import RemoteWriter

    with MockPrometheus(_scenario(version)) as prom:
        now = prom.now_ms()
        writer = RemoteWriter(url=prom.url + "/api/v1/write", retries=0)
        ts = [now - 30_000, now - 15_000, now]
        result = writer.send([{"metric": {"__name__": "py_jobs_total", "queue": "mail"},
                               "values": [1, 2.5, 4], "timestamps": ts}])
        assert result.last_response.status_code == 204
        assert _range(prom, "py_jobs_total[1m]", now) == {
            (("__name__", "py_jobs_total"), ("queue", "mail")): [(ts[0], "1"), (ts[1], "2.5"),
                                                                 (ts[2], "4")]}
        for age in (3 * HOUR_MS, 30 * 24 * HOUR_MS):  # out of bounds, as both versions answer
            with pytest.raises(RuntimeError, match="status=400, body=out of bounds"):
                writer.send([{"metric": {"__name__": "py_old"}, "values": [1],
                              "timestamps": [now - age]}])
        # no metric name: 2.42 stores the series, 3.5 drops it; both answer 204
        writer.send([{"metric": {"job": "nameless"}, "values": [7], "timestamps": [now]}])
        stored = _range(prom, '{job="nameless"}[1m]', now)
        assert stored == ({(("job", "nameless"),): [(now, "7")]} if version == "2.42.0" else {})
        writer.close()


@pytest.mark.parametrize("version", ["3.5.3", "2.42.0"])
def test_npm_prometheus_remote_write_round_trip_and_refusals(npm_client, version):
    with MockPrometheus(_scenario(version)) as prom:
        now = prom.now_ms()
        sent = npm_client(prom.url, [
            {"labels": {"__name__": "js_queue_depth", "service": "SQS"},
             "samples": [{"value": 150, "timestamp": now - 10_000}, {"value": 0.5, "timestamp": now}]},
            {"labels": {"__name__": "bad-name", "service": "SQS"},
             "samples": [{"value": 3, "timestamp": now}]},
        ])
        assert sent["status"] == 204
        assert _range(prom, "js_queue_depth[1m]", now) == {
            (("__name__", "js_queue_depth"), ("service", "SQS")): [(now - 10_000, "150"), (now, "0.5")]}
        # a name outside the legacy character set is stored by both versions
        assert _range(prom, '{__name__="bad-name"}[1m]', now) == {
            (("__name__", "bad-name"), ("service", "SQS")): [(now, "3")]}
        old = npm_client(prom.url, [{"labels": {"__name__": "js_old"},
                                     "samples": [{"value": 1, "timestamp": now - 3 * HOUR_MS}]}])
        assert old == {"status": 400, "text": "out of bounds\n"}
        ooo = npm_client(prom.url, [{"labels": {"__name__": "js_queue_depth", "service": "SQS"},
                                     "samples": [{"value": 1, "timestamp": now - 20_000}]}])
        assert ooo == {"status": 400, "text": "out of order sample\n"}
