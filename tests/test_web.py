"""The console over HTTP (no browser): where it lives per emulated version, its page
shells and static files (served without credentials, never faulted nor journaled), the
control endpoints it adds (``/-/mockprom/families``, ``/-/mockprom/scenario?format=yaml``)
and that the wheel ships its files."""

from __future__ import annotations

import fnmatch
import gzip
from pathlib import Path

import pytest
import yaml

from conftest import REPO, T0, basic_scenario
from mockprom.web import files

TOKEN = "s3cr3t-token"
CONTROL = "ctl-token"

GENERATED = {
    "name": "families", "clock": T0, "interval": "15s",
    "series": [
        {"metric": "temp_celsius", "type": "gauge", "help": "Temperature.",
         "labels": {"room": ["lab", "hall"]}, "generator": {"kind": "sine", "offset": 20, "amplitude": 10, "period": "1h"}},
        {"metric": "req_seconds", "type": "histogram", "labels": {"job": "api"},
         "generator": {"kind": "histogram", "rate": 5, "buckets": [0.1, 1]}},
        {"series": 'jobs_done{queue="a"}', "values": "0+1x100"},
        {"labels": {"__name__": "door_open", "door": "front"}, "samples": [[T0 - 60, 1], [T0, 0]]},
    ],
    "metadata": {"jobs_done": {"type": "counter", "help": "Jobs done."}},
}


# -- where the console lives ----------------------------------------------------------------

