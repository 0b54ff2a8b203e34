"""The PromQL parse adapter as Prometheus 3.5 reads queries: UTF-8 names, duration
arithmetic, the new functions and aggregations behind their feature flags, 3.5's error
texts and positions, ``format_query``/``Expr.String()`` and ``parse_query``; checked
against a real Prometheus 3.5.3 (``../shared/tools/get-prometheus-3``)."""

from __future__ import annotations

import json
import random

import pytest

from mockprom import versions
from mockprom.promql import nodes as n
from mockprom.promql import parse as adapter
from mockprom.promql.errors import ParseError

V3 = versions.resolve("3.5.3")
FLAGS = ("promql-experimental-functions", "promql-duration-expr")
V3_FLAGS = versions.resolve("3.5.3", FLAGS)


def parse(text, emulation=V3_FLAGS):
    return adapter.resolve_durations(adapter.parse(text, emulation))


def verdict(text, emulation):
    try:
        parse(text, emulation)
    except ParseError as exc:
        return exc.message
    return "OK"


# A real Prometheus 3.5.3's verdict on each query (one answer: the same with and
# without flags; a pair: default flags, then --enable-feature=
# promql-experimental-functions,promql-duration-expr)
VERDICTS = {
    '{"my.metric"}': 'OK',
    '{"my.metric", "a.b"="c"}': 'OK',
    'sum by ("a.b") (x)': 'OK',
    'x * on("x") y': 'OK',
    'x[5m+1m]': ('1:3: parse error: experimental duration expression is not enabled',
                 'OK'),
    'x offset (1h*2)': ('1:11: parse error: experimental duration expression is not enabled',
                        'OK'),
    'x[5]': 'OK',
    'x offset 5': 'OK',
    'x @ 1m': 'OK',
    '1m + 1': 'OK',
    '-5m': 'OK',
    'x[0]': '1:3: parse error: duration must be greater than 0',
    'x[-5m]': '1:3: parse error: duration must be greater than 0',
    'foo offset (1m) + 1m': ('1:13: parse error: experimental duration expression is not enabled',
                             'OK'),
    'foo offset -2 ^ 2': 'OK',
    'limitk(1, x)': ('1:1: parse error: limitk() is experimental and must be enabled with --enable-feature=promql-experimental-functions',
                     'OK'),
    'limit_ratio(0.5, x)': ('1:1: parse error: limit_ratio() is experimental and must be enabled with --enable-feature=promql-experimental-functions',
                            'OK'),
    'sort_by_label(x, "a")': ('1:1: parse error: function "sort_by_label" is not enabled',
                              'OK'),
    'info(x)': ('1:1: parse error: function "info" is not enabled',
                'OK'),
    'info(x, {a="b"})': ('1:1: parse error: function "info" is not enabled',
                         'OK'),
    'info(x, y[5m])': ('1:1: parse error: function "info" is not enabled',
                       'unexpected error'),
    'info(x, sum(y))': ('1:1: parse error: function "info" is not enabled',
                        'unexpected error'),
    'info(x, foo{a="b"})': ('1:1: parse error: function "info" is not enabled',
                            '1:9: parse error: expected label selectors only, got vector selector instead'),
    'holt_winters(x[5m], 0.5, 0.5)': '1:1: parse error: unknown function with name "holt_winters"',
    'double_exponential_smoothing(x[5m], 0.5, 0.5)': ('1:1: parse error: function "double_exponential_smoothing" is not enabled',
                                                      'OK'),
    'mad_over_time(x[5m])': ('1:1: parse error: function "mad_over_time" is not enabled',
                             'OK'),
    '': 'unknown position: parse error: no expression found in input',
    ' ': '1:1: parse error: no expression found in input',
    'x{a=~"("}': '1:3: parse error: error parsing regexp: missing closing ): `(`',
    'x{a=~"[a-"}': '1:3: parse error: error parsing regexp: missing closing ]: `[a-`',
    'x{a=~"x**"}': '1:3: parse error: error parsing regexp: invalid nested repetition operator: `**`',
    'sum by (a:b) (x)': 'OK',
    'sum by ("") (x)': '1:9: parse error: invalid label name for grouping: ""',
    '1_000': 'OK',
    '0x_1F': 'OK',
    '1__0': '1:1: parse error: bad number or duration syntax: "1__"',
    '1e': '1:1: parse error: bad number or duration syntax: "1e"',
    'x[5m:1m+1m]': ('1:6: parse error: experimental duration expression is not enabled',
                    'OK'),
    'x[(5m)]': ('1:4: parse error: experimental duration expression is not enabled',
                'OK'),
    'x[:5m]': '1:4: parse error: unexpected colon before duration in duration expression',
    'x[5m::]': "1:6: parse error: unexpected colon ':'",
    'x[5m x]': 'OK',
    'x[x]': "1:3: parse error: unexpected character in duration expression: 'x'",
    'x[5m:x]': "1:6: parse error: unexpected colon 'x'",
    'x[5m+]': '1:6: parse error: unexpected "]" in subquery selector, expected number or duration',
    'x[5m 1m]': '1:6: parse error: unexpected duration "1m" in subquery or range, expected ":" or "]"',
    'x{"a"}': '1:1: parse error: metric name must not be set twice: "x" or "a"',
    'foo{"bar"}': '1:1: parse error: metric name must not be set twice: "foo" or "bar"',
    'x[1m/0]': ('1:3: parse error: experimental duration expression is not enabled',
                '1:5: parse error: division by zero'),
    'x[1m%0]': ('1:3: parse error: experimental duration expression is not enabled',
                '1:5: parse error: modulo by zero'),
    'x[5m-10m]': ('1:3: parse error: experimental duration expression is not enabled',
                  '2:8: duration must be greater than 0'),
    'x[1.5]': 'OK',
    'histogram_avg(x)': 'OK',
    'ts_of_last_over_time(x[5m])': ('1:1: parse error: function "ts_of_last_over_time" is not enabled',
                                    'OK'),
    'x @ 1m offset 1m': 'OK',
    'x offset 0 offset 1m': 'OK',
    'x offset 0 [5m]': 'OK',
    'x[5m] offset (1m)': ('1:15: parse error: experimental duration expression is not enabled',
                          'OK'),
    'x[1m:1m] offset (1m + 1m)': ('1:18: parse error: experimental duration expression is not enabled',
                                  'OK'),
    'foo[1y]': 'OK',
    'foo offset 1e10': '1:12: parse error: duration out of range',
    'foo offset 1e9': 'OK',
}


