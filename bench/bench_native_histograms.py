"""Native histogram benchmark: ``histogram_quantile(0.99, sum(rate(x[5m])))`` over 1,000
native histogram series x 6 h at 15 s, mockprom against a real Prometheus 3.5.3 in the
same run, end to end over HTTP.

Data: 1,000 counter native histograms ``x{instance="i000".."i999"}`` (schema 3, a
lognormal latency distribution, ~40 populated buckets each) from mockprom's
``native_histogram`` generator, at 15 s over 6 h 10 m (1,480 samples per series,
1.48 M histogram samples). mockprom serves them from the generator (computed on demand,
as a scenario defines them); the same histograms are remote-written into a real
Prometheus 3.5.3 (``--enable-feature=native-histograms``, ``--query.max-samples`` raised
so that the 15 s step fits) started on a free port with a temporary TSDB.

Queries are range queries over the last 6 h, at a 15 s step (1,441 points) and at a 60 s
step (361 points, what a Grafana panel of 6 h asks for), timed end to end (request to
last byte) after one warm-up; the table shows the median of N runs per server, the ratio
mockprom/Prometheus and whether the answers agree (every histogram compared field by
field, floats to 1e-9 relative).

    .venv/bin/python bench/bench_native_histograms.py [--runs 5] [--series 1000]
                                                      [--no-prometheus]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

import numpy as np
import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, "tests")]  # a checkout works without installing
import realprom  # noqa: E402
from native_oracle import NATIVE_FLAGS, encode_histogram  # noqa: E402

T0 = 1_700_000_000  # seconds: the end of the data
STEP_S = 15
SAMPLES = 6 * 240 + 40  # 6 h plus 10 min, so the first 5 m windows are full
START = T0 - STEP_S * (SAMPLES - 1)
QUERY = "histogram_quantile(0.99, sum(rate(x[5m])))"
STEPS = (15, 60)

GENERATOR = {"kind": "native_histogram", "rate": 20, "schema": 3, "drift": 0.3,
             "drift_period": "2h", "reset_every": "3h", "jitter": 0.5,
             "distribution": {"lognormal": {"median": 0.12, "sigma": 0.35}}}


def scenario(n_series: int) -> dict:
    return {"seed": 11, "interval": f"{STEP_S}s", "clock": str(T0), "server": {
        "version": "3.5.3", "features": ["native-histograms"]},
            "series": [{"metric": "x", "type": "histogram",
                        "labels": {"instance": [f"i{i:03d}" for i in range(n_series)]},
                        "start": str(START), "generator": GENERATOR}]}


def load_real(url: str, store) -> int:
    """Remote-write every histogram of ``store`` (the mock's) into the real server, in
    time order, in requests of at most 10 minutes."""
    import cramjam
    from mockprom.scenario.labels import Matcher
    from realprom import _field

    series = store.select([Matcher.of("__name__", "=", "x")], START * 1000, T0 * 1000,
                          histograms=True)
    session = requests.Session()
    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
    label_bytes = [b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode()))
                            for k, v in sd.labels) for sd in series]
    written = 0
    # Prometheus refuses bodies that decode to more than 32 MiB: 10-minute windows keep
    # 1,000 series' 40 histograms each well below that
    window = 10 * 60_000
    t = START * 1000
    while t <= T0 * 1000:
        raw = []
        for lb, sd in zip(label_bytes, series):
            lo, hi = np.searchsorted(sd.ts, [t, t + window])
            idx = range(lo, hi)
            if not idx:
                continue
            body = lb + b"".join(_field(4, encode_histogram(sd.hists[i], int(sd.ts[i])))
                                 for i in idx)
            raw.append(_field(1, body))
            written += len(idx)
        r = session.post(url + "/api/v1/write",
                         data=bytes(cramjam.snappy.compress_raw(b"".join(raw))),
                         headers=headers, timeout=120)
        if r.status_code // 100 != 2:
            raise RuntimeError(f"remote write refused: {r.status_code} {r.text.strip()}")
        t += window
    return written


def run(url: str, step: int) -> tuple[float, dict]:
    params = {"query": QUERY, "start": T0 - 6 * 3600, "end": T0, "step": step}
    t = time.perf_counter()
    r = requests.get(url + "/api/v1/query_range", params=params, timeout=600)
    elapsed = time.perf_counter() - t
    r.raise_for_status()
    return elapsed, r.json()


def close(a: str, b: str) -> bool:
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return x == y or abs(x - y) <= 1e-9 * max(abs(x), abs(y))


def agree(want: dict, got: dict) -> bool:
    w, g = want["data"]["result"], got["data"]["result"]
    if len(w) != len(g):
        return False
    for ws, gs in zip(w, g):
        if ws["metric"] != gs["metric"] or len(ws.get("values", [])) != len(gs.get("values", [])):
            return False
        for (wt, wv), (gt, gv) in zip(ws.get("values", []), gs.get("values", [])):
            if wt != gt or not close(wv, gv):
                return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--no-prometheus", action="store_true")
    args = ap.parse_args()

    from mockprom.server import MockPrometheus

    mock = MockPrometheus(scenario(args.series))
    real = None
    try:
        if not args.no_prometheus and realprom.binaries("3.5"):
            real = realprom.RealPrometheus(
                [], loader="none", line="3.5",
                extra_args=[*NATIVE_FLAGS, "--query.max-samples=500000000"])
            real.start()
            t = time.perf_counter()
            n = load_real(real.url, mock.state.store)
            print(f"loaded {n} histogram samples into Prometheus 3.5.3 in "
                  f"{time.perf_counter() - t:.1f} s")
        print(f"query: {QUERY}, range 6 h, {args.series} series, median of {args.runs} runs")
        print("| step | mockprom | Prometheus 3.5.3 | ratio | answers agree |")
        print("| --- | --- | --- | --- | --- |")
        for step in STEPS:
            run(mock.url, step)  # warm-up
            mock_times = [run(mock.url, step)[0] for _ in range(args.runs)]
            got = run(mock.url, step)[1]
            m = statistics.median(mock_times)
            if real is None:
                print(f"| {step} s | {m:.2f} s | - | - | - |")
                continue
            run(real.url, step)
            real_times = [run(real.url, step)[0] for _ in range(args.runs)]
            want = run(real.url, step)[1]
            p = statistics.median(real_times)
            print(f"| {step} s | {m:.2f} s | {p:.2f} s | {m / p:.1f}x | {agree(want, got)} |")
    finally:
        mock.stop()
        if real is not None:
            real.stop()


if __name__ == "__main__":
    main()
