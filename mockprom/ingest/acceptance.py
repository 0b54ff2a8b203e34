"""What a write (remote write 1.0 and 2.0, OTLP) may append, as the emulated Prometheus
decides it, and the transaction that appends it.

**The head.** Prometheus appends into its TSDB *head*, which holds the most recent data;
a sample older than the head's *minimum valid time* is ``out of bounds``, whatever its
series. That time is half a block range (1 h) before the head's newest sample. mockprom
models a Prometheus that has been running up to the scenario's "now": its head ends at
the later of the scenario clock's now and the newest sample ever written, so a sample is
``out of bounds`` when it is more than 1 h older than that (3 h or 30 d old samples are
refused; a client writing "now" always gets in, also with a fixed clock in the past).
Per series, a sample older than the newest stored one is ``out of order sample``; one at
the same time with other value bits is a ``duplicate sample for timestamp``; the same
sample again is a no-op. Checks compare with what was stored before the request (not
with the request's own earlier samples, as in Prometheus's appender); at commit, samples
not newer than the series' previous one are dropped silently.

**Versions** (``RULES``, the ``remote_write`` behaviour table): 3.5 refuses samples more
than 10 min ahead of now (``out of bounds: timestamp is too far in the future``), words
duplicates with the timestamp and both values, drops series without a metric name, with
an empty or non-UTF-8 name, or with a label name twice, and checks ``Content-Type`` and
``Content-Encoding`` (2.0 messages, 415). 2.42 checks neither, stores series whatever
their names (without a metric name too) and answers 500 for a label name twice or a
series with no label at all. ``server.remote_write.strict`` refuses invalid names (legacy
character set), missing metric names and repeated label names with a 400 instead.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Optional

from mockprom import versions
from mockprom.gostr import go_quote
from mockprom.ingest.errors import IngestError
from mockprom.scenario.labels import METRIC_NAME, Labels

HEAD_HALF_RANGE_MS = 3_600_000  # half of the TSDB's 2 h block range
OUT_OF_BOUNDS = "out of bounds"
TOO_FAR_AHEAD = "out of bounds: timestamp is too far in the future"
OUT_OF_ORDER = "out of order sample"
HISTOGRAMS_DISABLED = "native histograms are disabled"


@dataclass(frozen=True)
class Rules:
    """One release line's write acceptance."""

    negotiates: bool  # Content-Type / Content-Encoding checked (415), 2.0 messages read
    max_ahead_ms: Optional[int]  # samples later than now + this are out of bounds
    invalid_series: str  # "store" (2.42) or "drop" (3.5): series with invalid labels
    detailed_duplicates: bool  # the duplicate error names the timestamp and both values
    otlp: bool  # /api/v1/otlp/v1/metrics exists

    def duplicate(self, t_ms: int, old: float, new: float) -> str:
        if not self.detailed_duplicates:
            return "duplicate sample for timestamp"
        from mockprom.gofloat import format_g

        return (f"duplicate sample for timestamp {t_ms}; overrides not allowed: existing "
                f"{format_g(old)}, new value {format_g(new)}")


RULES = versions.table("remote_write", {
    "2.42": Rules(negotiates=False, max_ahead_ms=None, invalid_series="store",
                  detailed_duplicates=False, otlp=False),
    "3.5": Rules(negotiates=True, max_ahead_ms=600_000, invalid_series="drop",
                 detailed_duplicates=True, otlp=True),
})


# -- labels -------------------------------------------------------------------------------

_LEGACY_LABEL = None
_LEGACY_METRIC = None


def _legacy():
    global _LEGACY_LABEL, _LEGACY_METRIC
    if _LEGACY_LABEL is None:
        import re

        _LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
        _LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
    return _LEGACY_LABEL, _LEGACY_METRIC




def labels_string(pairs) -> str:
    """Prometheus's ``labels.Labels.String()``: ``{__name__="a", job="x"}``, names quoted
    when they are not legacy label names; ``pairs`` in the order given."""
    label_re, _ = _legacy()
    parts = []
    for name, value in pairs:
        shown = name if label_re.fullmatch(name) else go_quote(name)
        parts.append(f"{shown}={go_quote(value)}")
    return "{" + ", ".join(parts) + "}"


