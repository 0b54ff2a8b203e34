"""The ``mockprom`` command line: --version, --help, validate, query, serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent


def run(*args, timeout=60, **kw):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    return subprocess.run([sys.executable, "-m", "mockprom", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=kw.get("cwd", REPO))


def test_version():
    from mockprom import __version__

    r = run("--version")
    assert r.returncode == 0
    assert r.stdout.strip().startswith(f"mockprom {__version__}")


def test_help_has_examples():
    for args in ((), ("serve",), ("validate",), ("query",)):
        r = run(*args, "--help")
        assert r.returncode == 0
        assert "examples:" in r.stdout


def test_validate_good_and_bad(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("name: good\nseries:\n  - labels: {__name__: x}\n    samples: [[1, 2]]\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nseries:\n  - labels: {__name__: x}\n    samples: [[1, 'abc']]\n"
                   "interval: forever\nbogus: 1\n")
    r = run("validate", str(good))
    assert r.returncode == 0
    assert len(r.stdout.strip().splitlines()) == 1 and r.stdout.startswith("ok:")
    r = run("validate", str(good), str(bad))
    assert r.returncode == 2
    lines = [l for l in r.stderr.splitlines() if str(bad) in l]
    assert len(lines) >= 3  # every problem, each with the file name
    assert any("bogus" in l for l in lines) and any("interval" in l for l in lines)
    r = run("validate", str(tmp_path / "missing.yaml"))
    assert r.returncode == 2 and "missing.yaml" in r.stderr


def write_data(tmp_path) -> Path:
    p = tmp_path / "data.json"
    p.write_text(json.dumps({"clock": 1000, "series": [
        {"labels": {"__name__": "up", "job": "a"}, "samples": [[940, 0], [1000, 1]]},
        {"labels": {"__name__": "up", "job": "b"}, "samples": [[1000, 0.25]]}]}))
    return p


def test_query_instant_table(tmp_path):
    p = write_data(tmp_path)
    r = run("query", "up", "--scenario", str(p))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["SERIES", "VALUE", "TIME"]
    assert lines[1].split() == ['up{job="a"}', "1", "1970-01-01T00:16:40Z"]
    assert lines[2].split() == ['up{job="b"}', "0.25", "1970-01-01T00:16:40Z"]
    r = run("query", "sum(up)", "--scenario", str(p), "--time", "940")
    assert r.stdout.splitlines()[1].split() == ["{}", "0", "1970-01-01T00:15:40Z"]


def test_query_range_and_errors(tmp_path):
    p = write_data(tmp_path)
    r = run("query", 'up{job="a"}', "--scenario", str(p), "--start", "-1m", "--step", "30s")
    assert r.returncode == 0, r.stderr
    rows = [l.split() for l in r.stdout.splitlines()[1:]]
    assert [row[-1] for row in rows] == ["0", "0", "1"]
    r = run("query", "foo(", "--scenario", str(p))
    assert r.returncode == 1
    assert r.stderr.startswith("error (bad_data):")
    assert "Traceback" not in r.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_and_stops_on_sigterm(tmp_path):
    p = write_data(tmp_path)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO), MOCKPROM_PORT=str(port),
               MOCKPROM_SCENARIO=str(p))
    proc = subprocess.Popen([sys.executable, "-m", "mockprom", "serve", "--host", "127.0.0.1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert r.text == "Prometheus Server is Ready.\n"
        q = requests.get(f"http://127.0.0.1:{port}/api/v1/query", params={"query": "up"})
        assert len(q.json()["data"]["result"]) == 2
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert f"127.0.0.1:{port}" in err


def test_serve_refuses_a_bad_scenario(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("bogus: 1\n")
    r = run("serve", "--scenario", str(bad), "--port", "0")
    assert r.returncode == 2
    assert "bogus" in r.stderr and "Traceback" not in r.stderr


BAD_RULES_AND_FAULTS = """\
name: bad
series:
  - series: 'up{job="a"}'
    values: "1x10"
  - {metic: up, generator: {kind: constant, value: 1}}
rules:
  - name: g
    rules:
      - record: job:up:sum
        expr: sum by (job) (up
      - alert: Down
        expr: up == 0
        annotations: {summary: "{{ humanise $value }}"}
faults:
  - match: {endpoint: query}
    error: nonsense
"""


def test_validate_lists_rule_and_fault_problems_with_file_line_and_path(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_RULES_AND_FAULTS)
    r = run("validate", str(bad))
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[:5] == [
        f"{bad}:5 series[1]: missing required field 'metric'",
        f"{bad}:5 series[1].metic: unknown field 'metic' (did you mean 'metric'?)",
        f"{bad}:10 rules[0].rules[0].expr: 1:17: parse error: unclosed left parenthesis",
        f"{bad}:13 rules[0].rules[1].annotations.summary: annotation \"summary\": "
        "template: __alert_Down:1: function \"humanise\" not defined",
        f"{bad}:16 faults[0].error: unknown 'nonsense', expected one of " + lines[4].split(
            "expected one of ", 1)[-1],
    ]
    assert lines[5:] == ["5 problems found"]
    # The same file, fixed, is valid; serve refuses the bad one with the same list.
    good = tmp_path / "good.yaml"
    good.write_text(BAD_RULES_AND_FAULTS.replace("(up\n", "(up)\n").replace("humanise", "humanize")
                    .replace("metic", "metric").replace("nonsense", "unavailable"))
    r = run("validate", str(good))
    assert r.returncode == 0 and r.stdout.startswith("ok: 1 scenario file valid"), r.stderr
    r = run("serve", "--scenario", str(bad), "--port", "0")
    assert r.returncode == 2 and r.stderr.splitlines() == lines[:5]


def test_serve_refuses_a_directory_holding_a_bad_scenario(tmp_path):
    (tmp_path / "good.yaml").write_text("name: good\nseries: []\n")
    (tmp_path / "bad.yaml").write_text("name: bad\nseries: []\nrules:\n  - name: g\n    rules:\n"
                                       "      - {record: r, expr: 'rate(x[5m]'}\n")
    r = run("serve", "--scenario", str(tmp_path), "--name", "good", "--port", "0")
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"{tmp_path / 'bad.yaml'}:6 rules[0].rules[0].expr: 1:11: parse error: "
        "unclosed left parenthesis"]


def test_serve_max_scenario_size_sets_the_scenario_upload_limit(tmp_path):
    """``--max-scenario-size`` is the limit of ``PUT /-/mockprom/scenario``, named in its
    413; larger than the server's own body limit, the server takes such bodies too."""
    p = write_data(tmp_path)
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "mockprom", "serve", "--host", "127.0.0.1",
                             "--port", str(port), "--scenario", str(p),
                             "--max-scenario-size", "80MiB"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/-/mockprom/scenario"
    yaml = {"Content-Type": "application/yaml"}
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/-/ready", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        big = "name: big\nseries: []\n#" + "x" * (70 << 20)  # over 64 MiB, under 80 MiB
        r = requests.put(url, data=big, headers=yaml, timeout=120)
        assert r.status_code == 200, r.text
        assert r.json()["data"]["name"] == "big"
        r = requests.put(url, data=big + "x" * (11 << 20), headers=yaml, timeout=120)
        assert r.status_code == 413
        assert r.json()["error"] == (f"scenario body too large: {len(big) + (11 << 20)} bytes; "
                                     f"the limit is {80 << 20} bytes (raise it with mockprom "
                                     f"serve --max-scenario-size)")
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    r = run("serve", "--max-scenario-size", "lots")
    assert r.returncode == 2 and "--max-scenario-size: not a size: 'lots'" in r.stderr
