"""The PromQL parse adapter: text -> mockprom's AST, and Prometheus 2.42's errors (every
call here asks for 2.42 explicitly; test_promql_parse_v3 covers 3.5)."""

from __future__ import annotations

import glob
import json
import os
import re

import pytest

from mockprom import versions
from mockprom.promql import nodes as n
from mockprom.promql import parse as adapter
from mockprom.promql.errors import ParseError
from mockprom.promql.parse import MAX_NESTING, MAX_QUERY_BYTES

V2_42 = versions.resolve("2.42.0")


def parse(text):
    return adapter.parse(text, V2_42)


def format_expr(text):
    return adapter.format_expr(text, V2_42)

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "shared")
TESTDATA = os.path.join(SHARED, "promql-testdata")
REALWORLD = os.path.join(SHARED, "realworld-promql")


def sel(text):
    """The single VectorSelector a query consists of."""
    node = parse(text)
    assert isinstance(node, n.VectorSelector), node
    return node


def matchers(node):
    return [(m.name, m.op, m.value) for m in node.matchers]


def error_of(text):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.error_type == "bad_data"
    return info.value.message


# --- conversion of every node kind ---------------------------------------------------


def test_vector_selector_name_becomes_first_matcher():
    node = sel('http_requests_total{job="api", code!="500", path=~"/a.*", x!~"y|z"}')
    assert node.name == "http_requests_total"
    assert matchers(node) == [("__name__", "=", "http_requests_total"), ("job", "=", "api"),
                              ("code", "!=", "500"), ("path", "=~", "/a.*"),
                              ("x", "!~", "y|z")]
    assert node.matchers[3].matches("/abc") and not node.matchers[3].matches("x/abc")
    assert node.type == n.VECTOR and node.offset_ms == 0 and node.at_ms is None


def test_selector_by_name_matcher_only():
    node = sel('{__name__=~"node_.*", job="x"}')
    assert node.name is None
    assert matchers(node) == [("__name__", "=~", "node_.*"), ("job", "=", "x")]


def test_matrix_selector_offset_and_at():
    node = parse('foo[5m] offset -1h30m @ 1700000000.5')
    assert isinstance(node, n.MatrixSelector) and node.type == n.MATRIX
    assert node.range_ms == 300_000
    assert node.selector.offset_ms == -5_400_000
    assert node.selector.at_ms == 1_700_000_000_500


def test_at_before_1970_and_edges():
    assert sel("foo @ -100.5").at_ms == -100_500
    assert sel("foo @ start()").at_edge == "start"
    node = parse("foo[1m:] @ end() offset 1w")
    assert isinstance(node, n.SubqueryExpr)
    assert node.at_edge == "end" and node.at_ms is None and node.offset_ms == 604_800_000


def test_subquery_default_step_is_zero():
    node = parse("rate(foo[1m])[1h:]")
    assert isinstance(node, n.SubqueryExpr) and node.type == n.MATRIX
    assert (node.range_ms, node.step_ms) == (3_600_000, 0)
    assert isinstance(node.expr, n.Call) and node.expr.func == "rate"
    step = parse("foo[1h:30s] @ -0.001")
    assert step.step_ms == 30_000 and step.at_ms == -1


def test_quirks_prometheus_2_42_accepts():
    assert parse("a[5m x]") == parse("a[5m:]")  # a letter there reads as the colon
    node = parse("rate(foo @ start() [1m])")  # only a numeric @ is refused before [..]
    assert node.args[0].selector.at_edge == "start" and node.args[0].range_ms == 60_000
    assert "no @ modifiers allowed before range" in error_of("rate(foo @ 1 [1m])")


def test_durations_to_ms():
    cases = {"1ms": 1, "1s": 1000, "1m": 60_000, "1h": 3_600_000, "1d": 86_400_000,
             "1w": 604_800_000, "1y": 31_536_000_000, "1h30m15s500ms": 5_415_500}
    for text, ms in cases.items():
        assert parse(f"foo[{text}]").range_ms == ms, text


