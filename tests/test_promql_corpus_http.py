"""The upstream PromQL conformance corpus (Prometheus v2.42.0 ``promql/testdata``, from
``../shared/promql-testdata``) and our own ``tests/promql/*.test`` files, run through
the HTTP API of a real ``MockPrometheus`` server, the way a client sees mockprom.

Each ``load`` block (with those before it since the last ``clear``) becomes a scenario:
every series in the notation shape (``{"series": 'metric{...}', "values": "0+1x10",
"interval": "1m", "start": 0}``) where that reproduces the block exactly, else in the
bare shape (``{"labels": {...}, "samples": [[t_seconds, v_or_"stale"], ...]}``). One
module-scoped server loads each scenario once, for the evaluations that follow it. Then
every evaluation is sent as ``GET /api/v1/query?query=...&time=<t>`` and again as
``/api/v1/query_range?start=t&end=t&step=1``; the JSON answers are parsed back into the
result values of ``promqltest.py`` and compared exactly as the engine path does (NaN
equals NaN, relative tolerance 1e-6, order only for ``eval_ordered``). ``eval_fail``
must give an error envelope: 400 ``bad_data`` for a parse error, 422 ``execution`` for
an evaluation error. mockprom's ``eval range`` cases go to ``query_range`` as written.

Test ids: ``http:functions.test:123``. Known failures are listed in
``promql_known_failures.txt`` with an ``http:`` prefix (none at the moment). The
terminal summary prints ``N passed, M failed`` per file, engine and HTTP side by side
(``promqltest.CorpusTally``, registered in conftest.py; own files in their own column).
"""

from __future__ import annotations

import math
import os
import struct
from collections import Counter
from pathlib import Path

import pytest
import requests
from pydantic import ValidationError

from mockprom.histograms import FloatHistogram
from mockprom.promql.values import Matrix, Sample, Scalar, Series, String, Vector
from mockprom.scenario.durations import format_duration_ms
from mockprom.scenario.labels import format_labels, make_labels
from mockprom.scenario.model import NotationSeries
from mockprom.scenario.samples import STALE_NAN, is_stale
from mockprom.server import MockPrometheus
from promqltest import (Load, Mismatch, compare_instant_result, compare_range_result,
                        compare_range_step, parse_script, read_known_failures,
                        register_summary)

HERE = Path(__file__).parent
CORPUS = Path(os.environ.get("MOCKPROM_PROMQL_TESTDATA",
                             HERE.parent.parent / "shared" / "promql-testdata"))
OWN_CASES = HERE / "promql"
KNOWN_FAILURES_FILE = HERE / "promql_known_failures.txt"
CORPUS_SIZE = 566
PREFIX = "http:"
PARAM_PREFIX = 'invalid parameter "query": '


def _evals(directory: Path) -> list:
    out = []
    for path in sorted(directory.glob("*.test")):
        out.extend(parse_script(path.read_text(), path.name))
    return out


CORPUS_EVALS = _evals(CORPUS) if CORPUS.is_dir() else []
OWN_EVALS = _evals(OWN_CASES)
KNOWN = read_known_failures(KNOWN_FAILURES_FILE, PREFIX)
SHAPES: Counter = Counter()  # "notation" / "bare" -> series loaded in that shape
LOADS: Counter = Counter()  # scenario loads