def test_graph_redirects_to_query_in_3_5_keeping_the_query_string(serve, http):
    prom = serve(basic_scenario(), version="3.5.3")
    r = http.get(prom.url + "/graph?g0.expr=up&g0.tab=1", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (302, "/query?g0.expr=up&g0.tab=1")
    r = http.get(prom.url + "/graph", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (302, "/query")


def test_graph_is_the_query_page_in_2_42(serve, http):
    prom = serve(basic_scenario(), version="2.42.0")
    r = http.get(prom.url + "/graph", allow_redirects=False)
    assert r.status_code == 200 and r.text == http.get(prom.url + "/query").text
    assert "text/html" in r.headers["Content-Type"]


@pytest.mark.parametrize("path", sorted(files.PAGES - {"/graph"}))
def test_every_page_answers_the_shell(prom, http, path):
    r = http.get(prom.url + path)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/mockprom/assets/' in r.text
    policy = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert http.head(prom.url + path).status_code == 200
    r = http.post(prom.url + path, data={"x": "1"})
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD"


def test_mockprom_goes_to_the_scenario_page(prom, http):
    r = http.get(prom.url + "/mockprom", allow_redirects=False)
    assert (r.status_code, r.headers["Location"]) == (302, "/mockprom/scenario")


def test_the_control_api_lists_itself(prom, http):
    for path in ("/-/mockprom/", "/-/mockprom"):
        r = http.get(prom.url + path, allow_redirects=False)
        data = r.json()["data"]
        assert r.status_code == 200 and data["console"] == "/mockprom/scenario"
        for endpoint in ("scenario", "clock", "faults", "requests", "families"):
            assert f"/-/mockprom/{endpoint}" in data["endpoints"]


def test_assets_are_served_from_the_package_and_cached_by_build(prom, http):
    shell = http.get(prom.url + "/query").text
    build = shell.split("/mockprom/assets/", 1)[1].split("/", 1)[0]
    base = f"{prom.url}/mockprom/assets/{build}"
    r = http.get(base + "/js/main.js")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/javascript")
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.content == (files.STATIC / "js" / "main.js").read_bytes()
    again = http.get(base + "/js/main.js", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    zipped = http.get(base + "/vendor/uPlot.iife.min.js", headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = zipped.raw.read(decode_content=False)
    assert zipped.headers["Content-Encoding"] == "gzip" and len(raw) < 30_000
    assert gzip.decompress(raw) == (files.STATIC / "vendor" / "uPlot.iife.min.js").read_bytes()
    plain = http.get(base + "/vendor/uPlot.iife.min.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.headers["ETag"] != zipped.headers["ETag"]
    css = http.get(base + "/vendor/uPlot.min.css")
    assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")
    stale = http.get(f"{prom.url}/mockprom/assets/0ld0ld0ld0ld/js/main.js")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    for missing in ("/js/nope.js", "/../files.py", "/js/../../pages.py", ""):
        r = http.get(base + missing)
        assert r.status_code == 404 and r.text == "404 page not found\n"


def test_shell_and_assets_need_no_credentials_but_data_does(serve, http):
    prom = serve(basic_scenario(auth={"type": "bearer", "token": TOKEN},
                                server={"control_token": CONTROL}))
    assert http.get(prom.url + "/query").status_code == 200
    build = files.bundle().build
    assert http.get(f"{prom.url}/mockprom/assets/{build}/js/api.js").status_code == 200
    # data stays behind the scenario's auth and the control token
    assert http.get(prom.url + "/api/v1/query", params={"query": "up"}).status_code == 401
    assert http.get(prom.url + "/-/mockprom/families").status_code == 401
    ok = http.get(prom.url + "/-/mockprom/families", headers={"Authorization": f"Bearer {CONTROL}"})
    assert ok.status_code == 200
    # "/" is what clients probe to check the connection: it keeps the API's auth
    r = http.get(prom.url + "/", allow_redirects=False)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.json()["errorType"] == "unauthorized"
    r = http.get(prom.url + "/", allow_redirects=False,
                 headers={"Authorization": f"Bearer {TOKEN}"})
    assert (r.status_code, r.headers["Location"]) == (302, "/query")


def test_a_browser_refused_at_root_is_pointed_to_the_console(serve, http):
    prom = serve(basic_scenario(auth={"type": "bearer", "token": TOKEN}))
    r = http.get(prom.url + "/", allow_redirects=False,
                 headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<a href="/query">' in r.text and TOKEN not in r.text


def test_console_files_are_never_faulted_nor_journaled(serve, http):
    prom = serve(basic_scenario())
    prom.add_fault({"error": "unavailable"})  # every request
    prom.clear_requests()
    assert http.get(prom.url + "/mockprom/faults").status_code == 200
    assert http.get(f"{prom.url}/mockprom/assets/{files.bundle().build}/js/main.js").status_code == 200
    assert http.get(prom.url + "/api/v1/query", params={"query": "up"}).status_code == 503
    assert [e["path"] for e in prom.requests()] == ["/api/v1/query"]


def test_package_data_ships_every_console_file():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["mockprom.web"]
    web = Path(files.__file__).parent
    shipped = [p for p in web.rglob("*") if p.is_file() and p.parent.name != "__pycache__"
               and p.suffix != ".py"]
    assert shipped
    left_out = [str(p.relative_to(web)) for p in shipped
                if not any(fnmatch.fnmatch(p.relative_to(web).as_posix(), pat) for pat in patterns)]
    assert not left_out, f"not in pyproject's package-data: {left_out}"


# -- /-/mockprom/families -------------------------------------------------------------------

def test_families_describe_every_series_entry_with_a_preview(serve, http):
    prom = serve(GENERATED)
    d = http.get(prom.url + "/-/mockprom/families", params={"range": "1h", "points": "61"}).json()["data"]
    end = T0 * 1000 // 60_000 * 60_000  # the mock's now on the step grid
    assert (d["name"], d["end"], d["points"], d["step"]) == ("families", end, 61, 60_000)
    assert d["start"] == end - 3_600_000
    fams = d["families"]
    assert [f["metric"] for f in fams] == ["temp_celsius", "req_seconds", "jobs_done", "door_open"]
    temp, hist, notation, explicit = fams
    assert (temp["kind"], temp["type"], temp["help"], temp["series"]) == ("generator", "gauge", "Temperature.", 2)
    assert temp["generator"]["kind"] == "sine" and temp["interval"] == "15s"
    assert temp["labels"] == {"room": ["lab", "hall"]}
    assert hist["type"] == "histogram" and hist["series"] == 5  # 3 buckets, _sum, _count
    assert [p["labels"]["__name__"] for p in hist["preview"]] == ["req_seconds_count"]
    assert (notation["kind"], notation["type"], notation["values"]) == ("notation", "counter", "0+1x100")
    assert (explicit["kind"], explicit["samples"], explicit["type"]) == ("samples", 2, "unknown")
    assert d["total_series"] == 2 + 5 + 1 + 1


def test_family_previews_hold_what_an_instant_query_sees(serve, http):
    prom = serve(GENERATED)
    d = http.get(prom.url + "/-/mockprom/families", params={"range": "1h", "points": "13"}).json()["data"]
    for fam in d["families"]:
        for preview in fam["preview"]:
            selector = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(preview["labels"].items())) + "}"
            for i in (0, 6, 12):
                t = (d["start"] + i * d["step"]) / 1000
                r = http.get(prom.url + "/api/v1/query", params={"query": selector, "time": t}).json()
                result = r["data"]["result"]
                want = float(result[0]["value"][1]) if result else None
                got = preview["values"][i]
                assert (got is None) == (want is None), (selector, t, got, want)
                assert want is None or got == pytest.approx(want, rel=1e-5), (selector, t)


@pytest.mark.parametrize("params, message", [
    ({"range": "soon"}, 'invalid parameter "range"'),
    ({"range": "1e400"}, 'invalid parameter "range"'),
    ({"range": "30d"}, 'invalid parameter "range": must be positive and at most 1w'),
    ({"points": "x"}, 'invalid parameter "points": cannot parse'),
    ({"points": "5"}, 'invalid parameter "points": must be between 10 and 500'),
])
def test_families_refuse_bad_parameters_in_the_api_dialect(prom, http, params, message):
    r = http.get(prom.url + "/-/mockprom/families", params=params)
    body = r.json()
    assert r.status_code == 400 and body["status"] == "error" and body["errorType"] == "bad_data"
    assert body["error"].startswith(message)


# -- /-/mockprom/scenario?format=yaml ------------------------------------------------------

def test_scenario_as_yaml_round_trips_with_secrets_redacted(serve, http):
    prom = serve(dict(GENERATED, auth={"type": "bearer", "token": TOKEN},
                      server={"control_token": CONTROL}))
    headers = {"Authorization": f"Bearer {CONTROL}"}
    r = http.get(prom.url + "/-/mockprom/scenario", params={"format": "yaml"}, headers=headers)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/yaml; charset=utf-8"
    assert TOKEN not in r.text and CONTROL not in r.text and "<redacted>" in r.text
    as_json = http.get(prom.url + "/-/mockprom/scenario", headers=headers).json()["data"]
    assert yaml.safe_load(r.text) == as_json
    bad = http.get(prom.url + "/-/mockprom/scenario", params={"format": "xml"}, headers=headers)
    assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data"


def test_a_native_histogram_previews_its_count():
    from types import SimpleNamespace

    from mockprom.histograms.float_histogram import FloatHistogram
    from mockprom.promql.values import Matrix, Series
    from mockprom.scenario.labels import make_labels
    from mockprom.web.families import _preview

    labels = {"__name__": "lat_seconds", "job": "api"}
    series = Series(make_labels(labels), points=[(1000, 2.5)],
                    histograms=[(2000, FloatHistogram(count=7.0, sum=3.0))])
    engine = SimpleNamespace(range_query=lambda *a, **k: SimpleNamespace(value=Matrix([series])))
    (got,) = _preview(engine, [labels], 0, 3000, 1000)
    assert got == {"labels": labels, "values": [None, 2.5, 7.0, None]}