@dataclass(frozen=True)
class LabelProblem:
    """Why a series' labels are not stored: ``kind`` is ``invalid`` (no or an invalid
    metric name, an invalid label name or value), ``duplicate`` (``name`` twice),
    ``empty`` (no label left) or ``strict`` (``message`` says why)."""

    kind: str
    pairs: tuple  # as sent (sorted by name, as Prometheus's builder sorts them)
    name: str = ""
    message: str = ""

    def v1_error(self) -> Optional[IngestError]:
        """What remote write 1.0 answers (None: the series is dropped silently)."""
        if self.kind == "strict":
            return IngestError(self.message)
        if self.kind == "duplicate_store":
            return IngestError(f'label name "{self.name}" is not unique: invalid sample', 500)
        if self.kind == "empty":
            return IngestError("empty labelset: invalid sample", 500)
        return None

    def v2_message(self) -> str:
        """The line remote write 2.0 answers for this series."""
        if self.kind == "strict":
            return self.message
        if self.kind in ("duplicate", "duplicate_store"):
            return (f"invalid labels for series, labels {labels_string(self.pairs)}, "
                    f"duplicated label {self.name}")
        return f"invalid metric name or labels, got {labels_string(self.pairs)}"


def _format_pairs(pairs) -> str:
    return "{" + ", ".join(f'{n}="{v}"' for n, v in pairs) + "}"


def strict_problem(pairs) -> Optional[LabelProblem]:
    """mockprom's strict checks (``server.remote_write.strict``): legacy names, a metric
    name, no label name twice."""
    label_re, metric_re = _legacy()
    names = set()
    has_name = False
    for name, value in pairs:
        if name in names:
            return LabelProblem("strict", pairs, name,
                                f'label name "{name}" is not unique: invalid sample')
        names.add(name)
        if not label_re.fullmatch(name):
            return LabelProblem("strict", pairs, name,
                                f"invalid metric name or labels, got {_format_pairs(pairs)}: "
                                f"invalid label name {name!r}")
        if name == METRIC_NAME:
            if not metric_re.fullmatch(value):
                return LabelProblem("strict", pairs, name,
                                    f"invalid metric name or labels, got "
                                    f"{_format_pairs(pairs)}: invalid metric name {value!r}")
            has_name = True
    if not has_name:
        return LabelProblem("strict", pairs, "", f"invalid metric name or labels, got "
                                                 f"{_format_pairs(pairs)}: no {METRIC_NAME} label")
    return None


def label_problem(pairs: tuple, policy: str) -> Optional[LabelProblem]:
    """The problem of a series' labels (``pairs`` as sent, possibly unsorted) under
    ``policy`` (``strict``, ``store`` for 2.42, ``drop`` for 3.5), or None."""
    if policy == "strict":
        return strict_problem(pairs)
    ordered = tuple(sorted(pairs, key=lambda p: p[0]))
    dup = next((a[0] for a, b in zip(ordered, ordered[1:]) if a[0] == b[0]), None)
    if policy == "store":
        if dup is not None:
            return LabelProblem("duplicate_store", ordered, dup)
        if not any(v for _, v in pairs):
            return LabelProblem("empty", ordered)
        return None
    # 3.5: UTF-8 validation (strings arrive decoded; an undecodable one is refused earlier)
    metric = next((v for n, v in ordered if n == METRIC_NAME), None)
    if not metric or any(not n for n, _ in ordered):
        return LabelProblem("invalid", ordered)
    if dup is not None:
        return LabelProblem("duplicate", ordered, dup)
    return None


def canonical(pairs) -> Labels:
    """The stored label set: sorted by name, empty values dropped."""
    return tuple(sorted(p for p in pairs if p[1] != ""))


# -- the head -------------------------------------------------------------------------------

class Head:
    """The newest sample time ever written (see the module docstring)."""

    def __init__(self):
        self.max_t: Optional[int] = None

    def min_valid(self, now_ms: int) -> int:
        top = now_ms if self.max_t is None else max(now_ms, self.max_t)
        return top - HEAD_HALF_RANGE_MS

    def advance(self, t_ms: int) -> None:
        if self.max_t is None or t_ms > self.max_t:
            self.max_t = t_ms


# -- one write ------------------------------------------------------------------------------

@dataclass(slots=True)
class Batch:
    """The samples one request carries for one series, in request order. ``problem``: the
    series' labels are not stored (the caller decides what that means)."""

    labels: Labels
    ts: list  # int ms
    vals: list  # float
    problem: Optional[LabelProblem] = None
    pairs: tuple = ()  # the labels as Prometheus prints them in 2.0 errors (sorted, all)
    created: Optional[int] = None  # a created timestamp to ingest as a zero sample
    refusal: Optional[str] = None  # (partial writes) an error line after the samples'
    # native histograms, after the float samples: (t_ms, FloatHistogram, sent as integer)
    hists: list | tuple = ()


