"""Start-up benchmark: from ``import mockprom`` in a fresh process to the first answer.

    .venv/bin/python bench/bench_startup.py              # 7 fresh processes, median and best
    .venv/bin/python bench/bench_startup.py --runs 15 --scenario default
    .venv/bin/python bench/bench_startup.py --importtime # the 25 slowest imports (-X importtime)

Each run is a new interpreter that does what a test does first::

    from mockprom import MockPrometheus          # "import"
    prom = MockPrometheus(SCENARIO)              # "start": build the app, bind, serve
    GET /api/v1/query?query=up                   # "first answer"
    prom.stop()                                  # "stop"

SCENARIO is ``{"series": [...]}`` with one explicit series (``--scenario bare``, what a
test passing exact data does) or the embedded demo (``--scenario default``, what
``mockprom serve`` serves). Times are wall-clock milliseconds; on a shared machine take
the best of several runs, or the CPU columns. Target: import + start + first answer under 150 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import time
clock = time.CLOCK
t0 = clock()
from mockprom import MockPrometheus
t1 = clock()
import http.client, json, sys
prom = MockPrometheus(SCENARIO)
t2 = clock()
conn = http.client.HTTPConnection("127.0.0.1", prom.port)
conn.request("GET", "/api/v1/query?query=up")
body = conn.getresponse().read()
t3 = clock()
conn.close()
prom.stop()
t4 = clock()
assert json.loads(body)["status"] == "success", body
print(json.dumps({"import": t1 - t0, "start": t2 - t1, "first answer": t3 - t2,
                  "total": t3 - t0, "stop": t4 - t3}))
"""

SCENARIOS = {
    "bare": '{"series": [{"labels": {"__name__": "up", "job": "a"}, "samples": [[0, 1]]}]}',
    "default": "None",
}


def run_once(scenario: str, importtime: bool = False, clock: str = "perf_counter"):
    child = CHILD.replace("SCENARIO", SCENARIOS[scenario]).replace("CLOCK", clock)
    cmd = [sys.executable] + (["-X", "importtime"] if importtime else []) + ["-c", child]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


def slowest_imports(stderr: str, n: int = 25) -> list[tuple[int, str]]:
    rows = []
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            _, cumulative, name = line[len("import time:"):].split("|")
            if cumulative.strip().isdigit():
                rows.append((int(cumulative), name.rstrip()))
    return sorted(rows, reverse=True)[:n]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--scenario", choices=sorted(SCENARIOS), default="bare")
    ap.add_argument("--importtime", action="store_true",
                    help="also list the slowest imports of one run")
    args = ap.parse_args()
    wall = [run_once(args.scenario)[0] for _ in range(args.runs)]
    cpu = [run_once(args.scenario, clock="process_time")[0] for _ in range(args.runs)]
    print(f"{args.runs} fresh processes each, scenario {args.scenario!r}, ms "
          f"(wall: perf_counter; CPU: process_time, all threads, steadier on a busy machine)\n")
    print("| phase | wall best | wall median | CPU best | CPU median |")
    print("| --- | --- | --- | --- | --- |")
    for phase in ("import", "start", "first answer", "total", "stop"):
        w = [r[phase] * 1000 for r in wall]
        c = [r[phase] * 1000 for r in cpu]
        print(f"| {phase} | {min(w):.1f} | {statistics.median(w):.1f} | {min(c):.1f} "
              f"| {statistics.median(c):.1f} |")
    if args.importtime:
        _, stderr = run_once(args.scenario, importtime=True)
        print("\nslowest imports (cumulative us, one run):")
        for us, name in slowest_imports(stderr):
            print(f"{us:>10}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
