"""Real senders writing into mockprom, and what they wrote queried back exactly:

- a real Prometheus 3.5.3 remote-writing 2.0 (``protobuf_message:
  io.prometheus.write.v2.Request``) its own metrics, with their metadata;
"""

from __future__ import annotations

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
