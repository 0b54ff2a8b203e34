"""Generators: pure functions of (seed, series, time), coherent counters and histograms,
the same values in every process, label products and seeded faker values."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mockprom.scenario.build import build_store
from mockprom.scenario.generators import (GENERATOR_KINDS, GenContext, expand_family,
                                          format_go_float)
from mockprom.scenario.labels import Matcher
from mockprom.scenario.loader import ScenarioError, load_scenario
from mockprom.scenario.model import GeneratedSeries

ROOT = Path(__file__).resolve().parents[1]
NOW = 1_700_000_000_000
MIN, HOUR, DAY = 60_000, 3_600_000, 86_400_000

SPECS = {
    "constant": {"kind": "constant", "value": 3},
    "linear": {"kind": "linear", "start": 1, "slope": 0.5},
    "counter": {"kind": "counter", "rate": 2, "jitter": 1, "reset_every": "1h"},
    "random_walk": {"kind": "random_walk", "start": 50, "step": 2, "min": 0, "max": 100},
    "sine": {"kind": "sine", "amplitude": 5, "period": "10m", "offset": 10},
    "square": {"kind": "square", "low": 1, "high": 4, "period": "10m", "duty": 0.25},
    "step": {"kind": "step", "period": "2m"},
    "sawtooth": {"kind": "sawtooth", "min": 2, "max": 6, "period": "5m"},
    "spikes": {"kind": "spikes", "base": 1, "height": 9, "probability": 0.1, "width": "1m"},
    "sequence": {"kind": "sequence", "values": [1, 2, "NaN", 4]},
    "flapping": {"kind": "flapping", "mean_up": "10m", "mean_down": "5m"},
    "dropout": {"kind": "dropout", "of": {"kind": "sine", "period": "1h"}, "probability": 0.3},
    "histogram": {"kind": "histogram", "rate": 5, "buckets": [0.1, 0.5, 1],
                  "distribution": {"lognormal": {"median": 0.3, "sigma": 0.5}}},
    "summary": {"kind": "summary", "rate": 5, "distribution": {"normal": {"mean": 1, "stddev": 0.2}}},
    "native_histogram": {"kind": "native_histogram", "rate": 5, "schema": 2, "reset_every": "1h",
                         "distribution": {"lognormal": {"median": 0.3, "sigma": 0.5}}},
}
TYPES = {"histogram": "histogram", "summary": "summary", "native_histogram": "histogram"}


def gen_series(generator: dict, labels=None, metric="m", seed=1, interval="15s", typ=None):
    spec = {"metric": metric, "labels": labels or {"job": "x"}, "generator": generator,
            "interval": interval}
    if typ:
        spec["type"] = typ
    return {"seed": seed, "series": [spec]}


def select(store, name, lo, hi):
    return {tuple(s.labels): s for s in store.select([Matcher.of("__name__", "=~", name)], lo, hi)}


def test_every_kind_is_covered():
    assert set(SPECS) == set(GENERATOR_KINDS)


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_point_values_do_not_depend_on_the_window(kind):
    """A pure function of time: a wide window and single-point windows agree, in the past
    and in the future."""
    store = build_store(load_scenario(gen_series(SPECS[kind], typ=TYPES.get(kind))), NOW)
    for centre in (NOW - 400 * DAY, NOW, NOW + 50 * DAY):
        wide = {tuple(s.labels): s for s in store.select(
            [Matcher.of("__name__", "=~", "m.*")], centre - 2 * HOUR, centre, histograms=True)}
        assert wide
        for labels, s in wide.items():
            for j in (0, len(s.ts) // 2, len(s.ts) - 1):
                t = int(s.ts[j])
                alone = store.select([Matcher.of("__name__", "=", dict(labels)["__name__"])]
                                     + [Matcher.of(k, "=", v) for k, v in labels if k != "__name__"],
                                     t, t, histograms=True)
                assert alone and alone[0].ts.tolist() == [t]
                np.testing.assert_array_equal(alone[0].vals, s.vals[j:j + 1])
                if s.hists is not None:
                    assert alone[0].hists[0] == s.hists[j]


def test_samples_sit_on_the_epoch_aligned_grid():
    store = build_store(load_scenario(gen_series(SPECS["sine"], interval="30s")), NOW + 7)
    s = select(store, "m", NOW - HOUR, NOW)[(("__name__", "m"), ("job", "x"))]
    assert np.all(s.ts % 30_000 == 0)
    assert np.all(np.diff(s.ts) == 30_000)


def test_counter_is_monotone_between_resets_and_resets_on_schedule():
    spec = {"kind": "counter", "rate": 3, "jitter": 1, "reset_every": "1h"}
    store = build_store(load_scenario(gen_series(spec)), NOW)
    (s,) = select(store, "m", NOW - DAY, NOW).values()
    d = np.diff(s.vals)
    resets = np.flatnonzero(d < 0)
    assert 23 <= len(resets) <= 25  # one per hour
    assert np.all(np.diff(resets) == HOUR // 15_000)
    assert np.all(s.vals >= 0)
    # Between resets the average rate is the configured one.
    a, b = resets[0] + 1, resets[1]
    rate = (s.vals[b] - s.vals[a]) / ((s.ts[b] - s.ts[a]) / 1000)
    assert rate == pytest.approx(3, rel=0.02)


def test_counter_without_resets_never_decreases_and_integer_mode():
    spec = {"kind": "counter", "rate": 0.7, "jitter": 0.9, "integer": True}
    store = build_store(load_scenario(gen_series(spec)), NOW)
    (s,) = select(store, "m", NOW - DAY, NOW).values()
    assert np.all(np.diff(s.vals) >= 0)
    assert np.all(s.vals == np.floor(s.vals))


def test_histogram_is_cumulative_monotone_and_coherent():
    spec = {"kind": "histogram", "rate": 20, "buckets": [0.05, 0.1, 0.25, 0.5, 1, 2.5],
            "distribution": {"lognormal": {"median": 0.12, "sigma": 0.6}}, "jitter": 1,
            "reset_every": "6h"}
    store = build_store(load_scenario(gen_series(spec, metric="lat", typ="histogram")), NOW)
    got = select(store, "lat_.*", NOW - 3 * HOUR, NOW)
    buckets = sorted((float(dict(l)["le"]), s) for l, s in got.items()
                     if dict(l)["__name__"] == "lat_bucket")
    les = [b[0] for b in buckets]
    assert les == [0.05, 0.1, 0.25, 0.5, 1, 2.5, math.inf]
    label_les = sorted(dict(l)["le"] for l in got if "le" in dict(l))
    assert set(label_les) == {format_go_float(x) for x in les}
    matrix = np.vstack([s.vals for _, s in buckets])
    assert np.all(np.diff(matrix, axis=0) >= 0), "buckets must be cumulative in le"
    count = got[(("__name__", "lat_count"), ("job", "x"))].vals
    total = got[(("__name__", "lat_sum"), ("job", "x"))].vals
    np.testing.assert_array_equal(count, matrix[-1])
    for series in list(matrix) + [count, total]:
        d = np.diff(series)
        assert np.sum(d < 0) <= 1  # monotone except at the (one) reset in 3h
    # The share below the median bucket follows the distribution.
    share = (matrix[1, -1] - matrix[1, 0]) / (count[-1] - count[0]) if count[-1] > count[0] else None
    if share is not None:
        assert share == pytest.approx(statistics.NormalDist().cdf(math.log(0.1 / 0.12) / 0.6), abs=0.05)
    mean = (total[-1] - total[0]) / (count[-1] - count[0])
    assert mean == pytest.approx(0.12 * math.exp(0.6 ** 2 / 2), rel=0.05)


def test_summary_quantiles_are_ordered_and_near_the_distribution():
    spec = {"kind": "summary", "rate": 4, "quantiles": [0.99, 0.5, 0.9],
            "distribution": {"lognormal": {"median": 0.2, "sigma": 0.4}}}
    store = build_store(load_scenario(gen_series(spec, metric="rpc", typ="summary")), NOW)
    got = select(store, "rpc.*", NOW - HOUR, NOW)
    qs = sorted((float(dict(l)["quantile"]), s.vals) for l, s in got.items() if "quantile" in dict(l))
    assert [q for q, _ in qs] == [0.5, 0.9, 0.99]
    assert np.all(qs[0][1] < qs[1][1]) and np.all(qs[1][1] < qs[2][1])
    for q, vals in qs:
        exact = 0.2 * math.exp(0.4 * statistics.NormalDist().inv_cdf(q))
        assert np.median(vals) == pytest.approx(exact, rel=0.15)
    assert {dict(l)["__name__"] for l in got} == {"rpc", "rpc_sum", "rpc_count"}


@pytest.mark.parametrize("value, go", [(0.05, "0.05"), (1.0, "1"), (2.5, "2.5"), (10.0, "10"),
                                        (math.inf, "+Inf"), (1e6, "1e+06"), (0.0001, "0.0001"),
                                        (1e-05, "1e-05"), (123456.0, "123456")])
def test_le_and_quantile_labels_formatted_as_client_golang(value, go):
    assert format_go_float(value) == go


def test_shapes_of_periodic_generators():
    sc = {"series": [
        {"metric": "sine", "generator": SPECS["sine"]},
        {"metric": "square", "generator": SPECS["square"]},
        {"metric": "saw", "generator": SPECS["sawtooth"]},
        {"metric": "seq", "generator": {"kind": "sequence", "values": [1, 2, 3]}},
        {"metric": "lin", "generator": {"kind": "linear", "start": 1, "slope": 0.5}},
        {"metric": "lin0", "generator": {"kind": "linear", "start": 1, "slope": 0.5, "origin": 0}},
    ], "start": "-2h"}
    store = build_store(load_scenario(sc), NOW)
    get = lambda n: select(store, n, NOW - DAY, NOW)[(("__name__", n),)]
    sine = get("sine").vals
    assert sine.min() == pytest.approx(5, abs=0.1) and sine.max() == pytest.approx(15, abs=0.1)
    sq = get("square").vals
    assert set(np.unique(sq)) == {1.0, 4.0} and np.mean(sq == 4) == pytest.approx(0.25, abs=0.01)
    saw = get("saw").vals
    assert saw.min() >= 2 and saw.max() < 6
    seq = get("seq")
    assert np.all(seq.vals == np.array([1, 2, 3])[(seq.ts // 15_000) % 3])
    lin = get("lin")  # origin: the scenario's start
    np.testing.assert_allclose(lin.vals, 1 + 0.5 * (lin.ts - (NOW - 2 * 3_600_000)) / 1000)
    lin0 = get("lin0")
    np.testing.assert_allclose(lin0.vals, 1 + 0.5 * lin0.ts / 1000)


def test_random_walk_stays_in_bounds_and_moves():
    store = build_store(load_scenario(gen_series(SPECS["random_walk"])), NOW)
    (s,) = select(store, "m", NOW - 7 * DAY, NOW).values()
    assert s.vals.min() >= 0 and s.vals.max() <= 100
    assert np.std(s.vals) > 2
    assert np.max(np.abs(np.diff(s.vals))) <= 2 * 2 + 1e-9  # at most two steps at a time


def test_flapping_dropout_and_spikes_match_their_rates():
    sc = {"series": [
        {"metric": "flap", "generator": SPECS["flapping"]},
        {"metric": "drop", "generator": {"kind": "dropout", "value": 1, "probability": 0.3}},
        {"metric": "spk", "generator": {"kind": "spikes", "base": 0, "height": 1, "every": "10m",
                                        "width": "1m"}},
    ]}
    store = build_store(load_scenario(sc), NOW)
    lo = NOW - 30 * DAY
    flap = select(store, "flap", lo, NOW)[(("__name__", "flap"),)].vals
    assert set(np.unique(flap)) == {0.0, 1.0}
    assert np.mean(flap) == pytest.approx(10 / 15, abs=0.03)
    drop = select(store, "drop", lo, NOW)[(("__name__", "drop"),)]
    expected_points = (NOW - lo) // 15_000 + 1
    assert 1 - len(drop.ts) / expected_points == pytest.approx(0.3, abs=0.01)
    spk = select(store, "spk", lo, NOW)[(("__name__", "spk"),)].vals
    assert np.mean(spk) == pytest.approx(0.1, abs=0.001)


def test_label_lists_make_a_cartesian_product():
    sc = {"series": [{"metric": "m", "labels": {"a": ["1", "2", "3"], "b": ["x", "y"], "c": "k"},
                      "generator": {"kind": "constant", "value": 1}}]}
    store = build_store(load_scenario(sc), NOW)
    labels = [dict(l) for l in store.all_labels()]
    assert len(labels) == 6
    assert {(l["a"], l["b"]) for l in labels} == {(a, b) for a in "123" for b in "xy"}
    assert all(l["c"] == "k" for l in labels)


def test_faker_labels_have_the_asked_count_and_depend_on_the_seed():
    def values(seed):
        sc = load_scenario({"seed": seed, "series": [{
            "metric": "m", "labels": {"ip": {"faker": "ipv4_private", "count": 5},
                                      "host": {"faker": "hostname", "count": 2}},
            "generator": {"kind": "constant"}}]})
        return sc.series[0].label_sets(sc.seed)
    a, b, c = values(3), values(3), values(4)
    assert len(a) == 10 and a == b
    assert len({l["ip"] for l in a}) == 5 and len({l["host"] for l in a}) == 2
    assert {l["ip"] for l in a} != {l["ip"] for l in c}
    assert all(l["ip"].count(".") == 3 for l in a)


def test_unknown_kind_param_and_provider_are_validation_errors():
    bad = {"series": [
        {"metric": "a", "generator": {"kind": "sinus"}},
        {"metric": "b", "generator": {"kind": "counter", "rat": 1}},
        {"metric": "c", "labels": {"ip": {"faker": "ipv4_privat"}}, "generator": {"kind": "constant"}},
        {"metric": "d", "generator": {"kind": "spikes"}},
    ]}
    with pytest.raises(ScenarioError) as e:
        load_scenario(bad)
    text = str(e.value)
    assert "series[0].generator.kind: unknown 'sinus'" in text and "did you mean 'sine'" in text
    assert "series[1].generator.rat: unknown field 'rat' (did you mean 'rate'?)" in text
    assert "ipv4_private" in text
    assert "series[3].generator: give exactly one of 'every' or 'probability'" in text
    assert len(e.value.problems) == 4


def test_runaway_sizes_are_refused():
    huge = {"series": [
        {"metric": "m", "labels": {"a": {"faker": "word", "count": 1000},
                                   "b": {"faker": "word", "count": 1000}},
         "generator": {"kind": "constant"}},
        {"series": "x", "values": "0x99999999999"}]}
    with pytest.raises(ScenarioError) as e:
        load_scenario(huge)
    paths = [p.path for p in e.value.problems]
    assert paths == ["series[0]", "series[1].values"]


DETERMINISM_SCRIPT = r"""
import hashlib, json, sys
from mockprom.scenario.build import build_store
from mockprom.scenario.loader import load_scenario
from mockprom.scenario.labels import Matcher
sc = load_scenario(json.loads(sys.argv[1]))
store = build_store(sc, 1_700_000_000_000)
h = hashlib.sha256()
for s in store.select([Matcher.of("__name__", "=~", ".+")], 1_699_990_000_000, 1_700_000_000_000,
                      histograms=True):
    h.update(repr(s.labels).encode()); h.update(s.ts.tobytes()); h.update(s.vals.tobytes())
    if s.hists is not None:
        h.update(repr([s.hists[i] for i in range(len(s.ts))]).encode())
