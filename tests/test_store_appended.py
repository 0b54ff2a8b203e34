"""Ingested series in the store: a series with nothing but appended samples is kept as its
bare samples (no object per series for the garbage collector), read through views; it
keeps every sample (float bits included) through a first native histogram, and adding a
request of new series is all or nothing."""

from __future__ import annotations

import gc
import struct

import pytest

from mockprom.histograms.float_histogram import FloatHistogram
from mockprom.ingest.acceptance import RULES, Batch, Head, PlainBatches, Window, commit
from mockprom.ingest.errors import IngestError
from mockprom.scenario.labels import Matcher, make_labels
from mockprom.scenario.store import StaticSource, Store

STALE_BITS = 0x7FF0000000000002
STALE = struct.unpack("<d", struct.pack("<Q", STALE_BITS))[0]
A = make_labels({"__name__": "a", "job": "x"})
B = make_labels({"__name__": "b", "job": "x"})


def _bits(values) -> list[int]:
    return [struct.unpack("<Q", struct.pack("<d", v))[0] for v in values]


def _select(store: Store, name: str, histograms: bool = False):
    return store.select([Matcher.of("__name__", "=", name)], 0, 10**13, histograms=histograms)


def test_new_series_are_bare_samples_the_collector_does_not_track():
    store = Store()
    batches = PlainBatches([Batch(A, [1000, 2000], [1.0, STALE]), Batch(B, [1500], [-0.0])])
    head = Head()
    assert commit(store, head, batches, Window(head, RULES["3.5"], 2000)).samples == 3
    entry = store._series[A]
    assert type(entry) is bytearray and not gc.is_tracked(entry)
    (a,), (b,) = _select(store, "a"), _select(store, "b")
    assert a.ts.tolist() == [1000, 2000] and _bits(a.vals) == [_bits([1.0])[0], STALE_BITS]
    assert _bits(b.vals) == [1 << 63]  # -0.0 kept
    assert head.max_t == 2000


def test_a_request_with_a_known_series_is_checked_sample_by_sample():
    store = Store()
    store.appendable(A).extend([5000], [5.0])
    assert not store.add_new_samples([B, A], [[1], [2]], [[1.0], [2.0]])  # A exists
    assert not store.add_new_samples([B, B], [[1], [2]], [[1.0], [2.0]])  # B twice
    assert B not in store  # nothing added
    head = Head()
    batches = PlainBatches([Batch(B, [4000], [4.0]), Batch(A, [3000], [3.0])])
    with pytest.raises(IngestError, match="out of order"):
        commit(store, head, batches, Window(head, RULES["3.5"], 5000))
    assert _select(store, "a")[0].ts.tolist() == [5000]
    assert not _select(store, "b")  # all or nothing: B has no sample


def test_a_first_histogram_makes_the_series_keep_its_own_source():
    store = Store()
    head = Head()
    commit(store, head, PlainBatches([Batch(A, [1000], [1.0])]), Window(head, RULES["3.5"], 1000))
    first, second = store.appendable(A), store.appendable(A)  # two writers' views
    assert first is not second
    first.append_histogram(2000, FloatHistogram(count=1.0, sum=1.0))
    assert store._series[A] is first  # no longer bare
    second.extend([3000], [3.0])  # written through the series' own source
    second.append_histogram(4000, FloatHistogram(count=2.0, sum=2.0))
    (sd,) = _select(store, "a", histograms=True)
    assert sd.ts.tolist() == [1000, 2000, 3000, 4000]
    assert [h is not None and h.count for h in sd.hists] == [False, 1.0, False, 2.0]
    assert second.last_histogram().count == first.last_histogram().count == 2.0
    second.append(5000, 5.0)
    assert store.sources(A)[0].last_sample() == (5000, 5.0) and second.last_histogram() is None


def test_a_bare_series_given_another_source_keeps_its_samples():
    store = Store()
    store.appendable(A).extend([1000], [1.0])
    store.add(A, StaticSource([2000], [2.0]))
    assert type(store._series[A]) is list
    store.appendable(A).extend([3000], [3.0])
    assert _select(store, "a")[0].ts.tolist() == [1000, 2000, 3000]