def _verdict_of(text: str, flagged: bool) -> str:
    want = VERDICTS[text]
    return want if isinstance(want, str) else want[flagged]


@pytest.mark.parametrize("text", sorted(VERDICTS))
def test_verdicts_without_flags_are_prometheus_3_5(text):
    assert verdict(text, V3) == _verdict_of(text, False)


@pytest.mark.parametrize("text", sorted(VERDICTS))
def test_verdicts_with_feature_flags_are_prometheus_3_5(text):
    assert verdict(text, V3_FLAGS) == _verdict_of(text, True)


def test_default_emulation_is_3_5():
    assert adapter.check("holt_winters(x[5m], 0.5, 0.5)") == (
        '1:1: parse error: unknown function with name "holt_winters"')
    assert adapter.check("holt_winters(x[5m], 0.5, 0.5)", versions.resolve("2.42.0")) is None


def test_utf8_names_build_matchers():
    node = parse('{"my.metric", "a.b"="c"}')
    assert isinstance(node, n.VectorSelector) and node.name is None
    assert [(m.name, m.op, m.value) for m in node.matchers] == [
        ("__name__", "=", "my.metric"), ("a.b", "=", "c")]
    agg = parse('sum by ("a.b", job) (x)')
    assert agg.grouping == ("a.b", "job")
    binary = parse('x * on("x.y") group_left("z") y')
    assert binary.matching == n.VectorMatching("many-to-one", True, ("x.y",), ("z",))


def test_durations_resolve_into_ranges_steps_and_offsets():
    assert parse("x[5m+1m]").range_ms == 360_000
    assert parse("x[5]").range_ms == 5_000 and parse("x[1.5]").range_ms == 1_500
    sub = parse("x[1h:30s*2] offset (1h*2)")
    assert (sub.range_ms, sub.step_ms, sub.offset_ms) == (3_600_000, 60_000, 7_200_000)
    assert parse("x offset -(5m)").offset_ms == -300_000
    # a literal offset binds tighter than an operator: (x offset -2) ^ 2
    node = parse("x offset -2 ^ 2")
    assert isinstance(node, n.BinaryExpr) and node.lhs.offset_ms == -2_000
    assert parse("1m + 1").lhs == n.NumberLiteral(60.0, True)
    assert parse("x @ 1m").at_ms == 60_000
    unresolved = adapter.parse("x[5m+1m]", V3_FLAGS)
    assert unresolved.range_ms == 0 and unresolved.range_expr.op == "+"


