"""The Prometheus 3.5 corpus against a real Prometheus 3.5.3: the authority.

Every load block (with those before it since the last ``clear``) is remote-written into a
fresh real 3.5.3 started with the feature flags of upstream's test engine; then every
evaluation is run twice (load blocks with native histograms go by remote write 1.0
``histograms``, the server started with ``--enable-feature=native-histograms`` too):

- ``real:file:LINE``: the real server's answers checked against the corpus, exactly as
  ``test_promql_corpus_3_5.py`` checks mockprom's (``run_http_3``). Where they disagree,
  the real server wins: the evaluation is listed in ``REAL_SERVER_WINS`` with what 3.5.3
  answers, and mockprom's corpus run expects that answer instead;
- ``same:file:LINE``: mockprom's answers (``server.version: 3.5.3``, same flags) against
  the real server's, request by request: HTTP status, error type and text, the result
  (values within 1e-6, NaN equals NaN), and the warnings and infos (as sets: Prometheus
  keeps annotations in a map), positions ``(1:6)`` included.

Known failures are listed with the 3.5 corpus's (``same:``/``real:`` ids). Needs
``/root/.cache/mockprom/prometheus-3/bin/prometheus`` (``../shared/tools/get-
prometheus-3``); skipped without it, failed under ``CI``.
"""

from __future__ import annotations

import pytest
import requests

import realprom
from native_oracle import RealNativePrometheus
from promqltest import Mismatch
from test_promql_corpus_3_5 import (EMULATION, EVALS, KNOWN, REAL_SERVER_WINS,
                                    harness, run_http_3)  # noqa: F401
from test_promql_corpus_http import Harness, bare_spec, seconds

pytestmark = pytest.mark.realprom


class RealHarness(Harness):
    """``Harness`` over a real Prometheus 3.5.3: one fresh server per set of load blocks."""

    def __init__(self):
        self.session = requests.Session()
        self.loaded = None
        self.real = None
        self.url = ""

    def use(self, ev) -> None:
        key = (ev.file, tuple(id(load) for load in ev.loads))
        if key == self.loaded:
            return
        self.close_server()
        series = [bare_spec(load, labels, values) for load in ev.loads
                  for labels, values in load.series]
        flags = "--enable-feature=" + ",".join(sorted(EMULATION.features))
        series = [s for s in series if s["samples"]]
        if any(load.histogram_series for load in ev.loads):
            self.real = RealNativePrometheus(series, extra_args=[flags]).__enter__()
        else:
            self.real = realprom.RealPrometheus(series, line="3.5",
                                                extra_args=[flags]).__enter__()
        self.url = self.real.url
        self.loaded = key

    def get(self, path: str, **params) -> requests.Response:
        return self.session.get(self.url + path, params=params, timeout=30)

    def close_server(self) -> None:
        if self.real is not None:
            self.real.stop()
            self.real = None
            self.loaded = None


@pytest.fixture(scope="module")
def real():
    realprom.require_binaries("3.5")
    h = RealHarness()
    try:
        yield h
    finally:
        h.close_server()
        h.session.close()


def _params(mode: str):
    for ev in EVALS:
        ident = f"{mode}:{ev.id}"
        marks = []
        if ident in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[ident], strict=True))
        yield pytest.param(ev, id=ident, marks=marks)


@pytest.mark.parametrize("ev", list(_params("real")))
def test_real_server_passes_the_corpus(real, ev):
    """The corpus's expectation holds on the real 3.5.3 (or the case is listed)."""
    if ev.id in REAL_SERVER_WINS:
        with pytest.raises(Mismatch):
            run_http_3(real, ev, corrected_by_real=False)
        run_http_3(real, ev)  # the listed answer is the real server's
        return
    run_http_3(real, ev)


def requests_of(ev) -> list[tuple[str, dict]]:
    """The API requests an evaluation makes (as ``run_http_3`` sends them)."""
    if ev.kind == "range":
        return [("/api/v1/query_range", {"query": ev.expr, "start": seconds(ev.start_ms),
                                         "end": seconds(ev.end_ms), "step": seconds(ev.step_ms)})]
    return [("/api/v1/query", {"query": ev.expr, "time": seconds(ev.t_ms)}),
            ("/api/v1/query_range", {"query": ev.expr, "start": seconds(ev.t_ms - 60_000),
                                     "end": seconds(ev.t_ms + 60_000), "step": "60"})]


def answer_diffs(want: requests.Response, got: requests.Response, ordered: bool) -> list:
    """How mockprom's answer differs from the real server's."""
    w, g = want.json(), _json_or_none(got)
    diffs = realprom.compare_answers(want.status_code, w, got.status_code, g, "query",
                                     ordered=ordered)
    if g is None or diffs:
        return diffs
    if w.get("error") != g.get("error"):
        diffs.append(f"error {w.get('error')!r} != {g.get('error')!r}")
    for kind in ("warnings", "infos"):
        if sorted(w.get(kind) or []) != sorted(g.get(kind) or []):
            diffs.append(f"{kind} {sorted(w.get(kind) or [])} != {sorted(g.get(kind) or [])}")
    return diffs


def _json_or_none(resp):
    try:
        return resp.json()
    except ValueError:
        return None


@pytest.mark.parametrize("ev", list(_params("same")))
def test_mock_answers_as_the_real_server(real, harness, ev):
    mock = harness
    real.use(ev)
    mock.use(ev)
    diffs = []
    for path, params in requests_of(ev):
        ordered = ev.is_ordered and path.endswith("/query")
        for d in answer_diffs(real.get(path, **params), mock.get(path, **params), ordered):
            diffs.append(f"{path} {params}: {d}")
    assert not diffs, "\n".join(diffs)
