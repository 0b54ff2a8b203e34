"""Native histograms by remote write 1.0 (the ``histograms`` field of ``TimeSeries``):
float and integer histograms are stored and listed at once, and every answer (accepted,
refused, feature off) is the one a real Prometheus 3.5.3 or 2.42 gives for the same
requests, status and text."""

from __future__ import annotations

import struct
import time

import cramjam
import pytest
import requests

from mockprom.histograms import parse_histogram
from mockprom.server import MockPrometheus
from native_oracle import encode_histogram
from realprom import RealPrometheus, _field, _varint, binaries

NOW_S = int(time.time())  # the real servers' clock runs: the mock's is set to it
NOW = NOW_S * 1000
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}


def _series(name: str, histogram: bytes, samples=()) -> bytes:
    body = _field(1, _field(1, b"__name__") + _field(2, name.encode()))
    for t, v in samples:
        body += _field(2, b"\x09" + struct.pack("<d", v) + b"\x10" + _varint(t))
    if histogram:
        body += _field(4, histogram)
    return _field(1, body)


def float_hist(text: str, t: int) -> bytes:
    return encode_histogram(parse_histogram(text)[0], t)


def int_hist(count: int, deltas: list, t: int, sum_: float = 1.0) -> bytes:
    """An integer histogram: schema 0, one positive span, bucket deltas."""
    zz = lambda n: (n << 1) ^ (n >> 63)
    body = b"\x08" + _varint(count) + b"\x19" + struct.pack("<d", sum_)
    body += _field(11, b"\x10" + _varint(len(deltas)))
    body += _field(12, b"".join(_varint(zz(d)) for d in deltas))
    return body + b"\x78" + _varint(t)


REQUESTS = [  # (name, body): sent in this order to each server
    ("float", _series("h", float_hist("{{count:2 sum:1 buckets:[2]}}", NOW))),
    ("integer", _series("hi", int_hist(3, [1, 1], NOW))),
    ("integer count too low", _series("hi2", int_hist(2, [1, 1], NOW))),
    ("same again", _series("h", float_hist("{{count:2 sum:1 buckets:[2]}}", NOW))),
    ("duplicate", _series("h", float_hist("{{count:3 sum:1 buckets:[3]}}", NOW))),
    ("out of order", _series("h", float_hist("{{count:2 sum:1 buckets:[2]}}", NOW - 1000))),
    ("negative bucket", _series("h2", float_hist("{{count:2 sum:1 buckets:[-1 3]}}", NOW + 1000))),
    ("float count too low", _series("h3", float_hist("{{count:1 sum:1 buckets:[2]}}", NOW + 1000))),
    ("out of bounds", _series("h4", float_hist("{{count:2 buckets:[2]}}", NOW - 3 * 3_600_000))),
    ("too far ahead", _series("h5", float_hist("{{count:2 buckets:[2]}}", NOW + 3_600_000))),
    ("custom buckets", _series("h6", float_hist(
        "{{schema:-53 count:2 sum:1 custom_values:[1 2] buckets:[1 1]}}", NOW + 2000))),
    ("floats then a histogram", _series("mixed", float_hist("{{count:1 buckets:[1]}}", NOW + 3000),
                                        [(NOW + 1000, 4.0), (NOW + 2000, 5.0)])),
]

SETUPS = {  # name: (line, native-histograms on)
    "3.5 native": ("3.5", True), "3.5 off": ("3.5", False),
    "2.42 native": ("2.42", True), "2.42 off": ("2.42", False),
}


def send_all(url: str) -> list[tuple[str, int, str]]:
    out = []
    for name, body in REQUESTS:
        r = requests.post(url + "/api/v1/write", data=bytes(cramjam.snappy.compress_raw(body)),
                          headers=HEADERS, timeout=30)
        out.append((name, r.status_code, r.text.strip()))
    return out


def stored(url: str) -> set[str]:
    r = requests.get(url + "/api/v1/series", params={"match[]": '{__name__=~".+"}',
                                                     "start": NOW_S - 60, "end": NOW_S + 60})
    return {s["__name__"] for s in r.json()["data"]}


def mock_for(line: str, native: bool) -> MockPrometheus:
    server = {"version": "3.5.3" if line == "3.5" else "2.42.0",
              "features": ["native-histograms"] if native else []}
    return MockPrometheus({"clock": f"{NOW_S}", "server": server, "series": []})


@pytest.mark.parametrize("setup", sorted(SETUPS))
def test_remote_written_histograms_answer_as_the_real_server(setup):
    line, native = SETUPS[setup]
    if binaries(line) is None:
        pytest.skip(f"Prometheus {line} not installed")
    args = ["--enable-feature=native-histograms"] if native else []
    with RealPrometheus([], loader="none", line=line, extra_args=args) as real:
        want = send_all(real.url)
        want_stored = stored(real.url)
    with mock_for(line, native) as mock:
        got = send_all(mock.url)
        got_stored = stored(mock.url)
    assert got == want
    assert got_stored == want_stored


def test_written_histograms_are_stored_as_sent():
    with mock_for("3.5", True) as mock:
        answers = send_all(mock.url)
        assert [a for a in answers if a[0] == "integer"][0][1] == 204
        store = mock.state.store
        from mockprom.scenario.labels import Matcher
        sd = store.select([Matcher.of("__name__", "=", "hi")], NOW - 1, NOW + 1,
                          histograms=True)[0]
        h = sd.hists[0]
        assert (h.count, h.sum, h.positive_spans, h.positive_buckets) == (3, 1, [[0, 2]], [1, 2])
        mixed = store.select([Matcher.of("__name__", "=", "mixed")], 0, NOW + 5000,
                             histograms=True)[0]
        assert mixed.ts.tolist() == [NOW + 1000, NOW + 2000, NOW + 3000]
        assert mixed.hists[2].count == 1 and mixed.vals[1] == 5.0
