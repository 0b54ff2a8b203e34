"""Remote write's fast decode path (raw Label bytes as cache keys, built for batches of new
series) answers exactly as the reference path (protobuf Label objects): the same series,
labels and samples, or the same error, whatever the Label messages' layout, and with cold
or warm caches."""

from __future__ import annotations

import cramjam
import pytest

from mockprom.ingest import remote_write as rw
from mockprom.ingest.errors import IngestError
from realprom import _field, _varint  # the hand encoder the real-Prometheus tests use


def _label(name: bytes | None, value: bytes | None) -> bytes:
    return (b"" if name is None else _field(1, name)) + (b"" if value is None else _field(2, value))


def _sample(t: int, v: float) -> bytes:
    return rw.Sample(timestamp=t, value=v).SerializeToString()


def _body(*series: tuple[list[bytes], list[tuple[int, float]]]) -> bytes:
    raw = b"".join(_field(1, b"".join(_field(1, lab) for lab in labels)
                          + b"".join(_field(2, _sample(t, v)) for t, v in samples))
                   for labels, samples in series)
    return bytes(cramjam.snappy.compress_raw(raw))


def _name(metric: str) -> bytes:
    return _label(b"__name__", metric.encode())


LONG = "v" * 300  # a length of two varint bytes
CASES = {
    "plain": _body(([_name("a"), _label(b"job", b"x")], [(1, 1.0), (2, 2.0)])),
    "unsorted-and-empty-value": _body(([_label(b"zone", b"b"), _name("b"), _label(b"empty", b"")],
                                       [(1, 1.0)])),
    "value-only-label-is-empty-name": _body(([_name("c"), _label(None, b"x")], [(1, 1.0)])),
    "name-only-label-is-empty-value": _body(([_name("d"), _label(b"gone", None)], [(1, 1.0)])),
    "value-before-name": _body(([_name("e"), _label(None, b"late") + _label(b"k", None)], [(1, 1.0)])),
    "repeated-field-last-wins": _body(([_name("f"), _label(b"k", b"one") + _label(None, b"two")],
                                       [(1, 1.0)])),
    "unknown-field-in-label": _body(([_name("g"), _label(b"k", b"v") + b"\x18\x07"], [(1, 1.0)])),
    "long-value": _body(([_name("h"), _label(b"k", LONG.encode())], [(1, 1.0)])),
    "long-name": _body(([_name("i"), _label(b"k" * 200, b"v")], [(1, 1.0)])),
    "unicode": _body(([_name("j"), _label(b"k", "d\u00e9j\u00e0 \u2603".encode())], [(1, 1.0)])),
    "same-series-twice-merges": _body(([_name("k")], [(5, 5.0)]), ([_name("k")], [(3, 3.0), (7, 7.0)]),
                                      ([_label(b"x", b""), _name("k")], [(9, 9.0)])),
    "no-samples-skipped": _body(([_name("l")], []), ([_name("m")], [(1, 1.0)])),
    "not-increasing": _body(([_name("n")], [(3, 3.0), (1, 1.0), (3, 9.0), (4, 4.0)])),
    "metric-name-with-colon": _body(([_name("job:rate5m"), _label(b"a", b"b")], [(1, 1.0)])),
    # refused, with the reference path's words
    "invalid-utf8-value": _body(([_name("o"), _label(b"k", b"\xff\xfe")], [(1, 1.0)])),
    "invalid-utf8-name": _body(([_name("o"), _label(b"k\xc3", b"v")], [(1, 1.0)])),
    "duplicate-label": _body(([_name("p"), _label(b"a", b"1"), _label(b"a", b"2")], [(1, 1.0)])),
    "duplicate-empty-label": _body(([_name("p"), _label(b"a", b"1"), _label(b"a", b"")], [(1, 1.0)])),
    "no-metric-name": _body(([_label(b"job", b"x")], [(1, 1.0)])),
    "empty-metric-name": _body(([_label(b"__name__", b""), _label(b"job", b"x")], [(1, 1.0)])),
    "bad-label-name": _body(([_name("q"), _label(b"bad-name", b"x")], [(1, 1.0)])),
    "empty-label-name": _body(([_name("q"), _label(b"", b"x")], [(1, 1.0)])),
    "bad-metric-name": _body(([_name("not a name")], [(1, 1.0)])),
    "truncated-label": _body(([_name("r"), b"\x0a\x05ab"], [(1, 1.0)])),
    "bad-label-then-bad-utf8": _body(([_name("s"), _label(b"bad-name", b"x")], [(1, 1.0)]),
                                     ([_name("s"), _label(b"k", b"\xff")], [(1, 1.0)])),
}


