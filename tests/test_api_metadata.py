"""``series``, ``labels``, ``label/<name>/values``, ``metadata``, ``targets``,
``targets/metadata`` over real HTTP, GET and POST, with their errors."""

from __future__ import annotations

import pytest

from conftest import T0, basic_scenario


def all_label_sets():
    return [s["labels"] for s in basic_scenario()["series"]]


def test_series_by_matchers(prom, http):
    r = http.get(prom.url + "/api/v1/series", params={"match[]": "up"})
    assert r.status_code == 200
    expected = sorted((ls for ls in all_label_sets() if ls["__name__"] == "up"),
                      key=lambda d: sorted(d.items()))
    assert r.json() == {"status": "success", "data": expected}
    # several match[] are a union; POST form works the same
    r2 = http.post(prom.url + "/api/v1/series",
                   data={"match[]": ['up{job="db"}', "http_requests_total"]})
    names = sorted((d["__name__"], d.get("job")) for d in r2.json()["data"])
    assert names == [("http_requests_total", "api"), ("up", "db")]


def test_series_time_window(prom, http):
    # odd_values only has samples in the last 30 s
    r = http.get(prom.url + "/api/v1/series", params={
        "match[]": "odd_values", "start": T0 - 600, "end": T0 - 60})
    assert r.json()["data"] == []
    r = http.get(prom.url + "/api/v1/series", params={
        "match[]": "odd_values", "start": T0 - 15, "end": "2023-11-14T22:13:20Z"})
    assert r.json()["data"] == [{"__name__": "odd_values", "kind": "special"}]


@pytest.mark.parametrize("params,error", [
    ({}, "no match[] parameter provided"),
    ({"match[]": "{}"}, 'invalid parameter "match[]": match[] must contain at least one '
                        'non-empty matcher'),
    ({"match[]": '{job=~".*"}'}, 'invalid parameter "match[]": match[] must contain at '
                                   'least one non-empty matcher'),
    ({"match[]": "up", "start": "x"},
     'invalid parameter "start": invalid time value for \'start\': cannot parse "x" to a '
     'valid timestamp'),
    ({"match[]": "up", "limit": "-1"}, 'invalid parameter "limit": limit must be non-negative'),
    ({"match[]": "up", "limit": "x", "start": "x"},
     'invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax'),
])
def test_series_errors(prom, http, params, error):
    for r in (http.get(prom.url + "/api/v1/series", params=params),
              http.post(prom.url + "/api/v1/series", data=params)):
        assert r.status_code == 400
        assert r.json() == {"status": "error", "errorType": "bad_data", "error": error}


def test_series_bad_selector(prom, http):
    r = http.get(prom.url + "/api/v1/series", params={"match[]": "foo("})
    assert r.status_code == 400
    assert r.json()["error"].startswith('invalid parameter "match[]": ')


def test_labels(prom, http):
    names = sorted({k for ls in all_label_sets() for k in ls})
    assert http.get(prom.url + "/api/v1/labels").json() == {"status": "success", "data": names}
    r = http.post(prom.url + "/api/v1/labels", data={"match[]": "up"})
    assert r.json()["data"] == ["__name__", "instance", "job"]
    r = http.get(prom.url + "/api/v1/labels", params={"match[]": "foo("})
    assert r.status_code == 400
    assert not r.json()["error"].startswith("invalid parameter")
    r = http.get(prom.url + "/api/v1/labels", params={"start": "x"})
    assert r.status_code == 400


def test_label_values(prom, http):
    jobs = sorted({ls["job"] for ls in all_label_sets() if "job" in ls})
    r = http.get(prom.url + "/api/v1/label/job/values")
    assert r.json() == {"status": "success", "data": jobs}
    names = sorted({ls["__name__"] for ls in all_label_sets()})
    assert http.get(prom.url + "/api/v1/label/__name__/values").json()["data"] == names
    r = http.get(prom.url + "/api/v1/label/job/values",
                 params={"match[]": "http_requests_total"})
    assert r.json()["data"] == ["api"]
    r = http.get(prom.url + "/api/v1/label/__name__/values", params={"limit": 2})
    assert r.json()["data"] == names[:2]
    assert r.json()["warnings"] == ["results truncated due to limit"]


