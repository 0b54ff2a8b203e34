"""Run a real Prometheus (2.42 or 3.5.3) holding exact data, to compare mockprom against it.

Two releases are compared with (``RELEASES``): 2.42, the Debian 12 package on PATH
(``apt-get install prometheus``), and 3.5.3, the Debian unstable build that
``../shared/tools/get-prometheus-3`` puts in ``~/.cache/mockprom/prometheus-3/bin``
(or in ``$MOCKPROM_PROM3_BIN``, a directory holding ``prometheus`` and ``promtool``).
The ``release`` fixture runs a test against each; mockprom is then pinned to the same
version (``release.version``).

Data is given in mockprom's bare scenario shape: a list of
``{"labels": {...}, "samples": [[t_seconds, value], ...]}`` where a value is a number,
``"NaN"``, ``"+Inf"``, ``"-Inf"`` or ``"stale"``. The same list, wrapped as
``{"series": [...]}``, is a valid mockprom scenario, so both servers hold the same data.

Two ways to load it:

- ``remote_write(url, series)`` (the default of ``RealPrometheus``): snappy-compressed
  protobuf ``WriteRequest`` into an empty TSDB started with
  ``--web.enable-remote-write-receiver``. Carries staleness markers exactly. Samples are
  sent in global time order, in batches spanning less than an hour, because the TSDB head
  refuses samples older than ``head max time - 1h``.
- ``backfill(series, dir)``: OpenMetrics text (``# TYPE``, seconds timestamps, ``# EOF``)
  turned into blocks by ``promtool tsdb create-blocks-from openmetrics``. OpenMetrics has
  no staleness marker, so ``"stale"`` samples cannot be backfilled (``ValueError``); NaN
  and ±Inf can.

Retention: time-based retention deletes blocks older than the *newest block* minus the
retention, not wall-clock time, and ``--storage.tsdb.retention.time=100y`` keeps every
block of old data anyway. ``RealPrometheus`` checks on start that every series is queryable.

The protobuf encoding is written out here rather than taken from ``mockprom.ingest``, so
that the oracle does not share code with what it checks (the real Prometheus accepts it).
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import cramjam
import pytest
import requests

from mockprom.scenario.samples import STALE_BITS, parse_value

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
MISSING_REASON = "prometheus/promtool not installed: apt-get install prometheus"
PROM3_DIR = os.path.join(os.path.expanduser("~"), ".cache", "mockprom", "prometheus-3", "bin")
GET_PROM3 = "../shared/tools/get-prometheus-3"

# Prometheus's defaults (scrape and evaluation interval 1m). The evaluation interval is
# also the default step of subqueries such as ``x[20m:]``: pass ``config`` to match it.
MINIMAL_CONFIG = "global: {}\n"


def _find(program: str, default: str) -> str | None:
    if os.access(default, os.X_OK):
        return default
    return shutil.which(program)


def _prom3_dir() -> str:
    """Where the 3.5.3 binaries are looked for: ``$MOCKPROM_PROM3_BIN``, else
    ``$MOCKPROM_PROM3_DIR/bin`` (get-prometheus-3's own variable), else its default."""
    if os.environ.get("MOCKPROM_PROM3_BIN"):
        return os.environ["MOCKPROM_PROM3_BIN"]
    if os.environ.get("MOCKPROM_PROM3_DIR"):
        return os.path.join(os.environ["MOCKPROM_PROM3_DIR"], "bin")
    return PROM3_DIR


def _binaries_2_42() -> tuple[str, str] | None:
    prom, tool = _find("prometheus", PROMETHEUS), _find("promtool", PROMTOOL)
    return (prom, tool) if prom and tool else None


_VERSION_CACHE: dict[str, str] = {}


def _reported_version(prometheus: str) -> str:
    """``prometheus --version``'s first line (cached per path)."""
    if prometheus not in _VERSION_CACHE:
        try:
            out = subprocess.run([prometheus, "--version"], capture_output=True, text=True,
                                 timeout=30)
            _VERSION_CACHE[prometheus] = (out.stdout or out.stderr).splitlines()[0]
        except (OSError, IndexError, subprocess.SubprocessError):
            _VERSION_CACHE[prometheus] = ""
    return _VERSION_CACHE[prometheus]


def _binaries_3_5() -> tuple[str, str] | None:
    d = _prom3_dir()
    prom, tool = os.path.join(d, "prometheus"), os.path.join(d, "promtool")
    if not (os.access(prom, os.X_OK) and os.access(tool, os.X_OK)):
        return None
    return (prom, tool) if "version 3.5." in _reported_version(prom) else None


@dataclass(frozen=True)
class Release:
    """A real Prometheus release line to compare with, and the mockprom version that
    emulates it."""

    line: str  # "3.5"
    version: str  # what mockprom is pinned to: "3.5.3"
    find: Callable[[], "tuple[str, str] | None"] = field(repr=False)
    missing: str = field(repr=False)

    def binaries(self) -> tuple[str, str] | None:
        return self.find()


RELEASES = {
    "2.42": Release("2.42", "2.42.0", _binaries_2_42, MISSING_REASON),
    "3.5": Release("3.5", "3.5.3", _binaries_3_5,
                   "Prometheus 3.5.3 not found in $MOCKPROM_PROM3_BIN or " + PROM3_DIR
                   + ": run " + GET_PROM3),
}


def binaries(line: str = "2.42") -> tuple[str, str] | None:
    """Paths of ``prometheus`` and ``promtool`` of release ``line``, or None when either
    is missing."""
    return RELEASES[line].binaries()


def require_binaries(line: str = "2.42") -> tuple[str, str]:
    """The binaries; skips the calling test when missing, or fails it under ``CI``."""
    found = binaries(line)
    if found is None:
        reason = RELEASES[line].missing
        if os.environ.get("CI"):
            pytest.fail(reason + " (CI is set: a missing Prometheus is a failure)")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="session")
