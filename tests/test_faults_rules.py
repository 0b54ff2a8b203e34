"""Fault rules and timelines as a scenario writes them: validation, seeded draws,
endpoint names. (Their effects over HTTP are in test_faults_http.py.)"""

from __future__ import annotations

import pytest
import yaml

from mockprom.faults import FaultEngine, FaultRuleError, parse_rule
from mockprom.faults.endpoints import ENDPOINTS, classify
from mockprom.faults.request import RequestInfo, _scan_selectors
from mockprom.faults.rules import ERRORS

SCENARIO_FAULTS = yaml.safe_load("""
faults:
  - name: flaky-range
    match:
      endpoint: query_range
      method: POST
      expr: 'rate\\('
      metric: http_requests_total
      params: {step: 15}
      headers: {X-Scope-OrgID: team-a}
    error: unavailable
    status: 503
    message: "query queue is full"
    latency: 2s
    times: 2
  - {latency: {uniform: [100ms, 2s]}, probability: 0.3}
  - {latency: {lognormal: {median: 200ms, sigma: 0.5}}, dribble: {chunks: 10, over: 2s}}
  - {warnings: ["partial response: store 2 unreachable"], infos: [x], drop_series: 0.3}
  - {transport: hang, hang: 30s, window: {from: 30s, to: 2m}}
  - {transport: reset, every: 3, after: 1}
  - {error: inconsistent, window: {start: "2024-01-01T00:00:00Z", end: 1704070800}}
timeline:
  - {at: 0s, faults: []}
  - {at: 2m, faults: [{error: unavailable}]}
  - {at: 4m, faults: [flaky-range]}
  - {after_requests: 20, faults: []}
""")


def request(endpoint="query", expr="up", method="GET", params=None, headers=None):
    params = dict(params or {})
    if expr is not None:
        params.setdefault("query", [expr])
    return RequestInfo(method, f"/api/v1/{endpoint}", endpoint, params, headers or {},
                       list(params.get("query", [])))


def test_the_documented_rule_format_loads():
    engine = FaultEngine(seed=1)
    engine.load(SCENARIO_FAULTS["faults"], SCENARIO_FAULTS["timeline"])
    listed = engine.describe()
    assert len(listed) == 8  # 7 scenario rules + 1 inline timeline rule
    named = [r for r in listed if r["name"] == "flaky-range"][0]
    assert named["source"] == "scenario" and named["active"] is False  # timeline-only


def test_every_problem_is_listed_with_its_path():
    with pytest.raises(FaultRuleError) as caught:
        FaultEngine().load(
            [{"error": "unavailble"},
             {"match": {"endpoint": "qurey", "expr": "rate("}, "latency": "2 seconds"},
             {"transport": "reset", "error": "internal", "probability": 1.5},
             {"times": 2},
             "not a rule"],
            [{"at": "2m", "after_requests": 3, "faults": ["nope"]}, {"faults": [], "when": 1}],
        )
    problems = "\n".join(caught.value.problems)
    for needle in [
        "faults[0].error: unknown 'unavailble', expected one of " + ", ".join(ERRORS),
        "faults[1].match.endpoint: unknown 'qurey'",
        "faults[1].match.expr: invalid regular expression",
        "faults[1].latency:",
        "faults[2].probability: expected a number from 0 to 1",
        "faults[2].transport: 'reset' sends no answer, so it cannot be combined with error",
        "faults[3]: no effect given",
        "faults[4]: expected a mapping",
        "timeline[0]: expected exactly one of at or after_requests",
        "timeline[0].faults[0]: no rule named 'nope'",
        "timeline[1].when: unknown field",
    ]:
        assert needle in problems, needle


def test_a_refused_load_keeps_the_old_rules():
    engine = FaultEngine()
    engine.load([{"name": "keep", "error": "internal"}], [])
    with pytest.raises(FaultRuleError):
        engine.load([{"error": "nope"}], [])
    assert [r.name for r in engine.rules()] == ["keep"]


def test_unknown_keys_in_a_posted_rule_are_refused():
    with pytest.raises(FaultRuleError) as caught:
        parse_rule({"error": "internal", "tims": 2, "match": {"endpont": "query"}},
                   rule_id="1", source="api")
    assert caught.value.problems == [
        "tims: unknown field, expected one of " + ", ".join(
            ["name", "match", "error", "status", "message", "retry_after", "latency",
             "dribble", "warnings", "infos", "drop_series", "transport", "hang",
             "times", "after", "every", "probability", "window"]),
        "match.endpont: unknown field, expected one of endpoint, method, expr, metric, params, headers",
    ]


def test_probability_outcomes_depend_only_on_seed_rule_and_count():
    def outcomes(seed, name="flaky"):
        engine = FaultEngine(seed=seed)
        engine.load([{"name": name, "error": "internal", "probability": 0.3}], [])
        return [engine.decide(request()) is not None for _ in range(200)]

    first = outcomes(42)
    assert first == outcomes(42)
    assert first != outcomes(41) and first != outcomes(42, "other")
    assert 40 <= sum(first) <= 80  # about 30 %


