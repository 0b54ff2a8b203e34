"""``/api/v1/rules``, ``/api/v1/alerts`` and rule output series compared with a real
Prometheus 2.42 holding the same data and rules. A real server's alert times depend on
when it started, so shapes, states, labels, annotations and values are compared, not
timestamps."""

from __future__ import annotations

import time

import pytest
import requests

from realprom import RealPrometheus, require_binaries

RULES = [
    {"record": "job:up:sum", "expr": "sum by (job) (up)", "labels": {"team": "x"}},
    {"record": "job:up:count", "expr": "count by (job) (up)"},
    {"alert": "Down", "expr": "up == 0",
     "labels": {"severity": "warn-{{ $labels.job }}"},
     "annotations": {"summary": "{{ $labels.instance }} is down ({{ $value }})",
                     "human": "{{ $value | humanize }}", "missing": "{{ $labels.nope }}"}},
    {"alert": "DownForLong", "expr": "up == 0", "for": "1h", "labels": {"severity": "page"}},
    {"alert": "Never", "expr": "up > 5"},
    {"alert": "Ratio", "expr": "vector(1234567.5)"},
]
VOLATILE = ("evaluationTime", "lastEvaluation", "activeAt", "file")


def _data(now: float) -> list[dict]:
    times = [now - 600 + 5 * i for i in range(150)]  # 10 minutes back, 2.5 minutes ahead
    return [
        {"labels": {"__name__": "up", "job": "api", "instance": "a:80"},
         "samples": [[t, 0] for t in times]},
        {"labels": {"__name__": "up", "job": "db", "instance": "b:80"},
         "samples": [[t, 1] for t in times]},
    ]


def _rules_yaml() -> str:
    import yaml

    return yaml.safe_dump({"groups": [{"name": "g", "interval": "1s", "rules": RULES}]})


def _strip(obj):
    """The answer without the fields whose values depend on when a server started."""
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items() if k not in VOLATILE}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    require_binaries()
    from mockprom.server import MockPrometheus

    rules_file = tmp_path_factory.mktemp("rules") / "rules.yml"
    rules_file.write_text(_rules_yaml())
    now = time.time()
    data = _data(now)
    config = f"global: {{evaluation_interval: 1s}}\nrule_files: [{rules_file}]\n"
    with RealPrometheus(data, config=config) as real:
        mock = MockPrometheus({"series": data, "rules": [
            {"name": "g", "file": str(rules_file), "interval": "1s", "rules": RULES}]}, version="2.42.0")
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # wait for the real server's evaluations
                groups = requests.get(real.url + "/api/v1/rules").json()["data"]["groups"]
                if groups and all(r.get("lastEvaluation", "").startswith("2") and
                                  not r["lastEvaluation"].startswith("0001")
                                  for r in groups[0]["rules"]):
                    break
                time.sleep(0.2)
            while time.monotonic() < deadline:  # ALERTS is written once "for" state is restored
                if _get(real.url, "/api/v1/query", query="ALERTS")["data"]["result"]:
                    break
                time.sleep(0.2)
            yield real.url, mock.url
        finally:
            mock.stop()


def _get(url: str, path: str, **params) -> dict:
    r = requests.get(url + path, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_rules_answer_matches_a_real_prometheus(both):
    real, mock = both
    want = _strip(_get(real, "/api/v1/rules"))
    got = _strip(_get(mock, "/api/v1/rules"))
    assert got == want


def test_rules_key_order_and_types_match(both):
    real, mock = both
    want = _get(real, "/api/v1/rules")["data"]["groups"][0]
    got = _get(mock, "/api/v1/rules")["data"]["groups"][0]
    assert list(got) == list(want)
    for w, g in zip(want["rules"], got["rules"]):
        assert list(g) == list(w)
        assert isinstance(g["evaluationTime"], float) and g["lastEvaluation"].endswith("Z")
        for wa, ga in zip(w.get("alerts", []), g.get("alerts", [])):
            assert list(ga) == list(wa)


def test_alerts_answer_matches_a_real_prometheus(both):
    real, mock = both
    key = lambda a: sorted(a["labels"].items())  # noqa: E731 - real order is map order
    want = sorted(_strip(_get(real, "/api/v1/alerts"))["data"]["alerts"], key=key)
    got = sorted(_strip(_get(mock, "/api/v1/alerts"))["data"]["alerts"], key=key)
    assert got == want
    assert {a["state"] for a in got} == {"pending", "firing"}


@pytest.mark.parametrize("query", ["ALERTS", "job:up:sum", "job:up:count",
                                   'ALERTS_FOR_STATE{alertname="Down"} > 0'])
def test_rule_series_match_a_real_prometheus(both, query):
    real, mock = both
    want = _get(real, "/api/v1/query", query=query)["data"]["result"]
    got = _get(mock, "/api/v1/query", query=query)["data"]["result"]
    assert sorted(s["metric"].items() for s in got) == sorted(s["metric"].items() for s in want)
    if not query.startswith("ALERTS_FOR_STATE"):
        assert sorted(s["value"][1] for s in got) == sorted(s["value"][1] for s in want)
