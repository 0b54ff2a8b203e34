"""The series ``/api/v1/series`` lists for a time window, as a Prometheus head hands them
out: by chunk, not by sample. A head chunk holds up to about 120 samples (in 3.5 also at
most ~1 KiB) and never crosses a 2 h range boundary; a series is listed when one of its
chunks overlaps the window, so also when the window falls in a gap inside one chunk
(between two samples of the same chunk), with no sample in it."""

from __future__ import annotations

from mockprom.scenario.labels import Labels, Matcher


def listed_series(store, matcher_sets, mint: int, maxt: int, sort: bool,
                  max_chunk_bytes) -> list[Labels]:
    """``store.series_in_range`` plus the series whose head chunk spans ``[mint, maxt]``
    (``max_chunk_bytes``: where the emulated head cuts a chunk by size; None: never)."""
    inside = store.series_in_range(matcher_sets, mint, maxt, sort=sort)
    from mockprom.ingest import xorchunk

    lo = xorchunk.range_start(mint)
    if lo != xorchunk.range_start(maxt):
        return inside  # a spanning chunk would cross a range boundary: none can
    hi = lo + xorchunk.CHUNK_RANGE_MS - 1
    found = set(inside)
    around = store.series_in_range(matcher_sets, lo, hi, sort=sort)
    spanning = {labels for labels in around if labels not in found
                and _chunk_spans(store, labels, mint, maxt, lo, hi, max_chunk_bytes)}
    if not spanning:
        return inside
    return [labels for labels in around if labels in found or labels in spanning]


def _chunk_spans(store, labels: Labels, mint: int, maxt: int, lo: int, hi: int,
                 max_chunk_bytes) -> bool:
    """Whether a head chunk of ``labels`` (cut from the first sample at or after the range
    start ``lo``, as the head starts a chunk there) begins before ``mint`` and ends after
    ``maxt``."""
    from mockprom.ingest import xorchunk

    matchers = [Matcher.of(name, "=", value) for name, value in labels]
    for sd in store.select(matchers, lo, hi, histograms=True):
        if sd.labels != labels:
            continue
        if sd.hists is not None or not len(sd.ts) or sd.ts[0] >= mint or sd.ts[-1] <= maxt:
            return False  # (native histogram chunks are cut otherwise: left as they are)
        return any(c.min_t < mint and c.max_t > maxt
                   for c in xorchunk.head_chunks(sd.ts.tolist(), sd.vals.tolist(),
                                                 max_chunk_bytes))
    return False
