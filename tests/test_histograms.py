"""The native histogram value type: notation, Prometheus's operations (add/sub with
schema and zero-bucket reconciliation, compaction, reset detection), quantiles and
fractions, and the JSON shape of the query API. Expected values come from Prometheus
3.5's own test data (``promql-testdata/native_histograms.test``) and from hand
computation of its documented rules."""

from __future__ import annotations

import math

import pytest

from mockprom.api.format import sample_value
from mockprom.histograms import (FloatHistogram, IncompatibleBounds, IncompatibleSchema,
                                 format_histogram, parse_histogram)
from mockprom.histograms.bounds import bucket_index, get_bound
from mockprom.histograms.float_histogram import (COUNTER_RESET, GAUGE_TYPE, NOT_COUNTER_RESET,
                                                 compact_buckets)
from mockprom.histograms.quantile import (FRACTION_NANS, NAN_RESULT, NAN_SKEW,
                                          histogram_fraction, histogram_quantile,
                                          histogram_variance)
from mockprom.histograms.wire import histogram_dict, histogram_json
from mockprom.scenario.notation import expand, parse_series_line


def h(text: str) -> FloatHistogram:
    return parse_histogram(text)[0]


def same(a: FloatHistogram, b: FloatHistogram) -> bool:
    """Equal after compaction, as promqltest compares histograms."""
    return a.copy().compact(0).equals(b.copy().compact(0))


# -- notation ----------------------------------------------------------------------------

def test_notation_fields_and_defaults():
    x = h("{{schema:1 sum:-0.3 count:3.1 z_bucket:7.1 z_bucket_w:0.05 buckets:[5.1 10 7] "
          "offset:-3 n_buckets:[4.1 5] n_offset:-5 counter_reset_hint:gauge}}")
    assert (x.schema, x.sum, x.count, x.zero_count, x.zero_threshold) == (1, -0.3, 3.1, 7.1, 0.05)
    assert x.positive_spans == [[-3, 3]] and x.positive_buckets == [5.1, 10, 7]
    assert x.negative_spans == [[-5, 2]] and x.negative_buckets == [4.1, 5]
    assert x.counter_reset_hint == GAUGE_TYPE
    empty = h("{{}}")
    assert (empty.schema, empty.count, empty.positive_spans) == (0, 0, [])
    nhcb = h("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}")
    assert nhcb.uses_custom_buckets() and nhcb.custom_values == (5.0, 10.0)
    nan = h("{{count:NaN sum:Inf}}")
    assert math.isnan(nan.count) and nan.sum == math.inf


@pytest.mark.parametrize("bad", ["{{schema:x}}", "{{foo:1}}", "{{buckets:1 2}}",
                                 "{{sum:1", "{{counter_reset_hint:maybe}}", "{{sum:1 sum:2}}"])
def test_bad_notation_is_refused_with_a_reason(bad):
    with pytest.raises(ValueError):
        expand(bad)


def test_expansion_repeats_adds_and_subtracts():
    # From native_histograms.test: 10 increments of one bucket.
    _, vals = parse_series_line("incr_histogram {{schema:0 sum:4 count:4 buckets:[1 2 1]}}"
                                "+{{sum:2 count:1 buckets:[1] offset:1}}x10")
    assert len(vals) == 11
    assert same(vals[10], h("{{count:14 sum:24 buckets:[1 12 1]}}"))
    rep = expand("{{sum:5 count:4 buckets:[1 2 1]}}x10")
    assert len(rep) == 11 and all(same(v, rep[0]) for v in rep)
    assert rep[0] is not rep[1]  # copies, not the same object
    down = expand("{{sum:10 count:10 buckets:[10]}}-{{sum:1 count:1 buckets:[1]}}x3")
    assert [v.count for v in down] == [10, 9, 8, 7]
    mixed = expand("1 _ stale {{}} 2x1")
    assert mixed[0] == 1 and mixed[1] is None and math.isnan(mixed[2])
    assert isinstance(mixed[3], FloatHistogram) and mixed[4:] == [2, 2]


def test_increment_of_lower_resolution_is_refused():
    with pytest.raises(ValueError, match="cannot merge from schema"):
        expand("{{schema:1 count:1 buckets:[1]}}+{{schema:0 count:1 buckets:[1]}}x2")


