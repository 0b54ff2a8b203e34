"""A pushed value as Prometheus would see it when scraping a Pushgateway.

A series pushed at time P with value V is "scraped" every interval from P on: samples at
``P, P + interval, ...`` until the value is replaced (a new segment begins at the new push
time) or the series disappears (deleted, or left out of a replacing push), which ends it
with a staleness marker at that time, as a scrape that no longer finds it would. A value
is a float or a native histogram (``FloatHistogram``, pushed in the protobuf format).
"""

from __future__ import annotations

import bisect
from typing import Optional

import numpy as np

from mockprom.histograms import FloatHistogram
from mockprom.scenario.samples import STALE_NAN
from mockprom.scenario.store import (EMPTY_TS, EMPTY_VALS, MAX_TIME_MS, GeneratedSource,
                                     TooManySamples, histogram_mask)


class PushedSource(GeneratedSource):
    """Segments ``(start_ms, end_ms | None, value, stale_at_end)``, sorted, not overlapping.
    Mutated only under the Pushgateway's lock; readers see a consistent state because every
    change replaces it as a whole instead of editing it."""

    def __init__(self, interval_ms: int):
        super().__init__(lambda ts: np.zeros(len(ts)), interval_ms)
        # (segments, their ends with MAX_TIME_MS for the open one): replaced as one tuple
        self._state: tuple[list, list] = ([], [])

    @property
    def _segments(self) -> list[tuple[int, Optional[int], float, bool]]:
        return self._state[0]

    # -- writing (under the Pushgateway lock) ------------------------------------------
    def is_live(self) -> bool:
        return bool(self._segments) and self._segments[-1][1] is None

    def set_value(self, now_ms: int, value: float) -> None:
        """The value pushed at ``now_ms``: ends the open segment there, starts a new one."""
        segs = [s for s in self._segments if s[0] < now_ms]  # a push at the same ms wins
        if segs and (segs[-1][1] is None or segs[-1][1] >= now_ms):
            start, _, v, _ = segs[-1]
            segs[-1] = (start, now_ms, v, False)  # no marker where the new value begins
        if not isinstance(value, FloatHistogram):
            value = float(value)
        segs.append((now_ms, None, value, False))
        self._publish(segs)

    def end(self, now_ms: int) -> None:
        """The series disappears at ``now_ms``: a staleness marker there."""
        if not self.is_live():
            return
        segs = list(self._segments)
        start, _, v, _ = segs[-1]
        if start >= now_ms:  # pushed and removed in the same millisecond
            segs.pop()
            if segs and segs[-1][1] == start:
                s0, _, v0, _ = segs[-1]
                segs[-1] = (s0, start, v0, True)
        else:
            segs[-1] = (start, now_ms, v, True)
        self._publish(segs)

    def _publish(self, segs) -> None:
        ends = [MAX_TIME_MS if s[1] is None else s[1] for s in segs]
        self._state = (segs, ends)

    # -- reading --------------------------------------------------------------------
    def samples(self, mint_ms: int, maxt_ms: int) -> tuple[np.ndarray, np.ndarray]:
        ts, vals, hists = self.samples_h(mint_ms, maxt_ms)
        if hists is None:
            return ts, vals
        floats = ~histogram_mask(hists, len(ts))
        return ts[floats], vals[floats]

    def samples_h(self, mint_ms: int, maxt_ms: int):
        """``(ts, vals, hists)``: hists None unless a histogram value is in the window."""
        segs, ends = self._state
        first = bisect.bisect_left(ends, mint_ms)
        parts_t, parts_v, parts_h = [], [], []
        step = self.interval_ms
        for start, end, value, stale in segs[first:]:
            if start > maxt_ms:
                break
            lo = max(mint_ms, start)
            hi = maxt_ms if end is None else min(maxt_ms, end - 1)
            if hi >= lo:
                k0 = -((start - lo) // step)  # ceil((lo - start) / step)
                k1 = (hi - start) // step
                if k1 - k0 + 1 > self.MAX_POINTS_PER_SELECT:
                    raise TooManySamples(f"{k1 - k0 + 1} samples in one series")
                if k1 >= k0:
                    ts = start + np.arange(k0, k1 + 1, dtype=np.int64) * step
                    parts_t.append(ts)
                    if isinstance(value, FloatHistogram):
                        parts_v.append(np.full(len(ts), np.nan))
                        parts_h.append((len(parts_t) - 1, value))
                    else:
                        parts_v.append(np.full(len(ts), value, dtype=np.float64))
            if stale and end is not None and mint_ms <= end <= maxt_ms:
                parts_t.append(np.array([end], dtype=np.int64))
                parts_v.append(np.array([STALE_NAN], dtype=np.float64))
        if not parts_t:
            return EMPTY_TS, EMPTY_VALS, None
        if len(parts_t) == 1:
            ts, vals = parts_t[0], parts_v[0]
        else:
            ts, vals = np.concatenate(parts_t), np.concatenate(parts_v)
        if not parts_h:
            return ts, vals, None
        hists = np.full(len(ts), None, dtype=object)
        offsets = np.cumsum([0] + [len(t) for t in parts_t])
        for part, h in parts_h:
            for i in range(offsets[part], offsets[part + 1]):
                hists[i] = h  # one object per segment: readers never change it
        return ts, vals, hists

    def bounds(self) -> Optional[tuple[int, int]]:
        segs = self._segments
        if not segs:
            return None
        last = segs[-1]
        return segs[0][0], (MAX_TIME_MS if last[1] is None else last[1])
