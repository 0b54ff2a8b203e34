"""The sample store: every series the server knows, selectable by matchers and time.

A series comes from a *source*: fixed samples (notation, explicit samples, ingested data)
or a generator evaluated on demand on its interval grid. ``select`` returns, for each
series whose labels match, its samples inside ``[mint_ms, maxt_ms]`` (both inclusive) as
numpy arrays, staleness markers included (the engine interprets them).

Native histogram samples live beside the float samples of the same series. ``select``
returns only float samples unless asked with ``histograms=True``; then ``SeriesData.hists``
holds, aligned with ``ts``, the ``FloatHistogram`` of each histogram sample (``None`` at
float samples; the value there is NaN), or is None when the window holds no histogram.
Listing series and labels counts histogram samples as samples.

Thread safe: writers (ingestion, deletes) change the tables under a lock, in place, so
that adding series costs what is added (not the size of the store); readers never iterate
the series dict (a dict must not change size while iterated): they list series from
``_order`` and ``_by_name``, lists only ever appended to in place (a removal replaces
them), and look sources up in the dict.

*Series providers* add computed series (recording rules, ``ALERTS``): an object with
``select(matchers, mint_ms, maxt_ms) -> list[SeriesData]`` and ``label_sets(mint_ms=None,
maxt_ms=None, matchers=None) -> list[Labels]``, registered with ``add_provider``;
``select``, ``series_in_range``, ``label_names`` and ``label_values`` consult them.
``data_version()`` changes whenever stored data may have changed (providers key their
caches on it).
"""

from __future__ import annotations

import struct
import threading
from operator import itemgetter
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

import numpy as np

from mockprom.histograms.column import HistogramColumn
from mockprom.histograms.float_histogram import FloatHistogram
from mockprom.scenario.labels import METRIC_NAME, Labels, Matcher, series_matches

MIN_TIME_MS = -(2**62)
MAX_TIME_MS = 2**62

EMPTY_TS = np.zeros(0, dtype=np.int64)
EMPTY_VALS = np.zeros(0, dtype=np.float64)

_APPENDS = [0]  # bumped by every append to any AppendableSource (see Store.data_version)


@dataclass
class SeriesData:
    """The samples of one series within a selected window, ascending by time."""

    labels: Labels
    ts: np.ndarray  # int64 milliseconds
    vals: np.ndarray  # float64, staleness markers as STALE_NAN
    # Native histograms aligned with ts (only with select(histograms=True)): an object
    # array with None at float samples, or a HistogramColumn when every sample is one.
    hists: Optional[object] = None


def histogram_mask(hists, n: int) -> np.ndarray:
    """Which of ``n`` samples are histograms, given a ``SeriesData.hists``."""
    if hists is None:
        return np.zeros(n, dtype=bool)
    if isinstance(hists, HistogramColumn):
        return np.ones(n, dtype=bool)
    return np.fromiter((h is not None for h in hists), dtype=bool, count=n)


def as_objects(hists, n: int) -> np.ndarray:
    """``hists`` as an object array of length ``n`` (None where there is no histogram)."""
    if hists is None:
        return np.full(n, None, dtype=object)
    if isinstance(hists, HistogramColumn):
        return hists.to_objects()
    return hists


def split_values(vals) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Sample values that may hold ``FloatHistogram`` objects: the float64 array (NaN at
    histograms) and the object array of histograms (None when there is none)."""
    if isinstance(vals, np.ndarray) and vals.dtype != object:
        return vals.astype(np.float64, copy=False), None
    vals = list(vals)
    if not any(isinstance(v, FloatHistogram) for v in vals):
        return np.asarray(vals, dtype=np.float64), None
    hists = np.empty(len(vals), dtype=object)
    floats = np.empty(len(vals), dtype=np.float64)
    for i, v in enumerate(vals):
        if isinstance(v, FloatHistogram):
            hists[i] = v
            floats[i] = np.nan
        else:
            hists[i] = None
            floats[i] = v
    return floats, hists


class TooManySamples(Exception):
    """A selection would hold more samples than the caller's budget (``max_samples``)."""


