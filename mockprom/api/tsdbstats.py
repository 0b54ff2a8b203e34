"""TSDB statistics (``/api/v1/status/tsdb``) computed from the store: the head's counts and
the top cardinality lists, as a Prometheus head would report them for the same data."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Callable, Mapping

from mockprom.api.status_dialect import label_bytes_2_42


def _top(counter: dict, n: int = 10) -> list[dict]:
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"name": k, "value": int(v)} for k, v in items]


CHUNK_RANGE_MS = 2 * 3_600_000  # the head's chunk range (the block range)
SAMPLES_PER_CHUNK = 120


def _head_chunks(ts) -> int:
    """How many chunks Prometheus's head cuts for these sample times (``memSeries``'s
    append): a new chunk at each 2 h range boundary, at twice the samples per chunk, and
    at the end time it estimates once a chunk is a quarter full, so as to spread the
    range's samples over chunks of about 120 (``computeChunkEndTime``)."""
    chunks = 0
    start = next_at = 0
    count = 0
    for t in ts:
        t = int(t)
        if chunks == 0 or t >= next_at or count >= 2 * SAMPLES_PER_CHUNK:
            chunks += 1
            start, count = t, 0
            next_at = (t // CHUNK_RANGE_MS + 1) * CHUNK_RANGE_MS
        count += 1
        if count == SAMPLES_PER_CHUNK // 4:
            n = (next_at - start) / ((t - start + 1) * 4)
            if n > 1:
                next_at = int(start + (next_at - start) / math.floor(n))
    return chunks


def tsdb_stats(store, now_ms: int, limit: int = 10,
               label_bytes: Callable[[str, Mapping[str, int]], int] = label_bytes_2_42) -> dict:
    """Head statistics and the top-``limit`` cardinality lists, computed from the store
    (ties, which Prometheus orders at random, by name)."""
    all_labels = store.all_labels()
    by_metric = Counter()
    values_by_name: dict = defaultdict(Counter)
    pairs = Counter()
    for labels in all_labels:
        for k, v in labels:
            values_by_name[k][v] += 1
            pairs[f"{k}={v}"] += 1
            if k == "__name__":
                by_metric[v] += 1
    mint, maxt = None, None
    chunks = 0
    for labels in all_labels:
        series_lo, series_hi = None, None
        for src in store.sources(labels):
            b = src.bounds()
            if b is None:
                continue
            lo, hi = b
            if hi > now_ms:
                hi = now_ms
            if lo < now_ms - CHUNK_RANGE_MS and hi >= now_ms - CHUNK_RANGE_MS:
                lo = now_ms - CHUNK_RANGE_MS  # an endless generator: the head's window
            if lo > hi:
                continue
            series_lo = lo if series_lo is None else min(series_lo, lo)
            series_hi = hi if series_hi is None else max(series_hi, hi)
        if series_lo is None:
            chunks += 1
            continue
        mint = series_lo if mint is None else min(mint, series_lo)
        maxt = series_hi if maxt is None else max(maxt, series_hi)
        ts, _ = store._merged(store.sources(labels), series_lo, series_hi)
        chunks += max(1, _head_chunks(ts))
    head = {
        "numSeries": len(all_labels),
        "numLabelPairs": len(pairs),
        "chunkCount": chunks,
        "minTime": mint if mint is not None else 9223372036854775807,
        "maxTime": maxt if maxt is not None else -9223372036854775808,
    }
    return {
        "headStats": head,
        "seriesCountByMetricName": _top(by_metric, limit),
        "labelValueCountByLabelName": _top({k: len(v) for k, v in values_by_name.items()},
                                           limit),
        "memoryInBytesByLabelName": _top({k: label_bytes(k, v)
                                          for k, v in values_by_name.items()}, limit),
        "seriesCountByLabelValuePair": _top(pairs, limit),
    }
