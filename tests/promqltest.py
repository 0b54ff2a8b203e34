"""The Prometheus PromQL ``.test`` script format: parser, data loading and comparison, in
two dialects: ``"2.42"`` (the corpus of Prometheus v2.42.0 and mockprom's own cases, run
as Prometheus 2.42.0) and ``"3.5"`` (the corpus of Prometheus v3.5, run as 3.5.3 with the
feature flags upstream's test engine turns on, ``UPSTREAM_FEATURES``).

The 2.42 dialect follows Prometheus v2.42 ``promql/test.go``:

- ``load <interval>`` then indented series lines ``metric{labels} <expanding notation>``
  (sample i at ``i * interval`` from time 0);
- ``clear`` drops all data;
- ``eval instant at <duration> <expr>``, ``eval_ordered ...`` (the order of the
  expected lines is checked), ``eval_fail ...`` (an error is expected), followed by
  expected lines ``{labels} value`` / ``name{labels} value`` or a bare number (scalar);
- values compared with ``almostEqual`` (relative tolerance 1e-6, NaN equals NaN).

mockprom's extensions, as newer Prometheus versions have them: ``eval range from <t> to
<t> step <d> <expr>`` followed by series lines in expanding notation, one value per step
(``_`` where the series has no value; a bare value sequence for a scalar result); and
under ``eval_fail`` a line ``expected_fail_message <text>`` (the exact error message).

The 3.5 dialect follows v3.5 ``promql/promqltest/test.go``: comments are blank lines and
a blank line ends a block; ``eval_warn`` / ``eval_info`` (at least one warning / info),
``expect fail|warn|no_warn|info|no_info|ordered`` lines with an optional ``msg: <text>``
(exact) or ``regex: <pattern>`` (searched), ``expected_fail_message`` /
``expected_fail_regexp``; an instant evaluation is checked as an instant query and as
the middle step of a range query from ``t - 1m`` to ``t + 1m`` (``expect ordered``
skips that). Native histograms are loaded as upstream loads them: ``{{...}}`` samples
(with ``x``/``+``/``-`` expansion) and, for ``load_with_nhcb``, native histograms with
custom buckets made of the classic ``_bucket``/``_count``/``_sum`` series
(``nhcb_convert``, upstream's ``convertnhcb``); expected histograms are compared as
upstream's ``compareNativeHistogram`` does (both compacted; schema, zero threshold and
spans exact; counts and sums almost equal). ``native_histogram_reason`` tells which
evaluations involve native histograms (for the tallies).
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional

from mockprom import versions
from mockprom.histograms import FloatHistogram
from mockprom.histograms.float_histogram import spans_match
from mockprom.histograms.bounds import CUSTOM_BUCKETS_SCHEMA
from mockprom.promql import nodes as n
from mockprom.promql.engine import Engine
from mockprom.promql.errors import PromQLError
from mockprom.promql.values import Matrix, Scalar, String, Vector
from mockprom.scenario.durations import parse_duration_ms
from mockprom.scenario.labels import format_labels, make_labels, series_matches
from mockprom.scenario.notation import expand, parse_selector_prefix, parse_series_line
from mockprom.scenario.store import StaticSource, Store

EPSILON = 0.000001
MIN_NORMAL = 2.2250738585072014e-308  # math.Float64frombits(0x0010000000000000)

_LOAD = re.compile(r"^load\s+(\S+)\s*$")
_EVAL_INSTANT = re.compile(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_EVAL_RANGE = re.compile(
    r"^eval(?:_(fail|ordered))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$")
# upstream v3.5 test.go
_LOAD_3 = re.compile(r"^load(?:_(with_nhcb))?\s+(.+?)$")
_EVAL_INSTANT_3 = re.compile(
    r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_EVAL_RANGE_3 = re.compile(
    r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$")
_EXPECT = re.compile(r"^expect\s+(ordered|fail|warn|no_warn|info|no_info)"
                     r"(?:\s+(regex|msg):(.+))?$")

# The emulation each dialect runs as. Upstream's test engine (v3.5 ``NewTestEngine`` and
# its parser options) enables experimental functions, duration expressions and the
# delayed removal of ``__name__``.
UPSTREAM_FEATURES = ("promql-experimental-functions", "promql-duration-expr",
                     "promql-delayed-name-removal")
DIALECTS = {"2.42": ("2.42.0", ()), "3.5": ("3.5.3", UPSTREAM_FEATURES)}


def dialect_emulation(dialect: str) -> versions.Emulation:
    version, features = DIALECTS[dialect]
    return versions.resolve(version, features)


def almost_equal(a: float, b: float) -> bool:
    """Prometheus's ``almostEqual`` from ``promql/test.go``."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    if a == 0 or b == 0 or diff < MIN_NORMAL:
        return diff < EPSILON * MIN_NORMAL
    return diff / (abs(a) + abs(b)) < EPSILON


def parse_number(text: str) -> float:
    """A bare number as ``parseNumber`` in test.go reads it (also ``Inf``/``NaN``)."""
    s = text.strip()
    low = s.lower().lstrip("+-")
    if low in ("inf", "nan"):
        v = math.inf if low == "inf" else math.nan
        return -v if s.startswith("-") else v
    if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F]+", s):
        return float(int(s, 16))
    return float(s)


