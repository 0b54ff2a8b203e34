"""The native histogram value: Prometheus's ``FloatHistogram``, ported operation by
operation from ``model/histogram/float_histogram.go`` and ``generic.go`` (v3.5) so that
every result, down to the order of float additions, is what Prometheus computes.

A histogram has a schema (-4..8 exponential, -53 custom buckets), a zero bucket (width
``zero_threshold``, population ``zero_count``), ``count`` and ``sum`` of observations,
positive and negative buckets as sparse ``spans`` (offset, length) over absolute bucket
counts, custom bucket bounds for schema -53, and a counter reset hint.

Methods that Go defines on a pointer receiver and that change it (``add``, ``sub``,
``mul``, ``div``, ``compact``) change ``self`` here too and return it; copy first where
Go copies. ``add``/``sub`` raise ``IncompatibleSchema``/``IncompatibleBounds`` as Go
returns its two errors.
"""

from __future__ import annotations

import math
import struct
from typing import Iterator, List, Optional, Sequence

from mockprom.gofloat import format_g
from mockprom.histograms.bounds import (CUSTOM_BUCKETS_SCHEMA, get_bound,
                                        get_bound_exponential, is_custom_buckets_schema,
                                        is_exponential_schema)

# Counter reset hints (histogram.CounterResetHint).
UNKNOWN_COUNTER_RESET = 0
COUNTER_RESET = 1
NOT_COUNTER_RESET = 2
GAUGE_TYPE = 3

HINT_NAMES = {UNKNOWN_COUNTER_RESET: "unknown", COUNTER_RESET: "reset",
              NOT_COUNTER_RESET: "not_reset", GAUGE_TYPE: "gauge"}


class HistogramError(ValueError):
    """An operation Prometheus refuses on these histograms."""


class IncompatibleSchema(HistogramError):
    def __init__(self):
        super().__init__("cannot apply this operation on histograms with a mix of "
                         "exponential and custom bucket schemas")


class IncompatibleBounds(HistogramError):
    def __init__(self):
        super().__init__("cannot apply this operation on custom buckets histograms with "
                         "different custom bounds")


