"""pytest fixtures for tests of software that talks to Prometheus.

Registered through the ``pytest11`` entry point (no conftest needed):

    def test_dashboard(mockprom):
        r = requests.get(mockprom.url + "/api/v1/query", params={"query": "up"})

    @pytest.mark.mockprom(scenario="scenarios/checkout.yaml")
    def test_checkout(mockprom): ...

``mockprom_server``: one ``MockPrometheus`` per session (the embedded default scenario).
``mockprom``: the same server, reset before each test (scenario from the ``mockprom``
marker when given, else the session's), so tests never see each other's data, clock,
deletes or faults.
"""

from __future__ import annotations

import pytest

MARKER = "mockprom"


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "mockprom(scenario=...): the scenario (path, YAML/JSON text, dict) the `mockprom` "
        "fixture serves for this test")


@pytest.fixture(scope="session")
def mockprom_server():
    """A mock Prometheus for the whole session (embedded default scenario)."""
    from mockprom.server import MockPrometheus

    server = MockPrometheus()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mockprom(request, mockprom_server):
    """The session's mock Prometheus, reset for this test (or loaded with the scenario
    of ``@pytest.mark.mockprom(scenario=...)``)."""
    marker = request.node.get_closest_marker(MARKER)
    scenario = None
    if marker is not None:
        scenario = marker.kwargs.get("scenario", marker.args[0] if marker.args else None)
    base = mockprom_server.scenario
    if scenario is not None:
        mockprom_server.load_scenario(scenario)
    else:
        mockprom_server.reset()
    try:
        yield mockprom_server
    finally:
        if scenario is not None:
            mockprom_server.load_scenario(base)