def test_number_literals():
    cases = {"0x1f": 31.0, "0X1F": 31.0, "1e3": 1000.0, ".5": 0.5, "3.": 3.0,
             "017": 15.0, "1.5e+3": 1500.0, "Inf": float("inf"), "-Inf": float("-inf"),
             "+inf": float("inf"), "-1": -1.0}
    for text, value in cases.items():
        node = parse(text)
        assert isinstance(node, n.NumberLiteral) and node.type == n.SCALAR, text
        assert node.value == value, text
    nan = parse("NaN").value
    assert nan != nan


def test_string_literals_go_escapes():
    assert parse(r'"a\nb\t\"\\\x41\u00e9\101"').value == 'a\nb\t"\\Aé' + "A"
    assert parse(r"'it\'s'").value == "it's"
    assert parse(r"`raw\n`").value == "raw\\n"
    assert parse('"a"').type == n.STRING


def test_paren_and_unary():
    node = parse("-(foo)")
    assert isinstance(node, n.UnaryExpr) and node.op == "-"
    assert isinstance(node.expr, n.ParenExpr) and node.type == n.VECTOR
    assert isinstance(parse("+foo"), n.VectorSelector)  # unary plus changes nothing


def test_binary_ops_lower_case_and_precedence():
    for op in n.ARITHMETIC_OPS + n.COMPARISON_OPS + n.SET_OPS:
        node = parse(f"a {op.upper()} b")
        assert isinstance(node, n.BinaryExpr) and node.op == op
    node = parse("a + b * c ^ d ^ e")
    assert node.op == "+" and node.rhs.op == "*" and node.rhs.rhs.op == "^"
    assert node.rhs.rhs.rhs.op == "^"  # ^ is right-associative
    minus = parse("-a ^ 2")
    assert isinstance(minus, n.UnaryExpr) and minus.expr.op == "^"
    folded = parse("-1 ^ 2")  # unary minus binds weaker than ^, as in Prometheus
    assert isinstance(folded, n.UnaryExpr) and folded.expr.op == "^"
    assert parse("-a * b").lhs == n.UnaryExpr("-", parse("a"))


def test_vector_matching():
    node = parse("a * on(x, y) group_left(z) b")
    assert node.matching == n.VectorMatching("many-to-one", True, ("x", "y"), ("z",))
    node = parse("a / IGNORING(x) GROUP_RIGHT() b")
    assert node.matching == n.VectorMatching("one-to-many", False, ("x",), ())
    assert parse("a + b").matching == n.VectorMatching("one-to-one")
    assert parse("a and b").matching.card == "many-to-many"
    assert parse("a or on(x) b").matching == n.VectorMatching("many-to-many", True, ("x",))
    node = parse("a > bool 1")
    assert node.return_bool and node.matching is None and node.type == n.VECTOR
    assert parse("1 >= bool 2").type == n.SCALAR


def test_aggregations():
    node = parse("sum by (job, instance) (rate(foo[5m]))")
    assert isinstance(node, n.AggregateExpr) and node.op == "sum"
    assert node.grouping == ("job", "instance") and not node.without
    node = parse("topk without (a) (3, foo)")
    assert node.op == "topk" and node.without and node.grouping == ("a",)
    assert node.param == n.NumberLiteral(3.0)
    node = parse('count_values("v", foo) by (x)')
    assert node.param == n.StringLiteral("v") and node.grouping == ("x",)
    for op in n.AGGREGATE_OPS:
        if op in ("limitk", "limit_ratio"):  # Prometheus 3 only
            continue
        args = {"topk": "1, ", "bottomk": "1, ", "quantile": "0.5, ",
                "count_values": '"x", '}.get(op, "")
        assert parse(f"{op}({args}foo)").op == op