def _bits(v: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def float_buckets_match(a: Sequence[float], b: Sequence[float]) -> bool:
    """Go's ``FloatBucketsMatch``: same length, bit-identical values."""
    if len(a) != len(b):
        return False
    return all(_bits(x) == _bits(y) for x, y in zip(a, b))


class Bucket:
    """One bucket: bounds, inclusiveness, count and index (Go's ``Bucket[float64]``)."""

    __slots__ = ("lower", "upper", "lower_inclusive", "upper_inclusive", "count", "index")

    def __init__(self, lower: float, upper: float, lower_inclusive: bool,
                 upper_inclusive: bool, count: float, index: int = 0):
        self.lower = lower
        self.upper = upper
        self.lower_inclusive = lower_inclusive
        self.upper_inclusive = upper_inclusive
        self.count = count
        self.index = index

    def string(self) -> str:
        """Go's ``Bucket.String()``: ``(0.5,1]:3``, numbers as ``%g``."""
        lo = "[" if self.lower_inclusive else "("
        hi = "]" if self.upper_inclusive else ")"
        return f"{lo}{format_g(self.lower)},{format_g(self.upper)}{hi}:{format_g(self.count)}"

    __repr__ = string


class FloatHistogram:
    """A float native histogram. Spans are lists of ``[offset, length]`` pairs."""

    __slots__ = ("counter_reset_hint", "schema", "zero_threshold", "zero_count", "count",
                 "sum", "positive_spans", "negative_spans", "positive_buckets",
                 "negative_buckets", "custom_values")

    def __init__(self, schema: int = 0, zero_threshold: float = 0.0,
                 zero_count: float = 0.0, count: float = 0.0, sum: float = 0.0,
                 positive_spans: Optional[List[List[int]]] = None,
                 positive_buckets: Optional[List[float]] = None,
                 negative_spans: Optional[List[List[int]]] = None,
                 negative_buckets: Optional[List[float]] = None,
                 custom_values: Optional[Sequence[float]] = None,
                 counter_reset_hint: int = UNKNOWN_COUNTER_RESET):
        self.counter_reset_hint = counter_reset_hint
        self.schema = int(schema)
        self.zero_threshold = float(zero_threshold)
        self.zero_count = float(zero_count)
        self.count = float(count)
        self.sum = float(sum)
        self.positive_spans = [list(s) for s in positive_spans] if positive_spans else []
        self.positive_buckets = [float(b) for b in positive_buckets] if positive_buckets else []
        self.negative_spans = [list(s) for s in negative_spans] if negative_spans else []
        self.negative_buckets = [float(b) for b in negative_buckets] if negative_buckets else []
        # Interned and immutable, as in Go: a tuple shared by copies.
        self.custom_values = tuple(float(v) for v in custom_values) if custom_values else ()

    # -- basics ------------------------------------------------------------------------
    def uses_custom_buckets(self) -> bool:
        return self.schema == CUSTOM_BUCKETS_SCHEMA

    def copy(self) -> "FloatHistogram":
        c = FloatHistogram.__new__(FloatHistogram)
        c.counter_reset_hint = self.counter_reset_hint
        c.schema = self.schema
        c.count = self.count
        c.sum = self.sum
        if self.schema == CUSTOM_BUCKETS_SCHEMA:
            c.custom_values = self.custom_values
            c.zero_threshold = 0.0
            c.zero_count = 0.0
            c.negative_spans = []
            c.negative_buckets = []
        else:
            c.custom_values = ()
            c.zero_threshold = self.zero_threshold
            c.zero_count = self.zero_count
            c.negative_spans = [[o, n] for o, n in self.negative_spans]
            c.negative_buckets = list(self.negative_buckets)
        c.positive_spans = [[o, n] for o, n in self.positive_spans]
        c.positive_buckets = list(self.positive_buckets)
        return c

    def copy_to_schema(self, target_schema: int) -> "FloatHistogram":
        """A deep copy at a lower (or equal) resolution."""
        if target_schema == self.schema:
            return self.copy()
        if self.uses_custom_buckets() or is_custom_buckets_schema(target_schema):
            raise HistogramError("cannot reduce resolution with custom buckets")
        if target_schema > self.schema:
            raise HistogramError(f"cannot copy from schema {self.schema} to {target_schema}")
        c = FloatHistogram(schema=target_schema, zero_threshold=self.zero_threshold,
                           zero_count=self.zero_count, count=self.count, sum=self.sum)
        c.positive_spans, c.positive_buckets = reduce_resolution(
            self.positive_spans, self.positive_buckets, self.schema, target_schema)
        c.negative_spans, c.negative_buckets = reduce_resolution(
            self.negative_spans, self.negative_buckets, self.schema, target_schema)
        return c

    def zero_bucket(self) -> Bucket:
        if self.uses_custom_buckets():
            raise HistogramError("histograms with custom buckets have no zero bucket")
        return Bucket(-self.zero_threshold, self.zero_threshold, True, True, self.zero_count)

    # -- arithmetic --------------------------------------------------------------------
    def mul(self, factor: float) -> "FloatHistogram":
        self.zero_count *= factor
        self.count *= factor
        self.sum *= factor
        self.positive_buckets = [b * factor for b in self.positive_buckets]
        if self.negative_buckets:
            self.negative_buckets = [b * factor for b in self.negative_buckets]
        return self

    def div(self, scalar: float) -> "FloatHistogram":
        self.zero_count = _go_div(self.zero_count, scalar)
        self.count = _go_div(self.count, scalar)
        self.sum = _go_div(self.sum, scalar)
        if scalar == 0:  # division by zero removes all buckets
            self.positive_buckets, self.negative_buckets = [], []
            self.positive_spans, self.negative_spans = [], []
            return self
        self.positive_buckets = [b / scalar for b in self.positive_buckets]
        if self.negative_buckets:
            self.negative_buckets = [b / scalar for b in self.negative_buckets]
        return self

    def _check_compatible(self, other: "FloatHistogram") -> None:
        if self.uses_custom_buckets() != other.uses_custom_buckets():
            raise IncompatibleSchema()
        if self.uses_custom_buckets() and not float_buckets_match(self.custom_values,
                                                                  other.custom_values):
            raise IncompatibleBounds()

    def add(self, other: "FloatHistogram") -> "FloatHistogram":
        """Add ``other`` (reconciling zero buckets and schemas); raises on NHCB mismatch."""
        self._check_compatible(other)
        self.counter_reset_hint = _combined_hint(self.counter_reset_hint,
                                                 other.counter_reset_hint)
        return self._add_or_sub(other, False)

    def sub(self, other: "FloatHistogram") -> "FloatHistogram":
        self._check_compatible(other)
        return self._add_or_sub(other, True)

    def _add_or_sub(self, other: "FloatHistogram", negative: bool) -> "FloatHistogram":
        if not self.uses_custom_buckets():
            other_zero = self._reconcile_zero_buckets(other)
            if negative:
                self.zero_count -= other_zero
            else:
                self.zero_count += other_zero
        if negative:
            self.count -= other.count
            self.sum -= other.sum
        else:
            self.count += other.count
            self.sum += other.sum
        if self.uses_custom_buckets():
            self.positive_spans, self.positive_buckets = add_buckets(
                self.schema, self.zero_threshold, negative, self.positive_spans,
                self.positive_buckets, other.positive_spans, other.positive_buckets)
            return self
        hps, hpb = self.positive_spans, self.positive_buckets
        hns, hnb = self.negative_spans, self.negative_buckets
        ops, opb = other.positive_spans, other.positive_buckets
        ons, onb = other.negative_spans, other.negative_buckets
        if other.schema < self.schema:
            hps, hpb = reduce_resolution(hps, hpb, self.schema, other.schema)
            hns, hnb = reduce_resolution(hns, hnb, self.schema, other.schema)
            self.schema = other.schema
        elif other.schema > self.schema:
            ops, opb = reduce_resolution(ops, opb, other.schema, self.schema)
            ons, onb = reduce_resolution(ons, onb, other.schema, self.schema)
        self.positive_spans, self.positive_buckets = add_buckets(
            self.schema, self.zero_threshold, negative, hps, hpb, ops, opb)
        self.negative_spans, self.negative_buckets = add_buckets(
            self.schema, self.zero_threshold, negative, hns, hnb, ons, onb)
        return self

    # -- comparison --------------------------------------------------------------------
    def equals(self, h2: Optional["FloatHistogram"]) -> bool:
        """Go's ``Equals``: same layout (empty spans aside) and bit-identical values."""
        if h2 is None:
            return False
        if (self.schema != h2.schema or _bits(self.count) != _bits(h2.count)
                or _bits(self.sum) != _bits(h2.sum)):
            return False
        if self.uses_custom_buckets() and not float_buckets_match(self.custom_values,
                                                                  h2.custom_values):
            return False
        if self.zero_threshold != h2.zero_threshold or _bits(self.zero_count) != _bits(h2.zero_count):
            return False
        return (spans_match(self.negative_spans, h2.negative_spans)
                and float_buckets_match(self.negative_buckets, h2.negative_buckets)
                and spans_match(self.positive_spans, h2.positive_spans)
                and float_buckets_match(self.positive_buckets, h2.positive_buckets))

    def string(self) -> str:
        """Go's ``String()`` (``count_values`` labels histograms with it):
        ``{count:4, sum:5, [-1,-0.5):1, [-0.001,0.001]:2, (0.5,1]:1}``, the non-empty
        buckets from the lowest, numbers as ``%g``."""
        parts = [f"{{count:{format_g(self.count)}, sum:{format_g(self.sum)}"]
        negative = [b for b in self.negative_bucket_iterator() if b.count != 0]
        parts += [b.string() for b in reversed(negative)]
        if self.zero_count != 0:
            parts.append(self.zero_bucket().string())
        parts += [b.string() for b in self.positive_bucket_iterator() if b.count != 0]
        return ", ".join(parts) + "}"

    def compact(self, max_empty_buckets: int = 0) -> "FloatHistogram":
        self.positive_buckets, self.positive_spans = compact_buckets(
            self.positive_buckets, self.positive_spans, max_empty_buckets)
        self.negative_buckets, self.negative_spans = compact_buckets(
            self.negative_buckets, self.negative_spans, max_empty_buckets)
        return self

    def detect_reset(self, previous: "FloatHistogram") -> bool:
        """Go's ``DetectReset``: whether ``self`` follows a counter reset after
        ``previous`` (hints first, then counts, zero bucket, schema and buckets)."""
        if self.counter_reset_hint == COUNTER_RESET:
            return True
        if self.counter_reset_hint == NOT_COUNTER_RESET:
            return False
        if self.count < previous.count:
            return True
        if self.uses_custom_buckets() != previous.uses_custom_buckets() or (
                self.uses_custom_buckets()
                and not float_buckets_match(self.custom_values, previous.custom_values)):
            return True
        if self.schema > previous.schema:
            return True
        if self.zero_threshold < previous.zero_threshold:
            return True
        prev_zero, new_threshold = previous._zero_count_for_larger_threshold(self.zero_threshold)
        if new_threshold != self.zero_threshold:
            return True
        if self.zero_count < prev_zero:
            return True
        if _detect_reset(self.float_bucket_iterator(True, self.zero_threshold, self.schema),
                         previous.float_bucket_iterator(True, self.zero_threshold, self.schema)):
            return True
        return _detect_reset(self.float_bucket_iterator(False, self.zero_threshold, self.schema),
                             previous.float_bucket_iterator(False, self.zero_threshold, self.schema))

    # -- iterators ---------------------------------------------------------------------
    def float_bucket_iterator(self, positive: bool, absolute_start: float,
                              target_schema: int) -> Iterator[tuple]:
        """``(index, count)`` of the positive or negative buckets, merged to
        ``target_schema`` (<= schema), skipping buckets whose absolute upper bound is
        <= ``absolute_start`` (exponential schemas only)."""
        if self.uses_custom_buckets() and target_schema != self.schema:
            raise HistogramError("cannot merge from custom buckets schema to exponential schema")
        if not self.uses_custom_buckets() and is_custom_buckets_schema(target_schema):
            raise HistogramError("cannot merge from exponential buckets schema to custom schema")
        if target_schema > self.schema:
            raise HistogramError(f"cannot merge from schema {self.schema} to {target_schema}")
        spans = self.positive_spans if positive else self.negative_spans
        buckets = self.positive_buckets if positive else self.negative_buckets
        return _float_bucket_iter(spans, buckets, self.schema, target_schema, absolute_start)

    def _buckets(self, positive: bool) -> Iterator[Bucket]:
        """Positive buckets ascending or negative buckets descending (by absolute
        value), with bounds; Go's ``PositiveBucketIterator``/``NegativeBucketIterator``."""
        cv = self.custom_values if positive else None
        for idx, count in self.float_bucket_iterator(positive, 0.0, self.schema):
            yield _make_bucket(idx, count, self.schema, positive, cv)

    def positive_bucket_iterator(self) -> Iterator[Bucket]:
        return self._buckets(True)

    def negative_bucket_iterator(self) -> Iterator[Bucket]:
        return self._buckets(False)

    def _reverse_buckets(self, positive: bool) -> Iterator[Bucket]:
        spans = self.positive_spans if positive else self.negative_spans
        buckets = self.positive_buckets if positive else self.negative_buckets
        cv = self.custom_values if positive else None
        for idx, count in _reverse_iter(spans, buckets):
            yield _make_bucket(idx, count, self.schema, positive, cv)

    def all_bucket_iterator(self) -> Iterator[Bucket]:
        """Every bucket in ascending order: negative, zero (when populated), positive;
        the boundaries of buckets overlapping the zero bucket are clipped to it."""
        return self._all_buckets(False)

    def all_reverse_bucket_iterator(self) -> Iterator[Bucket]:
        """Every bucket in descending order: positive, zero, negative."""
        return self._all_buckets(True)

    def _all_buckets(self, descending: bool) -> Iterator[Bucket]:
        zt = self.zero_threshold
        for b in self._reverse_buckets(descending):
            _clip(b, zt)
            yield b
        if self.zero_count > 0:
            yield self.zero_bucket()
        for b in self._buckets(not descending):
            _clip(b, zt)
            yield b

    # -- zero bucket -------------------------------------------------------------------
    def _zero_count_for_larger_threshold(self, larger: float) -> tuple[float, float]:
        if larger == self.zero_threshold:
            return self.zero_count, larger
        if larger < self.zero_threshold:
            raise HistogramError(f"new threshold {larger} is less than old threshold "
                                 f"{self.zero_threshold}")
        while True:
            count = self.zero_count
            for b in self.positive_bucket_iterator():
                if b.lower >= larger:
                    break
                count += b.count
                if b.upper > larger:
                    if b.count != 0:
                        larger = b.upper
                    break
            again = False
            for b in self.negative_bucket_iterator():
                if b.upper <= -larger:
                    break
                count += b.count
                if b.lower < -larger:
                    if b.count != 0:
                        larger = -b.lower
                        again = True
                    break
            if not again:
                return count, larger

    def _trim_buckets_in_zero_bucket(self) -> None:
        i = 0
        for b in self.positive_bucket_iterator():
            if b.lower >= self.zero_threshold:
                break
            self.positive_buckets[i] = 0.0
            i += 1
        i = 0
        for b in self.negative_bucket_iterator():
            if b.upper <= -self.zero_threshold:
                break
            self.negative_buckets[i] = 0.0
            i += 1
        self.compact(0)

    def _reconcile_zero_buckets(self, other: "FloatHistogram") -> float:
        other_zero = other.zero_count
        other_threshold = other.zero_threshold
        while other_threshold != self.zero_threshold:
            if self.zero_threshold > other_threshold:
                other_zero, other_threshold = other._zero_count_for_larger_threshold(
                    self.zero_threshold)
            if other_threshold > self.zero_threshold:
                self.zero_count, self.zero_threshold = self._zero_count_for_larger_threshold(
                    other_threshold)
                self._trim_buckets_in_zero_bucket()
        return other_zero

    # -- validation --------------------------------------------------------------------
    def validate(self) -> None:
        """Go's ``Validate``: raises ``HistogramError`` for an inconsistent histogram."""
        if self.uses_custom_buckets():
            _check_custom_bounds(self.custom_values, self.positive_spans,
                                 len(self.positive_buckets))
            if self.zero_count != 0:
                raise HistogramError("custom buckets: must have zero count of 0")
            if self.zero_threshold != 0:
                raise HistogramError("custom buckets: must have zero threshold of 0")
            if self.negative_spans:
                raise HistogramError("custom buckets: must not have negative spans")
            if self.negative_buckets:
                raise HistogramError("custom buckets: must not have negative buckets")
        else:
            if not is_exponential_schema(self.schema):
                raise HistogramError(f"unsupported schema {self.schema}")
            _check_spans(self.positive_spans, len(self.positive_buckets), "positive side")
            _check_spans(self.negative_spans, len(self.negative_buckets), "negative side")
            _check_buckets(self.negative_buckets, "negative side")
            if self.custom_values:
                raise HistogramError("histogram with exponential schema must not have "
                                     "custom bounds")
        _check_buckets(self.positive_buckets, "positive side")

    # -- representations ---------------------------------------------------------------
    def test_expression(self) -> str:
        """The promqltest notation of this histogram (Go's ``TestExpression``)."""
        from mockprom.histograms.notation import format_histogram  # late: no cycle
        return format_histogram(self)

    def __repr__(self) -> str:
        return f"FloatHistogram({self.test_expression()})"

    def __eq__(self, other) -> bool:  # structural, for tests
        return isinstance(other, FloatHistogram) and self.equals(other) \
            and self.counter_reset_hint == other.counter_reset_hint

    __hash__ = None  # mutable


# -- helpers ---------------------------------------------------------------------------

def _go_div(a: float, b: float) -> float:
    """IEEE division as Go does it (Python raises on division by zero)."""
    try:
        return a / b
    except ZeroDivisionError:
        if a != a or a == 0:
            return math.nan
        neg = (a < 0) != (math.copysign(1.0, b) < 0)
        return -math.inf if neg else math.inf


def _combined_hint(h: int, o: int) -> int:
    """The counter reset hint of ``h + o`` (Go's switch in ``Add``)."""
    if o == h:
        return h
    if h == GAUGE_TYPE:
        return h
    if o == GAUGE_TYPE:
        return GAUGE_TYPE
    return UNKNOWN_COUNTER_RESET


def _make_bucket(idx: int, count: float, schema: int, positive: bool, custom) -> Bucket:
    if positive:
        upper = get_bound(idx, schema, custom)
        lower = get_bound(idx - 1, schema, custom)
    else:
        lower = -get_bound(idx, schema, custom)
        upper = -get_bound(idx - 1, schema, custom)
    if schema == CUSTOM_BUCKETS_SCHEMA:
        return Bucket(lower, upper, idx == 0, True, count, idx)
    return Bucket(lower, upper, lower < 0, upper > 0, count, idx)


def _clip(b: Bucket, zt: float) -> None:
    """Clip a bucket overlapping the zero bucket to it (``allFloatBucketIterator``)."""
    if b.upper < 0 and b.upper > -zt:
        b.upper = -zt
    elif b.lower > 0 and b.lower < zt:
        b.lower = zt


def target_idx(idx: int, origin_schema: int, target_schema: int) -> int:
    """The bucket index in ``target_schema`` of bucket ``idx`` in ``origin_schema``."""
    return ((idx - 1) >> (origin_schema - target_schema)) + 1


def _float_bucket_iter(spans, buckets, schema: int, target: int,
                       absolute_start: float) -> Iterator[tuple]:
    """Go's ``floatBucketIterator.Next`` as a generator of ``(index, count)``."""
    reached = absolute_start == 0
    exponential = is_exponential_schema(target)
    if schema == target:
        bi = 0
        idx = 0
        for offset, length in spans:
            idx += offset
            for _ in range(length):
                if not reached:
                    if exponential and get_bound_exponential(idx, target) <= absolute_start:
                        idx += 1
                        bi += 1
                        continue
                    reached = True
                yield idx, buckets[bi]
                idx += 1
                bi += 1
            # Go adds the next span's offset to the index *after* the last bucket
        return
    # Merge buckets of the original schema that fall into one target bucket.
    cur_idx = None
    cur_count = 0.0
    bi = 0
    orig = 0
    for offset, length in spans:
        orig += offset
        for _ in range(length):
            t = target_idx(orig, schema, target)
            if cur_idx is None:
                cur_idx, cur_count = t, buckets[bi]
            elif t != cur_idx:
                if reached or not (exponential and
                                   get_bound_exponential(cur_idx, target) <= absolute_start):
                    reached = True
                    yield cur_idx, cur_count
                cur_idx, cur_count = t, buckets[bi]
            else:
                cur_count += buckets[bi]
            orig += 1
            bi += 1
    if cur_idx is not None:
        if reached or not (exponential and get_bound_exponential(cur_idx, target) <= absolute_start):
            yield cur_idx, cur_count


def _reverse_iter(spans, buckets) -> Iterator[tuple]:
    """``(index, count)`` from the highest bucket down (Go's reverse iterator)."""
    if not buckets:
        return
    starts = []
    idx = 0
    for offset, length in spans:
        idx += offset
        starts.append((idx, length))
        idx += length
    bi = len(buckets) - 1
    for start, length in reversed(starts):
        for k in range(length - 1, -1, -1):
            if bi < 0:
                return
            yield start + k, buckets[bi]
            bi -= 1


def _detect_reset(curr_it: Iterator[tuple], prev_it: Iterator[tuple]) -> bool:
    """Go's ``detectReset`` over two ``(index, count)`` iterators: a reset when a
    bucket of the previous histogram is populated and missing or smaller now."""
    prev = next(prev_it, None)
    if prev is None:
        return False
    curr = next(curr_it, None)
    while True:
        while curr is not None and curr[0] < prev[0]:
            curr = next(curr_it, None)
        if curr is None:  # the rest of the previous buckets have no counterpart
            return prev[1] != 0 or any(c != 0 for _, c in prev_it)
        if curr[0] > prev[0]:
            if prev[1] != 0:
                return True
        elif curr[1] < prev[1]:
            return True
        prev = next(prev_it, None)
        if prev is None:
            return False


def spans_match(s1, s2) -> bool:
    """Go's ``spansMatch``: the same bucket layout, empty spans aside."""
    if not s1 and not s2:
        return True
    i1 = i2 = 0
    while True:
        if i1 >= len(s1):
            return all(n == 0 for _, n in s2[i2:])
        if i2 >= len(s2):
            return all(n == 0 for _, n in s1[i1:])
        (o1, n1), i1 = _next_span(s1, i1)
        (o2, n2), i2 = _next_span(s2, i2)
        if n1 == 0 and n2 == 0:
            return True
        if o1 != o2 or n1 != n2:
            return False


def _next_span(spans, i: int):
    """The span at ``i`` with any zero-length spans folded into the next one, and the
    position after it (``spansMatch``'s inner loops)."""
    offset, length = spans[i]
    i += 1
    if length == 0:
        while i < len(spans) and spans[i][1] == 0:
            offset += spans[i][0]
            i += 1
        if i < len(spans):
            offset += spans[i][0]
            length = spans[i][1]
            i += 1
    return (offset, length), i


def add_buckets(schema: int, threshold: float, negative: bool, spans_a, buckets_a,
                spans_b, buckets_b):
    """Go's ``addBuckets``: add (or subtract) the B buckets into A, inserting missing
    buckets; B buckets with an absolute upper bound <= ``threshold`` are skipped
    (exponential schemas). Returns the new ``(spans, buckets)`` of A."""
    spans_a = [list(s) for s in spans_a]
    buckets_a = list(buckets_a)
    i_span = -1
    i_bucket = -1
    i_in_span = 0
    index_a = 0
    index_b = 0
    b_idx = 0
    lower_than_threshold = True
    exponential = is_exponential_schema(schema)
    for off_b, len_b in spans_b:
        index_b += off_b
        for _ in range(len_b):
            if lower_than_threshold and exponential and \
                    get_bound_exponential(index_b, schema) <= threshold:
                pass
            else:
                lower_than_threshold = False
                bucket_b = buckets_b[b_idx]
                if negative:
                    bucket_b = -bucket_b
                done = False
                if i_span == -1:
                    if not spans_a or spans_a[0][0] > index_b:
                        buckets_a.insert(0, bucket_b)
                        if spans_a and spans_a[0][0] == index_b + 1:
                            spans_a[0][1] += 1
                            spans_a[0][0] -= 1
                        else:
                            spans_a.insert(0, [index_b, 1])
                            if len(spans_a) > 1:
                                spans_a[1][0] -= index_b + 1
                        done = True
                    elif spans_a[0][0] == index_b:
                        buckets_a[0] += bucket_b
                        done = True
                    else:
                        i_span, i_bucket, i_in_span = 0, 0, 0
                        index_a = spans_a[0][0]
                if not done:
                    delta = index_b - index_a
                    while True:
                        remaining = spans_a[i_span][1] - i_in_span
                        if delta < remaining:
                            i_bucket += delta
                            i_in_span += delta
                            buckets_a[i_bucket] += bucket_b
                            break
                        delta -= remaining
                        i_bucket += remaining
                        i_span += 1
                        if i_span == len(spans_a) or delta < spans_a[i_span][0]:
                            buckets_a.insert(i_bucket, bucket_b)
                            if delta == 0:
                                if i_span < len(spans_a):
                                    spans_a[i_span][0] -= 1
                                i_span -= 1
                                i_in_span = spans_a[i_span][1]
                                spans_a[i_span][1] += 1
                            elif i_span < len(spans_a) and delta == spans_a[i_span][0] - 1:
                                i_in_span = 0
                                spans_a[i_span][0] -= 1
                                spans_a[i_span][1] += 1
                            else:
                                i_in_span = 0
                                if i_span < len(spans_a):
                                    spans_a[i_span][0] -= delta + 1
                                spans_a.insert(i_span, [delta, 1])
                            break
                        delta -= spans_a[i_span][0]
                        i_in_span = 0
            index_a = index_b
            index_b += 1
            b_idx += 1
    return spans_a, buckets_a


def reduce_resolution(spans, buckets, origin_schema: int, target_schema: int):
    """Go's ``reduceResolution`` for absolute counts: ``(spans, buckets)`` merged into
    ``target_schema`` (new lists)."""
    t_spans: List[List[int]] = []
    t_buckets: List[float] = []
    bucket_idx = 0
    count_idx = 0
    last_t = 0
    for offset, length in spans:
        bucket_idx += offset
        for _ in range(length):
            t = ((bucket_idx - 1) >> (origin_schema - target_schema)) + 1
            if not t_spans:
                t_spans.append([t, 1])
                t_buckets.append(buckets[count_idx])
                last_t = t
            elif last_t == t:
                t_buckets[-1] += buckets[count_idx]
            elif last_t + 1 == t:
                t_spans[-1][1] += 1
                last_t += 1
                t_buckets.append(buckets[count_idx])
            else:  # last_t + 1 < t
                t_spans.append([t - last_t - 1, 1])
                last_t = t
                t_buckets.append(buckets[count_idx])
            bucket_idx += 1
            count_idx += 1
    return t_spans, t_buckets


def compact_buckets(buckets, spans, max_empty: int):
    """Go's ``compactBuckets`` for absolute counts: returns new ``(buckets, spans)``."""
    buckets = list(buckets)
    spans = [list(s) for s in spans]
    if all(b != 0 for b in buckets) and all(o > max_empty and n != 0 for o, n in spans):
        return buckets, spans
    # Merge spans with zero offset (after the first).
    if len(spans) > 1:
        merged = [spans[0]]
        for s in spans[1:]:
            if s[0] == 0:
                merged[-1][1] += s[1]
            else:
                merged.append(s)
        spans = merged
    # Drop zero-length spans, carrying their offsets.
    kept = []
    for i, s in enumerate(spans):
        if s[1] == 0:
            if i + 1 < len(spans):
                spans[i + 1][0] += s[0]
            continue
        kept.append(s)
    spans = kept

    i_bucket = 0
    i_span = 0
    pos = 0
    while i_bucket < len(buckets):
        # empty buckets here
        n_empty = 0
        while pos + n_empty < spans[i_span][1] and i_bucket + n_empty < len(buckets) \
                and buckets[i_bucket + n_empty] == 0:
            n_empty += 1
        if n_empty > 0:
            if pos > 0 and n_empty < spans[i_span][1] - pos and n_empty <= max_empty:
                i_bucket += n_empty
                pos += n_empty
                continue
            del buckets[i_bucket:i_bucket + n_empty]
            if pos == 0:
                if n_empty == spans[i_span][1]:
                    offset = spans[i_span][0]
                    del spans[i_span]
                    if len(spans) > i_span:
                        spans[i_span][0] += offset + n_empty
                    continue
                spans[i_span][1] -= n_empty
                spans[i_span][0] += n_empty
                continue
            new_len = spans[i_span][1] - pos - n_empty
            spans[i_span][1] = pos
            i_span += 1
            pos = 0
            if new_len == 0:
                if i_span < len(spans):
                    spans[i_span][0] += n_empty
                continue
            spans.insert(i_span, [n_empty, new_len])
            continue
        i_bucket += 1
        pos += 1
        if pos >= spans[i_span][1]:
            pos = 0
            i_span += 1
    if max_empty == 0 or not buckets:
        return buckets, spans
    # Merge spans separated by at most max_empty empty buckets.
    i_bucket = spans[0][1]
    i_span = 1
    while i_span < len(spans):
        if spans[i_span][0] > max_empty:
            i_bucket += spans[i_span][1]
            i_span += 1
            continue
        offset = spans[i_span][0]
        spans[i_span - 1][1] += offset + spans[i_span][1]
        del spans[i_span]
        buckets[i_bucket:i_bucket] = [0.0] * offset
        i_bucket += offset
    return buckets, spans


def _check_spans(spans, n_buckets: int, side: str) -> None:
    total = 0
    for n, (offset, length) in enumerate(spans):
        if n > 0 and offset < 0:
            raise HistogramError(f"{side}: span number {n + 1} with offset {offset}: "
                                 "histogram has a span whose offset is negative")
        total += length
    if total != n_buckets:
        raise HistogramError(f"{side}: spans need {total} buckets, have {n_buckets} "
                             "buckets: histogram spans specify different number of "
                             "buckets than provided")


def _check_buckets(buckets, side: str, fmt=format_g) -> None:
    for i, c in enumerate(buckets):
        if c < 0:
            raise HistogramError(f"{side}: bucket number {i + 1} has observation count of "
                                 f"{fmt(c)}: histogram has a bucket whose "
                                 "observation count is negative")


def _check_custom_bounds(bounds, spans, n_buckets: int) -> None:
    prev = -math.inf
    for b in bounds:
        if b <= prev:
            raise HistogramError("custom buckets: histogram custom bounds must be in "
                                 "strictly increasing order")
        prev = b
    if prev == math.inf:
        raise HistogramError("custom buckets: last +Inf bound must not be explicitly "
                             "defined: histogram custom bounds must be finite")
    total = span_total = 0
    for n, (offset, length) in enumerate(spans):
        if offset < 0:
            raise HistogramError(f"custom buckets: span number {n + 1} with offset "
                                 f"{offset}: histogram has a span whose offset is negative")
        total += length
        span_total += length + offset
    if total != n_buckets:
        raise HistogramError(f"custom buckets: spans need {total} buckets, have "
                             f"{n_buckets} buckets")
    if len(bounds) + 1 < span_total:
        raise HistogramError(f"custom buckets: only {len(bounds)} custom bounds defined "
                             f"which is insufficient to cover total span length of "
                             f"{span_total}: histogram custom bounds are too few")
