"""One ``match[]`` parser for every endpoint: Prometheus 2.42 reads ``match[]`` with the
same ``parser.ParseMetricSelector`` in ``/api/v1/series``, ``/api/v1/labels``,
``/api/v1/label/<name>/values``, ``/federate`` and ``delete_series``; mockprom with
``mockprom.promql.parse.parse_metric_selector``. The API then refuses a selector all of
whose matchers match the empty string, ``/federate`` does not.

The selectors of ``test_ingest_federate.py`` (and a few more) are sent to the three API
endpoints of mockprom and of a real Prometheus 2.42 holding the same data, and the
answers (status and body, byte for byte) compared."""

from __future__ import annotations

import pytest
import requests

import realprom
from mockprom import versions
from mockprom.api.selector import parse_metric_selector as api_parse
from mockprom.ingest.exposition import SelectorError, parse_selector as federate_parse
from mockprom.promql.errors import ParseError
from mockprom.promql.parse import parse_metric_selector
from mockprom.scenario.labels import Matcher
from realprom import release  # noqa: F401  (a fixture)
from test_ingest_federate import SELECTORS

T0 = 1_700_000_000

# more edge cases, each checked against 2.42 like the list above: several errors in one
# selector (2.42 reports the first), escapes, comments, unclosed braces, keyword names
MORE_SELECTORS = [
    '{a=~"(", b=~"["}', 'up{a="\\u00e9\\t"}', "up{a=`x\\ny`}", "up{a='x\"y'}",
    '{__name__=~"up|on"}', '{__name__!=""}', '{a!~".+"}', '{a!~""}', '{a=~".+"}',
    "up$", 'up{job="a"}$', '{job="a"}}', '{job="a",,}', '{job="a" , b="c" , }',
    "count_values", 'topk{job="a"}', 'min{a="b"}', "unless", 'or{a="b"}', "Offset", "START",
    "up # {", "# only a comment", 'up{ # c\njob="a"}', 'up{job="a", __name__="on"}',
    '{a="b"', '{a="b",', "{a", "{a=", "{a=~", "up(", "up)", "up[", "up]", "up,", "up 1",
    'up "x"', "up{}", "x{}{", '{job=~"[z-a]"}', '{job=~"a**"}', ":foo", 'a:b:c{d="e"}',
    "_x", "0x1f", ".5", "5m",
]

ENDPOINTS = ["/api/v1/series", "/api/v1/labels", "/api/v1/label/job/values"]


def _series(labels: dict, v: float) -> dict:
    return {"labels": labels, "samples": [[T0, v - 1], [T0 + 15, v]]}


# metrics named like keywords, so that accepted keyword names select something
DATA = [_series({"__name__": "up", "job": "a", "instance": "i:1"}, 1),
        _series({"__name__": "up", "job": "b"}, 2), _series({"__name__": "up"}, 3),
        _series({"__name__": "on", "x": "y"}, 4), _series({"__name__": "sum", "job": "a"}, 5),
        _series({"__name__": "offset", "job": "c"}, 6),
        _series({"__name__": "foo:bar", "job": "b"}, 7),
        _series({"__name__": "start", "a": "b"}, 8), _series({"__name__": "and", "a": "b"}, 9),
        _series({"__name__": "_x", "job": "d"}, 10)]


# -- the parser, without a real Prometheus --------------------------------------------------

def _fails(text: str) -> str:
    """Prometheus 2.42's error for a selector."""
    with pytest.raises(ParseError) as info:
        parse_metric_selector(text, versions.resolve("2.42.0"))
    return info.value.message


def test_selector_matchers_name_first():
    assert parse_metric_selector('up{job="a",c!~"d"}') == (
        Matcher.of("__name__", "=", "up"), Matcher.of("job", "=", "a"), Matcher.of("c", "!~", "d"))
    assert parse_metric_selector("foo:bar") == (Matcher.of("__name__", "=", "foo:bar"),)
    # keyword tokens the grammar takes as metric names
    assert parse_metric_selector('sum{job="a"}')[0] == Matcher.of("__name__", "=", "sum")
    assert parse_metric_selector("offset") == (Matcher.of("__name__", "=", "offset"),)
    # no AST check: empty-matching and twice-named selectors parse
    assert parse_metric_selector('{job=""}') == (Matcher.of("job", "=", ""),)
    assert parse_metric_selector("{}") == ()
    assert len(parse_metric_selector('{__name__="up",__name__="on"}')) == 2


