"""The same scenario and request give byte-identical bodies from two separate processes
started at different times."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SCRIPT = r"""
import sys, requests
from mockprom.server import MockPrometheus
scenario = '''
name: determinism
seed: 42
interval: 15s
start: 2024-01-01T00:00:00Z
clock: real
series:
  - series: 'http_requests_total{job="api", code="500"}'
    values: "0+3x100 _x5 300+3x50 stale"
  - metric: node_cpu_seconds_total
    type: counter
    labels:
      instance: {faker: ipv4_private, count: 3}
      mode: [user, system, idle]
    generator: {kind: counter, rate: 0.4, jitter: 0.1}
  - metric: http_request_duration_seconds
    type: histogram
    labels: {job: api}
    generator: {kind: histogram, rate: 20, buckets: [0.05, 0.1, 0.25, 0.5, 1],
                distribution: {lognormal: {median: 0.12, sigma: 0.6}}}
'''
requests_ = [
    ("/api/v1/query", {"query": "node_cpu_seconds_total", "time": "2024-01-01T00:30:00Z"}),
    ("/api/v1/query_range", {"query": "rate(node_cpu_seconds_total[5m])",
                             "start": "1704067200", "end": "1704070800", "step": "60"}),
    ("/api/v1/query_range", {"query": "histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))",
                             "start": "1704067200", "end": "1704070800", "step": "5m"}),
    ("/api/v1/query_range", {"query": "http_requests_total", "start": "1704067200",
                             "end": "1704070800", "step": "15s"}),
    ("/api/v1/series", {"match[]": "node_cpu_seconds_total", "start": "1704067200",
                        "end": "1704070800"}),
    ("/api/v1/label/instance/values", {"start": "1704067200", "end": "1704070800"}),
]
with MockPrometheus(scenario) as prom, requests.Session() as s:
    for path, params in requests_:
        r = s.get(prom.url + path, params=params)
        assert r.status_code == 200, (path, r.text)
        sys.stdout.buffer.write(r.content + b"\n")
"""


def run_once() -> bytes:
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONHASHSEED="random")
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def test_byte_identical_across_processes():
    first = run_once()
    time.sleep(1.1)  # a different wall-clock second: nothing may depend on it
    second = run_once()
    assert first == second
    bodies = first.splitlines()
    assert len(bodies) == 6
    assert all(b.startswith(b'{"status":"success"') for b in bodies)
    assert all(b"[]" not in b for b in bodies)  # real data, not empty answers
