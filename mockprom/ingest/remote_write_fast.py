"""Remote write 1.0's fast decode: a few C-level passes over the whole request instead
of Python work for each label.

Every Label message of a request comes as bytes (one upb parse of a view in which the
request's series are merged, below); a series' Label bytes key a cache of its labels
(``LABELS``), so that a series seen before costs a slice and a lookup. The series not
seen before are read together: protobuf merges repeated occurrences of a *singular*
message field into one message whose repeated fields concatenate, so read through a view
in which ``WriteRequest.timeseries`` and ``TimeSeries.labels`` are singular, the request
parses (strings checked as UTF-8) into one list of every label name and one of every
label value, in request order. They pair up label by label when every Label message holds
exactly one name and one value field: ``_check_pairing`` proves that on the Label bytes
(numpy for the usual layout, a byte walk for the others).

Where each series' Label and Sample messages are, and the samples themselves, come for
the whole request at once from ``remote_write_layout`` when the request is laid out as
usual, else series by series from a third view. Labels are built by ``label_shapes``.
Whatever this path does not read (native histograms, a label without a name or value,
invalid names, a bad body) raises ``Unusual``, and the reference decode answers.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from mockprom.ingest.acceptance import Batch, PlainBatches
from mockprom.ingest.label_shapes import (CACHE_MAX, METRIC_NAMES, SHAPES, Unusual,
                                          check_metric, shape, shared_pairs)
from mockprom.ingest.protobuild import build
from mockprom.ingest.remote_write_layout import locate


_REP = "repeated"
_VIEWS = build("mockprom/prompb/fast.proto", "prometheus_fast", {
    # the whole request merged: every label name, every label value
    "FlatLabels": [("name", 1, "string", _REP), ("value", 2, "string", _REP)],
    "FlatSeries": [("labels", 1, "FlatLabels")],
    "FlatRequest": [("timeseries", 1, "FlatSeries")],
    # the whole request merged: every Label and Sample message's bytes, any histogram
    "MergedSeries": [("labels", 1, "bytes", _REP), ("samples", 2, "bytes", _REP),
                     ("histograms", 4, "bytes", _REP)],
    "Merged": [("timeseries", 1, "MergedSeries")],
    # each series' bytes
    "SeriesBytesRequest": [("timeseries", 1, "bytes", _REP)],
    # series by series: the number of labels, the samples
    "Sample": [("value", 1, "double"), ("timestamp", 2, "int64")],
    "Series": [("labels", 1, "bytes", _REP), ("samples", 2, "Sample", _REP)],
    "Request": [("timeseries", 1, "Series", _REP)],
})

LABELS: dict[tuple, tuple] = {}  # a series' Label messages (bytes) -> its labels

_PAD = bytes(260)  # past the last Label, so that reading a length byte never overruns


def decode(raw: bytes) -> PlainBatches:
    """The batches of a decompressed request (one per series with samples, in request
    order), or ``Unusual``."""
    merged = _VIEWS.Merged.FromString(raw).timeseries
    if merged.histograms:
        raise Unusual()
    label_bytes = tuple(merged.labels)
    layout = locate(list(_VIEWS.SeriesBytesRequest.FromString(raw).timeseries), label_bytes,
                    list(merged.samples))
    where = None
    if layout is not None:
        where = layout.label_messages
        bounds = layout.label_at
        starts, ends = bounds[:-1], bounds[1:]
        k, ts, vals = layout.per_series, layout.ts, layout.vals
        if k == 1:
            series_ts, series_vals = [[t] for t in ts], [[v] for v in vals]
        else:
            series_ts = [ts[i:i + k] for i in range(0, len(ts), k)]
            series_vals = [vals[i:i + k] for i in range(0, len(vals), k)]
    else:
        starts, ends, series_ts, series_vals = _series_by_series(raw, len(label_bytes))
    out = PlainBatches()
    if starts:
        key = label_bytes[starts[0]:ends[0]]
        if key in LABELS:
            _read_known(raw, label_bytes, where, starts, ends, series_ts, series_vals, out)
        else:
            # A first series never seen is taken for a request of new series: they are all
            # read flat, and only that first one is cached (the next request with it looks
            # its series up, and caches those it misses).
            flat = _Flat(raw, label_bytes, where)
            _cache(key, flat.labels(starts[0], ends[0]))
            _read_new(flat, starts, ends, series_ts, series_vals, out)
    return out


def _series_by_series(raw: bytes, count: int) -> tuple[list, list, list, list]:
    """Where each series' labels start and end, and its samples, read series by series
    (series without samples left out); ``Unusual`` unless the labels number ``count``."""
    starts, ends, series_ts, series_vals = [], [], [], []
    i = 0
    for series in _VIEWS.Request.FromString(raw).timeseries:
        j = i + len(series.labels)
        samples = series.samples
        if samples:
            starts.append(i)
            ends.append(j)
            series_ts.append([s.timestamp for s in samples])
            series_vals.append([s.value for s in samples])
        i = j
    if i != count:
        raise Unusual()
    return starts, ends, series_ts, series_vals


def _cache(key: tuple, labels: tuple) -> None:
    if len(LABELS) >= CACHE_MAX:
        LABELS.clear()
    LABELS[key] = labels


def _read_known(raw: bytes, label_bytes: tuple, where: Optional[tuple], starts: list,
                ends: list, series_ts: list, series_vals: list, out: list) -> None:
    """Series seen before, looked up by their Label bytes (those missing read flat and
    cached)."""
    cached = LABELS.get
    append = out.append
    flat = None
    for i, j, ts, vals in zip(starts, ends, series_ts, series_vals):
        key = label_bytes[i:j]
        labels = cached(key)
        if labels is None:
            if flat is None:
                flat = _Flat(raw, label_bytes, where)
            labels = flat.labels(i, j)
            _cache(key, labels)
        append(Batch(labels, ts, vals))


def _read_new(flat: "_Flat", starts: list, ends: list, series_ts: list, series_vals: list,
              out: list) -> None:
    """Series new to the caches, all read flat (``_Flat.labels`` inlined)."""
    names, values, pairs, with_empty = flat.names, flat.values, flat.pairs, flat.with_empty
    shapes, metrics = SHAPES.get, METRIC_NAMES
    append = out.append
    for i, j, ts, vals in zip(starts, ends, series_ts, series_vals):
        sig = names[i:j]
        metric_at, order = shapes(sig) or shape(sig)
        if values[i + metric_at] not in metrics:
            check_metric(values[i + metric_at])
        labels = pairs[i:j] if order is None else order(pairs[i:j])
        if with_empty:
            labels = tuple(p for p in labels if p[1])
        append(Batch(labels, ts, vals))


class _Flat:
    """A request's label names and values as flat lists, paired label by label."""

    __slots__ = ("names", "values", "pairs", "with_empty")

    def __init__(self, raw: bytes, label_bytes: tuple, where: Optional[tuple] = None):
        labels = _VIEWS.FlatRequest.FromString(raw).timeseries.labels
        self.names = names = tuple(labels.name)
        self.values = values = list(labels.value)
        if len(values) != len(names) or len(names) != len(label_bytes):
            raise Unusual()
        _check_pairing(label_bytes, where)
        self.with_empty = "" in values
        self.pairs = shared_pairs(names, values)

    def labels(self, i: int, j: int) -> tuple:
        """The labels of the series whose Label messages are the ``i``-th to ``j``-th."""
        metric_at, order = shape(self.names[i:j])
        check_metric(self.values[i + metric_at])
        labels = self.pairs[i:j] if order is None else order(self.pairs[i:j])
        if self.with_empty:
            labels = tuple(p for p in labels if p[1])
        return labels