@dataclass
class Load:
    interval_ms: int
    series: list  # [(Labels, [Optional[float]])]: the float series loaded
    # [(selector text, values text)] as written; None for a series the script did not
    # write (the histograms ``load_with_nhcb`` makes)
    lines: list = field(default_factory=list)
    # label sets of the series that hold native-histogram samples (written ``{{...}}``
    # or made by ``load_with_nhcb``)
    histogram_series: list = field(default_factory=list)


@dataclass
class Expected:
    labels: Optional[tuple]  # None: a scalar
    values: list  # [Optional[float]]; one value for instant evaluations


@dataclass
class Eval:
    file: str
    line: int
    expr: str
    kind: str  # "instant" or "range"
    t_ms: int = 0
    start_ms: int = 0
    end_ms: int = 0
    step_ms: int = 0
    fail: bool = False
    ordered: bool = False
    fail_message: Optional[str] = None  # ``expected_fail_message <text>`` (exact)
    expected: list = field(default_factory=list)
    loads: tuple = ()  # the loads in effect (since the last clear)
    dialect: str = "2.42"
    warn: bool = False  # eval_warn: at least one warning
    info: bool = False  # eval_info: at least one info
    fail_regexp: Optional[str] = None  # expected_fail_regexp (searched)
    expects: dict = field(default_factory=dict)  # expect lines: type -> [Expect]
    histogram_expected: bool = False  # an expected value is a native histogram
    command: str = ""  # the eval line as written (3.5 dialect)

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def is_fail(self) -> bool:
        return self.fail or bool(self.expects.get("fail"))

    @property
    def is_ordered(self) -> bool:
        return self.ordered or bool(self.expects.get("ordered"))

    @property
    def emulation(self) -> versions.Emulation:
        return dialect_emulation(self.dialect)


@dataclass(frozen=True)
class Expect:
    """An ``expect`` line's text to match: exact (``message``) or searched (``regex``;
    an ``expect`` line without either matches anything)."""

    message: Optional[str] = None
    regex: Optional[str] = None

    def matches(self, text: str) -> bool:
        if self.regex is None:
            return self.message == text
        return re.search(self.regex, text) is not None

    def __str__(self) -> str:
        return self.message if self.regex is None else f"/{self.regex}/"


class ScriptError(ValueError):
    pass


def parse_script(text: str, name: str = "<script>", dialect: str = "2.42") -> list[Eval]:
    """All evaluations of a script, each with the data loads it runs against."""
    if dialect == "3.5":
        return parse_script_3(text, name)
    if dialect != "2.42":
        raise ValueError(f"unknown dialect {dialect!r}")
    lines = text.splitlines()
    evals: list[Eval] = []
    loads: list[Load] = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        i += 1
        if not line or line.startswith("#"):
            continue
        if line == "clear":
            loads = []
            continue
        m = _LOAD.match(line)
        if m:
            interval = parse_duration_ms(m.group(1))
            series, texts = [], []
            while i < len(lines) and lines[i].strip() and not lines[i].strip().startswith("#"):
                labels, values = parse_series_line(lines[i].strip())
                series.append((make_labels(labels), values))
                texts.append(split_series_line(lines[i].strip()))
                i += 1
            loads = loads + [Load(interval, series, texts)]
            continue
        lineno = i
        m = _EVAL_RANGE.match(line)
        if m:
            mod, t0, t1, step, expr = m.groups()
            ev = Eval(name, lineno, expr.strip(), "range", start_ms=_time(t0), end_ms=_time(t1),
                      step_ms=parse_duration_ms(step))
        else:
            m = _EVAL_INSTANT.match(line)
            if not m:
                raise ScriptError(f"{name}:{lineno}: invalid command {line!r}")
            mod, at, expr = m.groups()
            ev = Eval(name, lineno, expr.strip(), "instant", t_ms=_time(at or "0s"))
        ev.fail = mod == "fail"
        ev.ordered = mod == "ordered"
        ev.loads = tuple(loads)
        while i < len(lines) and lines[i].strip() and not _is_command(lines[i].strip()):
            exp_line = lines[i].strip()
            i += 1
            if exp_line.startswith("#"):
                continue
            if exp_line.startswith("expected_fail_message "):
                ev.fail_message = exp_line[len("expected_fail_message "):].strip()
                continue
            ev.expected.append(_expected(exp_line, ev, name, i))
        evals.append(ev)
    return evals


def parse_script_3(text: str, name: str = "<script>") -> list[Eval]:
    """A script of the 3.5 dialect (upstream v3.5 ``test.go``'s ``parse``)."""
    lines = ["" if ln.strip().startswith("#") else ln.strip() for ln in text.split("\n")]
    evals: list[Eval] = []
    loads: list[Load] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        word = re.split(r"[\t ]+", line, maxsplit=1)[0].lower()
        if word == "clear":
            loads = []
            continue
        if word.startswith("load"):
            m = _LOAD_3.match(line)
            if not m:
                raise ScriptError(f"{name}:{i}: invalid load command {line!r}")
            load = Load(parse_duration_ms(m.group(2)), [])
            while i < len(lines) and lines[i]:
                _load_line(load, lines[i], f"{name}:{i + 1}")
                i += 1
            if m.group(1):
                for labels, values in nhcb_convert(load.series, load.interval_ms):
                    load.series.append((labels, values))
                    load.lines.append(None)
                    load.histogram_series.append(labels)
            loads = loads + [load]
            continue
        if not word.startswith("eval"):
            raise ScriptError(f"{name}:{i}: invalid command {line!r}")
        ev, i = _parse_eval_3(lines, i - 1, name)
        ev.loads = tuple(loads)
        evals.append(ev)
    return evals


