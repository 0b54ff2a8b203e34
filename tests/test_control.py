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
    http.post(prom.url + "/-/mockprom/faults", json={"match": {"endpoint": "labels"}, "error": "internal"})
    assert http.get(prom.url + "/api/v1/labels").status_code == 500
    assert http.get(prom.url + "/-/mockprom/requests").json()
    r = http.post(prom.url + "/-/mockprom/reset")
    assert r.status_code == 200
    # the journal and the faults added since load are gone too, as with prom.reset()
    assert http.get(prom.url + "/-/mockprom/requests").json() == []
    assert now_of(http, prom) == str(T0)
    assert http.get(prom.url + "/api/v1/labels").status_code == 200


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
    try:  # a kept-alive connection is closed too
        s.get(prom.url + "/-/ready", timeout=0.5)
        kept_alive = True
    except requests.ConnectionError:
        kept_alive = False
    assert not kept_alive
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


def test_python_object_faults_and_journal(serve, http):
    prom = serve(basic_scenario())
    rule_id = prom.add_fault(match={"endpoint": "query"}, error="unavailable", times=1)
    assert http.get(prom.url + "/api/v1/query", params={"query": "up"}).status_code == 503
    assert http.get(prom.url + "/api/v1/query", params={"query": "up"}).status_code == 200
    prom.assert_queried(expr="up", times=2)
    entries = prom.requests(endpoint="query")
    assert [e["status"] for e in entries] == [503, 200]
    assert entries[0]["fault"] is not None and entries[1]["fault"] is None
    assert prom.remove_fault(rule_id) is True  # a spent rule is still listed until removed
    assert prom.remove_fault(rule_id) is False
    prom.clear_requests()
    assert prom.requests() == []
    try:
        prom.assert_queried(expr="up")
        raised = False
    except AssertionError:
        raised = True
    assert raised


def test_get_scenario_redacts_secrets(serve, http):
    prom = serve(basic_scenario(auth={"type": "basic", "username": "u", "password": "pw-1"},
                                server={"control_token": "ctl-2"}))
    r = http.get(prom.url + "/-/mockprom/scenario", headers={"Authorization": "Bearer ctl-2"})
    assert r.status_code == 200
    assert "pw-1" not in r.text and "ctl-2" not in r.text
    assert r.json()["data"]["auth"]["username"] == "u"


def test_clock_modes():
    from mockprom.clock import Clock

    wall = [1000.0]
    c = Clock(time_fn=lambda: wall[0])
    assert c.now_ms() == 1_000_000 and not c.is_fixed
    c.advance(5000)  # a real clock shifts by an offset and keeps running
    wall[0] += 1
    assert c.now_ms() == 1_006_000
    c.set(42)
    wall[0] += 100
    assert c.now_ms() == 42 and c.is_fixed
    assert c.advance(-2) == 40
    c.release()
    assert c.now_ms() == int(wall[0] * 1000)


def test_switch_between_named_scenarios(http):
    import threading

    from mockprom.app import create_app
    from mockprom.scenario.loader import load_scenario
    from mockprom.serving import HttpServer

    lib = {name: load_scenario({"name": name, "clock": clock, "series": []})
           for name, clock in (("one", 10), ("two", 20))}
    app = create_app(lib["one"], library=lib)
    server = HttpServer(app, "127.0.0.1", 0)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    url = f"http://127.0.0.1:{server.port}"
    try:
        from mockprom.scenario.library import entries

        data = http.get(url + "/-/mockprom/scenarios").json()["data"]
        packaged = set(entries())
        assert data["current"] == "one" and {"one", "two"} <= set(data["available"])
        assert set(data["available"]) == packaged | {"one", "two"}
        r = http.put(url + "/-/mockprom/scenario", params={"name": "two"})
        assert r.status_code == 200 and r.json()["data"]["name"] == "two"
        r = http.get(url + "/api/v1/query", params={"query": "time()"})
        assert r.json()["data"]["result"][1] == "20"
        r = http.put(url + "/-/mockprom/scenario", params={"name": "three"})
        assert r.status_code == 404 and r.json()["errorType"] == "not_found"
        r = http.put(url + "/-/mockprom/scenario", params={"name": "slo-burn"})
        assert r.status_code == 200 and r.json()["data"]["name"] == "slo-burn"
    finally:
        server.stop()


def test_scenario_swaps_are_atomic_under_load(serve):
    import threading

    a = {"name": "a", "clock": 100, "series": [
        {"labels": {"__name__": "m", "v": "a", "i": str(i)}, "samples": [[100, 1]]}
        for i in range(20)]}
    b = {"name": "b", "clock": 100, "series": [
        {"labels": {"__name__": "m", "v": "b", "i": str(i)}, "samples": [[100, 2]]}
        for i in range(20)]}
    prom = serve(a)
    problems = []
    stop = threading.Event()

    def reader():
        with requests.Session() as s:
            while not stop.is_set():
                r = s.get(prom.url + "/api/v1/query", params={"query": "m"})
                if r.status_code != 200:
                    problems.append(r.text)
                    continue
                result = r.json()["data"]["result"]
                kinds = {x["metric"]["v"] for x in result}
                if len(result) != 20 or len(kinds) != 1:  # never a mix of two scenarios
                    problems.append(kinds)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        with requests.Session() as s:
            for i in range(10):
                r = s.put(prom.url + "/-/mockprom/scenario", data=json.dumps(b if i % 2 == 0 else a))
                assert r.status_code == 200
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert problems == []
