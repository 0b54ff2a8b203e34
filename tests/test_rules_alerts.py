"""Alerting and recording rules evaluated against the scenario's own data, on the group's
epoch-aligned schedule: states over time (``set_time``), ``/api/v1/rules``,
``/api/v1/alerts``, ``ALERTS`` / ``ALERTS_FOR_STATE`` and recorded series as queries."""

from __future__ import annotations

import pytest
import requests

from mockprom.api.format import rfc3339_nano

START = 1_700_000_040  # a multiple of 60: data and rule schedule share one grid
ERR_FROM = START + 21 * 60  # first sample where errors == 1
ERR_LAST = START + 31 * 60  # last sample where errors == 1


def scenario(**extra) -> dict:
    doc = {
        "name": "rules",
        "start": START,
        "interval": "1m",
        "clock": START + 3600,
        "series": [
            {"series": 'errors{job="api", instance="a"}', "values": "0x20 1x10 0x30"},
            {"series": 'errors{job="api", instance="b"}', "values": "0x62"},
            {"series": 'requests_total{job="api"}', "values": "0+60x62"},
        ],
        "rules": [
            {"name": "alerts", "interval": "1m", "rules": [
                {"alert": "Errors", "expr": "errors > 0", "for": "3m",
                 "labels": {"severity": "page", "team": "{{ $labels.job }}-team"},
                 "annotations": {"summary": "{{ $labels.instance }} fails ({{ $value }})",
                                 "missing": "{{ $labels.nope }}"}},
                {"alert": "Never", "expr": "errors > 5"},
            ]},
            {"name": "recording", "interval": "1m", "rules": [
                {"record": "job:errors:sum", "expr": "sum by (job) (errors)"},
                {"record": "job:errors:double", "expr": "job:errors:sum * 2",
                 "labels": {"kind": "double"}},
                {"record": "job:requests:rate1m", "expr": "sum by (job) (rate(requests_total[2m]))"},
            ]},
        ],
    }
    doc.update(extra)
    return doc


@pytest.fixture(scope="module")
def prom():
    from mockprom.server import MockPrometheus

    server = MockPrometheus(scenario())
    yield server
    server.stop()


def alerts_at(prom, t: float) -> list[dict]:
    prom.set_time(t)
    r = requests.get(prom.url + "/api/v1/alerts")
    assert r.status_code == 200
    return r.json()["data"]["alerts"]


def rule(prom, name: str) -> dict:
    body = requests.get(prom.url + "/api/v1/rules").json()
    return next(r for g in body["data"]["groups"] for r in g["rules"] if r["name"] == name)


def test_no_alert_before_the_errors(prom):
    assert alerts_at(prom, ERR_FROM - 1) == []
    assert rule(prom, "Errors")["state"] == "inactive"


def test_pending_until_for_has_elapsed(prom):
    for t in (ERR_FROM, ERR_FROM + 59, ERR_FROM + 2 * 60, ERR_FROM + 3 * 60 - 1):
        alerts = alerts_at(prom, t)
        assert [a["state"] for a in alerts] == ["pending"], t
        assert alerts[0]["activeAt"] == rfc3339_nano(ERR_FROM * 1000)
    assert rule(prom, "Errors")["state"] == "pending"


def test_firing_once_for_has_elapsed_with_labels_and_annotations(prom):
    alerts = alerts_at(prom, ERR_FROM + 3 * 60)
    assert alerts == [{
        "labels": {"alertname": "Errors", "instance": "a", "job": "api", "severity": "page",
                   "team": "api-team"},
        "annotations": {"missing": "", "summary": "a fails (1)"},
        "state": "firing",
        "activeAt": rfc3339_nano(ERR_FROM * 1000),
        "value": "1e+00",
    }]
    r = rule(prom, "Errors")
    assert r["state"] == "firing" and r["health"] == "ok"
    assert r["alerts"] == alerts
    assert r["lastEvaluation"] == rfc3339_nano((ERR_FROM + 3 * 60) * 1000)


def test_still_firing_on_the_last_error_then_resolved(prom):
    assert [a["state"] for a in alerts_at(prom, ERR_LAST + 59)] == ["firing"]
    assert alerts_at(prom, ERR_LAST + 60) == []
    assert rule(prom, "Errors")["state"] == "inactive"


