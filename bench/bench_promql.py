"""PromQL benchmark: mockprom against real Prometheus 2.42 and 3.5.3, end to end over HTTP.

Data: 1,000 counter series (10 jobs x 100 instances) at 15 s over 6 h 10 m, and a
10-bucket classic histogram (3 instances, so 3 series per bucket, plus _sum/_count). The
same explicit samples are served by mockprom (``mockprom serve`` in its own process,
emulating each version in turn) and remote-written into each real Prometheus that is
installed (``prometheus`` on PATH for 2.42; 3.5.3 where ``../shared/tools/get-prometheus-3``
puts it, or ``$MOCKPROM_PROM3_BIN``). Both servers of a version run at the same time and
take turns, run by run, so that other work on the machine weighs on both alike.

Each query is a range query over the last 6 h at a 15 s step (1,441 points per series),
sent as Grafana sends it (``Accept-Encoding: gzip``; ``--identity`` for plain answers).
The table shows, per version, the median wall time of N runs and the median CPU time the
server process spent on one answer (all its threads, from /proc: steadier than wall time
on a busy machine), for mockprom and for the real server, their ratios, and whether the
answers agree.

    .venv/bin/python bench/bench_promql.py [--runs 5] [--series 1000] [--no-prometheus]
                                           [--versions 2.42,3.5] [--identity]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np
import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, "tests")]  # a checkout works without installing
import realprom  # noqa: E402  (tests/realprom.py: the real-Prometheus helpers)
from bench_http import MockpromProcess, cpu_seconds  # noqa: E402

T0 = 1_700_000_000
STEP_S = 15
HOURS = 6
SAMPLES = HOURS * 240 + 40  # 6 h plus 10 min, so the first 5 m windows are full
END = T0 + STEP_S * (SAMPLES - 1)
BUCKETS = ["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]

QUERIES = [
    "rate(http_requests_total[5m])",
    "sum by (job) (rate(http_requests_total[5m]))",
    "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))",
]


def build_data(n_series: int, seed: int = 7) -> list[dict]:
    rng = np.random.default_rng(seed)
    times = (T0 + STEP_S * np.arange(SAMPLES)).tolist()
    out = []
    for i in range(n_series):
        incr = rng.uniform(0, 2 * (1 + i % 13), SAMPLES)
        vals = np.round(np.cumsum(incr), 3).tolist()
        out.append({"labels": {"__name__": "http_requests_total", "job": f"job-{i % 10}",
                               "instance": f"10.0.{i // 100}.{i % 100}:8080"},
                    "samples": [list(p) for p in zip(times, vals)]})
    bounds = np.array([float(b) for b in BUCKETS])
    for inst in range(3):
        obs = rng.lognormal(-2.5, 1.2, (SAMPLES, 40))
        obs = obs[:, : int(rng.integers(20, 40))]
        counts = np.cumsum((obs[:, :, None] <= bounds).sum(axis=1), axis=0)
        labels = {"job": "api", "instance": f"10.1.0.{inst}:8080"}
        for j, le in enumerate(BUCKETS):
            out.append({"labels": {"__name__": "http_request_duration_seconds_bucket", **labels,
                                   "le": le},
                        "samples": [list(p) for p in zip(times, counts[:, j].astype(float).tolist())]})
        out.append({"labels": {"__name__": "http_request_duration_seconds_count", **labels},
                    "samples": [list(p) for p in zip(times, counts[:, -1].astype(float).tolist())]})
        sums = np.round(np.cumsum(obs.sum(axis=1)), 6).tolist()
        out.append({"labels": {"__name__": "http_request_duration_seconds_sum", **labels},
                    "samples": [list(p) for p in zip(times, sums)]})
    return out


def one_query(session: requests.Session, url: str, pid: int, query: str,
              headers: dict) -> tuple[float, float, requests.Response]:
    """Wall seconds and the server's CPU seconds of one range query, and the response."""
    params = {"query": query, "start": END - HOURS * 3600, "end": END, "step": STEP_S}
    cpu = cpu_seconds(pid)
    t = time.perf_counter()
    r = session.get(url + "/api/v1/query_range", params=params, headers=headers, timeout=600)
    _ = r.content
    wall = time.perf_counter() - t
    r.raise_for_status()
    return wall, cpu_seconds(pid) - cpu, r


