"""``/api/v1/query``, ``query_range``, ``format_query``, ``query_exemplars`` over real HTTP:
answers, GET and form POST, and every parameter error in Prometheus's wording."""

from __future__ import annotations

import pytest

from conftest import T0, basic_scenario


def samples_of(name: str, **labels):
    for s in basic_scenario()["series"]:
        ls = s["labels"]
        if ls["__name__"] == name and all(ls.get(k) == v for k, v in labels.items()):
            return s["samples"]
    raise KeyError(name)


def get(http, prom, path, **params):
    return http.get(prom.url + path, params=params)


def test_instant_query_returns_the_latest_samples(prom, http):
    r = get(http, prom, "/api/v1/query", query="up", time=T0 - 60)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "vector"
    got = {s["metric"]["job"]: s["value"] for s in body["data"]["result"]}
    expected_db = dict((t, v) for t, v in samples_of("up", job="db"))[T0 - 60]
    assert got == {"api": [T0 - 60, "1"], "db": [T0 - 60, str(expected_db)]}
    assert "warnings" not in body


def test_post_form_gives_the_same_answer_as_get(prom, http):
    params = {"query": "http_requests_total", "time": str(T0 - 90)}
    a = http.get(prom.url + "/api/v1/query", params=params)
    b = http.post(prom.url + "/api/v1/query", data=params)
    assert a.status_code == b.status_code == 200
    assert a.content == b.content
    value = dict(samples_of("http_requests_total"))[T0 - 120]
    assert b.json()["data"]["result"][0]["value"] == [T0 - 90, f"{value:g}"]


def test_form_body_wins_over_url_query(prom, http):
    r = http.post(prom.url + "/api/v1/query", params={"query": "1"}, data={"query": "2",
                                                                          "time": "5"})
    assert r.json()["data"] == {"resultType": "scalar", "result": [5, "2"]}


def test_default_time_is_the_clock_now(prom, http):
    r = get(http, prom, "/api/v1/query", query="time()")
    assert r.json()["data"]["result"] == [T0, str(T0)]


def test_time_formats(prom, http):
    for t in ("2023-11-14T22:13:20Z", "2023-11-14T23:13:20+01:00", str(T0), f"{T0}.000"):
        r = get(http, prom, "/api/v1/query", query="vector(1)", time=t)
        assert r.json()["data"]["result"][0]["value"][0] == T0, t


def test_special_values_and_millisecond_timestamps(prom, http):
    r = get(http, prom, "/api/v1/query_range", query="odd_values", start=T0 - 30,
            end=T0, step="10s")
    values = r.json()["data"]["result"][0]["values"]
    assert values == [[T0 - 30, "NaN"], [T0 - 20, "+Inf"], [T0 - 10, "1e-07"],
                      [T0, "0.00001"]]
    r = get(http, prom, "/api/v1/query", query="odd_values", time=f"{T0}.5")
    assert f"[{T0}.500,".encode() in r.content


def test_scalar_and_string_results(prom, http):
    assert get(http, prom, "/api/v1/query", query="1e-7", time="1000").json()["data"] == {
        "resultType": "scalar", "result": [1000, "0.0000001"]}
    assert get(http, prom, "/api/v1/query", query='"hi"', time="1.5").json()["data"] == {
        "resultType": "string", "result": [1.5, "hi"]}


def test_range_query_steps_and_values(prom, http):
    r = get(http, prom, "/api/v1/query_range", query="http_requests_total",
            start=T0 - 300, end=T0, step="1m")
    assert r.status_code == 200
    data = r.json()["data"]
    assert data["resultType"] == "matrix"
    expected = [[t, f"{v:g}"] for t, v in samples_of("http_requests_total") if t >= T0 - 300]
    assert data["result"][0]["values"] == expected
    r2 = http.post(prom.url + "/api/v1/query_range", data={
        "query": "http_requests_total", "start": T0 - 300, "end": T0, "step": "60"})
    assert r2.content == r.content