def _load_line(load: Load, line: str, where: str) -> None:
    """One series of a load block (a series given again replaces the earlier one)."""
    try:
        labels, values = parse_series_line(line)
    except ValueError as e:
        raise ScriptError(f"{where}: bad series line {line!r}: {e}") from e
    labels = make_labels(labels)
    for i, (known, _) in enumerate(load.series):
        if known == labels:
            del load.series[i], load.lines[i]
            break
    if labels in load.histogram_series:
        load.histogram_series.remove(labels)
    if any(isinstance(v, FloatHistogram) for v in values):
        load.histogram_series.append(labels)
    load.series.append((labels, values))
    load.lines.append(split_series_line(line))


def nhcb_convert(series, interval_ms: int) -> list:
    """The native histograms with custom buckets that ``load_with_nhcb`` adds for the
    classic histograms of a load block (upstream's ``appendCustomHistogram`` with
    ``convertnhcb.TempHistogram``): ``x_bucket{le}``, ``x_count`` and ``x_sum`` become
    ``x`` with one histogram per step where any of them has a float sample; a ``le``
    that is no number is skipped. Returns ``[(labels, values)]`` on the load's grid."""
    temps: dict = {}  # base labels -> {step: TempHistogram}
    for labels, values in series:
        d = dict(labels)
        name = d.get("__name__", "")
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                break
        else:
            continue
        le = None
        if suffix == "_bucket":
            if "le" not in d:
                raise ScriptError(f"expected bucket label in metric {format_labels(labels)}")
            try:
                le = parse_go_float(d["le"])
            except ValueError:
                continue
            if math.isnan(le):
                continue
            d.pop("le")
        d["__name__"] = name[:-len(suffix)]
        per_step = temps.setdefault(make_labels(d), {})
        for k, v in enumerate(values):
            if v is None or isinstance(v, FloatHistogram):
                continue
            temp = per_step.setdefault(k, TempHistogram())
            if suffix == "_bucket":
                temp.set_bucket_count(le, v)
            elif suffix == "_count":
                temp.set_count(v)
            else:
                temp.set_sum(v)
    out = []
    for base, per_step in temps.items():
        if not per_step:
            continue
        values = [None] * (max(per_step) + 1)
        for k, temp in per_step.items():
            values[k] = temp.convert()
        out.append((base, values))
    return out


def parse_go_float(text: str) -> float:
    """``strconv.ParseFloat(text, 64)`` for the texts a ``le`` label holds."""
    s = text.strip()
    if s != text or not s:
        raise ValueError(text)
    low = s.lower().lstrip("+-")
    if low in ("inf", "infinity", "nan"):
        return float(s)
    if "_" in s:
        raise ValueError(text)
    if re.fullmatch(r"[+-]?0[xX][0-9a-fA-F.]+(?:[pP][+-]?\d+)?", s):
        return float.fromhex(s)
    return float(s)


class TempHistogram:
    """``convertnhcb.TempHistogram``: a classic histogram's cumulative buckets, count
    and sum at one timestamp, converted to a ``FloatHistogram`` with custom buckets."""

    def __init__(self):
        self.buckets: list = []  # [le, cumulative count], ascending le
        self.count = 0.0
        self.sum = 0.0
        self.has_count = False
        self.err = None

    def set_bucket_count(self, le: float, count: float) -> None:
        if self.err:
            return
        if count < 0:
            self.err = "bucket count must be non-negative"
            return
        les = [b[0] for b in self.buckets]
        i = bisect.bisect_left(les, le)
        if i < len(les) and les[i] == le:
            return  # a duplicate
        if (i > 0 and count < self.buckets[i - 1][1]) or \
                (i < len(les) and count > self.buckets[i][1]):
            self.err = "count is not cumulative"
            return
        self.buckets.insert(i, [le, count])

    def set_count(self, count: float) -> None:
        if self.err:
            return
        if count < 0:
            self.err = "count must be non-negative"
            return
        self.count, self.has_count = count, True

    def set_sum(self, value: float) -> None:
        if not self.err:
            self.sum = value

    def convert(self) -> FloatHistogram:
        if self.err:
            raise ScriptError(f"load_with_nhcb: {self.err}")
        buckets = [list(b) for b in self.buckets]
        count = self.count
        if not self.has_count:
            if not buckets:
                raise ScriptError("load_with_nhcb: count must be provided when no buckets "
                                  "are present")
            count = buckets[-1][1]
        if not buckets or buckets[-1][0] != math.inf:
            buckets.append([math.inf, count])
        if count != buckets[-1][1]:
            raise ScriptError("load_with_nhcb: count mismatch")
        deltas, prev = [], 0.0
        for _, c in buckets:
            deltas.append(c - prev)
            prev = c
        h = FloatHistogram(schema=CUSTOM_BUCKETS_SCHEMA, count=count, sum=self.sum,
                           positive_spans=[[0, len(buckets)]], positive_buckets=deltas,
                           custom_values=[b[0] for b in buckets[:-1]])
        return h.compact(0)