def _bits(v: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", v))[0]


def same_value(a: float, b: float) -> bool:
    """Equal float64 bits (NaN payloads and the sign of zero count, as in the TSDB)."""
    if a == b:
        return a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b)
    return a != a and b != b and _bits(a) == _bits(b)


class PlainBatches(list):
    """Batches of valid series with float samples only (no label problem, native
    histogram, created timestamp or refusal), as the fast decode of remote write 1.0 makes
    them: ``commit`` adds a request of series all new in one pass."""


@dataclass
class Outcome:
    """What a write did: samples accepted, and (partial writes) the refused ones' errors."""

    samples: int = 0
    errors: list = field(default_factory=list)
    status: int = 400  # the status of the errors (400; 500 for 2.42's invalid samples)
    histograms: int = 0  # native histogram samples accepted


class Window:
    """The time limits of one request: fixed when it starts, as Prometheus's appender."""

    __slots__ = ("min_valid", "max_t", "rules", "native")

    def __init__(self, head: Head, rules: Rules, now_ms: int, native=None):
        self.min_valid = head.min_valid(now_ms)
        self.max_t = None if rules.max_ahead_ms is None else now_ms + rules.max_ahead_ms
        self.rules = rules
        # native histograms: the line's histograms.behaviour.NativeRules when the
        # native-histograms feature is on, None when it is off
        self.native = native

    def histogram_error(self, t: int, h, is_int: bool, src) -> Optional[tuple[str, int]]:
        """The append error (message, status) of one native histogram sample against the
        series' newest stored sample, in the order Prometheus checks: too far ahead,
        disabled, out of bounds, invalid, out of order, duplicate."""
        if self.max_t is not None and t > self.max_t:
            return TOO_FAR_AHEAD, 400
        if self.native is None:
            return HISTOGRAMS_DISABLED, 500
        if t < self.min_valid:
            return OUT_OF_BOUNDS, 400
        from mockprom.histograms.convert import validation_error

        err = validation_error(h, is_int, self.native)
        if err is not None:
            return err, 500
        last = src.last_sample()
        if last is not None:
            if t < last[0]:
                return OUT_OF_ORDER, 400
            if t == last[0]:
                old = src.last_histogram()
                if old is None or not old.equals(h):
                    return "duplicate sample for timestamp", 400
        return None

    def sample_error(self, t: int, v: float, last) -> Optional[str]:
        """The append error of one sample against the series' newest stored sample."""
        if self.max_t is not None and t > self.max_t:
            return TOO_FAR_AHEAD
        if t < self.min_valid:
            return OUT_OF_BOUNDS
        if last is not None:
            lt, lv = last
            if t < lt:
                return OUT_OF_ORDER
            if t == lt and not same_value(v, lv):
                return self.rules.duplicate(t, lv, v)
        return None

    def created_ok(self, ct: int, first_t: int, last) -> bool:
        """Whether a created timestamp before the sample at ``first_t`` is ingested as a
        zero sample (Prometheus's ``AppendCTZeroSample``: silently not, when it is not
        older than that sample, not newer than the stored ones or out of bounds)."""
        return ct < first_t and ct >= self.min_valid and (last is None or ct > last[0])


def _newer(ts: list, vals: list, after: Optional[int]) -> tuple[list, list]:
    """The samples newer than ``after`` and than every sample kept before them."""
    if (after is None or ts[0] > after) and (len(ts) < 2 or all(map(int.__lt__, ts, ts[1:]))):
        return ts, vals
    kt, kv = [], []
    top = after
    for t, v in zip(ts, vals):
        if top is None or t > top:
            kt.append(t)
            kv.append(v)
            top = t
    return kt, kv