@pytest.mark.parametrize("params,status,error", [
    ({"query": "1", "time": "x"}, 400,
     'invalid parameter "time": invalid time value for \'time\': cannot parse "x" to a valid timestamp'),
    ({"query": "1", "limit": "-5", "time": "x"}, 400,
     'invalid parameter "limit": limit must be non-negative'),
    ({"query": "1", "lookback_delta": "x"}, 400,
     'error parsing lookback delta duration: cannot parse "x" to a valid duration'),
    ({"query": "1", "timeout": "x"}, 400,
     'invalid parameter "timeout": cannot parse "x" to a valid duration'),
])
def test_instant_query_parameter_errors(prom, http, params, status, error):
    r = http.get(prom.url + "/api/v1/query", params=params)
    assert r.status_code == status
    assert r.json() == {"status": "error", "errorType": "bad_data", "error": error}


def test_query_parse_errors_are_bad_data(prom, http):
    for q in ("foo(", "", "rate(up)"):
        r = get(http, prom, "/api/v1/query", query=q)
        assert r.status_code == 400, q
        body = r.json()
        assert body["errorType"] == "bad_data"
        assert body["error"].startswith('invalid parameter "query": ')
    r = get(http, prom, "/api/v1/query_range", query="foo(", start=0, end=10, step=1)
    assert r.status_code == 400
    assert r.json()["error"].startswith('invalid parameter "query": 1:5: parse error')


def test_range_query_parse_errors_are_not_named_by_2_42(serve, http):
    prom = serve(basic_scenario(), version="2.42.0")
    r = get(http, prom, "/api/v1/query_range", query="foo(", start=0, end=10, step=1)
    assert r.status_code == 400
    assert r.json()["error"].startswith("1:5: parse error")


@pytest.mark.parametrize("params,error", [
    ({"start": "10", "end": "0", "step": "5"},
     'invalid parameter "end": end timestamp must not be before start time'),
    ({"start": "0", "end": "10", "step": "0"},
     'invalid parameter "step": zero or negative query resolution step widths are not '
     'accepted. Try a positive integer'),
    ({"start": "0", "end": "10", "step": "-5s"},
     'invalid parameter "step": cannot parse "-5s" to a valid duration'),
    ({"start": "0", "end": "100000", "step": "1"},
     "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
     "resolution (?step=XX)"),
    ({"start": "0", "end": "10", "step": "x"},
     'invalid parameter "step": cannot parse "x" to a valid duration'),
    ({"start": "0", "end": "10"}, 'invalid parameter "step": cannot parse "" to a valid duration'),
    ({"end": "10", "step": "1"}, 'invalid parameter "start": cannot parse "" to a valid timestamp'),
    ({"start": "0", "step": "1"}, 'invalid parameter "end": cannot parse "" to a valid timestamp'),
])
def test_range_query_parameter_errors(prom, http, params, error):
    for r in (http.get(prom.url + "/api/v1/query_range", params={"query": "1", **params}),
              http.post(prom.url + "/api/v1/query_range", data={"query": "1", **params})):
        assert r.status_code == 400
        assert r.json() == {"status": "error", "errorType": "bad_data", "error": error}


def test_exactly_11000_points_are_allowed(prom, http):
    r = get(http, prom, "/api/v1/query_range", query="1", start=0, end=11000, step=1)
    assert r.status_code == 200
    assert len(r.json()["data"]["result"][0]["values"]) == 11001


def test_range_query_of_a_range_vector_is_bad_data(prom, http):
    r = get(http, prom, "/api/v1/query_range", query="up[5m]", start=0, end=10, step=1)
    assert r.status_code == 400
    assert r.json()["errorType"] == "bad_data"


def test_execution_errors_are_422(serve, http):
    prom = serve({"clock": 100, "series": [
        {"labels": {"__name__": "a", "x": "1"}, "samples": [[100, 1]]},
        {"labels": {"__name__": "a", "x": "2"}, "samples": [[100, 1]]},
        {"labels": {"__name__": "b"}, "samples": [[100, 1]]}]})
    r = http.get(prom.url + "/api/v1/query", params={"query": "b + ignoring(x) a"})
    assert r.status_code == 422
    assert r.json()["errorType"] == "execution"
    assert "many" in r.json()["error"]