def _parse_eval_3(lines: list, i: int, name: str) -> tuple[Eval, int]:
    """An eval command at ``lines[i]`` and its block; returns it and the next line."""
    line = lines[i]
    lineno = i + 1
    m = _EVAL_INSTANT_3.match(line)
    if m:
        mod, at, expr = m.groups()
        ev = Eval(name, lineno, expr, "instant", t_ms=_time(at or "0s"), dialect="3.5")
    else:
        m = _EVAL_RANGE_3.match(line)
        if not m:
            raise ScriptError(f"{name}:{lineno}: invalid evaluation command {line!r}")
        mod, t0, t1, step, expr = m.groups()
        ev = Eval(name, lineno, expr, "range", start_ms=_time(t0), end_ms=_time(t1),
                  step_ms=parse_duration_ms(step), dialect="3.5")
    ev.fail, ev.ordered = mod == "fail", mod == "ordered"
    ev.warn, ev.info = mod == "warn", mod == "info"
    ev.command = line
    while i + 1 < len(lines) and lines[i + 1]:
        i += 1
        d = lines[i]
        if ev.fail and d.startswith("expected_fail_message"):
            ev.fail_message = d[len("expected_fail_message"):].strip()
            break
        if ev.fail and d.startswith("expected_fail_regexp"):
            ev.fail_regexp = d[len("expected_fail_regexp"):].strip()
            break
        if d.split(" ")[0] == "expect":
            m = _EXPECT.match(d.strip())
            if not m:
                raise ScriptError(f"{name}:{i + 1}: invalid expect line {d!r}")
            kind, how, what = m.groups()
            exp = Expect(regex=".*") if how is None else \
                Expect(message=what.strip()) if how == "msg" else Expect(regex=what.strip())
            ev.expects.setdefault(kind, []).append(exp)
            continue
        try:
            ev.expected.append(Expected(None, [parse_number(d)]))
            break
        except ValueError:
            pass
        try:
            labels, values = parse_series_line(d)
        except ValueError as e:
            raise ScriptError(f"{name}:{i + 1}: bad expected line {d!r}: {e}") from e
        if ev.kind == "instant" and len(values) > 1:
            raise ScriptError(f"{name}:{i + 1}: expecting multiple values in instant "
                              "evaluation not allowed")
        ev.histogram_expected |= any(isinstance(v, FloatHistogram) for v in values)
        ev.expected.append(Expected(make_labels(labels), values))
    return ev, i + 1


def reparse_eval(ev: Eval, block: str) -> Eval:
    """``ev`` with its expectations replaced by ``block`` (expect lines and expected
    series, as in a script), same command, data and id."""
    lines = [ev.command] + [ln.strip() for ln in block.strip().splitlines()]
    new, _ = _parse_eval_3(lines, 0, ev.file)
    new.line, new.loads = ev.line, ev.loads
    return new


def native_histogram_reason(ev: Eval) -> Optional[str]:
    """Why ``ev`` needs native histograms (None: it does not). The rule: its expected
    result holds a native histogram, or a selector of its expression matches a series
    that holds native-histogram samples (written ``{{...}}`` in a load block, or made
    from classic buckets by ``load_with_nhcb``). Such evaluations wait for issue 10."""
    if ev.histogram_expected:
        return "expects a native-histogram result"
    hist = [labels for load in ev.loads for labels in load.histogram_series]
    if not hist:
        return None
    try:
        expr = parse_as(ev.expr, ev.emulation)
    except PromQLError:
        return None
    for sel in vector_selectors(expr):
        for labels in hist:
            if series_matches(labels, sel.matchers):
                return f"selects the native-histogram series {format_labels(labels)}"
    return None


def parse_as(text: str, emulation):
    """``text`` parsed as ``emulation`` reads it."""
    import inspect

    from mockprom.promql.parse import parse

    if len(inspect.signature(parse).parameters) > 1:
        return parse(text, emulation)
    return parse(text)  # a parser that reads one dialect


def vector_selectors(expr) -> list:
    """Every ``VectorSelector`` in an expression tree."""
    out, todo = [], [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, n.VectorSelector):
            out.append(node)
        elif isinstance(node, (tuple, list)):
            todo.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            todo.extend(getattr(node, f) for f in node.__dataclass_fields__)
    return out


def split_series_line(line: str) -> tuple[str, str]:
    """A ``load`` line as written: its series selector and its values (expanding
    notation), e.g. ``('metric{a="b"}', '0+1x10 _ stale')``."""
    _, i = parse_selector_prefix(line)
    return line[:i].strip(), line[i:].strip()


def _is_command(line: str) -> bool:
    return line == "clear" or line.startswith("load ") or line.startswith("eval")


