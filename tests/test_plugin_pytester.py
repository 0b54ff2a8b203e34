"""The pytest plugin as a user's project sees it (``pytester``, in a subprocess): the
``mockprom`` fixture, the marker's scenario and faults, ``assert_queried`` and its
message, ``make_mockprom``, the ini option, and pytest-xdist (one server per worker)."""

from __future__ import annotations

import json

import pytest

pytest_plugins = ["pytester"]

SCENARIO = {"name": "plugin-demo", "clock": 1_700_000_000, "series": [
    {"labels": {"__name__": "http_requests_total", "job": "api", "code": "200"},
     "samples": [[1_700_000_000 - 60 * i, 6000 - 100 * i] for i in range(10, -1, -1)]},
    {"labels": {"__name__": "up", "job": "api", "instance": "a:80"},
     "samples": [[1_700_000_000 - 60 * i, 1] for i in range(10, -1, -1)]},
]}

USER_TESTS = '''
import pytest
import requests


def load_panel(url, expr):
    """The code under test: retries a failed query up to 3 times."""
    for _ in range(3):
        r = requests.get(url + "/api/v1/query", params={"query": expr})
        if r.status_code == 200:
            return r.json()["data"]["result"]
    raise RuntimeError("prometheus unavailable")


@pytest.mark.mockprom(scenario="scenario.json",
                      faults=[{"match": {"endpoint": "query"}, "error": "unavailable", "times": 2}])
def test_panel_survives_an_outage(mockprom):
    result = load_panel(mockprom.url, "rate(http_requests_total[5m])")
    assert result[0]["metric"] == {"code": "200", "job": "api"}
    mockprom.assert_queried(expr="rate(http_requests_total[5m])", times=3)
    assert [e["status"] for e in mockprom.requests(endpoint="query")] == [503, 503, 200]


def test_marker_faults_were_for_that_test_only(mockprom):
    r = requests.get(mockprom.url + "/api/v1/query", params={"query": "up"})
    assert r.status_code == 200
    mockprom.assert_queried(expr="up", times=1)  # the journal was reset too


def test_fault_handle_as_context_manager(mockprom):
    with mockprom.add_fault(match={"endpoint": "query"}, error="timeout") as fault:
        assert isinstance(fault, str)
        assert requests.get(mockprom.url + "/api/v1/query", params={"query": "up"}).status_code == 503
    assert requests.get(mockprom.url + "/api/v1/query", params={"query": "up"}).status_code == 200


def test_factory_gives_independent_servers(make_mockprom, mockprom):
    a = make_mockprom(scenario="scenario.json")
    b = make_mockprom()
    assert len({a.url, b.url, mockprom.url}) == 3
    a.add_fault(error="internal")
    assert requests.get(a.url + "/api/v1/query", params={"query": "up"}).status_code == 500
    assert requests.get(b.url + "/api/v1/query", params={"query": "up"}).status_code == 200
    pytest.started_urls = [a.url, b.url]


def test_factory_servers_were_stopped():
    for url in pytest.started_urls:
        with pytest.raises(requests.ConnectionError):
            requests.get(url + "/-/healthy", timeout=2)
'''


def _project(pytester) -> None:
    pytester.makefile(".json", scenario=json.dumps(SCENARIO))
    pytester.makepyfile(test_user=USER_TESTS)


def test_a_project_using_fixture_marker_and_assert_queried_passes(pytester):
    _project(pytester)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=5)


def test_asserting_a_query_never_sent_fails_with_the_near_misses(pytester):
    pytester.makepyfile(test_miss='''
import requests

def test_dashboard(mockprom):
    for expr in ("rate(http_requests_total[1m])", "rate(http_requests_total[1m])", "up"):
        requests.get(mockprom.url + "/api/v1/query", params={"query": expr})
    mockprom.assert_queried(expr="rate(http_requests_total[5m])", times=1)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    for line in ("expected exactly 1 request(s) with expr='rate(http_requests_total[5m])', got 0.",
                 "Near misses (similar expressions sent):",
                 "2 x 'rate(http_requests_total[1m])' (query: 2)"):
        assert line in out
    assert "self.journal.entries()" not in out  # the plugin's own frames are hidden


def test_ini_option_sets_the_session_scenario(pytester):
    pytester.makefile(".json", scenario=json.dumps(SCENARIO))
    pytester.makeini("[pytest]\nmockprom_scenario = scenario.json\n")
    pytester.makepyfile(test_ini='''
def test_session_scenario(mockprom):
    assert mockprom.scenario.name == "plugin-demo"
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=1)


def test_one_server_per_xdist_worker(pytester, tmp_path):
    pytest.importorskip("xdist", reason="pytest-xdist not installed")
    out = tmp_path / "seen"
    out.mkdir()
    pytester.makepyfile(test_workers=f'''
import os, pathlib
import pytest
import requests

@pytest.mark.parametrize("i", range(8))
def test_query(mockprom, i):
    assert requests.get(mockprom.url + "/api/v1/query", params={{"query": "up"}}).status_code == 200
    mockprom.assert_queried(expr="up", times=1)
    pathlib.Path({str(out)!r}, f"{{os.getpid()}}-{{i}}").write_text(mockprom.url)
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "-n", "2")
    result.assert_outcomes(passed=8)
    by_worker: dict = {}
    for f in out.iterdir():
        by_worker.setdefault(f.name.split("-")[0], set()).add(f.read_text())
    assert len(by_worker) == 2
    assert all(len(urls) == 1 for urls in by_worker.values())  # one server per worker
    assert len(set.union(*by_worker.values())) == 2


def test_the_documented_example_passes(pytester):
    """The complete example of docs/pytest.md, run as a user's project would run it."""
    import re
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    text = (repo / "docs" / "pytest.md").read_text()
    example = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert "def test_" in example
    pytester.makepyfile(test_dashboard=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=example.count("\ndef test_"))
