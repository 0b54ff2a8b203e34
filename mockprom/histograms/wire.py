"""Native histograms in the JSON of the query API, as Prometheus writes them
(``jsonutil.MarshalHistogram``)::

    {"count":"42","sum":"34593.34","buckets":[[3,"-0.25","0.25","3"],[0,"0.25","0.5","12"]]}

Buckets in ascending order, empty ones left out (``buckets`` is absent when all are
empty). The first element of a bucket tells which boundaries are inclusive: 0 upper
only (left open), 1 lower only, 2 neither, 3 both. Numbers are strings formatted like
sample values; the caller passes that formatter (``api.format.sample_value``).
"""

from __future__ import annotations

from typing import Callable

from mockprom.histograms.float_histogram import FloatHistogram


def boundary_rule(lower_inclusive: bool, upper_inclusive: bool) -> int:
    if lower_inclusive:
        return 3 if upper_inclusive else 1
    return 0 if upper_inclusive else 2


def histogram_json(h: FloatHistogram, fmt: Callable[[float], str]) -> str:
    """The JSON object text of ``h`` with numbers written by ``fmt``."""
    out = [f'{{"count":"{fmt(h.count)}","sum":"{fmt(h.sum)}"']
    buckets = [f'[{boundary_rule(b.lower_inclusive, b.upper_inclusive)},"{fmt(b.lower)}",'
               f'"{fmt(b.upper)}","{fmt(b.count)}"]'
               for b in h.all_bucket_iterator() if b.count != 0]
    if buckets:
        out.append(',"buckets":[' + ",".join(buckets) + "]")
    out.append("}")
    return "".join(out)


def histogram_dict(h: FloatHistogram, fmt: Callable[[float], str]) -> dict:
    """The same as a Python dict (for callers that build JSON themselves)."""
    d = {"count": fmt(h.count), "sum": fmt(h.sum)}
    buckets = [[boundary_rule(b.lower_inclusive, b.upper_inclusive), fmt(b.lower),
                fmt(b.upper), fmt(b.count)]
               for b in h.all_bucket_iterator() if b.count != 0]
    if buckets:
        d["buckets"] = buckets
    return d
