"""The real-world corpus: 244 requests from public dashboards and alert rules, answered by
mockprom holding ``../shared/realworld-promql/DATA.json`` and compared with the answers of
a real Prometheus 2.42 recorded in ``EXPECTED.json`` (see that directory's README), and
with a real Prometheus 3.5.3 holding the same data, asked the same requests in the same
run (mockprom then emulates 3.5.3).

Compared: HTTP status, ``status`` and ``errorType`` exactly; the set of label sets;
timestamps exactly; values within 1e-6 relative (NaN == NaN, ±Inf exactly); series order
only for instant ``sort``/``sort_desc`` queries. Known failures, listed with a reason in
``realworld_known_failures.txt``, are strict xfails: fixing one makes the test fail until
its line is removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re

import pytest

import realprom

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.normpath(os.path.join(REPO, "..", "shared", "realworld-promql"))
KNOWN_FAILURES = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "realworld_known_failures.txt")
ABSENT = f"real-world corpus not found at {CORPUS} (expected ../shared beside the repo)"


def load_known_failures(path: str = KNOWN_FAILURES) -> dict[str, str]:
    """``id reason...`` per line; blank lines and ``#`` comments ignored."""
    known = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    qid, _, reason = line.partition(" ")
                    known[qid] = reason.strip() or "known failure"
    return known


def load_expected() -> dict[str, dict]:
    path = os.path.join(CORPUS, "EXPECTED.json")
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as f:
        return json.load(f)["results"]


EXPECTED = load_expected()
KNOWN = load_known_failures()


def _params():
    if not EXPECTED:
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT), id="corpus-absent")]
    out = []
    for qid in EXPECTED:
        marks = [pytest.mark.xfail(reason=KNOWN[qid], strict=True)] if qid in KNOWN else []
        out.append(pytest.param(qid, marks=marks, id=qid))
    return out


@pytest.fixture(scope="module")
def outcomes(request):
    """Per query id, whether mockprom's answer matched; printed as a summary at the end."""
    results: dict[str, bool] = {}
    yield results
    if results:
        passed = sum(results.values())
        line = f"real-world corpus: {passed} of {len(EXPECTED)} passed"
        if len(results) < len(EXPECTED):
            line += f" ({len(results)} run)"
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            print("\n" + line)


@pytest.fixture(scope="module")
def corpus_server():
    """mockprom serving DATA.json (the bare scenario shape), loaded by path as a user
    would load it."""
    from mockprom.server import MockPrometheus

    with MockPrometheus(scenario=os.path.join(CORPUS, "DATA.json"), host="127.0.0.1", port=0, version="2.42.0") as prom:
        yield prom


def _ordered(entry: dict) -> bool:
    query = dict(entry["request"]["params"]).get("query", "")
    return entry["type"] == "instant" and re.match(r"\s*sort(_desc)?\s*\(", query) is not None


@pytest.mark.parametrize("qid", _params())
def test_realworld_query(corpus_server, outcomes, qid):
    entry = EXPECTED[qid]
    req = entry["request"]
    params: dict[str, list[str]] = {}
    for k, v in req["params"]:
        params.setdefault(k, []).append(v)
    status, body, text = realprom.get(corpus_server.url, req["path"], params, req["method"])
    want = {k: entry[k] for k in ("status", "data", "errorType", "error", "warnings")}
    diffs = realprom.compare_answers(entry["http_status"], want, status, body,
                                     kind=realprom.answer_kind(req["path"]),
                                     ordered=_ordered(entry))
    outcomes[qid] = not diffs
    assert not diffs, (f"{qid}: {req['path']} {req['params']}\n  " + "\n  ".join(diffs[:12])
                       + f"\n mockprom: {text[:500]}")


# -- the same requests against a real Prometheus 3.5.3 --------------------------------------

@pytest.fixture(scope="module")
def corpus_pair_3_5():
    """A real 3.5.3 and mockprom at 3.5.3, both holding DATA.json."""
    from mockprom.server import MockPrometheus

    realprom.require_binaries("3.5")
    with open(os.path.join(CORPUS, "DATA.json"), encoding="utf-8") as f:
        series = json.load(f)["series"]
    with realprom.RealPrometheus(series, line="3.5") as real, \
            MockPrometheus(scenario=os.path.join(CORPUS, "DATA.json"), host="127.0.0.1",
                           port=0, version="3.5.3") as mock:
        yield real.url, mock.url


@pytest.fixture(scope="module")
def outcomes_3_5(request):
    results: dict[str, bool] = {}
    yield results
    if results:
        line = f"real-world corpus against a real 3.5.3: {sum(results.values())} of " \
               f"{len(results)} passed"
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            print("\n" + line)


def _params_3_5():
    if not EXPECTED:
        return [pytest.param(None, marks=pytest.mark.skip(reason=ABSENT), id="corpus-absent")]
    return list(EXPECTED)


@pytest.mark.realprom
@pytest.mark.parametrize("qid", _params_3_5())
def test_realworld_query_against_3_5(corpus_pair_3_5, outcomes_3_5, qid):
    """The request of EXPECTED.json sent to both servers; compared as with 2.42, and also
    the error texts, warnings and infos (3.x's annotations) and the printing of values."""
    real_url, mock_url = corpus_pair_3_5
    entry = EXPECTED[qid]
    req = entry["request"]
    params: dict[str, list[str]] = {}
    for k, v in req["params"]:
        params.setdefault(k, []).append(v)
    ws, wb, wt = realprom.get(real_url, req["path"], params, req["method"])
    gs, gb, gt = realprom.get(mock_url, req["path"], params, req["method"])
    assert wb is not None, f"Prometheus answered non-JSON: {wt[:200]}"
    diffs = realprom.compare_answers(ws, wb, gs, gb, kind=realprom.answer_kind(req["path"]),
                                     ordered=_ordered(entry), strict=True)
    outcomes_3_5[qid] = not diffs
    assert not diffs, (f"{qid}: {req['path']} {req['params']}\n  " + "\n  ".join(diffs[:12])
                       + f"\n Prometheus: {wt[:500]}\n mockprom:   {gt[:500]}")


def test_known_failures_name_real_queries():
    if not EXPECTED:
        pytest.skip(ABSENT)
    unknown = sorted(set(KNOWN) - set(EXPECTED))
    assert not unknown, f"realworld_known_failures.txt lists unknown ids: {unknown}"
