"""Remote write 1.0's fast decode reads a request's series without looking at them one by
one (``remote_write_layout``: where each series' labels and samples are, the samples
decoded with numpy; ``remote_write_fast``: labels read as flat lists). Whatever the bytes,
it must answer exactly as the reference decode: the same series, labels and samples
(float bits included), or the same error. Bodies here are made by hand, field by field,
in layouts no ordinary client produces as well as the usual one."""

from __future__ import annotations

import math
import random
import struct

import cramjam
import pytest

from mockprom.ingest import remote_write as rw
from mockprom.ingest import remote_write_fast as fast
from mockprom.ingest import remote_write_layout as layout
from mockprom.ingest.errors import IngestError
from realprom import _field, _varint

STALE = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def _bits(v: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def _label(name: str | None, value: str | None) -> bytes:
    return (b"" if name is None else _field(1, name.encode())) + \
        (b"" if value is None else _field(2, value.encode()))


def _sample(t: int, v: float, order: str = "vt") -> bytes:
    value = b"" if v == 0.0 and math.copysign(1, v) > 0 else b"\x09" + struct.pack("<d", v)
    ts = b"" if t == 0 else b"\x10" + _varint(t)
    return value + ts if order == "vt" else ts + value


def _body(series: list[bytes]) -> bytes:
    return bytes(cramjam.snappy.compress_raw(b"".join(_field(1, s) for s in series)))


def _answer(decode, body: bytes):
    try:
        return [(d.labels, d.ts, [_bits(v) for v in d.vals]) for d in decode(body)]
    except IngestError as err:
        return ("error", err.message)


def _reference(body: bytes):
    return _answer(lambda b: rw._decode_reference(rw.decompress(b)), body)


def _series(rng: random.Random, i: int, k: int, odd: float) -> bytes:
    """One TimeSeries: a metric name and a few labels (now and then an odd one), ``k``
    samples (now and then oddly encoded), sometimes more fields."""
    labels = [("__name__", rng.choice(["up", "http_requests_total", "a:b", "up"]))]
    labels += [("job", rng.choice(["api", "db"])), ("series", str(i))]
    if rng.random() < 0.3:
        labels.append(("zone", rng.choice(["", "eu", "d\u00e9j\u00e0 \u2603", "v" * 200])))
    if rng.random() < 0.5:
        rng.shuffle(labels)
    else:
        labels.sort()
    parts = [_field(1, _label(n, v)) for n, v in labels]
    if rng.random() < odd:
        parts.append(_field(1, rng.choice([_label("x", None), _label(None, "y"),
                                           _field(2, b"v") + _field(1, b"late"),
                                           _label("bad-name", "v"), _label("job", "dup")])))
    t0 = 1_700_000_000_000 + i * 1000
    for j in range(k):
        t = rng.choice([t0 + j, t0 + j, 0, 5]) if rng.random() < odd else t0 + j
        v = rng.choice([0.0, -0.0, STALE, math.nan, math.inf, 1e308, float(j)])
        parts.append(_field(2, _sample(t, v, "tv" if rng.random() < odd / 2 else "vt")))
    if rng.random() < odd / 2:
        parts.insert(0, parts.pop())  # a sample before the labels
    if rng.random() < odd / 2:
        parts.append(_field(3, _field(1, _label("trace_id", "abc")) + b"\x11" + bytes(8)))
    return b"".join(parts)


@pytest.mark.parametrize("seed", range(40))
def test_random_requests_decode_as_the_reference(seed):
    rng = random.Random(seed)
    odd = [0.0, 0.05, 0.3][seed % 3]
    k = rng.choice([1, 1, 2, 10])
    series = [_series(rng, i, k if rng.random() > odd else rng.choice([0, 1, 3]), odd)
              for i in range(rng.choice([1, 5, 200]))]
    body = _body(series)
    want = _reference(body)
    for _ in ("cold caches", "warm caches"):
        assert _answer(rw.decode, body) == want


def _raw_views(body: bytes):
    raw = rw.decompress(body)
    merged = fast._VIEWS.Merged.FromString(raw).timeseries
    return (list(fast._VIEWS.SeriesBytesRequest.FromString(raw).timeseries),
            tuple(merged.labels), list(merged.samples))


def test_usual_requests_are_located_at_once_and_decoded_exactly():
    stale_t, big_t = 1_700_000_000_000, 2**63 - 1
    series = [b"".join([_field(1, _label("__name__", "m")), _field(1, _label("i", str(i)))] +
                       [_field(2, _sample(t, v)) for t, v in ((stale_t + i, STALE), (big_t, -0.0))])
              for i in range(3)]
    found = layout.locate(*_raw_views(_body(series)))
    assert found is not None and found.per_series == 2 and found.label_at == [0, 2, 4, 6]
    assert found.ts == [stale_t, big_t, stale_t + 1, big_t, stale_t + 2, big_t]
    assert [_bits(v) for v in found.vals] == [0x7FF0000000000002, 1 << 63] * 3
    assert _answer(rw.decode, _body(series)) == _reference(_body(series))


@pytest.mark.parametrize("case", ["sample-first", "timestamp-first", "exemplar", "negative-time",
                                  "long-label", "no-samples", "uneven-samples"])
def test_unusual_layouts_are_read_series_by_series(case):
    name = _field(1, _label("__name__", "m"))
    usual = _field(2, _sample(5, 1.0))
    one = {"sample-first": usual + name, "timestamp-first": name + _field(2, _sample(5, 1.0, "tv")),
           "exemplar": name + usual + _field(3, b""), "negative-time": name + _field(2, _sample(-5, 1.0)),
           "long-label": _field(1, _label("__name__", "m" * 130)) + usual, "no-samples": name,
           "uneven-samples": name + usual + usual}[case]
    body = _body([one, name + _field(2, _sample(7, 2.0))])
    assert layout.locate(*_raw_views(body)) is None
    assert _answer(rw.decode, body) == _reference(body)