def commit(store, head: Head, batches: list, window: Window, partial: bool = False) -> Outcome:
    """Append ``batches`` to ``store`` (the caller holds the ingest lock).

    All or nothing (``partial=False``, remote write 1.0 and OTLP): the first error, in
    request order, is raised as an ``IngestError`` and nothing is stored. Partial
    (remote write 2.0): refused samples and series are left out, each with an error line
    in ``Outcome.errors``, and the rest is stored.
    """
    if type(batches) is PlainBatches and batches:
        outcome = _commit_new(store, head, batches, window)
        if outcome is not None:
            return outcome
    outcome = Outcome()
    live = [b.labels for b in batches if b.problem is None]
    sources = iter(store.appendables(live) if live else ())  # one per live batch, in order
    min_valid, max_t = window.min_valid, window.max_t
    keep = []
    written = 0
    for b in batches:
        if b.problem is not None:
            if partial:
                outcome.errors.append(b.problem.v2_message())
                continue
            err = b.problem.v1_error()
            if err is None or not b.ts:
                continue  # dropped silently (3.5), or nothing to append
            if b.ts[0] < min_valid:
                raise IngestError(OUT_OF_BOUNDS)
            raise err
        src = next(sources)
        ts = b.ts
        if not ts and not b.hists:
            if b.refusal is not None and partial:
                outcome.errors.append(b.refusal)
            continue
        last = src.last_sample()
        vals = b.vals
        if ts:
            if len(ts) == 1:
                lo = hi = ts[0]
            else:
                lo, hi = min(ts), max(ts)
            if lo < min_valid or (max_t is not None and hi > max_t) \
                    or (last is not None and lo <= last[0]):  # not clean: sample by sample
                ts, vals = _checked(b, last, window, partial, outcome)
            written += len(ts)
            if b.created is not None and ts and window.created_ok(b.created, ts[0], last):
                ts, vals = [b.created] + ts, [0.0] + vals  # not counted as written
        hists = _checked_histograms(b, src, window, partial, outcome) if b.hists else ()
        if ts or hists:
            keep.append((src, ts, vals, hists))
        if b.refusal is not None and partial:
            outcome.errors.append(b.refusal)
    outcome.samples += written
    top = None
    for src, ts, vals, hists in keep:
        if ts:
            last = src.last_sample()
            if last is not None or (len(ts) > 1 and not all(map(int.__lt__, ts, ts[1:]))):
                ts, vals = _newer(ts, vals, None if last is None else last[0])
            if ts:
                src.extend(ts, vals)
                if top is None or ts[-1] > top:
                    top = ts[-1]
        for t, h in hists:  # after the floats, as Prometheus appends them
            last = src.last_sample()
            if last is None or t > last[0]:
                src.append_histogram(t, h)
                if top is None or t > top:
                    top = t
    if top is not None:
        head.advance(top)
    return outcome


def _commit_new(store, head: Head, batches: list, window: Window) -> Optional[Outcome]:
    """``commit`` of plain batches of series all new to the store (none twice): when
    every sample is in the window (and each batch's in order), nothing can be refused and
    the series go in together as they are; None otherwise, the store unchanged."""
    if batches[0].labels in store:
        return None  # not a request of new series
    all_ts = [b.ts for b in batches]
    if not all(all_ts):
        return None
    lo, hi = min(map(min, all_ts)), max(map(max, all_ts))
    if lo < window.min_valid or (window.max_t is not None and hi > window.max_t):
        return None
    written = sum(map(len, all_ts))
    if written != len(all_ts) and not all(
            len(ts) < 2 or all(map(int.__lt__, ts, ts[1:])) for ts in all_ts):
        return None
    if not store.add_new_samples([b.labels for b in batches], all_ts, [b.vals for b in batches]):
        return None
    head.advance(hi)
    return Outcome(samples=written)


def _checked_histograms(b: Batch, src, window: Window, partial: bool, outcome: Outcome) -> list:
    """``b``'s native histograms that pass, as ``(t_ms, FloatHistogram)``; raises the first
    error unless ``partial`` (then each refused one adds an error line)."""
    kept = []
    for t, h, is_int in b.hists:
        err = window.histogram_error(t, h, is_int, src)
        if err is None:
            kept.append((t, h))
        elif partial:
            outcome.errors.append(f"{err[0]} for series {labels_string(b.pairs or b.labels)}")
        else:
            raise IngestError(err[0], err[1])
    outcome.histograms += len(kept)
    return kept


def _checked(b: Batch, last, window: Window, partial: bool, outcome: Outcome):
    """``b``'s samples that pass, sample by sample; raises the first error unless
    ``partial`` (then each refused sample adds an error line)."""
    kt, kv = [], []
    for t, v in zip(b.ts, b.vals):
        err = window.sample_error(t, v, last)
        if err is None:
            kt.append(t)
            kv.append(v)
        elif partial:
            outcome.errors.append(f"{err} for series {labels_string(b.pairs or b.labels)}")
        else:
            raise IngestError(err)
    return kt, kv
