"""Pushgateway push speed and what a concurrent remote write waits (not a test).

    .venv/bin/python bench/bench_push.py [--lines 10000 100000]

For each size: a PUT of N text-format lines (N new series) to a running
``MockPrometheus``, timed end to end; while the biggest push runs, a one-sample remote
write is sent every 50 ms and its slowest answer is reported. Before the linear push
(issue 8): 10,000 lines 0.45 s, 100,000 lines 113 s, a concurrent remote write waiting
110 s (the push held the ingest lock while it copied the series table once per series).
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
from mockprom.server import MockPrometheus  # noqa: E402

RW_HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}


def push_body(lines: int, tag: str) -> bytes:
    return "".join(f'bench_pushed{{run="{tag}",i="{i}"}} {i}\n'
                   for i in range(lines)).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, nargs="+", default=[10_000, 100_000])
    args = ap.parse_args()
    with MockPrometheus({"series": []}) as prom:
        for n in args.lines:
            body = push_body(n, str(n))
            waits: list[float] = []
            stop = threading.Event()

            def writer():
                while not stop.is_set():
                    now = prom.state.clock.now_ms()
                    data = rw.encode([({"__name__": "bench_rw"}, [(now, 1.0)])])
                    t = time.perf_counter()
                    requests.post(prom.url + "/api/v1/write", data=data, headers=RW_HEADERS)
                    waits.append(time.perf_counter() - t)
                    time.sleep(0.05)

            thread = threading.Thread(target=writer)
            thread.start()
            started = time.perf_counter()
            resp = requests.put(prom.url + f"/metrics/job/bench{n}", data=body, timeout=3600)
            elapsed = time.perf_counter() - started
            stop.set()
            thread.join()
            print(f"push {n:>7} lines: {elapsed:7.2f} s ({resp.status_code}); "
                  f"{len(waits)} concurrent remote writes, slowest {max(waits) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