def prometheus_binaries() -> tuple[str, str]:
    """Session fixture: the 2.42 (prometheus, promtool) paths. Skips the tests that use it
    when they are missing, and fails them when the ``CI`` variable is set."""
    return require_binaries()


@pytest.fixture(scope="module", params=sorted(RELEASES), ids=lambda line: line)
def release(request) -> Release:
    """Module fixture: each real release in turn (2.42, then 3.5); skips (fails under
    ``CI``) when its binaries are missing. Start ``RealPrometheus(..., line=release.line)``
    and pin mockprom with ``MockPrometheus(..., version=release.version)``."""
    require_binaries(request.param)
    return RELEASES[request.param]


# -- sample values --------------------------------------------------------------------

def to_ms(t: float) -> int:
    """Seconds (possibly fractional) to integer milliseconds, as Prometheus rounds them."""
    return int(round(float(t) * 1000))


def value_bits(v) -> int:
    """The float64 bit pattern of a scenario sample value ("stale" -> staleness NaN)."""
    if isinstance(v, str) and v.strip().lower() == "stale":
        return STALE_BITS
    return struct.unpack("<Q", struct.pack("<d", parse_value(v)))[0]


# -- rule files -------------------------------------------------------------------------------

def rule_groups(scenario) -> list[dict]:
    """A scenario's rule groups as a Prometheus rule file holds them (``{"groups": ...}``
    for ``promtool check rules`` / ``test rules`` or a real server's ``rule_files``)."""
    groups = [g.model_dump(mode="json", exclude_none=True, exclude={"file"}, by_alias=True)
              for g in scenario.rules]
    for g in groups:
        if not g.get("limit"):
            g.pop("limit", None)
        for r in g["rules"]:
            for key in ("labels", "annotations"):
                if not r.get(key):
                    r.pop(key, None)
    return groups


# -- remote write ------------------------------------------------------------------------

def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _timeseries(labels: Sequence[tuple[str, str]], samples: Iterable[tuple[int, int]]) -> bytes:
    body = b"".join(
        _field(1, _field(1, k.encode()) + _field(2, v.encode())) for k, v in labels)
    for t_ms, bits in samples:
        sample = b"\x09" + struct.pack("<Q", bits) + b"\x10" + _varint(t_ms)
        body += _field(2, sample)
    return body


def encode_write_request(batch: Sequence[tuple[Sequence[tuple[str, str]], list]]) -> bytes:
    """A snappy-compressed remote-write 1.0 ``WriteRequest`` (hand-encoded protobuf).
    ``batch`` holds ``(sorted label pairs, [(t_ms, value_bits), ...])``."""
    raw = b"".join(_field(1, _timeseries(l, s)) for l, s in batch)
    return bytes(cramjam.snappy.compress_raw(raw))