def _time(text: str) -> int:
    return parse_duration_ms(text)


def _expected(line: str, ev: Eval, name: str, lineno: int) -> Expected:
    try:
        if ev.kind == "instant":
            return Expected(None, [parse_number(line)])
        return Expected(None, expand(line))  # a scalar's values in range mode
    except ValueError:
        pass
    try:
        labels, values = parse_series_line(line)
    except ValueError as e:
        raise ScriptError(f"{name}:{lineno}: bad expected line {line!r}: {e}") from e
    if ev.kind == "instant" and len(values) != 1:
        raise ScriptError(f"{name}:{lineno}: expecting multiple values in instant evaluation "
                          "not allowed")
    return Expected(make_labels(labels), values)


def read_known_failures(path, prefix: str = "") -> dict[str, str]:
    """A known-failures file: ``{id: reason}`` of its ``<id> <reason>`` lines (``#``
    comments), only the ids starting with ``prefix`` when one is given."""
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and line.startswith(prefix):
                ident, _, reason = line.partition(" ")
                out[ident] = reason.strip() or "known failure"
    return out


def build_store(loads) -> Store:
    store = Store()
    for load in loads:
        for labels, values in load.series:
            ts = [k * load.interval_ms for k, v in enumerate(values) if v is not None]
            vals = [v for v in values if v is not None]
            if ts:
                store.add(labels, StaticSource(ts, vals))
    return store


# -- comparison -------------------------------------------------------------------------
class Mismatch(AssertionError):
    pass


def _fmt(v) -> str:
    if isinstance(v, FloatHistogram):
        return v.test_expression()
    if isinstance(v, dict):  # a histogram as the API wrote it
        return repr(v)
    return repr(v)


def _floats_match(a, b) -> bool:
    return len(a) == len(b) and all(almost_equal(x, y) for x, y in zip(a, b))


def histograms_match(exp: FloatHistogram, got: FloatHistogram) -> bool:
    """Upstream test.go's ``compareNativeHistogram`` of both histograms compacted."""
    exp, got = exp.copy().compact(0), got.copy().compact(0)
    if exp.schema != got.schema or not almost_equal(exp.count, got.count) or \
            not almost_equal(exp.sum, got.sum):
        return False
    if exp.uses_custom_buckets() and tuple(exp.custom_values) != tuple(got.custom_values):
        return False
    if exp.zero_threshold != got.zero_threshold or \
            not almost_equal(exp.zero_count, got.zero_count):
        return False
    return (spans_match(exp.negative_spans, got.negative_spans)
            and _floats_match(exp.negative_buckets, got.negative_buckets)
            and spans_match(exp.positive_spans, got.positive_spans)
            and _floats_match(exp.positive_buckets, got.positive_buckets))


def wire_histograms_match(exp: FloatHistogram, got: dict) -> bool:
    """``exp`` against a histogram as the query API writes it (``count``, ``sum`` and the
    non-empty buckets with their boundaries): what a client can compare."""
    from mockprom.histograms.wire import histogram_dict

    want = histogram_dict(exp, repr)
    if set(got) - {"count", "sum", "buckets"}:
        return False
    if not almost_equal(float(want["count"]), float(got.get("count", "nan"))) or \
            not almost_equal(float(want["sum"]), float(got.get("sum", "nan"))):
        return False
    wb, gb = want.get("buckets", []), got.get("buckets", [])
    if len(wb) != len(gb):
        return False
    for w, g in zip(wb, gb):
        if len(g) != 4 or w[0] != g[0]:
            return False
        if not all(almost_equal(float(x), float(y)) for x, y in zip(w[1:], g[1:])):
            return False
    return True


def values_match(exp, got) -> bool:
    """An expected value (float or ``FloatHistogram``) against a result value (float,
    ``FloatHistogram`` or the API's histogram object)."""
    if isinstance(exp, FloatHistogram):
        if isinstance(got, FloatHistogram):
            return histograms_match(exp, got)
        return isinstance(got, dict) and wire_histograms_match(exp, got)
    if isinstance(got, (FloatHistogram, dict)):
        return False
    return almost_equal(exp, got)


def sample_value(s):
    """A result sample's value: its histogram when it holds one, else its float."""
    return s.value if s.histogram is None else s.histogram


def series_points(s) -> dict:
    """A result series' values by timestamp (floats and histograms)."""
    pts = dict(s.points)
    pts.update(dict(s.histograms))
    return pts


def compare_vector(ev: Eval, samples: list, what: str) -> None:
    """``compareResult`` for a vector: same label sets, matching values (floats almost
    equal, histograms as ``compareNativeHistogram``), and for ``eval_ordered`` the same
    order."""
    if any(e.labels is None for e in ev.expected):
        raise Mismatch(f"{what}: expected a scalar, got a vector of {len(samples)} samples")
    expected = {e.labels: (pos, e.values[0]) for pos, e in enumerate(ev.expected)}
    seen = set()
    for pos, s in enumerate(samples):
        value = sample_value(s)
        if s.labels not in expected:
            raise Mismatch(f"{what}: unexpected metric {format_labels(s.labels)} in result "
                           f"(value {_fmt(value)})")
        exp_pos, exp_val = expected[s.labels]
        if ev.is_ordered and exp_pos != pos:
            raise Mismatch(f"{what}: expected metric {format_labels(s.labels)} with "
                           f"{_fmt(exp_val)} at position {exp_pos + 1} but was at {pos + 1}")
        if not values_match(exp_val, value):
            raise Mismatch(f"{what}: expected {_fmt(exp_val)} for {format_labels(s.labels)} "
                           f"but got {_fmt(value)}")
        seen.add(s.labels)
    missing = [l for l in expected if l not in seen]
    if missing:
        raise Mismatch(f"{what}: expected metric {format_labels(missing[0])} not found")


