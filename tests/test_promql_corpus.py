"""The upstream PromQL conformance corpus (Prometheus v2.42.0 ``promql/testdata``), run
from ``../shared/promql-testdata`` through ``Engine``: every evaluation as an instant
query and as a one-step range query, one pytest test each (ids ``file.test:LINE``).

Known failures are listed in ``promql_known_failures.txt`` (``id reason``) and marked
``xfail(strict=True)`` so that a fixed one shows up. The terminal summary prints
``N passed, M failed`` per file (``promqltest.CorpusTally``, registered in conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mockprom import versions
from mockprom.promql.engine import Engine
from promqltest import parse_script, read_known_failures, run_eval

HERE = Path(__file__).parent
CORPUS = Path(os.environ.get("MOCKPROM_PROMQL_TESTDATA",
                             HERE.parent.parent / "shared" / "promql-testdata"))
KNOWN_FAILURES_FILE = HERE / "promql_known_failures.txt"

if not CORPUS.is_dir():
    pytest.skip(f"PromQL corpus not found at {CORPUS} (set MOCKPROM_PROMQL_TESTDATA)",
                allow_module_level=True)


def _collect():
    evals = []
    for path in sorted(CORPUS.glob("*.test")):
        evals.extend(parse_script(path.read_text(), path.name))
    return evals


EVALS = _collect()
KNOWN = read_known_failures(KNOWN_FAILURES_FILE)


def _params():
    for ev in EVALS:
        marks = []
        if ev.id in KNOWN:
            marks.append(pytest.mark.xfail(reason=KNOWN[ev.id], strict=True))
        yield pytest.param(ev, id=ev.id, marks=marks)


def test_corpus_size():
    """The corpus is the 566 evaluations of the 11 files of Prometheus v2.42.0."""
    assert len(list(CORPUS.glob("*.test"))) == 11
    assert len(EVALS) == 566


@pytest.mark.parametrize("ev", list(_params()))
def test_promql_corpus(ev):
    run_eval(ev, lambda store: Engine(store, emulation=versions.resolve("2.42.0")))