def remote_write(url: str, series: Sequence[dict], window_ms: int = 30 * 60_000,
                 path: str = "/api/v1/write") -> int:
    """Write every sample of ``series`` to ``url`` in time order; returns the sample count."""
    labelsets = [tuple(sorted(s["labels"].items())) for s in series]
    flat = []
    for i, s in enumerate(series):
        for t, v in s["samples"]:
            flat.append((to_ms(t), i, value_bits(v)))
    flat.sort()
    send_in_windows(url, flat, lambda per_series: encode_write_request(
        [(labelsets[i], s) for i, s in per_series.items()]), window_ms, path)
    return len(flat)


def send_in_windows(url: str, flat: list, encode, window_ms: int = 30 * 60_000,
                    path: str = "/api/v1/write", max_samples: int = 50_000) -> None:
    """POST ``flat`` (``(t_ms, series index, value)``, sorted by time) in requests spanning
    less than ``window_ms`` each (the head refuses samples older than its newest minus
    1 h); ``encode({series index: [(t_ms, value), ...]})`` makes a request body."""
    session = requests.Session()
    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
    start = 0
    while start < len(flat):
        end = start
        t0 = flat[start][0]
        while end < len(flat) and flat[end][0] < t0 + window_ms and end - start < max_samples:
            end += 1
        per_series: dict[int, list] = {}
        for t_ms, i, v in flat[start:end]:
            per_series.setdefault(i, []).append((t_ms, v))
        r = session.post(url + path, data=encode(per_series), headers=headers, timeout=30)
        if r.status_code // 100 != 2:
            raise RuntimeError(f"remote write refused: {r.status_code} {r.text.strip()}")
        start = end


# -- OpenMetrics backfill ------------------------------------------------------------------

def _om_value(v) -> str:
    bits = value_bits(v)
    if bits == STALE_BITS:
        raise ValueError("OpenMetrics cannot carry staleness markers; use remote_write")
    f = struct.unpack("<d", struct.pack("<Q", bits))[0]
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    return repr(f)


def _om_escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def openmetrics_text(series: Sequence[dict]) -> str:
    """The series as OpenMetrics text: one ``# TYPE <name> unknown`` family per metric name,
    its samples with timestamps in seconds, ``# EOF`` at the end."""
    families: dict[str, list[dict]] = {}
    for s in series:
        families.setdefault(s["labels"]["__name__"], []).append(s)
    lines = []
    for name, members in families.items():
        lines.append(f"# TYPE {name} unknown")
        for s in members:
            rest = ",".join(f'{k}="{_om_escape(v)}"' for k, v in sorted(s["labels"].items())
                            if k != "__name__")
            head = f"{name}{{{rest}}}" if rest else name
            for t, v in s["samples"]:
                lines.append(f"{head} {_om_value(v)} {to_ms(t) / 1000:.3f}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def backfill(series: Sequence[dict], tsdb_dir: str, promtool: str = PROMTOOL) -> None:
    """Create TSDB blocks holding ``series`` in ``tsdb_dir`` with promtool."""
    os.makedirs(tsdb_dir, exist_ok=True)
    path = os.path.join(tsdb_dir, "..", "backfill.om")
    with open(path, "w") as f:
        f.write(openmetrics_text(series))
    proc = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", path, tsdb_dir],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {proc.stderr.strip() or proc.stdout.strip()}")


