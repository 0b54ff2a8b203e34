"""Native histograms against a real Prometheus 3.5.3 (started with
``--enable-feature=native-histograms``, loaded by remote write): the JSON of stored
histograms, bucket boundaries of every schema included, is what mockprom writes for the
same histograms."""

from __future__ import annotations

import pytest
import requests

from mockprom.api.format import sample_value
from mockprom.histograms import parse_histogram
from mockprom.histograms.wire import histogram_dict
from native_oracle import RealNativePrometheus
from realprom import require_binaries

T = 1_700_000_000  # seconds

SHAPES = {
    "schema8": "{{schema:8 count:600 sum:1e-7 buckets:[" + " ".join(["1", "2"] * 150) + "]}}",
    "schema3": "{{schema:3 count:40 sum:-3.5 z_bucket:2 z_bucket_w:0.001 offset:-20 "
               "buckets:[1 0 3 4 5] n_offset:5 n_buckets:[1 2 3 0 0 7]}}",
    "schema_m4": "{{schema:-4 count:3 sum:1e+21 buckets:[1 1 1] offset:-2}}",
    "schema1_far": "{{schema:1 count:2 sum:1 buckets:[1 1] offset:2045}}",
    "nhcb": "{{schema:-53 count:9 sum:4.25 custom_values:[-1 0.001 0.5 1000] "
            "buckets:[1 2 0 3 3]}}",
    "fractional": "{{schema:2 count:0.5 sum:0.1 z_bucket:0.25 z_bucket_w:1e-9 "
                  "buckets:[0.125 0.125]}}",
}


@pytest.fixture(scope="module")
def real():
    require_binaries("3.5")
    series = [{"labels": {"__name__": "nh", "shape": k}, "samples": [[T, v]]}
              for k, v in SHAPES.items()]
    with RealNativePrometheus(series) as prom:
        yield prom


def test_stored_histograms_read_back_as_mockprom_writes_them(real):
    r = requests.get(real.url + "/api/v1/query", params={"query": "nh", "time": T})
    r.raise_for_status()
    got = {s["metric"]["shape"]: s for s in r.json()["data"]["result"]}
    assert set(got) == set(SHAPES)
    for shape, text in SHAPES.items():
        s = got[shape]
        assert "value" not in s
        assert s["histogram"][0] == T
        want = histogram_dict(parse_histogram(text)[0], sample_value)
        assert s["histogram"][1] == want, shape
