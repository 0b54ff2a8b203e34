"""The control API under /-/mockprom/ and the same operations on ``MockPrometheus``."""

from __future__ import annotations

import json
import time

import requests
import yaml

from conftest import T0, basic_scenario


def now_of(http, prom):
    return http.get(prom.url + "/api/v1/query", params={"query": "time()"}).json()["data"]["result"][1]


def test_get_clock_and_set_it(serve, http):
    prom = serve(basic_scenario())
    r = http.get(prom.url + "/-/mockprom/clock")
    assert r.json()["data"]["now_ms"] == T0 * 1000
    r = http.put(prom.url + "/-/mockprom/clock", json={"now": "2024-01-01T00:00:00Z"})
    assert r.status_code == 200
    assert r.json()["data"]["now"] == "2024-01-01T00:00:00Z"
    assert now_of(http, prom) == "1704067200"
    r = http.put(prom.url + "/-/mockprom/clock", json={"advance": "5m"})
    assert r.json()["data"]["now_ms"] == (1704067200 + 300) * 1000
    r = http.put(prom.url + "/-/mockprom/clock", json={"now": 1000.5})
    assert r.json()["data"]["now_ms"] == 1000500


def test_clock_errors(serve, http):
    prom = serve(basic_scenario())
    for body in ({"advance": "5 parsecs"}, {"now": "yesterday"}, {"nope": 1}, [1]):
        r = http.put(prom.url + "/-/mockprom/clock", json=body)
        assert r.status_code == 400, body
        assert r.json()["errorType"] == "bad_data"
    r = http.put(prom.url + "/-/mockprom/clock", data="{not json")
    assert r.status_code == 400


def test_put_scenario_replaces_data_atomically(serve, http):
    prom = serve(basic_scenario())
    new = {"clock": 100, "series": [{"labels": {"__name__": "fresh"}, "samples": [[100, 7]]}]}
    r = http.put(prom.url + "/-/mockprom/scenario", data=yaml.safe_dump(new))
    assert r.status_code == 200
    q = http.get(prom.url + "/api/v1/query", params={"query": "fresh"}).json()
    assert q["data"]["result"] == [{"metric": {"__name__": "fresh"}, "value": [100, "7"]}]
    assert http.get(prom.url + "/api/v1/series", params={"match[]": "up"}).json()["data"] == []
    # JSON works too
    r = http.put(prom.url + "/-/mockprom/scenario", data=json.dumps(basic_scenario()))
    assert r.status_code == 200
    assert http.get(prom.url + "/-/mockprom/scenario").json()["data"]["name"] == "api-tests"


def test_bad_scenario_is_refused_and_old_one_stays(serve, http):
    prom = serve(basic_scenario())
    bad = "series:\n  - labels: {__name__: x}\n    samples: [[1, 'abc']]\nbogus_field: 1\n"
    r = http.put(prom.url + "/-/mockprom/scenario", data=bad)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert len(body["data"]["problems"]) >= 2
    assert any("bogus_field" in p for p in body["data"]["problems"])
    assert len(http.get(prom.url + "/api/v1/series", params={"match[]": "up"}).json()["data"]) == 2
    r = http.put(prom.url + "/-/mockprom/scenario", data="")
    assert r.status_code == 400


def test_reset_restores_clock_and_data(serve, http):
    prom = serve(basic_scenario())
    http.put(prom.url + "/-/mockprom/clock", json={"advance": "1h"})
    assert now_of(http, prom) == str(T0 + 3600)
    r = http.post(prom.url + "/-/mockprom/reset")
    assert r.status_code == 200
    assert now_of(http, prom) == str(T0)


def test_python_object_operations(serve, http):
    prom = serve(basic_scenario())
    prom.set_time("2024-01-01T00:00:00Z")
    assert now_of(http, prom) == "1704067200"
    prom.advance("90s")
    assert now_of(http, prom) == "1704067290"
    prom.advance(10)
    assert prom.now_ms() == 1704067300000
    prom.reset()
    assert prom.now_ms() == T0 * 1000
    prom.load_scenario({"clock": 5, "series": []})
    assert now_of(http, prom) == "5"


def test_server_stops_quickly_and_frees_the_port(serve):
    prom = serve(basic_scenario())
    s = requests.Session()
    assert s.get(prom.url + "/-/ready").status_code == 200  # a kept-alive connection
    t = time.monotonic()
    prom.stop()
    assert time.monotonic() - t < 0.1
    try:
        requests.get(prom.url + "/-/ready", timeout=0.5)
        reachable = True
    except requests.ConnectionError:
        reachable = False
    assert not reachable
    prom.stop()  # idempotent


def test_context_manager():
    from mockprom.server import MockPrometheus

    with MockPrometheus(basic_scenario()) as prom:
        assert prom.url.startswith("http://127.0.0.1:")
        assert requests.get(prom.url + "/-/healthy").status_code == 200
    assert not prom.running


def test_real_clock_resolves_relative_start(serve, http):
    prom = serve({"start": "-10m", "interval": "1m", "series": [
        {"series": 'rel_metric{a="b"}', "values": "1+1x9"}]})
    r = http.get(prom.url + "/api/v1/query", params={"query": "rel_metric"}).json()
    [sample] = r["data"]["result"]
    assert sample["value"][1] == "10"
    assert abs(float(sample["value"][0]) - time.time()) < 5
