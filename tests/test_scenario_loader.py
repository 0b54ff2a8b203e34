"""Loading scenarios: every problem at once with file:line and field path, suggestions,
syntax errors, the bare JSON shape, directories, and the shipped JSON Schema."""

from __future__ import annotations

import json
import math
import textwrap

import pytest

from mockprom.scenario.loader import (SCHEMA_PATH, Problem, ScenarioError, load_scenario,
                                      load_scenarios_dir, schema_text)
from mockprom.scenario.model import Scenario, parse_duration_ms
from mockprom.scenario.samples import is_stale

BAD = textwrap.dedent("""\
    naem: checkout
    seed: 42
    interval: 15x
    series:
      - series: 'http_requests_total{job="api"}'
        values: "0+3x10 foo"
      - labels: {room: lab}
        samples: [[1704067200, 21.5], [1704067215, "hot"]]
      - metric: node_cpu_seconds_total
        type: countr
        labels:
          instance: {faker: ipv4_privat, count: 3}
        generator: {kind: sinus, rate: 0.4}
      - metric: x
        generator: {kind: counter, rat: 1}
      - foo: 1
    targets:
      - labels: {job: a}
        health: dwn
    auth: {type: basic, username: u}
    server: {lookback_delta: 5q, admin_api: true}
    """)


def line_of(text: str, needle: str) -> int:
    return next(i for i, l in enumerate(text.splitlines(), 1) if needle in l)