def compare_scalar(ev: Eval, value: float, what: str) -> None:
    if len(ev.expected) != 1 or ev.expected[0].labels is not None:
        raise Mismatch(f"{what}: expected {len(ev.expected)} series, got a scalar "
                       f"{_fmt(value)}")
    if not values_match(ev.expected[0].values[0], value):
        raise Mismatch(f"{what}: expected scalar {_fmt(ev.expected[0].values[0])} but got "
                       f"{_fmt(value)}")


def compare_instant_result(ev: Eval, value, what: str = "instant") -> None:
    if isinstance(value, Scalar):
        compare_scalar(ev, value.value, what)
    elif isinstance(value, Vector):
        compare_vector(ev, value.samples, what)
    elif isinstance(value, String):
        raise Mismatch(f"{what}: got a string {value.value!r}; strings are not comparable")
    elif isinstance(value, Matrix):
        raise Mismatch(f"{what}: received range result on instant evaluation")
    else:
        raise Mismatch(f"{what}: unexpected result type {type(value).__name__}")


def _expect_failure(fn, what: str, message: Optional[str] = None) -> None:
    try:
        fn()
    except PromQLError as e:
        if message is not None and e.message != message:
            raise Mismatch(f"{what}: expected error {message!r} but got {e.message!r}") from e
        return
    raise Mismatch(f"{what}: expected an error but got none")


def run_instant(engine: Engine, ev: Eval) -> None:
    """Instant query, then the same as a one-step range query (``start = end = t``) and,
    as upstream ``test.go`` does, as a three-step range query around ``t`` whose middle
    step is checked; all against the expected result."""
    if ev.fail:
        _expect_failure(lambda: engine.instant_query(ev.expr, ev.t_ms), "instant",
                        ev.fail_message)
        _expect_failure(lambda: engine.range_query(ev.expr, ev.t_ms, ev.t_ms, 60_000), "range")
        return
    res = engine.instant_query(ev.expr, ev.t_ms)
    compare_instant_result(ev, res.value, "instant")
    for start, end, what in ((ev.t_ms, ev.t_ms, "range"),
                             (ev.t_ms - 60_000, ev.t_ms + 60_000, "3-step range")):
        mat = engine.range_query(ev.expr, start, end, 60_000).value
        if not isinstance(mat, Matrix):
            raise Mismatch(f"{what}: a range query returned {type(mat).__name__}")
        _compare_range_step(ev, res.value, mat, what)


def _compare_range_step(ev: Eval, instant, mat: Matrix, what: str) -> None:
    """The points of a range result at the evaluation time, against the expected."""
    from mockprom.promql.values import Sample
    samples = [Sample(s.labels, t, v) for s in mat.series for t, v in s.points
               if t == ev.t_ms]
    samples += [Sample(s.labels, t, math.nan, h) for s in mat.series for t, h in s.histograms
                if t == ev.t_ms]
    if isinstance(instant, Scalar):
        if len(mat.series) != 1 or mat.series[0].labels != () or len(samples) != 1:
            raise Mismatch(f"{what}: a scalar expression did not give one series without "
                           "labels")
        compare_scalar(ev, sample_value(samples[0]), what)
        return
    saved = ev.ordered, ev.expects
    ev.ordered, ev.expects = False, {k: v for k, v in ev.expects.items() if k != "ordered"}
    try:  # range results are sorted by labels
        compare_vector(ev, samples, what)
    finally:
        ev.ordered, ev.expects = saved


def compare_range_step(ev: Eval, instant, mat: Matrix, what: str) -> None:
    """The points of a one-step (or longer) range result at an instant evaluation's time,
    against its expected result (``instant``: the instant query's value, for its kind)."""
    _compare_range_step(ev, instant, mat, what)


def run_range(engine: Engine, ev: Eval) -> None:
    call = lambda: engine.range_query(ev.expr, ev.start_ms, ev.end_ms, ev.step_ms)
    if ev.fail:
        _expect_failure(call, "range", ev.fail_message)
        return
    compare_range_result(ev, call().value)


