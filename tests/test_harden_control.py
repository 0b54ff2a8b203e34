"""No one can take the server over (issue 8, "Must not be taken over"): the control API
under ``/-/mockprom/`` asks for credentials, reads no files, refuses cross-site writes
and rebound host names, and nothing leaks a credential."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from mockprom.api.guard import HostPolicy
from mockprom.server import MockPrometheus

ROOT = Path(__file__).resolve().parent.parent
MANAGED = ROOT / "mockprom" / "library" / "managed-service.yaml"
USER, PASSWORD = "1300000001", "mp-7f3c2a9e5b14d6"
YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def managed():
    with MockPrometheus(str(MANAGED)) as prom:
        yield prom


# --- 7. the control API under auth ---------------------------------------------------------

@pytest.mark.parametrize("method, path, body", [
    ("GET", "/-/mockprom/requests", None),
    ("GET", "/-/mockprom/scenario", None),
    ("GET", "/-/mockprom/faults", None),
    ("GET", "/-/mockprom/clock", None),
    ("POST", "/-/mockprom/reset", None),
    ("DELETE", "/-/mockprom/requests", None),
    ("PUT", "/-/mockprom/scenario", "name: takeover\nseries: []\n"),
    ("PUT", "/-/mockprom/clock", '{"advance": "1h"}'),
    ("POST", "/-/mockprom/faults", '{"latency": "1000000h"}'),
])
def test_control_api_asks_for_the_scenario_credentials(managed, method, path, body):
    headers = YAML if path.endswith("scenario") else JSON
    refused = requests.request(method, managed.url + path, data=body, headers=headers,
                               timeout=10)
    assert refused.status_code == 401
    assert refused.json()["errorType"] == "unauthorized"
    assert managed.scenario.name == "managed-service" and not managed.faults.describe()
    allowed = requests.request(method, managed.url + path, auth=(USER, PASSWORD),
                               headers=headers, timeout=10,
                               data=None if body is None or method == "PUT" and "scenario"
                               in path else body)
    assert allowed.status_code != 401


def test_control_token_guards_an_open_scenario():
    with MockPrometheus({"series": []}, control_token="t0ken") as prom:
        url = prom.url + "/-/mockprom/requests"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer nope"},
                            timeout=10).status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer t0ken"},
                            timeout=10).status_code == 200
        # the API itself stays open (only the scenario's auth guards it)
        assert requests.get(prom.url + "/api/v1/query", params={"query": "up"},
                            timeout=10).status_code == 200
        # and the object's own methods need no token
        prom.add_fault({"error": "unavailable", "times": 1})
        assert len(prom.faults.describe()) == 1


def test_a_scenario_cannot_change_the_control_token():
    auth = {"Authorization": "Bearer first"}
    with MockPrometheus({"name": "one", "series": [],
                         "server": {"control_token": "first"}}) as prom:
        url = prom.url + "/-/mockprom/scenario"
        takeover = requests.put(url, headers={**auth, **YAML}, timeout=10,
                                data="name: two\nseries: []\nserver: {control_token: mine}\n")
        assert takeover.status_code == 400
        assert "control token cannot be changed" in takeover.json()["error"]
        assert prom.scenario.name == "one"
        same = requests.put(url, headers={**auth, **YAML}, timeout=10,
                            data="name: three\nseries: []\nserver: {control_token: first}\n")
        assert same.status_code == 200
        left_out = requests.put(url, headers={**auth, **YAML}, timeout=10,
                                data="name: four\nseries: []\n")
        assert left_out.status_code == 200
        assert requests.get(url, timeout=10).status_code == 401  # still guarded
        assert requests.get(url, headers=auth, timeout=10).status_code == 200


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_takes_a_control_token_from_the_environment(tmp_path):
    port = _free_port()
    env = dict(os.environ, MOCKPROM_CONTROL_TOKEN="from-env")
    proc = subprocess.Popen([sys.executable, "-m", "mockprom", "serve", "--host", "127.0.0.1",
                             "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/-/mockprom/clock"
        for _ in range(200):
            try:
                first = requests.get(url, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert first.status_code == 401
        assert requests.get(url, headers={"Authorization": "Bearer from-env"},
                            timeout=5).status_code == 200
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "WARNING" not in err  # loopback: no warning


def test_serve_warns_when_listening_beyond_loopback_without_credentials(capsys):
    from mockprom.api.state import ServerState
    from mockprom.cli import _warn_if_open

    _warn_if_open("0.0.0.0", ServerState({"series": []}))
    assert "WARNING: listening on 0.0.0.0 with no control token" in capsys.readouterr().err
    _warn_if_open("0.0.0.0", ServerState({"series": []}, control_token="t"))
    _warn_if_open("127.0.0.1", ServerState({"series": []}))
    _warn_if_open("0.0.0.0", ServerState(str(MANAGED)))
    assert capsys.readouterr().err == ""


# --- 8. no file is read through PUT -------------------------------------------------------

@pytest.fixture
def open_server():
    with MockPrometheus({"name": "kept", "series": []}) as prom:
        yield prom


@pytest.mark.parametrize("body", ["/etc/passwd", "/etc", str(MANAGED), "scenarios",
                                  str(ROOT / "scenarios")])
def test_a_put_body_is_scenario_text_never_a_path(open_server, body):
    resp = requests.put(open_server.url + "/-/mockprom/scenario", data=body, headers=YAML,
                        timeout=10)
    assert resp.status_code == 400
    text = resp.text
    for leak in ("root:", "checkout", PASSWORD, "managed-service", ".yaml (", "No such"):
        assert leak not in text
    assert "a scenario is a mapping" in resp.json()["error"]
    assert open_server.scenario.name == "kept"


def test_switching_by_name_reaches_only_the_library(open_server):
    for name in ("../../etc/passwd", "/etc/passwd", str(MANAGED)):
        resp = requests.put(open_server.url + "/-/mockprom/scenario", params={"name": name},
                            timeout=10, headers=JSON)
        assert resp.status_code == 404
        assert "root:" not in resp.text
    assert open_server.scenario.name == "kept"


# --- 9. cross-site forgery and DNS rebinding ------------------------------------------------

def test_cross_origin_and_form_writes_are_refused(open_server):
    evil = {"Origin": "http://evil.example"}
    for path, body in (("/-/mockprom/scenario", "name: csrf\nseries: []\n"),
                       ("/-/mockprom/faults", '{"error": "unavailable"}')):
        method = "PUT" if path.endswith("scenario") else "POST"
        plain = requests.request(method, open_server.url + path, data=body, timeout=10,
                                 headers={"Content-Type": "text/plain", **evil})
        assert plain.status_code == 403
        assert "cross-origin" in plain.json()["error"]
        json_cross = requests.request(method, open_server.url + path, data=body, timeout=10,
                                      headers={**JSON, **evil})
        assert json_cross.status_code == 403
        form = requests.request(method, open_server.url + path, data=body, timeout=10,
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert form.status_code == 415
    reset = requests.post(open_server.url + "/-/mockprom/reset", headers=evil, timeout=10)
    assert reset.status_code == 403
    assert open_server.scenario.name == "kept" and not open_server.faults.describe()
    same_origin = requests.post(open_server.url + "/-/mockprom/faults", timeout=10,
                                data='{"error": "unavailable", "times": 1}',
                                headers={**JSON, "Origin": open_server.url})
    assert same_origin.status_code == 201
    open_server.clear_faults()


def test_rebound_host_names_are_refused(open_server):
    port = open_server.port
    url = f"http://127.0.0.1:{port}/-/mockprom/requests"
    assert requests.get(url, headers={"Host": f"evil.example:{port}"}, timeout=10).status_code == 403
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
        assert requests.get(url, headers={"Host": host}, timeout=10).status_code == 200
    # the API is not the control API: a rebound page reads nothing of value there anyway
    assert requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": "1"},
                        headers={"Host": "evil.example"}, timeout=10).status_code == 200


def test_allowed_hosts_widen_the_control_api():
    with MockPrometheus({"series": []}, allowed_hosts=["mockprom"]) as prom:
        url = prom.url + "/-/mockprom/requests"
        assert requests.get(url, headers={"Host": "mockprom:9090"}, timeout=10).status_code == 200
        assert requests.get(url, headers={"Host": "other:9090"}, timeout=10).status_code == 403


def test_host_policy():
    loopback = HostPolicy("127.0.0.1")
    assert loopback.allows("localhost:9090") and loopback.allows("[::1]:9090")
    assert loopback.allows("127.0.0.1") and loopback.allows(None)
    assert not loopback.allows("evil.example") and not loopback.allows("10.0.0.5:9090")
    one = HostPolicy("10.0.0.5")
    assert one.allows("10.0.0.5:9090") and not one.allows("mockprom:9090")
    everywhere = HostPolicy("0.0.0.0")  # Docker: reached by service name
    assert everywhere.allows("mockprom:9090") and everywhere.allows("evil.example")
    listed = HostPolicy("0.0.0.0", ["mockprom"])
    assert listed.allows("mockprom:9090") and listed.allows("localhost")
    assert not listed.allows("evil.example")
    assert HostPolicy("127.0.0.1", ["*"]).allows("evil.example")


# --- 10. no leaks ------------------------------------------------------------------------------

def test_journal_redacts_credentials(open_server):
    open_server.clear_requests()
    secrets = ["hunter2-pass", "auth-param-value", "grafana-auth-secret", "api-key-value",
               "bearer-in-header", "sess-1"]
    requests.get(open_server.url + "/api/v1/query", timeout=10,
                 params={"query": "up", "auth": secrets[1], "pass": secrets[0],
                         "session_id": secrets[5]},
                 headers={"Grafana-Auth": secrets[2], "X-Api-Key": secrets[3],
                          "Authorization": f"Bearer {secrets[4]}", "X-Scope-OrgID": "team-a"})
    journal = requests.get(open_server.url + "/-/mockprom/requests", timeout=10)
    text = journal.text
    assert not [s for s in secrets if s in text]
    entry = journal.json()[-1]
    assert entry["params"]["auth"] == entry["params"]["pass"] == "<redacted>"
    assert entry["headers"]["grafana-auth"] == "<redacted>"
    assert entry["headers"]["x-scope-orgid"] == "team-a"  # not a secret: kept


@pytest.mark.parametrize("bad", [
    "auth: {type: basic, username: u, password: 987654321}",
    "auth: {type: bearer, token: [hunter2]}",
    "server: {control_token: 123456789}",
    "server: {control_token: {nested: hunter2}}",
])
def test_validation_errors_never_echo_credentials(open_server, bad):
    resp = requests.put(open_server.url + "/-/mockprom/scenario", headers=YAML, timeout=10,
                        data=f"name: leak\nseries: []\n{bad}\n")
    assert resp.status_code == 400
    assert "987654321" not in resp.text and "hunter2" not in resp.text
    assert "123456789" not in resp.text
    assert "the value is not shown" in resp.json()["error"]
