"""Remote write 1.0: what a sender writes is what the store holds, to the sample and bit;
bad bodies get a 400 naming the problem, as Prometheus 2.42 answers."""

from __future__ import annotations

import math

import cramjam
import numpy as np
import pytest
import requests

from mockprom.ingest import remote_write as rw
from mockprom.scenario.labels import Matcher, make_labels
from mockprom.scenario.samples import STALE_NAN, stale_mask
from mockprom.scenario.store import StaticSource
from test_ingest_support import Served

import realprom


@pytest.fixture(scope="module")
def served():
    with Served() as s:
        yield s


def _select(state, name, mint=0, maxt=2**62):
    return state.store.select([Matcher.of("__name__", "=", name)], mint, maxt)


def _post(url, body, path="/api/v1/write"):
    return requests.post(url + path, data=body, headers={
        "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})


def test_round_trip_keeps_every_value_and_the_stale_bit_pattern(served):
    now = served.state.clock.now_ms()
    values = [1.5, -0.0, 1e-300, math.inf, -math.inf, math.nan, STALE_NAN, 42.0]
    samples = [(now - 10_000 + i * 1000, v) for i, v in enumerate(values)]
    r = _post(served.url, rw.encode([({"__name__": "rt_metric", "job": "w"}, samples)]))
    assert r.status_code == 204 and r.text == ""
    [sd] = _select(served.state, "rt_metric")
    assert sd.labels == make_labels({"__name__": "rt_metric", "job": "w"})
    assert sd.ts.tolist() == [t for t, _ in samples]
    sent = np.array(values, dtype=np.float64)
    # bit for bit: NaN stays plain NaN, the staleness marker keeps its own NaN payload
    assert sd.vals.view(np.uint64).tolist() == sent.view(np.uint64).tolist()
    assert stale_mask(sd.vals).tolist() == [False] * 6 + [True, False]


def test_managed_service_path_and_unsorted_labels(served):
    now = served.state.clock.now_ms()
    pairs = [("zone", "b"), ("__name__", "unsorted_metric"), ("app", "x"), ("empty", "")]
    r = _post(served.url, rw.encode([(pairs, [(now, 7.0)])]), path="/api/v1/prom/write")
    assert r.status_code == 204
    [sd] = _select(served.state, "unsorted_metric")
    # sorted by name, the empty label dropped (Prometheus treats empty as absent)
    assert sd.labels == (("__name__", "unsorted_metric"), ("app", "x"), ("zone", "b"))
    assert sd.vals.tolist() == [7.0]


def test_samples_not_newer_within_one_request_are_dropped_like_prometheus():
    import threading

    from mockprom.scenario.store import Store

    body = rw.encode([({"__name__": "m"}, [(3000, 3), (1000, 1), (3000, 9), (4000, 4)])])
    [d] = rw.decode(body)
    assert d.ts == [3000, 1000, 3000, 4000]  # decoded in request order
    store = Store()
    assert rw.append(store, [d], threading.Lock()) == 4  # all pass the checks...
    [sd] = store.select([Matcher.of("__name__", "=", "m")], 0, 10_000)
    assert sd.ts.tolist() == [3000, 4000] and sd.vals.tolist() == [3.0, 4.0]  # ...2 are kept


def test_out_of_order_against_stored_is_400_and_the_request_is_rolled_back(served):
    now = served.state.clock.now_ms()
    assert _post(served.url, rw.encode([({"__name__": "ooo"}, [(now, 1)])])).status_code == 204
    body = rw.encode([({"__name__": "ooo_other"}, [(now, 5)]),
                      ({"__name__": "ooo"}, [(now - 60_000, 2)])])
    r = _post(served.url, body)
    assert r.status_code == 400
    assert r.text == "out of order sample\n"
    assert r.headers["Content-Type"].startswith("text/plain")
    assert _select(served.state, "ooo_other") == []  # nothing of the request was stored


def test_duplicate_timestamp_with_another_value_is_400_same_value_is_fine(served):
    now = served.state.clock.now_ms()
    first = rw.encode([({"__name__": "dup"}, [(now, 1)])])
    assert _post(served.url, first).status_code == 204
    assert _post(served.url, first).status_code == 204  # a retry of the same sample
    r = _post(served.url, rw.encode([({"__name__": "dup"}, [(now, 2)])]))
    assert r.status_code == 400 and "duplicate sample for timestamp" in r.text
    [sd] = _select(served.state, "dup")
    assert sd.vals.tolist() == [1.0]


def _raw_request(serialized: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(serialized))


@pytest.mark.parametrize("body, expected", [
    (b"", "snappy: corrupt input"),
    (b"certainly not snappy \xff\xff\xff", "snappy: corrupt input"),
    (_raw_request(b"\xff\xff\xff garbage"), "proto: cannot unmarshal WriteRequest"),
    (b"\x80\x80\x80\x40" + b"\x00" * 10, "snappy: decoded length 134217728 exceeds limit 33554432"),
], ids=["empty", "not-snappy", "not-protobuf", "too-large"])
def test_bad_bodies_get_400_naming_the_problem_and_the_server_keeps_answering(served, body, expected):
    r = _post(served.url, body)
    assert r.status_code == 400, r.text
    assert expected in r.text
    assert r.text.endswith("\n") and "Traceback" not in r.text
    now = served.state.clock.now_ms()
    ok = _post(served.url, rw.encode([({"__name__": "after_bad_body", "case": expected}, [(now, 1)])]))
    assert ok.status_code == 204


@pytest.fixture(scope="module")
def strict():
    from test_ingest_support import StandInState

    with Served(StandInState(server={"remote_write": {"strict": True}})) as s:
        yield s


@pytest.mark.parametrize("series, expected", [
    ([("__name__", "m"), ("a", "1"), ("a", "2")], 'label name "a" is not unique'),
    ({"job": "x"}, "no __name__ label"),
    ({"__name__": "m", "bad-label": "x"}, "invalid label name 'bad-label'"),
    ({"__name__": "not a name"}, "invalid metric name 'not a name'"),
    ({"__name__": "caf\u00e9"}, "invalid metric name 'caf\u00e9'"),
], ids=["duplicate-label", "no-name", "bad-label", "bad-metric-name", "utf8-name"])
def test_strict_mode_refuses_what_the_client_should_not_send(strict, served, series, expected):
    now = strict.state.clock.now_ms()
    body = rw.encode([({"__name__": "strict_ok"}, [(now, 1)]), (series, [(now, 1)])])
    r = _post(strict.url, body)
    assert r.status_code == 400 and expected in r.text, r.text
    assert _select(strict.state, "strict_ok") == []  # all or nothing
    # without strict mode, 3.5 (the default) drops only the bad series (or stores it)
    r = _post(served.url, body)
    assert r.status_code == 204 and r.text == ""
    assert len(_select(served.state, "strict_ok")) == 1


def test_only_post_is_allowed(served):
    r = requests.get(served.url + "/api/v1/write")
    assert r.status_code == 405 and r.text == "Method Not Allowed\n"


def test_metadata_and_exemplars_are_ignored(served):
    now = served.state.clock.now_ms()
    req = rw.WriteRequest()
    ts = req.timeseries.add()
    ts.labels.add(name="__name__", value="with_extras")
    ts.samples.add(value=3.0, timestamp=now)
    series_bytes = ts.SerializeToString()
    # TimeSeries.exemplars (3): labels + value + timestamp; WriteRequest.metadata (3)
    exemplar = b"\x0a\x0b\x0a\x05trace\x12\x02ab" + b"\x11" + np.float64(1).tobytes() + b"\x18\x01"
    series_bytes += b"\x1a" + bytes([len(exemplar)]) + exemplar
    metadata = b"\x08\x01\x12\x0bwith_extras\x22\x04help"
    raw = b"\x0a" + bytes([len(series_bytes)]) + series_bytes + b"\x1a" + bytes([len(metadata)]) + metadata
    assert _post(served.url, _raw_request(raw)).status_code == 204
    [sd] = _select(served.state, "with_extras")
    assert sd.vals.tolist() == [3.0]


def test_remote_written_samples_merge_with_the_scenario_series(served):
    labels = make_labels({"__name__": "merged_metric", "job": "s"})
    t = served.state.clock.now_ms() - 10_000
    served.state.store.add(labels, StaticSource([t, t + 1000], [1.0, 2.0]))
    r = _post(served.url, rw.encode([(dict(labels), [(t + 2000, 3.0), (t + 3000, 4.0)])]))
    assert r.status_code == 204
    [sd] = _select(served.state, "merged_metric")
    assert sd.ts.tolist() == [t, t + 1000, t + 2000, t + 3000]
    assert sd.vals.tolist() == [1.0, 2.0, 3.0, 4.0]


def test_ingested_samples_are_counted_in_own_metrics(served):
    before = _ingested(served)
    now = served.state.clock.now_ms()
    body = rw.encode([({"__name__": "counted", "i": str(i)}, [(now, i), (now + 1, i)]) for i in range(5)])
    assert _post(served.url, body).status_code == 204
    assert _ingested(served) == before + 10


def _ingested(served) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    text = requests.get(served.url + "/metrics").text
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name == "mockprom_samples_ingested_total" and s.labels.get("source") == "remote_write":
                return s.value
    return 0.0
