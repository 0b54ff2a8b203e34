"""The web console in a real headless Chromium (Debian's chromium + chromedriver, driven
by Selenium): what a person does with it, checked against what the API answers.

Skipped, with the reason, when chromium, chromedriver or selenium are missing (``.ci/run``
installs them).
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

import browser
from conftest import T0

pytestmark = pytest.mark.skipif(browser.missing() is not None, reason=str(browser.missing()))

TOKEN = "api-s3cr3t"
CONTROL = "ctl-s3cr3t"

SCENARIO = {
    "name": "console-tests", "clock": T0, "interval": "15s",
    "series": [
        {"metric": "up", "type": "gauge", "help": "Whether the target is up.",
         "labels": {"job": "api", "instance": ["a:9090", "b:9090"]},
         "generator": {"kind": "constant", "value": 1}},
        {"metric": "up", "type": "gauge", "help": "Whether the target is up.",
         "labels": {"job": "db", "instance": "c:9100"}, "generator": {"kind": "constant", "value": 0}},
        {"metric": "http_requests_total", "type": "counter", "help": "Requests by code.",
         "labels": {"job": "api", "code": ["200", "500"]}, "generator": {"kind": "counter", "rate": 2}},
        {"series": 'queue_depth{queue="orders"}', "values": "1+1x100"},
    ],
    "rules": [{"name": "api", "file": "/etc/prometheus/rules/api.yaml", "rules": [
        {"record": "job:http_requests:rate5m", "expr": "sum by (job) (rate(http_requests_total[5m]))"},
        {"alert": "TargetDown", "expr": "up == 0", "for": "1m", "labels": {"severity": "page"},
         "annotations": {"summary": "a target is down"}},
    ]}],
}


@pytest.fixture(scope="module")
def chrome():
    b = browser.Browser(width=1400, height=900)
    yield b
    b.quit()


@pytest.fixture
def prom(serve):
    return serve(SCENARIO)


def api(prom, path, **params):
    import requests

    r = requests.get(prom.url + path, params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def query_url(prom, expr, **state) -> str:
    params = {"g0.expr": expr, **{f"g0.{k}": v for k, v in state.items()}}
    return prom.url + "/query?" + "&".join(f"{k}={quote(str(v), safe='')}" for k, v in params.items())


def runs(chrome) -> int:
    return int(chrome.find(".panel").get_attribute("data-runs"))


def execute(chrome) -> None:
    """Click Execute and wait for the answer to show."""
    before = runs(chrome)
    chrome.find(".exprbox button.primary").click()
    chrome.wait(lambda: runs(chrome) > before, "the query to finish")


def table_rows(chrome) -> dict:
    rows = {}
    for tr in chrome.find_all("table.result tbody tr"):
        series, value = tr.find_elements("css selector", "td")
        rows[series.text] = value.text
    return rows


def series_text(metric: dict) -> str:
    name = metric.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in sorted(metric.items()) if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def chart(chrome):
    return chrome.wait(lambda: chrome.find(".chart[data-series]"), "the graph")


# -- expression page ------------------------------------------------------------------------

def test_a_query_typed_in_the_box_shows_the_api_answer_in_the_table(chrome, prom):
    chrome.open(prom.url + "/query")
    box = chrome.find("textarea.expr")
    box.send_keys("up")
    execute(chrome)
    want = {series_text(s["metric"]): s["value"][1] for s in api(prom, "/api/v1/query", query="up")["result"]}
    assert len(want) == 3
    assert table_rows(chrome) == want
    assert "g0.expr=up" in chrome.driver.current_url
    assert "Result series: 3" in chrome.text(".stats")
    before = runs(chrome)
    chrome.find('.tabs button[data-tab="graph"]').click()
    chrome.wait(lambda: runs(chrome) > before, "the graph")
    assert int(chart(chrome).get_attribute("data-series")) == 3
    assert len(chrome.find_all(".chart .u-legend tr.u-series")) == 1 + 3  # time + one per series


@pytest.mark.parametrize("version, home", [("3.5.3", "/query"), ("2.42.0", "/graph")])
def test_links_made_for_prometheus_open_the_query_page(chrome, serve, version, home):
    prom = serve(SCENARIO, version=version)
    chrome.open(prom.url + "/")
    assert chrome.driver.current_url == prom.url + home
    # Prometheus 2.x's own links: /graph?g0.expr=...&g0.tab=1 (1: the Table tab)
    chrome.open(prom.url + "/graph?g0.expr=up&g0.tab=1&g0.range_input=1h")
    assert chrome.driver.current_url.startswith(prom.url + home + "?")
    chrome.wait(lambda: runs(chrome) >= 1, "the query")
    assert len(table_rows(chrome)) == 3


def test_enter_runs_the_query_and_an_error_shows_as_prometheus_shows_it(chrome, prom):
    chrome.open(prom.url + "/query")
    before = runs(chrome)
    chrome.find("textarea.expr").send_keys("sum(up", "\n")
    chrome.wait(lambda: runs(chrome) > before, "the query to finish")
    error = chrome.text(".messages .alert.error")
    assert error.startswith("Error executing query:")
    import requests

    body = requests.get(prom.url + "/api/v1/query", params={"query": "sum(up"}).json()
    assert body["error"] in error


def test_panels_come_from_the_url_and_can_be_added_and_removed(chrome, prom):
    chrome.open(prom.url + "/query?g0.expr=up&g0.tab=table&g1.expr=http_requests_total&g1.tab=table")
    chrome.wait(lambda: all(p.get_attribute("data-runs") != "0" for p in chrome.find_all(".panel")), "both panels")
    rows = chrome.js("return [...document.querySelectorAll('.panel')].map(p => p.querySelectorAll('table.result tbody tr').length)")
    assert rows == [3, 2]
    chrome.find("button.add-panel").click()
    panels = chrome.find_all(".panel")
    assert len(panels) == 3 and "g2.expr=" in chrome.driver.current_url
    panels[0].find_element("css selector", ".remove-panel").click()
    assert [p.find_element("css selector", "textarea").get_attribute("value") for p in chrome.find_all(".panel")] \
        == ["http_requests_total", ""]
    assert "g0.expr=http_requests_total" in chrome.driver.current_url and "g2." not in chrome.driver.current_url


def test_format_rewrites_the_expression_as_the_api_formats_it(chrome, prom):
    import requests

    chrome.open(prom.url + "/query")
    box = chrome.find("textarea.expr")
    messy = "sum(rate(http_requests_total{job='api'}[5m]))by(code)"
    box.send_keys(messy)
    chrome.find(".exprbox button.format").click()
    want = requests.get(prom.url + "/api/v1/format_query", params={"query": messy}).json()["data"]
    chrome.wait(lambda: box.get_attribute("value") == want, "the formatted expression")
    assert want != messy


def test_the_graph_plots_one_line_per_series(chrome, prom):
    expr = "rate(http_requests_total[5m])"
    chrome.open(query_url(prom, expr, tab="graph", range_input="30m"))
    el = chart(chrome)
    result = api(prom, "/api/v1/query_range", query=expr, start=T0 - 1800, end=T0, step=7)["result"]
    assert int(el.get_attribute("data-series")) == len(result) == 2
    # the steps of query_range from now - 30m to now (the mock's now)
    assert int(el.get_attribute("data-start")) == (T0 - 1800) * 1000 == result[0]["values"][0][0] * 1000
    assert int(el.get_attribute("data-end")) == result[0]["values"][-1][0] * 1000
    assert chrome.find_all(".chart canvas"), "uPlot drew no canvas"
    legend = [e.text for e in chrome.find_all(".chart .u-legend tr.u-series th")][1:]
    assert legend == [series_text(s["metric"]) for s in result]
    assert "Resolution: 7s" in chrome.text(".stats")


def test_stacked_mode_stacks_the_lines(chrome, prom):
    chrome.open(query_url(prom, "up", tab="graph", range_input="10m"))
    lines_max = float(chart(chrome).get_attribute("data-ymax"))
    before = runs(chrome)
    chrome.find('.seg button[data-mode="stacked"]').click()
    chrome.wait(lambda: runs(chrome) > before, "the stacked graph")
    assert "g0.display_mode=stacked" in chrome.driver.current_url
    el = chart(chrome)
    assert int(el.get_attribute("data-series")) == 3
    assert (lines_max, float(el.get_attribute("data-ymax"))) == (1.0, 2.0)  # 1 + 1 + 0


def test_dragging_across_the_graph_zooms_in(chrome, prom):
    from selenium.webdriver import ActionChains

    chrome.open(query_url(prom, "rate(http_requests_total[5m])", tab="graph", range_input="1h"))
    chart(chrome)
    over = chrome.find(".chart .u-over")
    width = over.size["width"]
    before = runs(chrome)
    ActionChains(chrome.driver).move_to_element_with_offset(over, -width // 4, 0).click_and_hold() \
        .move_by_offset(width // 4, 0).release().perform()
    chrome.wait(lambda: runs(chrome) > before, "the zoomed graph")
    el = chart(chrome)
    span = int(el.get_attribute("data-end")) - int(el.get_attribute("data-start"))
    assert 10 * 60_000 <= span <= 20 * 60_000, span  # about a quarter of the hour
    assert int(el.get_attribute("data-end")) < T0 * 1000
    assert "g0.end_input=" in chrome.driver.current_url


def test_completion_offers_metric_names_label_names_and_values(chrome, prom):
    chrome.open(prom.url + "/query")
    box = chrome.find("textarea.expr")
    items = lambda: [e.text for e in chrome.find_all(".complete li .ctext")]  # noqa: E731
    box.send_keys("http_req")
    chrome.wait(lambda: "http_requests_total" in items(), "metric names")
    box.send_keys("\t")
    assert box.get_attribute("value") == "http_requests_total"
    box.send_keys("{")
    chrome.wait(lambda: set(items()) == {"code", "job"}, "label names of the metric")
    box.send_keys('code="')
    chrome.wait(lambda: items() == ["200", "500"], "label values")
    box.send_keys("5\t")
    assert box.get_attribute("value") == 'http_requests_total{code="500"'


def test_warnings_and_infos_show_as_prometheus_shows_them(chrome, prom):
    prom.add_fault({"match": {"endpoint": "query"}, "warnings": ["partial response: store 2 unreachable"],
                    "infos": ["PromQL info: an info"]})
    chrome.open(query_url(prom, "up", tab="table"))
    chrome.wait(lambda: runs(chrome) >= 1, "the query")
    assert chrome.text(".messages .alert.warning") == "Warning: partial response: store 2 unreachable"
    assert chrome.text(".messages .alert.info") == "Info: PromQL info: an info"
    assert len(table_rows(chrome)) == 3


# -- faults, journal, clock ------------------------------------------------------------------

def test_a_fault_added_from_the_page_fails_the_next_query(chrome, prom):
    from selenium.webdriver.support.ui import Select

    chrome.open(prom.url + "/mockprom/faults")
    form = chrome.find("#fault-form")
    from mockprom.faults.endpoints import ENDPOINTS

    offered = [o.get_attribute("value") for o in
               Select(form.find_element("css selector", "select[name=endpoint]")).options]
    assert offered == ["", *ENDPOINTS]  # "any", then every name the server knows
    Select(form.find_element("css selector", "select[name=endpoint]")).select_by_value("query")
    Select(form.find_element("css selector", "select[name=error]")).select_by_value("unavailable")
    form.find_element("css selector", "input[name=times]").send_keys("1")
    form.find_element("css selector", "input[name=name]").send_keys("from-the-page")
    form.find_element("css selector", "button[type=submit]").click()
    chrome.wait(lambda: chrome.find_all("table.faults tbody tr"), "the new rule in the table")
    assert [(r["name"], r["rule"]) for r in prom.faults.describe()] == [
        ("from-the-page", {"name": "from-the-page", "match": {"endpoint": "query"},
                           "error": "unavailable", "times": 1})]
    chrome.find('#top a[data-path="/query"]').click()  # the console's own navigation
    box = chrome.wait(lambda: chrome.find("textarea.expr"), "the query page")
    box.send_keys("up")
    execute(chrome)
    assert chrome.text(".messages .alert.error") == "Error executing query: Service Unavailable"
    execute(chrome)  # times: 1, so the next one is answered
    assert not chrome.find_all(".messages .alert.error") and len(table_rows(chrome)) == 3
    chrome.open(prom.url + "/mockprom/faults")
    counts = chrome.wait(lambda: chrome.js(
        "const r = document.querySelector('table.faults tbody tr');"
        "return r && [r.querySelector('.matched').innerText, r.querySelector('.hits').innerText,"
        " r.querySelector('.badge.warn').innerText]"), "the rule")
    assert counts == ["2", "1", "USED UP"]


def test_a_rule_pasted_as_yaml_is_added_and_removed(chrome, prom):
    chrome.open(prom.url + "/mockprom/faults")
    chrome.find("textarea.paste").send_keys(
        "name: slow-range\nmatch: {endpoint: query_range, expr: 'rate\\('}\nlatency: 250ms\nprobability: 0.5\n")
    chrome.find_all("button.mockbtn")[-1].click()
    chrome.wait(lambda: chrome.find_all("table.faults tbody tr"), "the pasted rule")
    (rule,) = prom.faults.describe()
    assert rule["rule"] == {"name": "slow-range", "match": {"endpoint": "query_range", "expr": "rate\\("},
                            "latency": "250ms", "probability": 0.5}
    chrome.find("table.faults tbody tr button.danger").click()
    chrome.wait(lambda: not prom.faults.describe(), "the rule to be removed")
    chrome.wait(lambda: not chrome.find_all("table.faults tbody tr"), "the empty table")


def test_the_faults_page_shows_where_the_timeline_is(chrome, serve):
    import requests

    prom = serve(dict(SCENARIO, faults=[{"name": "outage", "error": "unavailable"}],
                      timeline=[{"at": "0s", "faults": [], "name": "healthy"},
                                {"after_requests": 2, "faults": ["outage"], "name": "down"}]))
    chrome.open(prom.url + "/mockprom/faults")
    step = lambda: chrome.js(  # noqa: E731
        "return [document.querySelector('#timeline .badge').innerText,"
        " [...document.querySelectorAll('#timeline tr.faulted td')].map(td => td.innerText)]")
    assert step() == ["STEP 0", ["▶ 0", "healthy", "at +0s", "healthy"]]
    for _ in range(2):
        requests.get(prom.url + "/api/v1/query", params={"query": "up"})
    chrome.wait(lambda: step()[0] == "STEP 1", "the page to follow the timeline")
    assert step()[1] == ["▶ 1", "down", "after 2 requests", "outage"]


def test_the_journal_lists_requests_with_the_fault_that_answered(chrome, prom):
    import requests

    prom.add_fault({"name": "outage", "match": {"expr": "http_requests_total"}, "error": "unavailable"})
    requests.get(prom.url + "/api/v1/query", params={"query": "up"})
    requests.get(prom.url + "/api/v1/query", params={"query": "rate(http_requests_total[5m])"})
    chrome.open(prom.url + "/mockprom/requests")
    rows = lambda: chrome.js(  # noqa: E731  (one read: the table is redrawn as requests come)
        "return [...document.querySelectorAll('table.journal tbody tr[data-id]')]"
        ".map(tr => [...tr.cells].map(c => c.innerText.trim()))")
    chrome.wait(lambda: len(rows()) >= 2, "the journal rows")
    cells = {r[3]: r for r in rows()}
    assert cells["up"][1:3] == ["GET", "query"] and cells["up"][4] == "200" and cells["up"][6] == ""
    faulted = cells["rate(http_requests_total[5m])"]
    assert faulted[4] == "503" and faulted[6] == "OUTAGE" and faulted[5].endswith(" ms")
    chrome.find(".toolbar input[type=checkbox]").click()  # faulted only
    chrome.wait(lambda: [r[3] for r in rows()] == ["rate(http_requests_total[5m])"], "the filter")
    chrome.find(".toolbar button.danger").click()  # clear
    chrome.wait(lambda: not rows(), "the cleared journal")
    assert prom.requests() == []


def test_advancing_the_clock_moves_the_graph(chrome, prom):
    chrome.open(query_url(prom, "rate(http_requests_total[5m])", tab="graph", range_input="10m"))
    assert int(chart(chrome).get_attribute("data-end")) == T0 * 1000
    before = runs(chrome)
    chrome.find("#clockbtn").click()
    next(b for b in chrome.find_all("#clockpop button") if b.text == "+5m").click()
    chrome.wait(lambda: runs(chrome) > before, "the graph to follow the clock")
    assert int(chart(chrome).get_attribute("data-end")) == (T0 + 300) * 1000
    assert prom.now_ms() == (T0 + 300) * 1000
    # and from the clock page
    chrome.find('#top a[data-path="/mockprom/clock"]').click()
    form_input = chrome.wait(lambda: chrome.find('input[aria-label="Advance by"]'), "the clock page")
    form_input.send_keys("1h\n")
    chrome.wait(lambda: prom.now_ms() == (T0 + 3900) * 1000, "the clock to move")
    chrome.wait(lambda: chrome.text("#mocknow").startswith("2023-11-14 23:18:20"), "the new time shown")
    set_to = chrome.find('input[aria-label="New time"]')
    set_to.clear()
    set_to.send_keys("2024-01-02 03:04:05\n")
    chrome.wait(lambda: prom.now_ms() == 1704164645000, "the clock to be set")
    assert chrome.text("#mocknow").startswith("2024-01-02 03:04:05")


# -- scenario, alerts, rules, targets, status --------------------------------------------------

def test_the_scenario_page_shows_every_family_and_its_yaml(chrome, prom):
    chrome.open(prom.url + "/mockprom/scenario")
    cards = chrome.find_all("#families .family")
    assert [c.get_attribute("data-metric") for c in cards] == ["up", "up", "http_requests_total", "queue_depth"]
    assert [c.find_element("css selector", ".badge.plain").text for c in cards] == \
        ["2 series", "1 series", "2 series", "1 series"]
    assert "constant value=1" in cards[0].text and "instance\na:9090, b:9090" in cards[0].text
    chrome.wait(lambda: all(c.find_elements("css selector", ".spark canvas") for c in cards), "the previews")
    assert [int(c.find_element("css selector", ".spark").get_attribute("data-series")) for c in cards] == [2, 1, 2, 1]
    yaml_text = chrome.wait(lambda: chrome.text("#yaml pre"), "the YAML")
    assert "name: console-tests" in yaml_text and "metric: http_requests_total" in yaml_text


def test_a_scenario_edited_on_the_page_is_applied(chrome, prom):
    chrome.open(prom.url + "/mockprom/scenario")
    chrome.wait(lambda: chrome.text("#yaml pre"), "the YAML")
    next(b for b in chrome.find_all("#yaml button") if b.text == "Edit").click()
    area = chrome.find("#yaml textarea")
    text = area.get_attribute("value").replace("name: console-tests", "name: edited-here", 1)
    chrome.js("arguments[0].value = arguments[1]", area, text)
    next(b for b in chrome.find_all("#yaml button") if b.text == "Apply").click()
    chrome.wait(lambda: chrome.text("#scenario-name") == "edited-here", "the new scenario")
    assert prom.scenario.name == "edited-here"
    # a bad one is refused with its problems, and the old one stays
    next(b for b in chrome.find_all("#yaml button") if b.text == "Edit").click()
    chrome.js("arguments[0].value = 'name: x\\nseries: 3\\n'", chrome.find("#yaml textarea"))
    next(b for b in chrome.find_all("#yaml button") if b.text == "Apply").click()
    error = chrome.wait(lambda: chrome.text("#yaml .alert.error"), "the refusal")
    assert "series" in error and prom.scenario.name == "edited-here"


def test_alerts_rules_and_targets_pages_show_what_the_api_says(chrome, prom):
    chrome.open(prom.url + "/alerts")
    rule = chrome.find('details.rule[data-rule="TargetDown"]')
    assert "FIRING" in rule.find_element("css selector", "summary").text
    alert_row = rule.find_element("css selector", "table.alerts tbody tr").text
    assert 'instance="c:9100"' in alert_row and 'severity="page"' in alert_row and "FIRING" in alert_row
    assert "expr: up == 0" in rule.find_element("css selector", "pre").text
    chrome.open(prom.url + "/rules")
    group = chrome.find('section[data-group="api"]')
    assert "record: job:http_requests:rate5m" in group.text and "alert: TargetDown" in group.text
    chrome.open(prom.url + "/targets")
    targets = api(prom, "/api/v1/targets")["activeTargets"]
    for pool in ("api", "db"):
        card = chrome.find(f'section[data-pool="{pool}"]')
        ours = [t for t in targets if t["scrapePool"] == pool]
        up = sum(t["health"] == "up" for t in ours)
        assert f"{up} / {len(ours)} UP" in card.text
        assert len(card.find_elements("css selector", "tbody tr")) == len(ours)


def test_status_pages_show_what_the_api_says(chrome, prom):
    chrome.open(prom.url + "/status")
    build = api(prom, "/api/v1/status/buildinfo")
    assert f"Version\n{build['version']}" in chrome.text("main") or \
        f"Version {build['version']}" in chrome.text("main")
    assert chrome.text("#version") == f"Prometheus {build['version']}"
    chrome.open(prom.url + "/tsdb-status")
    tsdb = api(prom, "/api/v1/status/tsdb")
    assert f"Number of series {tsdb['headStats']['numSeries']}" in chrome.text("main").replace("\n", " ")
    chrome.open(prom.url + "/flags")
    flags = api(prom, "/api/v1/status/flags")
    assert len(chrome.find_all("tr[data-flag]")) == len(flags)
    chrome.open(prom.url + "/config")
    assert chrome.text("pre.config").strip() == api(prom, "/api/v1/status/config")["yaml"].strip()


# -- credentials ------------------------------------------------------------------------------

def test_the_console_asks_for_credentials_and_sends_them(chrome, serve):
    prom = serve(dict(SCENARIO, auth={"type": "bearer", "token": TOKEN},
                      server={"control_token": CONTROL}))
    chrome.open(query_url(prom, "up", tab="table"), ready=False)
    dialog = chrome.wait(lambda: chrome.find("dialog#credentials[open]"), "the credentials dialog")
    from selenium.webdriver.support.ui import Select

    Select(dialog.find_element("css selector", "select[name=type]")).select_by_value("bearer")
    dialog.find_element("css selector", "input[name=token]").send_keys(TOKEN)
    dialog.find_element("css selector", "input[name=control]").send_keys(CONTROL)
    dialog.find_element("css selector", "button.primary").click()
    chrome.wait(lambda: len(table_rows(chrome)) == 3, "the answer with credentials")
    chrome.wait(lambda: "fixed" in chrome.text("#clockbtn"), "the clock from the control API")
    assert TOKEN not in chrome.driver.current_url and CONTROL not in chrome.driver.current_url
    entries = prom.requests()
    assert entries and all(TOKEN not in str(e) and CONTROL not in str(e) for e in entries)
    # the control pages work with the control token
    chrome.find('#top a[data-path="/mockprom/clock"]').click()
    chrome.wait(lambda: chrome.text("#mocknow").startswith("2023-11-14 22:13:20"), "the clock page")
    chrome.js("sessionStorage.clear()")