def test_calls_and_return_types():
    node = parse('label_join(foo, "dst", ",", "a", "b")')
    assert isinstance(node, n.Call) and len(node.args) == 5
    assert parse("time()").type == n.SCALAR and parse("scalar(foo)").type == n.SCALAR
    assert parse("vector(1)").type == n.VECTOR
    assert parse("holt_winters(foo[5m], 0.5, 0.5)").func == "holt_winters"
    assert parse("round(foo)").args[0].name == "foo"


def test_deep_tree_converts_without_recursion():
    node = parse(" + ".join(["a"] * 250))
    depth = 0
    while isinstance(node, n.BinaryExpr):
        node, depth = node.lhs, depth + 1
    assert depth == 249


# --- syntax Prometheus accepts -------------------------------------------------------


@pytest.mark.parametrize("text", [
    "sum(foo) # a comment\n by (x)",
    "SUM BY (x) (foo) OR ON(x) bar",
    "a * ON(x) GROUP_LEFT() b",
    'foo{a="b",}',
    "foo{}",
    "foo {a='b'}",
    "rate(foo [5m])",
    "foo\r\n+\r\nbar",
    "foo{a=`b\\c`}",
    "sum without () (foo)",
    "sum by (on, by, sum) (foo)",
    "rate(foo[5m] offset 1m)",
    "foo:bar:rate5m",
    "sum", "by", "offset", "start", "and",
])
def test_prometheus_syntax_edge_cases_parse(text):
    assert parse(text) is not None


# --- errors, worded as Prometheus 2.42 words them ------------------------------------
# Each expected message is what a real Prometheus 2.42 answered for the query.

