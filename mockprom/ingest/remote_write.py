"""Prometheus remote write 1.0: decode a snappy-compressed ``prometheus.WriteRequest``
into batches of samples (``acceptance.Batch``) for ``acceptance.commit`` to append.

Decode errors answer 400 with Go's error text (``snappy: corrupt input``). Labels are
checked under a *policy* (``acceptance.label_problem``): ``strict`` refuses the request
(400) for a series without ``__name__``, with invalid label or metric names (legacy
character set) or a repeated label name; ``store`` (2.42) and ``drop`` (3.5) mark such
series with the problem and leave the verdict to the commit (2.42 stores most of them,
3.5 drops them). Samples keep their request order: the commit checks and orders them.
Native histograms (the ``histograms`` field) come in ``Batch.hists`` after the floats.
Metadata and exemplars are not read here (the parser skips them).

Speed: ``decode`` first tries ``remote_write_fast``, which reads the whole request's label
names and values as two flat lists and builds each series' labels from a cached *shape*
of its names; only label sets valid under every policy (legacy names, a metric name, no
repeated name) take that path; anything else (an error, an unusual Label layout) is
handed to the reference decode, which answers as before, so both paths agree
(``tests/test_ingest_decode_paths.py``). While a request builds its series the cyclic
garbage collector is paused (``gc_paused``): a batch of new series would otherwise set it
scanning the growing store every few hundred objects.
"""

from __future__ import annotations

import contextlib
import gc
import threading

import cramjam

from mockprom.ingest import label_shapes as shapes
from mockprom.ingest import remote_write_fast as fast
from mockprom.ingest.acceptance import Batch, canonical, label_problem, LabelProblem
from mockprom.ingest.errors import IngestError
from mockprom.ingest.protobuild import build
from mockprom.ingest.prompb import V1
from mockprom.scenario.labels import Labels

MAX_DECOMPRESSED_BYTES = 32 * 1024 * 1024

# -- message classes ------------------------------------------------------------------
WriteRequest, TimeSeries, Label, Sample = V1.WriteRequest, V1.TimeSeries, V1.Label, V1.Sample

# Views of the same wire format: a series' labels as the raw bytes of each Label message
# (the fast path keys its caches on them), and a Label whose strings are bytes (so that
# invalid UTF-8 reaches the label checks instead of failing the parse).
_RAW = build("mockprom/prompb/raw.proto", "prometheus_raw", {
    "Sample": [("value", 1, "double"), ("timestamp", 2, "int64")],
    "TimeSeries": [("labels", 1, "bytes", "repeated"), ("samples", 2, "Sample", "repeated"),
                   ("histograms", 4, "bytes", "repeated")],
    "WriteRequest": [("timeseries", 1, "TimeSeries", "repeated")],
    "Label": [("name", 1, "bytes"), ("value", 2, "bytes")],
})
_RawWriteRequest = _RAW.WriteRequest


# -- decoding -----------------------------------------------------------------------------
DecodedSeries = Batch  # the former name


def _snappy_length(body: bytes) -> int:
    """The uncompressed length a snappy block announces (a leading uvarint)."""
    n = shift = 0
    for i, b in enumerate(body[:10]):
        n |= (b & 0x7F) << shift
        if not b & 0x80:
            return n
        shift += 7
    raise IngestError("snappy: corrupt input")


def decompress(body: bytes) -> bytes:
    if not body:
        raise IngestError("snappy: corrupt input")  # as Go answers an empty body
    size = _snappy_length(body)
    if size > MAX_DECOMPRESSED_BYTES:
        # Prometheus 3's words (2.42 has no limit: mockprom keeps 3's for both)
        raise IngestError(f"snappy: decoded length {size} exceeds limit {MAX_DECOMPRESSED_BYTES}")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except Exception:  # cramjam raises its own DecompressionError
        raise IngestError("snappy: corrupt input") from None


def parse_request(raw: bytes):
    req = WriteRequest()
    try:
        req.ParseFromString(raw)
    except Exception as err:
        raise IngestError(f"proto: cannot unmarshal WriteRequest: {err}") from None
    return req


_LABELS_CACHE: dict[tuple, Labels] = {}  # validated label pairs (as sent) -> Labels
_LABELS_CACHE_MAX = 200_000
# the fast path's caches, under the names tests clear them by for a cold start
_RAW_LABELS_CACHE, _PAIR_CACHE, _METRIC_NAMES = fast.LABELS, shapes.PAIRS, shapes.METRIC_NAMES


def _series_labels(pairs: tuple) -> Labels:
    """Validate one series' labels (any order) strictly and return the canonical label
    set. Senders repeat the same series in every request, so validated sets are cached."""
    hit = _LABELS_CACHE.get(pairs)
    if hit is not None:
        return hit
    problem = label_problem(pairs, "strict")
    if problem is not None:
        raise problem.v1_error()
    labels = canonical(pairs)
    if len(_LABELS_CACHE) >= _LABELS_CACHE_MAX:
        _LABELS_CACHE.clear()
    _LABELS_CACHE[pairs] = labels
    return labels


def decode(body: bytes, policy: str = "strict") -> list[Batch]:
    """Decode a remote-write body into batches (one per TimeSeries with samples, in
    request order), checking labels under ``policy``. Raises IngestError."""
    return decode_raw(decompress(body), policy)