def compare_range_result(ev: Eval, mat, what: str = "range") -> None:
    """A range evaluation's result (a ``Matrix``) against its expected series."""
    if not isinstance(mat, Matrix):
        raise Mismatch(f"{what}: a range query returned {type(mat).__name__}")
    if ev.is_ordered:
        raise Mismatch(f"{what}: expected ordered result, but query returned a matrix")
    steps = list(range(ev.start_ms, ev.end_ms + 1, ev.step_ms))
    got = {s.labels: series_points(s) for s in mat.series}
    _labels_sorted([s.labels for s in mat.series], what)
    expected = {}
    for e in ev.expected:
        labels = () if e.labels is None else e.labels
        # 3.5: fewer values than steps means no points at the last steps
        short = ev.dialect == "3.5" and len(e.values) < len(steps)
        if len(e.values) != len(steps) and not short:
            raise Mismatch(f"{what}: expected line for {format_labels(labels)} has "
                           f"{len(e.values)} values for {len(steps)} steps")
        expected[labels] = {t: v for t, v in zip(steps, e.values) if v is not None}
        if ev.dialect == "3.5" and e.labels is None:
            raise Mismatch(f"{what}: expected scalar result, but got a matrix")
    for labels, pts in got.items():
        if labels not in expected:
            raise Mismatch(f"{what}: unexpected series {format_labels(labels)}: {pts}")
        exp = expected[labels]
        if set(pts) != set(exp):
            raise Mismatch(f"{what}: {format_labels(labels)} has points at "
                           f"{sorted(pts)} but expected at {sorted(exp)}")
        for t, v in exp.items():
            if not values_match(v, pts[t]):
                raise Mismatch(f"{what}: {format_labels(labels)} at {t}: expected {_fmt(v)} "
                               f"but got {_fmt(pts[t])}")
    missing = [l for l in expected if l not in got and expected[l]]
    if missing:
        raise Mismatch(f"{what}: expected series {format_labels(missing[0])} not found")


def _labels_sorted(label_sets: list, what: str) -> None:
    """Range results come sorted by labels (upstream's ``assertMatrixSorted``; label
    tuples order as ``labels.Compare``)."""
    for a, b in zip(label_sets, label_sets[1:]):
        if a > b:
            raise Mismatch(f"{what}: matrix not sorted by labels: {format_labels(b)} comes "
                           f"after {format_labels(a)}")


_STORES: dict = {}


def store_for(ev: Eval) -> Store:
    """One store per distinct set of loads (cached: loads are immutable)."""
    key = id(ev.loads[-1]) if ev.loads else None
    key = (key, len(ev.loads))
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = build_store(ev.loads)
    return store


def run_eval(ev: Eval, engine_factory=None) -> None:
    """Run one evaluation; raises ``Mismatch`` (an AssertionError) when it disagrees.
    The engine emulates the evaluation's dialect unless ``engine_factory(store)`` makes
    another."""
    store = store_for(ev)
    engine = engine_factory(store) if engine_factory else Engine(store, emulation=ev.emulation)
    if ev.dialect == "3.5":
        run_eval_3(engine, ev)
    elif ev.kind == "range":
        run_range(engine, ev)
    else:
        run_instant(engine, ev)


# -- the 3.5 dialect ----------------------------------------------------------------------
_POSITION = re.compile(r" \((?:\d+:\d+|unknown position)\)$")


def strip_position(text: str) -> str:
    """An annotation as the engine words it: without the ``(line:column)`` the API adds."""
    return _POSITION.sub("", text)


def check_annotations(ev: Eval, warnings, infos) -> None:
    """Upstream's ``checkAnnotations``: ``eval_warn``/``eval_info`` want at least one;
    ``expect warn|info`` lines must each match one and every one must be matched by a
    line; ``expect no_warn|no_info`` want none. Plain ``eval`` ignores annotations."""
    warnings = [strip_position(w) for w in warnings]
    infos = [strip_position(i) for i in infos]
    if ev.warn and not warnings:
        raise Mismatch("expected warnings but got none")
    if ev.info and not infos:
        raise Mismatch(f"expected info annotations but got none (warnings: {warnings})")
    for kind, got in (("warn", warnings), ("info", infos)):
        wanted = ev.expects.get(kind) or []
        if not wanted:
            continue
        if not got:
            raise Mismatch(f"expected {kind} annotations but none were found")
        for e in wanted:
            if not any(e.matches(g) for g in got):
                raise Mismatch(f"expected {kind} annotation matching {e} but found only "
                               f"{got}")
        for g in got:
            if not any(e.matches(g) for e in wanted):
                raise Mismatch(f"unexpected {kind} annotation {g!r}")
    if ev.expects.get("no_warn") and warnings:
        raise Mismatch(f"unexpected warning annotations: {warnings}")
    if ev.expects.get("no_info") and infos:
        raise Mismatch(f"unexpected info annotations: {infos}")


def check_expected_failure(ev: Eval, message: str) -> None:
    """Upstream's ``checkExpectedFailure``: the error's text against
    ``expected_fail_message`` (exact), ``expected_fail_regexp`` and ``expect fail``."""
    if ev.fail_message and ev.fail_message != message:
        raise Mismatch(f"expected error {ev.fail_message!r} but got {message!r}")
    if ev.fail_regexp and re.search(ev.fail_regexp, message) is None:
        raise Mismatch(f"expected error matching /{ev.fail_regexp}/ but got {message!r}")
    fails = ev.expects.get("fail") or []
    if fails and not fails[0].matches(message):
        raise Mismatch(f"expected error matching {fails[0]} but got {message!r}")


