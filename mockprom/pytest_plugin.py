"""pytest fixtures for tests of software that talks to Prometheus.

Registered through the ``pytest11`` entry point (no conftest needed):

    def test_dashboard(mockprom):
        r = requests.get(mockprom.url + "/api/v1/query", params={"query": "up"})
        mockprom.assert_queried(expr="up", times=1)

    @pytest.mark.mockprom(scenario="checkout",
                          faults=[{"match": {"endpoint": "query"}, "error": "unavailable", "times": 1}])
    def test_checkout_retries(mockprom): ...

- ``mockprom_server`` (session): one ``MockPrometheus`` per session, per xdist worker
  (each worker is its own process). Its scenario is the embedded default, or the
  ``--mockprom-scenario`` option / ``mockprom_scenario`` ini value.
- ``mockprom``: that server, reset before each test (scenario, data, clock, faults and
  request journal), loaded with the marker's scenario and faults when the test has a
  ``mockprom`` marker. The marker's faults are for that test only.
- ``make_mockprom``: a factory of further, independent servers
  (``make_mockprom(scenario=..., port=0)``), all stopped when the test ends.

A relative scenario path in a marker is looked up next to the test file first, then in
the current directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

MARKER = "mockprom"
INI_SCENARIO = "mockprom_scenario"


def pytest_addoption(parser) -> None:
    group = parser.getgroup("mockprom", "mock Prometheus server")
    group.addoption("--mockprom-scenario", dest="mockprom_scenario", default=None,
                    help="scenario file the session's mock Prometheus serves "
                         "(default: the embedded demo)")
    parser.addini(INI_SCENARIO, "scenario file the session's mock Prometheus serves",
                  default=None)


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "mockprom(scenario=None, faults=[]): the scenario (path, YAML/JSON text, dict) the "
        "`mockprom` fixture serves for this test, and fault rules added for this test only")


def _resolve(scenario, base_dir: Path | None):
    """A relative path is looked up next to the test file, then in the current dir."""
    if isinstance(scenario, Path) or (isinstance(scenario, str) and "\n" not in scenario
                                      and scenario.strip().endswith((".yaml", ".yml", ".json"))):
        path = Path(scenario)
        if not path.is_absolute() and base_dir is not None and (base_dir / path).exists():
            return str(base_dir / path)
        return str(path)
    return scenario


def _session_scenario(config):
    value = config.getoption("mockprom_scenario", default=None)
    if not value:
        try:
            value = config.getini(INI_SCENARIO)
        except ValueError:  # the plugin's options are not registered (imported by hand)
            value = None
    if not value:
        return None
    return _resolve(value, Path(str(config.rootpath)))


def _marker_args(request) -> tuple[object, list]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return None, []
    scenario = marker.kwargs.get("scenario", marker.args[0] if marker.args else None)
    faults = marker.kwargs.get("faults") or []
    if isinstance(faults, dict):
        faults = [faults]
    node_path = getattr(request.node, "path", None)
    base_dir = Path(str(node_path)).parent if node_path is not None else None
    return _resolve(scenario, base_dir) if scenario is not None else None, list(faults)


@pytest.fixture(scope="session")
def mockprom_server(request):
    """A mock Prometheus for the whole session (one per xdist worker)."""
    from mockprom.server import MockPrometheus

    server = MockPrometheus(_session_scenario(request.config))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mockprom(request, mockprom_server):
    """The session's mock Prometheus, reset for this test, with the scenario and faults
    of ``@pytest.mark.mockprom(scenario=..., faults=[...])`` when given."""
    scenario, faults = _marker_args(request)
    base = mockprom_server.scenario
    if scenario is not None:
        mockprom_server.load_scenario(scenario)
        mockprom_server.clear_requests()
    else:
        mockprom_server.reset()
    handles = [mockprom_server.add_fault(rule) for rule in faults]
    try:
        yield mockprom_server
    finally:
        for handle in handles:
            handle.remove()
        if scenario is not None:
            mockprom_server.load_scenario(base)


@pytest.fixture
def make_mockprom():
    """``make_mockprom(scenario=None, **kwargs)`` starts another ``MockPrometheus``;
    every server it started is stopped when the test ends."""
    from mockprom.server import MockPrometheus

    started: list = []

    def make(scenario=None, **kwargs):
        server = MockPrometheus(scenario, **kwargs)
        started.append(server)
        return server

    try:
        yield make
    finally:
        for server in started:
            server.stop()