def test_format_is_the_test_expression():
    x = h("{{schema:1 count:5 sum:3 z_bucket:1 z_bucket_w:0.5 buckets:[1 0 2] offset:2 "
          "n_buckets:[1]}}")
    assert format_histogram(x) == ("{{schema:1 count:5 sum:3 z_bucket:1 z_bucket_w:0.5 "
                                   "offset:2 buckets:[1 0 2] n_buckets:[1]}}")
    assert parse_histogram(format_histogram(x))[0].equals(x)


# -- arithmetic ----------------------------------------------------------------------------

def test_sum_of_histograms_with_different_schemas_and_zero_buckets():
    # native_histograms.test: sum(histogram_sum) at 10m.
    parts = [h("{{schema:0 count:25 sum:1234.5 z_bucket:4 z_bucket_w:0.001 buckets:[1 2 0 1 1] "
               "n_buckets:[2 4 0 0 1 9]}}"),
             h("{{schema:0 count:41 sum:2345.6 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] "
               "n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}"),
             h("{{schema:0 count:41 sum:1111.1 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] "
               "n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}"),
             h("{{schema:1 count:0}}")]
    total = parts[0].copy()
    for p in parts[1:]:
        total.add(p)
    assert same(total, h("{{schema:0 count:107 sum:4691.2 z_bucket:14 z_bucket_w:0.001 "
                         "buckets:[3 8 2 5 3 2 2] n_buckets:[2 6 8 4 15 9 0 0 0 10 10 4]}}"))


def test_add_reduces_the_receiver_to_the_lower_schema():
    # schema 1 buckets 0..3: (√½,1] (1,√2] (√2,2] (2,2√2] -> schema 0: (½,1] (1,2] (2,4]
    hi = h("{{schema:1 count:4 sum:4 buckets:[1 1 1 1]}}")
    lo = h("{{schema:0 count:1 sum:1 buckets:[1]}}")  # (½,1]
    out = hi.copy().add(lo)
    assert out.schema == 0
    assert same(out, h("{{schema:0 count:5 sum:5 buckets:[2 2 1]}}"))


def test_zero_threshold_reconciliation_moves_buckets_into_the_zero_bucket():
    a = h("{{count:2 z_bucket:1 z_bucket_w:0.5 buckets:[1]}}")  # (0.5,1]
    b = h("{{count:2 z_bucket:1 z_bucket_w:1 buckets:[0 1] }}")  # (1,2]
    out = a.copy().add(b)
    assert out.zero_threshold == 1 and out.zero_count == 3
    assert same(out, h("{{count:4 z_bucket:3 z_bucket_w:1 buckets:[0 1]}}"))


def test_sub_and_scalar_arithmetic():
    a = h("{{count:10 sum:20 buckets:[4 6]}}")
    b = h("{{count:4 sum:5 buckets:[1 3] offset:1}}")
    assert same(a.copy().sub(b), h("{{count:6 sum:15 buckets:[4 5 -3]}}"))
    assert same(a.copy().mul(0.5), h("{{count:5 sum:10 buckets:[2 3]}}"))
    d = a.copy().div(0)
    assert d.count == math.inf and d.positive_buckets == [] and d.positive_spans == []


def test_custom_bucket_histograms_only_combine_with_equal_bounds():
    x = h("{{schema:-53 sum:1 count:1 custom_values:[2] buckets:[1]}}")
    y = h("{{schema:-53 sum:3 count:4 custom_values:[2] buckets:[7]}}")
    assert same(x.copy().add(y), h("{{schema:-53 sum:4 count:5 custom_values:[2] buckets:[8]}}"))
    with pytest.raises(IncompatibleBounds):
        x.copy().add(h("{{schema:-53 count:1 custom_values:[5 10] buckets:[1]}}"))
    with pytest.raises(IncompatibleSchema):
        x.copy().add(h("{{count:1 buckets:[1]}}"))


def test_counter_reset_hints_combine_as_prometheus_does():
    g = h("{{count:1 counter_reset_hint:gauge}}")
    r = h("{{count:1 counter_reset_hint:reset}}")
    n = h("{{count:1 counter_reset_hint:not_reset}}")
    assert r.copy().add(g).counter_reset_hint == GAUGE_TYPE
    assert r.copy().add(n).counter_reset_hint == 0  # a collision becomes unknown
    assert n.copy().add(n).counter_reset_hint == NOT_COUNTER_RESET


def test_compact_removes_empty_buckets_and_merges_spans():
    buckets, spans = compact_buckets([0, 1, 0, 0, 2, 0], [[-2, 6]], 0)
    assert (buckets, spans) == ([1, 2], [[-1, 1], [2, 1]])
    buckets, spans = compact_buckets([1, 2], [[0, 1], [0, 1]], 0)
    assert (buckets, spans) == ([1, 2], [[0, 2]])
    buckets, spans = compact_buckets([1, 2], [[0, 1], [1, 1]], 1)
    assert (buckets, spans) == ([1, 0, 2], [[0, 3]])