def run_eval_3(engine: Engine, ev: Eval) -> None:
    """One evaluation as upstream v3.5 ``execRangeEval`` / ``execInstantEval`` run it."""
    if ev.kind == "range":
        call = lambda: engine.range_query(ev.expr, ev.start_ms, ev.end_ms, ev.step_ms)
    else:
        call = lambda: engine.instant_query(ev.expr, ev.t_ms)
    try:
        res = call()
    except PromQLError as e:
        if ev.is_fail:
            check_expected_failure(ev, e.message)
            return
        raise Mismatch(f"{ev.kind}: error evaluating the query: {e.message}") from e
    if ev.is_fail:
        raise Mismatch(f"{ev.kind}: expected an error but got none")
    check_annotations(ev, res.warnings, res.infos)
    if ev.kind == "range":
        compare_range_result(ev, res.value)
        return
    compare_instant_result(ev, res.value, "instant")
    try:
        mat = engine.range_query(ev.expr, ev.t_ms - 60_000, ev.t_ms + 60_000, 60_000).value
    except PromQLError as e:
        raise Mismatch(f"range mode: error evaluating the query: {e.message}") from e
    if not ev.is_ordered:
        _compare_range_step(ev, res.value, mat, "range mode")


class _SummaryPlugin:
    """Prints ``lines()`` under ``title`` in pytest's terminal summary."""

    def __init__(self, title: str, lines, active):
        self.title, self.lines, self.active = title, lines, active

    def pytest_terminal_summary(self, terminalreporter):
        if self.active():
            terminalreporter.section(self.title)
            for line in self.lines():
                terminalreporter.write_line(line)


def register_summary(config, name: str, title: str, lines, active) -> None:
    """Register (once per session) a terminal-summary table: ``lines()`` gives its rows,
    printed when ``active()`` is true (some evaluation ran)."""
    if config.pluginmanager.get_plugin(name) is None:
        config.pluginmanager.register(_SummaryPlugin(title, lines, active), name)


# -- a per-file tally of corpus results, counted from test reports -------------------------
class CorpusTally:
    """Counts the outcomes of the parametrized corpus tests of some modules from pytest's
    reports (so it also works under xdist, where tests run in workers) and prints
    ``N passed, M failed`` per file and mode in the terminal summary. A test id is
    ``<mode>:<file>:<line>`` (or ``<file>:<line>``, counted under ``default_mode``); a
    test function named in ``modes`` counts under that mode instead. An xfail (a listed
    known failure) counts as failed, a skip whose reason starts with ``excluded`` as
    excluded."""

    def __init__(self, modules, title: str, default_mode: str = "",
                 modes: Optional[dict] = None):
        self.modules = (modules,) if isinstance(modules, str) else tuple(modules)
        self.title, self.default_mode = title, default_mode
        self.modes = modes or {}
        self.counts: dict = {}  # (file, mode) -> Counter

    def pytest_runtest_logreport(self, report):
        path, _, test = report.nodeid.partition("::")
        if path.rsplit("/", 1)[-1] not in self.modules or "[" not in test:
            return
        function, ident = test.split("[", 1)
        parts = ident.rstrip("]").split(":")
        if len(parts) == 2 and self.default_mode:
            parts.insert(0, self.default_mode)
        if len(parts) != 3:
            return
        mode, file, _ = parts
        mode = self.modes.get(function, mode)
        c = self.counts.setdefault((file, mode), Counter())
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                c["failed"] += 1
            else:
                c[report.outcome] += 1
        elif report.when == "setup" and report.outcome != "passed":
            reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
            if report.skipped and reason.startswith("Skipped: excluded"):
                c["excluded"] += 1
            elif report.skipped and hasattr(report, "wasxfail"):
                c["failed"] += 1
            elif report.skipped:
                c["skipped"] += 1
            else:
                c["failed"] += 1

    def lines(self) -> list:
        files = sorted({f for f, _ in self.counts})
        modes = sorted({m for _, m in self.counts})
        out = []
        total = {m: Counter() for m in modes}
        for f in files:
            cells = []
            for m in modes:
                c = self.counts.get((f, m))
                if c is None:
                    cells.append("-".ljust(52))
                    continue
                total[m].update(c)
                cells.append(_cell(m, c))
            out.append(f"{f:<30}" + "   ".join(cells))
        out.append(f"{'total':<30}" + "   ".join(_cell(m, total[m]) for m in modes))
        return out

    def pytest_terminal_summary(self, terminalreporter):
        if self.counts:
            terminalreporter.section(self.title)
            for line in self.lines():
                terminalreporter.write_line(line)


def _cell(mode: str, c: Counter) -> str:
    text = f"{mode}: {c['passed']} passed, {c['failed']} failed"
    extra = [f"{c[k]} {k}" for k in ("excluded", "skipped") if c[k]]
    return f"{text}{' (' + ', '.join(extra) + ')' if extra else ''}".ljust(52)


def register_tally(config, modules, title: str, **options) -> None:
    """Register (once) the ``CorpusTally`` of ``modules`` (file names; see its options)."""
    name = "corpus-tally-" + str(modules)
    if config.pluginmanager.get_plugin(name) is None:
        config.pluginmanager.register(CorpusTally(modules, title, **options), name)
