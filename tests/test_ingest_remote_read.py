"""Remote read (``/api/v1/read``): the same data in a real Prometheus (2.42 and 3.5.3) and
in mockprom give the same answers to the same read requests, byte for byte after
decompression (raw samples, XOR chunks cut and encoded as the TSDB head does, frames and
errors); and a real Prometheus configured with ``remote_read`` reads mockprom's generated,
notation and written series, over both response types."""

from __future__ import annotations

import math
import struct
import time

import cramjam
import pytest
import requests

import realprom
from mockprom.ingest import remote_read as rr
from mockprom.ingest import remote_write as rw
from mockprom.ingest import xorchunk
from mockprom.ingest.prompb import V1
from mockprom.server import MockPrometheus

T0 = 1_700_000_000
S, E = T0 * 1000, (T0 + 4000) * 1000
DATA = [
    {"labels": {"__name__": "rr_metric", "job": "a", "instance": "i1"},
     "samples": [[T0 + 15 * i, i * 1.5] for i in range(20)]},
    # incompressible values: 3.5 cuts its chunks by size, 2.42 by predicted end time
    {"labels": {"__name__": "rr_metric", "job": "b", "instance": "i2"},
     "samples": [[T0 + 10 * i + (i % 3), math.sin(i)] for i in range(300)]},
    {"labels": {"__name__": "rr_other", "job": "a"},
     "samples": [[T0, 1], [T0 + 60, "NaN"], [T0 + 120, "+Inf"], [T0 + 180, "stale"],
                 [T0 + 240, -0.0]]},
]
EQ, NEQ, RE, NRE = 0, 1, 2, 3
HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Read-Version": "0.1.0"}


def read_request(queries, types=()) -> bytes:
    """A snappy-compressed ReadRequest of ``(start, end, [(type, name, value)], hints)``."""
    req = V1.ReadRequest()
    for start, end, matchers, hints in queries:
        q = req.queries.add(start_timestamp_ms=start, end_timestamp_ms=end)
        for t, n, v in matchers:
            q.matchers.add(type=t, name=n, value=v)
        if hints is not None:
            q.hints.CopyFrom(V1.ReadHints(**hints))
    req.accepted_response_types.extend(types)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


CASES = {
    "samples, one matcher": read_request([(S, E, [(EQ, "__name__", "rr_metric")], None)]),
    "samples, two queries": read_request([
        (S, E, [(RE, "__name__", "rr_.*"), (EQ, "job", "a")], None),
        (S + 30_000, S + 90_000, [(NEQ, "job", "a"), (EQ, "__name__", "rr_metric")], None)]),
    "streamed": read_request([(S, E, [(RE, "__name__", "rr_.*")], None)], [1]),
    "streamed, part of the range": read_request(
        [(S + 100_000, S + 500_000, [(EQ, "__name__", "rr_metric")], None)], [1]),
    "streamed, negative matcher": read_request([(S, E, [(NRE, "job", "b"), (RE, "__name__", ".+")], None)], [1]),
    "unknown response type": read_request([(S, E, [(EQ, "__name__", "rr_metric")], None)], [7]),
    "unknown, then streamed": read_request([(S, E, [(EQ, "__name__", "rr_metric")], None)], [7, 1]),
    "bad regex": read_request([(S, E, [(RE, "__name__", "(")], None)]),
    "bad matcher type": read_request([(S, E, [(9, "__name__", "x")], None)]),
    "no matchers": read_request([(S, E, [], None)]),
    "only an empty matcher": read_request([(S, E, [(EQ, "job", "")], None)]),
    "hints: series": read_request([(S, E, [(EQ, "__name__", "rr_metric")],
                                    {"func": "series", "start_ms": S, "end_ms": E})]),
    "hints: a narrower range": read_request([(S, E, [(EQ, "__name__", "rr_metric")],
                                              {"start_ms": S + 30_000, "end_ms": S + 60_000,
                                               "step_ms": 15_000, "func": "rate"})]),
    "hints: all zero": read_request([(S, E, [(EQ, "__name__", "rr_metric")], {})]),
    "start after end": read_request([(E, S, [(EQ, "__name__", "rr_metric")], None)]),
    "no queries": read_request([]),
    "empty body": b"",
    "not snappy": b"not snappy at all",
}


def _answer(r) -> tuple:
    """Status, headers that matter and the decoded body (samples as float64 bits)."""
    ctype, enc = r.headers.get("Content-Type"), r.headers.get("Content-Encoding")
    if r.status_code != 200:
        return r.status_code, ctype, enc, r.text
    if ctype == rr.SAMPLES_CONTENT_TYPE:
        resp = V1.ReadResponse()
        resp.ParseFromString(bytes(cramjam.snappy.decompress_raw(r.content)))
        return 200, ctype, enc, [[(tuple((l.name, l.value) for l in ts.labels),
                                   [(s.timestamp, struct.pack(">d", s.value)) for s in ts.samples])
                                  for ts in res.timeseries] for res in resp.results]
    frames = rr.decode_frames(r.content)
    return 200, ctype, enc, [(f.query_index, [(tuple((l.name, l.value) for l in cs.labels),
                                               [(c.min_time_ms, c.max_time_ms, c.type, c.data)
                                                for c in cs.chunks])
                                              for cs in f.chunked_series]) for f in frames]


