"""What a server says about itself, compared with a real Prometheus 2.42 and 3.5.3:
``status/buildinfo``, ``status/runtimeinfo``, ``status/flags`` and ``status/config`` have
the same keys in the same order, and the flags that do not depend on how or where the real
one was started have the same values; ``/metrics`` carries ``prometheus_build_info`` with
the same labels. (Values such as versions, paths and times differ by design: mockprom
reports the upstream release it emulates, the real ones are Debian builds.)"""

from __future__ import annotations

import pytest
import requests
import yaml

import realprom
from realprom import release  # noqa: F401  (a fixture)

pytestmark = pytest.mark.realprom

# flags a real server reports from how the test started it (a 100 y retention also makes
# the maximum block duration 31 d), or that Debian patched in
STARTED_WITH = {"config.file", "log.level", "storage.tsdb.path", "storage.tsdb.retention.time",
                "storage.tsdb.max-block-duration",
                "web.listen-address", "web.enable-admin-api", "web.enable-remote-write-receiver",
                "storage.agent.path", "web.console.libraries", "web.console.templates"}
DEBIAN_ONLY = {"web.local-assets"}


@pytest.fixture(scope="module")
def servers(release):
    from mockprom.server import MockPrometheus

    with realprom.RealPrometheus([], line=release.line) as real, \
            MockPrometheus({"series": [], "interval": "1m"}, version=release.version) as mock:
        yield real.url, mock.url


def _data(url: str, path: str):
    r = requests.get(url + path, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.mark.parametrize("path", ["/api/v1/status/buildinfo", "/api/v1/status/runtimeinfo"])
def test_same_fields_in_the_same_order(servers, path):
    real, mock = servers
    want, got = _data(real, path), _data(mock, path)
    assert list(got) == list(want)
    assert {k: type(v).__name__ for k, v in got.items()} == \
        {k: type(v).__name__ for k, v in want.items()}


def test_flags_are_the_real_ones(servers, release):
    real, mock = servers
    want, got = _data(real, "/api/v1/status/flags"), _data(mock, "/api/v1/status/flags")
    assert list(got) == sorted(got)
    assert set(got) == set(want) - DEBIAN_ONLY
    differ = {k for k in got if k in want and got[k] != want[k]}
    assert differ <= STARTED_WITH, {k: (want[k], got[k]) for k in differ - STARTED_WITH}


def test_configuration_has_the_real_shape(servers):
    real, mock = servers
    want = yaml.safe_load(_data(real, "/api/v1/status/config")["yaml"])
    got = yaml.safe_load(_data(mock, "/api/v1/status/config")["yaml"])
    assert got == want  # both: defaults, 1 minute intervals, no scrape job


def test_own_metrics_report_the_build(servers):
    real, mock = servers

    def build_labels(url):
        from prometheus_client.parser import text_string_to_metric_families

        text = requests.get(url + "/metrics", timeout=10).text
        [family] = [f for f in text_string_to_metric_families(text)
                    if f.name == "prometheus_build_info"]
        return family.samples[0].labels

    want, got = build_labels(real), build_labels(mock)
    assert sorted(got) == sorted(want)
    assert got["version"] == _data(mock, "/api/v1/status/buildinfo")["version"]