@pytest.mark.parametrize("prev, curr, reset", [
    ("{{count:5 buckets:[2 3]}}", "{{count:6 buckets:[2 4]}}", False),
    ("{{count:5 buckets:[2 3]}}", "{{count:6 buckets:[1 5]}}", True),  # a bucket went down
    ("{{count:5 buckets:[2 3]}}", "{{count:4 buckets:[2 3]}}", True),  # count went down
    ("{{count:5 buckets:[2 3]}}", "{{count:5 buckets:[3] offset:1}}", True),  # bucket gone
    ("{{count:5 buckets:[0 3]}}", "{{count:5 buckets:[3] offset:1}}", False),  # empty gone
    ("{{schema:0 count:5 buckets:[2 3]}}", "{{schema:1 count:9 buckets:[2 3 4 5]}}", True),
    ("{{schema:1 count:4 buckets:[1 1 1 1]}}", "{{schema:0 count:6 buckets:[2 3 1]}}", False),
    ("{{schema:1 count:4 buckets:[1 1 1 1]}}", "{{schema:0 count:5 buckets:[2 3]}}", True),
    ("{{count:5 z_bucket:1 z_bucket_w:1}}", "{{count:5 z_bucket:1 z_bucket_w:0.5}}", True),
    ("{{count:5 buckets:[2 3]}}", "{{count:1 counter_reset_hint:not_reset}}", False),
    ("{{count:5 buckets:[2 3]}}", "{{count:9 buckets:[2 3] counter_reset_hint:reset}}", True),
])
def test_detect_reset(prev, curr, reset):
    assert h(curr).detect_reset(h(prev)) is reset


def test_equals_compares_layout_and_bits():
    a = h("{{count:2 buckets:[1 1]}}")
    assert a.equals(a.copy())
    assert not a.equals(h("{{count:2 buckets:[1 1 0]}}"))  # an extra (empty) bucket
    assert h("{{sum:NaN}}").equals(h("{{sum:NaN}}"))


# -- bounds and iteration ---------------------------------------------------------------

def test_bucket_bounds_follow_the_schema():
    assert get_bound(0, 0) == 1 and get_bound(1, 0) == 2 and get_bound(-1, 0) == 0.5
    assert get_bound(1, 1) == 1.4142135623730951 or get_bound(1, 1) == 2 * 0.7071067811865475
    assert get_bound(1, -1) == 4 and get_bound(1, -4) == 65536
    assert get_bound(1024, 0) == 1.7976931348623157e308  # the last finite bucket
    for schema in range(-4, 9):
        for v in (1e-9, 0.3, 1, 1.5, 2, 1000.5):
            i = bucket_index(v, schema)
            assert get_bound(i - 1, schema) < v <= get_bound(i, schema)


def test_all_bucket_iterator_orders_and_clips_at_the_zero_bucket():
    x = h("{{schema:0 count:7 z_bucket:1 z_bucket_w:0.6 buckets:[1 2] n_buckets:[3]}}")
    got = [(b.lower, b.upper, b.lower_inclusive, b.upper_inclusive, b.count)
           for b in x.all_bucket_iterator()]
    assert got == [(-1, -0.6, True, False, 3), (-0.6, 0.6, True, True, 1),
                   (0.6, 1, False, True, 1), (1, 2, False, True, 2)]
    assert [b.count for b in x.all_reverse_bucket_iterator()] == [2, 1, 1, 3]


# -- quantiles, fractions, spread ---------------------------------------------------------

def test_quantile_interpolates_exponentially_in_exponential_buckets():
    single = h("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}")
    assert histogram_quantile(0.5, single) == (1.414213562373095, [])  # Go's Exp2(0.5)
    assert histogram_quantile(1.5, single)[0] == math.inf
    assert histogram_quantile(-1, single)[0] == -math.inf
    assert math.isnan(histogram_quantile(0.5, h("{{}}"))[0])
    assert histogram_fraction(1, 2, single) == (0.5, [])
    assert histogram_fraction(0, 8, single) == (1.0, [])