def test_lookback_delta_parameter(prom, http):
    # samples are a minute apart: a 30s lookback finds none between them
    t = T0 - 30
    full = get(http, prom, "/api/v1/query", query="up", time=t).json()["data"]["result"]
    short = get(http, prom, "/api/v1/query", query="up", time=t,
                lookback_delta="20s").json()["data"]["result"]
    assert len(full) == 2 and short == []


def test_format_query(prom, http):
    r = http.post(prom.url + "/api/v1/format_query", data={"query": "sum(rate(x[5m]))by(job)"})
    assert r.json() == {"status": "success", "data": "sum by (job) (rate(x[5m]))"}
    r = get(http, prom, "/api/v1/format_query", query="foo(")
    assert r.status_code == 400
    assert r.json()["error"].startswith('invalid parameter "query": ')


def test_query_exemplars(prom, http):
    r = get(http, prom, "/api/v1/query_exemplars", query="up")
    assert r.json() == {"status": "success", "data": []}
    r = get(http, prom, "/api/v1/query_exemplars", query="1")
    assert r.status_code == 204 and r.content == b""
    r = get(http, prom, "/api/v1/query_exemplars", query="up", start=10, end=1)
    assert r.status_code == 400
    assert r.json()["error"] == "end timestamp must not be before start timestamp"
    r = http.post(prom.url + "/api/v1/query_exemplars", data={"query": "foo("})
    assert r.status_code == 400 and r.json()["errorType"] == "bad_data"


def test_timeouts(prom, http):
    for t in ("0", "-1"):
        r = get(http, prom, "/api/v1/query", query="up", timeout=t)
        assert r.status_code == 503
        assert r.json() == {"status": "error", "errorType": "timeout",
                            "error": "query timed out in query execution"}  # 2.42: queue
    r = get(http, prom, "/api/v1/query", query="foo(", timeout="0")
    assert r.status_code == 400  # the query is parsed before it waits in the queue
    r = get(http, prom, "/api/v1/query", query="up", timeout="1ns")
    assert r.json()["error"] == 'invalid parameter "timeout": cannot parse "1ns" to a valid duration'
    r = get(http, prom, "/api/v1/query", query="up", timeout="30s", time=T0)
    assert r.status_code == 200 and len(r.json()["data"]["result"]) == 2


def test_query_timeout_is_503(serve, http):
    series = [{"labels": {"__name__": "big", "i": str(i)},
               "samples": [[t, t] for t in range(0, 3600, 15)]} for i in range(200)]
    prom = serve({"clock": 3600, "series": series})
    r = http.get(prom.url + "/api/v1/query_range", params={
        "query": "sum(rate(big[5m])) + sum(avg_over_time(big[10m]))", "start": 0,
        "end": 3600, "step": 1, "timeout": "0.000001"})
    assert r.status_code == 503
    assert r.json()["errorType"] == "timeout"


def test_per_step_stats_follow_the_scenarios_server_setting(serve, http):
    params = {"query": "up", "start": T0 - 60, "end": T0, "step": 30, "stats": "all"}
    plain = serve(basic_scenario())
    samples = http.get(plain.url + "/api/v1/query_range", params=params).json()["data"]["stats"]["samples"]
    assert "totalQueryableSamplesPerStep" not in samples
    per_step = serve(basic_scenario(server={"per_step_stats": True}))
    samples = http.get(per_step.url + "/api/v1/query_range", params=params).json()["data"]["stats"]["samples"]
    steps = samples["totalQueryableSamplesPerStep"]
    assert [t for t, _ in steps] == [T0 - 60, T0 - 30, T0]
    assert sum(n for _, n in steps) == samples["totalQueryableSamples"]
