"""Ingestion speed, in samples per second (not a test): remote write 1.0 and 2.0, and OTLP.

    .venv/bin/python bench/bench_remote_write.py [--seconds 2] [--cpu] [--only v1,v2,otlp]

For each protocol, batches of 10,000 samples (10 samples for each of 1,000 series, as
Prometheus senders batch them; 1.0 also 1,000 samples) and a ``new`` batch (one sample
for each of 10,000 series never seen before, in every request, and other series for each
of the three measurements): decode alone, decode + append into a Store through the
acceptance checks (``acceptance.commit``, the collector paused for both as the server
pauses it), and end to end over HTTP (``requests`` posting to a running
``MockPrometheus``, one client thread). The client's own objects are freed first.
Goals: 1,000,000 samples/s decode + store for 1.0 batches of 10,000, and 200,000 for
all-new series.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import requests  # noqa: E402

from mockprom.ingest import otlp  # noqa: E402
from mockprom.ingest import remote_write as rw  # noqa: E402
from mockprom.ingest import remote_write_v2 as rw2  # noqa: E402
from mockprom.ingest.acceptance import RULES, Head, PlainBatches, Window, commit  # noqa: E402
from mockprom.scenario.store import Store  # noqa: E402

SAMPLES_PER_SERIES = 10
T0 = 1_700_000_000_000
STEP = 15_000


def series_batches(batch: int, count: int, churn: bool, start: int = 0) -> list[list]:
    """``count`` successive requests of ``batch`` samples as ``[(labels, samples)]``: 10
    samples for each of the same series, or (``churn``) one sample for each of ``batch``
    new series (numbered from ``start``)."""
    per_series = 1 if churn else SAMPLES_PER_SERIES
    n_series = batch // per_series
    out = []
    for b in range(count):
        base = T0 + b * per_series * STEP
        first = start + b * n_series if churn else 0
        out.append([({"__name__": "bench_metric", "job": "bench", "instance": f"host-{i % 50}",
                      "series": str(i)},
                     [(base + k * STEP, float(b * 10 + k)) for k in range(per_series)])
                    for i in range(first, first + n_series)])
    return out


def otlp_body(series: list) -> bytes:
    """An OTLP export request of gauges: one metric, one data point per sample."""
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import \
        ExportMetricsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.add(key="service.name", value=AnyValue(string_value="bench"))
    metric = rm.scope_metrics.add().metrics.add(name="bench.metric", unit="1")
    points = metric.gauge.data_points
    for labels, samples in series:
        attrs = [KeyValue(key=k, value=AnyValue(string_value=v))
                 for k, v in labels.items() if k != "__name__"]
        for t, v in samples:
            points.add(time_unix_nano=t * 1_000_000, as_double=v, attributes=attrs)
    return req.SerializeToString()


PROTOCOLS = {
    "v1": (rw.encode, {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"},
           "/api/v1/write"),
    "v2": (rw2.encode, {"Content-Encoding": "snappy",
                        "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
           "/api/v1/write"),
    "otlp": (otlp_body, {"Content-Type": "application/x-protobuf"}, "/api/v1/otlp/v1/metrics"),
}


def decoder(protocol: str):
    """``body -> batches`` of a protocol, as the server decodes it (3.5's label policy)."""
    if protocol == "v1":
        return lambda body: rw.decode(body, "drop")
    if protocol == "v2":
        def decode_v2(body):  # as the server's handler makes them (no histograms here)
            batches = [s.batch for s in rw2.decode(rw.decompress(body), "drop")]
            return PlainBatches(batches) if all(b.problem is None for b in batches) else batches
        return decode_v2
    settings, deltas = otlp.Settings(), otlp.DeltaState()

    def decode(body):
        tr = otlp.translate(otlp.decode(body, otlp.PROTOBUF, ""), settings, deltas)
        return tr.batches("drop")
    return decode


CLOCK = time.perf_counter  # --cpu: time.process_time


def timed(fn, bodies: list[bytes], batch: int, seconds: float) -> float:
    """Samples per second of ``fn(body)`` over the bodies (in order, until ``seconds``)."""
    done, start, i = 0, CLOCK(), 0
    while True:
        fn(bodies[i % len(bodies)])
        done += batch
        i += 1
        if i >= len(bodies) or CLOCK() - start > seconds:
            break
    return done / (CLOCK() - start)


def bench_decode(protocol, batch, bodies, seconds):
    decode = decoder(protocol)

    def decode_one(body):
        with rw.gc_paused():  # as the server decodes
            decode(body)
    return timed(decode_one, bodies, batch, seconds)


def bench_decode_store(protocol, batch, bodies, seconds):
    store, lock, head, decode = Store(), threading.Lock(), Head(), decoder(protocol)
    rules = RULES["3.5"]

    def decode_commit(body):
        batches = decode(body)
        now = max(max(b.ts) for b in batches)
        with lock:  # 2.0 writes are partial: what passes is stored
            commit(store, head, batches, Window(head, rules, now), partial=protocol == "v2")

    def store_one(body):
        with rw.gc_paused():  # as the server's handlers: one pause for decode and commit
            decode_commit(body)
    return timed(store_one, bodies, batch, seconds)


def bench_http(protocol, batch, bodies, seconds, newest):
    from mockprom.server import MockPrometheus

    _, headers, path = PROTOCOLS[protocol]
    with MockPrometheus({"series": [], "clock": T0 / 1000}) as prom, requests.Session() as http:
        url = prom.url + path
        clock_at = dict(zip(map(id, bodies), newest))

        def post(body):
            prom.state.clock.set(clock_at[id(body)])  # "now" moves with the data written
            r = http.post(url, data=body, headers=headers)
            if r.status_code // 100 != 2:
                raise SystemExit(f"{protocol} write failed: {r.status_code} {r.text}")
        return timed(post, bodies, batch, seconds)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--cpu", action="store_true",
                    help="count the process's CPU time instead of wall-clock time (steadier on "
                         "a busy machine; over HTTP it adds the client's CPU time to the server's)")
    ap.add_argument("--only", default="v1,v2,otlp", help="protocols to measure")
    args = ap.parse_args()
    global CLOCK
    if args.cpu:
        CLOCK = time.process_time
    rows = []
    for protocol in args.only.split(","):
        encode = PROTOCOLS[protocol][0]
        sizes = ((1_000, False), (10_000, False), (10_000, True)) if protocol == "v1" else \
            ((10_000, False), (10_000, True))
        for batch, churn in sizes:
            count = 400 if batch == 1_000 else 30
            # new series: other series for each measurement, or the ones before would not be
            # new to the decoder's caches any more
            runs = []
            for run in range(3 if churn else 1):
                batches = series_batches(batch, count, churn, start=run * count * batch)
                runs.append(([encode(s) for s in batches],
                             [max(t for _, samples in s for t, _ in samples) for s in batches]))
                del batches  # the client's objects: not the server's to carry (nor to collect)
            gc.collect()
            (bodies, _), (store_bodies, _), (http_bodies, newest) = runs * 3 if not churn else runs
            size = sum(map(len, bodies)) / len(bodies)
            row = [protocol, f"{batch:,}{' new' if churn else ''}", size,
                   bench_decode(protocol, batch, bodies, args.seconds),
                   bench_decode_store(protocol, batch, store_bodies, args.seconds)]
            try:
                row.append(bench_http(protocol, batch, http_bodies, args.seconds, newest))
            except Exception as err:  # the app may be unavailable in a partial checkout
                print(f"(HTTP bench skipped: {type(err).__name__}: {err})")
                row.append(float("nan"))
            rows.append(row)
    print("batch: samples per request; 'new': every sample in a series never seen before")
    print(f"{'proto':>5} {'batch':>10} {'body bytes':>11} {'decode/s':>12} {'decode+store/s':>15} "
          f"{'HTTP e2e/s':>12}")
    for protocol, batch, size, dec, store, http in rows:
        print(f"{protocol:>5} {batch:>10} {size:>11,.0f} {dec:>12,.0f} {store:>15,.0f} {http:>12,.0f}")
    print("goals: >= 1,000,000 samples/s decode+store for 1.0 batches of 10,000; "
          ">= 200,000 for all-new series")


if __name__ == "__main__":
    main()