def _reference(body: bytes):
    try:
        return [(d.labels, d.ts, d.vals) for d in rw._decode_reference(rw.decompress(body))]
    except IngestError as err:
        return ("error", err.message)


def _decoded(body: bytes):
    try:
        return [(d.labels, d.ts, d.vals) for d in rw.decode(body)]
    except IngestError as err:
        return ("error", err.message)


@pytest.mark.parametrize("case", list(CASES))
def test_fast_path_answers_as_the_reference_path(case):
    body = CASES[case]
    want = _reference(body)
    for caches in ("cold", "warm"):
        if caches == "cold":
            rw._RAW_LABELS_CACHE.clear()
            rw._PAIR_CACHE.clear()
            rw._METRIC_NAMES.clear()
        assert _decoded(body) == want, caches


def test_the_cases_cover_both_answers_and_the_fast_path_takes_ordinary_bodies():
    answers = {case: _reference(body) for case, body in CASES.items()}
    refused = [c for c, a in answers.items() if isinstance(a, tuple)]
    assert len(refused) == 12  # an empty label name too
    assert answers["same-series-twice-merges"] == [  # one batch each, in request order
        ((("__name__", "k"),), [5], [5.0]), ((("__name__", "k"),), [3, 7], [3.0, 7.0]),
        ((("__name__", "k"),), [9], [9.0])]
    assert answers["repeated-field-last-wins"][0][0] == (("__name__", "f"), ("k", "two"))
    assert answers["long-value"][0][0] == (("__name__", "h"), ("k", LONG))
    for case in ("plain", "unsorted-and-empty-value", "long-value", "unicode", "not-increasing",
                 "same-series-twice-merges", "value-before-name"):
        fast = rw._decode_fast(rw.decompress(CASES[case]))  # raises when it hands over
        assert [(d.labels, d.ts, d.vals) for d in fast] == answers[case], case


def test_many_new_series_in_one_request_decode_as_the_reference():
    series = [({"__name__": "churn", "pod": f"p-{i}", "node": f"n{i % 7}", "empty": ""},
               [(1000 + i, float(i))]) for i in range(2000)]
    body = rw.encode(series)
    assert _decoded(body) == _reference(body)
    assert len(_decoded(body)) == 2000


def test_the_collector_is_paused_only_while_requests_build_their_series():
    import gc
    import threading

    assert gc.isenabled()
    entered, release = threading.Barrier(3), threading.Event()
    seen = []

    def writer():
        with rw.gc_paused():
            with rw.gc_paused():  # nested (decode inside the handler's pause)
                entered.wait(5)
                seen.append(gc.isenabled())
                release.wait(5)

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    entered.wait(5)  # both pauses under way, overlapping
    assert not gc.isenabled()
    release.set()
    for t in threads:
        t.join(5)
    assert seen == [False, False]
    assert gc.isenabled()  # back on once the last pause ended

    gc.disable()  # a program that runs without the collector keeps it off
    try:
        rw.decode(CASES["plain"])
        assert not gc.isenabled()
    finally:
        gc.enable()
    with pytest.raises(IngestError):
        with rw.gc_paused():
            rw.decode(CASES["duplicate-label"])
    assert gc.isenabled()