def test_rules_shape(prom):
    prom.set_time(ERR_FROM + 5 * 60)
    body = requests.get(prom.url + "/api/v1/rules").json()
    groups = body["data"]["groups"]
    assert [g["name"] for g in groups] == ["alerts", "recording"]
    for g in groups:
        assert set(g) == {"name", "file", "rules", "interval", "limit", "evaluationTime",
                          "lastEvaluation"}
        assert g["interval"] == 60
        assert g["lastEvaluation"] == rfc3339_nano((ERR_FROM + 5 * 60) * 1000)
    alerting = groups[0]["rules"][0]
    assert list(alerting) == ["state", "name", "query", "duration", "keepFiringFor", "labels",
                              "annotations", "alerts", "health", "evaluationTime",
                              "lastEvaluation", "type"]
    assert alerting["duration"] == 180 and alerting["query"] == "errors > 0"
    assert alerting["labels"]["team"] == "{{ $labels.job }}-team"  # as written in the rule
    recording = groups[1]["rules"]
    assert list(recording[0]) == ["name", "query", "health", "evaluationTime", "lastEvaluation",
                                  "type"]
    assert recording[1]["labels"] == {"kind": "double"}
    only = requests.get(prom.url + "/api/v1/rules", params={"type": "record"}).json()
    assert {r["type"] for g in only["data"]["groups"] for r in g["rules"]} == {"recording"}
    bad = requests.get(prom.url + "/api/v1/rules", params={"type": "bogus"})
    assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data"


def range_query(prom, expr: str, start: float, end: float, step: int = 60) -> dict:
    r = requests.get(prom.url + "/api/v1/query_range",
                     params={"query": expr, "start": start, "end": end, "step": step})
    assert r.status_code == 200, r.text
    return {tuple(sorted(s["metric"].items())): s["values"] for s in r.json()["data"]["result"]}


def test_alerts_series_follow_the_state_machine(prom):
    prom.set_time(START + 3600)
    got = range_query(prom, "ALERTS", START, START + 3600)
    base = (("alertname", "Errors"), ("instance", "a"), ("job", "api"), ("severity", "page"),
            ("team", "api-team"))
    pending = tuple(sorted(base + (("__name__", "ALERTS"), ("alertstate", "pending"))))
    firing = tuple(sorted(base + (("__name__", "ALERTS"), ("alertstate", "firing"))))
    assert set(got) == {pending, firing}
    assert [t for t, _ in got[pending]] == [ERR_FROM + 60 * i for i in range(3)]
    assert [t for t, _ in got[firing]] == [ERR_FROM + 60 * i for i in range(3, 11)]
    assert {v for pts in got.values() for _, v in pts} == {"1"}
    for_state = range_query(prom, "ALERTS_FOR_STATE", START, START + 3600)
    (values,) = for_state.values()
    assert {v for _, v in values} == {str(ERR_FROM)}
    assert [t for t, _ in values] == [ERR_FROM + 60 * i for i in range(11)]


def test_recording_rules_are_queryable_and_chain(prom):
    prom.set_time(START + 3600)
    t = ERR_FROM + 120
    summed = requests.get(prom.url + "/api/v1/query",
                          params={"query": "job:errors:sum", "time": t}).json()["data"]["result"]
    direct = requests.get(prom.url + "/api/v1/query",
                          params={"query": "sum by (job) (errors)", "time": t}).json()["data"]["result"]
    assert [s["value"] for s in summed] == [s["value"] for s in direct]
    assert summed[0]["metric"] == {"__name__": "job:errors:sum", "job": "api"}
    doubled = requests.get(prom.url + "/api/v1/query",
                           params={"query": "job:errors:double", "time": t}).json()["data"]["result"]
    assert doubled[0]["metric"] == {"__name__": "job:errors:double", "job": "api", "kind": "double"}
    assert float(doubled[0]["value"][1]) == 2 * float(summed[0]["value"][1])
    # Between evaluations a recorded series holds the value of the last evaluation.
    rec = range_query(prom, "job:requests:rate1m", START + 600, START + 1200, step=15)
    direct = range_query(prom, "sum by (job) (rate(requests_total[2m]))", START + 600,
                         START + 1200, step=60)
    (points,) = rec.values()
    (want,) = direct.values()
    by_time = dict(points)
    for t, v in want[:-1]:
        assert by_time[t] == v
        assert by_time[t + 45] == v