def test_label_values_errors(prom, http):
    for bad, shown in (("U__", ""), ("%FF", "\\xff")):  # empty, or not UTF-8
        r = http.get(prom.url + f"/api/v1/label/{bad}/values")
        assert r.status_code == 400
        assert r.json() == {"status": "error", "errorType": "bad_data",
                            "error": f'invalid label name: "{shown}"'}
    r = http.post(prom.url + "/api/v1/label/job/values")
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, OPTIONS"
    r = http.get(prom.url + "/api/v1/label/job/values", params={"limit": "x"})
    assert r.status_code == 400
    assert r.json()["error"] == 'invalid parameter "limit": strconv.Atoi: parsing "x": invalid syntax'


def test_label_values_of_utf8_names(serve, http):
    """3.5 takes any UTF-8 label name, and decodes ``U__`` names (the values escaping,
    the only way to ask for a name holding "/"); 2.42 refuses what is not a legacy name."""
    series = [{"labels": {"__name__": "m", "a.b": "dotted", "sl/ash": "s", "u_v": "x"},
               "samples": [[T0, 1]]}]
    prom = serve({"clock": T0, "series": series})
    for name, want in (("a.b", ["dotted"]), ("U__a_2e_b", ["dotted"]), ("U__a_2E_b", ["dotted"]),
                       ("U__sl_2f_ash", ["s"]), ("U__u__v", ["x"]), ("u_v", ["x"]),
                       ("U__u_v", []), ("U__a_2e_b_", []), ("U__a_00002e_b", [])):
        r = http.get(prom.url + f"/api/v1/label/{name}/values")
        assert r.json() == {"status": "success", "data": want}, name
    old = serve({"clock": T0, "series": series}, version="2.42.0")
    r = http.get(old.url + "/api/v1/label/a.b/values")
    assert r.status_code == 400 and r.json()["error"] == 'invalid label name: "a.b"'
    assert http.get(old.url + "/api/v1/label/U__a_2e_b/values").json()["data"] == []
    r = http.get(old.url + "/api/v1/label/u_v/values", params={"limit": "x"})
    assert r.json()["data"] == ["x"]  # 2.42 has no limit parameter


def test_metadata(prom, http):
    meta = basic_scenario()["metadata"]
    r = http.get(prom.url + "/api/v1/metadata")
    data = r.json()["data"]
    for name, m in meta.items():
        assert data[name] == [{"type": m["type"], "help": m["help"], "unit": ""}]
    r = http.get(prom.url + "/api/v1/metadata", params={"metric": "up"})
    assert list(r.json()["data"]) == ["up"]
    r = http.get(prom.url + "/api/v1/metadata", params={"limit": 1})
    assert len(r.json()["data"]) == 1
    r = http.get(prom.url + "/api/v1/metadata", params={"limit": "x"})
    assert r.status_code == 400
    assert r.json()["error"] == "limit must be a number"


def test_targets(prom, http):
    r = http.get(prom.url + "/api/v1/targets")
    data = r.json()["data"]
    pairs = sorted({(ls["job"], ls["instance"]) for ls in all_label_sets()
                    if "job" in ls and "instance" in ls})
    got = sorted((t["labels"]["job"], t["labels"]["instance"]) for t in data["activeTargets"])
    assert got == pairs
    keys = ["discoveredLabels", "labels", "scrapePool", "scrapeUrl", "globalUrl", "lastError",
            "lastScrape", "lastScrapeDuration", "health", "scrapeInterval", "scrapeTimeout"]
    for t in data["activeTargets"]:
        assert list(t) == keys
    health = {t["labels"]["job"]: t["health"] for t in data["activeTargets"]}
    assert health == {"api": "up", "db": "up"}  # both read 1 at T0
    assert data["droppedTargets"] == []
    assert data["droppedTargetCounts"] == {"api": 0, "db": 0}  # 3.x: per scrape pool
    r = http.get(prom.url + "/api/v1/targets", params={"state": "dropped"})
    assert r.json()["data"] == {"activeTargets": [], "droppedTargets": [],
                                "droppedTargetCounts": {"api": 0, "db": 0}}
    r = http.get(prom.url + "/api/v1/targets", params={"state": "Active"})
    assert len(r.json()["data"]["activeTargets"]) == len(pairs)
    assert r.json()["data"]["droppedTargetCounts"] is None
    r = http.get(prom.url + "/api/v1/targets", params={"scrapePool": "db"})
    assert [t["scrapePool"] for t in r.json()["data"]["activeTargets"]] == ["db"]


