"""Remote write 2.0's fast decode (label names and values of the whole request read as
flat lists, ``label_shapes``) answers exactly as reading the request series by series:
the same series, labels, problems, samples, exemplars, metadata and created timestamps,
or the same error, under every label policy."""

from __future__ import annotations

import random
import struct

import pytest

from mockprom.ingest import remote_write_v2 as rw2
from mockprom.ingest.errors import IngestError
from mockprom.ingest.prompb import V2

POLICIES = ("strict", "store", "drop")


def _answer(series_list):
    return [(s.batch.labels, s.batch.ts, [struct.pack("<d", v) for v in s.batch.vals],
             s.batch.problem, s.batch.pairs, [h.SerializeToString() for h in s.histograms],
             s.exemplars, s.metadata, s.created_ms) for s in series_list]


def _both(raw: bytes, policy: str):
    def run(decode):
        try:
            return _answer(decode())
        except IngestError as err:
            return ("error", err.message)

    def by_series():
        req = V2.Request.FromString(raw)
        symbols = list(req.symbols)
        return [rw2._series(ts, symbols, policy) for ts in req.timeseries]
    return run(lambda: rw2.decode(raw, policy)), run(by_series)


def _request(rng: random.Random, odd: float) -> bytes:
    series = []
    for i in range(rng.choice([1, 4, 100])):
        labels = [("__name__", rng.choice(["up", "a:b", "http_requests_total"])),
                  ("job", rng.choice(["api", "db"])), ("series", str(i))]
        if rng.random() < odd:
            labels.append(rng.choice([("bad-name", "x"), ("job", "twice"), ("empty", ""),
                                      ("", "noname"), ("__name__", "")]))
        if rng.random() < 0.5:
            rng.shuffle(labels)
        extras = {}
        if rng.random() < odd:
            extras["metadata"] = (rng.choice(["counter", "gauge"]), "help", "")
        if rng.random() < odd:
            extras["exemplars"] = [({"trace_id": "t"}, 1.0, 5)]
        if rng.random() < odd:
            extras["created_ms"] = 3
        if rng.random() < odd / 2:
            extras["histograms"] = [V2.Histogram(count_int=1, sum=1.0, timestamp=7)]
        samples = [(1_700_000_000_000 + i + k, float(rng.choice([0, 1, k]))) for k in range(rng.choice([0, 1, 3]))]
        series.append((labels, samples, extras))
    return rw2.encode(series, compress=False)


@pytest.mark.parametrize("seed", range(30))
def test_random_requests_decode_as_series_by_series(seed):
    rng = random.Random(seed)
    raw = _request(rng, [0.0, 0.1, 0.4][seed % 3])
    for policy in POLICIES:
        fast, reference = _both(raw, policy)
        assert fast == reference, policy


def _raw(timeseries: list, symbols: list) -> bytes:
    req = V2.Request(symbols=symbols)
    for refs in timeseries:
        ts = req.timeseries.add(labels_refs=refs)
        ts.samples.add(value=1.0, timestamp=5)
    return req.SerializeToString()


@pytest.mark.parametrize("refs", [[1, 2, 3], [1, 2, 9, 2], [1, 2], [2, 1, 1, 2]])
def test_bad_references_and_labels_answer_as_series_by_series(refs):
    raw = _raw([[1, 2, 3, 4], refs], ["", "__name__", "m", "job", "x"])
    for policy in POLICIES:
        fast, reference = _both(raw, policy)
        assert fast == reference, policy


def test_the_fast_path_takes_plain_requests():
    raw = _raw([[1, 2, 3, 4], [3, 4, 1, 2]], ["", "__name__", "m", "job", "x"])
    req = V2.Request.FromString(raw)
    series = rw2._decode_fast(raw, req, list(req.symbols))  # raises when it hands over
    assert [s.batch.labels for s in series] == [(("__name__", "m"), ("job", "x"))] * 2