PROMETHEUS_2_42_ERRORS = {
    "1+": "1:3: parse error: unexpected end of input",
    "": "1:1: parse error: no expression found in input",
    "foo[5]": "1:5: parse error: missing unit character in duration",
    "foo[5m": "1:7: parse error: unclosed left bracket",
    "(1": "1:3: parse error: unclosed left parenthesis",
    "1)": "1:3: parse error: unexpected right parenthesis ')'",
    "rate(foo)": '1:6: parse error: expected type range vector in call to function "rate", '
                 "got instant vector",
    "{}": "1:1: parse error: vector selector must contain at least one non-empty matcher",
    '{a=~".*"}': "1:1: parse error: vector selector must contain at least one non-empty "
                 "matcher",
    "foo(a)": '1:1: parse error: unknown function with name "foo"',
    'sort_by_label(a, "x")': '1:1: parse error: unknown function with name "sort_by_label"',
    "info(a)": '1:1: parse error: unknown function with name "info"',
    "limitk(1, a)": '1:1: parse error: unknown function with name "limitk"',
    "a + fill(0) b": '1:5: parse error: unknown function with name "fill"',
    "a + bool b": "1:3: parse error: bool modifier can only be used on comparison operators",
    "a and on(x) group_left b": '1:1: parse error: no grouping allowed for "and" operation',
    "1 > 2": "1:3: parse error: comparisons between scalars must use BOOL modifier",
    "a and 1": '1:1: parse error: set operator "and" not allowed in binary scalar '
               "expression",
    "1 + on(x) a": "1:1: parse error: vector matching only allowed between instant vectors",
    "a + on(x) group_left(x) b": '1:3: parse error: label "x" must not occur in ON and '
                                 "GROUP clause at once",
    '"a" + 1': "1:1: parse error: binary expression must contain only scalar and instant "
               "vector types",
    'foo{a="b" or c="d"}': '1:11: parse error: unexpected identifier "or" in label '
                           'matching, expected "," or "}"',
    'foo{"a"="b"}': '1:5: parse error: unexpected string "\\"a\\"" in label matching, '
                    'expected identifier or "}"',
    'a{b=~"("}': "1:3: parse error: error parsing regexp: missing closing ): `^(?:()$`",
    'a{b=~"x**"}': "1:3: parse error: error parsing regexp: invalid nested repetition "
                   "operator: `**`",
    'a{b=~"(?=x)"}': "1:3: parse error: error parsing regexp: invalid or unsupported Perl "
                     "syntax: `(?=`",
    "foo[1.5m]": '1:5: parse error: not a valid duration string: "1.5m"',
    "foo[0s]": "1:5: parse error: duration must be greater than 0",
    "a[300y]": "1:3: parse error: duration out of range",
    "foo[5mm]": '1:5: parse error: bad duration syntax: "5mm"',
    "a offset 5": '1:10: parse error: unexpected number "5" in offset, expected duration',
    "foo[5m:5]": '1:8: parse error: unexpected number "5" in subquery selector, expected '
                 'duration or "]"',
    '"\\."': "1:1: parse error: unknown escape sequence U+002E '.'",
    '"\\uD800"': "1:1: parse error: escape sequence is an invalid Unicode code point",
    "`abc": "1:1: parse error: unterminated raw string",
    "a offset 5m offset 3m": "1:1: parse error: offset may not be set multiple times",
    "sum(a) offset 5m": "1:1: parse error: offset modifier must be preceded by an instant "
                        "vector selector or range vector selector or a subquery",
    "a @ start() @ end()": "1:1: parse error: @ <timestamp> may not be set multiple times",
    "a @ 1e20": "1:1: parse error: timestamp out of bounds for @ modifier: "
                "100000000000000000000.000000",
    "a @ Inf": "1:1: parse error: timestamp out of bounds for @ modifier: +Inf",
    "a @ foo": '1:5: parse error: unexpected identifier "foo" in @, expected timestamp',
    "a[5m][5m]": "1:6: parse error: ranges only allowed for vector selectors",
    "a offset 1m [5m]": "1:13: parse error: no offset modifiers allowed before range",
    "a[5m:1m][5m:1m]": "1:1: parse error: subquery is only allowed on instant vector, got "
                       "matrix instead",
    "-a[5m]": '1:1: parse error: unary expression only allowed on expressions of type '
              'scalar or instant vector, got "range vector"',
    "sum(a[5m])": "1:5: parse error: expected type instant vector in aggregation "
                  "expression, got range vector",
    "topk(a, b)": "1:6: parse error: expected type scalar in aggregation parameter, got "
                  "instant vector",
    "sum()": "1:1: parse error: no arguments for aggregate expression provided",
    "quantile(0.5)": "1:1: parse error: wrong number of arguments for aggregate expression "
                     "provided, expected 2, got 1",
    "rate(a[5m], 1)": '1:1: parse error: expected 1 argument(s) in call to "rate", got 2',
    "label_join(a)": '1:1: parse error: expected at least 3 argument(s) in call to '
                     '"label_join", got 1',
    "round(a, 1, 2)": '1:1: parse error: expected at most 2 argument(s) in call to '
                      '"round", got 3',
    "rate(a[5m],)": "1:11: parse error: trailing commas not allowed in function call args",
    "foo bar": '1:5: parse error: unexpected identifier "bar"',
    "sum(a b)": '1:7: parse error: unexpected identifier "b" in aggregation',
    "sum by a (b)": '1:8: parse error: unexpected identifier "a" in grouping opts, '
                    'expected "("',
    "sum(a) by (a) by (b)": "1:15: parse error: unexpected <by>",
    "1 +* 2": "1:4: parse error: unexpected <op:*>",
    "foo{bar}": '1:8: parse error: unexpected "}" in label matching, expected label '
                "matching operator",
    "start()": '1:6: parse error: unexpected "("',
    "1e400": '1:1: parse error: error parsing number: strconv.ParseFloat: parsing "1e400": '
             "value out of range",
    "a.b": "1:2: parse error: unexpected character: '.'",
    'foo{a="\ufffd"}': "1:7: parse error: invalid UTF-8 rune",
    "@+Inf": '1:1: parse error: unexpected "<Item 57385>" <op:@>',
    "clamp_max(clamp_min(a, -20),/ 70)": "1:28: parse error: trailing commas not allowed "
                                         "in function call args",
    "a / on(x) group_left 5m b": '1:22: parse error: unexpected duration "5m" in grouping '
                                 'opts, expected "("',
    "foo{a:b=\"c\"}": "1:6: parse error: unexpected character inside braces: ':'",
    "a\n  + bool b": "2:3: parse error: bool modifier can only be used on comparison "
                     "operators",
}