def test_selector_errors_are_worded_and_positioned_as_prometheus():
    assert _fails('up{job=~"("}') == ("1:4: parse error: error parsing regexp: "
                                      "missing closing ): `^(?:()$`")
    assert _fails('sum{job=~"("}').startswith("1:5: parse error: error parsing regexp")
    assert _fails('on{x="y"}') == "1:1: parse error: unexpected <on>"
    assert _fails("bool") == "1:1: parse error: unexpected <bool>"
    assert _fails("nan") == '1:1: parse error: unexpected number "nan"'
    assert _fails("Inf{}") == '1:1: parse error: unexpected number "Inf"'
    assert _fails("up sum") == "1:4: parse error: unexpected <aggr:sum>"
    assert _fails("up{") == "1:4: parse error: unexpected end of input inside braces"
    assert _fails("") == "1:1: parse error: unexpected end of input"
    assert _fails('up{job="a" or}') == ('1:12: parse error: unexpected identifier "or" in label '
                                        'matching, expected "," or "}"')


@pytest.mark.parametrize("text", SELECTORS + MORE_SELECTORS)
def test_api_and_federate_read_selectors_with_the_same_parser(text):
    try:
        want = parse_metric_selector(text)
    except ParseError as err:
        with pytest.raises(ParseError) as api_err:
            api_parse(text)
        with pytest.raises(SelectorError) as fed_err:
            federate_parse(text)
        assert api_err.value.message == str(fed_err.value) == err.message
    else:
        assert tuple(api_parse(text)) == federate_parse(text) == want


# -- against a real Prometheus (2.42 and 3.5.3) -----------------------------------------------------------

@pytest.fixture(scope="module")
def servers(release):  # noqa: F811
    from mockprom.server import MockPrometheus

    with MockPrometheus(scenario={"series": DATA}, host="127.0.0.1", port=0,
                        version=release.version) as mock, \
            realprom.RealPrometheus(DATA, line=release.line) as real:
        yield real, mock


def _answer(url: str, path: str, params) -> tuple:
    r = requests.get(url + path, params=params, timeout=30)
    return r.status_code, r.headers.get("Content-Type"), r.text


@pytest.mark.realprom
@pytest.mark.parametrize("path", ENDPOINTS)
def test_match_selectors_answered_as_a_real_prometheus(servers, release, path):
    real, mock = servers
    diffs, accepted, non_empty = [], 0, 0
    for sel in SELECTORS + MORE_SELECTORS:
        want = _answer(real.url, path, {"match[]": sel})
        got = _answer(mock.url, path, {"match[]": sel})
        if got != want:
            diffs.append((sel, want, got))
        accepted += want[0] == 200
        non_empty += want[0] == 200 and want[2] != '{"status":"success","data":[]}'
    assert diffs == []
    # of the 84: 33 parse (3.5: 34, with the quoted name {"up"}), and 5 of those match the
    # empty label set (refused here but taken by /federate); 23 of the more parse, 1 of
    # them empty-matching
    parsed = {"2.42": 33, "3.5": 34}[release.line]
    assert accepted == parsed - 5 + 23 - 1
    assert non_empty >= 20, non_empty  # answers with data, not only empty lists


@pytest.mark.realprom
@pytest.mark.parametrize("path", ENDPOINTS)
def test_several_match_params_answered_as_a_real_prometheus(servers, path):
    real, mock = servers
    for sels in (["up", '{__name__=~"s.*"}', "offset"], ["up{", "bool"], ["up", "{}"],
                 ['{job=~".*"}', "up"], ["up", 'up{job="a"}']):
        params = {"match[]": sels}
        want = _answer(real.url, path, params)
        assert _answer(mock.url, path, params) == want, sels


def test_every_selector_is_parsed_before_the_empty_matcher_check():
    """2.42's parseMatchersParam parses all match[] first: a later syntax error wins over
    an earlier selector that only matches the empty string."""
    import requests

    from mockprom.server import MockPrometheus

    with MockPrometheus({"series": [{"labels": {"__name__": "up", "job": "a"},
                                     "samples": [[0, 1]]}]}, version="2.42.0") as prom:
        body = requests.get(prom.url + "/api/v1/series",
                            params={"match[]": ['{job=""}', "up{"]}).json()
        assert body["errorType"] == "bad_data"
        assert "parse error" in body["error"] and "non-empty" not in body["error"]
        body = requests.get(prom.url + "/api/v1/series",
                            params={"match[]": ["up", '{job=""}']}).json()
        assert body["error"].endswith("match[] must contain at least one non-empty matcher")
