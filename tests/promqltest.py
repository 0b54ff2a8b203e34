"""The Prometheus PromQL ``.test`` script format: parser, data loading and comparison.

Follows Prometheus v2.42 ``promql/test.go``:

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
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Optional

from mockprom.promql.engine import Engine
from mockprom.promql.errors import PromQLError
from mockprom.promql.values import Matrix, Scalar, String, Vector
from mockprom.scenario.durations import parse_duration_ms
from mockprom.scenario.labels import format_labels, make_labels
from mockprom.scenario.notation import expand, parse_selector_prefix, parse_series_line
from mockprom.scenario.store import StaticSource, Store

EPSILON = 0.000001
MIN_NORMAL = 2.2250738585072014e-308  # math.Float64frombits(0x0010000000000000)

_LOAD = re.compile(r"^load\s+(\S+)\s*$")
_EVAL_INSTANT = re.compile(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_EVAL_RANGE = re.compile(
    r"^eval(?:_(fail|ordered))?\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.+)$")


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
    series: list  # [(Labels, [Optional[float]])]
    lines: list = field(default_factory=list)  # [(selector text, values text)] as written


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

    @property
    def id(self) -> str:
        return f"{self.file}:{self.line}"


class ScriptError(ValueError):
    pass


def parse_script(text: str, name: str = "<script>") -> list[Eval]:
    """All evaluations of a script, each with the data loads it runs against."""
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


def _fmt(v: float) -> str:
    return repr(v)


def compare_vector(ev: Eval, samples: list, what: str) -> None:
    """``compareResult`` for a vector: same label sets, almost-equal values, and for
    ``eval_ordered`` the same order."""
    if any(e.labels is None for e in ev.expected):
        raise Mismatch(f"{what}: expected a scalar, got a vector of {len(samples)} samples")
    expected = {e.labels: (pos, e.values[0]) for pos, e in enumerate(ev.expected)}
    seen = set()
    for pos, s in enumerate(samples):
        if s.labels not in expected:
            raise Mismatch(f"{what}: unexpected metric {format_labels(s.labels)} in result "
                           f"(value {_fmt(s.value)})")
        exp_pos, exp_val = expected[s.labels]
        if ev.ordered and exp_pos != pos:
            raise Mismatch(f"{what}: expected metric {format_labels(s.labels)} with "
                           f"{_fmt(exp_val)} at position {exp_pos + 1} but was at {pos + 1}")
        if not almost_equal(exp_val, s.value):
            raise Mismatch(f"{what}: expected {_fmt(exp_val)} for {format_labels(s.labels)} "
                           f"but got {_fmt(s.value)}")
        seen.add(s.labels)
    missing = [l for l in expected if l not in seen]
    if missing:
        raise Mismatch(f"{what}: expected metric {format_labels(missing[0])} not found")


def compare_scalar(ev: Eval, value: float, what: str) -> None:
    if len(ev.expected) != 1 or ev.expected[0].labels is not None:
        raise Mismatch(f"{what}: expected {len(ev.expected)} series, got a scalar "
                       f"{_fmt(value)}")
    if not almost_equal(ev.expected[0].values[0], value):
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
    if isinstance(instant, Scalar):
        if len(mat.series) != 1 or mat.series[0].labels != () or len(samples) != 1:
            raise Mismatch(f"{what}: a scalar expression did not give one series without "
                           "labels")
        compare_scalar(ev, samples[0].value, what)
        return
    saved, ev.ordered = ev.ordered, False  # range results are sorted by labels
    try:
        compare_vector(ev, samples, what)
    finally:
        ev.ordered = saved


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
    steps = list(range(ev.start_ms, ev.end_ms + 1, ev.step_ms))
    got = {s.labels: dict(s.points) for s in mat.series}
    expected = {}
    for e in ev.expected:
        labels = () if e.labels is None else e.labels
        if len(e.values) != len(steps):
            raise Mismatch(f"{what}: expected line for {format_labels(labels)} has "
                           f"{len(e.values)} values for {len(steps)} steps")
        expected[labels] = {t: v for t, v in zip(steps, e.values) if v is not None}
    for labels, pts in got.items():
        if labels not in expected:
            raise Mismatch(f"{what}: unexpected series {format_labels(labels)}: {pts}")
        exp = expected[labels]
        if set(pts) != set(exp):
            raise Mismatch(f"{what}: {format_labels(labels)} has points at "
                           f"{sorted(pts)} but expected at {sorted(exp)}")
        for t, v in exp.items():
            if not almost_equal(v, pts[t]):
                raise Mismatch(f"{what}: {format_labels(labels)} at {t}: expected {_fmt(v)} "
                               f"but got {_fmt(pts[t])}")
    missing = [l for l in expected if l not in got and expected[l]]
    if missing:
        raise Mismatch(f"{what}: expected series {format_labels(missing[0])} not found")


_STORES: dict = {}


def store_for(ev: Eval) -> Store:
    """One store per distinct set of loads (cached: loads are immutable)."""
    key = id(ev.loads[-1]) if ev.loads else None
    key = (key, len(ev.loads))
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = build_store(ev.loads)
    return store


def run_eval(ev: Eval, engine_factory=Engine) -> None:
    """Run one evaluation; raises ``Mismatch`` (an AssertionError) when it disagrees."""
    engine = engine_factory(store_for(ev))
    if ev.kind == "range":
        run_range(engine, ev)
    else:
        run_instant(engine, ev)


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
