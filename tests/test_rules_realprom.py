"""``/api/v1/rules``, ``/api/v1/alerts`` and rule output series compared with a real
Prometheus (2.42 and 3.5.3) holding the same data and rules. A real server's alert times depend on
when it started, so shapes, states, labels, annotations and values are compared, not
timestamps."""

from __future__ import annotations

import time

import pytest
import requests

from realprom import RealPrometheus, release  # noqa: F401  (a fixture)

RULES = [
    {"record": "job:up:sum", "expr": "sum by (job) (up)", "labels": {"team": "x"}},
    {"record": "job:up:count", "expr": "count by (job) (up)"},
    {"alert": "Down", "expr": "up == 0",
     "labels": {"severity": "warn-{{ $labels.job }}"},
     "annotations": {"summary": "{{ $labels.instance }} is down ({{ $value }})",
                     "human": "{{ $value | humanize }}", "missing": "{{ $labels.nope }}"}},
    {"alert": "DownForLong", "expr": "up == 0", "for": "1h", "labels": {"severity": "page"}},
    {"alert": "Never", "expr": "up > 5"},
    {"alert": "Ratio", "expr": "vector(1234567.5)"},
    {"alert": "Html", "expr": "up > 0", "labels": {"severity": "<page>"},
     "annotations": {"summary": "a<b & c>d"}},
]
# a second rule file: pagination and the file[] / rule_group[] filters of 3.5
MORE = [{"name": "h", "interval": "1s", "rules": [
            {"record": "job:up:max", "expr": "max by (job) (up)", "labels": {"team": "y"}}]},
        {"name": "g", "interval": "1s", "rules": [
            {"alert": "Down", "expr": "up == 0", "labels": {"severity": "page"}}]}]
VOLATILE = ("evaluationTime", "lastEvaluation", "activeAt", "file")


def _data(now: float) -> list[dict]:
    times = [now - 600 + 5 * i for i in range(150)]  # 10 minutes back, 2.5 minutes ahead
    return [
        {"labels": {"__name__": "up", "job": "api", "instance": "a:80"},
         "samples": [[t, 0] for t in times]},
        {"labels": {"__name__": "up", "job": "db", "instance": "b:80"},
         "samples": [[t, 1] for t in times]},
    ]


def _rules_yaml(groups=None) -> str:
    import yaml

    return yaml.safe_dump({"groups": groups or [{"name": "g", "interval": "1s", "rules": RULES}]})