def test_new_aggregations_and_functions():
    node = parse("limitk(2, x)")
    assert isinstance(node, n.AggregateExpr) and node.op == "limitk"
    assert parse("limit_ratio(0.5, x)").param == n.NumberLiteral(0.5)
    assert parse('sort_by_label(x, "a", "b")').func == "sort_by_label"
    assert parse('info(x, {k="v"})').args[1].name is None
    for name in ("mad_over_time", "ts_of_min_over_time", "ts_of_max_over_time",
                 "ts_of_last_over_time"):
        assert parse(f"{name}(x[5m])").type == n.VECTOR
    assert parse("double_exponential_smoothing(x[5m], 0.5, 0.5)").type == n.VECTOR


FORMATS = {
    # a real Prometheus 3.5.3's /api/v1/format_query (with both feature flags)
    '{"my.metric", "a.b"="c"}': '{"a.b"="c",__name__="my.metric"}',
    'sum by ("a.b") (x)': 'sum by ("a.b") (x)',
    "x[5m+1m]": "x[5m + 1m]",
    "x offset (1h*2)": "x offset (1h * 2)",
    "1m + 1": "1m + 1",
    "1e6": "1000000",
    "foo[90d]": "foo[90d]",
    # \x escapes are bytes, as in Go: not UTF-8, printed back as \x
    'count_values("a\\xc5z", x)': 'count_values("a\\xc5z", x)',
    'x{a="\\xc3\\xa9"}': 'x{a="é"}',
}


@pytest.mark.parametrize("text", sorted(FORMATS))
def test_format_query_prints_as_prometheus_3_5(text):
    assert adapter.format_expr(text, V3_FLAGS) == FORMATS[text]


def test_byte_escapes_reach_the_engine_as_go_sees_them():
    assert parse('x{a="\\xc3\\xa9"}').matchers[1].value == "é"
    # a byte that is not UTF-8 stays a byte (a surrogate escape), as in Go's string: it
    # is quoted "\xc5" in errors and becomes U+FFFD only when the value leaves as JSON
    assert parse('"a\\xc5z"').value.encode("utf-8", "surrogateescape") == b"a\xc5z"


def test_parse_query_tree():
    assert adapter.ast_json('sum by (job) (rate(x{a=~"b"}[5m] offset 1m))', V3) == {
        "expr": {"args": [{"matchers": [{"name": "a", "type": "=~", "value": "b"},
                                        {"name": "__name__", "type": "=", "value": "x"}],
                           "name": "x", "offset": 60000, "range": 300000,
                           "startOrEnd": None, "timestamp": None,
                           "type": "matrixSelector"}],
                 "func": {"argTypes": ["matrix"], "name": "rate", "returnType": "vector",
                          "variadic": 0},
                 "type": "call"},
        "grouping": ["job"], "op": "sum", "param": None, "type": "aggregation",
        "without": False}


# --- live comparison with a real Prometheus 3.5.3 ---------------------------------------

_PIECES_3 = ['"a.b"', '{"my.metric"}', "limitk", "limit_ratio", "[5m+1m]", "(1h*2)",
             "offset", "1_000", "0x_1f", "sort_by_label", "info", "5m", "^", "%",
             'by ("x")', 'on("x")', '"', "[", "]", ":", "1.5", "-", "(", ")",
             "mad_over_time", "ts_of_max_over_time", "double_exponential_smoothing",
             "holt_winters", "#", "@", "{", "}", ",", "=~", "by", "sum", "rate", "é"]


def mutated_queries_3(seed: int, count: int) -> list:
    """Real queries with 1-3 random edits that reach Prometheus 3's syntax."""
    from test_promql_parse import _PIECES, _corpus_queries, mutated_queries

    return mutated_queries(seed, count, pieces=_PIECES + _PIECES_3,
                           corpus=_corpus_queries() + sorted(VERDICTS))


@pytest.mark.realprom
@pytest.mark.parametrize("flags", [(), FLAGS], ids=["default", "flags"])
def test_verdicts_format_and_parse_query_match_a_real_prometheus_3_5(flags):
    import requests

    import realprom

    realprom.require_binaries("3.5")
    emulation = versions.resolve("3.5.3", flags)
    texts = sorted(VERDICTS) + mutated_queries_3(31 + len(flags), 700)
    diffs, formatted = [], 0
    args = [f"--enable-feature={f}" for f in flags]
    with realprom.RealPrometheus(line="3.5", extra_args=args) as real:
        session = requests.Session()
        for text in texts:
            r = session.post(real.url + "/api/v1/query", data={"query": text, "time": "1000"})
            body = r.json()
            want = ("OK" if r.status_code in (200, 422)
                    else body["error"].removeprefix('invalid parameter "query": '))
            got = verdict(text, emulation)
            if got != want:
                diffs.append(("query", text, want, got))
            if got != "OK":
                continue
            formatted += 1
            data = session.post(real.url + "/api/v1/format_query", data={"query": text}).json()
            if data.get("data") != adapter.format_expr(text, emulation):
                diffs.append(("format", text, data, adapter.format_expr(text, emulation)))
            data = session.post(real.url + "/api/v1/parse_query", data={"query": text}).json()
            mine = json.loads(json.dumps(adapter.ast_json(text, emulation)))
            if data.get("data") != mine:
                diffs.append(("parse_query", text, data, mine))
    assert formatted > 100
    assert diffs == [], "\n".join(map(repr, diffs))