print(h.hexdigest())
"""


def test_same_values_in_separate_processes():
    sc = {"seed": 99, "series": [
        {"metric": f"m_{k}", "type": TYPES.get(k, "untyped"),
         "labels": {"ip": {"faker": "ipv4_private", "count": 2}, "z": ["a", "b"]}, "generator": g}
        for k, g in SPECS.items()]}
    arg = json.dumps(sc)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    digests = set()
    for hashseed in ("1", "2"):
        env["PYTHONHASHSEED"] = hashseed
        out = subprocess.run([sys.executable, "-c", DETERMINISM_SCRIPT, arg], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        digests.add(out.stdout.strip())
    assert len(digests) == 1
    local = {}
    exec(compile(DETERMINISM_SCRIPT.replace("json.loads(sys.argv[1])", "SC").replace("print(h.hexdigest())", "OUT['d'] = h.hexdigest()"),
                 "determinism", "exec"), {"SC": sc, "OUT": local})
    assert local["d"] in digests


def test_seed_changes_values():
    def values(seed):
        store = build_store(load_scenario(gen_series(SPECS["random_walk"], seed=seed)), NOW)
        return next(iter(select(store, "m", NOW - HOUR, NOW).values())).vals
    assert np.array_equal(values(1), values(1))
    assert not np.array_equal(values(1), values(2))


def test_family_expansion_for_histogram_names():
    spec = GeneratedSeries.model_validate({"metric": "h", "type": "histogram",
                                           "generator": {"kind": "histogram", "buckets": [1, 2]}})
    fams = expand_family(spec.generator, {"__name__": "h", "job": "j"}, GenContext(0, "h", 15_000))
    names = sorted((l["__name__"], l.get("le", "")) for l, _ in fams)
    assert names == [("h_bucket", "+Inf"), ("h_bucket", "1"), ("h_bucket", "2"), ("h_count", ""),
                     ("h_sum", "")]


def test_faker_provider_short_of_distinct_values_is_a_located_problem():
    text = ("series:\n  - metric: m\n    labels:\n      flag: {faker: boolean, count: 3}\n"
            "    generator: {kind: constant}\n")
    with pytest.raises(ScenarioError) as e:
        load_scenario(text, filename="f.yaml")
    (p,) = e.value.problems
    assert (p.file, p.line, p.path) == ("f.yaml", 4, "series[0].labels.flag")
    assert "distinct values" in p.message