def test_recorded_series_in_metadata_endpoints(prom):
    prom.set_time(START + 3600)
    r = requests.get(prom.url + "/api/v1/series",
                     params={"match[]": "job:errors:double", "start": START, "end": START + 3600})
    assert r.json()["data"] == [{"__name__": "job:errors:double", "job": "api", "kind": "double"}]
    names = requests.get(prom.url + "/api/v1/label/__name__/values",
                         params={"start": START, "end": START + 3600}).json()["data"]
    assert {"job:errors:sum", "job:errors:double", "ALERTS", "ALERTS_FOR_STATE"} <= set(names)
    assert "kind" in requests.get(prom.url + "/api/v1/labels",
                                  params={"start": START, "end": START + 3600}).json()["data"]


def test_plain_queries_see_no_rule_output(prom):
    prom.set_time(START + 3600)
    r = requests.get(prom.url + "/api/v1/query", params={"query": "errors", "time": ERR_FROM})
    assert {s["metric"]["__name__"] for s in r.json()["data"]["result"]} == {"errors"}
    assert prom.state.current.rules  # the provider is there, and was not needed


def test_rules_are_not_evaluated_in_the_future(prom):
    prom.set_time(START + 600)
    r = requests.get(prom.url + "/api/v1/query",
                     params={"query": "job:errors:sum", "time": START + 1200})
    assert r.json()["data"]["result"] == []


def test_keep_firing_for_and_error_health(serve):
    doc = scenario()
    doc["rules"] = [{"name": "g", "interval": "1m", "rules": [
        {"alert": "Held", "expr": "errors > 0", "for": "1m", "keep_firing_for": "3m"},
        {"alert": "Clash", "expr": '{__name__=~"errors|errors_copy", instance="a"}'},
        {"record": "clash:errors", "expr": '{__name__=~"errors|errors_copy", instance="a"}'},
    ]}]
    doc["series"].append({"series": 'errors_copy{job="api", instance="a"}', "values": "0x62"})
    prom = serve(doc)
    held = alerts_at(prom, ERR_LAST + 60)  # the condition is gone, the alert is held
    assert [(a["labels"]["alertname"], a["state"]) for a in held] == [("Held", "firing")]
    assert held[0]["keepFiringSince"] == rfc3339_nano((ERR_LAST + 60) * 1000)
    assert [a["state"] for a in alerts_at(prom, ERR_LAST + 3 * 60 - 1)] == ["firing"]
    assert alerts_at(prom, ERR_LAST + 4 * 60) == []
    body = requests.get(prom.url + "/api/v1/rules").json()
    rules = {r["name"]: r for r in body["data"]["groups"][0]["rules"]}
    assert rules["Clash"]["health"] == "err"
    assert "same labelset after applying alert labels" in rules["Clash"]["lastError"]
    assert rules["clash:errors"]["health"] == "err"
    assert rules["clash:errors"]["lastError"] == ("vector contains metrics with the same "
                                                  "labelset after applying rule labels")
    assert rules["Held"]["health"] == "ok"


def test_a_rule_reading_its_own_output_does_not_recurse(serve):
    doc = scenario()
    doc["rules"] = [{"name": "g", "rules": [
        {"record": "loop:a", "expr": "sum(loop:b) or vector(1)"},
        {"record": "loop:b", "expr": "sum(loop:a) + 1"},
        {"alert": "Meta", "expr": "count(ALERTS) > 0 or vector(1)"},
    ]}]
    prom = serve(doc)
    r = requests.get(prom.url + "/api/v1/query", params={"query": "{__name__=~\"loop:.*\"}"})
    assert r.status_code == 200
    values = {s["metric"]["__name__"]: s["value"][1] for s in r.json()["data"]["result"]}
    assert values == {"loop:a": "1", "loop:b": "2"}
    assert requests.get(prom.url + "/api/v1/query", params={"query": "ALERTS"}).status_code == 200


def test_default_group_interval_is_one_minute(serve):
    doc = scenario()
    doc["rules"] = [{"name": "g", "rules": [{"record": "r", "expr": "sum(errors)"}]}]
    prom = serve(doc)
    prom.set_time(START + 3600 + 59)
    group = requests.get(prom.url + "/api/v1/rules").json()["data"]["groups"][0]
    assert group["interval"] == 60
    assert group["lastEvaluation"] == rfc3339_nano((START + 3600) * 1000)