def test_latency_draws_are_seeded_and_in_range():
    def draws(seed):
        engine = FaultEngine(seed=seed)
        engine.load([{"latency": {"uniform": ["100ms", "2s"]}},
                     {"latency": {"lognormal": {"median": "200ms", "sigma": 0.5}}}], [])
        uniform = [engine.decide(request()).latency_s for _ in range(50)]
        engine.remove("1")
        lognormal = sorted(engine.decide(request()).latency_s for _ in range(101))
        return uniform, lognormal

    uniform, lognormal = draws(7)
    assert (uniform, lognormal) == draws(7)
    assert all(0.1 <= x <= 2.0 for x in uniform) and max(uniform) - min(uniform) > 1
    assert 0.12 < lognormal[50] < 0.3  # the median


def test_rules_are_tried_api_first_then_timeline_then_scenario():
    clock = [1_704_067_200_000]
    engine = FaultEngine(now_ms=lambda: clock[0])
    engine.load([{"name": "scenario", "error": "internal"}],
                [{"at": "1m", "faults": [{"name": "step", "error": "timeout"}]}])
    assert engine.decide(request()).rule.name == "scenario"
    clock[0] += 60_000
    assert engine.decide(request()).rule.name == "step"
    engine.add({"name": "api", "error": "bad_data"})
    assert engine.decide(request()).rule.name == "api"


def test_timeline_after_requests_counts_requests_in_the_previous_step():
    engine = FaultEngine()
    engine.load([], [{"at": "0s", "faults": [{"error": "internal"}]},
                     {"after_requests": 3, "faults": []}])
    fired = [engine.decide(request()) is not None for _ in range(5)]
    assert fired == [True, True, True, False, False]


@pytest.mark.parametrize("path,endpoint", [
    ("/api/v1/query", "query"), ("/api/v1/query_range", "query_range"),
    ("/api/v1/label/job/values", "label_values"), ("/api/v1/targets/metadata", "targets_metadata"),
    ("/api/v1/status/buildinfo", "status_buildinfo"), ("/api/v1/admin/tsdb/snapshot", "admin"),
    ("/api/v1/write", "write"), ("/api/v1/prom/write", "write"), ("/metrics/job/batch", "push"),
    ("/federate", "federate"), ("/metrics", "metrics"), ("/-/healthy", "health"),
    ("/-/ready", "ready"), ("/prometheus/api/v1/query", "query"), ("/nope", "other"),
    ("/api/v1/parse_query", "parse_query"), ("/api/v1/scrape_pools", "scrape_pools"),
    ("/api/v1/notifications", "notifications"), ("/api/v1/notifications/live", "notifications"),
    ("/api/v1/status/walreplay", "status_walreplay"),
])
def test_endpoint_names(path, endpoint):
    assert classify(path) == endpoint and endpoint in ENDPOINTS


def test_match_on_metric_and_params():
    engine = FaultEngine()
    engine.add({"match": {"metric": "http_requests_total", "params": {"step": 15}},
                "error": "internal"})
    hit = request(expr="sum(rate(http_requests_total[5m]))", params={"step": ["15"]})
    assert engine.decide(hit) is not None
    assert engine.decide(request(expr="sum(rate(http_requests_total[5m]))")) is None
    assert engine.decide(request(expr="http_requests_total_x", params={"step": ["15"]})) is None


def test_metric_scan_without_a_parser_skips_functions_and_grouping_labels():
    names = [n for n, _ in _scan_selectors('sum by (job) (rate(http_requests_total{a="b"}[5m])) / on(instance) up offset 5m')]
    assert names == ["http_requests_total", "up"]


def test_load_scenario_counts_the_timeline_from_the_scenarios_fixed_clock():
    from mockprom.scenario.loader import load_scenario

    scenario = load_scenario({
        "seed": 5, "clock": "2024-01-01T00:00:00Z",
        "faults": [{"name": "outage", "error": "unavailable"}],
        "timeline": [{"at": "1m", "faults": ["outage"]}],
    })
    clock = [0]  # the server sets its clock only after the load hook ran
    engine = FaultEngine(now_ms=lambda: clock[0])
    engine.load_scenario(scenario)
    assert engine.seed == 5
    clock[0] = scenario.fixed_clock_ms()
    assert engine.decide(request()) is None
    clock[0] += 60_000
    assert engine.decide(request()).rule.name == "outage"


def test_validate_faults_lists_problems_for_the_scenario_loader():
    from mockprom.faults import validate_faults

    assert validate_faults(SCENARIO_FAULTS["faults"], SCENARIO_FAULTS["timeline"]) == []
    assert validate_faults([{"latency": "2s", "every": 0}], None) == [
        "faults[0].every: expected an integer >= 1, got 0"]


def test_a_fault_can_target_the_3_x_endpoints():
    """parse_query, scrape_pools, notifications and status/walreplay (Prometheus 3) have
    names of their own: a rule for one leaves the others alone, and the journal names them."""
    from mockprom import MockPrometheus

    import requests

    with MockPrometheus({"series": []}) as prom:
        prom.add_fault({"match": {"endpoint": "parse_query"}, "error": "unavailable"})
        r = requests.get(prom.url + "/api/v1/parse_query", params={"query": "up"}, timeout=10)
        assert r.status_code == 503 and r.json()["errorType"] == "unavailable"
        assert requests.get(prom.url + "/api/v1/scrape_pools", timeout=10).status_code == 200
        assert requests.get(prom.url + "/api/v1/status/walreplay", timeout=10).status_code == 200
        names = [e["endpoint"] for e in prom.requests()]
        assert names == ["parse_query", "scrape_pools", "status_walreplay"]
