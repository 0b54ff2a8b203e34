"""The upstream PromQL corpus of Prometheus v3.5 (``promql/promqltest/testdata``, 17 files,
1,479 evaluations), run from ``../shared/prometheus-3.5/promql-testdata`` as Prometheus
3.5.3 with the feature flags upstream's test engine turns on
(``promqltest.UPSTREAM_FEATURES``): once through ``Engine`` (ids ``engine:file:LINE``)
and once through the HTTP API of a ``MockPrometheus`` with ``server.version: 3.5.3``
(ids ``http:file:LINE``), each as upstream's v3.5 ``test.go`` checks it (instant queries
also as the middle step of a three-step range query; annotations as ``eval_warn``,
``eval_info`` and ``expect`` lines ask).

Native histograms are loaded and compared as upstream's ``test.go`` does (``{{...}}``
samples, ``load_with_nhcb``; ``compareNativeHistogram``; over HTTP the histogram objects
of the API: count, sum and every non-empty bucket with its boundaries). Nothing is
skipped.

Where the real Prometheus 3.5.3 answers differently from the corpus, the real server
wins: such evaluations are listed in ``REAL_SERVER_WINS`` with what 3.5.3 answers.
Known failures are listed in ``promql_known_failures_3_5.txt`` (``id reason``) and
marked ``xfail(strict=True)``, so a fixed one shows up. The terminal summary prints
``N passed, M failed`` per file and mode (counted in ``conftest.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mockprom.server import MockPrometheus
from promqltest import (Mismatch, check_annotations, check_expected_failure,
                        compare_instant_result, compare_range_result, compare_range_step,
                        dialect_emulation, native_histogram_reason, parse_script,
                        read_known_failures, reparse_eval, run_eval)
from test_promql_corpus_http import Harness, _at_time, check_error, decode

HERE = Path(__file__).parent
CORPUS = Path(os.environ.get("MOCKPROM_PROMQL_TESTDATA_3_5",
                             HERE.parent.parent / "shared" / "prometheus-3.5" / "promql-testdata"))
KNOWN_FAILURES_FILE = HERE / "promql_known_failures_3_5.txt"
CORPUS_FILES, CORPUS_SIZE = 17, 1479
EMULATION = dialect_emulation("3.5")

if not CORPUS.is_dir():
    pytest.skip(f"PromQL 3.5 corpus not found at {CORPUS} (set MOCKPROM_PROMQL_TESTDATA_3_5)",
                allow_module_level=True)


# Where a real Prometheus 3.5.3 answers otherwise than the corpus (checked by
# test_promql_corpus_3_5_realprom.py), the real server wins: ``file:LINE`` -> (why, the
# evaluation's expectations as 3.5.3 answers, in the script syntax).
REAL_SERVER_WINS: dict[str, tuple[str, str]] = {
}


def corrected(ev):
    """``ev``, or what the real 3.5.3 answers instead when it disagrees with the corpus."""
    fix = REAL_SERVER_WINS.get(ev.id)
    return ev if fix is None else reparse_eval(ev, fix[1])


EVALS = [ev for path in sorted(CORPUS.glob("*.test"))
         for ev in parse_script(path.read_text(), path.name, "3.5")]
KNOWN = read_known_failures(KNOWN_FAILURES_FILE)


def _params(mode: str):
    for ev in EVALS:
        ident = f"{mode}:{ev.id}"
        marks = []
        if ident in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[ident], strict=True))
        yield pytest.param(ev, id=ident, marks=marks)


def test_corpus_size():
    """The corpus is the 1,479 evaluations of the 17 files of Prometheus v3.5."""
    assert len(list(CORPUS.glob("*.test"))) == CORPUS_FILES
    assert len(EVALS) == CORPUS_SIZE


def test_known_failures_name_corpus_evaluations():
    """Every listed known failure is an evaluation of the corpus (no stale entries)."""
    ids = {f"{mode}:{ev.id}" for ev in EVALS for mode in ("engine", "http", "real", "same")}
    assert sorted(set(KNOWN) - ids) == []


@pytest.mark.parametrize("ev", list(_params("engine")))
def test_corpus_engine(ev):
    run_eval(corrected(ev))


@pytest.fixture(scope="module")
def harness():
    server = {"features": list(EMULATION.features)}
    with MockPrometheus({"series": [], "server": server}, version=EMULATION.version) as prom:
        h = Harness(prom, server)
        try:
            yield h
        finally:
            h.session.close()


@pytest.mark.parametrize("ev", list(_params("http")))
def test_corpus_http(harness, ev):
    run_http_3(harness, ev)


def run_http_3(h: Harness, ev, corrected_by_real: bool = True) -> None:
    """One evaluation through ``/api/v1/query`` / ``query_range``, as upstream's v3.5
    ``test.go`` checks it against its engine (with the real server's answer where it
    wins, unless ``corrected_by_real`` is off)."""
    h.use(ev)
    if corrected_by_real:
        ev = corrected(ev)
    if ev.kind == "range":
        endpoint, resp = "query_range", h.range(ev.expr, ev.start_ms, ev.end_ms, ev.step_ms)
    else:
        endpoint, resp = "query", h.instant(ev.expr, ev.t_ms)
    body = _json(resp)
    if body.get("status") == "error":
        if not ev.is_fail:
            raise Mismatch(f"{endpoint}: HTTP {resp.status_code}: {body.get('error')!r}")
        check_expected_failure(ev, check_error(resp, endpoint, None, endpoint))
        return
    if ev.is_fail:
        raise Mismatch(f"{endpoint}: expected an error but got {body.get('data')!r}")
    check_annotations(ev, body.get("warnings") or [], body.get("infos") or [])
    value = decode(resp, endpoint)
    if ev.kind == "range":
        compare_range_result(ev, value, "range")
        return
    _at_time(value, ev.t_ms, "instant")
    compare_instant_result(ev, value, "instant")
    mat = decode(h.range(ev.expr, ev.t_ms - 60_000, ev.t_ms + 60_000, 60_000), "range mode")
    if not ev.is_ordered:
        compare_range_step(ev, value, mat, "range mode")


def _json(resp) -> dict:
    try:
        return resp.json()
    except ValueError:
        raise Mismatch(f"HTTP {resp.status_code}, not JSON: {resp.text[:200]!r}") from None
