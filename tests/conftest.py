"""Shared fixtures: start mock servers on 127.0.0.1 (port 0) and stop them afterwards."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO))

# The plugin's fixtures (``mockprom``, ``mockprom_server``) when mockprom is not installed
# as a package (its pytest11 entry point then isn't registered).
try:
    from importlib.metadata import entry_points

    _installed = any(ep.value == "mockprom.pytest_plugin"
                     for ep in entry_points(group="pytest11"))
except Exception:  # pragma: no cover
    _installed = False
if not _installed:
    from mockprom.pytest_plugin import mockprom, mockprom_server  # noqa: F401
    from mockprom.pytest_plugin import pytest_configure as _plugin_configure

T0 = 1_700_000_000  # a fixed scenario "now" (unix seconds) used by the API tests


def basic_scenario(**extra) -> dict:
    """Exact data: two jobs of ``up``, a counter with a gap, special values."""
    series = [
        {"labels": {"__name__": "up", "job": "api", "instance": "a:9090"},
         "samples": [[T0 - 60 * i, 1] for i in range(10, -1, -1)]},
        {"labels": {"__name__": "up", "job": "db", "instance": "b:9100"},
         "samples": [[T0 - 60 * i, 0 if i % 2 else 1] for i in range(10, -1, -1)]},
        {"labels": {"__name__": "http_requests_total", "job": "api", "code": "200"},
         "samples": [[T0 - 60 * i, 100.0 * (10 - i)] for i in range(10, -1, -1)]},
        {"labels": {"__name__": "odd_values", "kind": "special"},
         "samples": [[T0 - 30, "NaN"], [T0 - 20, "+Inf"], [T0 - 10, 1e-7], [T0, 0.00001]]},
    ]
    doc = {"name": "api-tests", "clock": T0, "series": series,
           "metadata": {"up": {"type": "gauge", "help": "Whether the target is up."},
                        "http_requests_total": {"type": "counter", "help": "Requests."}}}
    doc.update(extra)
    return doc


@pytest.fixture
def serve():
    """``serve(scenario)`` starts a MockPrometheus; all are stopped after the test."""
    from mockprom.server import MockPrometheus

    started = []

    def start(scenario=None, **kwargs):
        prom = MockPrometheus(scenario, **kwargs)
        started.append(prom)
        return prom

    yield start
    for prom in started:
        prom.stop()


@pytest.fixture(scope="module")
def prom():
    """One server per test module with ``basic_scenario()``."""
    from mockprom.server import MockPrometheus

    server = MockPrometheus(basic_scenario())
    yield server
    server.stop()


@pytest.fixture
def http():
    with requests.Session() as s:
        yield s


# -- comparisons with a real 3.5.3 that wait for PromQL work -----------------------------

PENDING_3_5 = Path(__file__).resolve().parent / "pending_3_5.txt"


def _pending_3_5() -> dict[str, str]:
    """``pending_3_5.txt``: one test id per line (``file.py::test[3.5-...]``), a tab, and
    why it cannot pass yet. Blank lines and ``#`` comments are ignored."""
    out = {}
    if PENDING_3_5.exists():
        for line in PENDING_3_5.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                test_id, _, reason = line.partition("\t")
                out[test_id.strip()] = reason.strip()
    return out


def pytest_collection_modifyitems(config, items):
    """Comparisons with a real 3.5.3 that cannot pass yet, listed in ``pending_3_5.txt``
    with the reason, are deselected and named in the summary; a line is removed when its
    test passes. Everything else runs."""
    pending = _pending_3_5()
    if not pending:
        return
    keep, dropped = [], []
    for item in items:
        path, _, rest = item.nodeid.partition("::")
        key = path.rsplit("/", 1)[-1] + "::" + rest
        (dropped if key in pending else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_terminal_summary(terminalreporter, config):
    """Every listed comparison is named in the summary, with its reason: none is left out
    silently (under xdist the workers deselect, so the controller names them here)."""
    pending = _pending_3_5()
    if pending:
        terminalreporter.write_sep("-", f"{len(pending)} comparisons with a real Prometheus "
                                        f"3.5.3 deselected (tests/pending_3_5.txt)")
        for test_id, reason in pending.items():
            terminalreporter.write_line(f"{test_id}  {reason}")


def pytest_configure(config):
    """The 3.5 corpus's per-file table is counted here, in the controlling process (under
    xdist the tests run in workers; their reports come back here)."""
    import promqltest

    promqltest.register_tally(config, ("test_promql_corpus.py", "test_promql_corpus_http.py"),
                              "PromQL corpus of Prometheus 2.42 (server.version 2.42.0)",
                              default_mode="engine",
                              modes={"test_own_case_http": "own tests/promql, http"})
    promqltest.register_tally(config, "test_promql_corpus_3_5.py",
                              "PromQL corpus of Prometheus 3.5 (server.version 3.5.3)")
    promqltest.register_tally(config, "test_promql_corpus_3_5_realprom.py",
                              "PromQL corpus of Prometheus 3.5 on a real 3.5.3 "
                              "(real: the corpus holds; same: mockprom answers as 3.5.3)")
    if not _installed:
        _plugin_configure(config)
