"""Building the store from a scenario: relative starts, notation timing, stale markers,
explicit samples, the generator grid, metadata and targets."""

from __future__ import annotations

import numpy as np
import pytest

from mockprom.scenario.build import (build_store, scenario_dropped_targets, scenario_metadata,
                                     scenario_now_ms, scenario_targets)
from mockprom.scenario.durations import format_timestamp_ms
from mockprom.scenario.labels import Matcher, make_labels
from mockprom.scenario.loader import load_scenario
from mockprom.scenario.notation import expand
from mockprom.scenario.samples import stale_mask

NOW = 1_700_000_003_217  # deliberately not on any grid
H = 3_600_000


def one(store, name, lo=0, hi=2 * NOW):
    (s,) = store.select([Matcher.of("__name__", "=", name)], lo, hi)
    return s


def test_notation_samples_start_relative_to_now_and_skip_omitted():
    values = "0+3x4 _x2 100 stale 7"
    sc = load_scenario({"interval": "15s", "start": "-6h",
                        "series": [{"series": 'req{job="api"}', "values": values}]})
    s = one(build_store(sc, NOW), "req")
    expanded = expand(values)
    want_ts = [NOW - 6 * H + i * 15_000 for i, v in enumerate(expanded) if v is not None]
    assert s.ts.tolist() == want_ts
    assert s.labels == make_labels({"__name__": "req", "job": "api"})
    assert stale_mask(s.vals).tolist() == [False] * 6 + [True, False]
    assert s.vals[:5].tolist() == [0, 3, 6, 9, 12]


def test_series_level_interval_and_start_override_the_scenario():
    sc = load_scenario({"interval": "15s", "start": "-1h", "series": [
        {"series": "a", "values": "1 2 3", "interval": "1m", "start": "2024-01-01T00:00:00Z"},
        {"series": "b", "values": "1 2", "start": "-10m"}]})
    store = build_store(sc, NOW)
    assert one(store, "a").ts.tolist() == [1704067200000, 1704067260000, 1704067320000]
    assert one(store, "b").ts.tolist() == [NOW - 600_000, NOW - 585_000]


def test_absolute_start_does_not_depend_on_now():
    sc = load_scenario({"start": 1704067200, "series": [{"series": "m", "values": "1x3"}]})
    a, b = one(build_store(sc, NOW), "m"), one(build_store(sc, NOW + 12345), "m")
    assert a.ts.tolist() == b.ts.tolist() == [1704067200000 + i * 15_000 for i in range(4)]


def test_explicit_samples_are_sorted_and_keep_special_values():
    sc = load_scenario({"series": [{"labels": {"__name__": "t", "room": "lab"},
                                    "samples": [[30, 3], [10, 1], [20, "stale"], [40, "+Inf"]]}]})
    s = one(build_store(sc, NOW), "t")
    assert s.ts.tolist() == [10_000, 20_000, 30_000, 40_000]
    assert stale_mask(s.vals).tolist() == [False, True, False, False]
    assert s.vals[3] == np.inf


def test_generated_grid_is_epoch_aligned_and_independent_of_load_time():
    sc = load_scenario({"interval": "10s", "seed": 5, "series": [
        {"metric": "g", "labels": {"i": ["a", "b"]},
         "generator": {"kind": "random_walk", "step": 1}}]})
    lo, hi = NOW - H, NOW
    first = build_store(sc, NOW).select([Matcher.of("__name__", "=", "g")], lo, hi)
    later = build_store(sc, NOW + 5 * H + 1234).select([Matcher.of("__name__", "=", "g")], lo, hi)
    assert len(first) == 2
    for a, b in zip(first, later):
        assert np.all(a.ts % 10_000 == 0)
        np.testing.assert_array_equal(a.ts, b.ts)
        np.testing.assert_array_equal(a.vals, b.vals)
    assert not np.array_equal(first[0].vals, first[1].vals)  # series differ


def test_generated_start_and_end_bound_the_series():
    sc = load_scenario({"series": [{"metric": "g", "start": "-30m", "end": "-10m",
                                    "generator": {"kind": "constant", "value": 2}}]})
    s = one(build_store(sc, NOW), "g")
    assert s.ts[0] >= NOW - 30 * 60_000 and s.ts[-1] <= NOW - 10 * 60_000
    assert s.ts[0] - (NOW - 30 * 60_000) < 15_000 and (NOW - 10 * 60_000) - s.ts[-1] < 15_000
    assert set(s.vals.tolist()) == {2.0}


def test_all_three_shapes_together_and_same_labels_merge():
    sc = load_scenario({"start": 0, "series": [
        {"series": 'm{a="1"}', "values": "1 2"},
        {"labels": {"__name__": "m", "a": "1"}, "samples": [[60, 9]]},
        {"metric": "m", "labels": {"a": "2"}, "generator": {"kind": "constant", "value": 4}}]})
    store = build_store(sc, NOW)
    assert store.all_labels() == [make_labels({"__name__": "m", "a": "1"}),
                                  make_labels({"__name__": "m", "a": "2"})]
    merged = store.select([Matcher.of("a", "=", "1")], 0, 100_000)[0]
    assert merged.ts.tolist() == [0, 15_000, 60_000] and merged.vals.tolist() == [1, 2, 9]