def estimate_samples(source, mint_ms: int, maxt_ms: int) -> int:
    """How many samples ``source`` holds in ``[mint_ms, maxt_ms]``, without building them:
    exact for stored samples, the grid count (an upper bound) for generated ones."""
    b = source.bounds()
    if b is None:
        return 0
    lo, hi = max(mint_ms, b[0]), min(maxt_ms, b[1])
    if lo > hi:
        return 0
    if isinstance(source, GeneratedSource):
        return (hi - lo) // source.interval_ms + 1
    return len(_window(source, lo, hi)[0])


def _sample_bound(series, matching, mint_ms: int, maxt_ms: int) -> int:
    """At least as many samples as ``estimate_samples`` counts over the matching series,
    cheaply (stored samples counted whole): when this is within a budget, so is that."""
    total = 0
    for labels in matching:
        for src in _sources(series.get(labels)):
            if isinstance(src, StaticSource):
                total += len(src.ts)
            elif isinstance(src, AppendableSource):
                total += src.stored()
            else:
                total += estimate_samples(src, mint_ms, maxt_ms)
    return total


def _window(source, mint_ms: int, maxt_ms: int):
    """``(ts, vals, hists)`` of every sample of ``source`` in the window (providers'
    series and sources without histograms have only ``samples``)."""
    fn = getattr(source, "samples_h", None)
    if fn is not None:
        return fn(mint_ms, maxt_ms)
    ts, vals = source.samples(mint_ms, maxt_ms)
    return ts, vals, None


class StaticSource:
    """A series with a fixed, sorted array of samples. ``vals`` may hold
    ``FloatHistogram`` objects (native histogram samples) among the floats."""

    def __init__(self, ts: Sequence[int] | np.ndarray, vals: Sequence | np.ndarray):
        self.ts = np.asarray(ts, dtype=np.int64)
        self.vals, self.hists = split_values(vals)
        if len(self.ts) > 1 and np.any(np.diff(self.ts) <= 0):
            order = np.argsort(self.ts, kind="stable")
            keep = _last_of_runs(self.ts[order])
            self.ts, self.vals = self.ts[order][keep], self.vals[order][keep]
            if self.hists is not None:
                self.hists = self.hists[order][keep]
        self._floats = None  # (ts, vals) of the float samples alone, when there are hists
        if self.hists is not None:
            fmask = ~histogram_mask(self.hists, len(self.ts))
            self._floats = (self.ts[fmask], self.vals[fmask])

    def samples(self, mint_ms: int, maxt_ms: int) -> tuple[np.ndarray, np.ndarray]:
        ts, vals = (self.ts, self.vals) if self._floats is None else self._floats
        lo = ts.searchsorted(mint_ms, side="left")
        hi = ts.searchsorted(maxt_ms, side="right")
        return ts[lo:hi], vals[lo:hi]

    def samples_h(self, mint_ms: int, maxt_ms: int):
        """``(ts, vals, hists)`` of every sample in the window (hists None when the
        window holds no histogram)."""
        lo = self.ts.searchsorted(mint_ms, side="left")
        hi = self.ts.searchsorted(maxt_ms, side="right")
        if self.hists is None:
            return self.ts[lo:hi], self.vals[lo:hi], None
        return self.ts[lo:hi], self.vals[lo:hi], self.hists[lo:hi]

    def bounds(self) -> Optional[tuple[int, int]]:
        if len(self.ts) == 0:
            return None
        return int(self.ts[0]), int(self.ts[-1])


