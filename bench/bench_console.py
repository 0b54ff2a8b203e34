"""Console page load times on the default scenario, and the README's screenshots.

Starts ``MockPrometheus()`` (the embedded default scenario), opens every console page in
a headless Chromium (Debian's chromium + chromedriver, see ``tests/browser.py``) and
prints, per page, the median over ``--runs`` loads of: navigation start to the load
event, navigation start to the page's first data on screen (``performance.mark`` from
the page), and the bytes transferred. Each load is a fresh navigation with a warm cache
(the second and later loads, as a user moving between pages); ``--cold`` disables the
cache. Target: every page under 300 ms to its data.

    .venv/bin/python bench/bench_console.py [--runs 5] [--cold] [--screenshots docs/images]

With ``--screenshots DIR`` it also saves one PNG per page (1400 px wide) for the README.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.join(REPO, "tests")]  # a checkout works without installing
import browser  # noqa: E402  (tests/browser.py: the headless Chromium helpers)

SHOT_HEIGHT = 1300
GRAPH_EXPR = 'sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))'
TABLE_EXPR = 'sum by (job, code) (rate(http_requests_total[5m]))'

# (name, path, screenshot file); screenshots are cut at SHOT_HEIGHT px
PAGES = [
    ("query: graph", "/query?" + "&".join([
        "g0.expr=" + GRAPH_EXPR.replace(" ", "%20").replace("{", "%7B").replace("}", "%7D")
        .replace('"', "%22").replace("!", "%21").replace("[", "%5B").replace("]", "%5D"),
        "g0.tab=graph", "g0.range_input=3h"]), "console-query-graph.png"),
    ("query: table", "/query?g0.tab=table&g0.expr=" + TABLE_EXPR.replace(" ", "%20")
     .replace("[", "%5B").replace("]", "%5D"), "console-query-table.png"),
    ("requests", "/mockprom/requests", "console-requests.png"),
    ("faults", "/mockprom/faults", "console-faults.png"),
    ("scenario", "/mockprom/scenario", "console-scenario.png"),
    ("alerts", "/alerts", "console-alerts.png"),
    ("rules", "/rules", "console-rules.png"),
    ("targets", "/targets", "console-targets.png"),
    ("runtime & build", "/status", "console-status.png"),
    ("tsdb status", "/tsdb-status", "console-tsdb.png"),
    ("flags", "/flags", None),
    ("config", "/config", None),
    ("clock", "/mockprom/clock", "console-clock.png"),
]


def stage(prom) -> None:
    """Give the journal and faults pages something to show (after the measurements)."""
    import requests

    prom.add_fault({"name": "slow-dashboards", "match": {"endpoint": "query_range"},
                    "latency": "300ms", "probability": 0.5})
    prom.add_fault({"name": "flaky-5xx", "match": {"expr": "http_requests_total"},
                    "error": "unavailable", "times": 2})
    for expr in ("up", "sum(rate(http_requests_total[5m]))", "rate(http_requests_total[5m])",
                 "node_load1", "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"):
        requests.get(prom.url + "/api/v1/query", params={"query": expr}, timeout=10)
    requests.get(prom.url + "/api/v1/series", params={"match[]": "up"}, timeout=10)
    requests.get(prom.url + "/api/v1/labels", timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="disable the browser cache")
    parser.add_argument("--screenshots", metavar="DIR", help="save one PNG per page here")
    args = parser.parse_args()
    why = browser.missing()
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    from mockprom.server import MockPrometheus

    with MockPrometheus() as prom:
        b = browser.Browser(width=1400, height=900)
        try:
            if args.cold:
                b.driver.execute_cdp_cmd("Network.enable", {})
                b.driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
            b.open(prom.url + "/query")  # warm up the browser and the server
            print(f"{'page':<18} {'load ms':>8} {'data ms':>8} {'KB':>7}")
            worst = 0.0
            for name, path, shot in PAGES:
                loads, datas, sizes = [], [], []
                for _ in range(args.runs):
                    b.open(prom.url + path)
                    t = b.timings()
                    loads.append(t["load"])
                    datas.append(t["data"])
                    sizes.append(t["transfer"])
                load, data = statistics.median(loads), statistics.median(datas)
                worst = max(worst, data)
                print(f"{name:<18} {load:>8.0f} {data:>8.0f} {statistics.median(sizes) / 1024:>7.1f}")
            print(f"slowest page to its data: {worst:.0f} ms (target: under 300 ms)")
            if args.screenshots:
                prom.clear_requests()
                stage(prom)
                os.makedirs(args.screenshots, exist_ok=True)
                for name, path, shot in PAGES:
                    if shot:
                        b.open(prom.url + path)
                        time.sleep(0.5)  # let charts settle
                        b.screenshot(os.path.join(args.screenshots, shot), max_height=SHOT_HEIGHT)
                        b.driver.set_window_size(1400, 900)
            errors = b.console_errors()
            if errors:
                print("browser errors:", *errors, sep="\n  ")
        finally:
            b.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
