"""The ``native_histogram`` generator and native histogram samples in the store: counter
histograms whose buckets never go down between resets, gauge histograms, custom-bucket
histograms, distributions that show in the quantiles, and histogram samples stored
beside floats (notation, remote-write style appends, deletes, series listing)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mockprom.histograms import FloatHistogram, GAUGE_TYPE, HistogramColumn
from mockprom.histograms.quantile import histogram_fraction, histogram_quantile
from mockprom.scenario.build import build_store
from mockprom.scenario.labels import Matcher, make_labels
from mockprom.scenario.loader import ScenarioError, load_scenario
from mockprom.scenario.notation import expand
from mockprom.scenario.store import StaticSource, Store

NOW = 1_700_000_000_000
MIN, HOUR = 60_000, 3_600_000


def series(generator: dict, typ="histogram", labels=None, interval="15s"):
    return {"seed": 7, "series": [{"metric": "lat", "type": typ, "labels": labels or {"job": "a"},
                                   "interval": interval, "generator": generator}]}


def hists(store, lo, hi, name="lat"):
    out = store.select([Matcher.of("__name__", "=", name)], lo, hi, histograms=True)
    assert out, "no series selected"
    return out[0]


def test_counter_histogram_buckets_never_decrease_between_resets():
    store = build_store(load_scenario(series({"kind": "native_histogram", "rate": 50,
                                              "reset_every": "1h", "jitter": 1})), NOW)
    sd = hists(store, NOW - 6 * HOUR, NOW)
    col = sd.hists
    assert isinstance(col, HistogramColumn) and len(col) == len(sd.ts) == 6 * 240
    resets = [i for i in range(1, len(col)) if col[i].detect_reset(col[i - 1])]
    assert len(resets) == 6  # one per hour, nothing spurious
    gaps = np.diff(sd.ts[resets])
    assert all(g in (HOUR - 15_000, HOUR, HOUR + 15_000) for g in gaps)
    for i in (0, 100, 1000):
        h = col[i]
        assert h.count == h.zero_count + sum(h.positive_buckets) + sum(h.negative_buckets)
        assert h.count == int(h.count) and h.counter_reset_hint == 0
    assert math.isnan(sd.vals[0])  # no float value behind a histogram sample


def test_counter_histogram_rate_shows_the_distribution():
    spec = {"kind": "native_histogram", "rate": 100, "schema": 3, "drift": 0,
            "distribution": {"lognormal": {"median": 0.2, "sigma": 0.5}}}
    store = build_store(load_scenario(series(spec)), NOW)
    sd = hists(store, NOW - 10 * MIN, NOW)
    col = sd.hists
    last, first = col[len(col) - 1], col[0]
    increase = last.copy().sub(first).compact(0)
    seconds = (sd.ts[-1] - sd.ts[0]) / 1000
    assert increase.count == pytest.approx(100 * seconds, rel=0.02)
    median, _ = histogram_quantile(0.5, increase)
    p99, _ = histogram_quantile(0.99, increase)
    assert median == pytest.approx(0.2, rel=0.06)  # schema 3 buckets are ~9% wide
    assert p99 == pytest.approx(0.2 * math.exp(2.326 * 0.5), rel=0.08)


def test_drift_moves_the_distribution_over_its_period():
    spec = {"kind": "native_histogram", "rate": 200, "schema": 4, "drift": 1.5,
            "drift_period": "2h", "distribution": {"normal": {"mean": 10, "stddev": 1}}}
    store = build_store(load_scenario(series(spec, interval="1m")), NOW)
    col = hists(store, NOW - 4 * HOUR, NOW).hists
    medians = []
    for i in range(10, len(col), 10):
        d = col[i].copy().sub(col[i - 10])
        medians.append(histogram_quantile(0.5, d)[0])
    assert min(medians) < 10.4 and max(medians) > 11.1  # between the two shapes
    assert all(9.5 < m < 12 for m in medians)


def test_gauge_histogram_counts_one_interval_and_is_marked_gauge():
    spec = {"kind": "native_histogram", "gauge": True, "rate": 20, "jitter": 0.2, "schema": 1,
            "distribution": {"normal": {"mean": 0, "stddev": 3}}}
    store = build_store(load_scenario(series(spec, typ="gaugehistogram")), NOW)
    col = hists(store, NOW - 30 * MIN, NOW).hists
    counts = col.count
    assert np.all(counts <= 20 * 15 * 1.2) and np.all(counts >= 20 * 15 * 0.8 - 40)
    h = col[5]
    assert h.counter_reset_hint == GAUGE_TYPE
    assert h.negative_buckets and h.positive_buckets  # both signs observed
    share_below_zero = histogram_fraction(-math.inf, 0, h)[0]
    assert 0.35 < share_below_zero < 0.65


def test_custom_buckets_make_an_nhcb_and_bimodal_shows_both_modes():
    spec = {"kind": "native_histogram", "rate": 30, "drift": 0,
            "custom_buckets": [0.05, 0.1, 0.5, 1, 2],
            "distribution": {"bimodal": {"first": {"lognormal": {"median": 0.03, "sigma": 0.2}},
                                         "second": {"lognormal": {"median": 1.4, "sigma": 0.1}},
                                         "weight": 0.25}}}
    store = build_store(load_scenario(series(spec)), NOW)
    h = hists(store, NOW - MIN, NOW).hists[0]
    assert h.schema == -53 and h.custom_values == (0.05, 0.1, 0.5, 1.0, 2.0)
    low = histogram_fraction(-math.inf, 0.05, h)[0]
    high = histogram_fraction(1, 2, h)[0]
    assert low == pytest.approx(0.75, abs=0.02) and high == pytest.approx(0.25, abs=0.02)


def test_wide_distributions_get_a_lower_schema_as_clients_do():
    spec = {"kind": "native_histogram", "schema": 8,
            "distribution": {"lognormal": {"median": 1, "sigma": 3}}}
    store = build_store(load_scenario(series(spec)), NOW)
    h = hists(store, NOW - MIN, NOW).hists[0]
    assert h.schema < 8
    assert sum(n for _, n in h.positive_spans) <= 160


PURE = {"kind": "native_histogram", "rate": 30, "schema": 3, "jitter": 0.5,
        "reset_every": "40m", "distribution": {"lognormal": {"median": 0.2, "sigma": 0.7}}}


def _one(scenario: dict, labels: dict, t: int, loaded_at: int = NOW) -> FloatHistogram:
    store = build_store(load_scenario(scenario), loaded_at)
    matchers = [Matcher.of(k, "=", v) for k, v in {"__name__": "lat", **labels}.items()]
    (sd,) = store.select(matchers, t, t, histograms=True)
    assert sd.ts.tolist() == [t]
    return sd.hists[0]


def test_a_sample_is_a_pure_function_of_seed_labels_and_time():
    """The same (seed, labels, time) gives the same histogram whatever else the scenario
    holds, in whatever order, whenever it was loaded; another seed or other labels give
    another histogram."""
    t = (NOW - 7 * MIN) // 15_000 * 15_000  # on the 15 s grid
    alone = {"seed": 7, "series": [{"metric": "lat", "type": "histogram",
                                    "labels": {"job": "a"}, "generator": PURE}]}
    crowded = {"seed": 7, "series": [
        {"metric": "other", "generator": {"kind": "sine"}},
        {"metric": "lat", "type": "histogram", "labels": {"job": ["z", "a", "b"]},
         "generator": PURE},
        {"metric": "lat", "type": "histogram", "labels": {"job": "c"},
         "generator": {**PURE, "rate": 1}}]}
    h = _one(alone, {"job": "a"}, t)
    assert h.count > 0 and h.positive_buckets
    assert _one(crowded, {"job": "a"}, t) == h
    assert _one(alone, {"job": "a"}, t, loaded_at=NOW + 3 * HOUR) == h
    assert _one(alone, {"job": "a"}, t, loaded_at=NOW - 30 * 86_400_000) == h
    assert _one({**alone, "seed": 8}, {"job": "a"}, t) != h
    assert _one(crowded, {"job": "b"}, t) != h
    assert _one(alone, {"job": "a"}, t + 15_000) != h


@pytest.mark.parametrize("distribution, mean, below_median", [
    ({"exponential": {"mean": 0.05}}, 0.05, 1 - math.exp(-math.log(2))),
    ({"normal": {"mean": 4, "stddev": 1}}, 4, 0.5),
    ({"lognormal": {"median": 0.3, "sigma": 0.4}}, 0.3 * math.exp(0.08), 0.5),
    ({"uniform": {"min": 1, "max": 3}}, 2, 0.5),
    ({"bimodal": {"first": {"normal": {"mean": 1, "stddev": 0.1}},
                  "second": {"normal": {"mean": 5, "stddev": 0.1}}, "weight": 0.5}}, 3, 0.5),
])
def test_each_distribution_shows_in_the_observed_mean_and_median(distribution, mean,
                                                                 below_median):
    """histogram_avg of an hour's increase is the distribution's mean, and the share of
    observations below its median (exponential: mean * ln 2) is about one half."""
    spec = {"kind": "native_histogram", "rate": 200, "schema": 5, "drift": 0,
            "distribution": distribution}
    sd = hists(build_store(load_scenario(series(spec)), NOW), NOW - HOUR, NOW)
    col = sd.hists
    inc = col[len(col) - 1].copy().sub(col[0])
    assert inc.sum / inc.count == pytest.approx(mean, rel=0.01)
    median = {"exponential": 0.05 * math.log(2), "normal": 4, "lognormal": 0.3,
              "uniform": 2, "bimodal": 3}[next(iter(distribution))]
    share = histogram_fraction(-math.inf, median, inc)[0]
    assert share == pytest.approx(below_median, abs=0.03)


@pytest.mark.parametrize("generator, typ, where", [
    ({"kind": "native_histogram", "schema": 9}, "histogram", "schema"),
    ({"kind": "native_histogram", "custom_buckets": [1, 0.5]}, "histogram", "custom_buckets"),
    ({"kind": "native_histogram"}, "counter", "native_histogram generator needs type"),
    ({"kind": "dropout", "of": {"kind": "native_histogram"}}, "untyped", "dropout"),
])
def test_bad_native_generators_are_refused(generator, typ, where):
    with pytest.raises(ScenarioError) as e:
        load_scenario(series(generator, typ=typ))
    assert where in str(e.value)


# -- the store -------------------------------------------------------------------------

def test_histogram_samples_are_only_selected_when_asked_for():
    sc = {"start": 0, "interval": "1m", "series": [
        {"series": 'mixed{a="1"}', "values": "1 {{count:2 sum:3 buckets:[2]}} 3 stale"},
        {"series": "only_hist", "values": "{{count:1}}x3"}]}
    store = build_store(load_scenario(sc), NOW)
    floats = {s.labels: s for s in store.select([Matcher.of("__name__", "=~", ".+")], 0, 10 * MIN)}
    mixed = floats[make_labels({"__name__": "mixed", "a": "1"})]
    assert mixed.ts.tolist() == [0, 2 * MIN, 3 * MIN] and mixed.hists is None
    assert make_labels({"__name__": "only_hist"}) not in floats
    both = {s.labels: s for s in store.select([Matcher.of("__name__", "=~", ".+")], 0, 10 * MIN,
                                              histograms=True)}
    mixed = both[make_labels({"__name__": "mixed", "a": "1"})]
    assert mixed.ts.tolist() == [0, MIN, 2 * MIN, 3 * MIN]
    assert [h is not None for h in mixed.hists] == [False, True, False, False]
    assert mixed.hists[1].count == 2
    # listing series and labels counts histogram samples as samples
    names = store.label_values("__name__", [], 0, 10 * MIN)
    assert names == ["mixed", "only_hist"]
    assert store.has_samples(make_labels({"__name__": "only_hist"}), 0, 0)


def test_appended_histograms_are_queryable_and_ordered():
    store = Store()
    labels = make_labels({"__name__": "rw_hist"})
    src = store.appendable(labels)
    h1, h2 = expand("{{count:1 buckets:[1]}} {{count:2 buckets:[2]}}")
    src.append_histogram(1000, h1)
    src.append(2000, 5.0)
    src.append_histogram(3000, h2)
    src.append_histogram(3000, h2.copy())  # an identical duplicate is accepted
    with pytest.raises(ValueError, match="duplicate"):
        src.append_histogram(3000, h1)
    with pytest.raises(ValueError, match="out of order"):
        src.append_histogram(2500, h1)
    sd = store.select([Matcher.of("__name__", "=", "rw_hist")], 0, 5000, histograms=True)[0]
    assert sd.ts.tolist() == [1000, 2000, 3000]
    assert sd.hists[0].equals(h1) and sd.hists[1] is None and sd.vals[1] == 5.0
    assert store.select([Matcher.of("__name__", "=", "rw_hist")], 0, 5000)[0].ts.tolist() == [2000]


def test_deleted_histogram_samples_are_gone():
    store = Store()
    labels = make_labels({"__name__": "h"})
    store.add(labels, StaticSource([0, 1000, 2000], expand("{{count:1}} 7 {{count:3}}")))
    store.delete([Matcher.of("__name__", "=", "h")], 1500, 2500)
    sd = store.select([Matcher.of("__name__", "=", "h")], 0, 5000, histograms=True)[0]
    assert sd.ts.tolist() == [0, 1000]
    assert isinstance(sd.hists[0], FloatHistogram) and sd.hists[1] is None


def test_merged_sources_keep_histograms():
    store = Store()
    labels = make_labels({"__name__": "h"})
    store.add(labels, StaticSource([0, 2000], expand("{{count:1}} {{count:3}}")))
    store.add(labels, StaticSource([1000, 2000], [4.0, 5.0]))  # the later source wins
    sd = store.select([Matcher.of("__name__", "=", "h")], 0, 5000, histograms=True)[0]
    assert sd.ts.tolist() == [0, 1000, 2000]
    assert sd.hists[0].count == 1 and sd.hists[1] is None and sd.hists[2] is None
    assert sd.vals[2] == 5.0