def decode_raw(raw: bytes, policy: str = "strict") -> list[Batch]:
    """``decode`` of a body already decompressed."""
    with gc_paused():
        try:
            return _decode_fast(raw)
        except Exception:  # an unusual label, a bad label or body: the reference path decides
            pass
        return _decode_reference(raw, policy)


_decode_fast = fast.decode


def _decode_reference(raw: bytes, policy: str = "strict") -> list[Batch]:
    """The plain decode, every error as Prometheus words it: protobuf Label objects
    (strict), or labels read as bytes, so that names the strict policy refuses (invalid
    UTF-8 too) reach the emulated version's verdict."""
    out = []
    if policy == "strict":
        for series in parse_request(raw).timeseries:
            labels = _series_labels(tuple([(l.name, l.value) for l in series.labels]))
            if series.samples or series.histograms:
                out.append(Batch(labels, [s.timestamp for s in series.samples],
                                 [s.value for s in series.samples],
                                 hists=histogram_samples(series.histograms)))
        return out
    req = _RawWriteRequest()
    try:
        req.ParseFromString(raw)
    except Exception as err:
        raise IngestError(f"proto: cannot unmarshal WriteRequest: {err}") from None
    for series in req.timeseries:
        if not series.samples and not series.histograms:
            continue
        pairs, utf8 = _text_pairs(series.labels)
        problem = label_problem(pairs, policy) if utf8 or policy == "store" else \
            LabelProblem("invalid", tuple(sorted(pairs, key=lambda p: p[0])))
        labels = () if problem is not None else canonical(pairs)
        hists = []
        for raw_h in series.histograms:
            try:
                hists.append(V1.Histogram.FromString(raw_h))
            except Exception as err:
                raise IngestError(f"proto: cannot unmarshal WriteRequest: {err}") from None
        out.append(Batch(labels, [s.timestamp for s in series.samples],
                         [s.value for s in series.samples], problem,
                         hists=histogram_samples(hists)))
    return out


def histogram_samples(messages) -> list:
    """``Batch.hists`` of a series' Histogram messages: ``(t_ms, FloatHistogram, int)``."""
    if not messages:
        return []
    from mockprom.histograms.convert import from_remote

    out = []
    for m in messages:
        h, is_int = from_remote(m)
        out.append((int(m.timestamp), h, is_int))
    return out


def _text_pairs(raw_labels) -> tuple[tuple, bool]:
    """The ``(name, value)`` pairs of raw Label messages (invalid UTF-8 replaced by U+FFFD)
    and whether all of them were valid UTF-8."""
    pairs, valid = [], True
    for b in raw_labels:
        label = _RAW.Label()
        try:
            label.ParseFromString(b)
        except Exception as err:
            raise IngestError(f"proto: cannot unmarshal WriteRequest: {err}") from None
        try:
            pairs.append((label.name.decode("utf-8"), label.value.decode("utf-8")))
        except UnicodeDecodeError:
            valid = False
            pairs.append((label.name.decode("utf-8", "replace"), label.value.decode("utf-8", "replace")))
    return tuple(pairs), valid


# -- encoding (clients, tests and the benchmark) -------------------------------------------
def encode(series: list[tuple[dict | list, list[tuple[int, float]]]]) -> bytes:
    """A snappy-compressed WriteRequest from ``[(labels, [(t_ms, value), ...]), ...]``;
    labels as a dict or a list of pairs (kept in the given order)."""
    req = WriteRequest()
    for labels, samples in series:
        ts = req.timeseries.add()
        pairs = labels.items() if isinstance(labels, dict) else labels
        ts.labels.extend(Label(name=n, value=v) for n, v in pairs)
        ts.samples.extend(Sample(timestamp=int(t), value=float(v)) for t, v in samples)
    return bytes(cramjam.snappy.compress_raw(req.SerializeToString()))


# -- appending (the server goes through ``receive``; this is for tools and benchmarks) -----
def append(store, batches: list[Batch], lock: threading.Lock, head=None, now_ms=None,
           rules=None) -> int:
    """Append decoded batches to ``store`` all or nothing (``acceptance.commit``) as the
    emulated version ``rules`` (3.5 by default) would, with ``head`` (a fresh one by
    default) and the clock at ``now_ms`` (by default the newest sample's time); returns
    the number of samples accepted. Raises IngestError."""
    from mockprom.ingest.acceptance import RULES, Head, Window, commit

    head = head if head is not None else Head()
    if now_ms is None:
        now_ms = max((max(b.ts) for b in batches if b.ts), default=0)
    with lock, gc_paused():
        return commit(store, head, batches, Window(head, rules or RULES["3.5"], now_ms)).samples


_gc_lock = threading.Lock()
_gc_pauses = [0, False]  # pauses under way, whether the collector was enabled before


@contextlib.contextmanager
def gc_paused():
    """Hold Python's cyclic garbage collector while a request builds its series. A batch
    of new series allocates tens of thousands of container objects, and every few
    hundred of them the collector would scan the young objects, and ever so often the
    whole store; no reference cycles are made here, so nothing waits to be collected.
    Nests and overlaps across threads: the collector is enabled again (when it was
    before the first pause) by whichever pause ends last."""
    with _gc_lock:
        if _gc_pauses[0] == 0:
            _gc_pauses[1] = gc.isenabled()
            gc.disable()
        _gc_pauses[0] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses[0] -= 1
            if _gc_pauses[0] == 0 and _gc_pauses[1]:
                gc.enable()
