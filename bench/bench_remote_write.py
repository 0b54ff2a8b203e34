"""Remote-write ingestion speed, in samples per second (not a test).

    .venv/bin/python bench/bench_remote_write.py [--seconds 2] [--cpu]

For batches of 1,000 and 10,000 samples (10 samples per series, as Prometheus senders
batch them): decode alone, decode + append into a Store, and end to end over HTTP
(``requests`` posting to a running ``MockPrometheus``, one client thread). Target: at
least 200,000 samples/s for decode + store on one core.

The ``new`` row (one sample for each of 10,000 series never seen before, in every request)
is the costly case: each new series must be read label by label, validated, and given its
own objects in the store. Nov 2026, ``--cpu``, decode / decode+store / HTTP: about
100,000 / 63,000 / 70,000 samples/s before the fast path (raw Label bytes as cache keys,
the collector paused while a request builds its series), 210,000 / 120,000 / 100,000 after.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import requests  # noqa: E402

from mockprom.ingest import remote_write as rw  # noqa: E402
from mockprom.scenario.store import Store  # noqa: E402

SAMPLES_PER_SERIES = 10
T0 = 1_700_000_000_000


def make_bodies(batch: int, count: int, churn: bool = False) -> list[bytes]:
    """``count`` successive request bodies of ``batch`` samples: 10 samples for each of
    the same series, or (``churn``) one sample for each of ``batch`` new series."""
    per_series = 1 if churn else SAMPLES_PER_SERIES
    n_series = batch // per_series
    bodies = []
    for b in range(count):
        base = T0 + b * per_series * 15_000
        first = b * n_series if churn else 0
        bodies.append(rw.encode([
            ({"__name__": "bench_metric", "job": "bench", "instance": f"host-{i % 50}", "series": str(i)},
             [(base + k * 15_000, float(b * 10 + k)) for k in range(per_series)])
            for i in range(first, first + n_series)]))
    return bodies


CLOCK = time.perf_counter  # --cpu: time.process_time


def timed(fn, bodies: list[bytes], batch: int, seconds: float) -> float:
    """Samples per second of ``fn(body)`` over the bodies (repeated until ``seconds``)."""
    done, start = 0, CLOCK()
    i = 0
    while True:
        fn(bodies[i % len(bodies)], i)
        done += batch
        i += 1
        if i >= len(bodies) or CLOCK() - start > seconds:
            break
    return done / (CLOCK() - start)


def bench_decode(batch: int, bodies, seconds: float) -> float:
    return timed(lambda body, i: rw.decode(body), bodies, batch, seconds)


def bench_decode_store(batch: int, bodies, seconds: float) -> float:
    store, lock = Store(), threading.Lock()
    return timed(lambda body, i: rw.append(store, rw.decode(body), lock), bodies, batch, seconds)


def bench_http(batch: int, bodies, seconds: float) -> float:
    from mockprom.server import MockPrometheus

    with MockPrometheus({"series": []}) as prom, requests.Session() as http:
        url = f"http://127.0.0.1:{prom.port}/api/v1/write"

        def post(body, i):
            r = http.post(url, data=body, headers={"Content-Encoding": "snappy",
                                                   "Content-Type": "application/x-protobuf"})
            if r.status_code != 204:
                raise SystemExit(f"remote write failed: {r.status_code} {r.text}")

        return timed(post, bodies, batch, seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--cpu", action="store_true",
                    help="count the process's CPU time instead of wall-clock time (steadier on "
                         "a busy machine; over HTTP it adds the client's CPU time to the server's)")
    args = ap.parse_args()
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    rows = []
    for batch, churn in ((1_000, False), (10_000, False), (10_000, True)):
        bodies = make_bodies(batch, 400 if batch == 1_000 else 30, churn)
        size = sum(map(len, bodies)) / len(bodies)
        row = [f"{batch:,}{' new' if churn else ''}", size, bench_decode(batch, bodies, args.seconds),
               bench_decode_store(batch, bodies, args.seconds)]
        try:
            row.append(bench_http(batch, bodies, args.seconds))
        except Exception as err:  # the app may be unavailable in a partial checkout
            print(f"(HTTP bench skipped: {type(err).__name__}: {err})")
            row.append(float("nan"))
        rows.append(row)
    print("batch: samples per request; 'new': every sample in a series never seen before")
    print(f"{'batch':>10} {'body bytes':>11} {'decode/s':>12} {'decode+store/s':>15} {'HTTP e2e/s':>12}")
    for batch, size, dec, store, http in rows:
        print(f"{batch:>10} {size:>11,.0f} {dec:>12,.0f} {store:>15,.0f} {http:>12,.0f}")
    print("target: >= 200,000 samples/s decode+store on one core")


if __name__ == "__main__":
    main()
