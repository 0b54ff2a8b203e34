"""The version switch: which Prometheus a server emulates, and the behaviour tables."""

import importlib
import pkgutil

import pytest
import requests

import mockprom
from mockprom import versions
from mockprom.server import MockPrometheus

EMPTY = {"series": []}


def _import_everything():
    """Import every mockprom module, so that every behaviour table is registered."""
    for info in pkgutil.walk_packages(mockprom.__path__, "mockprom."):
        if info.name.endswith(("pytest_plugin", "__main__")):
            continue
        importlib.import_module(info.name)


@pytest.mark.parametrize("asked, reported, line", [
    (None, "3.5.3", "3.5"), ("3.5", "3.5.3", "3.5"), ("3.5.x", "3.5.3", "3.5"),
    ("3.5.0", "3.5.0", "3.5"), ("v3.5.1", "3.5.1", "3.5"), ("2.42", "2.42.0", "2.42"),
    ("2.42.x", "2.42.0", "2.42"), ("2.42.0", "2.42.0", "2.42"),
])
def test_a_version_resolves_to_its_line(asked, reported, line):
    emulation = versions.resolve(asked)
    assert (emulation.version, emulation.line.key) == (reported, line)


@pytest.mark.parametrize("asked", ["3.1.0", "2.53.1", "4.0", "latest", ""])
def test_an_unemulated_version_is_refused_with_what_is(asked):
    with pytest.raises(versions.VersionError) as e:
        versions.resolve(asked)
    assert "2.42.x and 3.5.x" in str(e.value)


def test_feature_flags_belong_to_the_line():
    assert versions.resolve("3.5", ["promql-experimental-functions"]).has(
        "promql-experimental-functions")
    with pytest.raises(versions.VersionError) as e:
        versions.resolve("2.42", ["promql-experimental-functions"])  # not a 2.42 flag
    assert "unknown feature flag" in str(e.value)
    with pytest.raises(versions.VersionError) as e:
        versions.resolve("3.5", ["promql-duration-exp"])
    assert "did you mean 'promql-duration-expr'" in str(e.value)


def test_every_behaviour_table_has_a_row_for_every_line():
    _import_everything()
    for concern, tbl in versions.TABLES.items():
        assert sorted(tbl.rows) == sorted(versions.LINES), concern
    with pytest.raises(ValueError):
        versions.VersionTable("incomplete", {"3.5": 1})


def test_default_is_3_5_and_the_server_pin_overrides_the_scenario():
    with MockPrometheus(EMPTY) as prom:
        info = requests.get(prom.url + "/api/v1/status/buildinfo").json()["data"]
        assert info["version"] == "3.5.3"
    pinned = {"series": [], "server": {"version": "3.5.2"}}
    with MockPrometheus(pinned, version="2.42.0") as prom:
        info = requests.get(prom.url + "/api/v1/status/buildinfo").json()["data"]
        assert info["version"] == "2.42.0" and info["goVersion"] == "go1.19.5"
    with MockPrometheus(pinned) as prom:
        assert requests.get(prom.url + "/api/v1/status/buildinfo").json()["data"]["version"] \
            == "3.5.2"


def test_a_scenario_with_an_unemulated_version_is_refused_with_its_line():
    from mockprom.scenario.loader import ScenarioError
    from mockprom.api.state import coerce_scenario

    with pytest.raises(ScenarioError) as e:
        coerce_scenario("series: []\nserver:\n  version: 2.53.0\n")
    assert str(e.value).startswith("line 3 server.version: Prometheus 2.53.0 is not emulated")
    assert "mockprom emulates 2.42.x and 3.5.x" in str(e.value)


def test_an_unquoted_version_gets_a_message_that_says_to_quote_it():
    """``version: 2.42`` is a YAML float; the problem says what to write instead."""
    from mockprom.scenario.loader import ScenarioError, load_scenario

    with pytest.raises(ScenarioError) as err:
        load_scenario("server:\n  version: 2.42\nseries: []\n")
    assert "server.version: YAML read 2.42 as a number: quote it ('2.42')" in str(err.value)
    assert load_scenario("server:\n  version: '2.42'\nseries: []\n").server.emulation().line.key == "2.42"