def time_servers(servers: dict, query: str, runs: int, headers: dict) -> dict:
    """``{name: (median wall s, median CPU s, answer, compressed bytes)}`` of ``runs``
    queries per server (after one warm-up each), the servers taking turns."""
    session = requests.Session()
    walls = {name: [] for name in servers}
    cpus = {name: [] for name in servers}
    answers, sizes = {}, {}
    params = {"query": query, "start": END - HOURS * 3600, "end": END, "step": STEP_S}
    for name, (url, pid) in servers.items():
        _, _, r = one_query(session, url, pid, query, headers)
        answers[name] = r.json()
        with session.get(url + "/api/v1/query_range", params=params, headers=headers,
                         stream=True, timeout=600) as raw:  # the bytes on the wire
            sizes[name] = len(raw.raw.read(decode_content=False))
    for run in range(runs):
        order = list(servers) if run % 2 == 0 else list(servers)[::-1]
        for name in order:
            url, pid = servers[name]
            wall, cpu, _ = one_query(session, url, pid, query, headers)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]),
                   answers[name], sizes[name]) for name in servers}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--no-prometheus", action="store_true", help="only time mockprom")
    ap.add_argument("--versions", default="2.42,3.5",
                    help="release lines to compare, comma-separated (default: 2.42,3.5)")
    ap.add_argument("--identity", action="store_true",
                    help="ask for plain answers (no Accept-Encoding: gzip)")
    args = ap.parse_args(argv)
    lines = [v.strip() for v in args.versions.split(",") if v.strip()]
    unknown = [v for v in lines if v not in realprom.RELEASES]
    if unknown:
        ap.error(f"unknown release line(s) {unknown}: known are {sorted(realprom.RELEASES)}")
    headers = {"Accept-Encoding": "identity" if args.identity else "gzip"}

    t = time.perf_counter()
    data = build_data(args.series)
    n_samples = sum(len(s["samples"]) for s in data)
    print(f"data: {len(data)} series, {n_samples:,} samples ({time.perf_counter() - t:.1f}s to build)")

    # results[line][query] = {"mockprom": (wall, cpu, answer, bytes), "prometheus": ...}
    results: dict[str, dict[str, dict]] = {}
    for line in lines:
        release = realprom.RELEASES[line]
        real = None
        t = time.perf_counter()
        mock = MockpromProcess(data, ["--prometheus-version", release.version])
        try:
            print(f"mockprom {release.version}: loaded in {time.perf_counter() - t:.1f}s")
            servers = {"mockprom": (mock.url, mock.proc.pid)}
            if not args.no_prometheus and not release.binaries():
                print(f"prometheus {line}: not installed ({release.missing}); only mockprom is timed")
            elif not args.no_prometheus:
                t = time.perf_counter()
                real = realprom.RealPrometheus(data, line=line).__enter__()
                print(f"prometheus {line}: loaded by remote write in {time.perf_counter() - t:.1f}s")
                servers["prometheus"] = (real.url, real.proc.pid)
            results[line] = {q: time_servers(servers, q, args.runs, headers) for q in QUERIES}
        finally:
            mock.stop()
            if real is not None:
                real.stop()

    enc = "plain" if args.identity else "gzip"
    print(f"\nrange queries over {HOURS} h at {STEP_S} s step, {enc} answers, median of "
          f"{args.runs} runs taking turns; wall time, and CPU time of the server process\n")
    print("| query | version | series | mockprom wall | Prometheus wall | ratio | mockprom CPU "
          "| Prometheus CPU | ratio | bytes (mockprom / Prometheus) | same answer |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for q in QUERIES:
        for line in lines:
            res = results[line][q]
            mw, mc, answer, mb = res["mockprom"]
            n = len(answer["data"]["result"])
            p = res.get("prometheus")
            pw = pc = wr = cr = sizes = same = "-"
            if p:
                pw, pc = f"{p[0] * 1000:.0f} ms", f"{p[1] * 1000:.0f} ms"
                wr = f"{mw / p[0]:.2f}x"
                cr = f"{mc / p[1]:.2f}x" if p[1] else "-"
                sizes = f"{mb / 1e6:.1f} / {p[3] / 1e6:.1f} MB"
                diffs = realprom.compare_answers(200, p[2], 200, answer)
                same = "yes" if not diffs else f"NO ({len(diffs)} diffs)"
            print(f"| `{q}` | {line} | {n} | {mw * 1000:.0f} ms | {pw} | {wr} | {mc * 1000:.0f} ms "
                  f"| {pc} | {cr} | {sizes} | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
