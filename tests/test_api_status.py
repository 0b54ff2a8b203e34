"""Status, rules, alerts, alertmanagers, health, and the router's own answers (404, 405,
OPTIONS, CORS) over real HTTP."""

from __future__ import annotations

import pytest

from conftest import T0, basic_scenario


def test_health_and_ready_are_plain_text(prom, http):
    r = http.get(prom.url + "/-/healthy")
    assert (r.status_code, r.text) == (200, "Prometheus Server is Healthy.\n")
    assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
    r = http.get(prom.url + "/-/ready")
    assert (r.status_code, r.text) == (200, "Prometheus Server is Ready.\n")


def test_unknown_paths_answer_like_prometheus(prom, http):
    for path in ("/nope", "/api/v1/nonexistent", "/api/v2/query"):
        r = http.get(prom.url + path)
        assert r.status_code == 404
        assert r.text == "404 page not found\n"
        assert r.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_wrong_method_is_405_with_allow(prom, http):
    r = http.put(prom.url + "/api/v1/query", params={"query": "1"})
    assert r.status_code == 405
    assert r.text == "Method Not Allowed\n"
    assert r.headers["Allow"] == "GET, OPTIONS, POST"


def test_options_and_cors(prom, http, serve):
    r = http.options(prom.url + "/api/v1/query")
    assert r.status_code == 204
    r = http.get(prom.url + "/api/v1/query", params={"query": "1"},
                 headers={"Origin": "http://grafana.local"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://grafana.local"  # 3.x echoes
    assert r.headers["Vary"] == "Origin"
    r = http.get(prom.url + "/api/v1/query", params={"query": "1"})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert r.headers["Vary"] == "Origin"  # 3.x varies on Origin always
    old = serve(basic_scenario(), version="2.42.0")
    r = http.get(old.url + "/api/v1/query", params={"query": "1"},
                 headers={"Origin": "http://grafana.local"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert r.headers["Vary"] == "Origin"
    r = http.get(old.url + "/api/v1/query", params={"query": "1"})
    assert "Access-Control-Allow-Origin" not in r.headers and "Vary" not in r.headers


def test_buildinfo_reports_the_configured_version(serve, http):
    prom = serve(basic_scenario(server={"version": "3.5.1"}))
    data = http.get(prom.url + "/api/v1/status/buildinfo").json()["data"]
    assert data["version"] == "3.5.1"
    assert list(data) == ["version", "revision", "branch", "buildUser", "buildDate", "goVersion"]
    prom2 = serve(basic_scenario(buildinfo={"revision": "abc"}))
    assert http.get(prom2.url + "/api/v1/status/buildinfo").json()["data"]["revision"] == "abc"


def test_config_flags_runtimeinfo(serve, http):
    prom = serve(basic_scenario(config="global:\n  scrape_interval: 30s\n",
                                flags={"query.timeout": "1m", "web.external-url": "x"}))
    assert http.get(prom.url + "/api/v1/status/config").json() == {
        "status": "success", "data": {"yaml": "global:\n  scrape_interval: 30s\n"}}
    flags = http.get(prom.url + "/api/v1/status/flags").json()["data"]
    assert flags["query.timeout"] == "1m"
    assert flags["query.lookback-delta"] == "5m"
    assert all(isinstance(v, str) for v in flags.values())
    info = http.get(prom.url + "/api/v1/status/runtimeinfo").json()["data"]
    assert info["reloadConfigSuccess"] is True
    assert info["storageRetention"] == "15d"
    assert set(info) >= {"startTime", "CWD", "lastConfigTime", "corruptionCount",
                         "goroutineCount", "GOMAXPROCS", "GOGC", "GODEBUG"}


def test_tsdb_status_is_computed_from_the_store(prom, http):
    data = http.get(prom.url + "/api/v1/status/tsdb").json()["data"]
    series = basic_scenario()["series"]
    assert data["headStats"]["numSeries"] == len(series)
    by_name = {}
    for s in series:
        by_name[s["labels"]["__name__"]] = by_name.get(s["labels"]["__name__"], 0) + 1
    top = data["seriesCountByMetricName"]
    assert {d["name"]: d["value"] for d in top} == by_name
    assert [d["value"] for d in top] == sorted((d["value"] for d in top), reverse=True)
    assert data["headStats"]["minTime"] == min(t for s in series for t, _ in s["samples"]) * 1000
    assert data["headStats"]["maxTime"] == T0 * 1000
    assert set(data) == {"headStats", "seriesCountByMetricName", "labelValueCountByLabelName",
                         "memoryInBytesByLabelName", "seriesCountByLabelValuePair"}


RULES = [{"name": "example", "interval": "30s", "rules": [
    {"record": "job:up:sum", "expr": "sum(up)by(job)", "labels": {"team": "a"}},
    {"alert": "AlwaysPending", "expr": "vector(1) > 0", "for": "1h",
     "labels": {"severity": "page"}, "annotations": {"summary": "it is <on>"}}]},
    {"name": "second", "rules": [{"record": "x:y", "expr": "vector(1)"}]}]


def test_rules_shape_and_type_filter(serve, http):
    prom = serve(basic_scenario(rules=RULES))
    body = http.get(prom.url + "/api/v1/rules").json()
    groups = body["data"]["groups"]
    assert [g["name"] for g in groups] == ["example", "second"]
    g = groups[0]
    assert list(g) == ["name", "file", "rules", "interval", "limit", "evaluationTime",
                       "lastEvaluation"]
    assert g["interval"] == 30 and groups[1]["interval"] == 60
    rec, alert = g["rules"]
    assert list(rec) == ["name", "query", "labels", "health", "evaluationTime",
                         "lastEvaluation", "type"]
    assert rec["query"] == "sum by (job) (up)" and rec["type"] == "recording"
    assert "labels" not in groups[1]["rules"][0]
    assert list(alert) == ["state", "name", "query", "duration", "keepFiringFor", "labels",
                           "annotations", "alerts", "health", "evaluationTime",
                           "lastEvaluation", "type"]
    assert alert["duration"] == 3600 and alert["type"] == "alerting"
    r = http.get(prom.url + "/api/v1/rules", params={"type": "alert"})
    assert [r["type"] for g in r.json()["data"]["groups"] for r in g["rules"]] == ["alerting"]
    r = http.get(prom.url + "/api/v1/rules", params={"type": "record"})
    assert {r["type"] for g in r.json()["data"]["groups"] for r in g["rules"]} == {"recording"}
    r = http.get(prom.url + "/api/v1/rules", params={"type": "x"})
    assert r.status_code == 400
    assert r.json()["error"] == 'invalid parameter "type": not supported value "x"'
    # label sets (annotations too) are written by 3.x's jsoniter encoder, unescaped; 2.42's
    # encoding/json escapes <, > and &
    assert b'"summary":"it is <on>"' in http.get(prom.url + "/api/v1/rules").content
    old = serve(basic_scenario(rules=RULES), version="2.42.0")
    assert b"it is \\u003con\\u003e" in http.get(old.url + "/api/v1/rules").content


def test_alerts_and_alertmanagers(serve, http):
    prom = serve(basic_scenario(alertmanagers=["http://am:9093/api/v2/alerts"]))
    assert http.get(prom.url + "/api/v1/alerts").json() == {"status": "success",
                                                           "data": {"alerts": []}}
    assert http.get(prom.url + "/api/v1/alertmanagers").json()["data"] == {
        "activeAlertmanagers": [{"url": "http://am:9093/api/v2/alerts"}],
        "droppedAlertmanagers": []}


def test_minor_endpoints_as_prometheus_answers_them(prom, http):
    r = http.delete(prom.url + "/api/v1/series", params={"match[]": "up"})
    assert r.status_code == 500
    assert r.json() == {"status": "error", "errorType": "internal", "error": "not implemented"}
    assert http.get(prom.url + "/api/v1/status/walreplay").json() == {
        "status": "success", "data": {"min": 0, "max": 0, "current": 0}}
    r = http.head(prom.url + "/-/healthy")
    assert r.status_code == 200 and r.content == b""


def test_verbose_log_line(serve, caplog):
    import logging

    import requests

    prom = serve(basic_scenario(), verbose=True)
    logger = logging.getLogger("mockprom")
    logger.propagate = True
    with caplog.at_level(logging.INFO, logger="mockprom"):
        requests.post(prom.url + "/api/v1/query", data={"query": "sum(up)", "time": T0})
    [line] = [r.getMessage() for r in caplog.records if "/api/v1/query" in r.getMessage()]
    assert line.startswith("POST /api/v1/query query='sum(up)' -> 200 in ")
    assert line.endswith(" ms")


def test_buildinfo_of_a_mimir_flavour(serve, http):
    prom = serve(basic_scenario(server={"flavour": "mimir"}, buildinfo={"version": "2.9.0"}))
    data = http.get(prom.url + "/api/v1/status/buildinfo").json()["data"]
    assert data["application"] == "Grafana Mimir" and data["version"] == "2.9.0"
    assert data["features"]["ruler_config_api"] == "true"


@pytest.mark.parametrize("version, home", [("3.5.3", "/query"), ("2.42.0", "/graph")])
def test_root_redirects_to_the_home_page_like_prometheus(serve, http, version, home):
    prom = serve(basic_scenario(), version=version)
    r = http.get(prom.url + "/", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (302, home)
    assert r.text == f'<a href="{home}">Found</a>.\n\n'  # Go's http.Redirect body
    page = http.get(prom.url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]


def test_lifecycle_endpoints_answer_as_a_default_prometheus(prom, http):
    for path in ("/-/reload", "/-/quit"):
        r = http.get(prom.url + path)
        assert (r.status_code, r.text) == (405, "Only POST or PUT requests allowed")
        for method in ("POST", "PUT"):
            r = http.request(method, prom.url + path)
            assert (r.status_code, r.text) == (403, "Lifecycle API is not enabled.")
            assert r.headers["Content-Type"] == "text/plain; charset=utf-8"
        r = http.head(prom.url + path)
        assert r.status_code == 405 and r.headers["Allow"] == "GET, OPTIONS, POST, PUT"
