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