class GeneratedSource:
    """A series defined by a pure function of time on a grid ``anchor + k * interval``.

    ``fn(ts)`` takes an int64 array of grid timestamps (ms) and returns either a float64
    array of values, or a pair ``(values, present)`` where ``present`` is a boolean mask
    (False for gaps, e.g. dropout). ``first_ms`` / ``last_ms`` optionally bound the series.
    """

    def __init__(self, fn: Callable, interval_ms: int, anchor_ms: int = 0,
                 first_ms: Optional[int] = None, last_ms: Optional[int] = None,
                 histogram: bool = False):
        if interval_ms <= 0:
            raise ValueError("interval must be positive")
        self.fn = fn
        self.interval_ms = int(interval_ms)
        self.anchor_ms = int(anchor_ms)
        self.first_ms = first_ms
        self.last_ms = last_ms
        # A native-histogram generator: fn returns a HistogramColumn (or a pair
        # (column, present)) and the series has no float samples.
        self.histogram = histogram

    MAX_POINTS_PER_SELECT = 5_000_000

    def samples(self, mint_ms: int, maxt_ms: int) -> tuple[np.ndarray, np.ndarray]:
        if self.histogram:
            return EMPTY_TS, EMPTY_VALS
        return self._generate(mint_ms, maxt_ms)[:2]

    def samples_h(self, mint_ms: int, maxt_ms: int):
        if not self.histogram:  # floats: as ``samples`` gives them (subclasses override it)
            ts, vals = self.samples(mint_ms, maxt_ms)
            return ts, vals, None
        return self._generate(mint_ms, maxt_ms)

    def _generate(self, mint_ms: int, maxt_ms: int):
        if self.first_ms is not None:
            mint_ms = max(mint_ms, self.first_ms)
        if self.last_ms is not None:
            maxt_ms = min(maxt_ms, self.last_ms)
        if maxt_ms < mint_ms:
            return EMPTY_TS, EMPTY_VALS, None
        step = self.interval_ms
        k0 = -((self.anchor_ms - mint_ms) // step)  # ceil((mint - anchor) / step)
        k1 = (maxt_ms - self.anchor_ms) // step
        if k1 < k0:
            return EMPTY_TS, EMPTY_VALS, None
        if k1 - k0 + 1 > self.MAX_POINTS_PER_SELECT:
            # An unbounded window over an endless series: refuse rather than answer with
            # part of the data (or exhaust memory).
            raise TooManySamples(f"{k1 - k0 + 1} samples in one series")
        ts = self.anchor_ms + np.arange(k0, k1 + 1, dtype=np.int64) * step
        out = self.fn(ts)
        present = None
        if isinstance(out, tuple):
            out, present = out
            present = np.asarray(present, dtype=bool)
        if self.histogram:
            if present is not None:
                ts, out = ts[present], out[present]
            return ts, np.full(len(ts), np.nan), out
        vals = np.asarray(out, dtype=np.float64)
        if present is not None:
            return ts[present], vals[present], None
        return ts, vals, None

    def bounds(self) -> Optional[tuple[int, int]]:
        lo = self.first_ms if self.first_ms is not None else MIN_TIME_MS
        hi = self.last_ms if self.last_ms is not None else MAX_TIME_MS
        return lo, hi


_SAMPLE = struct.Struct("=qd")  # one appended sample: int64 time (ms), float64 value
_FIRST, _ONE = itemgetter(0), 1
_SAMPLE_DTYPE = np.dtype([("t", "=i8"), ("v", "=f8")])


def packed_samples(ts: Sequence[int], vals: Sequence[float]) -> bytearray:
    """Samples as an ``AppendableSource`` keeps them."""
    if len(ts) == 1:
        return bytearray(_SAMPLE.pack(ts[0], vals[0]))
    return bytearray(b"".join(map(_SAMPLE.pack, ts, vals)))


class AppendableSource:
    """Samples appended over time (remote write, Pushgateway); in order per series.

    The samples are one ``bytearray`` (int64 time and float64 value, 16 bytes a sample),
    grown in place: compact, and not an object the cyclic garbage collector tracks. A
    series of the store that has nothing else (no other source, no native histogram) is
    kept in the store as that bytearray alone, and an AppendableSource is a view of it,
    made when the series is read or written: a store of many ingested series then holds
    no object per series for the collector to scan at every full collection.

    A view given to a writer knows its ``home`` (the store and labels). When the series
    gets its first native histogram, the view writing it becomes the series' entry (the
    same bytearray, now with the histograms beside it); any other view of the series
    then writes through that one (``_target``), so that no sample goes astray and the
    histograms stay aligned. (A reader that took a view of the bare series at that very
    moment may see the first histogram's NaN as a float sample in that one answer.)
    Readers copy the samples before viewing them (a bytearray that is viewed cannot grow).
    """

    __slots__ = ("_cols", "_hists", "_frozen", "_home")

    def __init__(self, cols: Optional[bytearray] = None, home: Optional[tuple] = None):
        self._cols = bytearray() if cols is None else cols
        # Native histograms, aligned with the samples (None at float samples); None until
        # the first histogram sample is appended.
        self._hists: Optional[list] = None
        self._frozen: Optional[tuple] = None  # (ts, vals, hists) arrays of a snapshot
        self._home = home  # (store, labels) of a view of a bare series (see above)

    def __len__(self) -> int:
        return len(self._cols) >> 4

    def last_sample(self) -> Optional[tuple[int, float]]:
        """The newest sample ``(t_ms, value)``, or None when empty."""
        cols = self._cols
        if not cols:
            return None
        return _SAMPLE.unpack_from(cols, len(cols) - 16)

    def _target(self) -> "AppendableSource":
        """The source to write through: this one, or (this a view of a series that has
        become more than its bare samples) the series' own source of the same samples."""
        store, labels = self._home
        entry = store._series.get(labels)
        if entry is self._cols or entry is None or type(entry) is bytearray:
            return self
        src = _appendable_in(entry)
        return src if src is not None and src._cols is self._cols else self

    def append(self, t_ms: int, v: float) -> None:
        """Append one sample. Raises ``ValueError`` for an out-of-order timestamp; a
        duplicate timestamp with a different value is refused as Prometheus refuses it."""
        if self._home is not None and self._target() is not self:
            return self._target().append(t_ms, v)
        last = self.last_sample()
        if last is not None:
            if t_ms < last[0]:
                raise ValueError("out of order sample")
            if t_ms == last[0]:
                old = last[1]
                same = (old == v) or (old != old and v != v)
                if not same:
                    raise ValueError("duplicate sample for timestamp")
                return
        if self._hists is not None:
            self._hists.append(None)
        self._cols += _SAMPLE.pack(int(t_ms), float(v))
        self._frozen = None
        _APPENDS[0] += 1

    def append_histogram(self, t_ms: int, h: FloatHistogram) -> None:
        """Append one native histogram sample; the same ordering rules as ``append``
        (a duplicate timestamp must carry an identical histogram)."""
        if self._home is not None:
            target = self._target()
            if target is not self:
                return target.append_histogram(t_ms, h)
        last = self.last_sample()
        if last is not None:
            if t_ms < last[0]:
                raise ValueError("out of order sample")
            if t_ms == last[0]:
                old = self.last_histogram()
                if old is None or not old.equals(h):
                    raise ValueError("duplicate sample for timestamp")
                return
        if self._home is not None:
            store, labels = self._home
            target = store._adopt(labels, self)
            if target is not self:
                return target.append_histogram(t_ms, h)
        if self._hists is None:
            self._hists = [None] * len(self)
        self._hists.append(h)
        self._cols += _SAMPLE.pack(int(t_ms), float("nan"))
        self._frozen = None
        _APPENDS[0] += 1

    def stored(self) -> int:
        """How many samples the series holds."""
        return len(self)

    def last_histogram(self) -> Optional[FloatHistogram]:
        """The newest sample's histogram when it is a native histogram, else None."""
        if self._home is not None and self._target() is not self:
            return self._target().last_histogram()
        if not self._cols or self._hists is None:
            return None
        return self._hists[len(self) - 1]

    def extend(self, ts: list, vals: list) -> None:
        """Append many samples at once; the caller has checked that they are strictly
        increasing in time and newer than ``last_sample()``."""
        if self._home is not None and self._target() is not self:
            return self._target().extend(ts, vals)
        if self._hists is not None:
            self._hists.extend([None] * len(ts))
        if len(ts) == 1:
            self._cols += _SAMPLE.pack(ts[0], vals[0])
        else:
            self._cols += b"".join(map(_SAMPLE.pack, ts, vals))
        self._frozen = None
        _APPENDS[0] += 1

    def _arrays(self) -> tuple:
        frozen = self._frozen
        if frozen is None or len(frozen[0]) != len(self):
            n = len(self)
            hists = None
            if self._hists is not None:
                hists = np.empty(n, dtype=object)
                hists[:] = self._hists[:n]
            # a copy first (the samples may grow meanwhile), then columns of the copy
            both = np.frombuffer(self._cols[:16 * n], dtype=_SAMPLE_DTYPE)
            frozen = (np.ascontiguousarray(both["t"]), np.ascontiguousarray(both["v"]), hists)
            self._frozen = frozen
        return frozen

    def samples(self, mint_ms: int, maxt_ms: int) -> tuple[np.ndarray, np.ndarray]:
        ts, vals, hists = self.samples_h(mint_ms, maxt_ms)
        if hists is not None:
            fmask = ~histogram_mask(hists, len(ts))
            return ts[fmask], vals[fmask]
        return ts, vals

    def samples_h(self, mint_ms: int, maxt_ms: int):
        ts, vals, hists = self._arrays()
        lo = ts.searchsorted(mint_ms, side="left")
        hi = ts.searchsorted(maxt_ms, side="right")
        return ts[lo:hi], vals[lo:hi], (None if hists is None else hists[lo:hi])

    def bounds(self) -> Optional[tuple[int, int]]:
        cols = self._cols
        if not cols:
            return None
        return _SAMPLE.unpack_from(cols, 0)[0], _SAMPLE.unpack_from(cols, len(cols) - 16)[0]


# A series' entry in ``Store._series``: a bytearray (the samples of a series that has
# nothing but appended samples, see AppendableSource), a source, or a list of sources.

def _sources(entry) -> Sequence:
    """The sources of a series' entry (None: no series)."""
    if entry is None:
        return ()
    if type(entry) is list:
        return entry
    return (AppendableSource(entry),) if type(entry) is bytearray else (entry,)


def _appendable_in(entry) -> Optional[AppendableSource]:
    """The appendable source among a series' sources (an object or a list), if any."""
    for src in (entry if type(entry) is list else (entry,)):
        if isinstance(src, AppendableSource):
            return src
    return None


def _with_source(entry, src) -> object:
    """A series' entry with one source more (``entry`` None: a new series)."""
    if entry is None:
        return src
    if type(entry) is bytearray:
        entry = AppendableSource(entry)
    return entry + [src] if type(entry) is list else [entry, src]


@dataclass(frozen=True)
class Tombstone:
    matchers: tuple[Matcher, ...]
    mint_ms: int
    maxt_ms: int


class Store:
    """All series, by label set. Several sources with the same labels are merged (by
    timestamp; at equal timestamps the later-added source wins)."""

    def __init__(self):
        self._lock = threading.RLock()
        # labels -> the series' entry: its bare appended samples (a bytearray), its source
        # or a list of its sources (see AppendableSource); lookups only
        self._series: dict[Labels, object] = {}
        self._order: list[Labels] = []  # every series' labels, in the order first seen
        self._by_name: dict[str, list[Labels]] = {}  # metric name -> its series' labels
        self._tombstones: list[Tombstone] = []
        self._providers: list = []
        self._version = 0

    # -- series providers -----------------------------------------------------------
    def add_provider(self, provider) -> None:
        """Register a series provider (see the module docstring)."""
        with self._lock:
            self._providers = self._providers + [provider]

    @property
    def providers(self) -> list:
        return list(self._providers)

    def data_version(self) -> tuple:
        """Changes whenever series were added or removed, samples appended or deleted."""
        return (self._version, _APPENDS[0])

    # -- building -------------------------------------------------------------------
    def add(self, labels: Labels, source) -> None:
        """Add a source for the series ``labels`` (a canonical ``Labels`` tuple)."""
        self.add_many([(labels, source)])

    def add_many(self, items: Sequence[tuple[Labels, object]]) -> None:
        """Add ``(labels, source)`` pairs. The tables change in place, in time proportional
        to the items added (readers list series from ``_order``, see the module docstring)."""
        if not items:
            return
        with self._lock:
            series = self._series
            added = []
            for labels, src in items:
                entry = series.get(labels)
                series[labels] = _with_source(entry, src)
                if entry is None:
                    added.append(labels)
            self._index(added)
            self._version += 1

    def _index(self, added: list) -> None:
        """List series just added to ``_series`` in ``_order`` and ``_by_name``."""
        if not added:
            return
        self._order.extend(added)
        by_name = self._by_name
        first = added[0][0] if added[0] else None
        if first is not None and first[0] == METRIC_NAME and all(added) \
                and all(map(first.__eq__, map(_FIRST, added))):  # one metric name, first
            same_name = by_name.get(first[1])
            if same_name is None:
                by_name[first[1]] = list(added)
            else:
                same_name.extend(added)
            return
        for labels in added:
            # the name is the first label when present, but for names sorting before it
            name = labels[0][1] if labels and labels[0][0] == METRIC_NAME \
                else dict(labels).get(METRIC_NAME, "")
            same_name = by_name.get(name)
            if same_name is None:
                by_name[name] = [labels]
            else:
                same_name.append(labels)

    def appendable(self, labels: Labels) -> AppendableSource:
        """The appendable source of ``labels`` (created on first use)."""
        return self.appendables([labels])[0]

    def appendables(self, labels_list: Sequence[Labels]) -> list[AppendableSource]:
        """``appendable`` for many series at once (remote write may bring thousands of new
        series at a time): one lookup each, the new series indexed together."""
        with self._lock:
            series = self._series
            get = series.get
            out: list = []
            append = out.append
            added = []
            views: dict = {}  # one view per series (a label set may come twice)
            changed = False
            for labels in labels_list:
                entry = get(labels)
                if entry is None:
                    cols = series[labels] = bytearray()
                    src = views[labels] = AppendableSource(cols, (self, labels))
                    added.append(labels)
                elif type(entry) is bytearray:
                    src = views.get(labels)
                    if src is None:
                        src = views[labels] = AppendableSource(entry, (self, labels))
                else:
                    src = _appendable_in(entry)
                    if src is None:
                        src = AppendableSource()
                        series[labels] = _with_source(entry, src)
                        changed = True
                append(src)
            if added or changed:
                self._index(added)
                self._version += 1
            return out

    def add_new_samples(self, labels_list: Sequence[Labels], ts_lists: Sequence[list],
                        vals_lists: Sequence[list]) -> bool:
        """Add series that are all new, with their samples (checked, in order); or, when
        one of them exists already or comes twice, change nothing and return False."""
        if all(map(_ONE.__eq__, map(len, ts_lists))):  # a sample each: packed in C
            entries = map(bytearray, map(_SAMPLE.pack, map(_FIRST, ts_lists), map(_FIRST, vals_lists)))
        else:
            entries = map(packed_samples, ts_lists, vals_lists)
        new = dict(zip(labels_list, entries))
        with self._lock:
            series = self._series
            if len(new) != len(labels_list) or not series.keys().isdisjoint(new):
                return False
            series.update(new)  # (a dict's update reuses the hashes it has)
            self._index(labels_list)
            self._version += 1
            _APPENDS[0] += 1
            return True

    def _adopt(self, labels: Labels, view: AppendableSource) -> AppendableSource:
        """Make ``view`` (of a bare series, about to hold a native histogram) the series'
        source in place of its bare samples; returns the source to write through (the
        view, or the series' own if another took that place first)."""
        with self._lock:
            if self._series.get(labels) is view._cols:
                self._series[labels] = view
                view._home = None
                return view
            return view._target()

    def remove_series(self, labels: Labels) -> None:
        with self._lock:
            if labels not in self._series:
                return
            self._order = [l for l in self._order if l != labels]
            name = dict(labels).get(METRIC_NAME, "")
            self._by_name[name] = [l for l in self._by_name.get(name, []) if l != labels]
            del self._series[labels]
            self._version += 1

    def delete(self, matchers: Sequence[Matcher], mint_ms: int = MIN_TIME_MS,
               maxt_ms: int = MAX_TIME_MS) -> None:
        """Delete samples of matching series in ``[mint_ms, maxt_ms]`` (admin API)."""
        with self._lock:
            self._tombstones = self._tombstones + [Tombstone(tuple(matchers), mint_ms, maxt_ms)]
            self._version += 1

    # -- reading --------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._series)

    def __contains__(self, labels: Labels) -> bool:
        return labels in self._series

    def sources(self, labels: Labels) -> Sequence:
        """The sources of the series ``labels`` (none when there is no such series)."""
        return _sources(self._series.get(labels))

    def all_labels(self) -> list[Labels]:
        return sorted(self._order)

    def matching_labels(self, matchers: Sequence[Matcher], sort: bool = True) -> list[Labels]:
        """Label sets of all series matching every matcher, ignoring time: sorted, or
        with ``sort=False`` in the order the store first saw them."""
        name_eq = next((m.value for m in matchers if m.name == METRIC_NAME and m.op == "="), None)
        if name_eq is not None:
            candidates: Iterable[Labels] = self._by_name.get(name_eq, ())
        else:
            candidates = self._order
        found = [l for l in candidates if series_matches(l, matchers)]
        return sorted(found) if sort else found

    def select(self, matchers: Sequence[Matcher], mint_ms: int, maxt_ms: int,
               keep_empty: bool = False, max_samples: Optional[int] = None,
               histograms: bool = False, sort: bool = True) -> list[SeriesData]:
        """Matching series with their samples in ``[mint_ms, maxt_ms]``, sorted by labels
        (with ``sort=False``: in the order the store first saw them, as a Prometheus 3
        TSDB head lists them, the providers' series last). Series with no sample in the
        window are left out unless ``keep_empty``. With ``max_samples``, raises
        ``TooManySamples`` before building a selection that would hold more samples than
        that. Native histogram samples are included (in ``SeriesData.hists``) only with
        ``histograms``."""
        series = self._series
        tombstones = self._tombstones
        out = []
        matching = self.matching_labels(matchers, sort)
        if max_samples is not None and _sample_bound(series, matching, mint_ms,
                                                     maxt_ms) > max_samples:
            total = 0
            for labels in matching:
                for src in _sources(series.get(labels)):
                    total += estimate_samples(src, mint_ms, maxt_ms)
                if total > max_samples:
                    raise TooManySamples(f"more than {max_samples} samples")
        for labels in matching:
            if histograms:
                ts, vals, hists = self._merged_h(_sources(series.get(labels)), mint_ms, maxt_ms)
            else:
                (ts, vals), hists = self._merged(_sources(series.get(labels)), mint_ms,
                                                 maxt_ms), None
            if tombstones and len(ts):
                ts, vals, hists = _apply_tombstones(labels, ts, vals, tombstones, hists)
            if len(ts) or keep_empty:
                out.append(SeriesData(labels, ts, vals, hists))
        if self._providers:
            out = self._with_provided(out, matchers, mint_ms, maxt_ms, tombstones, sort)
        return out

    def _with_provided(self, out: list[SeriesData], matchers, mint_ms: int, maxt_ms: int,
                       tombstones, sort: bool = True) -> list[SeriesData]:
        """``out`` plus the providers' series (merged by labels; sorted, or after the
        stored ones)."""
        by_labels = {sd.labels: sd for sd in out}
        added = False
        for provider in self._providers:
            for sd in provider.select(matchers, mint_ms, maxt_ms):
                ts, vals = sd.ts, sd.vals
                if tombstones and len(ts):
                    ts, vals, _ = _apply_tombstones(sd.labels, ts, vals, tombstones)
                if not len(ts):
                    continue
                old = by_labels.get(sd.labels)
                if old is not None:
                    order = np.argsort(np.concatenate([old.ts, ts]), kind="stable")
                    ts, vals = _dedupe_last(np.concatenate([old.ts, ts])[order],
                                            np.concatenate([old.vals, vals])[order])
                by_labels[sd.labels] = SeriesData(sd.labels, ts, vals)
                added = True
        if not added:
            return out
        if not sort:
            stored = [sd.labels for sd in out]
            return [by_labels[k] for k in stored] + \
                [by_labels[k] for k in sorted(set(by_labels).difference(stored))]
        return [by_labels[k] for k in sorted(by_labels)]

    def has_samples(self, labels: Labels, mint_ms: int, maxt_ms: int) -> bool:
        ts, vals, hists = self._merged_h(self.sources(labels), mint_ms, maxt_ms)
        if self._tombstones and len(ts):
            ts, vals, hists = _apply_tombstones(labels, ts, vals, self._tombstones, hists)
        return len(ts) > 0

    def series_in_range(self, matcher_sets: Sequence[Sequence[Matcher]], mint_ms: int,
                        maxt_ms: int, sort: bool = True) -> list[Labels]:
        """Label sets matching any of the matcher sets (all series if none given) that
        have at least one sample in the window; sorted, or with ``sort=False`` in the
        order the store first saw them (as a TSDB head lists series without sorting),
        the providers' series (rule outputs) last."""
        if not matcher_sets:
            candidates = set(self._order)
        else:
            candidates = set()
            for ms in matcher_sets:
                candidates.update(self.matching_labels(ms))
        found = {l for l in candidates if self._in_range(l, mint_ms, maxt_ms)}
        for provider in self._providers:
            for ms in (matcher_sets or [()]):
                found.update(provider.label_sets(mint_ms=mint_ms, maxt_ms=maxt_ms,
                                                 matchers=tuple(ms)))
        if sort:
            return sorted(found)
        stored = [l for l in self._order if l in found]
        return stored + sorted(found.difference(stored))

    def _in_range(self, labels: Labels, mint_ms: int, maxt_ms: int) -> bool:
        """Whether the series has a sample in the window (for generated sources, the most
        recent 10,000 grid points of the window are enough to tell)."""
        tombstones = self._tombstones
        for src in self.sources(labels):
            b = src.bounds()
            if b is None:
                continue
            lo, hi = max(mint_ms, b[0]), min(maxt_ms, b[1])
            if lo > hi:
                continue
            if isinstance(src, GeneratedSource):
                lo = max(lo, hi - 10_000 * src.interval_ms)
            ts, vals, _ = _window(src, lo, hi)
            if tombstones and len(ts):
                ts, vals, _ = _apply_tombstones(labels, ts, vals, tombstones)
            if len(ts):
                return True
        return False

    def label_names(self, matcher_sets: Sequence[Sequence[Matcher]], mint_ms: int,
                    maxt_ms: int) -> list[str]:
        names = set()
        for labels in self.series_in_range(matcher_sets, mint_ms, maxt_ms):
            names.update(k for k, _ in labels)
        return sorted(names)

    def label_values(self, name: str, matcher_sets: Sequence[Sequence[Matcher]],
                     mint_ms: int, maxt_ms: int) -> list[str]:
        values = set()
        for labels in self.series_in_range(matcher_sets, mint_ms, maxt_ms):
            v = dict(labels).get(name)
            if v:
                values.add(v)
        return sorted(values)

    @staticmethod
    def _merged(sources, mint_ms: int, maxt_ms: int) -> tuple[np.ndarray, np.ndarray]:
        if not sources:
            return EMPTY_TS, EMPTY_VALS
        if len(sources) == 1:
            return sources[0].samples(mint_ms, maxt_ms)
        parts = [s.samples(mint_ms, maxt_ms) for s in sources]
        ts = np.concatenate([p[0] for p in parts])
        vals = np.concatenate([p[1] for p in parts])
        order = np.argsort(ts, kind="stable")
        return _dedupe_last(ts[order], vals[order])

    @staticmethod
    def _merged_h(sources, mint_ms: int, maxt_ms: int):
        """Like ``_merged`` with every sample: ``(ts, vals, hists)``."""
        if not sources:
            return EMPTY_TS, EMPTY_VALS, None
        if len(sources) == 1:
            return _window(sources[0], mint_ms, maxt_ms)
        parts = [_window(s, mint_ms, maxt_ms) for s in sources]
        ts = np.concatenate([p[0] for p in parts])
        vals = np.concatenate([p[1] for p in parts])
        hists = None
        if any(p[2] is not None for p in parts):
            hists = np.concatenate([as_objects(p[2], len(p[0])) for p in parts])
        order = np.argsort(ts, kind="stable")
        ts, vals = ts[order], vals[order]
        keep = _last_of_runs(ts)
        if hists is not None:
            hists = hists[order][keep]
        return ts[keep], vals[keep], hists


def _last_of_runs(ts: np.ndarray) -> np.ndarray:
    """Mask keeping the last sample of each run of equal timestamps (ts sorted)."""
    keep = np.ones(len(ts), dtype=bool)
    if len(ts) > 1:
        keep[:-1] = ts[1:] != ts[:-1]
    return keep


def _dedupe_last(ts: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the last sample of each run of equal timestamps (ts sorted)."""
    if len(ts) < 2:
        return ts, vals
    keep = _last_of_runs(ts)
    return ts[keep], vals[keep]


def _apply_tombstones(labels: Labels, ts: np.ndarray, vals: np.ndarray,
                      tombstones: list[Tombstone], hists=None):
    """``(ts, vals, hists)`` without the samples deleted by matching tombstones."""
    keep = np.ones(len(ts), dtype=bool)
    for tomb in tombstones:
        if series_matches(labels, tomb.matchers):
            keep &= ~((ts >= tomb.mint_ms) & (ts <= tomb.maxt_ms))
    if keep.all():
        return ts, vals, hists
    return ts[keep], vals[keep], (None if hists is None else hists[keep])