def test_metadata_from_generators_and_metadata_section():
    sc = load_scenario({"series": [
        {"metric": "lat", "type": "histogram", "help": "Latency.", "unit": "seconds",
         "generator": {"kind": "histogram"}},
        {"metric": "temp", "generator": {"kind": "constant"}},
        {"metric": "reqs", "type": "counter", "help": "old", "generator": {"kind": "counter"}}],
        "metadata": {"reqs": {"type": "counter", "help": "Requests."},
                     "other": {"type": "gauge", "help": "Other."}}})
    meta = scenario_metadata(sc)
    assert meta["lat"] == [{"type": "histogram", "help": "Latency.", "unit": "seconds"}]
    assert meta["temp"] == [{"type": "unknown", "help": "", "unit": ""}]
    assert meta["reqs"] == [{"type": "counter", "help": "Requests.", "unit": ""}]
    assert meta["other"][0]["type"] == "gauge"
    assert "lat_bucket" not in meta and list(meta) == sorted(meta)


def test_default_targets_come_from_the_series_and_follow_up():
    sc = load_scenario({"interval": "15s", "series": [
        {"metric": "up", "labels": {"job": "api", "instance": ["a:80", "b:80"]},
         "generator": {"kind": "constant", "value": 1}},
        {"metric": "up", "labels": {"job": "db", "instance": "c:5432"},
         "generator": {"kind": "constant", "value": 0}},
        {"metric": "other", "labels": {"job": "api"}, "generator": {"kind": "constant"}}]})
    store = build_store(sc, NOW)
    targets = scenario_targets(sc, store, NOW)
    assert [(t["labels"]["job"], t["labels"]["instance"]) for t in targets] == \
        [("api", "a:80"), ("api", "b:80"), ("db", "c:5432")]
    by_inst = {t["labels"]["instance"]: t for t in targets}
    assert by_inst["a:80"]["health"] == "up" and by_inst["a:80"]["lastError"] == ""
    assert by_inst["c:5432"]["health"] == "down" and by_inst["c:5432"]["lastError"]
    t = by_inst["a:80"]
    assert t["scrapePool"] == "api" and t["scrapeUrl"] == "http://a:80/metrics"
    assert t["scrapeInterval"] == "15s" and t["scrapeTimeout"] == "10s"
    assert t["discoveredLabels"]["__address__"] == "a:80"
    assert 0 < t["lastScrapeDuration"] < 1
    last = t["lastScrape"]
    assert format_timestamp_ms(NOW - 15_000) <= last <= format_timestamp_ms(NOW)
    assert scenario_targets(sc, store, NOW) == targets  # deterministic


def test_explicit_targets_are_reported_as_given():
    sc = load_scenario({"targets": [{"labels": {"job": "j", "instance": "i:1"}, "health": "down",
                                     "last_error": "boom", "scrape_pool": "pool",
                                     "last_scrape": "2024-01-01T00:00:00Z",
                                     "last_scrape_duration": 0.25, "scrape_interval": "1m"}],
                        "dropped_targets": [{"discovered_labels": {"__address__": "x:1"}}]})
    (t,) = scenario_targets(sc, build_store(sc, NOW), NOW)
    assert t["health"] == "down" and t["lastError"] == "boom" and t["scrapePool"] == "pool"
    assert t["lastScrape"] == "2024-01-01T00:00:00Z" and t["lastScrapeDuration"] == 0.25
    assert t["scrapeInterval"] == "1m"
    assert scenario_dropped_targets(sc) == [{"discoveredLabels": {"__address__": "x:1"}}]


def test_explicit_targets_without_health_follow_their_up_series():
    sc = load_scenario({"series": [
        {"metric": "up", "labels": {"job": "j", "instance": "a"}, "generator": {"kind": "constant", "value": 0}},
        {"metric": "up", "labels": {"job": "j", "instance": "b"}, "generator": {"kind": "constant", "value": 1}}],
        "targets": [{"labels": {"job": "j", "instance": "a"}}, {"labels": {"job": "j", "instance": "b"}},
                    {"labels": {"job": "j", "instance": "c"}, "health": "unknown"}]})
    got = {t["labels"]["instance"]: t for t in scenario_targets(sc, build_store(sc, NOW), NOW)}
    assert got["a"]["health"] == "down" and "refused" in got["a"]["lastError"]
    assert got["b"]["health"] == "up" and got["c"]["health"] == "unknown"


def test_fixed_clock_is_the_scenarios_now():
    sc = load_scenario({"clock": "2024-01-01T00:00:00Z"})
    assert scenario_now_ms(sc) == 1704067200000
    assert scenario_now_ms(load_scenario({}), 42) == 42


@pytest.mark.parametrize("bad", [{"series": [{"series": "m", "values": "1", "interval": "0s"}]},
                                 {"interval": 0}, {"clock": "-1h"}])
def test_nonsense_timing_is_refused(bad):
    from mockprom.scenario.loader import ScenarioError
    with pytest.raises(ScenarioError):
        load_scenario(bad)
