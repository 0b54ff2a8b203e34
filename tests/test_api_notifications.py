"""``/api/v1/notifications`` and ``/live`` (Prometheus 3.x): a refused scenario replacement
raises "Configuration reload has failed." as a failed config reload does in Prometheus, a
good one withdraws it; live streams get both as events; 2.42 has no such endpoints."""

from __future__ import annotations

import json
import threading

import requests

from conftest import basic_scenario

RELOAD_FAILED = "Configuration reload has failed."


def _active(prom) -> list:
    r = requests.get(prom.url + "/api/v1/notifications", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    return r.json()["data"]


def test_a_refused_scenario_raises_the_reload_notification_until_a_good_one(serve):
    prom = serve(basic_scenario())
    assert _active(prom) == []
    r = requests.put(prom.url + "/-/mockprom/scenario", data="series: [{labels: 1}]", timeout=10)
    assert r.status_code == 400
    [note] = _active(prom)
    assert note["text"] == RELOAD_FAILED and note["active"] is True
    assert note["date"].endswith("Z")
    r = requests.put(prom.url + "/-/mockprom/scenario", data=json.dumps(basic_scenario()),
                     timeout=10)
    assert r.status_code == 200
    assert _active(prom) == []


def test_live_stream_sends_each_change_as_an_event(serve):
    prom = serve(basic_scenario())
    events: list = []
    opened = threading.Event()

    def listen():
        with requests.get(prom.url + "/api/v1/notifications/live", stream=True,
                          timeout=10) as r:
            assert r.headers["Content-Type"] == "text/event-stream"
            opened.set()
            for line in r.iter_lines():
                if line.startswith(b"data: "):
                    events.append(json.loads(line[len(b"data: "):]))
                    if len(events) == 2:
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert opened.wait(5)
    requests.put(prom.url + "/-/mockprom/scenario", data="series: [{labels: 1}]", timeout=10)
    requests.put(prom.url + "/-/mockprom/scenario", data=json.dumps(basic_scenario()), timeout=10)
    t.join(10)
    # each event is one notification (not an envelope), active and then withdrawn
    assert [(e["text"], e["active"]) for e in events] == [(RELOAD_FAILED, True),
                                                          (RELOAD_FAILED, False)]


def test_streams_end_when_the_server_stops_and_are_capped(serve):
    from mockprom.api.notifications import MAX_SUBSCRIBERS, hub

    prom = serve(basic_scenario())
    hub(prom.state).max_subscribers = 1
    with requests.get(prom.url + "/api/v1/notifications/live", stream=True, timeout=10) as r:
        assert r.status_code == 200
        extra = requests.get(prom.url + "/api/v1/notifications/live", timeout=10)
        assert extra.status_code == 204 and extra.content == b""  # over the cap
        prom.stop()
        got = b""
        try:
            for chunk in r.iter_content(64):  # ends (the server may cut the last chunk)
                got += chunk
        except requests.exceptions.ChunkedEncodingError:
            pass
        assert got == b":\n\n"
    assert MAX_SUBSCRIBERS == 16


def test_2_42_has_no_notifications(serve):
    prom = serve(basic_scenario(), version="2.42.0")
    for path in ("/api/v1/notifications", "/api/v1/notifications/live"):
        r = requests.get(prom.url + path, timeout=10)
        assert (r.status_code, r.text) == (404, "404 page not found\n")