def test_targets_from_the_scenario(serve, http):
    prom = serve(basic_scenario(
        targets=[{"labels": {"job": "x", "instance": "h:1"}, "health": "down",
                  "last_error": "connection refused"}],
        dropped_targets=[{"discovered_labels": {"__address__": "h:2", "job": "y"}}]))
    data = http.get(prom.url + "/api/v1/targets").json()["data"]
    assert [t["labels"] for t in data["activeTargets"]] == [{"instance": "h:1", "job": "x"}]
    assert data["activeTargets"][0]["health"] == "down"
    assert data["activeTargets"][0]["lastError"] == "connection refused"
    assert data["droppedTargets"] == [{"discoveredLabels": {"__address__": "h:2", "job": "y"},
                                       "scrapePool": "y"}]
    assert data["droppedTargetCounts"] == {"x": 0, "y": 1}
    assert http.get(prom.url + "/api/v1/scrape_pools").json()["data"] == {
        "scrapePools": ["x", "y"]}
    old = serve(basic_scenario(
        dropped_targets=[{"discovered_labels": {"__address__": "h:2", "job": "y"}}]),
        version="2.42.0")
    data = http.get(old.url + "/api/v1/targets", params={"scrapePool": "y"}).json()["data"]
    assert data["droppedTargets"] == [{"discoveredLabels": {"__address__": "h:2", "job": "y"}}]
    assert "droppedTargetCounts" not in data


def test_targets_metadata(prom, http):
    r = http.get(prom.url + "/api/v1/targets/metadata", params={"metric": "up"})
    data = r.json()["data"]
    assert sorted(d["target"]["job"] for d in data) == ["api", "db"]
    assert all(d["type"] == "gauge" and "metric" not in d for d in data)
    r = http.get(prom.url + "/api/v1/targets/metadata",
                 params={"match_target": '{job="api"}'})
    entries = r.json()["data"]
    assert {d["metric"] for d in entries} == {"up"}
    assert all(d["target"] == {"instance": "a:9090", "job": "api"} for d in entries)
    r = http.get(prom.url + "/api/v1/targets/metadata", params={"match_target": "foo("})
    assert r.status_code == 400
    assert r.json()["error"].startswith('invalid parameter "match_target": ')
    r = http.get(prom.url + "/api/v1/targets/metadata", params={"limit": "x"})
    assert r.json()["error"] == "limit must be a number"


def test_series_listed_by_head_chunk_across_a_gap(serve, http):
    """A window in a gap between two samples of one head chunk lists the series (as
    Prometheus's series API, which reads chunks); a gap across a 2 h range boundary, where
    the head always starts a new chunk, does not."""
    hour = 3600
    edge = (T0 // 7200 + 1) * 7200  # a 2 h range boundary
    inside = [[edge - 2 * hour + 600 + 60 * i, i] for i in range(10)]  # gap after i = 9
    inside += [[edge - 2 * hour + 1800 + 60 * i, 10 + i] for i in range(10)]
    across = [[edge - 900 + 60 * i, i] for i in range(10)] + [[edge + 600, 10]]
    prom = serve({"clock": edge + hour, "series": [
        {"labels": {"__name__": "inside"}, "samples": inside},
        {"labels": {"__name__": "across"}, "samples": across}]})

    def listed(name, start, end):
        r = http.get(prom.url + "/api/v1/series",
                     params={"match[]": name, "start": start, "end": end})
        return r.json()["data"]

    gap = edge - 2 * hour + 600 + 9 * 60
    assert listed("inside", gap + 30, gap + 600) == [{"__name__": "inside"}]
    assert listed("inside", edge - hour + 10, edge - hour + 20) == []  # after the last sample
    assert listed("across", edge - 200, edge + 300) == []
    assert listed("across", edge - 200, edge - 100) == []