def test_every_problem_is_reported_with_file_line_and_path(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text(BAD)
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    problems = e.value.problems
    by_path = {p.path: p for p in problems}
    expected = {
        "naem": "naem: checkout",
        "interval": "interval: 15x",
        "series[0].values": "values: \"0+3x10 foo\"",
        "series[1].labels": "labels: {room: lab}",
        "series[1].samples[1][1]": "samples:",
        "series[2].type": "type: countr",
        "series[2].labels.instance.faker": "instance: {faker",
        "series[2].generator.kind": "generator: {kind: sinus",
        "series[3].generator.rat": "generator: {kind: counter, rat",
        "series[4]": "- foo: 1",
        "targets[0].labels": "labels: {job: a}",
        "targets[0].health": "health: dwn",
        "auth": "auth:",
        "server.lookback_delta": "server:",
    }
    assert set(by_path) == set(expected)
    for path, needle in expected.items():
        p = by_path[path]
        assert p.file == str(f)
        assert p.line == line_of(BAD, needle), (path, p)
    # The documented one-line format.
    kind = by_path["series[2].generator.kind"]
    assert str(kind).startswith(f"{f}:{kind.line} series[2].generator.kind: unknown 'sinus', "
                                f"expected one of constant, linear, counter")
    assert "did you mean 'sine'?" in str(kind)
    assert "did you mean 'name'?" in by_path["naem"].message
    assert "did you mean 'rate'?" in by_path["series[3].generator.rat"].message
    assert "did you mean 'counter'?" in by_path["series[2].type"].message
    assert "did you mean 'down'?" in by_path["targets[0].health"].message
    assert "'ipv4_private'" in by_path["series[2].labels.instance.faker"].message
    assert "missing instance" in by_path["targets[0].labels"].message
    # The exception's text lists them all, one per line, in file order.
    lines = str(e.value).splitlines()
    assert len(lines) == len(problems)
    assert [p.line for p in problems] == sorted(p.line for p in problems)


def test_yaml_syntax_error_is_one_problem_with_its_line(tmp_path):
    f = tmp_path / "broken.yaml"
    f.write_text("name: x\nseries:\n  - labels: {a: [1, 2}\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    (p,) = e.value.problems
    assert p.file == str(f) and p.line == 3 and "YAML syntax error" in p.message


def test_duplicate_keys_are_refused():
    with pytest.raises(ScenarioError) as e:
        load_scenario("name: a\nseed: 1\nname: b\n")
    (p,) = e.value.problems
    assert p.line == 3 and p.path == "name" and "duplicate key" in p.message


def test_json_files_give_lines_too(tmp_path):
    f = tmp_path / "x.json"
    f.write_text(json.dumps({"series": [{"labels": {"__name__": "m"},
                                         "samples": [[1, 2], [2, "bogus"]]}]}, indent=2))
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    (p,) = e.value.problems
    assert p.path == "series[0].samples[1][1]" and p.line == line_of(f.read_text(), '"bogus"')
    f.write_text('{"series": [}')
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    assert "JSON syntax error" in e.value.problems[0].message


def test_bare_shape_loads_from_json_text_dict_and_file(tmp_path):
    data = {"series": [{"labels": {"__name__": "m", "a": "b"},
                        "samples": [[1704067200, 1], [1704067215.5, "NaN"], [1704067230, "+Inf"],
                                    ["2024-01-01T00:01:00Z", "stale"], [1704067275, "-Inf"]]}]}
    f = tmp_path / "exact.json"
    f.write_text(json.dumps(data))
    for source in (json.dumps(data), data, f, str(f)):
        sc = load_scenario(source)
        (s,) = sc.series
        ts = [t for t, _ in s.samples]
        vals = [v for _, v in s.samples]
        assert ts == [1704067200000, 1704067215500, 1704067230000, 1704067260000, 1704067275000]
        assert vals[0] == 1 and math.isnan(vals[1]) and vals[2] == math.inf
        assert is_stale(vals[3]) and vals[4] == -math.inf


def test_defaults_and_parsed_fields():
    sc = load_scenario("series: []\n")
    assert sc.name == "mockprom" and sc.seed == 0 and sc.interval == 15_000
    assert sc.start.relative_ms == -3_600_000 and sc.clock == "real"
    assert sc.server.lookback_delta == 300_000 and sc.server.max_points_per_series == 11_000
    assert sc.server.query_timeout == 120_000 and sc.server.admin_api is False
    assert sc.targets is None and sc.auth.type == "none"
    sc = load_scenario({"interval": 30, "start": "2024-01-01T00:00:00Z", "clock": 1704067200,
                        "alertmanagers": ["http://am:9093"],
                        "auth": {"type": "bearer", "token": "t"},
                        "rules": [{"name": "g", "rules": [{"alert": "A", "expr": "up == 0",
                                                           "for": "5m"}]}]})
    assert sc.interval == 30_000 and sc.start.absolute_ms == 1704067200000
    assert sc.fixed_clock_ms() == 1704067200000
    assert sc.alertmanagers.active == ["http://am:9093"]
    assert sc.rules[0].rules[0].for_ == 300_000


@pytest.mark.parametrize("text, ms", [("1h30m", 5_400_000), ("15s", 15_000), ("100ms", 100),
                                      ("1d", 86_400_000), ("1w", 604_800_000), ("1y", 31_536_000_000),
                                      ("0", 0), (1.5, 1500), ("2", 2000)])
def test_durations(text, ms):
    assert parse_duration_ms(text) == ms


@pytest.mark.parametrize("bad", ["", "1hh", "h", "5q", "-1s", "1m1h", None, True])
def test_bad_durations(bad):
    with pytest.raises(ValueError):
        parse_duration_ms(bad)


def test_model_round_trips_through_json():
    sc = load_scenario(BAD.replace("naem", "name").replace("15x", "15s")
                       .replace('0+3x10 foo', '0+3x10 stale').replace("{room: lab}", "{__name__: t}")
                       .replace('"hot"', '"stale"').replace("countr", "counter")
                       .replace("ipv4_privat", "ipv4_private").replace("sinus, rate", "counter, rate")
                       .replace("rat:", "rate:").replace("  - foo: 1\n", "")
                       .replace("{job: a}", "{job: a, instance: b}").replace("dwn", "down")
                       .replace("username: u", "username: u, password: p").replace("5q", "5m"))
    again = Scenario.model_validate_json(sc.model_dump_json())
    assert again.model_dump() == sc.model_dump()


def test_directory_loads_every_scenario_by_name(tmp_path):
    (tmp_path / "a.yaml").write_text("name: alpha\n")
    (tmp_path / "b.json").write_text('{"series": []}')
    (tmp_path / "notes.txt").write_text("ignored")
    found = load_scenarios_dir(tmp_path)
    assert sorted(found) == ["alpha", "b"]
    with pytest.raises(ScenarioError) as e:
        load_scenario(tmp_path)
    assert "2 scenarios" in str(e.value)
    (tmp_path / "c.yaml").write_text("name: alpha\nseed: x\n")
    with pytest.raises(ScenarioError) as e:
        load_scenarios_dir(tmp_path)
    assert len(e.value.problems) == 1 and "seed" in str(e.value)


def test_directory_with_one_scenario_and_filename_for_text(tmp_path):
    (tmp_path / "only.yml").write_text("seed: 3\n")
    sc = load_scenario(tmp_path)
    assert sc.name == "only" and sc.seed == 3
    with pytest.raises(ScenarioError) as e:
        load_scenario("seed: x\n", filename="inline.yaml")
    assert str(e.value).startswith("inline.yaml:1 seed: ")


def test_missing_file_and_wrong_top_level():
    with pytest.raises(ScenarioError) as e:
        load_scenario("does/not/exist.yaml")
    assert "no such file" in str(e.value)
    with pytest.raises(ScenarioError) as e:
        load_scenario("- 1\n- 2\n")
    assert "mapping" in str(e.value)


def test_problem_formatting():
    assert str(Problem("f.yaml", 3, "a.b", "bad")) == "f.yaml:3 a.b: bad"
    assert str(Problem(None, None, "a", "bad")) == "a: bad"
    assert str(Problem(None, 2, None, "bad")) == "line 2: bad"


def test_shipped_schema_is_the_generated_one():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), \
        "run: python -c 'from mockprom.scenario.loader import write_schema; write_schema()'"
    schema = json.loads(schema_text())
    assert {"series", "targets", "rules", "server", "faults"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("text, absolute, relative", [
    ("-6h", None, -21_600_000), ("now-6h", None, -21_600_000), ("+5m", None, 300_000),
    ("now", None, 0), ("2024-01-01T00:00:00Z", 1704067200000, None),
    ("2024-01-01T01:00:00+01:00", 1704067200000, None), (1704067200.5, 1704067200500, None),
    ("1704067200", 1704067200000, None)])
def test_time_specs(text, absolute, relative):
    from mockprom.scenario.durations import parse_time_spec
    spec = parse_time_spec(text)
    assert (spec.absolute_ms, spec.relative_ms) == (absolute, relative)
    assert spec.resolve(1_000_000) == (absolute if absolute is not None else 1_000_000 + relative)
    assert parse_time_spec(str(spec)) == spec  # prints back to something it reads


@pytest.mark.parametrize("ms, text", [(0, "0s"), (90_000, "1m30s"), (5_400_000, "1h30m"),
                                      (100, "100ms"), (86_400_000, "1d"), (604_800_000, "1w"),
                                      (691_200_000, "8d"), (31_536_000_000, "1y")])
def test_durations_print_as_prometheus_does(ms, text):
    from mockprom.scenario.durations import format_duration_ms
    assert format_duration_ms(ms) == text
    assert parse_duration_ms(text) == ms


def test_json_indented_with_tabs_still_reports_problems(tmp_path):
    f = tmp_path / "tabs.json"
    f.write_text('{\n\t"seed": "x",\n\t"series": []\n}\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    (p,) = e.value.problems
    assert p.file == str(f) and p.path == "seed"