def _check_pairing(label_bytes: tuple, where: Optional[tuple] = None) -> None:
    """Raise ``Unusual`` unless every Label message of the request holds exactly one name
    and one value field (so the flat lists pair up). The usual layout (name, then value,
    both under 128 bytes) is checked for all labels at once; the others byte by byte.
    ``where``: ``(buffer, starts, lengths)`` of the Label messages in a uint8 array (padded
    past the end), when the caller has them; else they are joined here."""
    count = len(label_bytes)
    if not count:
        return
    if where is None:
        lens = np.fromiter(map(len, label_bytes), np.int64, count)
        start = np.cumsum(lens) - lens
        buf = np.frombuffer(b"".join(label_bytes + (_PAD,)), np.uint8)
    else:
        buf, start, lens = where
    name_len = buf[start + 1].astype(np.int64)
    value_at = start + 2 + name_len
    value_len = buf[value_at + 1]
    usual = (buf[start] == 0x0A) & (name_len < 0x80) & (buf[value_at] == 0x12) \
        & (value_len < 0x80) & (lens == name_len + value_len + 4)
    if not usual.all():
        for k in np.flatnonzero(~usual).tolist():
            if sorted(_field_tags(label_bytes[k])) != [0x0A, 0x12]:
                raise Unusual()


def _field_tags(b: bytes) -> list[int]:
    """The tags of a Label message's fields, in order; ``Unusual`` for anything but
    length-delimited fields 1 and 2 (unknown fields, a bad length)."""
    tags = []
    i, n = 0, len(b)
    while i < n:
        tag = b[i]
        if tag != 0x0A and tag != 0x12:
            raise Unusual()
        size = shift = 0
        while True:
            i += 1
            if i >= n or shift > 28:
                raise Unusual()
            c = b[i]
            size |= (c & 0x7F) << shift
            if c < 0x80:
                break
            shift += 7
        i += 1 + size
        if i > n:
            raise Unusual()
        tags.append(tag)
    return tags
