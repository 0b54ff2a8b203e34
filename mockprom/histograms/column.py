"""Many histograms of one bucket layout as numpy arrays: how generated native histograms
are produced and held, one row per sample.

All rows share the schema, zero threshold and custom bounds; bucket counts are dense
matrices (``pos[row, j]`` is bucket ``pos_first + j``). ``column[i]`` is the
``FloatHistogram`` of row ``i`` (its spans cover the non-empty buckets);
``column[mask]``/``column[a:b]``/``column[index_array]`` select rows.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from mockprom.histograms.float_histogram import FloatHistogram


class HistogramColumn:
    __slots__ = ("schema", "zero_threshold", "custom_values", "count", "sum", "zero_count",
                 "hint", "pos", "pos_first", "neg", "neg_first")

    def __init__(self, schema: int, zero_threshold: float, count: np.ndarray, sum: np.ndarray,
                 zero_count: np.ndarray, hint: np.ndarray, pos: np.ndarray, pos_first: int,
                 neg: Optional[np.ndarray] = None, neg_first: int = 0,
                 custom_values: Sequence[float] = ()):
        n = len(count)
        self.schema = int(schema)
        self.zero_threshold = float(zero_threshold)
        self.custom_values = tuple(custom_values)
        self.count = np.asarray(count, dtype=np.float64)
        self.sum = np.asarray(sum, dtype=np.float64)
        self.zero_count = np.asarray(zero_count, dtype=np.float64)
        self.hint = np.asarray(hint, dtype=np.int8)
        self.pos = np.asarray(pos, dtype=np.float64).reshape(n, -1)
        self.pos_first = int(pos_first)
        self.neg = (np.zeros((n, 0)) if neg is None
                    else np.asarray(neg, dtype=np.float64).reshape(n, -1))
        self.neg_first = int(neg_first)

    def __len__(self) -> int:
        return len(self.count)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.row(int(key))
        return HistogramColumn(self.schema, self.zero_threshold, self.count[key],
                               self.sum[key], self.zero_count[key], self.hint[key],
                               self.pos[key], self.pos_first, self.neg[key], self.neg_first,
                               self.custom_values)

    def row(self, i: int) -> FloatHistogram:
        h = FloatHistogram(schema=self.schema, zero_threshold=self.zero_threshold,
                           zero_count=float(self.zero_count[i]), count=float(self.count[i]),
                           sum=float(self.sum[i]), custom_values=self.custom_values,
                           counter_reset_hint=int(self.hint[i]))
        h.positive_spans, h.positive_buckets = _spans(self.pos[i], self.pos_first)
        h.negative_spans, h.negative_buckets = _spans(self.neg[i], self.neg_first)
        return h

    def to_objects(self) -> np.ndarray:
        """The rows as an object array of ``FloatHistogram``."""
        out = np.empty(len(self), dtype=object)
        for i in range(len(self)):
            out[i] = self.row(i)
        return out


def _spans(dense: np.ndarray, first: int) -> tuple[list, list]:
    """Spans and counts of the non-empty entries of a dense bucket row."""
    nz = np.flatnonzero(dense)
    if len(nz) == 0:
        return [], []
    spans = []
    prev_end = None  # absolute index after the previous span
    start = nz[0]
    last = nz[0]
    for j in nz[1:]:
        if j != last + 1:
            spans.append(_span(first + start, first + last, prev_end))
            prev_end = first + last + 1
            start = j
        last = j
    spans.append(_span(first + start, first + last, prev_end))
    return spans, dense[nz].tolist()


def _span(lo: int, hi: int, prev_end: Optional[int]) -> list:
    offset = lo if prev_end is None else lo - prev_end
    return [int(offset), int(hi - lo + 1)]