PARSE_QUERY_CASES = ['sum by (job) (rate(x{a=~"b"}[5m] offset 1m))', "x @ 100 offset -1m",
                     "1 + 2", "foo(", "", '"s\\u00e9"', "x[5m:1m] @ end()", "NaN", "-Inf",
                     '{"a.b"="c"}', "a and on(x) b", "topk(3, x)", "x[5m+1m]"]


@pytest.mark.realprom
@pytest.mark.parametrize("line,version", [("3.5", "3.5.3"), ("2.42", "2.42.0")])
def test_parse_query_endpoint_answers_byte_for_byte_as_prometheus(line, version):
    """``/api/v1/parse_query``: 3.5.3 serves it by default (no flag), 2.42 answers 404."""
    import requests

    import realprom
    from mockprom.server import MockPrometheus

    realprom.require_binaries(line)
    diffs = []
    with realprom.RealPrometheus(line=line) as real, \
            MockPrometheus({"series": []}, version=version) as mock:
        for text in PARSE_QUERY_CASES:
            for method in ("GET", "POST"):
                key = "params" if method == "GET" else "data"
                want = requests.request(method, real.url + "/api/v1/parse_query",
                                        **{key: {"query": text}})
                got = requests.request(method, mock.url + "/api/v1/parse_query",
                                       **{key: {"query": text}})
                if (want.status_code, want.text) != (got.status_code, got.text):
                    diffs.append((method, text, want.status_code, want.text, got.text))
    assert diffs == [], "\n".join(map(repr, diffs))


def test_every_upstream_3_5_corpus_expression_parses():
    """The 3.5 corpus (``../shared/prometheus-3.5/promql-testdata``), with the feature
    flags its harness turns on: every expression parses (its eval_fail lines fail in
    evaluation, not in the parser)."""
    import glob
    import os
    import re

    corpus = os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                          "prometheus-3.5", "promql-testdata")
    if not os.path.isdir(corpus):
        pytest.skip(f"3.5 corpus not found at {corpus}")
    line_re = re.compile(r"^\s*eval\S*\s+(?:instant\s+at\s+\S+|range\s+from\s+\S+\s+to\s+\S+"
                         r"\s+step\s+\S+)\s+(.*)$")
    failures, count = [], 0
    for path in sorted(glob.glob(os.path.join(corpus, "*.test"))):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                found = line_re.match(line.rstrip("\n"))
                if not found:
                    continue
                count += 1
                problem = adapter.check(found.group(1), V3_FLAGS)
                if problem:
                    failures.append((os.path.basename(path), number, problem))
    assert count > 1000
    assert failures == []


@pytest.mark.realprom
def test_duration_errors_reach_the_api_as_prometheus_3_5_words_them():
    """Duration arithmetic is computed after parsing (and, for a range query, after its
    type check): its errors carry byte offsets, not line:col."""
    import requests

    import realprom
    from mockprom.server import MockPrometheus

    realprom.require_binaries("3.5")
    series = [{"labels": {"__name__": "x"}, "samples": [[900, 1], [960, 2]]}]
    texts = ["x[5m-10m]", "x[1m/(1m-1m)]", "sum_over_time(x[2m-3m:1m])", "x offset (1h*2)",
             "count_over_time(x[(2^2)*1m] offset 1h)", "x[5m+1m]"]
    diffs = []
    with realprom.RealPrometheus(series, line="3.5", extra_args=[
            f"--enable-feature={f}" for f in FLAGS]) as real, \
            MockPrometheus({"series": series, "server": {"version": "3.5.3",
                                                         "features": list(FLAGS)}}) as mock:
        for text in texts:
            for path, params in (("/api/v1/query", {"query": text, "time": "1000"}),
                                 ("/api/v1/query_range", {"query": text, "start": "900",
                                                          "end": "1000", "step": "15"})):
                want = requests.post(real.url + path, data=params)
                got = requests.post(mock.url + path, data=params)
                if (want.status_code, want.text) != (got.status_code, got.text):
                    diffs.append((path, text, want.text, got.text))
    assert diffs == [], "\n".join(map(repr, diffs))