# -- the server ------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RealPrometheus:
    """A real Prometheus on 127.0.0.1 with its own temporary TSDB; a context manager.

    ``RealPrometheus(series)`` remote-writes ``series`` after start;
    ``RealPrometheus(series, loader="backfill")`` backfills blocks before start.
    ``config`` is the configuration file's YAML text (only ``global`` matters here).
    ``line`` picks the release (``"2.42"`` or ``"3.5"``, see ``RELEASES``).
    """

    def __init__(self, series: Sequence[dict] = (), loader: str = "remote_write",
                 extra_args: Sequence[str] = (), config: str = MINIMAL_CONFIG,
                 line: str = "2.42"):
        found = binaries(line)
        if found is None:
            raise RuntimeError(RELEASES[line].missing)
        self.line = line
        self.prometheus, self.promtool = found
        self.series = list(series)
        self.loader = loader
        self.extra_args = list(extra_args)
        self.config = config
        self.workdir = tempfile.mkdtemp(prefix="realprom-")
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self) -> "RealPrometheus":
        try:
            self.start()
            if self.loader == "remote_write" and self.series:
                remote_write(self.url, self.series)
            self.check_loaded()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        data = os.path.join(self.workdir, "data")
        if self.loader == "backfill" and self.series:
            backfill(self.series, data, self.promtool)
        config = os.path.join(self.workdir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(self.config)
        for _attempt in range(3):
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            log = open(os.path.join(self.workdir, "prometheus.log"), "w")
            self.proc = subprocess.Popen(
                [self.prometheus, f"--config.file={config}", f"--storage.tsdb.path={data}",
                 f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
                 "--web.enable-remote-write-receiver", "--web.enable-admin-api",
                 "--log.level=warn", *self.extra_args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            if self._wait_ready(30):
                return
            self._kill()
        raise RuntimeError(f"prometheus did not become ready: {self.log_tail()}")

    def _wait_ready(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if requests.get(self.url + "/-/ready", timeout=1).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def check_loaded(self) -> None:
        """Every series of the data set is known to the server, in its time range."""
        if not self.series:
            return
        times = [to_ms(t) for s in self.series for t, _ in s["samples"]]
        r = requests.get(self.url + "/api/v1/series",
                         params={"match[]": '{__name__=~".+"}', "start": min(times) / 1000,
                                 "end": max(times) / 1000}, timeout=30)
        r.raise_for_status()
        got = {tuple(sorted(d.items())) for d in r.json()["data"]}
        want = {tuple(sorted(s["labels"].items())) for s in self.series if s["samples"]}
        missing = want - got
        if missing:
            raise RuntimeError(f"{len(missing)} series not queryable after loading, "
                               f"e.g. {sorted(missing)[0]}")

    def log_tail(self, n: int = 20) -> str:
        try:
            with open(os.path.join(self.workdir, "prometheus.log")) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


# -- comparing two answers --------------------------------------------------------------------

def get(url: str, path: str, params, method: str = "GET") -> tuple[int, dict | None, str]:
    """Send one API request; returns (HTTP status, parsed JSON body or None, raw text)."""
    if method == "POST":
        r = requests.post(url + path, data=params, timeout=60)
    else:
        r = requests.get(url + path, params=params, timeout=60)
    try:
        body = r.json()
    except ValueError:
        body = None
    return r.status_code, body, r.text


def _num(s) -> float:
    return float(s)  # Python parses "NaN", "+Inf", "-Inf" like Go prints them


def values_close(a, b, rel: float = 1e-6) -> bool:
    """Two sample values (API strings): NaN equals NaN, ±Inf exactly, else relative 1e-6."""
    x, y = _num(a), _num(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return x == y or abs(x - y) <= rel * max(abs(x), abs(y))


def _ts(t) -> int:
    return to_ms(t)


def _key(metric: dict) -> tuple:
    return tuple(sorted(metric.items()))


def _show(metric: dict) -> str:
    name = metric.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}"


def histograms_close(a: dict, b: dict) -> bool:
    """Two native histograms as the query API writes them: count and sum, and the same
    buckets (boundary rule, bounds, count) within 1e-6."""
    if not isinstance(a, dict) or not isinstance(b, dict) or set(a) != set(b):
        return False
    if not values_close(a["count"], b["count"]) or not values_close(a["sum"], b["sum"]):
        return False
    wb, gb = a.get("buckets", []), b.get("buckets", [])
    return len(wb) == len(gb) and all(
        len(x) == 4 and len(y) == 4 and x[0] == y[0]
        and all(values_close(p, q) for p, q in zip(x[1:], y[1:])) for x, y in zip(wb, gb))


def _compare_point(where: str, want, got, diffs: list, exact_text: bool) -> None:
    if _ts(want[0]) != _ts(got[0]):
        diffs.append(f"{where}: timestamp {want[0]} != {got[0]}")
    elif isinstance(want[1], dict) or isinstance(got[1], dict):
        if not histograms_close(want[1], got[1]):
            diffs.append(f"{where} @{want[0]}: histogram {want[1]} != {got[1]}")
        elif exact_text and want[1] != got[1]:
            diffs.append(f"{where} @{want[0]}: same histogram printed {want[1]} != {got[1]}")
    elif not values_close(want[1], got[1]):
        diffs.append(f"{where} @{want[0]}: value {want[1]} != {got[1]}")
    elif exact_text and _num(want[1]) == _num(got[1]) and want[1] != got[1]:
        diffs.append(f"{where} @{want[0]}: same value printed {want[1]!r} != {got[1]!r}")


def compare_result(want: dict, got: dict, ordered: bool = False,
                   exact_text: bool = False) -> list[str]:
    """Differences between two ``data`` objects of query / query_range answers."""
    diffs: list[str] = []
    if want.get("resultType") != got.get("resultType"):
        return [f"resultType {want.get('resultType')} != {got.get('resultType')}"]
    rtype = want["resultType"]
    if rtype in ("scalar", "string"):
        if rtype == "string":
            if want["result"] != got["result"]:
                diffs.append(f"string {want['result']} != {got['result']}")
        else:
            _compare_point("scalar", want["result"], got["result"], diffs, exact_text)
        return diffs
    wl, gl = want["result"], got["result"]
    wmap = {_key(s["metric"]): s for s in wl}
    gmap = {_key(s["metric"]): s for s in gl}
    if len(gmap) != len(gl):
        diffs.append("mockprom answered the same label set twice")
    for k in wmap.keys() - gmap.keys():
        diffs.append(f"missing series {_show(dict(k))}")
    for k in gmap.keys() - wmap.keys():
        diffs.append(f"extra series {_show(dict(k))}")
    for k in wmap.keys() & gmap.keys():
        where = _show(dict(k))
        if rtype == "vector":
            kinds = [f for f in ("value", "histogram") if f in wmap[k]]
            if kinds != [f for f in ("value", "histogram") if f in gmap[k]]:
                diffs.append(f"{where}: {kinds} != {sorted(set(gmap[k]) - {'metric'})}")
                continue
            _compare_point(where, wmap[k][kinds[0]], gmap[k][kinds[0]], diffs, exact_text)
            continue
        for field in ("values", "histograms"):
            wp, gp = wmap[k].get(field, []), gmap[k].get(field, [])
            if [_ts(p[0]) for p in wp] != [_ts(p[0]) for p in gp]:
                diffs.append(f"{where}: {field} timestamps differ: {len(wp)} points "
                             f"{[p[0] for p in wp][:6]}... != {len(gp)} points "
                             f"{[p[0] for p in gp][:6]}...")
                continue
            for a, b in zip(wp, gp):
                _compare_point(where, a, b, diffs, exact_text)
    if ordered and not diffs and [_key(s["metric"]) for s in wl] != [_key(s["metric"]) for s in gl]:
        diffs.append("series order differs")
    return diffs


def answer_kind(path: str) -> str:
    """How to compare the data of an API path: ``query``, ``series`` or ``list``."""
    if path.startswith("/api/v1/query"):
        return "query"
    return "series" if path.endswith("/series") else "list"


def compare_answers(want_status: int, want: dict | None, got_status: int, got: dict | None,
                    kind: str = "query", ordered: bool = False, strict: bool = False) -> list[str]:
    """Differences between two whole API answers.

    Always: HTTP status, ``status``, ``errorType``, and the data (``kind`` is ``query`` for
    query/query_range, ``series``, or ``list`` for labels and label values). ``strict`` also
    compares the error text, warnings, infos, and that equal values are printed the same way.
    """
    if got is None:
        return [f"mockprom's answer is not JSON (HTTP {got_status})"]
    diffs = []
    if want_status != got_status:
        diffs.append(f"HTTP status {want_status} != {got_status}")
    for f in ("status", "errorType") + (("error", "warnings", "infos") if strict else ()):
        w, g = want.get(f), got.get(f)
        if f in ("warnings", "infos") and isinstance(w, list) and isinstance(g, list):
            # 3.x lists its annotations in Go map order (util/annotations.AsStrings ranges
            # over a map): random from one answer to the next, so compared as a multiset
            w, g = sorted(w), sorted(g)
        if w != g:
            diffs.append(f"{f} {want.get(f)!r} != {got.get(f)!r}")
    if diffs or want.get("status") != "success":
        return diffs
    wd, gd = want.get("data"), got.get("data")
    if kind == "query" and not isinstance(gd, dict):
        return [f"data is not an object: {gd!r}"[:200]]
    if kind == "query":
        diffs += compare_result(wd, gd, ordered=ordered, exact_text=strict)
    elif kind == "series":
        if not isinstance(gd, list):
            return [f"data is not a list: {gd!r}"[:200]]
        ws, gs = {_key(m) for m in wd}, {_key(m) for m in gd}
        diffs += [f"missing series {_show(dict(k))}" for k in sorted(ws - gs)]
        diffs += [f"extra series {_show(dict(k))}" for k in sorted(gs - ws)]
        if len(gs) != len(gd):
            diffs.append("mockprom answered the same series twice")
    else:
        if wd != gd:
            diffs.append(f"data {wd} != {gd}")
    return diffs
