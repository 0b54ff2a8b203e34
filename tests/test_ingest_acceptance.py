"""Remote-write acceptance as the emulated version: the same request bodies, sent in the
same order to a real Prometheus (2.42 and 3.5.3) and to mockprom pinned to that version,
get the same status code, body and ``X-Prometheus-Remote-Write-*`` headers, and leave the
same data behind (compared through ``/federate``).

Times are relative to ``now`` (one minute before the wall clock): the real servers start
empty and their head begins at the first sample written (``now``); mockprom's clock is
fixed at ``now``, so its head (see ``mockprom.ingest.acceptance``) starts there too.
"""

from __future__ import annotations

import math
import time

import cramjam
import pytest
import requests

import realprom
from mockprom.ingest import remote_write as rw
from mockprom.ingest import remote_write_v2 as rw2
from mockprom.ingest.prompb import V2
from mockprom.scenario.samples import STALE_NAN
from test_ingest_support import Served, StandInState

V1 = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
      "X-Prometheus-Remote-Write-Version": "0.1.0"}
V2_HEADERS = {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
              "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "2.0.0"}
MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000


def N(name, **labels):
    return {"__name__": name, **labels}


def v1_steps(now: int) -> list:
    """``(what, body, headers)`` in the order sent."""
    def w(*series):
        return rw.encode(list(series))

    return [
        ("accepted", w((N("a", job="x"), [(now, 1), (now + 1000, 2)])), V1),
        ("out of order", w((N("a", job="x"), [(now - 5000, 0)])), V1),
        ("duplicate", w((N("a", job="x"), [(now + 1000, 3)])), V1),
        ("same sample again", w((N("a", job="x"), [(now + 1000, 2)])), V1),
        ("newer, then older than stored", w((N("a", job="x"), [(now + 2000, 1), (now + 500, 1)])), V1),
        ("not newer within the request", w((N("b"), [(now + 3000, 5), (now + 2000, 4)])), V1),
        ("duplicate within the request", w((N("b2"), [(now + 3000, 5), (now + 3000, 4)])), V1),
        ("out of bounds 3h", w((N("c"), [(now - 3 * HOUR, 1)])), V1),
        ("out of bounds 3h, stored series", w((N("a", job="x"), [(now - 3 * HOUR, 1)])), V1),
        ("out of bounds 30d", w((N("c"), [(now - 30 * DAY, 1)])), V1),
        ("50m old", w((N("d"), [(now - 50 * MIN, 1)])), V1),
        ("70m old", w((N("d2"), [(now - 70 * MIN, 1)])), V1),
        ("5m ahead", w((N("e"), [(now + 5 * MIN, 1)])), V1),
        ("20m ahead", w((N("e2"), [(now + 20 * MIN, 1)])), V1),
        ("bad name", w((N("bad-name"), [(now, 1)])), V1),
        ("empty name", w(({"job": "noname"}, [(now, 1)])), V1),
        ("empty name value", w(({"__name__": "", "job": "emptyname"}, [(now, 1)])), V1),
        ("bad label name", w((N("f", **{"bad-label": "x"}), [(now, 1)])), V1),
        ("utf-8 names", w((N("caf\u00e9.metric", **{"l\u00e9.bel": "x"}), [(now, 1)])), V1),
        ("label name twice", w(([("__name__", "h"), ("a", "1"), ("a", "2")], [(now, 1)])), V1),
        ("no label at all", w(([], [(now, 1)])), V1),
        ("rolled back", w((N("i"), [(now, 1)]), (N("a", job="x"), [(now - 9000, 1)])), V1),
        ("bad name first", w((N("bad-name2"), [(now, 1)]), (N("j"), [(now, 1)])), V1),
        ("out of bounds after accepted", w((N("k"), [(now, 1)]), (N("c"), [(now - 3 * HOUR, 1)])), V1),
        ("no samples", w((N("l"), [])), V1),
        ("empty request", w(), V1),
        ("duplicate NaN", w((N("n"), [(now, math.nan)])), V1),
        ("duplicate NaN, other value", w((N("n"), [(now, 1.5)])), V1),
        ("stale marker", w((N("s"), [(now, STALE_NAN)])), V1),
        ("stale marker, then NaN", w((N("s"), [(now, math.nan)])), V1),
        ("duplicate, printed values", w((N("big"), [(now, 1e21)]), (N("big"), [(now, 0.1)])), V1),
        ("Content-Type json", w((N("ctj"), [(now, 1)])), {**V1, "Content-Type": "application/json"}),
        ("no Content-Type", w((N("ctn"), [(now, 1)])), {"Content-Encoding": "snappy"}),
        ("proto=prometheus.WriteRequest", w((N("ctv1"), [(now, 1)])),
         {**V1, "Content-Type": "application/x-protobuf;proto=prometheus.WriteRequest"}),
        ("unknown proto", w((N("ctv3"), [(now, 1)])),
         {**V1, "Content-Type": "application/x-protobuf;proto=io.prometheus.write.v3.Request"}),
        ("bad parameter", w((N("ctbp"), [(now, 1)])), {**V1, "Content-Type": "application/x-protobuf;foo"}),
        ("gzip encoding", w((N("gz"), [(now, 1)])), {**V1, "Content-Encoding": "gzip"}),
        ("gzip encoding, not snappy", b"\x1f\x8b not snappy", {**V1, "Content-Encoding": "gzip"}),
        ("no encoding", w((N("encnone"), [(now, 1)])), {"Content-Type": "application/x-protobuf"}),
        ("empty body", b"", V1),
        ("not snappy", b"certainly not snappy", V1),
    ]


def _histogram(t: int):
    h = V2.Histogram(count_int=3, sum=1.5, schema=0, zero_threshold=1e-128, zero_count_int=1,
                     timestamp=t)
    h.positive_spans.add(offset=0, length=2)
    h.positive_deltas.extend([1, 0])
    return h


def v2_steps(now: int) -> list:
    def w(*series, symbols=None):
        return rw2.encode(list(series))

    def raw_symbols(first: str, series) -> bytes:
        req = V2.Request()
        req.ParseFromString(rw2.encode(series, compress=False))
        req.symbols[0] = first  # a table that does not start with ""
        return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))

    return [
        ("2.0 accepted", w((N("v2a", job="x"), [(now, 1), (now + 1000, 2)],
                            {"metadata": ("counter", "help a", "seconds"),
                             "exemplars": [({"trace_id": "abc"}, 1.0, now)]})), V2_HEADERS),
        ("2.0 created timestamp", w((N("v2ct_total"), [(now, 5)], {"created_ms": now - 10_000})), V2_HEADERS),
        ("2.0 partial: accepted and out of order", w((N("v2p"), [(now, 1)]),
                                                     (N("v2a", job="x"), [(now - 5000, 1)])), V2_HEADERS),
        ("2.0 three errors", w((N("v2a", job="x"), [(now - 5000, 1), (now + 1000, 7)]),
                               (N("v2p"), [(now - 9000, 1)])), V2_HEADERS),
        ("2.0 out of bounds and ahead", w((N("v2q"), [(now - 3 * HOUR, 1), (now + 20 * MIN, 1), (now, 3)])),
         V2_HEADERS),
        ("2.0 no metric name", w(({"job": "x"}, [(now, 1)]), (N("v2r"), [(now, 1)])), V2_HEADERS),
        ("2.0 label name twice", w(([("__name__", "v2s"), ("a", "1"), ("a", "2")], [(now, 1)])), V2_HEADERS),
        ("2.0 unsorted labels", w(([("z", "1"), ("__name__", "v2u")], [(now, 1)])), V2_HEADERS),
        ("2.0 empty label value", w(([("__name__", "v2ev"), ("e", "")], [(now, 1)])), V2_HEADERS),
        ("2.0 utf-8 name", w((N("v2.caf\u00e9"), [(now, 1)])), V2_HEADERS),
        ("2.0 native histogram", w((N("v2hist"), [], {"histograms": [_histogram(now)]})), V2_HEADERS),
        ("2.0 samples and a histogram", w((N("v2hist2"), [(now, 1)], {"histograms": [_histogram(now)]})),
         V2_HEADERS),
        ("2.0 metadata only", w((N("v2nos"), [], {"metadata": ("gauge", "gauge help", "")})), V2_HEADERS),
        ("2.0 empty request", w(), V2_HEADERS),
        ("2.0 symbols not starting empty", raw_symbols("x", [(N("v2nse"), [(now, 1)])]), V2_HEADERS),
    ]