def test_a_scenario_whose_rules_do_not_parse_is_refused_with_every_problem(serve):
    """As Prometheus refuses a rule file that does not parse (the err-health display of a
    rule that fails at evaluation is tested in test_scenario_validation.py)."""
    from mockprom.scenario.loader import ScenarioError

    doc = scenario()
    doc["rules"] = [{"name": "g", "rules": [
        {"record": "broken", "expr": "sum(errors"},
        {"alert": "AlsoBroken", "expr": "errors >"},
        {"record": "fine", "expr": "sum(errors)"},
    ]}]
    with pytest.raises(ScenarioError) as err:
        serve(doc)
    paths = [p.path for p in err.value.problems]
    assert paths == ["rules[0].rules[0].expr", "rules[0].rules[1].expr"]


def test_ingested_samples_reach_recording_rules(serve):
    from mockprom.scenario.labels import make_labels

    prom = serve(scenario())
    t = START + 3600
    before = requests.get(prom.url + "/api/v1/query", params={"query": "job:errors:sum"})
    assert before.json()["data"]["result"][0]["value"][1] == "0"
    src = prom.store.appendable(make_labels({"__name__": "errors", "job": "api", "instance": "c"}))
    src.append(t * 1000 - 1000, 7.0)  # as remote write appends
    after = requests.get(prom.url + "/api/v1/query", params={"query": "job:errors:sum"})
    assert after.json()["data"]["result"][0]["value"][1] == "7"


def test_configured_evaluation_interval_is_the_default(serve):
    doc = scenario(config={"global": {"evaluation_interval": "30s"}})
    doc["rules"] = [{"name": "g", "rules": [{"record": "r", "expr": "sum(errors)"}]},
                    {"name": "h", "interval": "2m", "rules": [{"record": "s", "expr": "sum(errors)"}]}]
    prom = serve(doc)
    groups = requests.get(prom.url + "/api/v1/rules").json()["data"]["groups"]
    assert [g["interval"] for g in groups] == [30, 120]


def test_a_rule_returning_a_range_vector_reports_err_health(serve):
    doc = scenario()
    doc["rules"] = [{"name": "g", "rules": [{"alert": "Matrix", "expr": "errors[5m]"}]}]
    prom = serve(doc)
    (rule,) = requests.get(prom.url + "/api/v1/rules").json()["data"]["groups"][0]["rules"]
    assert (rule["health"], rule["lastError"]) == ("err", "rule result is not a vector or scalar")


def test_rule_problems_lists_bad_expressions():
    from mockprom.promql.rules import rule_problems
    from mockprom.scenario.loader import load_scenario

    doc = scenario()
    doc["rules"] = [{"name": "g", "rules": [{"record": "ok", "expr": "sum(errors)"},
                                            {"record": "bad", "expr": "sum(errors"}]},
                    {"name": "h", "rules": [{"alert": "M", "expr": "errors[5m]"}]}]
    problems = rule_problems(load_scenario(doc))
    assert [p.split(":")[0] for p in problems] == ["rules[0].rules[1].expr", "rules[1].rules[0].expr"]
    assert problems[1].endswith("rule result is not a vector or scalar")
    assert rule_problems(load_scenario(scenario())) == []


def test_group_limit_fails_evaluations_over_it(serve):
    doc = scenario()
    doc["series"].append({"series": 'errors{job="db", instance="c"}', "values": "0x20 1x10 0x30"})
    doc["rules"] = [{"name": "g", "limit": 1, "rules": [
        {"alert": "Errors", "expr": "errors > 0"},
        {"record": "per_instance", "expr": "errors"},
        {"record": "total", "expr": "sum(errors)"},
    ]}]
    prom = serve(doc)
    assert alerts_at(prom, ERR_FROM + 60) == []  # two alerts: over the limit of 1
    rules = requests.get(prom.url + "/api/v1/rules").json()["data"]["groups"][0]["rules"]
    assert [(r["health"], r.get("lastError")) for r in rules] == [
        ("err", "exceeded limit of 1 with 2 alerts"),
        ("err", "exceeded limit of 1 with 3 series"),
        ("ok", None)]
    r = requests.get(prom.url + "/api/v1/query", params={"query": "per_instance or total"})
    assert [s["metric"]["__name__"] for s in r.json()["data"]["result"]] == ["total"]


def test_at_end_in_a_rule_means_each_evaluation(serve):
    doc = scenario()
    doc["rules"] = [{"name": "g", "rules": [
        {"record": "at_end", "expr": "sum(requests_total @ end())"},
        {"record": "plain", "expr": "sum(requests_total)"}]}]
    prom = serve(doc)
    a = range_query(prom, "at_end", START + 600, START + 1200)
    b = range_query(prom, "plain", START + 600, START + 1200)
    assert list(a.values()) == list(b.values()) and len(next(iter(a.values()))) == 11