@pytest.mark.parametrize("text", sorted(PROMETHEUS_2_42_ERRORS))
def test_error_message_matches_prometheus(text):
    assert error_of(text) == PROMETHEUS_2_42_ERRORS[text]


def test_re2_constructs_parse_as_in_prometheus():
    """POSIX classes, Unicode classes and octal escapes are RE2 (Go) syntax: accepted."""
    for regex in ("[[:alpha:]]+", "\\\\pL", "\\\\p{Greek}", "\\\\130", "\\\\Qa.b\\\\E"):
        (matcher,) = parse(f'{{a=~"{regex}"}}').matchers
        assert matcher.regex is not None


def test_error_position_counts_bytes_like_go():
    assert error_of('{é="x"}') == "1:2: parse error: unexpected character inside braces: 'é'"
    assert error_of('foo{a="é"} + bool b') == ("1:13: parse error: bool modifier can only "
                                                "be used on comparison operators")


# --- limits ---------------------------------------------------------------------------


def test_too_long_and_too_deep_are_refused_quickly():
    assert "too long" in error_of("a+" * (MAX_QUERY_BYTES // 2) + "a")
    deep = "(" * (MAX_NESTING + 1) + "a" + ")" * (MAX_NESTING + 1)
    assert "nested too deeply" in error_of(deep)
    assert "too complex" in error_of("-" * 5000 + "a")
    assert "nested too deeply (1000 levels" in error_of("+".join(["a"] * 1000))
    ok = "(" * MAX_NESTING + "a" + ")" * MAX_NESTING
    assert isinstance(parse(ok), n.ParenExpr)


def test_not_a_string():
    with pytest.raises(ParseError):
        parse(None)


# --- format_query ---------------------------------------------------------------------


def test_format_expr_prettifies_like_prometheus():
    # Prometheus 2.42 /api/v1/format_query answers for these inputs
    assert format_expr("sum(rate(foo[5m]))by(job)") == "sum by (job) (rate(foo[5m]))"
    assert format_expr('foo{a="b",}') == 'foo{a="b"}'
    assert format_expr("a  +  on(x)  group_left  b") == "a + on (x) group_left () b"


def test_expr_string_is_prometheus_one_line_form():
    # as a real Prometheus 2.42 lists these expressions as rule queries in /api/v1/rules
    def expr_string(text):
        return adapter.expr_string(text, V2_42)

    text = ('clamp_min((1 - (node_memory_MemAvailable_bytes{instance="10.0.1.13:9100", '
            'job="node-exporter"} / node_memory_MemTotal_bytes{instance="10.0.1.13:9100", '
            'job="node-exporter"})) * 100, 0)')
    assert "\n" in format_expr(text)
    assert expr_string(text) == (
        'clamp_min((1 - (node_memory_MemAvailable_bytes{instance="10.0.1.13:9100",'
        'job="node-exporter"} / node_memory_MemTotal_bytes{instance="10.0.1.13:9100",'
        'job="node-exporter"})) * 100, 0)')
    assert expr_string("sum_over_time(sum_over_time(sum_over_time(metric{job=\"1\"}[10s])"
                       "[100s:25s] @ 50)[3s:1s] @ 200)") == (
        'sum_over_time(sum_over_time(sum_over_time(metric{job="1"}[10s])[1m40s:25s] '
        '@ 50.000)[3s:1s] @ 200.000)')


def test_format_expr_rejects_bad_queries():
    with pytest.raises(ParseError):
        format_expr("sum(")


# --- corpora --------------------------------------------------------------------------

_EVAL = re.compile(r"^(eval(?:_fail|_ordered)?)\s+instant\s+at\s+\S+\s+(.*)$")


def _testdata_expressions():
    found = []
    for path in sorted(glob.glob(os.path.join(TESTDATA, "*.test"))):
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                m = _EVAL.match(line.rstrip("\n"))
                if m:
                    found.append((f"{os.path.basename(path)}:{number}", m.group(1),
                                  m.group(2)))
    return found


def test_every_upstream_testdata_expression_parses():
    expressions = _testdata_expressions()
    assert len(expressions) >= 566
    failures = []
    for where, kind, text in expressions:
        if kind == "eval_fail":
            try:  # may fail here or at evaluation; never with anything but ParseError
                parse(text)
            except ParseError:
                pass
            continue
        try:
            parse(text)
        except ParseError as exc:
            failures.append((where, text, exc.message))
    assert failures == []


def test_realworld_queries_parse_like_prometheus():
    with open(os.path.join(REALWORLD, "QUERIES.json"), encoding="utf-8") as f:
        queries = [q for q in json.load(f) if q.get("query")]
    with open(os.path.join(REALWORLD, "EXPECTED.json"), encoding="utf-8") as f:
        expected = json.load(f)["results"]
    assert len(queries) > 200
    rejected = 0
    for q in queries:
        answer = expected[q["id"]]
        if answer.get("errorType") == "bad_data":
            rejected += 1
            prefix = 'invalid parameter "query": '
            assert error_of(q["query"]) == answer["error"][len(prefix):], q["id"]
        else:
            assert parse(q["query"]) is not None, q["id"]
    assert rejected == 1  # apah_version_mismatch


# --- robustness: mutated real queries --------------------------------------------------


def _corpus_queries():
    with open(os.path.join(REALWORLD, "QUERIES.json"), encoding="utf-8") as f:
        found = [q["query"] for q in json.load(f) if q.get("query")]
    return found + [text for _, _, text in _testdata_expressions()]


_PIECES = list("(){}[],\"'`=~!+-*/%^<>@:.# \n0123456789abcxyz_") + [
    "by", "on", "offset", "bool", "sum", "rate", "5m", "group_left", "or", "[5m:]",
    "@ start()", "Inf", "\\", "é"]


def mutated_queries(seed: int, count: int, pieces=None, corpus=None):
    """Real queries (``corpus``) with 1-3 random edits, inserting ``pieces``
    (deterministic for a seed)."""
    import random

    pieces = pieces or _PIECES
    rnd, corpus, out = random.Random(seed), corpus or _corpus_queries(), []
    for _ in range(count):
        q = rnd.choice(corpus)
        for _ in range(rnd.randint(1, 3)):
            i, op = rnd.randrange(len(q) + 1), rnd.random()
            if op < 0.4:
                q = q[:i] + q[i + 1:]
            elif op < 0.8:
                q = q[:i] + rnd.choice(pieces) + q[i:]
            else:
                j = rnd.randrange(len(q) + 1)
                q = q[:min(i, j)] + q[max(i, j):]
        out.append(q)
    return out


def test_garbage_only_ever_raises_parse_error():
    for text in mutated_queries(seed=7, count=1500):
        try:
            parse(text)
        except ParseError as exc:
            assert re.match(r"\d+:\d+: parse error: ", exc.message), (text, exc.message)


# --- live comparison with a real Prometheus 2.42 ---------------------------------------

MORE_QUERIES = [
    "a{b=~\"[a-\"}", "a{b=~\"x{2,1}\"}", "a{b=~\"(?x)a\"}", "a @ 5 [5m]", "sum a",
    "sum by (x) (a b)", "1 foo:bar", "sum(a) by (a:b)", "foo{a=\"b\"c=\"d\"}", "a[1m::]",
    "a[:1m]", "group_left(a)", "avg(1)", "-\"a\"", "1[5m:]", "vector(a)", "abs(1)",
    "histogram_quantile(0.5, a[5m])", "count_values(\"a\", a[5m])", "a offset -0s",
    "a @ -Inf", "foo{a=\"\\xzz\"}", "foo bar baz", "a ^ bool b", "0x", "1__2", "'\\\"'",
    "\"\\400\"", "a{b=\"c\"}}", "}", "*a", "-", "sum by (a b) (c)", "foo{bar=}",
    "foo{=~\"a\"}", "a[5m 1]", "a @ start(", "(a", "a or ON(x) b", "a +on() group_left (b)",
    "topk(1, a, b)", "rate(foo[5m] offset 1m)", "foo[5m] @ 100", "sum(a) @ 100",
    "{__name__=\"\"}", "{a!=\"\"}", "x # c\n + ", "rate(\n  foo[5m]\n) +\n bool 1",
    "label_replace(a, \"d\", \"$1\", \"s\", \"(.*)\")", "holt_winters(a[5m], 0.1, 0.9)",
    "histogram_count(a)", "histogram_fraction(0, 1, a)", "sort_by_label(a, \"x\")",
    "limit_ratio(0.5, a)", "mad_over_time(a[5m])", "day_of_week()", "round(a, 1, 2)",
    "absent_over_time(a[5m]) or a", "a unless on(x) b", "a and bool b", "foo[1d2h3m4s5ms]",
    "a[5m x]", "a[5m:1m x]", "a[5mx]", "rate(foo @ start() [1m])", "a{b=~\"\\\\1\"}",
    "foo{a=`\\d`}", "label_join(a, `x`, `\\`, `y`)",
]


@pytest.mark.realprom
def test_messages_and_formatting_match_a_real_prometheus():
    import realprom

    realprom.require_binaries()
    texts = sorted(PROMETHEUS_2_42_ERRORS) + MORE_QUERIES + mutated_queries(11, 400)
    diffs = []
    with realprom.RealPrometheus() as real:
        for text in texts:
            status, body, _ = realprom.get(real.url, "/api/v1/query",
                                           {"query": text, "time": "1000"}, "POST")
            if status in (200, 422):  # 422: valid, failed at evaluation
                want = "OK"
            else:
                assert body["errorType"] == "bad_data", (text, body)
                want = body["error"].removeprefix('invalid parameter "query": ')
            try:
                parse(text)
                got = "OK"
            except ParseError as exc:
                got = exc.message
            if got != want:
                diffs.append((text, want, got))
        for text in ["sum(rate(foo[5m]))by(job)", "topk(9999999999, a)", "12.34e-6",
                     "x offset -5m @ -100.5", "-Inf", "a[5m:1m] @ end()",
                     "sum_over_time(sum_over_time(m[100s] @ 100)[100s:25s] @ 50)",
                     'label_replace(' * 3 + 'up' + ', "a", "b", "c", "d")' * 3]:
            status, body, _ = realprom.get(real.url, "/api/v1/format_query",
                                           {"query": text}, "POST")
            if format_expr(text) != body["data"]:
                diffs.append((text, body["data"], format_expr(text)))
    assert diffs == [], "\n".join(map(repr, diffs))


def test_parser_signatures_agree_with_the_function_registry():
    """Prometheus keeps parse-time signatures apart from implementations, and so does
    mockprom; the two must agree (only the native-histogram functions lack one)."""
    import mockprom.promql.engine  # noqa: F401  (registers every implementation)
    from mockprom.promql.functions import FUNCTIONS
    from mockprom.promql.parse import FUNCTIONS_V2_42, FUNCTIONS_V3_5

    signatures = {**FUNCTIONS_V2_42, **FUNCTIONS_V3_5}
    assert set(FUNCTIONS) <= set(signatures)
    assert set(signatures) - set(FUNCTIONS) <= {  # issue 10
        "histogram_count", "histogram_sum", "histogram_avg", "histogram_stddev",
        "histogram_stdvar"}
    for name, impl in FUNCTIONS.items():
        arg_types, _, return_type, _ = signatures[name]
        assert (tuple(impl.arg_types), impl.return_type) == (arg_types, return_type), name