# -- scenarios from load blocks -----------------------------------------------------------
def _same_value(a, b) -> bool:
    """Bit for bit (a staleness marker is not any NaN); None for an omitted sample."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, FloatHistogram) or isinstance(b, FloatHistogram):
        return isinstance(a, FloatHistogram) and a == b
    return struct.pack("<d", a) == struct.pack("<d", b)


def _wire_value(v):
    if isinstance(v, FloatHistogram):
        return v.test_expression()
    if is_stale(v):
        return "stale"
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return v


def notation_spec(load, labels, values, texts):
    """The series in the notation shape, or None when that would not reproduce it."""
    if texts is None:
        return None
    selector, values_text = texts
    spec = {"series": selector, "values": values_text,
            "interval": format_duration_ms(load.interval_ms), "start": 0}
    try:
        model = NotationSeries.model_validate(spec)
    except ValidationError:
        return None
    if (make_labels(model.labels) != labels or model.interval != load.interval_ms
            or model.start.resolve(0) != 0 or model.start.resolve(10**12) != 0):
        return None
    got = model.expanded
    if len(got) != len(values) or not all(_same_value(a, b) for a, b in zip(got, values)):
        return None
    return spec


def bare_spec(load, labels, values):
    """The series in the bare shape: explicit ``[t_seconds, value]`` samples."""
    return {"labels": dict(labels),
            "samples": [[k * load.interval_ms / 1000, _wire_value(v)]
                        for k, v in enumerate(values) if v is not None]}


def scenario_for(loads) -> tuple[dict, Counter]:
    """The scenario of a sequence of load blocks, and how many series of each shape."""
    series, shapes = [], Counter()
    for load in loads:
        for (labels, values), texts in zip(load.series, load.lines):
            spec = notation_spec(load, labels, values, texts)
            if spec is None:
                spec = bare_spec(load, labels, values)
            shapes["notation" if "series" in spec else "bare"] += 1
            series.append(spec)
    return {"series": series}, shapes


# -- the server and the HTTP calls --------------------------------------------------------
def seconds(ms: int) -> str:
    """Milliseconds as exact unix seconds text (``300``, ``0.001``, ``-60.5``)."""
    sign, ms = ("-", -ms) if ms < 0 else ("", ms)
    whole, frac = divmod(ms, 1000)
    return f"{sign}{whole}" + (f".{frac:03d}".rstrip("0") if frac else "")


class Harness:
    """One ``MockPrometheus`` and a session; loads the scenario of an evaluation's load
    blocks when it is not the one loaded (so once per block in file order)."""

    def __init__(self, prom: MockPrometheus, server: dict | None = None):
        self.prom = prom
        self.server = server  # the scenarios' ``server:`` block (feature flags)
        self.session = requests.Session()
        self.loaded = None

    def use(self, ev) -> None:
        key = (ev.file, tuple(id(load) for load in ev.loads))
        if key != self.loaded:
            scenario, shapes = scenario_for(ev.loads)
            if self.server:
                scenario["server"] = self.server
            self.prom.load_scenario(scenario)
            self.loaded = key
            LOADS["scenarios"] += 1
            SHAPES.update(shapes)

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(self.prom.url + path, params=params, timeout=30)

    def instant(self, expr: str, t_ms: int) -> requests.Response:
        return self.get("/api/v1/query", query=expr, time=seconds(t_ms))

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int) -> requests.Response:
        return self.get("/api/v1/query_range", query=expr, start=seconds(start_ms),
                        end=seconds(end_ms), step=seconds(step_ms))


@pytest.fixture(scope="module")
def harness():
    with MockPrometheus({"series": []}, version="2.42.0") as prom:
        h = Harness(prom)
        try:
            yield h
        finally:
            h.session.close()


# -- answers back into result values ------------------------------------------------------
def _ms(t) -> int:
    return round(float(t) * 1000)


def _labels(metric: dict, what: str):
    if not isinstance(metric, dict):
        raise Mismatch(f"{what}: 'metric' is not an object: {metric!r}")
    return make_labels(metric)


def decode(resp: requests.Response, what: str):
    """A success envelope's ``data`` as ``Scalar``/``String``/``Vector``/``Matrix``."""
    try:
        body = resp.json()
    except ValueError:
        raise Mismatch(f"{what}: HTTP {resp.status_code}, not JSON: {resp.text[:200]!r}")
    if resp.status_code != 200 or body.get("status") != "success":
        raise Mismatch(f"{what}: HTTP {resp.status_code}: {body}")
    data = body["data"]
    kind, result = data["resultType"], data["result"]
    if kind == "scalar":
        return Scalar(_ms(result[0]), float(result[1]))
    if kind == "string":
        return String(_ms(result[0]), result[1])
    if kind == "vector":
        samples = [_sample(s, what) for s in result]
        _unique([s.labels for s in samples], what)
        return Vector(samples)
    if kind == "matrix":
        series = [Series(_labels(s["metric"], what),
                         [(_ms(t), float(v)) for t, v in s.get("values", [])],
                         [(_ms(t), h) for t, h in s.get("histograms", [])]) for s in result]
        _unique([s.labels for s in series], what)
        for s in series:
            for pts in (s.points, s.histograms):
                ts = [t for t, _ in pts]
                if ts != sorted(set(ts)):
                    raise Mismatch(f"{what}: points of {format_labels(s.labels)} not "
                                   f"ascending: {ts}")
            ts = [t for t, _ in s.points] + [t for t, _ in s.histograms]
            if len(ts) != len(set(ts)):
                raise Mismatch(f"{what}: {format_labels(s.labels)} has a float and a "
                               f"histogram at the same time: {sorted(ts)}")
        return Matrix(series)
    raise Mismatch(f"{what}: unknown resultType {kind!r}")


def _sample(s: dict, what: str) -> Sample:
    """A vector sample of the API: ``value`` [t, "v"] or ``histogram`` [t, {...}]."""
    if ("value" in s) == ("histogram" in s):
        raise Mismatch(f"{what}: a sample needs one of 'value' and 'histogram': {s!r}")
    if "histogram" in s:
        t, h = s["histogram"]
        return Sample(_labels(s["metric"], what), _ms(t), math.nan, h)
    return Sample(_labels(s["metric"], what), _ms(s["value"][0]), float(s["value"][1]))


