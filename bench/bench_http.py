"""HTTP load benchmark: mockprom against a real Prometheus, same data, same load, one run.

    .venv/bin/python bench/bench_http.py                   # wrk -t2 -d15s at 50 and 200 connections
    .venv/bin/python bench/bench_http.py --seconds 5 --connections 50
    .venv/bin/python bench/bench_http.py --gzip            # clients send Accept-Encoding: gzip
    .venv/bin/python bench/bench_http.py --line 2.42       # against Prometheus 2.42 (default 3.5.3)
    .venv/bin/python bench/bench_http.py --no-prometheus   # only mockprom

Data, shaped like the embedded demo scenario: ``up`` for 10 targets (5 jobs x 2
instances) and ``http_requests_total`` of one service (job ``api``: 2 instances x 2
methods x 2 handlers x 3 status codes, 24 counters), every 15 s over 2 h. mockprom serves them as a
scenario from its own process (``mockprom serve``, the production server, default
settings); the same samples are remote-written into a real Prometheus (``tests/realprom.py``).

Load: ``wrk -t2 -cN -dS --latency`` (keep-alive) on
- ``/api/v1/status/buildinfo``: no PromQL, the HTTP layer's own ceiling;
- ``/api/v1/query?query=up&time=END``: an instant query, 10 series out;
- ``/api/v1/query_range?query=sum by (job) (rate(http_requests_total[5m]))`` over the last
  hour at a 15 s step: 24 series in, 1 series x 241 points out.
The two servers take turns for each query and connection count. It prints req/s, p50 and
p99 latency, CPU time per request (from /proc, all threads of the server process) and
timeouts of each, and the ratios mockprom/Prometheus (req/s: higher is better; goal: at
least 1/3 of Prometheus for ``up``, 1/2 for the range query, no timeouts). On a shared
machine req/s swings with the other load (and a Go server, with runnable threads on both
cores, gets a larger share of a contended machine than one Python process); the CPU per
request is the steadier measure of the work each server does.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

import requests

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, "tests")]  # a checkout works without installing

import realprom  # noqa: E402  (tests/realprom.py: the real-Prometheus helpers)

T0 = 1_700_000_000
STEP_S = 15
SAMPLES = 2 * 240 + 1
END = T0 + STEP_S * (SAMPLES - 1)
JOBS, INSTANCES = ("api", "node", "db", "cache", "gateway"), 2
METHODS, HANDLERS, CODES = ("GET", "POST"), ("/api/orders", "/api/users"), ("200", "404", "500")
RANGE_EXPR = "sum by (job) (rate(http_requests_total[5m]))"


def build_data() -> list[dict]:
    times = [T0 + STEP_S * i for i in range(SAMPLES)]
    out = []
    for j, job in enumerate(JOBS):
        for i in range(INSTANCES):
            target = {"job": job, "instance": f"{job}-{i}:9100"}
            out.append({"labels": {"__name__": "up", **target},
                        "samples": [[t, 1 if (k + i) % 97 else 0] for k, t in enumerate(times)]})
    n = 0
    for i in range(INSTANCES):
        for method in METHODS:
            for handler in HANDLERS:
                for c, code in enumerate(CODES):
                    n += 1
                    labels = {"__name__": "http_requests_total", "job": "api",
                              "instance": f"api-{i}:8080", "method": method, "handler": handler,
                              "code": code}
                    rate = (n % 7 + 1) * (3 - c)
                    out.append({"labels": labels,
                                "samples": [[t, float(rate * k)] for k, t in enumerate(times)]})
    return out


LOADS = {
    "buildinfo (no PromQL)": "/api/v1/status/buildinfo",
    "query=up": "/api/v1/query?" + urllib.parse.urlencode({"query": "up", "time": END}),
    "1h sum by (job)(rate)": "/api/v1/query_range?" + urllib.parse.urlencode(
        {"query": RANGE_EXPR, "start": END - 3600, "end": END, "step": STEP_S}),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MockpromProcess:
    """``mockprom serve`` in its own process, serving ``series``."""

    def __init__(self, series: list[dict], extra: list[str], code: str | None = None):
        self.dir = tempfile.mkdtemp(prefix="bench-http-")
        path = os.path.join(self.dir, "scenario.json")
        with open(path, "w") as f:
            json.dump({"name": "bench", "clock": END, "series": series}, f)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        # this checkout's mockprom, or another's (e.g. the code before a change)
        env = dict(os.environ, PYTHONPATH=os.path.abspath(code or REPO))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mockprom", "serve", "--scenario", path, "--port", str(port),
             *extra], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env, cwd=self.dir,
            stderr=open(os.path.join(self.dir, "log"), "w"))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("mockprom did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, connections: int, seconds: int, gzip: bool, pid: int) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "2s", "--latency"]
    if gzip:
        cmd += ["-H", "Accept-Encoding: gzip"]
    cpu = cpu_seconds(pid)
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    cpu = cpu_seconds(pid) - cpu
    done = int(re.search(r"(\d+) requests in", out).group(1))
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
           "cpu_us": cpu / done * 1e6 if done else float("nan"),
           "timeouts": 0, "errors": 0, "non2xx": 0}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}"] = _ms(m.group(1)) if m else float("nan")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] = int(m.group(1)) + int(m.group(2)) + int(m.group(3))
        res["timeouts"] = int(m.group(4))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    return res


def check_same_answers(mock: str, real: str) -> None:
    for name, path in list(LOADS.items())[1:]:
        a = requests.get(mock + path, timeout=30).json()
        b = requests.get(real + path, timeout=30).json()
        if a != b:
            print(f"warning: answers differ for {name}", file=sys.stderr)


def fmt(r: dict | None) -> list[str]:
    if r is None:
        return ["-"] * 5
    bad = r["timeouts"] + r["errors"] + r["non2xx"]
    return [f"{r['rps']:,.0f}", f"{r['p50']:.1f}", f"{r['p99']:.1f}", f"{r['cpu_us']:,.0f}",
            f"{r['timeouts']}" + (f" (+{bad - r['timeouts']} err)" if bad > r["timeouts"] else "")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=int, default=15)
    ap.add_argument("--connections", type=int, nargs="+", default=[50, 200])
    ap.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip")
    ap.add_argument("--line", default="3.5", choices=["2.42", "3.5"],
                    help="the real Prometheus's release line, and the version mockprom "
                         "emulates (default 3.5: 3.5.3)")
    ap.add_argument("--no-prometheus", action="store_true")
    ap.add_argument("--baseline", metavar="CHECKOUT",
                    help="also load a mockprom served from another checkout (e.g. a clone at "
                         "the commit before a change), in the same run: before and after")
    ap.add_argument("--load", action="append", choices=sorted(LOADS),
                    help="run only this load (repeatable; default: all)")
    ap.add_argument("--serve-arg", action="append", default=[],
                    help="extra argument for mockprom serve (repeatable), e.g. --serve-arg=--threads=8")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    data = build_data()
    version = {"2.42": "2.42.0", "3.5": "3.5.3"}[args.line]
    mock = MockpromProcess(data, ["--prometheus-version", version, *args.serve_arg])
    base = MockpromProcess(data, ["--prometheus-version", version], code=args.baseline) \
        if args.baseline else None
    real = None
    try:
        if not args.no_prometheus:
            if realprom.binaries(args.line) is None:
                print(f"no Prometheus {args.line} here; measuring mockprom only", file=sys.stderr)
            else:
                real = realprom.RealPrometheus(data, line=args.line).__enter__()
                check_same_answers(mock.url, real.url)
        rows = []
        for name, path in LOADS.items():
            if args.load and name not in args.load:
                continue
            for c in args.connections:
                b = wrk(base.url + path, c, args.seconds, args.gzip, base.proc.pid) if base else None
                m = wrk(mock.url + path, c, args.seconds, args.gzip, mock.proc.pid)
                p = wrk(real.url + path, c, args.seconds, args.gzip, real.proc.pid) if real else None
                rows.append((name, c, m, p, b))
                print(f"# {name} c={c}: mockprom {m['rps']:.0f} req/s"
                      + (f", Prometheus {p['rps']:.0f} req/s" if p else ""), file=sys.stderr)
    finally:
        mock.stop()
        if base is not None:
            base.stop()
        if real is not None:
            real.__exit__(None, None, None)
    who = f"Prometheus {version}"
    print(f"\nwrk -t2 -d{args.seconds}s{' (gzip)' if args.gzip else ''}; latency in ms; CPU: "
          f"the server process's CPU time per answered request, in us (all threads; steadier "
          f"than req/s on a busy machine); ratios mockprom / Prometheus\n")
    print(f"| load | conns | mockprom req/s | p50 | p99 | CPU | timeouts | {who} req/s | p50 "
          f"| p99 | CPU | timeouts | req/s ratio | CPU ratio |")
    print("| --- " * 14 + "|")
    for name, c, m, p, _ in rows:
        ratio = [f"{m['rps'] / p['rps']:.2f}x", f"{m['cpu_us'] / p['cpu_us']:.1f}x"] if p else ["-", "-"]
        print("| " + " | ".join([name, str(c), *fmt(m), *fmt(p), *ratio]) + " |")
    if base is not None:
        print(f"\nbaseline: mockprom from {args.baseline}, in the same run\n")
        print(f"| load | conns | baseline req/s | p50 | p99 | CPU | timeouts | req/s ratio to "
              f"{who} | mockprom / baseline req/s |")
        print("| --- " * 9 + "|")
        for name, c, m, p, b in rows:
            ratio = f"{b['rps'] / p['rps']:.2f}x" if p else "-"
            print("| " + " | ".join([name, str(c), *fmt(b), ratio,
                                     f"{m['rps'] / b['rps']:.2f}x"]) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