@pytest.mark.realprom
@pytest.mark.parametrize("line, version", [("2.42", "2.42.0"), ("3.5", "3.5.3")])
def test_read_requests_answer_as_a_real_prometheus_holding_the_same_data(line, version):
    realprom.require_binaries(line)
    diffs = []
    with realprom.RealPrometheus(DATA, line=line) as real, \
            MockPrometheus({"series": DATA, "clock": T0 + 4000}, version=version) as mock:
        for what, body in CASES.items():
            want = _answer(requests.post(real.url + "/api/v1/read", data=body, headers=HEADERS))
            got = _answer(requests.post(mock.url + "/api/v1/read", data=body, headers=HEADERS))
            if got != want:
                diffs.append(f"{what}:\n  real {str(want)[:600]}\n  mock {str(got)[:600]}")
        garbage = bytes(cramjam.snappy.compress_raw(b"\xff\xff garbage"))
        statuses = [requests.post(u + "/api/v1/read", data=garbage, headers=HEADERS).status_code
                    for u in (real.url, mock.url)]
        streamed = _answer(requests.post(mock.url + "/api/v1/read", data=CASES["streamed"],
                                         headers=HEADERS))
    assert diffs == []
    assert statuses == [400, 400]  # (the protobuf library's words differ)
    chunks = [c for _, series in streamed[3] for s in series for c in s[1] if dict(s[0])["job"] == "b"]
    assert len(chunks) == 3  # the incompressible series is cut in three chunks
    print(f"{line}: {len(CASES)} read requests answered alike")


def test_xor_chunks_round_trip_every_value_bit_for_bit():
    ts = [-5, 0, 1, 15_000, 15_001, 30_000, 8_222_000, 8_222_001, 10**12, 10**12 + 2**40]
    vals = [0.0, -0.0, 1.5, math.nan, math.inf, -math.inf, 1e-300, 1e300, 42.0, 42.0]
    got_ts, got_vals = xorchunk.decode(xorchunk.encode(ts, vals))
    assert got_ts == ts
    assert [struct.pack(">d", v) for v in got_vals] == [struct.pack(">d", v) for v in vals]


def test_frames_carry_a_castagnoli_checksum():
    body = rr.frame(b"hello") + rr.frame(b"")
    assert body[:5] == b"\x05\x9a\x71\xbb\x4c"  # length 5, CRC32-C of "hello" big endian
    broken = body[:6] + b"X" + body[7:]
    with pytest.raises(ValueError):
        rr.decode_frames(broken)


SCENARIO = {"clock": "real", "interval": "15s", "start": "-1h", "series": [
    {"metric": "gen_gauge", "type": "gauge", "labels": {"job": "gen"},
     "generator": {"kind": "sine", "amplitude": 2, "offset": 5, "period": "10m"}},
    {"series": 'note_metric{job="notation"}', "values": "1+1x300"},
]}


class RemoteReading(realprom.RealPrometheus):
    """A real Prometheus whose only data comes from ``remote_read`` on mockprom."""

    def __init__(self, line: str, mock_url: str):
        super().__init__(line=line, config=(
            "global: {}\nremote_read:\n"
            f"  - url: {mock_url}/api/v1/read\n    read_recent: true\n"))


def _query(url: str, expr: str, t: float) -> dict:
    r = requests.get(url + "/api/v1/query", params={"query": expr, "time": t})
    body = r.json()
    assert r.status_code == 200 and body["status"] == "success", body
    return body["data"]


@pytest.mark.realprom
@pytest.mark.parametrize("streamed", [True, False], ids=["streamed-chunks", "samples"])
def test_a_real_prometheus_reads_mockprom_data(streamed):
    realprom.require_binaries("3.5")
    scenario = {**SCENARIO, "server": {"remote_read": {"streamed_chunks": streamed}}}
    with MockPrometheus(scenario) as mock:
        now = int(time.time() * 1000)
        body = rw.encode([({"__name__": "written_metric", "job": "rw"},
                           [(now - 20_000, 1.25), (now - 5_000, -7.5)])])
        assert requests.post(mock.url + "/api/v1/write", data=body).status_code == 204
        with RemoteReading("3.5", mock.url) as real:
            t = now / 1000
            for expr in ("gen_gauge[5m]", "note_metric[2m]", "written_metric[1m]",
                         "rate(note_metric[5m])", 'count({job=~"gen|notation|rw"})'):
                want, got = _query(mock.url, expr, t), _query(real.url, expr, t)
                assert got == want, expr
                assert want["result"], expr
        reads = [e for e in mock.requests() if e["endpoint"] == "read"]
        assert reads and {e["status"] for e in reads} == {200}


@pytest.mark.realprom
def test_prometheus_2_42_reads_raw_samples():
    realprom.require_binaries("2.42")
    with MockPrometheus(SCENARIO) as mock, RemoteReading("2.42", mock.url) as real:
        t = time.time()
        assert _query(real.url, "note_metric[2m]", t) == _query(mock.url, "note_metric[2m]", t)


def test_faults_auth_and_the_journal_apply_to_remote_read():
    scenario = {**SCENARIO, "auth": {"type": "bearer", "token": "s3cret"}}
    with MockPrometheus(scenario) as mock:
        now = mock.now_ms()
        body = read_request([(now - 7_200_000, now, [(EQ, "__name__", "note_metric")], None)])
        r = requests.post(mock.url + "/api/v1/read", data=body, headers=HEADERS)
        assert r.status_code == 401
        auth = {**HEADERS, "Authorization": "Bearer s3cret"}
        mock.add_fault({"name": "read-down", "match": {"endpoint": "read"},
                        "error": "unavailable", "times": 1})
        assert requests.post(mock.url + "/api/v1/read", data=body, headers=auth).status_code == 503
        r = requests.post(mock.url + "/api/v1/read", data=body, headers=auth)
        assert r.status_code == 200 and r.headers["Content-Encoding"] == "snappy"
        [series] = _answer(r)[3][0]
        assert series[0] == (("__name__", "note_metric"), ("job", "notation"))
        entries = mock.requests(endpoint="read")
        assert [(e["status"], e["fault"]) for e in entries] == [(401, None), (503, "read-down"),
                                                                 (200, None)]