def _unique(label_sets: list, what: str) -> None:
    dup = [l for l, n in Counter(label_sets).items() if n > 1]
    if dup:
        raise Mismatch(f"{what}: the answer holds {format_labels(dup[0])} twice")


def _at_time(value, t_ms: int, what: str) -> None:
    """An instant query's scalar and vector samples carry the evaluation time."""
    stamps = [value.t_ms] if isinstance(value, Scalar) else \
        [s.t_ms for s in value.samples] if isinstance(value, Vector) else []
    wrong = [t for t in stamps if t != t_ms]
    if wrong:
        raise Mismatch(f"{what}: sample timestamp {wrong[0]} ms, expected {t_ms}")


# -- errors -------------------------------------------------------------------------------
def is_bad_data(message: str) -> bool:
    """Prometheus 2.42 refuses these before evaluating (``NewInstantQuery`` /
    ``NewRangeQuery``: 400 ``bad_data``); everything else fails in ``Exec`` (422)."""
    return "parse error" in message or (message.startswith("invalid expression type")
                                        and "for range query" in message)


def check_error(resp: requests.Response, endpoint: str, expected_message, what: str) -> str:
    """The answer is Prometheus's error envelope with the status, ``errorType`` and (when
    the test gives one) message that the error calls for; returns the message (without
    the ``invalid parameter "query": `` prefix of a refused query)."""
    try:
        body = resp.json()
    except ValueError:
        raise Mismatch(f"{what}: HTTP {resp.status_code}, not JSON: {resp.text[:200]!r}")
    if body.get("status") != "error":
        raise Mismatch(f"{what}: expected an error but got HTTP {resp.status_code} "
                       f"{body.get('data')!r}")
    message = body.get("error", "")
    core = message
    if endpoint == "query" and message.startswith(PARAM_PREFIX):
        core = message[len(PARAM_PREFIX):]
    bad = is_bad_data(expected_message if expected_message is not None else core)
    want_status, want_type = (400, "bad_data") if bad else (422, "execution")
    if (resp.status_code, body.get("errorType")) != (want_status, want_type):
        raise Mismatch(f"{what}: expected {want_status} {want_type} but got "
                       f"{resp.status_code} {body.get('errorType')}: {message!r}")
    if bad and endpoint == "query" and core == message:
        raise Mismatch(f"{what}: a refused query reads {PARAM_PREFIX!r}..., got {message!r}")
    if expected_message is not None and core != expected_message:
        raise Mismatch(f"{what}: expected error {expected_message!r} but got {core!r}")
    return core


# -- running one evaluation ---------------------------------------------------------------
def run_http(h: Harness, ev) -> None:
    """An evaluation through the HTTP API; raises ``Mismatch`` when it disagrees."""
    h.use(ev)
    if ev.kind == "range":
        resp = h.range(ev.expr, ev.start_ms, ev.end_ms, ev.step_ms)
        if ev.fail:
            check_error(resp, "query_range", ev.fail_message, "range")
        else:
            compare_range_result(ev, decode(resp, "range"), "range")
        return
    if ev.fail:
        check_error(h.instant(ev.expr, ev.t_ms), "query", ev.fail_message, "instant")
        check_error(h.range(ev.expr, ev.t_ms, ev.t_ms, 1000), "query_range", None,
                    "one-step range")
        return
    value = decode(h.instant(ev.expr, ev.t_ms), "instant")
    _at_time(value, ev.t_ms, "instant")
    compare_instant_result(ev, value, "instant")
    mat = decode(h.range(ev.expr, ev.t_ms, ev.t_ms, 1000), "one-step range")
    if not isinstance(mat, Matrix):
        raise Mismatch(f"one-step range: got a {type(mat).__name__}, expected a matrix")
    stray = [t for s in mat.series for t, _ in s.points if t != ev.t_ms]
    if stray:
        raise Mismatch(f"one-step range: a point at {stray[0]} ms, expected only {ev.t_ms}")
    compare_range_step(ev, value, mat, "one-step range")


def _params(evals, missing_reason=None):
    if missing_reason:
        yield pytest.param(None, id=PREFIX + "corpus-missing",
                           marks=pytest.mark.skip(reason=missing_reason))
    for ev in evals:
        ident = PREFIX + ev.id
        marks = [pytest.mark.xfail(reason=KNOWN[ident], strict=True)] if ident in KNOWN else []
        yield pytest.param(ev, id=ident, marks=marks)


_MISSING = None if CORPUS.is_dir() else \
    f"PromQL corpus not found at {CORPUS} (set MOCKPROM_PROMQL_TESTDATA)"