def _answer(r) -> tuple:
    written = {k: v for k, v in r.headers.items() if k.startswith("X-Prometheus-Remote-Write")}
    return r.status_code, r.text, written


def _real_data(url: str, at_ms: int) -> dict:
    """Every sample the real server holds: ``{labels: [(t_ms, value text), ...]}``."""
    out = {}
    for sel in ('{__name__=~".+"}[40d]', '{__name__="", job=~".+"}[40d]'):
        r = requests.get(url + "/api/v1/query", params={"query": sel, "time": at_ms / 1000})
        for s in r.json()["data"]["result"]:
            out[tuple(sorted(s["metric"].items()))] = [(realprom.to_ms(t), v) for t, v in s["values"]]
    return out


def _mock_data(state) -> dict:
    from mockprom.api.format import sample_value
    from mockprom.scenario.samples import stale_mask

    out = {}
    for sd in state.store.select([], -2**62, 2**62):
        keep = ~stale_mask(sd.vals)  # a range query does not show staleness markers
        if keep.any():
            out[sd.labels] = [(int(t), sample_value(v)) for t, v in zip(sd.ts[keep], sd.vals[keep])]
    return out


@pytest.mark.realprom
@pytest.mark.parametrize("line, version", [("2.42", "2.42.0"), ("3.5", "3.5.3")])
def test_the_same_requests_get_the_same_answers_and_leave_the_same_data(line, version):
    realprom.require_binaries(line)
    now = int(time.time() * 1000) - MIN
    steps = v1_steps(now) + (v2_steps(now) if line == "3.5" else [])
    state = StandInState(now_ms=now, version=version)
    diffs = []
    with realprom.RealPrometheus(line=line) as real, Served(state) as mock:
        for what, body, headers in steps:
            want = _answer(requests.post(real.url + "/api/v1/write", data=body, headers=headers))
            got = _answer(requests.post(mock.url + "/api/v1/write", data=body, headers=headers))
            if got != want:
                diffs.append(f"{what}: real {want} != mockprom {got}")
        want_data, got_data = _real_data(real.url, now + 30 * MIN), _mock_data(state)
    assert diffs == []
    assert got_data == want_data
    assert got_data[(("__name__", "a"), ("job", "x"))] == [(now, "1"), (now + 1000, "2")]
    print(f"{line}: {len(steps)} requests answered alike")


@pytest.mark.realprom
def test_a_2_0_body_sent_to_2_42_is_read_as_an_empty_1_0_request():
    """2.42 knows no Content-Type: a 2.0 body decodes as an empty 1.0 request (204 without
    the Written headers, which is how a 2.0 sender recognises a 1.0 receiver)."""
    realprom.require_binaries("2.42")
    now = int(time.time() * 1000) - MIN
    body = rw2.encode([(N("v2_to_old"), [(now, 1)])])
    with realprom.RealPrometheus(line="2.42") as real, \
            Served(StandInState(now_ms=now, version="2.42.0")) as mock:
        want = _answer(requests.post(real.url + "/api/v1/write", data=body, headers=V2_HEADERS))
        got = _answer(requests.post(mock.url + "/api/v1/write", data=body, headers=V2_HEADERS))
    assert got == want == (204, "", {})