def test_quantile_in_custom_buckets_is_linear_with_open_ends():
    nhcb = h("{{schema:-53 count:12 sum:9 custom_values:[0.1 0.2 1] buckets:[5 2 4 1]}}")
    assert histogram_quantile(0.5, nhcb)[0] == pytest.approx(0.15)
    assert histogram_quantile(1, nhcb)[0] == 1  # the +Inf bucket: its lower bound
    neg = h("{{schema:-53 count:3 custom_values:[-0.2 -0.1 0.3] buckets:[1 1 0 1]}}")
    assert histogram_quantile(0, neg)[0] == -0.2  # the first bucket ends at or below 0


def test_nan_observations_are_reported():
    all_nan = h("{{schema:0 count:3 sum:NaN}}")
    some_nan = h("{{schema:0 count:15 sum:NaN buckets:[12]}}")
    v, infos = histogram_quantile(1, all_nan)
    assert math.isnan(v) and infos == [NAN_RESULT]
    assert histogram_quantile(0.8, some_nan) == (1.0, [NAN_SKEW])
    assert histogram_quantile(0.4, some_nan) == (0.7071067811865475, [NAN_SKEW])
    assert histogram_fraction(-math.inf, math.inf, some_nan) == (0.8, [FRACTION_NANS])
    assert histogram_fraction(-math.inf, 0.7071067811865475, all_nan) == (0.0, [FRACTION_NANS])


def test_variance_uses_geometric_means_and_custom_bucket_midpoints():
    # histograms.test: histogram_stdvar of the NHCB form of testhistogram3.
    pos = h("{{schema:-53 count:110 sum:330 custom_values:[0 0.1 0.2 1] buckets:[0 50 20 40 0]}}")
    neg = h("{{schema:-53 count:20 sum:80 custom_values:[-0.25 -0.2 -0.1 0.3] "
            "buckets:[0 10 10 0 0]}}")
    assert histogram_variance(pos) == pytest.approx(7.527045454545455, rel=1e-12)
    assert histogram_variance(neg) == pytest.approx(17.5365625, rel=1e-12)
    exp = h("{{schema:0 count:2 sum:3 buckets:[1 1] offset:1}}")  # (1,2] and (2,4]
    mean = 1.5
    want = ((math.sqrt(2) - mean) ** 2 + (math.sqrt(8) - mean) ** 2) / 2
    assert histogram_variance(exp) == pytest.approx(want, rel=1e-12)


# -- the API shape ---------------------------------------------------------------------------

def test_json_shape_and_boundary_rules():
    x = h("{{schema:0 count:42 sum:34593.34 z_bucket:3 z_bucket_w:0.25 buckets:[12 21 0 6] "
          "offset:-1 n_buckets:[1]}}")
    assert histogram_dict(x, sample_value) == {
        "count": "42", "sum": "34593.34",
        "buckets": [[1, "-1", "-0.5", "1"], [3, "-0.25", "0.25", "3"], [0, "0.25", "0.5", "12"],
                    [0, "0.5", "1", "21"], [0, "2", "4", "6"]]}
    assert histogram_json(h("{{}}"), sample_value) == '{"count":"0","sum":"0"}'
    nhcb = h("{{schema:-53 count:2 custom_values:[1] buckets:[1 1]}}")
    assert histogram_dict(nhcb, sample_value)["buckets"] == [[3, "-Inf", "1", "1"],
                                                             [0, "1", "+Inf", "1"]]


def test_query_results_carry_histograms_as_the_api_shows_them():
    from mockprom.api.format import result_json
    from mockprom.promql.values import Matrix, Sample, Series, Vector
    x = h("{{count:2 sum:3 buckets:[2]}}")
    vec = Vector([Sample((("__name__", "a"),), 1000, 1.5),
                  Sample((("__name__", "b"),), 1000, 0.0, histogram=x)])
    assert result_json(vec) == (
        b'{"resultType":"vector","result":[{"metric":{"__name__":"a"},"value":[1,"1.5"]},'
        b'{"metric":{"__name__":"b"},"histogram":[1,{"count":"2","sum":"3","buckets":'
        b'[[0,"0.5","1","2"]]}]}]}')
    mat = Matrix([Series((("__name__", "a"),), [(1000, 1.0)], [(2000, x)]),
                  Series((("__name__", "b"),), [], [(1500, x)])])
    assert result_json(mat) == (
        b'{"resultType":"matrix","result":[{"metric":{"__name__":"a"},"values":[[1,"1"]],'
        b'"histograms":[[2,{"count":"2","sum":"3","buckets":[[0,"0.5","1","2"]]}]]},'
        b'{"metric":{"__name__":"b"},"histograms":[[1.500,{"count":"2","sum":"3","buckets":'
        b'[[0,"0.5","1","2"]]}]]}]}')
