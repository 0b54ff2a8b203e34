"""PromQL benchmark: mockprom against real Prometheus 2.42 and 3.5.3, end to end over HTTP.

Data: 1,000 counter series (10 jobs x 100 instances) at 15 s over 6 h 10 m, and a
10-bucket classic histogram (3 instances, so 3 series per bucket, plus _sum/_count). The
same explicit samples are served by mockprom (as a scenario, emulating each version in
turn) and remote-written into each real Prometheus that is installed (``prometheus`` on
PATH for 2.42; 3.5.3 where ``../shared/tools/get-prometheus-3`` puts it, or
``$MOCKPROM_PROM3_BIN``), all in the same run.

Each query is a range query over the last 6 h at a 15 s step (1,441 points per series);
the table shows, per version, the median wall time of N runs of mockprom emulating it and
of the real server, their ratio, and whether the answers agree.

    .venv/bin/python bench/bench_promql.py [--runs 5] [--series 1000] [--no-prometheus]
                                           [--versions 2.42,3.5]
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


def time_query(session: requests.Session, url: str, query: str, runs: int) -> tuple[float, dict]:
    """Median seconds of ``runs`` range queries (after one warm-up), and the answer."""
    params = {"query": query, "start": END - HOURS * 3600, "end": END, "step": STEP_S}
    r = session.get(url + "/api/v1/query_range", params=params, timeout=600)
    r.raise_for_status()
    answer = r.json()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = session.get(url + "/api/v1/query_range", params=params, timeout=600)
        _ = r.content
        times.append(time.perf_counter() - t)
        r.raise_for_status()
    return statistics.median(times), answer


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--no-prometheus", action="store_true", help="only time mockprom")
    ap.add_argument("--versions", default="2.42,3.5",
                    help="release lines to compare, comma-separated (default: 2.42,3.5)")
    args = ap.parse_args(argv)
    lines = [v.strip() for v in args.versions.split(",") if v.strip()]
    unknown = [v for v in lines if v not in realprom.RELEASES]
    if unknown:
        ap.error(f"unknown release line(s) {unknown}: known are {sorted(realprom.RELEASES)}")

    t = time.perf_counter()
    data = build_data(args.series)
    n_samples = sum(len(s["samples"]) for s in data)
    print(f"data: {len(data)} series, {n_samples:,} samples ({time.perf_counter() - t:.1f}s to build)")

    from mockprom.server import MockPrometheus

    # results[line][query] = {"mockprom": (s, answer), "prometheus": (s, answer)}
    results: dict[str, dict[str, dict]] = {line: {q: {} for q in QUERIES} for line in lines}
    session = requests.Session()
    for line in lines:
        release = realprom.RELEASES[line]
        t = time.perf_counter()
        with MockPrometheus(scenario={"series": data}, host="127.0.0.1", port=0,
                            version=release.version) as mock:
            print(f"mockprom {release.version}: loaded in {time.perf_counter() - t:.1f}s")
            for q in QUERIES:
                results[line][q]["mockprom"] = time_query(session, mock.url, q, args.runs)
        if args.no_prometheus:
            continue
        if not release.binaries():
            print(f"prometheus {line}: not installed ({release.missing}); only mockprom is timed")
            continue
        t = time.perf_counter()
        with realprom.RealPrometheus(data, line=line) as real:
            print(f"prometheus {line}: loaded by remote write in {time.perf_counter() - t:.1f}s")
            for q in QUERIES:
                results[line][q]["prometheus"] = time_query(session, real.url, q, args.runs)

    print(f"\nrange queries over {HOURS} h at {STEP_S} s step, median of {args.runs} runs\n")
    print(f"| {'query':<88} | version | series | mockprom | prometheus | ratio | same answer |")
    print(f"|{'-' * 90}|---------|--------|----------|------------|-------|-------------|")
    for q in QUERIES:
        for line in lines:
            m, answer = results[line][q]["mockprom"]
            n = len(answer["data"]["result"])
            p = results[line][q].get("prometheus")
            ps, ratio, same = "         -", "    -", "          -"
            if p:
                ps, ratio = f"{p[0] * 1000:8.0f}ms", f"{m / p[0]:5.1f}x"
                diffs = realprom.compare_answers(200, p[1], 200, answer)
                same = f"{'yes' if not diffs else f'NO ({len(diffs)} diffs)':>11}"
            print(f"| {q:<88} | {line:>7} | {n:6d} | {m * 1000:6.0f}ms | {ps} | {ratio} | {same} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