def _strip(obj):
    """The answer without the fields whose values depend on when a server started."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def both(tmp_path_factory, release):
    from mockprom.server import MockPrometheus

    folder = tmp_path_factory.mktemp("rules")
    rules_file, more_file = folder / "rules.yml", folder / "more.yml"
    rules_file.write_text(_rules_yaml())
    more_file.write_text(_rules_yaml(MORE))
    now = time.time()
    data = _data(now)
    config = (f"global: {{evaluation_interval: 1s}}\n"
              f"rule_files: [{rules_file}, {more_file}]\n")
    with RealPrometheus(data, config=config, line=release.line) as real:
        mock = MockPrometheus({"series": data, "rules": [
            {"name": "g", "file": str(rules_file), "interval": "1s", "rules": RULES},
            *({**g, "file": str(more_file)} for g in MORE)]},
            version=release.version)
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # wait for the real server's evaluations
                groups = requests.get(real.url + "/api/v1/rules").json()["data"]["groups"]
                if groups and all(r.get("lastEvaluation", "").startswith("2") and
                                  not r["lastEvaluation"].startswith("0001")
                                  for r in groups[0]["rules"]):
                    break
                time.sleep(0.2)
            def alerts(url):
                return sorted(sorted(s["metric"].items()) for s in _get(
                    url, "/api/v1/query", query="ALERTS or ALERTS_FOR_STATE")["data"]["result"])

            # ALERTS is written once "for" state is restored, by every group in turn
            while time.monotonic() < deadline and alerts(real.url) != alerts(mock.url):
                time.sleep(0.2)
            yield real.url, mock.url
        finally:
            mock.stop()


def _get(url: str, path: str, **params) -> dict:
    r = requests.get(url + path, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_rules_answer_matches_a_real_prometheus(both):
    real, mock = both
    want = _strip(_get(real, "/api/v1/rules"))
    got = _strip(_get(mock, "/api/v1/rules"))
    assert got == want


def test_rules_key_order_and_types_match(both):
    real, mock = both
    want = _get(real, "/api/v1/rules")["data"]["groups"][0]
    got = _get(mock, "/api/v1/rules")["data"]["groups"][0]
    assert list(got) == list(want)
    for w, g in zip(want["rules"], got["rules"]):
        assert list(g) == list(w)
        assert isinstance(g["evaluationTime"], float) and g["lastEvaluation"].endswith("Z")
        for wa, ga in zip(w.get("alerts", []), g.get("alerts", [])):
            assert list(ga) == list(wa)


def test_alerts_answer_matches_a_real_prometheus(both):
    real, mock = both
    key = lambda a: sorted(a["labels"].items())  # noqa: E731 - real order is map order
    want = sorted(_strip(_get(real, "/api/v1/alerts"))["data"]["alerts"], key=key)
    got = sorted(_strip(_get(mock, "/api/v1/alerts"))["data"]["alerts"], key=key)
    assert got == want
    assert {a["state"] for a in got} == {"pending", "firing"}


@pytest.mark.parametrize("query", ["ALERTS", "job:up:sum", "job:up:count",
                                   'ALERTS_FOR_STATE{alertname="Down"} > 0'])
def test_rule_series_match_a_real_prometheus(both, query):
    real, mock = both
    want = _get(real, "/api/v1/query", query=query)["data"]["result"]
    got = _get(mock, "/api/v1/query", query=query)["data"]["result"]
    assert sorted(sorted(s["metric"].items()) for s in got) == \
        sorted(sorted(s["metric"].items()) for s in want)
    if not query.startswith("ALERTS_FOR_STATE"):
        assert sorted(s["value"][1] for s in got) == sorted(s["value"][1] for s in want)


def _filters(more_file: str) -> list[dict]:
    return [
        {"rule_name[]": "Down"}, {"rule_name[]": ["Down", "job:up:max"]}, {"rule_name[]": ""},
        {"rule_group[]": "g"}, {"rule_group[]": "h"}, {"file[]": more_file}, {"file[]": "x"},
        {"exclude_alerts": "true"}, {"exclude_alerts": "0"}, {"match[]": '{severity="page"}'},
        {"match[]": ['{team="x"}', '{severity=~"warn.*"}']}, {"match[]": '{alertname="Down"}'},
        {"type": "alert", "rule_group[]": "h"}, {"type": "record"},
        {"group_limit": "1"}, {"group_limit": "2"}, {"group_limit": "3"},
        {"group_limit": "1", "type": "record"}, {"group_limit": "1", "rule_group[]": "h"},
        {"match[]": "{}"}, {"rule_name[]": "Down", "group_limit": "1", "exclude_alerts": "t"},
    ]


def test_rules_filters_and_pagination_match_a_real_prometheus(both, release):
    """3.5's filters and pagination (2.42 ignores them all), following groupNextToken to
    the last page."""
    real, mock = both
    groups = _get(real, "/api/v1/rules")["data"]["groups"]
    more_file = next(g["file"] for g in groups if g["name"] == "h")
    for params in _filters(more_file):
        token, pages = None, 0
        while True:
            p = dict(params, **({"group_next_token": token} if token else {}))
            want = requests.get(real + "/api/v1/rules", params=p, timeout=30)
            got = requests.get(mock + "/api/v1/rules", params=p, timeout=30)
            assert got.status_code == want.status_code, p
            assert _strip(got.json()) == _strip(want.json()), p
            token = want.json().get("data", {}).get("groupNextToken")
            pages += 1
            if not token or pages > 5:
                break


def test_rule_label_sets_escaped_as_a_real_prometheus(both):
    """2.42 HTML-escapes labels and annotations (encoding/json), 3.5 does not (jsoniter's
    label encoder); the rule's query, a plain string, is escaped by both."""
    real, mock = both
    for path in ("/api/v1/rules", "/api/v1/alerts"):
        want = requests.get(real + path, timeout=30).content
        got = requests.get(mock + path, timeout=30).content
        for text in (b'"severity":"<page>"', b'"summary":"a<b & c>d"', b"\\u003cpage\\u003e",
                     b"up \\u003e 0", b"up > 0"):
            assert (text in got) == (text in want), (path, text)
