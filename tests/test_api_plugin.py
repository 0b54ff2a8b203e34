"""The pytest fixtures ``mockprom`` / ``mockprom_server``: one server per session, reset
(or loaded from the marker's scenario) for every test."""

from __future__ import annotations

import pytest
import requests

from conftest import T0, basic_scenario


def test_fixture_serves_the_default_scenario(mockprom):
    r = requests.get(mockprom.url + "/api/v1/query", params={"query": "count(up)"})
    assert r.status_code == 200
    assert int(r.json()["data"]["result"][0]["value"][1]) >= 1


def test_changes_do_not_leak_between_tests_part_1(mockprom):
    mockprom.set_time(1000)
    mockprom.state.store.delete([])  # drop everything, as a careless test might


def test_changes_do_not_leak_between_tests_part_2(mockprom):
    assert mockprom.now_ms() != 1_000_000
    r = requests.get(mockprom.url + "/api/v1/query", params={"query": "count(up)"})
    assert r.json()["data"]["result"]


@pytest.mark.mockprom(scenario=basic_scenario())
def test_marker_loads_a_scenario(mockprom):
    r = requests.get(mockprom.url + "/api/v1/query", params={"query": "up"})
    assert {s["metric"]["job"] for s in r.json()["data"]["result"]} == {"api", "db"}
    assert mockprom.now_ms() == T0 * 1000


def test_session_server_is_shared(mockprom, mockprom_server):
    assert mockprom is mockprom_server


# -- the Python API: MockPrometheus ------------------------------------------------------


def test_add_fault_returns_a_removable_handle_that_is_the_id(serve):
    prom = serve(basic_scenario())
    handle = prom.add_fault(match={"endpoint": "query"}, error="unavailable")
    assert isinstance(handle, str) and handle == handle.id
    assert [f["id"] for f in prom.faults.describe()] == [handle]
    url = prom.url + "/api/v1/query"
    assert requests.get(url, params={"query": "up"}).status_code == 503
    assert handle.remove() is True
    assert requests.get(url, params={"query": "up"}).status_code == 200
    assert handle.remove() is False
    # the id string works where code expects one: the control API
    other = prom.add_fault({"match": {"endpoint": "labels"}, "error": "internal"})
    r = requests.delete(prom.url + f"/-/mockprom/faults/{other}")
    assert r.status_code in (200, 204)
    assert prom.faults.describe() == []


def test_fault_handle_as_context_manager(serve):
    prom = serve(basic_scenario())
    url = prom.url + "/api/v1/query"
    with prom.add_fault({"match": {"endpoint": "query"}, "error": "timeout"}) as fault:
        r = requests.get(url, params={"query": "up"})
        assert (r.status_code, r.json()["errorType"]) == (503, "timeout")
        assert prom.requests()[-1]["fault"] == fault
    assert requests.get(url, params={"query": "up"}).status_code == 200
    prom.add_fault(error="internal")
    prom.add_fault(error="internal")
    assert prom.clear_faults() == 2


def test_clock_set_and_advance(serve):
    prom = serve(basic_scenario())
    assert prom.set_time("2024-01-01T00:00:00Z") == 1_704_067_200_000
    assert prom.advance("5m") == 1_704_067_500_000
    assert prom.advance(1.5) == 1_704_067_501_500
    r = requests.get(prom.url + "/api/v1/query", params={"query": "time()"})
    assert r.json()["data"]["result"][1] == "1704067501.5"


def test_assert_queried_counts_and_explains(serve):
    prom = serve(basic_scenario())
    for expr in ("sum(up)", "sum(up)", "sum (up)", "count(up)"):
        requests.get(prom.url + "/api/v1/query", params={"query": expr})
    requests.get(prom.url + "/api/v1/query_range",
                 params={"query": "sum(up)", "start": T0 - 60, "end": T0, "step": 15})
    assert len(prom.assert_queried(expr="sum(up)")) == 3
    prom.assert_queried(expr="sum(up)", times=2, endpoint="query")
    prom.assert_queried(expr="sum(up)", times=1, endpoint="query_range")
    with pytest.raises(AssertionError) as err:
        prom.assert_queried(expr="sum(up)", endpoint="series")
    msg = str(err.value)
    assert "expected at least 1 request(s) with expr='sum(up)' on endpoint 'series', got 0." in msg
    assert "the same expression was sent 2 time(s) to 'query'" in msg
    assert "the same expression was sent 1 time(s) to 'query_range'" in msg
    with pytest.raises(AssertionError) as err:
        prom.assert_queried(expr="sum(upp)", times=1)
    msg = str(err.value)
    assert "Near misses" in msg and "3 x 'sum(up)' (query: 2, query_range: 1)" in msg
    assert "1 x 'sum (up)' (query: 1)" in msg


def test_assert_queried_on_a_silent_server(serve):
    prom = serve(basic_scenario())
    with pytest.raises(AssertionError, match=r"no request at all"):
        prom.assert_queried(expr="up")


def test_reset_clears_journal_clock_and_faults(serve):
    prom = serve(basic_scenario())
    prom.set_time(0)
    prom.add_fault(error="internal")
    requests.get(prom.url + "/api/v1/query", params={"query": "up"})
    prom.reset()
    assert prom.requests() == [] and prom.faults.describe() == []
    assert prom.now_ms() == T0 * 1000


def test_stop_frees_the_port_for_a_second_server(serve):
    from mockprom.server import MockPrometheus

    prom = serve(basic_scenario())
    port = prom.port
    prom.stop()
    assert not prom.running
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/-/healthy", timeout=2)
    with MockPrometheus(basic_scenario(), port=port) as again:
        assert requests.get(again.url + "/-/healthy").status_code == 200
    prom.stop()  # idempotent


def test_load_scenario_swaps_data(serve):
    prom = serve(basic_scenario())
    prom.load_scenario({"series": [{"labels": {"__name__": "other"}, "samples": [[T0, 5]]}],
                        "clock": T0})
    r = requests.get(prom.url + "/api/v1/query", params={"query": "other"})
    assert r.json()["data"]["result"][0]["value"][1] == "5"
