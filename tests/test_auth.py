"""Authentication per scenario: none, bearer, basic (as managed Prometheus services)."""

from __future__ import annotations

import logging

import pytest
import requests

from conftest import basic_scenario

TOKEN = "s3cr3t-token"


def test_no_auth_by_default(prom, http):
    assert http.get(prom.url + "/api/v1/query", params={"query": "1"}).status_code == 200


@pytest.fixture
def bearer_prom(serve):
    return serve(basic_scenario(auth={"type": "bearer", "token": TOKEN}))


def test_bearer_token_required(bearer_prom, http):
    url = bearer_prom.url + "/api/v1/query"
    r = http.get(url, params={"query": "1"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    body = r.json()
    assert body["status"] == "error" and body["errorType"] == "unauthorized"
    r = http.get(url, params={"query": "1"}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = http.get(url, params={"query": "1"}, headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200
    r = http.post(url, data={"query": "1"}, headers={"Authorization": f"bearer {TOKEN}"})
    assert r.status_code == 200


def test_health_endpoints_stay_open(bearer_prom, http):
    assert http.get(bearer_prom.url + "/-/healthy").status_code == 200
    assert http.get(bearer_prom.url + "/-/ready").status_code == 200
    assert http.get(bearer_prom.url + "/api/v1/labels").status_code == 401


def test_basic_auth_account_id_and_token(serve, http):
    prom = serve(basic_scenario(auth={"type": "basic", "username": "1300000000",
                                      "password": TOKEN}))
    url = prom.url + "/api/v1/series"
    r = http.get(url, params={"match[]": "up"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    assert http.get(url, params={"match[]": "up"}, auth=("1300000000", "nope")).status_code == 401
    assert http.get(url, params={"match[]": "up"}, auth=("other", TOKEN)).status_code == 401
    r = http.get(url, params={"match[]": "up"}, auth=("1300000000", TOKEN))
    assert r.status_code == 200 and r.json()["status"] == "success"
    r = http.get(url, params={"match[]": "up"}, headers={"Authorization": "Basic !!notb64"})
    assert r.status_code == 401


def test_credentials_never_logged(serve, caplog):
    prom = serve(basic_scenario(auth={"type": "bearer", "token": TOKEN}), verbose=True)
    with caplog.at_level(logging.INFO, logger="mockprom"):
        logging.getLogger("mockprom").propagate = True
        requests.get(prom.url + "/api/v1/query", params={"query": "up"},
                     headers={"Authorization": f"Bearer {TOKEN}"})
        requests.get(prom.url + "/api/v1/query", params={"query": "up"},
                     headers={"Authorization": "Bearer guess-123"})
    text = caplog.text
    assert "/api/v1/query" in text and "'up'" in text
    assert TOKEN not in text and "guess-123" not in text


def test_control_api_takes_its_token_or_the_scenario_credentials(serve, http):
    prom = serve(basic_scenario(server={"control_token": "ctl"},
                                auth={"type": "bearer", "token": TOKEN}))
    url = prom.url + "/-/mockprom/clock"
    assert http.get(url).status_code == 401
    assert http.get(url, headers={"Authorization": "Bearer guess"}).status_code == 401
    assert http.get(url, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert http.get(url, headers={"Authorization": "Bearer ctl"}).status_code == 200
    r = http.post(prom.url + "/-/mockprom/reset", headers={"Authorization": "Bearer ctl"})
    assert r.status_code == 200
    # the fault and journal endpoints (served by the fault layer) too
    assert http.get(prom.url + "/-/mockprom/faults").status_code == 401
    assert http.get(prom.url + "/-/mockprom/requests",
                    headers={"Authorization": "Bearer ctl"}).status_code == 200