@pytest.mark.skipif(_MISSING is not None, reason=str(_MISSING))
def test_corpus_size():
    """The corpus is the 566 evaluations of the 11 files of Prometheus v2.42.0."""
    assert len(list(CORPUS.glob("*.test"))) == 11
    assert len(CORPUS_EVALS) == CORPUS_SIZE


@pytest.mark.parametrize("ev", list(_params(CORPUS_EVALS, _MISSING)))
def test_promql_corpus_http(harness, ev):
    run_http(harness, ev)


@pytest.mark.parametrize("ev", list(_params(OWN_EVALS)))
def test_own_case_http(harness, ev):
    run_http(harness, ev)


def test_every_load_block_is_a_notation_scenario():
    """Every series of every load block is reproduced exactly by the scenario notation
    shape (so the corpus checks the notation too); bare-shape fallbacks are listed."""
    fallbacks = []
    for ev in CORPUS_EVALS + OWN_EVALS:
        for load in ev.loads:
            for (labels, values), texts in zip(load.series, load.lines):
                if notation_spec(load, labels, values, texts) is None:
                    fallbacks.append(f"{ev.id}: {texts[0]}")
    assert not fallbacks, sorted(set(fallbacks))


def test_bare_shape_reproduces_a_block_exactly():
    """The fallback shape keeps omitted samples out, staleness markers as "stale", and
    NaN/±Inf as their strings; loaded, it answers like the notation shape."""
    labels = make_labels({"__name__": "m", "a": "x"})
    values = [1.0, None, math.nan, math.inf, -math.inf, STALE_NAN, -0.0]
    load = Load(30_000, [(labels, values)], [('m{a="x"}', "1 _ NaN Inf -Inf stale -0")])
    assert notation_spec(load, labels, values, load.lines[0]) == {
        "series": 'm{a="x"}', "values": "1 _ NaN Inf -Inf stale -0", "interval": "30s",
        "start": 0}
    bare = bare_spec(load, labels, values)
    assert bare["labels"] == {"__name__": "m", "a": "x"}
    assert [t for t, _ in bare["samples"]] == [0, 60, 90, 120, 150, 180]
    assert [v for _, v in bare["samples"]][1:5] == ["NaN", "+Inf", "-Inf", "stale"]
    # A written line that does not give these values is not taken as notation.
    assert notation_spec(load, labels, values[:-1], load.lines[0]) is None
    with MockPrometheus({"series": [bare]}, version="2.42.0") as a, \
            MockPrometheus({"series": [notation_spec(load, labels, values, load.lines[0])]}, version="2.42.0") as b:
        for t in ("0", "30", "60", "150", "180", "200"):
            got = [requests.get(p.url + "/api/v1/query", params={"query": "m", "time": t},
                                timeout=10).json() for p in (a, b)]
            assert got[0] == got[1], t
        answers = requests.get(a.url + "/api/v1/query_range",
                               params={"query": "m", "start": "0", "end": "240", "step": "30"},
                               timeout=10).json()["data"]["result"]
        assert answers == [{"metric": {"__name__": "m", "a": "x"},
                            "values": [[0, "1"], [30, "1"], [60, "NaN"], [90, "+Inf"],
                                       [120, "-Inf"], [180, "-0"], [210, "-0"], [240, "-0"]]}]


def test_seconds_text():
    assert [seconds(ms) for ms in (0, 1, 300_000, 1_500, -60_500, 3_000_010)] == \
        ["0", "0.001", "300", "1.5", "-60.5", "3000.01"]


def test_error_classes():
    assert is_bad_data('1:5: parse error: unexpected "}"')
    assert is_bad_data('invalid expression type "range vector" for range query, must be '
                       'Scalar or instant Vector')
    assert not is_bad_data("vector cannot contain metrics with the same labelset")
    assert not is_bad_data('invalid label name "not-a-label"')


def test_parse_error_envelope(harness):
    """A parse error answers 400 bad_data on both endpoints (through ``check_error``)."""
    check_error(harness.instant("sum(", 0), "query", None, "instant")
    check_error(harness.range("sum(", 0, 0, 1000), "query_range", None, "range")
    with pytest.raises(Mismatch, match="expected an error"):
        check_error(harness.instant("1", 0), "query", None, "instant")


# -- how the corpus was loaded ------------------------------------------------------------
def summary_lines() -> list[str]:
    return [f"scenarios loaded: {LOADS['scenarios']}; series in notation shape: "
            f"{SHAPES['notation']}, in bare shape: {SHAPES['bare']}"]


@pytest.fixture(scope="module", autouse=True)
def _summary_table(request):
    register_summary(request.config, "promql-corpus-http-summary",
                     "PromQL corpus over HTTP: scenarios", summary_lines,
                     lambda: bool(LOADS["scenarios"]))
    yield
