"""Native histograms from the wire: a remote-write ``Histogram`` message (1.0
``prometheus.Histogram`` and 2.0 ``io.prometheus.write.v2.Histogram`` share the fields)
to a ``FloatHistogram``, and the validation Prometheus runs before storing one.

Integer histograms carry bucket counts as deltas (each bucket relative to the previous
one of the same side, across spans); float histograms carry absolute counts. The
message is read by field name, so any protobuf class of that shape works.
"""

from __future__ import annotations

import math
from typing import Optional

from mockprom.gofloat import format_g
from mockprom.histograms.bounds import is_valid_schema
from mockprom.histograms.float_histogram import (FloatHistogram, HistogramError,
                                                 _check_buckets, _check_custom_bounds,
                                                 _check_spans)


def _cumulative(deltas) -> list:
    out, total = [], 0
    for d in deltas:
        total += d
        out.append(total)
    return out


def from_remote(msg) -> tuple[FloatHistogram, bool]:
    """The histogram of a remote-write message and whether it was sent as an integer
    histogram (``count_int``) rather than a float one (``count_float``)."""
    is_int = msg.WhichOneof("count") != "count_float"
    h = FloatHistogram.__new__(FloatHistogram)
    h.schema = int(msg.schema)
    h.sum = float(msg.sum)
    h.zero_threshold = float(msg.zero_threshold)
    h.counter_reset_hint = int(msg.reset_hint) if 0 <= msg.reset_hint <= 3 else 0
    h.custom_values = tuple(float(v) for v in msg.custom_values)
    h.positive_spans = [[int(s.offset), int(s.length)] for s in msg.positive_spans]
    h.negative_spans = [[int(s.offset), int(s.length)] for s in msg.negative_spans]
    if is_int:
        h.count = float(msg.count_int)
        h.zero_count = float(msg.zero_count_int)
        h.positive_buckets = [float(c) for c in _cumulative(msg.positive_deltas)]
        h.negative_buckets = [float(c) for c in _cumulative(msg.negative_deltas)]
    else:
        h.count = float(msg.count_float)
        h.zero_count = float(msg.zero_count_float)
        h.positive_buckets = [float(c) for c in msg.positive_counts]
        h.negative_buckets = [float(c) for c in msg.negative_counts]
    return h, is_int


def validation_error(h: FloatHistogram, is_int: bool, rules=None) -> Optional[str]:
    """Why Prometheus refuses to store ``h`` (its ``Validate`` error text), or None, under
    a line's ``behaviour.NativeRules`` (3.5's by default). A schema outside -4..8 and -53
    is refused here: a real 3.5.3 stores it and then fails the queries that read it."""
    custom_buckets = True if rules is None else rules.custom_buckets
    exact_int_count = True if rules is None else rules.exact_int_count
    if not is_valid_schema(h.schema) and not (h.schema == -53 and not custom_buckets):
        return (f"invalid histogram schema {h.schema}: must be between -4 and 8, or -53 for "
                "custom buckets")
    fmt = (lambda c: str(int(c))) if is_int else format_g
    try:
        if h.uses_custom_buckets() and custom_buckets:
            h.validate()
        else:
            _check_spans(h.positive_spans, len(h.positive_buckets), "positive side")
            _check_spans(h.negative_spans, len(h.negative_buckets), "negative side")
            _check_buckets(h.negative_buckets, "negative side", fmt)
            if custom_buckets and h.custom_values:
                return "histogram with exponential schema must not have custom bounds"
            _check_buckets(h.positive_buckets, "positive side", fmt)
    except HistogramError as err:
        return str(err)
    if not is_int and custom_buckets:
        return None
    total = h.zero_count + sum(h.negative_buckets) + sum(h.positive_buckets)
    if is_int:
        shown = f"{int(total)} observations found in buckets, but the Count field is {int(h.count)}"
    else:
        shown = (f"{total:.6f} observations found in buckets, but the Count field is "
                 f"{h.count:.6f}")
    if exact_int_count and not math.isnan(h.sum):
        if total != h.count:
            return (f"{shown}: histogram's observation count should equal the number of "
                    "observations found in the buckets (in absence of NaN)")
    elif total > h.count:
        return (f"{shown}: histogram's observation count should be at least the number of "
                "observations found in the buckets")
    return None
